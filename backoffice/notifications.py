"""Telling customers and staff (issue 17, R-NTF-1/2/3): queue a message, never send it here.

Customer messages go to the outbox (models.OutboxMessage) in the caller's transaction and are
delivered later by a worker through a gateway (backoffice.outbox); staff notifications are rows
the staff read in the app. Both are written with INSERT … ON CONFLICT DO NOTHING on a UNIQUE
`dedupe_key`: the same event noticed twice (a sweep every five minutes, two workers, a retried
request) queues one message, and a race between two transactions cannot fail either of them.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value

from models import Customer, OutboxMessage, StaffNotification, Ticket, User, utcnow
from models.choices import NotifyChannel, OutboxStatus

from .i18n import DEFAULT as CUSTOMER_LOCALE


@dataclass(frozen=True)
class CustomerTemplate:
    """One kind of customer message: its text and subject (translated; customers read Chinese)
    and its name for the staff who read the outbox (views.outbox)."""

    text: LazyString
    subject: LazyString
    label: LazyString


# R-TKT-1 receipt, 001/002 appointment and return visit, 003 mail-in, R-CMP-2 complaint answer.
CUSTOMER_TEMPLATES = {
    "receipt": CustomerTemplate(
        _l("Your service request %(number)s has been received. Follow it here: %(link)s"),
        _l("Service request %(number)s received"), _l("Receipt of the request")),
    "appointment": CustomerTemplate(
        _l("Request %(number)s: engineer %(engineer)s will visit you %(window)s. Details: %(link)s"),
        _l("Service request %(number)s: appointment"), _l("Appointment notice")),
    "mail_in_received": CustomerTemplate(
        _l("Request %(number)s: we have received the item you sent. Follow it here: %(link)s"),
        _l("Service request %(number)s: item received"), _l("Mail-in item received")),
    "mail_in_shipped": CustomerTemplate(
        _l("Request %(number)s: your item was shipped back by %(courier)s, tracking number %(tracking)s."),
        _l("Service request %(number)s: item shipped back"), _l("Item shipped back")),
    "exchange_shipped": CustomerTemplate(
        _l("Request %(number)s: your replacement unit was shipped by %(courier)s, tracking number %(tracking)s."),
        _l("Service request %(number)s: replacement shipped"), _l("Replacement unit shipped")),
    "refund_paid": CustomerTemplate(
        _l("Request %(number)s: your refund of %(amount)s yuan has been paid (reference %(reference)s)."),
        _l("Service request %(number)s: refund paid"), _l("Refund paid")),
    "return_visit": CustomerTemplate(
        _l("How was our service on request %(number)s? Tell us here: %(link)s"),
        _l("Service request %(number)s: how did we do?"), _l("Return-visit survey")),
    "complaint_answer": CustomerTemplate(
        _l("Our answer to your complaint %(number)s: %(answer)s"),
        _l("Complaint %(number)s: our answer"), _l("Complaint answer")),
}


def insert_once(session: Session, table, values: dict) -> bool:
    """INSERT the row unless one with its UNIQUE key exists; True when this call inserted it.
    Core INSERT: the row is the system's, written whatever the acting user may see."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT the ORM gave RETURNING on its own.
    result = session.execute(insert(table).values(**values).on_conflict_do_nothing()
                             .returning(*table.primary_key.columns))
    return result.first() is not None


# --- customers ---------------------------------------------------------------------------------

def may_tell(customer: Customer | None) -> bool:
    """PIPL: only a customer who agreed, and has not opted out since (R-NTF-1)."""
    return (customer is not None and customer.notify_consent_at is not None
            and (customer.notify_opt_out_at is None or customer.notify_opt_out_at < customer.notify_consent_at))


def record_consent(customer: Customer, source: str, at: datetime | None = None, *,
                   verified: bool = False) -> bool:
    """The customer agreed (by `source`: hotline, web, wechat, archive, …) to service messages;
    True when it was recorded.

    PIPL: `verified` is a consent staff took from the customer (the clerk's intake, the archive
    form): it stands whatever was recorded before and undoes an opt-out. An anonymous door (the
    public form, the channel API) cannot verify who typed a known phone number: its consent is
    recorded only for a customer with no choice on record — it never undoes an opt-out, and an
    earlier consent keeps its time and source."""
    if not verified and (customer.notify_opt_out_at is not None or customer.notify_consent_at is not None):
        return False
    customer.notify_consent_at = at or utcnow()
    customer.notify_consent_source = source[:20]
    customer.notify_opt_out_at = None
    return True


