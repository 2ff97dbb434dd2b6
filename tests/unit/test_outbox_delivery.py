"""The customers' outbox is delivered through a gateway: never lost while the gateway is down,
retried with a doubling delay, delivered exactly once when it recovers, failed for a person after
its attempts (issue 17 point 2, R-NTF-3); never sent once its customer opted out (PIPL, R-NTF-1)."""
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from backoffice.gateways import GatewayError
from backoffice.notifications import OPTED_OUT, record_consent, tell_customer
from backoffice.outbox import LEASE, backoff, deliver_due, outbox_depth, requeue
from models import Customer, OutboxMessage, utcnow
from tests import factories as f


class Recording:
    """A gateway that records what it was asked to send, and fails while `error` is set."""

    name = "recording"

    def __init__(self, error: BaseException | None = None):
        self.calls: list[int] = []
        self.error = error

    def send(self, message):
        self.calls.append(message.id)
        if self.error is not None:
            raise self.error
        return f"rec-{message.id}"


@pytest.fixture
def config(app):
    app.config.update(OUTBOX_MAX_ATTEMPTS=4, OUTBOX_FIRST_DELAY_SECONDS=60, OUTBOX_MAX_DELAY_MINUTES=60)
    with app.app_context():
        yield app.config


@pytest.fixture
def queued(session, config) -> int:
    """An appointment SMS queued for a customer who consented; committed. Its outbox id."""
    customer = f.make_customer(session, f.make_outlet(session))
    record_consent(customer, "hotline")
    ticket = f.make_ticket(session, customer)
    assert tell_customer(session, ticket, "appointment", key="first", engineer="李工", window="明天 9:00-12:00")
    session.commit()
    return session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.dedupe_key == f"appointment:{ticket.id}:first"))


def stored(session, message_id) -> OutboxMessage:
    """The row as committed (read anew, not from the session's memory)."""
    session.expire_all()
    return session.get(OutboxMessage, message_id)


def test_the_default_gateway_keeps_the_message_in_the_outbox_as_sent(session, queued):
    deliver_due(session)
    row = stored(session, queued)
    assert (row.status, row.gateway, row.provider_id, row.attempts) == ("sent", "outbox", f"local-{queued}", 1)
    assert row.sent_at is not None and row.channel == "sms" and "李工" in row.body


def test_a_failing_gateway_leaves_it_queued_and_retries_with_a_doubling_delay(session, queued):
    down = Recording(GatewayError("SMS provider unreachable"))
    now = utcnow()
    assert deliver_due(session, now=now, gateways={"sms": down}).retried >= 1
    row = stored(session, queued)
    assert (row.status, row.attempts) == ("queued", 1)
    assert "unreachable" in row.last_error and row.next_attempt_at == now + timedelta(seconds=60)

    deliver_due(session, now=now + timedelta(seconds=59), gateways={"sms": down})
    assert down.calls.count(queued) == 1, "not due yet: not tried"

    second = now + timedelta(seconds=60)
    deliver_due(session, now=second, gateways={"sms": down})
    row = stored(session, queued)
    assert row.attempts == 2 and row.next_attempt_at == second + timedelta(seconds=120)


def test_after_the_gateway_recovers_it_is_delivered_exactly_once(session, queued):
    now = utcnow()
    deliver_due(session, now=now, gateways={"sms": Recording(GatewayError("timeout"))})
    up = Recording()
    later = stored(session, queued).next_attempt_at
    deliver_due(session, now=later, gateways={"sms": up})
    deliver_due(session, now=later + timedelta(days=1), gateways={"sms": up})
    row = stored(session, queued)
    assert (row.status, row.gateway, row.provider_id, row.attempts) == ("sent", "recording", f"rec-{queued}", 2)
    assert up.calls.count(queued) == 1


def test_delivering_twice_in_a_row_does_not_resend_a_sent_message(session, queued):
    up = Recording()
    now = utcnow()
    deliver_due(session, now=now, gateways={"sms": up})
    deliver_due(session, now=now, gateways={"sms": up})
    deliver_due(session, now=now + timedelta(days=2), gateways={"sms": up})
    assert up.calls.count(queued) == 1 and stored(session, queued).status == "sent"


def test_after_its_attempts_it_fails_and_requeue_brings_it_back(session, queued):
    down = Recording(GatewayError("throttled"))
    at = utcnow()
    for _ in range(4):  # OUTBOX_MAX_ATTEMPTS
        deliver_due(session, now=at, gateways={"sms": down})
        at = stored(session, queued).next_attempt_at
    row = stored(session, queued)
    assert (row.status, row.attempts, row.last_error) == ("failed", 4, "throttled")
    deliver_due(session, now=utcnow() + timedelta(days=3), gateways={"sms": down})
    assert down.calls.count(queued) == 4, "a failed message waits for a person"

    assert requeue(session, [queued]) == 1
    session.commit()
    row = stored(session, queued)
    assert (row.status, row.attempts) == ("queued", 0)
    up = Recording()
    deliver_due(session, gateways={"sms": up})
    assert up.calls.count(queued) == 1 and stored(session, queued).status == "sent"


