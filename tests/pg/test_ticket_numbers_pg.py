"""R-TKT-1 under real concurrency: 50 registrations at once get 50 distinct numbers that form
the day's sequence 1..50 with no gap and no duplicate.

Each thread has its own app context (so its own Flask-SQLAlchemy session and connection),
opens its transaction and connection first, then waits at a barrier: all 50 transactions are
live on the server when the first counter UPDATE runs, so they really contend for the row.
"""
from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime

import pytest
from flask import g
from sqlalchemy import func, select, text

from backoffice import numbering
from backoffice.tickets import register_ticket
from models import Customer, Ticket, TicketCounter, TicketEvent, User, db
from models.choices import Channel, TicketKind
from tests.conftest import make_app

from .conftest import dispose

THREADS = 50
# A service-local day no demo ticket uses, so the whole sequence is ours: noon in Shanghai.
DAY = date(2031, 3, 14)
CREATED_AT = datetime(2031, 3, 14, 4, 0, tzinfo=UTC)
NUMBER_RE = re.compile(r"^SV(\d{8})-(\d{4})$")


@pytest.fixture
def wide_app(pg_app, pg_demo_url):
    """A second app on the demo schema whose pool holds a connection for every thread
    (the default pool of 5 + 10 would make threads queue for connections, not for the row)."""
    app = make_app(pg_demo_url, SQLALCHEMY_ENGINE_OPTIONS={
        "pool_pre_ping": True, "pool_size": THREADS, "max_overflow": 0, "pool_timeout": 20})
    yield app
    dispose(app)


def demo_ids(app) -> dict:
    with app.app_context():
        customer = db.session.scalars(
            select(Customer).where(Customer.units.any()).order_by(Customer.id)).first()
        clerk = db.session.scalar(select(User).where(User.username == "clerk"))
        return {"customer": customer.id, "unit": customer.units[0].id,
                "outlet": customer.outlet_id, "clerk": clerk.id}


def test_fifty_concurrent_registrations_get_a_gapless_unique_daily_sequence(wide_app):
    ids = demo_ids(wide_app)
    with wide_app.app_context():
        assert db.session.get(TicketCounter, DAY) is None, f"{DAY} already has tickets"
    barrier = threading.Barrier(THREADS, timeout=30)
    results: dict[int, str] = {}
    errors: list[tuple[int, BaseException]] = []
    lock = threading.Lock()

    def register(index: int) -> None:
        try:
            with wide_app.app_context():
                g.actor_name = f"pg-thread-{index}"
                session = db.session
                customer = session.get(Customer, ids["customer"])
                clerk = session.get(User, ids["clerk"])
                ticket = Ticket(kind=TicketKind.REPAIR.value, channel=Channel.HOTLINE.value,
                                fault_description=f"并发登记测试 #{index}", customer=customer,
                                unit=customer.units[0], outlet=customer.outlet,
                                created_at=CREATED_AT)
                session.add(ticket)
                session.connection()  # the transaction is open on its own connection
                barrier.wait()
                register_ticket(session, ticket, clerk)
                session.commit()
                with lock:
                    results[index] = ticket.number
        except BaseException as exc:
            barrier.abort()
            with lock:
                errors.append((index, exc))

    threads = [threading.Thread(target=register, args=(i,), name=f"register-{i}")
               for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a registration hung"
    assert not errors, f"{len(errors)} registrations failed, first: {errors[0]!r}"

    # All 50 committed, each with its own number.
    assert len(results) == THREADS
    numbers = list(results.values())
    assert len(set(numbers)) == THREADS, "duplicate ticket numbers"

    # They are the day's sequence 1..50: no gap, no duplicate, in the service-local day.
    parsed = [NUMBER_RE.match(n) for n in numbers]
    assert all(parsed), numbers
    assert {m.group(1) for m in parsed} == {f"{DAY:%Y%m%d}"}
    assert sorted(int(m.group(2)) for m in parsed) == list(range(1, THREADS + 1))
    assert sorted(numbers) == [numbering.format_ticket_number(DAY, s) for s in range(1, THREADS + 1)]

    # What the database kept agrees: the counter row, the rows and their timelines.
    with wide_app.app_context():
        session = db.session
        assert session.get(TicketCounter, DAY).last_seq == THREADS
        stored = session.scalars(select(Ticket.number).where(
            Ticket.number.like(f"SV{DAY:%Y%m%d}-%"))).all()
        assert sorted(stored) == sorted(numbers)
        registered = session.scalar(
            select(func.count()).select_from(TicketEvent).join(Ticket)
            .where(Ticket.number.in_(numbers), TicketEvent.action == "registered"))
        assert registered == THREADS
        audited = session.execute(text(
            "SELECT count(DISTINCT actor_name) FROM audit_entry "
            "WHERE table_name = 'ticket' AND action = 'create' AND actor_name LIKE 'pg-thread-%'"
        )).scalar_one()
        assert audited == THREADS
