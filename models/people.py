"""Staff and dealer accounts (DOMAIN §1)."""
from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Audited, TimestampMixin, UTCDateTime, choice_check, db
from .choices import Role


def new_session_nonce() -> str:
    return secrets.token_hex(8)


class User(Audited, TimestampMixin, db.Model):
    __tablename__ = "user_account"
    __scope__ = "own_rule"  # R-ROLE-1: a rule of its own in backoffice.access
    __audit_secret__ = ("password_hash",)
    # The nonce turns at every logout (auth_event logs those); the changes that end sessions
    # for another reason (password, active, role, outlet) are audited in their own fields.
    __audit_exclude__ = ("updated_at", "last_login_at", "session_nonce")
    __table_args__ = (
        choice_check("role", [r.value for r in Role]),
        # DOMAIN §1: a dealer is staff of exactly one outlet.
        sa.CheckConstraint("role <> 'dealer' OR outlet_id IS NOT NULL", name="dealer_has_outlet"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(60), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(60), default="")
    phone: Mapped[str] = mapped_column(sa.String(30), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(20), index=True)
    outlet_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True, index=True)
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    # Part of the login cookie: rotating it (password change, deactivation) ends every session.
    session_nonce: Mapped[str] = mapped_column(sa.String(16), default=new_session_nonce)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # R-APR-1: whom this person reports to; nobody scores the person they report to.
    reports_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)

    outlet = relationship("Outlet", back_populates="users", foreign_keys=[outlet_id])
    reports_to = relationship("User", remote_side=[id], foreign_keys=[reports_to_id])

    def __str__(self) -> str:
        return self.full_name or self.username  # a name, not "李晓敏 (clerk)" (issue 18)

    # Flask-Login protocol, kept here so the model needs no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"