def test_a_permanent_error_fails_at_once(session, queued):
    refused = Recording(GatewayError("isv.MOBILE_NUMBER_ILLEGAL", temporary=False))
    deliver_due(session, gateways={"sms": refused})
    row = stored(session, queued)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "isv.MOBILE_NUMBER_ILLEGAL")


def test_a_gateway_bug_does_not_lose_the_message(session, queued):
    deliver_due(session, gateways={"sms": Recording(RuntimeError("boom"))})
    row = stored(session, queued)
    assert (row.status, row.attempts, row.last_error) == ("queued", 1, "RuntimeError: boom")


def test_a_misconfigured_gateway_keeps_the_messages_queued(session, queued, config):
    config["SMS_GATEWAY"] = "tencent"
    deliver_due(session)
    row = stored(session, queued)
    assert row.status == "queued" and "SMS_GATEWAY" in row.last_error


class WorkerDied(BaseException):
    """The worker process ends between its claim and the send (not an error it could record)."""


def test_a_message_whose_worker_died_is_sent_after_the_lease(session, queued):
    now = utcnow()
    with pytest.raises(WorkerDied):
        deliver_due(session, now=now, gateways={"sms": Recording(WorkerDied())})
    session.rollback()
    up = Recording()
    deliver_due(session, now=now + LEASE - timedelta(seconds=1), gateways={"sms": up})
    assert queued not in up.calls, "still claimed by the worker that died"
    deliver_due(session, now=now + LEASE, gateways={"sms": up})
    row = stored(session, queued)
    assert up.calls.count(queued) == 1 and (row.status, row.attempts) == ("sent", 2)


def test_the_delay_doubles_up_to_its_cap(config):
    config.update(OUTBOX_FIRST_DELAY_SECONDS=60, OUTBOX_MAX_DELAY_MINUTES=5)
    assert [backoff(n, config).total_seconds() for n in range(1, 6)] == [60, 120, 240, 300, 300]


def test_outbox_depth_counts_messages_by_status(session, config):
    before = outbox_depth(session)
    customer = f.make_customer(session, f.make_outlet(session))
    record_consent(customer, "web")
    tell_customer(session, f.make_ticket(session, customer), "receipt", key="depth")
    session.commit()
    queued = outbox_depth(session)
    assert queued["queued"] == before["queued"] + 1
    deliver_due(session, limit=1000)
    after = outbox_depth(session)
    assert sum(after.values()) == sum(queued.values()) and after["sent"] >= before["sent"] + 1


# --- PIPL: an opt-out after the message was queued ----------------------------------------------

def opt_out_behind_the_services_back(session, message_id):
    """The customer opted out and the queued message was left as it was (the belt and braces case:
    a row record_opt_out did not reach, e.g. queued by a transaction that committed after it)."""
    customer_id = session.get(OutboxMessage, message_id).customer_id
    session.execute(update(Customer.__table__).where(Customer.__table__.c.id == customer_id)
                    .values(notify_opt_out_at=utcnow()))
    session.commit()


def test_a_message_whose_customer_opted_out_since_is_failed_not_sent(session, queued):
    opt_out_behind_the_services_back(session, queued)
    up = Recording()
    assert deliver_due(session, gateways={"sms": up}, limit=1000).failed >= 1
    row = stored(session, queued)
    assert queued not in up.calls
    assert (row.status, row.last_error, row.attempts) == ("failed", OPTED_OUT, 0)
    assert requeue(session, [queued]) == 1  # retried by an admin: still not sent
    session.commit()
    deliver_due(session, gateways={"sms": up}, limit=1000)
    assert queued not in up.calls and stored(session, queued).status == "failed"


def test_a_customer_who_agreed_again_gets_a_requeued_message(session, queued):
    opt_out_behind_the_services_back(session, queued)
    deliver_due(session, gateways={"sms": Recording()}, limit=1000)
    customer = session.get(Customer, stored(session, queued).customer_id)
    record_consent(customer, "hotline", verified=True)
    requeue(session, [queued])
    session.commit()
    up = Recording()
    deliver_due(session, gateways={"sms": up}, limit=1000)
    assert up.calls.count(queued) == 1 and stored(session, queued).status == "sent"


# --- at least once: a worker whose lease ran out -------------------------------------------------

class Slow:
    """A gateway whose send outlasts the lease: meanwhile another worker claims the message again."""

    name = "slow"

    def __init__(self, session, message_id):
        self.session, self.message_id = session, message_id

    def send(self, message):
        table = OutboxMessage.__table__
        self.session.execute(update(table).where(table.c.id == self.message_id)
                             .values(attempts=table.c.attempts + 1))  # the other worker's claim
        self.session.commit()
        return "slow-1"


def test_an_outcome_written_after_the_lease_is_dropped_with_a_warning(session, queued, caplog):
    with caplog.at_level(logging.WARNING, logger="backoffice.outbox"):
        deliver_due(session, gateways={"sms": Slow(session, queued)}, limit=1000)
    row = stored(session, queued)
    assert (row.status, row.attempts, row.provider_id) == ("queued", 2, ""), "the other worker's claim stands"
    assert any(f"outbox message {queued}" in r.getMessage() and "after its lease" in r.getMessage()
               for r in caplog.records)
