"""Customers hear about their service, with their consent, once per event (R-NTF-1, issue 17):
the receipt with the tracking link, the appointment, mail-in received and shipped back, the
complaint's answer; and the survey the link leads to completes the due return visit (R-TKT-4).
PIPL: only staff can undo an opt-out, and an opt-out stops what is queued."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from backoffice import customer_messages, intake, notifications, return_visits
from backoffice.errors import FieldErrors
from backoffice.timezones import local_today
from models import AuditEntry, Customer, OutboxMessage, ReturnVisit, Ticket, utcnow
from models.choices import TicketStatus
from tests import factories as f


@pytest.fixture(autouse=True)
def app_context(app):
    """Links start with the app's PUBLIC_BASE_URL."""
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
    token = re.search(r"/t/([\w-]+)", message.body).group(1)
    assert notifications.ticket_of_token(session, token) == ticket
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
    notifications.record_opt_out(session, first.customer)
    second = intake.register_report(session, report(phone=first.customer.phone, fault="又坏了"), None)
    session.commit()
    assert outbox(session, second) == []


def test_a_report_refused_for_bad_input_queues_nothing(session):
    before = session.scalars(select(OutboxMessage)).all()
    with pytest.raises(FieldErrors):
        intake.register_report(session, report(consent=True, fault=""), None)
    assert session.scalars(select(OutboxMessage)).all() == before


# --- PIPL: who may agree, and what an opt-out stops -------------------------------------------

def opted_out_customer(session, clerk) -> Customer:
    """A customer who agreed at the desk and later opted out; committed."""
    ticket = intake.register_report(session, report(consent=True, channel="hotline"), clerk)
    notifications.record_opt_out(session, ticket.customer)
    session.commit()
    return ticket.customer


@pytest.mark.parametrize("door", ["web", "wechat"])  # the public form, the channel API: no actor
def test_an_anonymous_door_cannot_undo_an_opt_out(session, world, door):
    customer = opted_out_customer(session, world["clerk"])
    opted_out_at = customer.notify_opt_out_at
    ticket = intake.register_report(session, report(consent=True, channel=door, phone=customer.phone,
                                                    customer={"name": customer.name, "phone": customer.phone}),
                                    None)
    session.commit()
    session.expire_all()
    customer = session.get(Customer, customer.id)
    assert ticket.customer_id == customer.id
    assert customer.notify_opt_out_at == opted_out_at and customer.notify_consent_source == "hotline"
    assert not notifications.may_tell(customer) and outbox(session, ticket) == []


def test_the_clerk_hearing_the_customer_agree_again_undoes_the_opt_out(session, world):
    customer = opted_out_customer(session, world["clerk"])
    ticket = intake.register_report(session, report(consent=True, channel="walk_in", phone=customer.phone,
                                                    customer={"name": customer.name, "phone": customer.phone}),
                                    world["clerk"])
    session.commit()
    session.expire_all()
    customer = session.get(Customer, customer.id)
    assert customer.notify_opt_out_at is None and customer.notify_consent_source == "walk_in"
    assert [m.template for m in outbox(session, ticket)] == ["receipt"]


@pytest.mark.parametrize("door", ["web", "wechat"])
def test_another_contact_on_a_known_phone_cannot_agree_for_the_customer_anonymously(session, world, door):
    first = intake.register_report(session, report(channel="hotline"), world["clerk"])  # no choice recorded
    session.commit()
    phone = first.customer.phone
    second = intake.register_report(session, report(consent=True, channel=door, name_choice=intake.NameChoice.CONTACT,
                                                    customer={"name": "王芳的邻居", "phone": phone}), None)
    session.commit()
    session.expire_all()
    customer = session.get(Customer, first.customer_id)
    assert second.customer_id == customer.id and second.contact_name == "王芳的邻居"
    assert customer.notify_consent_at is None and outbox(session, second) == []


def test_an_anonymous_consent_keeps_an_earlier_consent_as_recorded(session, world):
    customer = agreed(session, world["customer"])
    at, source = customer.notify_consent_at, customer.notify_consent_source
    assert notifications.record_consent(customer, "web") is False
    assert (customer.notify_consent_at, customer.notify_consent_source) == (at, source)
    assert notifications.record_consent(customer, "archive", verified=True) is True
    assert customer.notify_consent_source == "archive"


def test_opting_out_fails_the_messages_still_queued_and_leaves_the_sent_ones(session, world):
    customer = agreed(session, world["customer"])
    ticket = f.make_ticket(session, customer)
    notifications.tell_customer(session, ticket, "appointment", key="1", engineer="李工", window="明天")
    notifications.tell_customer(session, ticket, "appointment", key="2", engineer="李工", window="后天")
    session.commit()
    sent, _queued = outbox(session, ticket, "appointment")
    sent.status = "sent"
    session.commit()
    assert notifications.record_opt_out(session, customer) == 1
    session.commit()
    session.expire_all()
    assert [(m.status, m.last_error) for m in outbox(session, ticket, "appointment")] == [
        ("sent", ""), ("failed", notifications.OPTED_OUT)]
    assert notifications.tell_customer(session, ticket, "appointment", key="3", engineer="李工", window="周五") is False


