"""Document numbers. Ticket numbers are date + daily sequence, e.g. SV20261122-0007 (R-TKT-1).

The counter row is incremented with a single UPDATE ... RETURNING, which both SQLite and
PostgreSQL serialise per row, so concurrent registrations never share a number; the UNIQUE
constraint on ticket.number is the second wall.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import TicketCounter

PREFIX = "SV"


def _insert_day(session: Session, day: date) -> None:
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(TicketCounter).values(day=day, last_seq=0)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["day"]))


def next_sequence(session: Session, day: date) -> int:
    _insert_day(session, day)
    stmt = (
        update(TicketCounter)
        .where(TicketCounter.day == day)
        .values(last_seq=TicketCounter.last_seq + 1)
        .returning(TicketCounter.last_seq)
    )
    return session.execute(stmt).scalar_one()


def format_ticket_number(day: date, seq: int) -> str:
    return f"{PREFIX}{day:%Y%m%d}-{seq:04d}"


def next_ticket_number(session: Session, day: date) -> str:
    """`day` is the service-local date of registration (times are shown in local time)."""
    return format_ticket_number(day, next_sequence(session, day))
