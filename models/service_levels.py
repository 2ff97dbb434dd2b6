"""Service-level clocks of a ticket and the policies that set them (DOMAIN §4)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Audited, TimestampMixin, UTCDateTime, choice_check, db
from .choices import Area, Clock, TicketKind


class SlaPolicy(Audited, TimestampMixin, db.Model):
    """Overrides a default SLA rule of backoffice.sla; empty dimensions match any ticket."""

    __tablename__ = "sla_policy"
    __table_args__ = (
        choice_check("clock", [c.value for c in Clock]),
        choice_check("kind", [k.value for k in TicketKind]),
        choice_check("area", [a.value for a in Area]),
        sa.CheckConstraint("hours > 0", name="hours_positive"),
        sa.UniqueConstraint("clock", "kind", "in_warranty", "area", name="uq_sla_policy_rule"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clock: Mapped[str] = mapped_column(sa.String(20), index=True)
    kind: Mapped[str | None] = mapped_column(sa.String(20))
    in_warranty: Mapped[bool | None] = mapped_column()
    area: Mapped[str | None] = mapped_column(sa.String(10))
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(8, 2))


# A clock ticking now: unmet, not paused, of the current round (backoffice.sla.ticking_sql).
TICKING = "met_at IS NULL AND paused_since IS NULL AND superseded_at IS NULL"


class TicketClock(db.Model):
    """One SLA clock of one ticket: due time fixed at registration, met time, pauses (R-SLA-1/3)."""

    __tablename__ = "ticket_clock"
    __scope__ = "ticket"  # R-ROLE-1: visible with its ticket (backoffice.access)
    __table_args__ = (
        choice_check("clock", [c.value for c in Clock]),
        # One running round per clock; a reopened ticket's earlier rounds are kept (R-SLA-4).
        sa.Index("uq_ticket_clock_current", "ticket_id", "clock", unique=True,
                 sqlite_where=sa.text("superseded_at IS NULL"), postgresql_where=sa.text("superseded_at IS NULL")),
        sa.Index("ix_ticket_clock_open_due", "met_at", "due_at"),
        # A ticket's unmet clocks by due time: the lists' and the menu's "overdue" EXISTS (backoffice.sla).
        sa.Index("ix_ticket_clock_ticket_open", "ticket_id", "met_at", "due_at"),
        # A ticket's ticking clocks (sla.ticking_sql) by due time: "overdue now", one index-only
        # probe per open ticket (backoffice.dashboard, issue 16).
        sa.Index("ix_ticket_clock_ticking", "ticket_id", "due_at",
                 sqlite_where=sa.text(TICKING), postgresql_where=sa.text(TICKING)),
        # A complaint's answer clock still ticking: "complaints awaiting answer" (R-CMP-1), a few
        # hundred rows to start from rather than every open ticket.
        sa.Index("ix_ticket_clock_answer_ticking", "ticket_id", sqlite_where=sa.text(f"clock = 'answer' AND {TICKING}"),
                 postgresql_where=sa.text(f"clock = 'answer' AND {TICKING}")),
        # A ticket's clocks paused while the customer is waited for (R-SLA-3): the ticket list's
        # "waiting for the customer" tab, counted on every list page (issue 18).
        sa.Index("ix_ticket_clock_paused", "ticket_id", sqlite_where=sa.text("paused_since IS NOT NULL"),
                 postgresql_where=sa.text("paused_since IS NOT NULL")),
        # A ticket's clocks met late (sla.met_late_sql): "breached (ever)".
        sa.Index("ix_ticket_clock_met_late", "ticket_id",
                 sqlite_where=sa.text("met_at > due_at"), postgresql_where=sa.text("met_at > due_at")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    clock: Mapped[str] = mapped_column(sa.String(20))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_seconds: Mapped[int] = mapped_column(default=0)
    # Set when a reopening started new clocks for the rework (R-SLA-4); the row stays as history.
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ticket = relationship("Ticket", back_populates="clocks")
