"""Retention of appraisal and training records (R-APR-4): kept for the policy's number of years
(`appraisal.retention_years`, 2 by default) after their period, then purged by a daily job
(`flask purge-appraisals`; a task queue may call `purge_expired` instead).

Rows are deleted through the ORM, so the audit listener writes each delete with the values it
removed (backoffice.audit) and cascades run (an appraisal's itemised deductions go with it);
one summary entry per run says what the run removed and up to which day. A second run the
same day finds nothing left to remove: the job is idempotent and safe to run daily.

- An appraisal record expires when its period (backoffice.appraisal.period_of: its week, month
  or year) ended before the cut-off day.
- A training attendance (exam result, certificate) expires when its session was held before the
  cut-off day and it carries no certificate still valid today (a valid certificate is what lets
  the engineer work on a product: manual 001, 上岗). A session held before the cut-off goes too
  once no attendance is left on it and no kept attendance is retrained in it. Courses stay.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AppraisalRecord, AuditEntry, utcnow

from . import policy
from .audit import current_actor
from .errors import DomainError

MIN_YEARS = Decimal(1)  # a policy typo (0) must not wipe every record


@dataclass
class Purged:
    cutoff: date
    removed: dict[str, list[int]] = field(default_factory=dict)  # table -> ids

    @property
    def total(self) -> int:
        return sum(len(ids) for ids in self.removed.values())


def cutoff_day(session: Session, today: date) -> date:
    """Records whose period ended before this day are older than the retention period."""
    years = policy.value(session, "appraisal.retention_years")
    if years < MIN_YEARS:
        raise DomainError(_l("The retention period of appraisal records must be at least 1 year."))
    months = today.year * 12 + today.month - 1 - int(years * 12)
    year, month = divmod(months, 12)
    month += 1
    for day in (today.day, 30, 29, 28):  # 29 February, 31st of a shorter month
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def purge_expired(session: Session, today: date) -> Purged:
    """Delete the appraisal and training records older than the retention period and write the
    run's summary to the audit trail. Does not commit."""
    cutoff = cutoff_day(session, today)
    result = Purged(cutoff)
    result.removed["appraisal_record"] = _delete(session, _expired_appraisals(session, cutoff))
    result.removed.update(_purge_training(session, cutoff, today))
    actor_id, actor_name = current_actor()
    session.add(AuditEntry(
        at=utcnow(), actor_id=actor_id, actor_name=actor_name, action="purge", table_name="retention",
        record_id=f"before {cutoff.isoformat()}",
        changes={"retention_years": [None, str(policy.value(session, "appraisal.retention_years"))],
                 "kept_from": [None, cutoff.isoformat()],
                 **{table: [ids, None] for table, ids in result.removed.items()}}))
    session.flush()
    return result


def _expired_appraisals(session: Session, cutoff: date) -> list:
    from .appraisal import period_of

    candidates = session.scalars(select(AppraisalRecord).where(AppraisalRecord.period_start < cutoff)
                                 .order_by(AppraisalRecord.id))
    return [r for r in candidates if period_of(r.period_kind, r.period_start)[1] < cutoff]


def _delete(session: Session, rows: list) -> list[int]:
    ids = [row.id for row in rows]
    for row in rows:
        session.delete(row)  # through the ORM: cascades and the audit listener run
    session.flush()
    return ids


def _purge_training(session: Session, cutoff: date, today: date) -> dict[str, list[int]]:
    try:
        from models.training import TrainingAttendee, TrainingSession
    except ImportError:  # no training records kept
        return {}
    attendees = session.scalars(
        select(TrainingAttendee).join(TrainingSession, TrainingAttendee.session_id == TrainingSession.id)
        .where(TrainingSession.held_on < cutoff,
               (TrainingAttendee.valid_until.is_(None)) | (TrainingAttendee.valid_until < today))
        .order_by(TrainingAttendee.id)).all()
    removed = {"training_attendee": _delete(session, attendees)}
    attended = select(TrainingAttendee.session_id)
    retrained_in = select(TrainingAttendee.retraining_session_id).where(
        TrainingAttendee.retraining_session_id.is_not(None))
    empty = session.scalars(select(TrainingSession).where(
        TrainingSession.held_on < cutoff, TrainingSession.id.not_in(attended),
        TrainingSession.id.not_in(retrained_in)).order_by(TrainingSession.id)).all()
    removed["training_session"] = _delete(session, empty)
    return removed
