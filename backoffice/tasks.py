"""The task queue (issue 17): Huey runs the periodic jobs and delivers the outbox.

Why Huey rather than Celery: one small, well-kept dependency whose SQLite storage lets `make run`
start a worker with nothing else installed, whose Redis storage serves several consumers on
several machines in production, and whose periodic tasks need no separate beat process with a
schedule store of its own. TASK_QUEUE_URL picks the storage: sqlite:///path (the default,
instance/tasks.db), redis://host:6379/0, or memory:// (tests).

Every task is a thin shell: the work is in backoffice.scheduled (the jobs) and backoffice.outbox
(delivery), and backoffice.job_runs makes sure one worker runs each job's slot once, however many
consumers run the periodic schedule.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from flask import Flask, current_app, g, has_app_context
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab

from models import JobRun, db, utcnow
from models.choices import Role

from . import job_runs, notifications, recipients, scheduled
from .config import task_queue_url

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent


def make_huey(url: str) -> Huey:
    parsed = urlparse(url)
    if parsed.scheme in ("redis", "rediss"):
        return RedisHuey("backoffice", url=url)
    if parsed.scheme == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey("backoffice", filename=str(path))
    if parsed.scheme == "memory":
        return MemoryHuey("backoffice")
    raise RuntimeError(f"TASK_QUEUE_URL={url!r}: use sqlite:///path, redis://host:port/db or memory://")


huey = make_huey(task_queue_url(ROOT / "instance"))

_worker: dict[str, Flask] = {}  # the app of a worker process, made once


def use_app(app: Flask) -> None:
    """The app whose configuration and database the tasks of this process use (`flask worker`)."""
    _worker["app"] = app


def _app() -> Flask:
    if has_app_context():  # immediate mode (tests), or a task called inline
        return current_app._get_current_object()
    if "app" not in _worker:  # `huey_consumer backoffice.tasks.huey`: the app is made on first use
        from . import create_app

        use_app(create_app())
    return _worker["app"]


def run_job(name: str, now: datetime | None = None) -> JobRun | None:
    """Run job `name` for the slot `now` falls in, unless another worker has; None when skipped
    or when its time has not come today."""
    job = scheduled.JOBS[name]
    now = now or utcnow()
    slot = job.slot(now)
    if slot is None:
        return None
    with _app().app_context():  # a session of its own, removed when the context ends
        g.actor_name = f"job:{name}"  # the audit trail names the job
        try:
            return job_runs.run_once(db.session, name, slot, lambda session: job.work(session, now))
        except Exception as exc:
            _tell_admins(name, slot, exc)
            raise


def _tell_admins(name: str, slot: str, exc: Exception) -> None:
    """Once a day per job: a job failing every five minutes must not bury the admins' notifications."""
    day = scheduled.local_date(utcnow()).isoformat()
    notifications.tell_staff(db.session, recipients.active(db.session, Role.ADMIN), "job_failed",
                             key=f"{name}:{day}", link="job_run.index_view", job=name, error=type(exc).__name__)
    db.session.commit()


DELIVERY_BATCH = 50
DELIVERY_WINDOW = timedelta(seconds=50)  # then the next minute's run goes on with the backlog


def deliver() -> int:
    """Send what is due in the outbox, batch after batch while full ones come back (a backlog after
    a gateway outage), for up to a minute; how many were sent."""
    from . import outbox

    sent, until = 0, utcnow() + DELIVERY_WINDOW
    with _app().app_context():
        while True:
            done = outbox.deliver_due(db.session, limit=DELIVERY_BATCH)
            sent += done.sent
            if done.sent + done.retried + done.failed < DELIVERY_BATCH or utcnow() >= until:
                return sent


# --- the schedule (scheduled.JOBS says when; the job lock says whether) ------------------------

def _offer(name: str, minute: str):
    """The periodic task that offers job `name` at these minutes of every hour."""
    @huey.periodic_task(crontab(minute=minute), name=f"{name}_task")
    def offered():
        run_job(name)
    return offered


PERIODIC = {name: _offer(name, job.minute) for name, job in scheduled.JOBS.items()}


@huey.periodic_task(crontab(minute="*"))
def deliver_outbox_task():
    deliver()


@huey.task()
def deliver_outbox_now():
    """Enqueued when a transaction that queued a customer message commits: it leaves in seconds,
    not at the next minute."""
    deliver()


@huey.task()
def run_job_now(name: str):
    """An admin's "run now" from the job runs screen: the job's current slot, once."""
    run_job(name)


def enqueue_delivery() -> None:
    """Ask a worker to deliver now; the per-minute delivery covers a queue that cannot be reached."""
    try:
        deliver_outbox_now()
    except Exception:  # the message is safe in the outbox; only its speed is lost
        log.warning("task queue unreachable: the outbox is delivered at the next minute", exc_info=True)


def queue_status() -> str:
    """"ok" when the queue's storage answers, else the kind of failure (readiness)."""
    try:
        huey.storage.queue_size()
    except Exception as exc:
        return f"unavailable ({type(exc).__name__})"
    return "ok"
