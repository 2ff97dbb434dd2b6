"""Two outbox workers on PostgreSQL never send the same message (issue 17 point 2): each claims a
message with a conditional UPDATE committed before the send, so of two workers racing for the
same 20 messages exactly one sends each."""
from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from backoffice.notifications import record_consent, tell_customer
from backoffice.outbox import deliver_due
from models import OutboxMessage
from tests import factories as f

WORKERS = 2
MESSAGES = 20


@pytest.fixture
def engine(pg_app, pg_demo_url):
    """The demo schema, one fresh connection per Session: each worker has its own."""
    engine = create_engine(pg_demo_url, poolclass=NullPool)
    yield engine
    engine.dispose()


class Recording:
    """A gateway shared by the workers: who sent which message. Slow enough for them to overlap."""

    name = "recording"

    def __init__(self):
        self.calls: list[tuple[str, int]] = []

    def send(self, message):
        self.calls.append((threading.current_thread().name, message.id))
        time.sleep(0.01)
        return f"rec-{message.id}"


def queue_messages(app, engine) -> list[int]:
    """MESSAGES appointment SMS for one consenting customer, committed; their ids."""
    with app.app_context(), Session(engine) as session:
        customer = f.make_customer(session, f.make_outlet(session))
        record_consent(customer, "hotline")
        ticket = f.make_ticket(session, customer)
        for n in range(MESSAGES):
            tell_customer(session, ticket, "appointment", key=f"race-{n}", engineer="陈工", window=f"第{n + 1}个时段")
        session.commit()
        return list(session.scalars(select(OutboxMessage.id).where(OutboxMessage.ticket_id == ticket.id)))


def test_two_workers_send_each_message_exactly_once(pg_app, engine):
    ids = queue_messages(pg_app, engine)
    assert len(ids) == MESSAGES
    gateway = Recording()
    barrier = threading.Barrier(WORKERS, timeout=30)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with pg_app.app_context(), Session(engine) as session:
                barrier.wait()
                deliver_due(session, limit=500, gateways={"sms": gateway})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, name=f"worker-{n}") for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors

    sends = Counter(message_id for _worker, message_id in gateway.calls if message_id in ids)
    assert sends == Counter(dict.fromkeys(ids, 1)), "each message sent exactly once"
    with Session(engine) as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))).all()
        assert {(row.status, row.attempts, row.gateway) for row in rows} == {("sent", 1, "recording")}
