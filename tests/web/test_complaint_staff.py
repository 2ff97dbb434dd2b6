"""R-CMP-3 through the screens: the investigation of a complaint names the staff member it is against
and may confirm it; the ticket page shows it; a name the form did not offer is a field message."""
import pytest

from models import Complaint, Ticket
from models.choices import Role
from tests import factories as f


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def world(session):
    w = f.make_service_network(session)
    w["complaint"] = f.make_ticket(session, w["customer"], kind="complaint", actor=w["clerk"],
                                   fault_description="师傅上门迟到两小时，态度生硬")
    for person in (w["clerk"], w["manager"], w["dealer_a"], w["engineer_a"]):
        person.locale = "en"  # English pages: the assertions read as the rule
    session.commit()
    return w


def investigate(client, ticket, **fields):
    return client.post(f"/admin/ticket/transition/investigate/?id={ticket.id}", data={
        "csrf_token": client.csrf, "loaded_version": str(ticket.version_id),
        "complaint_class": "service_quality", "investigation": "核实师傅迟到两小时且未提前告知",
        "promised_result": "致歉并减免上门费", "promised_at": "2026-12-30T10:00", **fields})


def complaint_of(session, ticket) -> Complaint:
    session.expire_all()
    return session.get(Ticket, ticket.id).complaint


@pytest.mark.parametrize("who", ["clerk", "manager", "dealer_a"])
def test_desk_names_the_engineer_and_the_ticket_page_shows_it_confirmed(as_user, session, world, who):
    engineer, ticket = world["engineer_a"], world["complaint"]
    client = as_user(world[who])
    form = text(client.get(f"/admin/ticket/details/?id={ticket.id}"))
    assert 'name="against_staff"' in form and engineer.full_name in form
    response = investigate(client, ticket, against_staff=str(engineer.id), substantiated="y")
    assert response.status_code == 302
    saved = complaint_of(session, ticket)
    assert saved.against_staff_id == engineer.id and saved.substantiated
    for reader in (client, as_user(world["manager"])):
        page = text(reader.get(f"/admin/ticket/details/?id={ticket.id}"))
        assert 'data-testid="complaint-against"' in page and engineer.full_name in page
        assert "confirmed against them" in page


def test_a_named_but_unconfirmed_complaint_reads_so(as_user, session, world):
    clerk, ticket = as_user(world["clerk"]), world["complaint"]
    assert investigate(clerk, ticket, against_staff=str(world["center_engineer"].id)).status_code == 302
    page = text(clerk.get(f"/admin/ticket/details/?id={ticket.id}"))
    assert world["center_engineer"].full_name in page and "not confirmed" in page


@pytest.mark.parametrize("hostile", ["engineer_b", "dealer_b", "999999999", "1 OR 1=1", "-3"])
def test_a_staff_member_the_form_did_not_offer_is_a_field_message(as_user, session, world, hostile):
    clerk, ticket = as_user(world["clerk"]), world["complaint"]
    staff_id = str(world[hostile].id) if hostile in world else hostile
    response = investigate(clerk, ticket, against_staff=staff_id, substantiated="y")
    assert response.status_code == 200 and "is-invalid" in text(response)
    assert "核实师傅迟到两小时且未提前告知" in text(response)  # what was typed is kept
    assert complaint_of(session, ticket) is None


def test_confirming_without_naming_anyone_is_a_field_message(as_user, session, world):
    clerk, ticket = as_user(world["clerk"]), world["complaint"]
    response = investigate(clerk, ticket, substantiated="y")
    assert response.status_code == 200 and "Name the staff member" in text(response)
    assert complaint_of(session, ticket) is None


def test_an_engineer_may_not_investigate_a_complaint(as_user, session, world):
    engineer = world["engineer_a"]
    ticket = world["complaint"]
    ticket.assigned_engineer_id = engineer.id  # so the engineer may read the ticket at all
    session.commit()
    client = as_user(engineer)
    response = investigate(client, ticket, against_staff=str(world["clerk"].id), substantiated="y")
    assert response.status_code in (302, 403)
    assert complaint_of(session, ticket) is None
    assert Role(engineer.role) == Role.ENGINEER
