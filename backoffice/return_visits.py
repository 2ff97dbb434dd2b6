"""Return-visit coverage (001: every complaint is called back; 002: every service, within the
days of the policies `returns.complaint_visit_days` and `returns.visit_days`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from models import ReturnVisit, Ticket, utcnow
from models.choices import TicketStatus

from . import workflow
from .errors import FieldErrors

SURVEY_COMMENT_MAX = 1000


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


# --- the customer's own survey (R-TKT-4, R-NTF-1) ----------------------------------------------

class Survey(StrEnum):
    RECORDED = "recorded"  # the due visit is done with the customer's rating
    ALREADY = "already"  # the visit was made (or rated) before: nothing is overwritten
    NOT_DUE = "not_due"  # the service is not finished: there is nothing to rate yet


def open_visit(ticket: Ticket) -> ReturnVisit | None:
    """The visit still to make, the one the center's return-visit step would complete."""
    return next((v for v in ticket.return_visits if v.done_at is None), None)


def survey_state(ticket: Ticket) -> Survey | None:
    """None while a visit waits for the rating; else why the survey has nothing to take."""
    if open_visit(ticket) is not None:
        return None
    return Survey.ALREADY if any(v.done_at is not None for v in ticket.return_visits) else Survey.NOT_DUE


def record_survey(session: Session, ticket: Ticket, satisfaction, comment: str = "",
                  at: datetime | None = None) -> Survey:
    """The customer rates the service 1-5 through the survey link: it completes the due return
    visit (no visitor: nobody called), once. A resolved ticket moves on as after the center's call
    (an unsatisfied customer reopens it, R-TKT-4, R-CMP-2); a visit made already is never
    overwritten and no second visit is made — not even by two answers sent at the same moment."""
    score, comment = _checked(satisfaction, comment)
    state = survey_state(ticket)
    if state is not None:
        return state
    at = at or utcnow()
    visit = open_visit(ticket)
    if not _take_visit(session, visit, at):
        session.expire(visit)  # another answer won: its rating stands, read anew
        return Survey.ALREADY
    if ticket.status == TicketStatus.RESOLVED:
        workflow.customer_survey(session, ticket, score, comment, at)
    else:  # a visit left open by a reopening: rated, the rework goes on
        visit.done_at, visit.satisfaction, visit.comment = at, score, comment
    return Survey.RECORDED


def _take_visit(session: Session, visit: ReturnVisit, at: datetime) -> bool:
    """Claim the open visit for this answer with a conditional UPDATE (… AND done_at IS NULL): of
    two concurrent answers only one changes the row (PostgreSQL makes the second wait for the first
    to commit, then finds it done; SQLite writes one at a time). The winner then records the visit
    through the ORM as before (its audit trail, the workflow's step), writing the same done_at."""
    if visit.id is None:
        session.flush([visit])
    table = ReturnVisit.__table__
    won = session.execute(update(table).where(table.c.id == visit.id, table.c.done_at.is_(None))
                          .values(done_at=at).returning(table.c.id)).first()
    return won is not None


def _checked(satisfaction, comment) -> tuple[int, str]:
    errors = {}
    try:
        score = int(str(satisfaction).strip())
    except ValueError:
        score = 0
    if not 1 <= score <= 5:
        errors["satisfaction"] = _l("Choose from 1 (very unsatisfied) to 5 (very satisfied).")
    comment = (comment or "").strip() if isinstance(comment, str) else ""
    if len(comment) > SURVEY_COMMENT_MAX:
        errors["comment"] = _l("At most %(n)d characters.", n=SURVEY_COMMENT_MAX)
    if errors:
        raise FieldErrors(errors)
    return score, comment
