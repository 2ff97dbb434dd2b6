"""`sla.decided_sql` is `sla.state` in SQL (R-SLA-1): over every clock of the demo data — met,
late, open past due, paused, superseded, on resolved and closed tickets — the clocks SQL counts as
met in time or breached are exactly those the ticket page shows so."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backoffice import sla
from models import Ticket, TicketClock, utcnow
from tests import factories as f


def by_sql(session, now) -> dict[int, str]:
    met, breached = sla.decided_sql(now)
    rows = session.execute(select(TicketClock.id, met, breached).join(Ticket, TicketClock.ticket_id == Ticket.id))
    return {clock_id: "met" if on_time else "breached" for clock_id, on_time, late in rows if on_time or late}


def by_python(session, now) -> dict[int, str]:
    found = {}
    for ticket in session.scalars(select(Ticket).options(selectinload(Ticket.clocks))):
        for clock, state in sla.states(ticket, now):
            if state in ("met", "breached"):
                found[clock.id] = state
    return found


def test_decided_clocks_in_sql_are_the_ticket_pages_met_and_breached(session):
    customer = f.make_customer(session, f.make_outlet(session))
    overdue = f.make_ticket(session, customer)
    for clock in overdue.clocks:
        clock.due_at = utcnow() - timedelta(hours=1)
    f.make_ticket(session, customer, status="closed")
    session.flush()
    now = utcnow()
    python = by_python(session, now)
    assert len(set(python.values())) == 2  # the demo has both outcomes
    assert by_sql(session, now) == python
