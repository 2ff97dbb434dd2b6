"""Figures for the home page: aggregate queries under the caller's scope."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from models import ReturnVisit, Ticket, TicketClock, utcnow
from models.choices import TicketStatus

from . import sla
from .timezones import local_day_bounds, local_today

OPEN = [s.value for s in TicketStatus if s not in (TicketStatus.CLOSED,)]


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all()
    counts = {status.value: 0 for status in TicketStatus}
    counts.update({status: n for status, n in rows})
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
    """Open clocks overdue now and due within the hour, per ticket (R-SLA-1)."""
    now = utcnow()
    open_clock = (*sla.open_clock_sql(), Ticket.status.not_in(sla.FINISHED))
    tickets = select(func.count(func.distinct(TicketClock.ticket_id))).join(Ticket, Ticket.id == TicketClock.ticket_id)
    overdue = tickets.where(*open_clock, TicketClock.due_at < now)
    soon = tickets.where(*open_clock, TicketClock.due_at >= now, TicketClock.due_at <= now + timedelta(hours=1))
    visits = select(func.count()).select_from(ReturnVisit).where(
        ReturnVisit.done_at.is_(None), ReturnVisit.due_at <= now + timedelta(days=1))
    return {"overdue": session.scalar(overdue) or 0, "due_soon": session.scalar(soon) or 0,
            "visits_due": session.scalar(visits) or 0}


def newest_tickets(session: Session, limit: int = 10) -> list[Ticket]:
    stmt = (select(Ticket).options(joinedload(Ticket.customer), joinedload(Ticket.outlet))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit))
    return list(session.scalars(stmt))