# --- the tracking token ---------------------------------------------------------------------------

def test_the_tracking_token_is_random_stored_on_the_ticket_and_found_by_equality(session, world):
    ticket = f.make_ticket(session, world["customer"])
    other = f.make_ticket(session, world["customer"])
    session.commit()
    assert ticket.tracking_token is None  # made when a message first needs it
    token = notifications.tracking_token(ticket)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", token) and str(ticket.id) not in token
    assert notifications.tracking_token(ticket) == token != notifications.tracking_token(other)
    assert notifications.tracking_link(ticket).endswith(f"/t/{token}")
    assert notifications.survey_link(ticket).endswith(f"/t/{token}/survey")
    session.commit()
    session.expire_all()
    assert session.get(Ticket, ticket.id).tracking_token == token
    assert notifications.ticket_of_token(session, token) == session.get(Ticket, ticket.id)


def test_making_the_token_is_no_edit_of_the_ticket(session, world):
    """No version bump (a clerk editing the ticket at the same time is not refused) and no audit
    entry holding the secret."""
    ticket = f.make_ticket(session, world["customer"])
    session.commit()
    version, entries = ticket.version_id, session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()))
    notifications.tracking_token(ticket)
    session.commit()
    session.expire_all()
    assert session.get(Ticket, ticket.id).version_id == version
    assert session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc())) == entries


def test_a_token_made_meanwhile_by_another_transaction_stands(session, world):
    ticket = f.make_ticket(session, world["customer"])
    session.commit()
    session.execute(update(Ticket.__table__).where(Ticket.__table__.c.id == ticket.id)
                    .values(tracking_token="made-by-the-other-one"))
    assert ticket.tracking_token is None  # this session has not seen it
    assert notifications.tracking_token(ticket) == "made-by-the-other-one"


@pytest.mark.parametrize("token", ["", "x" * 33, "abc.def", "a b", "ä" * 5, "../../etc", "%00", None, 12])
def test_a_malformed_token_finds_nothing_without_asking_the_database(session, statements, token):
    statements.clear()
    assert notifications.ticket_of_token(session, token) is None
    assert statements == []


def test_an_unknown_token_finds_nothing(session):
    assert notifications.ticket_of_token(session, "AAAAAAAAAAAAAAAAAAAAAA") is None


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


def test_an_exchanges_replacement_is_told_with_courier_and_tracking_number_once(session, world):
    from backoffice import approvals, workflow
    from backoffice.approvals import Draft

    customer = agreed(session, world["customer"])
    model = f.make_product_model(session)
    f.make_stock(session, world["center"], model)
    unit = f.make_unit(session, customer, model_code=model.code, invoice_date=local_today() - timedelta(days=5))
    ticket = f.make_ticket(session, customer, unit=unit, kind="return_exchange", actor=world["dealer_a"])
    exchange = approvals.submit(session, ticket, world["dealer_a"],
                                Draft(kind="exchange", grounds="sanbao_window", reason="开箱即坏"))
    approvals.decide(session, exchange, world["manager"], "approve", "同意换货")
    workflow.perform(session, ticket, "ship_exchange", world["dealer_a"],
                     {"courier": "顺丰速运", "tracking_no": "SF1234567890"})
    session.commit()
    [shipped] = outbox(session, ticket, "exchange_shipped")
    assert "SF1234567890" in shipped.body and "顺丰速运" in shipped.body  # R-NTF-1, R-RET-5
    assert customer_messages.exchange_shipped(session, ticket) is False


def test_a_paid_refund_is_told_with_its_amount_and_reference_once(session, world):
    from backoffice import approvals, workflow

    agreed(session, world["customer"])
    refund = f.make_refund_request(session, world)
    approvals.decide(session, refund, world["manager"], "approve", "同意退货退款")
    ticket = refund.ticket
    workflow.perform(session, ticket, "pay_refund", world["clerk"], {"payment_ref": "WX4200001234"})
    session.commit()
    [paid] = outbox(session, ticket, "refund_paid")
    assert "2,599.00" in paid.body and "WX4200001234" in paid.body
    assert customer_messages.refund_paid(session, ticket) is False


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


def test_an_answer_that_lost_the_race_records_nothing(session, world):
    """Another answer completed the visit after this one read it (two POSTs at once): the
    conditional UPDATE finds it done, so the first answer's rating stands and the ticket stays."""
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], status="resolved")
    session.commit()
    [visit] = ticket.return_visits
    table = ReturnVisit.__table__
    session.execute(update(table).where(table.c.id == visit.id).values(done_at=utcnow(), satisfaction=4))
    assert visit.done_at is None  # the stale copy this answer works from
    assert return_visits.record_survey(session, ticket, "1", "差") == return_visits.Survey.ALREADY
    session.commit()
    session.expire_all()
    assert [(v.satisfaction, v.comment) for v in session.get(Ticket, ticket.id).return_visits] == [(4, "")]
    assert session.get(Ticket, ticket.id).status == TicketStatus.RESOLVED


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
