"""The demo world has what the screens and the tests show: the shoe line sold and stocked by size."""
from sqlalchemy import select

from models import FinishedGoodsStock, Ticket, Unit


def test_demo_has_a_shoe_line_by_size(session):
    shoes = session.scalars(select(FinishedGoodsStock).join(FinishedGoodsStock.product_model)
                            .where(FinishedGoodsStock.size != "")).all()
    assert {s.product_model.category for s in shoes} == {"shoes"} and len({s.size for s in shoes}) >= 5
    tickets = session.scalars(select(Ticket).where(Ticket.unit.has(Unit.size != ""))).all()
    assert {t.queue for t in tickets} >= {"qa", "sales"}
