"""Login throttling and the authentication log (never the password).

Failures are counted from the auth_event table, so every gunicorn worker sees the same
count and nothing lives in process memory.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuthEvent, utcnow

log = logging.getLogger("backoffice.auth")

FAILED = "login_failed"
OK = "login_ok"
THROTTLED = "login_throttled"
INACTIVE = "login_inactive"
LOGOUT = "logout"


@dataclass(frozen=True)
class ThrottleRule:
    window: timedelta
    max_per_user: int
    max_per_ip: int


def record(session: Session, event: str, *, username: str = "", ip: str = "", user=None,
           user_agent: str = "") -> None:
    session.add(AuthEvent(event=event, username=(username or "")[:60], ip=(ip or "")[:45],
                          user_id=getattr(user, "id", None), user_agent=(user_agent or "")[:200]))
    log.info("auth %s username=%r ip=%s", event, username, ip)


def _failures_since(session: Session, column, value: str, since: datetime) -> int:
    last_ok = session.scalar(
        select(func.max(AuthEvent.at)).where(column == value, AuthEvent.event == OK)
    )
    start = max(since, last_ok) if last_ok else since
    return session.scalar(
        select(func.count()).select_from(AuthEvent)
        .where(column == value, AuthEvent.event == FAILED, AuthEvent.at > start)
    ) or 0


def retry_after(session: Session, rule: ThrottleRule, username: str, ip: str) -> timedelta | None:
    """None when a login attempt may proceed, else how long to wait."""
    now = utcnow()
    since = now - rule.window
    too_many_user = username and _failures_since(session, AuthEvent.username, username, since) >= rule.max_per_user
    too_many_ip = ip and _failures_since(session, AuthEvent.ip, ip, since) >= rule.max_per_ip
    if not (too_many_user or too_many_ip):
        return None
    column, value = (AuthEvent.username, username) if too_many_user else (AuthEvent.ip, ip)
    oldest = session.scalar(
        select(func.min(AuthEvent.at)).where(column == value, AuthEvent.event == FAILED,
                                             AuthEvent.at > since)
    )
    wait = (oldest + rule.window - now) if oldest else rule.window
    return max(wait, timedelta(minutes=1))
