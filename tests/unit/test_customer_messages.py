"""Customers hear about their service, with their consent, once per event (R-NTF-1, issue 17):
the receipt with the tracking link, the appointment, mail-in received and shipped back, the
complaint's answer; and the survey the link leads to completes the due return visit (R-TKT-4)."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from backoffice import customer_messages, intake, notifications, return_visits
from backoffice.errors import FieldErrors
from backoffice.timezones import local_today
from models import Customer, OutboxMessage, Ticket, utcnow
from models.choices import TicketStatus
from tests import factories as f


@pytest.fixture(autouse=True)
def app_context(app):
    """Links are signed with the app's secret and start with its PUBLIC_BASE_URL."""
    with app.app_context():
        yield


def report(consent=False, phone=None, **changes):
    n = f.next_number()
    data = dict(kind="repair", category="quality", fault="点不着火，有异味", channel="wechat", consent=consent,
                customer={"name": "王芳", "phone": phone or f"1381234{n:04d}", "area": "urban",
                          "address": "广州市天河区体育西路1号"},
                unit={"model_code": "JSQ24-12A", "serial": f"SN-MSG-{n:05d}", "outlet_code": "GZ-TH",
                      "invoice_date": (local_today() - timedelta(days=100)).isoformat()})
    data.update(changes)
    return intake.Report(**data)


def outbox(session, ticket, template=None) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)
    if template:
        query = query.where(OutboxMessage.template == template)
    return list(session.scalars(query.order_by(OutboxMessage.id)))


def agreed(session, customer) -> Customer:
    notifications.record_consent(customer, source="hotline")
    session.flush()
    return customer


# --- the receipt ------------------------------------------------------------------------------

def test_a_report_with_consent_queues_one_receipt_whose_link_leads_back_to_the_ticket(session):
    ticket = intake.register_report(session, report(consent=True), None)
    session.commit()
    [message] = outbox(session, ticket)
    assert message.template == "receipt" and message.status == "queued"
    assert message.channel == "sms" and message.recipient == ticket.contact_phone
    assert ticket.number in message.body
    token = re.search(r"/t/([\w.\-]+)", message.body).group(1)
    assert notifications.ticket_of_token(token) == ticket.id
    customer = session.get(Customer, ticket.customer_id)
    assert customer.notify_consent_at is not None and customer.notify_consent_source == "wechat"


def test_without_consent_nothing_is_queued(session):
    ticket = intake.register_report(session, report(), None)
    session.commit()
    assert outbox(session, ticket) == []
    assert session.get(Customer, ticket.customer_id).notify_consent_at is None


def test_a_customer_who_agreed_before_gets_the_receipt_without_being_asked_again(session):
    first = intake.register_report(session, report(consent=True), None)
    second = intake.register_report(session, report(phone=first.customer.phone, fault="又坏了"), None)
    session.commit()
    assert second.customer_id == first.customer_id
    assert [m.template for m in outbox(session, second)] == ["receipt"]


def test_a_customer_who_opted_out_hears_nothing(session):
    first = intake.register_report(session, report(consent=True), None)
    notifications.record_opt_out(first.customer)
    second = intake.register_report(session, report(phone=first.customer.phone, fault="又坏了"), None)
    session.commit()
    assert outbox(session, second) == []


def test_a_report_refused_for_bad_input_queues_nothing(session):
    before = session.scalars(select(OutboxMessage)).all()
    with pytest.raises(FieldErrors):
        intake.register_report(session, report(consent=True, fault=""), None)
    assert session.scalars(select(OutboxMessage)).all() == before


# --- the events of the service ----------------------------------------------------------------

def test_dispatch_tells_the_engineer_and_the_time_once(session, world):
    customer = agreed(session, world["customer"])
    ticket = f.make_ticket(session, customer, unit=world["unit"], status="dispatched", engineer=world["engineer_a"])
    session.commit()
    [message] = outbox(session, ticket, "appointment")
    assert world["engineer_a"].full_name in message.body and message.params["window"] in message.body
    assert message.params["engineer"] == world["engineer_a"].full_name
    assert customer_messages.appointment(session, ticket) is False  # the same appointment again
    ticket.appointment_at = ticket.appointment_at + timedelta(days=1)  # rescheduled: a new appointment
    assert customer_messages.appointment(session, ticket) is True
    session.commit()
    assert len(outbox(session, ticket, "appointment")) == 2


