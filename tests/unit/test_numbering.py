"""Ticket numbers: the day and its own daily sequence, never repeated (R-TKT-1)."""
from datetime import date

from sqlalchemy import select

from backoffice import numbering
from models import Ticket


def test_ticket_number_is_date_and_daily_sequence():  # R-TKT-1
    assert numbering.format_ticket_number(date(2026, 11, 22), 7) == "SV20261122-0007"


def test_daily_sequence_restarts_each_day_and_never_repeats(session):  # R-TKT-1
    day = date(2030, 1, 1)
    first = [numbering.next_ticket_number(session, day) for _ in range(3)]
    other = numbering.next_ticket_number(session, date(2030, 1, 2))
    assert first == ["SV20300101-0001", "SV20300101-0002", "SV20300101-0003"]
    assert other == "SV20300102-0001"


def test_demo_numbers_are_unique(session):
    numbers = session.scalars(select(Ticket.number)).all()
    assert len(numbers) == len(set(numbers)) >= 200
