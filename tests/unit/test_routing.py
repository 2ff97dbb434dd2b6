"""Routing: each issue class goes to its queue (R-TKT-3; 003: a shoe's quality goes to QA)."""

from backoffice import routing
from tests import factories as f


def test_shoe_quality_complaint_routes_to_qa(session):  # R-TKT-3 (003: quality → production / QA)
    assert f.make_shoe_ticket(session, kind="complaint", category="quality").queue == "qa"
    assert f.make_shoe_ticket(session, kind="repair", category="quality").queue == "qa"
    assert f.make_shoe_ticket(session, kind="complaint", category="size").queue == "complaints"
    owner = f.make_customer(session, f.make_outlet(session))
    heater = f.make_ticket(session, owner, unit=f.make_unit(session, owner), kind="complaint", category="quality")
    assert heater.queue == "complaints"  # other products' complaints stay with the complaints desk
    assert routing.queue_for("repair", "quality") == "service"
