"""Delivering the customers' outbox through the gateways (issue 17, R-NTF-3): queued -> sent, or failed.

A documented exception to "services never commit": like the job runner (backoffice.job_runs)
this commits per message, because a message must be visibly claimed before the network call and
marked sent right after it. The claim is a conditional UPDATE (still queued, still due) that sets
the next attempt a lease ahead: of two workers — threads or processes, on SQLite or PostgreSQL —
only one updates the row, so only one sends it. A worker that dies after its claim leaves the
message queued; it is due again when the lease runs out.

A temporary gateway error reschedules the message with exponential backoff (OUTBOX_FIRST_DELAY_SECONDS
doubling, at most OUTBOX_MAX_DELAY_MINUTES); a permanent one, or OUTBOX_MAX_ATTEMPTS attempts,
marks it failed for a person to see and `requeue`. Nothing is ever deleted: a gateway that is
down only delays. Delivery is at least once, not exactly once: a worker that stops between a
send and its commit, or whose send outlasts the lease so that another worker claims the message
again, means a second send — with the same outbox id (the SMTP Message-ID, Aliyun's OutId) so the
resend is recognisable; the late worker's outcome is then not written (a warning is logged).

PIPL (R-NTF-1): a message whose customer opted out after it was queued is never sent; it is
failed with notifications.OPTED_OUT at its claim (record_opt_out fails the queued ones already).

The runner serves every message (it is the system, not a user): its reads bypass the request's
scope. `requeue` is an admin's action and sees only what the admin may see.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from models import Customer, OutboxMessage, utcnow
from models.choices import OutboxStatus

from .access import UNSCOPED
from .gateways import Gateway, GatewayError, Message, gateway_for
from .notifications import OPTED_OUT

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a claimed message is due again after this: its worker died
QUEUED, SENT, FAILED = OutboxStatus.QUEUED.value, OutboxStatus.SENT.value, OutboxStatus.FAILED.value
_table = OutboxMessage.__table__


@dataclass(frozen=True)
class Delivery:
    """What one run did: messages sent, rescheduled after a temporary error, and given up."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Claimed:
    """A message this worker claimed, and its attempt's number."""

    message: Message
    attempts: int


def deliver_due(session: Session, now: datetime | None = None, limit: int = 50,
                gateways: Mapping[str, Gateway] | None = None, config: Mapping | None = None) -> Delivery:
    """Send up to `limit` due messages, oldest first; commits per message.

    `gateways` (channel -> gateway) overrides the configured ones (tests); `config` defaults to
    the app's. `now` fixes the clock (tests); otherwise each step reads the time anew."""
    config = current_app.config if config is None else config
    chosen = dict(gateways or {})
    clock = (lambda: now) if now is not None else utcnow
    counts = {"sent": 0, "retried": 0, "failed": 0}
    _give_up_lost(session, clock(), int(config["OUTBOX_MAX_ATTEMPTS"]))
    for message_id in _due_ids(session, clock(), limit):
        if _withdrawn(session, message_id):
            counts["failed"] += 1
            continue
        claimed = _claim(session, message_id, clock(), int(config["OUTBOX_MAX_ATTEMPTS"]))
        if claimed is None:
            continue  # another worker has it
        outcome = _deliver(session, claimed, _gateway(chosen, claimed.message.channel, config), clock, config)
        counts[outcome] += 1
    return Delivery(**counts)


def _due_ids(session: Session, now: datetime, limit: int) -> list[int]:
    ids = list(session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.status == QUEUED, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
        .execution_options(**UNSCOPED)))
    session.commit()  # end the read: each claim is a transaction of its own
    return ids


def _withdrawn(session: Session, message_id: int) -> bool:
    """Fail the queued message if its customer may no longer be told (opted out since it was
    queued, PIPL); True when it was. Committed: the claim that follows finds it failed."""
    customer = Customer.__table__
    told_no_more = exists().where(
        customer.c.id == _table.c.customer_id,
        or_(customer.c.notify_consent_at.is_(None),
            and_(customer.c.notify_opt_out_at.is_not(None),
                 customer.c.notify_opt_out_at >= customer.c.notify_consent_at)))
    row = session.execute(update(_table).where(_table.c.id == message_id, _table.c.status == QUEUED, told_no_more)
                          .values(status=FAILED, last_error=OPTED_OUT).returning(_table.c.id)).first()
    session.commit()
    return row is not None


