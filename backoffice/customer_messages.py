"""What the customer hears when their service moves on (R-NTF-1, issue 17).

The workflow calls these from the step where the event happens, in the step's transaction: each
queues one message through backoffice.notifications.tell_customer — only with the customer's
consent (PIPL), and once per event: the key tells one appointment or shipment from the next, so
the same event noticed twice queues one message. Parameters are plain strings (stored as JSON
with the message)."""
from __future__ import annotations

from datetime import UTC

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from models import Ticket

from . import notifications
from .i18n import DEFAULT as CUSTOMER_LOCALE
from .timezones import format_local, zone_of

ANSWER_MAX = 200  # an SMS of a few parts; the full answer is on the ticket
ANSWER_TEXT = _l("%(result)s, by %(time)s")


def _key(value) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value is not None else ""


def appointment(session: Session, ticket: Ticket) -> bool:
    """Dispatched: who comes and when (001/002, R-TKT-4). A new time or engineer is a new message."""
    engineer, at = ticket.assigned_engineer, ticket.appointment_at
    if engineer is None or at is None:
        return False
    return notifications.tell_customer(
        session, ticket, "appointment", key=f"{_key(at)}:{engineer.id}",
        engineer=engineer.full_name or engineer.username, window=format_local(at, zone_of(ticket.outlet)))


def mail_in_received(session: Session, ticket: Ticket) -> bool:
    """The item sent in has arrived (R-TKT-6); one message per receipt."""
    mail_in = ticket.mail_in
    if mail_in is None or mail_in.received_at is None:
        return False
    return notifications.tell_customer(session, ticket, "mail_in_received", key=_key(mail_in.received_at))


def mail_in_shipped(session: Session, ticket: Ticket) -> bool:
    """Shipped back with the courier's tracking number (R-TKT-6); one message per shipment."""
    mail_in = ticket.mail_in
    return mail_in is not None and _shipment(session, ticket, "mail_in_shipped", mail_in.courier, mail_in.tracking_no)


def exchange_shipped(session: Session, ticket: Ticket) -> bool:
    """The replacement of an approved exchange is on its way (R-RET-5), told as a mail-in's return
    is (R-NTF-1); one message per shipment."""
    handling = ticket.return_handling
    return handling is not None and _shipment(session, ticket, "exchange_shipped", handling.courier,
                                              handling.tracking_no)


def _shipment(session: Session, ticket: Ticket, template: str, courier: str, tracking_no: str) -> bool:
    if not tracking_no:
        return False
    return notifications.tell_customer(session, ticket, template, key=tracking_no, courier=courier,
                                       tracking=tracking_no)


def refund_paid(session: Session, ticket: Ticket) -> bool:
    """The approved refund has been paid (R-RET-5); once."""
    posting = ticket.return_handling.request.posting if ticket.return_handling is not None else None
    if posting is None or posting.paid_at is None:
        return False
    return notifications.tell_customer(session, ticket, "refund_paid", key=posting.payment_ref,
                                       amount=f"{posting.amount:,.2f}", reference=posting.payment_ref)


def complaint_answer(session: Session, ticket: Ticket) -> bool:
    """R-CMP-2: the answer states the result promised and by when; one answer per complaint."""
    complaint = ticket.complaint
    if complaint is None or not complaint.promised_result.strip():
        return False
    return notifications.tell_customer(session, ticket, "complaint_answer", answer=answer_text(ticket))


def answer_text(ticket: Ticket) -> str:
    """The promised result and time in the customer's language, at most ANSWER_MAX characters."""
    complaint = ticket.complaint
    result = " ".join(complaint.promised_result.split())
    if complaint.promised_at is None:
        return _cut(result, ANSWER_MAX)
    when = format_local(complaint.promised_at, zone_of(ticket.outlet))
    with force_locale(CUSTOMER_LOCALE):
        text = str(ANSWER_TEXT)
    room = ANSWER_MAX - len(text % {"result": "", "time": when})
    return text % {"result": _cut(result, room), "time": when}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:max(limit - 1, 0)] + "…"
