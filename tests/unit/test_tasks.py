"""Issue 17 (R-OPS-1): the task queue's wiring (backoffice.tasks): tasks run the jobs through the
job lock, a committed customer message asks a worker to deliver it at once, and the production
set-up — `flask worker` consuming a Redis queue — runs what the web side enqueues."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from backoffice import notifications, tasks
from models import JobRun, OutboxMessage, db
from models.choices import JobStatus, OutboxStatus
from tests import factories as f
from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parents[2]
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def immediate(app):
    """Tasks run where they are enqueued (Huey's immediate mode), in an app context."""
    tasks.huey.immediate = True
    try:
        with app.app_context():
            yield app
    finally:
        tasks.huey.immediate = False


def test_a_task_runs_its_job_through_the_lock_and_records_the_run(immediate):
    from backoffice.scheduled import JOBS
    from models import utcnow

    before = JOBS["sla_sweep"].slot(utcnow())
    tasks.run_job_now("sla_sweep")
    tasks.run_job_now("sla_sweep")  # the same five minutes: skipped
    slots = {before, JOBS["sla_sweep"].slot(utcnow())}  # two only if a five-minute mark passed meanwhile
    runs = db.session.scalars(select(JobRun).where(JobRun.job == "sla_sweep")).all()
    assert len(runs) == len(slots) and {run.status for run in runs} == {JobStatus.DONE.value}


def test_a_committed_customer_message_is_handed_to_a_worker_at_once(immediate):
    world = f.make_service_network(db.session)
    notifications.record_consent(world["customer"], "hotline")
    ticket = f.make_ticket(db.session, world["customer"], unit=world["unit"], actor=world["clerk"])
    assert notifications.tell_customer(db.session, ticket, "receipt")
    db.session.commit()  # after the commit, deliver_outbox_now runs (immediately, here)

    db.session.expire_all()
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)).one()
    assert (message.status, message.gateway, message.attempts) == (OutboxStatus.SENT.value, "outbox", 1)


def test_a_message_rolled_back_with_its_change_is_never_handed_on(immediate, monkeypatch):
    asked = []
    monkeypatch.setattr(tasks, "enqueue_delivery", lambda: asked.append(1))
    world = f.make_service_network(db.session)
    notifications.record_consent(world["customer"], "hotline")
    ticket = f.make_ticket(db.session, world["customer"], unit=world["unit"], actor=world["clerk"])
    notifications.tell_customer(db.session, ticket, "receipt")
    db.session.rollback()
    db.session.commit()
    assert asked == []


def redis_or_skip():
    try:
        import redis

        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except Exception as exc:
        unavailable("redis", f"no Redis at {REDIS}: {type(exc).__name__}")


def test_flask_worker_on_redis_runs_what_the_web_side_enqueues(demo_template, tmp_path):
    """Production's set-up: TASK_QUEUE_URL=redis://…, a `flask worker` process, and a task
    enqueued by another process (the web side): the job runs and its run is recorded."""
    redis_or_skip()
    import redis

    queue = REDIS  # a database of its own, emptied before and after
    redis.Redis.from_url(queue).flushdb()
    database = tmp_path / "worker.db"
    shutil.copy(demo_template, database)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "TASK_QUEUE_URL": queue,
           "SECRET_KEY": "test-secret-" + uuid.uuid4().hex, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker", "--workers", "1",
                               "--no-periodic"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        subprocess.run([sys.executable, "-c", "from backoffice.tasks import run_job_now; run_job_now('sla_sweep')"],
                       cwd=ROOT, env=env, check=True, timeout=60)
        # Until the run has ended: a loaded machine may catch it still running.
        deadline, found = time.monotonic() + 60, []
        while time.monotonic() < deadline and found in ([], [("running",)]):
            time.sleep(0.5)
            with sqlite3.connect(database) as connection:
                found = connection.execute("SELECT status FROM job_run WHERE job = 'sla_sweep'").fetchall()
        assert found == [("done",)], worker.stdout.read() if worker.poll() is not None else "worker still running"
    finally:
        worker.terminate()
        worker.wait(10)
        redis.Redis.from_url(queue).flushdb()


def test_a_backlog_is_delivered_batch_after_batch_in_one_run(app):
    """After a gateway outage the backlog goes out in one run, not 50 a minute (R-NTF-3)."""
    from models import utcnow

    with app.app_context():
        now = utcnow()
        db.session.add_all(OutboxMessage(dedupe_key=f"backlog-{n}", channel="sms", recipient=f"1390000{n:04d}",
                                         template="receipt", body="…", next_attempt_at=now, created_at=now)
                           for n in range(tasks.DELIVERY_BATCH * 2 + 7))
        db.session.commit()
        assert tasks.deliver() == tasks.DELIVERY_BATCH * 2 + 7
        left = db.session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("backlog-%"),
                                                              OutboxMessage.status != OutboxStatus.SENT.value)).all()
        assert left == []
