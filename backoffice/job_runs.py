"""Running a periodic job once per slot, and recording the run (issue 17, R-OPS-1).

A run is claimed by INSERTing its (job, slot) row in a transaction of its own: the UNIQUE
constraint lets exactly one worker win, on SQLite and on PostgreSQL alike, however many consumers
the queue has. A run that failed, or whose worker died (still "running" after STALE), may be
claimed again by a conditional UPDATE, which again only one worker can win. The job itself runs
in the caller's session and commits its work with the run's record; on an error its work is
rolled back and the error recorded.
"""
from __future__ import annotations

import json
import os
import socket
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import JobRun, utcnow
from models.choices import JobStatus

from .notifications import insert_once

STALE = timedelta(hours=2)  # a run "running" this long lost its worker (jobs take seconds to minutes)


@dataclass(frozen=True)
class Outcome:
    """What a job did: how many items it touched and, by kind, what they were ({"notified": 3,
    "month": "2026-11"}). Stored as JSON; the admin screen words it in the reader's language."""

    items: int = 0
    counts: dict = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return json.dumps(self.counts, ensure_ascii=False, separators=(",", ":"))[:500]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:80]


def claim(session: Session, job: str, slot: str) -> bool:
    """Take (job, slot) for this worker; False when another worker has it or it is done. Commits."""
    now = utcnow()
    try:
        won = insert_once(session, JobRun.__table__, {
            "job": job, "slot": slot, "status": JobStatus.RUNNING.value, "attempts": 1, "started_at": now,
            "items": 0, "summary": "", "error": "", "worker": worker_name()})
        if not won:  # a failed run, or one whose worker died, may be taken over by one worker
            won = session.execute(
                update(JobRun).where(JobRun.job == job, JobRun.slot == slot, or_(
                    JobRun.status == JobStatus.FAILED.value,
                    (JobRun.status == JobStatus.RUNNING.value) & (JobRun.started_at < now - STALE)))
                .values(status=JobStatus.RUNNING.value, attempts=JobRun.attempts + 1, started_at=now,
                        finished_at=None, error="", worker=worker_name())
                .execution_options(synchronize_session=False)).rowcount == 1
        session.commit()
    except IntegrityError:  # the constraint answered for a dialect without ON CONFLICT
        session.rollback()
        return False
    return won


def why_idle(session: Session, job: str, slot: str | None, now: datetime) -> str | None:
    """Why a run of (job, slot) now would do nothing — "not_due" (no slot yet today), "done",
    "running" (a live worker has it) — or None: not run yet, failed, or its worker died (`claim`
    takes it over)."""
    if slot is None:
        return "not_due"
    run = session.scalars(_run(job, slot)).first()
    if run is None:
        return None
    if run.status == JobStatus.DONE.value:
        return "done"
    if run.status == JobStatus.RUNNING.value and run.started_at >= now - STALE:
        return "running"
    return None


def run_once(session: Session, job: str, slot: str, work: Callable[[Session], Outcome]) -> JobRun | None:
    """Run `work` for (job, slot) unless another worker has; the run's record, or None if skipped."""
    if not claim(session, job, slot):
        return None
    try:
        outcome = work(session)
    except Exception as exc:  # recorded for the admin screen, then raised for the queue's log
        session.rollback()
        _finish(session, job, slot, JobStatus.FAILED, error=_error_text(exc))
        session.commit()
        raise
    _finish(session, job, slot, JobStatus.DONE, outcome=outcome)
    session.commit()  # the job's work and its record together
    return session.scalars(_run(job, slot)).one()


def _run(job: str, slot: str):
    from sqlalchemy import select

    return select(JobRun).where(JobRun.job == job, JobRun.slot == slot)


def _finish(session: Session, job: str, slot: str, status: JobStatus, outcome: Outcome | None = None,
            error: str = "") -> None:
    values = {"status": status.value, "finished_at": utcnow(), "error": error}
    if outcome is not None:
        values.update(items=outcome.items, summary=outcome.summary)
    session.execute(update(JobRun).where(JobRun.job == job, JobRun.slot == slot).values(**values)
                    .execution_options(synchronize_session=False))


def _error_text(exc: Exception) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
