"""Service KPIs for a period and the outlets the viewer may see (R-RPT-2). Every figure is one
aggregate query under the row scope (backoffice.access), grouped in SQL."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from models import Ticket, TicketClock, utcnow
from models.choices import Clock


def percent(part: int, whole: int) -> Decimal | None:
    """part ÷ whole as a percentage to one decimal; None when there is nothing to divide."""
    return (Decimal(part * 100) / whole).quantize(Decimal("0.1")) if whole else None


@dataclass(frozen=True)
class Compliance:
    clock: str
    due: int  # clocks of the current round that fell due in the period, up to now
    met: int  # of those, met by their due time
    rate: Decimal | None  # percent, None when nothing fell due


def clock_compliance(session: Session, start: datetime, end: datetime,
                     outlet_id: int | None = None) -> list[Compliance]:
    """Per clock (R-SLA-1): the clocks of the current round that fell due in [start, end) — end
    no later than now — and those met by their due time. A paused clock that fell due counts as
    due; met late or still open is a miss."""
    end = min(end, utcnow())
    in_time = and_(TicketClock.met_at.is_not(None), TicketClock.met_at <= TicketClock.due_at)
    stmt = (select(TicketClock.clock, func.count(), func.count().filter(in_time))
            .join(Ticket, Ticket.id == TicketClock.ticket_id)
            .where(TicketClock.superseded_at.is_(None), TicketClock.due_at >= start, TicketClock.due_at < end)
            .group_by(TicketClock.clock))
    if outlet_id is not None:
        stmt = stmt.where(Ticket.outlet_id == outlet_id)
    found = {clock: (due, met) for clock, due, met in session.execute(stmt)}
    result = []
    for clock in Clock:
        due, met = found.get(clock.value, (0, 0))
        result.append(Compliance(clock.value, due, met, percent(met, due)))
    return result
