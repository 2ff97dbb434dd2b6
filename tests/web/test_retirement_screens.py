"""Retiring an outlet on screen (issue 13 point 6): the manager reads the warnings and retires
it; its dealer's open session ends at once; the successor's dealer finds the handed-over ticket
with its timeline line; others may not retire."""
import pytest

from models import Outlet, Ticket
from tests import factories as f


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def world(session):
    w = f.make_service_network(session)
    f.make_parts_account(session, w["a"], quota="300.00", balance="80.00")
    w["open"] = f.make_ticket(session, w["customer"], unit=w["unit"], status="diagnosed",
                              engineer=w["engineer_a"], desk=w["clerk"])
    for person in (w["manager"], w["clerk"], w["dealer_a"], w["dealer_b"]):
        person.locale = "en"
    session.commit()
    return w


def retire(client, outlet, **data):
    return client.post(f"/admin/outlet/retire/?id={outlet.id}", data={"csrf_token": client.csrf, **data},
                       follow_redirects=True)


def test_manager_reads_the_warnings_and_retires_the_outlet(login_as, session, world):
    dealer = login_as(world["dealer_a"].username)
    assert dealer.get("/admin/ticket/").status_code == 200
    manager = login_as(world["manager"].username)
    page = text(manager.get(f"/admin/outlet/details/?id={world['a'].id}"))
    warnings = page[page.index('data-testid="retire-warnings"'):]
    assert "1 tickets not closed" in warnings and "balance ¥80.00" in warnings
    response = retire(manager, world["a"], successor_id=str(world["b"].id), reason="经销合同到期不再续签")
    assert 'data-testid="retired"' in text(response) and "经销合同到期不再续签" in text(response)
    session.expire_all()
    assert not session.get(Outlet, world["a"].id).active
    # The retired outlet's dealer is signed out on the next request.
    assert dealer.get("/admin/ticket/").status_code == 302
    # The successor's dealer finds the ticket, with the hand-over on its timeline.
    successor = login_as(world["dealer_b"].username)
    ticket_page = text(successor.get(f"/admin/ticket/details/?id={world['open'].id}"))
    assert world["open"].number in ticket_page and "Handed over: the outlet left the network" in ticket_page


def test_without_a_successor_the_form_says_so_and_keeps_the_reason(login_as, session, world):
    manager = login_as(world["manager"].username)
    response = retire(manager, world["a"], successor_id="", reason="合作终止")
    page = text(response)
    assert response.status_code == 200 and "Choose the outlet that takes over" in page and "合作终止" in page
    session.expire_all()
    assert session.get(Outlet, world["a"].id).active
    assert session.get(Ticket, world["open"].id).outlet_id == world["a"].id


@pytest.mark.parametrize("who", ["clerk", "dealer_a"])
def test_clerk_and_dealer_may_not_retire_an_outlet(login_as, session, world, who):
    client = login_as(world[who].username)
    page = text(client.get(f"/admin/outlet/details/?id={world['a'].id}"))
    assert 'data-testid="retire"' not in page
    retire(client, world["a"], successor_id=str(world["b"].id), reason="合作终止")
    session.expire_all()
    assert session.get(Outlet, world["a"].id).active


def test_a_hostile_successor_id_is_a_field_message_not_a_500(login_as, session, world):
    manager = login_as(world["manager"].username)
    for hostile in ("abc", "99999999999999999999", "-1", str(world["a"].id)):
        response = retire(manager, world["a"], successor_id=hostile, reason="合作终止")
        assert response.status_code == 200 and "is-invalid" in text(response)
    session.expire_all()
    assert session.get(Outlet, world["a"].id).active
