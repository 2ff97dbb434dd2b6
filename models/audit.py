"""Audit trail and authentication log: written by the app, never edited in the UI."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import UTCDateTime, db, utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    __table_args__ = (sa.Index("ix_audit_entry_record", "table_name", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    actor_name: Mapped[str] = mapped_column(sa.String(60), default="")
    action: Mapped[str] = mapped_column(sa.String(10))  # create / update / delete
    table_name: Mapped[str] = mapped_column(sa.String(60))
    record_id: Mapped[str] = mapped_column(sa.String(40))
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # field -> [old, new]


class AuthEvent(db.Model):
    """Logins, failures, throttling and logouts. Never holds a password."""

    __tablename__ = "auth_event"
    __table_args__ = (
        sa.Index("ix_auth_event_username_at", "username", "at"),
        sa.Index("ix_auth_event_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    username: Mapped[str] = mapped_column(sa.String(60), default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    event: Mapped[str] = mapped_column(sa.String(20), index=True)
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")


class RateEvent(db.Model):
    """One use of a rate-limited public door (report form, tracking, …) by one client key.
    Counted in the database so every worker sees the same count (no state in the process)."""

    __tablename__ = "rate_event"
    __table_args__ = (sa.Index("ix_rate_event_bucket_key_at", "bucket", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(sa.String(20))
    key: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