OPTED_OUT = "customer opted out"  # the outbox's last_error of a message the opt-out stopped


def record_opt_out(session: Session, customer: Customer, at: datetime | None = None) -> int:
    """The customer withdrew their consent (PIPL: as easily as they gave it). Messages still queued
    for them are not sent: they are failed with OPTED_OUT (backoffice.outbox checks again before
    each send). How many queued messages were stopped."""
    customer.notify_opt_out_at = at or utcnow()
    if customer.id is None:  # a new record: nothing can be queued for it yet
        return 0
    table = OutboxMessage.__table__
    stopped = session.execute(update(table).where(table.c.customer_id == customer.id,
                                                  table.c.status == OutboxStatus.QUEUED.value)
                              .values(status=OutboxStatus.FAILED.value, last_error=OPTED_OUT)
                              .returning(table.c.id))
    return len(stopped.all())


def recipient_of(customer: Customer, ticket: Ticket | None = None) -> tuple[str, str] | None:
    """(channel, address) by the customer's preference; SMS to the contact phone otherwise."""
    if customer.notify_channel == NotifyChannel.WECHAT and customer.wechat_openid:
        return NotifyChannel.WECHAT.value, customer.wechat_openid
    if customer.notify_channel == NotifyChannel.EMAIL and customer.email:
        return NotifyChannel.EMAIL.value, customer.email
    phone = (ticket.contact_phone if ticket is not None else "") or customer.phone
    return (NotifyChannel.SMS.value, phone) if phone else None


# The customer's link (R-NTF-1): a random token per ticket, stored on it (Ticket.tracking_token),
# made the first time a message needs it. It tells nothing (not the ticket's id nor how many
# there are), does not depend on SECRET_KEY, and a ticket's link is revoked by clearing it.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")  # token_urlsafe's alphabet, the column's length


def tracking_token(ticket: Ticket) -> str:
    """The ticket's token, made now if it has none. Written with its own UPDATE … COALESCE, not as an
    edit of the ticket: no version bump (a clerk editing the ticket is not refused for it), no
    audit entry for a secret, and of two transactions making one at once the first one's stands."""
    if ticket.tracking_token:
        return ticket.tracking_token
    session = object_session(ticket)
    if ticket.id is None:
        session.flush([ticket])
    table = Ticket.__table__
    token = session.execute(
        update(table).where(table.c.id == ticket.id)
        .values(tracking_token=func.coalesce(table.c.tracking_token, secrets.token_urlsafe(16)))
        .returning(table.c.tracking_token)).scalar_one()
    set_committed_value(ticket, "tracking_token", token)
    return token


def ticket_of_token(session: Session, token: str) -> Ticket | None:
    """The ticket the link names (within the caller's scope); None for an unknown, malformed or
    overlong token — checked before the database is asked."""
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        return None
    return session.scalar(select(Ticket).where(Ticket.tracking_token == token))


def tracking_link(ticket: Ticket) -> str:
    """The customer's link to the ticket's public status page (views.public_pages.track_link)."""
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/t/{tracking_token(ticket)}"


def survey_link(ticket: Ticket) -> str:
    """The return-visit survey: the customer rates the service on the tracking page."""
    return f"{tracking_link(ticket)}/survey"


def tell_customer(session: Session, ticket: Ticket, template: str, key: str = "", **params) -> bool:
    """Queue `template` to the ticket's customer. `key` tells apart repeated events of one kind on
    one ticket (the second appointment); the same key twice queues one message. False when nothing
    was queued: no consent, opted out, no address, or already queued."""
    customer = ticket.customer
    if not may_tell(customer):
        return False
    found = recipient_of(customer, ticket)
    if found is None:
        return False
    channel, recipient = found
    session.flush([ticket])  # its id and number
    params = {"number": ticket.number, "link": tracking_link(ticket), **params}
    texts = CUSTOMER_TEMPLATES[template]
    with force_locale(CUSTOMER_LOCALE):
        body, subject = str(texts.text) % params, str(texts.subject) % params
    now = utcnow()
    queued = insert_once(session, OutboxMessage.__table__, {
        "dedupe_key": f"{template}:{ticket.id}:{key}"[:120], "channel": channel, "recipient": recipient,
        "template": template, "params": params, "subject": subject, "body": body, "ticket_id": ticket.id,
        "customer_id": customer.id, "status": OutboxStatus.QUEUED.value, "attempts": 0, "next_attempt_at": now,
        "last_error": "", "gateway": "", "provider_id": "", "created_at": now})
    if queued:
        session.info[_QUEUED] = True
    return queued