def _claim(session: Session, message_id: int, now: datetime, max_attempts: int) -> Claimed | None:
    """Take the message for this worker (one attempt more, due again only after the lease), or
    None when another worker took it first. Committed before anything is sent."""
    row = session.execute(
        update(_table)
        .where(_table.c.id == message_id, _table.c.status == QUEUED, _table.c.next_attempt_at <= now,
               _table.c.attempts < max_attempts)
        .values(attempts=_table.c.attempts + 1, next_attempt_at=now + LEASE)
        .returning(_table.c.id, _table.c.channel, _table.c.recipient, _table.c.template, _table.c.params,
                   _table.c.subject, _table.c.body, _table.c.attempts)).first()
    session.commit()
    if row is None:
        return None
    *fields, attempts = row
    return Claimed(Message(*fields), attempts)


def _gateway(chosen: dict, channel: str, config: Mapping) -> Gateway | GatewayError:
    """The channel's gateway, built once per run; a configuration error stands in for it."""
    if channel not in chosen:
        try:
            chosen[channel] = gateway_for(channel, config)
        except GatewayError as exc:
            chosen[channel] = exc
    return chosen[channel]


def _deliver(session: Session, claimed: Claimed, gateway: Gateway | GatewayError, clock, config) -> str:
    """Send one claimed message and record the outcome; "sent", "retried" or "failed"."""
    message = claimed.message
    try:
        if isinstance(gateway, GatewayError):  # the channel's gateway is misconfigured
            raise GatewayError(str(gateway), gateway.temporary)
        provider_id = gateway.send(message)
    except GatewayError as exc:
        error, temporary = str(exc), exc.temporary
    except Exception as exc:  # a gateway's bug must not stop the run, nor lose the message
        log.exception("outbox message %s: the %s gateway failed", message.id, getattr(gateway, "name", "?"))
        error, temporary = f"{type(exc).__name__}: {exc}", True
    else:
        _record(session, claimed, status=SENT, sent_at=clock(), gateway=gateway.name,
                provider_id=str(provider_id)[:100], last_error="")
        return "sent"
    if temporary and claimed.attempts < int(config["OUTBOX_MAX_ATTEMPTS"]):
        _record(session, claimed, next_attempt_at=clock() + backoff(claimed.attempts, config),
                last_error=error[:500])
        log.warning("outbox message %s: attempt %s failed, retried later: %s", message.id, claimed.attempts, error)
        return "retried"
    _record(session, claimed, status=FAILED, last_error=error[:500])
    log.error("outbox message %s failed after %s attempts: %s", message.id, claimed.attempts, error)
    return "failed"


def _record(session: Session, claimed: Claimed, **values) -> None:
    """Write the outcome of this worker's attempt, only while the message is still its claim.
    Otherwise its lease ran out and another worker claimed it again (or the customer opted out
    meanwhile): that worker's outcome stands, and a sent message may have been sent twice."""
    changed = session.execute(
        update(_table).where(_table.c.id == claimed.message.id, _table.c.status == QUEUED,
                             _table.c.attempts == claimed.attempts).values(**values)
        .returning(_table.c.id)).first()
    session.commit()
    if changed is None:
        log.warning("outbox message %s: attempt %s ended after its lease (it was claimed again or "
                    "withdrawn); its outcome %r is not recorded", claimed.message.id, claimed.attempts,
                    values.get("status", "retry"))


def backoff(attempts: int, config: Mapping) -> timedelta:
    """The wait after the `attempts`-th failed attempt: the first delay, doubled each time, capped."""
    first = int(config["OUTBOX_FIRST_DELAY_SECONDS"])
    cap = int(config["OUTBOX_MAX_DELAY_MINUTES"]) * 60
    return timedelta(seconds=min(first * 2 ** min(max(attempts - 1, 0), 30), cap))


def _give_up_lost(session: Session, now: datetime, max_attempts: int) -> None:
    """A message whose last allowed attempt lost its worker (still queued, its lease run out) is
    failed rather than sent once more than allowed, or left queued for ever."""
    session.execute(update(_table).where(_table.c.status == QUEUED, _table.c.next_attempt_at <= now,
                                         _table.c.attempts >= max_attempts)
                    .values(status=FAILED, last_error="the worker sending it stopped; no attempts left"))
    session.commit()


def requeue(session: Session, ids: Iterable[int]) -> int:
    """An admin's "retry now": the given failed messages (those the admin may see) are queued again
    with a fresh set of attempts; how many. Does not commit."""
    rows = session.scalars(select(OutboxMessage).where(
        OutboxMessage.id.in_(list(ids)), OutboxMessage.status == FAILED)).all()
    now = utcnow()
    for row in rows:
        row.status, row.attempts, row.next_attempt_at = QUEUED, 0, now
    return len(rows)


def outbox_depth(session: Session) -> dict[str, int]:
    """Messages by status (metrics): an operational count, the same whoever asks."""
    counts = dict.fromkeys((QUEUED, SENT, FAILED), 0)
    counts.update(session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        .execution_options(**UNSCOPED)).tuples().all())
    return counts
