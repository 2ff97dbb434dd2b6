"""The ticket page lists what its customer was sent (R-NTF-1, issue 17), to everyone who may open
the ticket — the clerk and the outlet's dealer — and says so when the customer did not agree."""
from sqlalchemy import select

from backoffice import notifications
from models import OutboxMessage
from tests import factories as f


def page_of(client, ticket) -> str:
    response = client.get(f"/admin/ticket/details/?id={ticket.id}", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def a_ticket(app, session, consent: bool):
    world = f.make_service_network(session)
    if consent:
        notifications.record_consent(world["customer"], "hotline")
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], actor=world["clerk"])
    with app.app_context():
        notifications.tell_customer(session, ticket, "receipt")
    session.commit()
    return world, ticket


def test_the_clerk_and_the_outlets_dealer_see_the_receipt_sms_on_the_ticket(app, as_user, session):
    world, ticket = a_ticket(app, session, consent=True)
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)).one()
    for reader in (world["clerk"], world["dealer_a"]):
        html = page_of(as_user(reader), ticket)
        section = html.split('data-testid="customer-messages"', 1)[1].split("</table>", 1)[0]
        assert 'data-status="queued"' in section and message.recipient in section
        assert ticket.number in section  # the body as the customer reads it


def test_another_outlets_dealer_cannot_open_the_ticket_or_its_messages(app, as_user, session):
    world, ticket = a_ticket(app, session, consent=True)
    response = as_user(world["dealer_b"]).get(f"/admin/ticket/details/?id={ticket.id}")
    assert response.status_code in (302, 404)


def test_the_ticket_page_says_when_the_customer_did_not_agree(app, as_user, session):
    world, ticket = a_ticket(app, session, consent=False)
    html = page_of(as_user(world["clerk"]), ticket)
    assert "The customer has not agreed to service messages" in html
    assert not session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)).all()