_QUEUED = "outbox_queued"


@event.listens_for(Session, "after_commit")
def _deliver_soon(session: Session) -> None:
    """Once the messages are committed, a worker is asked to send them now (backoffice.tasks)."""
    if session.info.pop(_QUEUED, False):
        from .tasks import enqueue_delivery

        enqueue_delivery()


@event.listens_for(Session, "after_rollback")
def _nothing_queued(session: Session) -> None:
    session.info.pop(_QUEUED, None)


def messages_about(session: Session, ticket: Ticket) -> list[OutboxMessage]:
    """What the ticket's customer was sent (or will be), newest first; visible with the ticket."""
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)
                                .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())))


# --- staff ---------------------------------------------------------------------------------------

# What staff are told, by kind; shown in the reader's language when the list is drawn.
STAFF_TEXTS = {
    "sla_due_soon": _l("Ticket %(number)s: %(clock)s is due at %(due)s."),
    "sla_breached": _l("Ticket %(number)s: %(clock)s was due at %(due)s and is overdue."),
    "visits_due": _l("%(count)s return visits are due today."),
    "approval_waiting": _l("Approval request %(number)s waits for your decision."),
    "statement_issued": _l("The parts statement of %(month)s was issued."),
    "parts_shipped": _l("Parts request %(number)s was shipped."),
    "batch_alert": _l("Batch alert for %(month)s: %(model)s, %(faults)s fault reports."),
    "job_failed": _l("The scheduled job %(job)s failed: %(error)s"),
    # The approval's later waits, the claim's audit by outcome, a reissued statement, a reshipment
    # (backoffice.recipients and the services that call it).
    "approval_second": _l("Approval request %(number)s has its first approval and waits for a second manager."),
    "approval_answered": _l("Approval request %(number)s: the information asked for was given; "
                            "it waits for your decision."),
    "claim_approved": _l("Fee claim %(number)s was approved: ¥%(amount)s."),
    "claim_adjusted": _l("Fee claim %(number)s was adjusted: ¥%(amount)s approved of ¥%(claimed)s claimed."),
    "claim_rejected": _l("Fee claim %(number)s was rejected."),
    "claim_charged_back": _l("Fee claim %(number)s: an overcharge of ¥%(overcharge)s was confirmed; "
                             "¥%(charge_back)s is deducted in the next settlement."),
    "statement_reissued": _l("The parts statement of %(month)s was reissued as revision %(revision)s: "
                             "confirm it or dispute it again."),
    "parts_reshipped": _l("Parts request %(number)s: the missing parts were reshipped by %(courier)s, "
                          "tracking number %(tracking)s."),
}


def tell_staff(session: Session, users: Iterable[User], kind: str, key: str, *, link: str = "",
               ticket: Ticket | None = None, **params) -> int:
    """Notify each user once per `key` (the event); how many were newly notified."""
    if kind not in STAFF_TEXTS:
        raise KeyError(kind)
    now, told = utcnow(), 0
    for user in {u.id: u for u in users if u is not None and u.active}.values():
        told += insert_once(session, StaffNotification.__table__, {
            "user_id": user.id, "dedupe_key": f"{kind}:{key}:{user.id}"[:160], "kind": kind, "params": params,
            "link": link, "ticket_id": ticket.id if ticket is not None else None, "created_at": now})
    return told


def staff_text(notification: StaffNotification) -> str:
    """The notification in the reader's language. Stored values that have labels are shown as labels."""
    from models.choices import Clock

    from .labels import JOB_LABELS, label, label_of
    from .timezones import format_local

    params = dict(notification.params or {})
    if "job" in params:
        params["job"] = label_of(JOB_LABELS, params["job"])
    if "clock" in params:
        params["clock"] = label(Clock, params["clock"])
    if "due" in params:
        params["due"] = format_local(datetime.fromisoformat(params["due"]))
    try:
        return str(STAFF_TEXTS[notification.kind]) % params
    except (KeyError, TypeError, ValueError):  # a row written by an older version of a text
        return str(STAFF_TEXTS.get(notification.kind, notification.kind))


def mark_read(session: Session, user, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (the given ones, or all); how many changed."""
    query = select(StaffNotification).where(StaffNotification.user_id == user.id,
                                            StaffNotification.read_at.is_(None))
    if ids is not None:
        query = query.where(StaffNotification.id.in_(list(ids)))
    rows = session.scalars(query).all()
    now = utcnow()
    for row in rows:
        row.read_at = now
    return len(rows)
