"""Return-visit coverage (001: every complaint is called back; 002: every service, within the
days of the policies `returns.complaint_visit_days` and `returns.visit_days`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from models import ReturnVisit


@dataclass(frozen=True)
class Coverage:
    kind: str
    due: int
    on_time: int
    late: int
    open: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.on_time / self.due) if self.due else None


def coverage(session: Session, start: datetime, end: datetime) -> list[Coverage]:
    """Visits due in [start, end) per kind: done on time, done late, still open."""
    on_time = func.sum(case((ReturnVisit.done_at <= ReturnVisit.due_at, 1), else_=0))
    late = func.sum(case((ReturnVisit.done_at > ReturnVisit.due_at, 1), else_=0))
    still_open = func.sum(case((ReturnVisit.done_at.is_(None), 1), else_=0))
    rows = session.execute(
        select(ReturnVisit.kind, func.count(), on_time, late, still_open)
        .where(ReturnVisit.due_at >= start, ReturnVisit.due_at < end)
        .group_by(ReturnVisit.kind).order_by(ReturnVisit.kind)
    ).all()
    return [Coverage(kind, due, on_time or 0, late or 0, open_ or 0) for kind, due, on_time, late, open_ in rows]
