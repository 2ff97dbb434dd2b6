"""Messages to customers (the outbox) and to staff (in-app notifications), issue 17.

The outbox is written in the same transaction as the change it tells about, so a message is
never lost when a gateway is down and never sent for a change that was rolled back; a worker
delivers it later. `dedupe_key` is UNIQUE: one event queues one message however often the code
that notices it runs.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, choice_check, db, utcnow
from .choices import NotifyChannel, OutboxStatus


class OutboxMessage(db.Model):
    """One message to one customer by one channel."""

    __tablename__ = "outbox_message"
    __scope__ = "ticket"  # R-ROLE-1: visible with its ticket (backoffice.access)
    __table_args__ = (
        choice_check("channel", [c.value for c in NotifyChannel]),
        choice_check("status", [s.value for s in OutboxStatus]),
        # The worker's queue: messages due for an attempt, oldest first.
        sa.Index("ix_outbox_message_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    recipient: Mapped[str] = mapped_column(sa.String(120))  # phone, WeChat openid or e-mail address
    template: Mapped[str] = mapped_column(sa.String(40), index=True)
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")  # the text the customer reads
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customer.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(10), default=OutboxStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    gateway: Mapped[str] = mapped_column(sa.String(20), default="")  # which gateway delivered it
    provider_id: Mapped[str] = mapped_column(sa.String(100), default="")  # the provider's message id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ticket = relationship("Ticket")
    customer = relationship("Customer")

    def __str__(self) -> str:
        return f"{self.template} → {self.recipient}"


class StaffNotification(db.Model):
    """One in-app notification to one member of staff. The text is drawn in the reader's
    language when shown, from `kind` and `params` (backoffice.notifications)."""

    __tablename__ = "staff_notification"
    __scope__ = "own_rule"  # everyone reads only their own (backoffice.access)
    __table_args__ = (
        # The unread count on every page: the user's unread ones, read from the index alone.
        sa.Index("ix_staff_notification_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    dedupe_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(30), index=True)
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    link: Mapped[str] = mapped_column(sa.String(300), default="")
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")
    ticket = relationship("Ticket")