def test_mail_in_received_and_shipped_back_with_courier_and_tracking_number_once(session, world):
    customer = agreed(session, world["customer"])
    ticket = f.make_ticket(session, customer, unit=world["unit"], status="resolved", mode="mail_in",
                           engineer=world["engineer_a"])
    session.commit()
    assert len(outbox(session, ticket, "mail_in_received")) == 1
    [shipped] = outbox(session, ticket, "mail_in_shipped")
    assert ticket.mail_in.tracking_no in shipped.body and "顺丰速运" in shipped.body
    assert shipped.params["tracking"] == ticket.mail_in.tracking_no
    assert customer_messages.mail_in_received(session, ticket) is False
    assert customer_messages.mail_in_shipped(session, ticket) is False
    session.commit()
    assert len(outbox(session, ticket)) == 2  # no receipt: the factory registers without intake


def test_the_complaint_answer_tells_the_promised_result_and_time_once(session, world):
    customer = agreed(session, world["customer"])
    ticket = f.make_ticket(session, customer, kind="complaint", status="diagnosed")
    session.commit()
    [message] = outbox(session, ticket, "complaint_answer")
    assert "致歉并减免上门费" in message.body and message.params["answer"].startswith("致歉并减免上门费")
    assert customer_messages.complaint_answer(session, ticket) is False
    session.commit()
    assert len(outbox(session, ticket, "complaint_answer")) == 1


def test_a_long_answer_is_cut_but_keeps_the_promised_time(session, world):
    ticket = f.make_ticket(session, agreed(session, world["customer"]), kind="complaint", status="diagnosed",
                           steps={"investigate": {"complaint_class": "charges", "investigation": "多收费",
                                                  "promised_result": "退还多收的费用。" * 100,
                                                  "promised_at": (utcnow() + timedelta(days=1)).strftime(
                                                      "%Y-%m-%dT%H:%M")}})
    answer = customer_messages.answer_text(ticket)
    assert len(answer) <= customer_messages.ANSWER_MAX and "…" in answer
    assert f"{ticket.complaint.promised_at.year}-" in answer


def test_without_consent_the_events_queue_nothing(session, world):
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], status="resolved", mode="mail_in")
    session.commit()
    assert outbox(session, ticket) == []


# --- the survey -------------------------------------------------------------------------------

def test_the_survey_completes_the_due_visit_once(session, world):
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], status="resolved")
    assert return_visits.record_survey(session, ticket, "5", "师傅很专业") == return_visits.Survey.RECORDED
    session.commit()
    [visit] = session.get(Ticket, ticket.id).return_visits
    assert (visit.satisfaction, visit.comment, visit.visitor_id) == (5, "师傅很专业", None)
    assert visit.done_at is not None and ticket.status == TicketStatus.RETURN_VISIT
    assert return_visits.record_survey(session, ticket, "1", "改主意了") == return_visits.Survey.ALREADY
    session.commit()
    assert [(v.satisfaction, v.comment) for v in session.get(Ticket, ticket.id).return_visits] == [(5, "师傅很专业")]


def test_an_unsatisfied_customer_reopens_the_ticket_as_at_the_centers_call(session, world):
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], status="resolved")
    return_visits.record_survey(session, ticket, 2, "还是打不着火")
    session.commit()
    assert ticket.status == TicketStatus.DIAGNOSED
    assert any(e.action == "reopened" and e.note == "还是打不着火" for e in ticket.events)


def test_nothing_to_rate_before_the_service_is_done(session, world):
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], status="dispatched")
    assert return_visits.record_survey(session, ticket, 5) == return_visits.Survey.NOT_DUE
    session.flush()
    assert ticket.return_visits == [] and ticket.status == TicketStatus.DISPATCHED


@pytest.mark.parametrize("rating", ["0", "6", "", "five", None, "3.5"])
def test_a_rating_outside_1_to_5_is_refused(session, world, rating):
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], status="resolved")
    with pytest.raises(FieldErrors) as caught:
        return_visits.record_survey(session, ticket, rating)
    assert "satisfaction" in caught.value.errors and ticket.return_visits[0].done_at is None
