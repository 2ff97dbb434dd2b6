"""Figures for the home page: aggregate queries under the caller's scope.

The SLA figures use the predicates of `sla` (R-SLA-1), as the ticket list's filters do.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from models import ReturnVisit, Ticket, TicketClock, utcnow
from models.choices import TicketStatus

from . import sla
from .timezones import local_day_bounds, local_today

OPEN = [s.value for s in TicketStatus if s not in (TicketStatus.CLOSED,)]
# The home page's "registered recently" figure: a fixed choice of the page, not a rule.
RECENT_DAYS = 7
# Return visits counted as due: those due by this time tomorrow (a working day's look ahead).
VISITS_AHEAD = timedelta(days=1)


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all()
    counts = {status.value: 0 for status in TicketStatus}
    counts.update(dict(rows))
    return counts


def registered_between(session: Session, days: int) -> int:
    today = local_today()
    start, end = local_day_bounds(today - timedelta(days=days - 1), today)
    return session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.created_at >= start, Ticket.created_at < end)
    ) or 0


def my_open_tickets(session: Session, user_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(Ticket)
        .where(Ticket.assigned_engineer_id == user_id, Ticket.status.in_(OPEN))
    ) or 0


def sla_counts(session: Session) -> dict[str, int]:
    """Tickets with an open clock overdue now, and due soon (`sla.due_soon_within`), R-SLA-1;
    return visits still to make that are due by tomorrow."""
    now = utcnow()
    tickets = select(func.count(func.distinct(TicketClock.ticket_id))).join(Ticket, Ticket.id == TicketClock.ticket_id)
    overdue = tickets.where(sla.overdue_sql(now))
    soon = tickets.where(sla.due_soon_sql(now, sla.due_soon_within(session)))
    visits = select(func.count()).select_from(ReturnVisit).where(
        ReturnVisit.done_at.is_(None), ReturnVisit.due_at <= now + VISITS_AHEAD)
    return {"overdue": session.scalar(overdue) or 0, "due_soon": session.scalar(soon) or 0,
            "visits_due": session.scalar(visits) or 0}


def newest_tickets(session: Session, limit: int = 10) -> list[Ticket]:
    stmt = (select(Ticket).options(joinedload(Ticket.customer), joinedload(Ticket.outlet))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit))
    return list(session.scalars(stmt))
