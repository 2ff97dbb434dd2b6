"""Monthly reconciliation of each outlet's parts account (R-PART-7): the center issues last
month's statement, the outlet confirms it in writing (or disputes it), the center closes the
month; until the outlet has confirmed, no further supply."""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import PartsReconciliation, User, utcnow
from models.choices import ReconciliationStatus, Role

from . import ledger
from .access import UNSCOPED
from .errors import DomainError, FieldErrors
from .timezones import local_day_bounds

R = ReconciliationStatus
SETTLED = (R.CONFIRMED.value, R.CLOSED.value)


def previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def month_bounds(month: date):
    next_month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return local_day_bounds(month, next_month - timedelta(days=1))


def month_statement(session: Session, outlet_id: int, month: date) -> ledger.Statement:
    return ledger.statement(session, outlet_id, *month_bounds(month))


def issue(session: Session, outlet_id: int, month: date) -> PartsReconciliation:
    """The month's record with its figures (idempotent: an issued month is returned as is)."""
    found = _find(session, outlet_id, month)
    if found is not None:
        return found
    figures = month_statement(session, outlet_id, month)
    record = PartsReconciliation(outlet_id=outlet_id, month=month, opening=figures.opening,
                                 closing=figures.closing, cash_total=figures.cash_total)
    session.add(record)
    session.flush()
    return record


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
    _require_outlet_side(record, actor)
    if record.status not in (R.OPEN.value, R.DISPUTED.value):
        raise DomainError(_l("This month is already confirmed."))
    record.status, record.confirmed_by, record.confirmed_at = R.CONFIRMED.value, actor, utcnow()


def dispute(session: Session, record: PartsReconciliation, actor: User, reason: str) -> None:
    _require_outlet_side(record, actor)
    if record.status != R.OPEN.value:
        raise DomainError(_l("Only an open statement can be disputed."))
    if not reason.strip():
        raise FieldErrors({"dispute_reason": _l("Say which movement is wrong and why.")})
    record.status, record.dispute_reason = R.DISPUTED.value, reason.strip()


def close(session: Session, record: PartsReconciliation, actor: User) -> None:
    if actor.role not in (Role.ADMIN, Role.MANAGER, Role.CLERK):
        raise DomainError(_l("Only the service center closes a month."))
    if record.status != R.CONFIRMED.value:
        raise DomainError(_l("The outlet must confirm the statement before the month is closed."))
    record.status, record.closed_by, record.closed_at = R.CLOSED.value, actor, utcnow()


def _require_outlet_side(record: PartsReconciliation, actor: User) -> None:
    """The outlet confirms its own account (scope limits a dealer to it); the center may record
    a confirmation received on paper. Engineers have no say in accounts."""
    if actor.role == Role.ENGINEER:
        raise DomainError(_l("Only the outlet or the service center confirms a statement."))
