"""Login throttling and the authentication log (never the password).

Failures are counted from the auth_event table, so every gunicorn worker sees the same
count and nothing lives in process memory.

Throttling never locks the real user out: failures count per (username,
client address), so a stranger's failures make only the stranger's client wait — 1, 2, 4 …
minutes up to a cap — while the user signs in from a client that has not failed. A client
address also has a limit of failures across all usernames (password spraying). Each lockout
is logged as an auth event, which admins see on the sign-in log.
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
THROTTLED = "login_throttled"  # an attempt refused while its client waits
LOCKED = "login_locked"  # this failure made (username, client) wait
IP_LOCKED = "login_ip_locked"  # this failure made the client address wait, whatever the username
INACTIVE = "login_inactive"
LOGOUT = "logout"
LOCKOUT_EVENTS = (THROTTLED, LOCKED, IP_LOCKED)


@dataclass(frozen=True)
class ThrottleRule:
    """The numbers come from config (LOGIN_* in backoffice/config.py)."""

    failures_before_delay: int  # failures of one username from one client before it waits
    first_delay: timedelta  # the first wait; each further failure doubles it ...
    max_delay: timedelta  # ... up to this
    memory: timedelta  # failures older than this (or before a success) are forgotten
    ip_window: timedelta  # one client address, any usernames: at most max_per_ip failures
    max_per_ip: int  # within ip_window


@dataclass(frozen=True)
class Refusal:
    event: str  # LOCKED (this username from this client) or IP_LOCKED (this client)
    until: datetime

    def wait(self, now: datetime | None = None) -> timedelta:
        return self.until - (now or utcnow())


def record(session: Session, event: str, *, username: str = "", ip: str = "", user=None,
           user_agent: str = "", at: datetime | None = None) -> None:
    session.add(AuthEvent(event=event, username=(username or "")[:60], ip=(ip or "")[:45],
                          user_id=getattr(user, "id", None), user_agent=(user_agent or "")[:200],
                          at=at or utcnow()))
    log.info("auth %s username=%r ip=%s", event, username, ip)


def _failures(session: Session, where: list, since: datetime):
    """(count, first, last) of the failures matching `where` after `since` and after the last
    success matching `where`."""
    last_ok = session.scalar(select(func.max(AuthEvent.at)).where(*where, AuthEvent.event == OK))
    start = max(since, last_ok) if last_ok else since
    return session.execute(
        select(func.count(), func.min(AuthEvent.at), func.max(AuthEvent.at))
        .where(*where, AuthEvent.event == FAILED, AuthEvent.at > start)
    ).one()


def delay_after(rule: ThrottleRule, failures: int) -> timedelta | None:
    """How long (username, client) waits after its `failures`-th failure: none before the
    threshold, then first_delay, doubled at each further failure, at most max_delay."""
    if failures < rule.failures_before_delay:
        return None
    doublings = min(failures - rule.failures_before_delay, 32)
    return min(rule.first_delay * (2 ** doublings), rule.max_delay)


def refusal(session: Session, rule: ThrottleRule, username: str, ip: str,
            now: datetime | None = None) -> Refusal | None:
    """None when a sign-in attempt of `username` from client `ip` may proceed."""
    now = now or utcnow()
    found = []
    if username:
        count, _first, last = _failures(session, [AuthEvent.username == username, AuthEvent.ip == ip],
                                         now - rule.memory)
        delay = delay_after(rule, count)
        if delay is not None and last + delay > now:
            found.append(Refusal(LOCKED, last + delay))
    if ip:
        # Counted since the window began, successes or not: a valid account of one's own
        # must not reset the limit for spraying other usernames.
        count, first, _last = session.execute(
            select(func.count(), func.min(AuthEvent.at), func.max(AuthEvent.at))
            .where(AuthEvent.ip == ip, AuthEvent.event == FAILED, AuthEvent.at > now - rule.ip_window)
        ).one()
        if count >= rule.max_per_ip and first + rule.ip_window > now:
            found.append(Refusal(IP_LOCKED, first + rule.ip_window))
    return max(found, key=lambda r: r.until) if found else None


def note_failure(session: Session, rule: ThrottleRule, *, username: str, ip: str, user=None,
                 user_agent: str = "", now: datetime | None = None) -> Refusal | None:
    """Record a failed sign-in; when it starts a wait, log the lockout too and return it."""
    now = now or utcnow()
    record(session, FAILED, username=username, ip=ip, user=user, user_agent=user_agent, at=now)
    session.flush()
    locked = refusal(session, rule, username, ip, now)
    if locked is not None:
        record(session, locked.event, username=username, ip=ip, user=user, user_agent=user_agent,
               at=now)
        log.warning("auth lockout %s username=%r ip=%s until=%s", locked.event, username, ip,
                    locked.until.isoformat())
    return locked
