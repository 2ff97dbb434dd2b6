"""Liveness and readiness for a load balancer or an orchestrator (issue 17, operations).

Live: the process answers (nothing else is asked: a database outage must not get every worker
restarted). Ready: what a request needs answers — the database, within a short statement
timeout on PostgreSQL, and the task queue (SQLite file or Redis). Each check says "ok" or why
not, by the error's kind only: the probe is public and says nothing of addresses or credentials.
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

PROBE_TIMEOUT_MS = 2000  # a readiness probe that hangs is a failed one


def database(session: Session) -> str:
    """"ok" when the database answers a statement, else the kind of failure."""
    try:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"SET LOCAL statement_timeout = {PROBE_TIMEOUT_MS}"))
        session.execute(text("SELECT 1")).scalar_one()
    except Exception as exc:
        session.rollback()
        return f"unavailable ({type(exc).__name__})"
    return "ok"


def readiness(session: Session) -> tuple[bool, dict[str, str]]:
    """(ready, {check: "ok" or why not}): the database and the task queue's storage (a request that
    queues a message must be able to hand it on)."""
    from .tasks import queue_status

    checks = {"database": database(session), "queue": queue_status()}
    return all(result == "ok" for result in checks.values()), checks
