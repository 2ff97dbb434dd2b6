"""Runs of the periodic jobs (issue 17). The UNIQUE (job, slot) row is also the lock: the worker
that inserts it runs that job for that slot (a 5-minute tick, a day, a month); another worker's
insert fails and it skips, so two workers never run the same periodic job twice."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import UTCDateTime, choice_check, db, utcnow
from .choices import JobStatus


class JobRun(db.Model):
    __tablename__ = "job_run"
    __scope__ = "own_rule"  # the service center's staff only (backoffice.access)
    __table_args__ = (
        sa.UniqueConstraint("job", "slot", name="uq_job_run_job_slot"),
        choice_check("status", [s.value for s in JobStatus]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(40))
    slot: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(10), default=JobStatus.RUNNING.value)
    attempts: Mapped[int] = mapped_column(default=1)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    items: Mapped[int] = mapped_column(default=0)
    summary: Mapped[str] = mapped_column(sa.String(500), default="")
    error: Mapped[str] = mapped_column(sa.Text, default="")
    worker: Mapped[str] = mapped_column(sa.String(80), default="")

    def __str__(self) -> str:
        return f"{self.job} {self.slot}"
