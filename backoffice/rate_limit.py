"""Rate limits for the public doors, counted in the database (works across workers)."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models import RateEvent, utcnow


def client_key(*parts: str) -> str:
    """A stable key without storing the raw IP address."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def allow(session: Session, bucket: str, key: str, limit: int, window: timedelta) -> bool:
    """Record one use and say whether it is within `limit` uses per `window`."""
    now = utcnow()
    since = now - window
    used = session.scalar(select(func.count()).select_from(RateEvent).where(
        RateEvent.bucket == bucket, RateEvent.key == key, RateEvent.at > since)) or 0
    if used >= limit:
        return False
    session.add(RateEvent(bucket=bucket, key=key, at=now))
    session.execute(delete(RateEvent).where(RateEvent.bucket == bucket, RateEvent.at < now - 4 * window))
    return True
