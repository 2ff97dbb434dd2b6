"""Monthly reconciliation of each outlet's parts account (R-PART-7): the center issues last
month's statement, the outlet confirms it in writing (or disputes it), the center closes the
month; until the outlet has confirmed, no further supply.

Who may do what: `actions(session, record, user)` gives, per action, allowed or the reason
why not: "issue" (the month's statements) when `record` is None; "confirm", "dispute" and
"close" for a month's record. The services require it before acting; the screens show their
buttons from it.
"""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import PartsAccount, PartsReconciliation, User, utcnow
from models.choices import ReconciliationStatus

from . import ledger
from .access import UNSCOPED
from .errors import FieldErrors
from .months import month_end, previous_month
from .permissions import ALLOWED, CENTER, DESK, Verdict, first_refusal, refuse, require, role_in
from .timezones import local_day_bounds

R = ReconciliationStatus
SETTLED = (R.CONFIRMED.value, R.CLOSED.value)

# Why an action on a month is withheld.
ISSUE_ROLE = _l("Only the service center issues statements.")
ANSWER_ROLE = _l("Only the outlet or the service center confirms a statement.")
CLOSE_ROLE = _l("Only the service center closes a month.")
ALREADY_CONFIRMED = _l("This month is already confirmed.")
NOT_OPEN = _l("Only an open statement can be disputed.")
NOT_CONFIRMED = _l("The outlet must confirm the statement before the month is closed.")
ALREADY_CLOSED = _l("This month is already closed.")


def actions(session: Session, record: PartsReconciliation | None, user) -> dict[str, Verdict]:
    """What `user` may do now, per action, or why not.

    - record None, "issue": last month's statements for every account: the service center.
    - "confirm": the outlet (scope limits a dealer to its own) or the center, recording a
      confirmation received on paper; an open or disputed statement. Engineers have no say.
    - "dispute": the same people; an open statement.
    - "close": the service center; a confirmed month."""
    if record is None:
        return {"issue": role_in(user, CENTER, ISSUE_ROLE)}
    status = R(record.status)
    answering = role_in(user, DESK, ANSWER_ROLE)
    return {
        "confirm": first_refusal(answering, ALLOWED if status in (R.OPEN, R.DISPUTED) else refuse(ALREADY_CONFIRMED)),
        "dispute": first_refusal(answering, ALLOWED if status == R.OPEN else refuse(NOT_OPEN)),
        "close": first_refusal(role_in(user, CENTER, CLOSE_ROLE), _closable(status)),
    }


def _closable(status: R) -> Verdict:
    if status == R.CONFIRMED:
        return ALLOWED
    return refuse(ALREADY_CLOSED if status == R.CLOSED else NOT_CONFIRMED)


def month_bounds(month: date):
    """The month's first local midnight and the next month's, as UTC instants."""
    return local_day_bounds(month, month_end(month))


def month_statement(session: Session, outlet_id: int, month: date) -> ledger.Statement:
    return ledger.statement(session, outlet_id, *month_bounds(month))


def issue(session: Session, outlet_id: int, month: date, actor: User | None = None) -> PartsReconciliation:
    """The month's record with its figures (idempotent: an issued month is returned as is, also
    when a second click issued it at the same moment). `actor` None is the system (the demo)."""
    if actor is not None:
        require(actions(session, None, actor), "issue")
    found = _find(session, outlet_id, month)
    if found is not None:
        return found
    figures = month_statement(session, outlet_id, month)
    record = PartsReconciliation(outlet_id=outlet_id, month=month, opening=figures.opening,
                                 closing=figures.closing, cash_total=figures.cash_total)
    try:
        with session.begin_nested():  # the UNIQUE (outlet, month): the twin's record is the month's
            session.add(record)
            session.flush()
    except IntegrityError:
        found = _find(session, outlet_id, month)
        if found is None:
            raise
        return found
    return record


def issue_all(session: Session, month: date, actor: User) -> list[PartsReconciliation]:
    """The month's statements of every parts account (idempotent)."""
    require(actions(session, None, actor), "issue")
    return [issue(session, outlet_id, month) for outlet_id in session.scalars(select(PartsAccount.outlet_id)).all()]


def _find(session: Session, outlet_id: int, month: date) -> PartsReconciliation | None:
    return session.scalar(select(PartsReconciliation).where(
        PartsReconciliation.outlet_id == outlet_id, PartsReconciliation.month == month)
        .execution_options(**UNSCOPED))


def supply_blocked(session: Session, outlet_id: int, today: date) -> bool:
    """R-PART-7: the account was in use before this month and the outlet has not confirmed last
    month (a quiet month is confirmed too: the outlet agrees with the balance carried over)."""
    last = previous_month(today)
    start, _ = month_bounds(today.replace(day=1))
    if not ledger.entries_before(session, outlet_id, start):
        return False
    found = _find(session, outlet_id, last)
    return found is None or found.status not in SETTLED


def confirm(session: Session, record: PartsReconciliation, actor: User) -> None:
    require(actions(session, record, actor), "confirm")
    record.status, record.confirmed_by, record.confirmed_at = R.CONFIRMED.value, actor, utcnow()


def dispute(session: Session, record: PartsReconciliation, actor: User, reason: str) -> None:
    require(actions(session, record, actor), "dispute")
    if not reason.strip():
        raise FieldErrors({"dispute_reason": _l("Say which movement is wrong and why.")})
    record.status, record.dispute_reason = R.DISPUTED.value, reason.strip()


def close(session: Session, record: PartsReconciliation, actor: User) -> None:
    require(actions(session, record, actor), "close")
    record.status, record.closed_by, record.closed_at = R.CLOSED.value, actor, utcnow()
