"""R-ROLE-3: return visits grade the outlet's service, so the service center
makes them; a dealer reads them but cannot record one (or close the ticket after it)."""
from backoffice import workflow
from models import Ticket
from models.choices import Role
from tests import factories as f
from tests.conftest import csrf_token, login


def resolved_ticket_of_a_dealer(session):
    outlet = f.make_outlet(session)
    dealer = f.make_user(session, Role.DEALER, outlet=outlet)
    engineer = f.make_user(session, Role.ENGINEER, outlet=outlet)
    customer = f.make_customer(session, outlet)
    ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer), actor=dealer)
    workflow.perform(session, ticket, "diagnose", engineer, {"service_mode": "remote", "severity": "minor",
                                                             "note": "电话指导"})
    workflow.perform(session, ticket, "answer_remotely", engineer, {"note": "复位后正常"})
    session.commit()
    return dealer, ticket


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    client.csrf = csrf_token(client, "/admin/")
    return client


def test_dealer_cannot_record_the_return_visit_of_its_own_ticket(app, session):
    dealer, ticket = resolved_ticket_of_a_dealer(session)
    client = signed_in(app, dealer)
    page = client.get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
    assert "/transition/return_visit/" not in page
    response = client.post(f"/admin/ticket/transition/return_visit/?id={ticket.id}", data={
        "csrf_token": client.csrf, "satisfaction": "5", "comment": "非常满意",
        "loaded_version": str(ticket.version_id)})
    assert response.status_code == 302
    session.expire_all()
    saved = session.get(Ticket, ticket.id)
    assert saved.status == "resolved" and all(v.done_at is None for v in saved.return_visits)


def test_clerk_records_the_return_visit_and_the_dealer_reads_it(app, session):
    dealer, ticket = resolved_ticket_of_a_dealer(session)
    user = f.make_user(session, Role.CLERK)
    session.commit()
    clerk = signed_in(app, user)
    response = clerk.post(f"/admin/ticket/transition/return_visit/?id={ticket.id}", data={
        "csrf_token": clerk.csrf, "satisfaction": "4", "comment": "上门及时，态度好",
        "loaded_version": str(ticket.version_id)})
    assert response.status_code == 302
    listing = signed_in(app, dealer).get("/admin/return_visit/").get_data(as_text=True)
    assert ticket.number in listing and "上门及时，态度好" in listing
