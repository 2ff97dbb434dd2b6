"""Parts accounts of the dealer network and their append-only ledger (R-PART-2, R-PART-7, R-PART-8).

`PartsAccount.balance` is what the outlet may still draw on account (quota minus parts held on
account). It only moves together with a `LedgerEntry` whose `delta` is the same change, so the
sum of an account's entries always equals its balance; a CHECK keeps it at or above zero.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Audited, Money, TimestampMixin, UTCDateTime, choice_check, db, utcnow
from .choices import DisputeOutcome, LedgerKind, ReconciliationStatus


class PartsAccount(TimestampMixin, db.Model):
    __tablename__ = "parts_account"
    __scope__ = "outlet"  # R-ROLE-1: dealers see their outlets' rows, engineers none (backoffice.access)
    __table_args__ = (sa.CheckConstraint("balance >= 0", name="balance_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), unique=True)
    balance: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    quota: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))  # last granted (R-PART-2)

    outlet = relationship("Outlet")
    approvals = relationship("ApprovalRequest", back_populates="parts_account", order_by="ApprovalRequest.id")

    def __str__(self) -> str:
        return str(self.outlet) if self.outlet else f"#{self.id}"


class LedgerEntry(db.Model):
    """One movement. Never updated or deleted (guarded in the ORM and by database triggers)."""

    __tablename__ = "ledger_entry"
    __scope__ = "outlet"  # R-ROLE-1: dealers see their outlets' rows, engineers none (backoffice.access)
    __table_args__ = (
        choice_check("kind", [k.value for k in LedgerKind]),
        # Cash payable by the outlet; only a refund pays cash back (R-PART-10).
        sa.CheckConstraint(f"cash_amount >= 0 OR kind = '{LedgerKind.CASH_REFUND.value}'", name="cash_not_negative"),
        sa.CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        sa.Index("ix_ledger_entry_account_at", "account_id", "at", "id"),
        # An outlet's statement (its entries by instant) and what it holds on account (by kind),
        # read from the index alone (backoffice.ledger, issue 16).
        sa.Index("ix_ledger_entry_outlet_at", "outlet_id", "at", "id"),
        sa.Index("ix_ledger_entry_outlet_kind", "outlet_id", "kind", "delta"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("parts_account.id"), index=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16), index=True)
    delta: Mapped[Decimal] = mapped_column(Money)  # change of the balance on account
    cash_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))  # payable in cash (< 0: refunded)
    balance_after: Mapped[Decimal] = mapped_column(Money)
    part_id: Mapped[int | None] = mapped_column(sa.ForeignKey("part.id"), index=True)
    qty: Mapped[int | None] = mapped_column()
    # The source document line, e.g. "parts_request_line:17"; UNIQUE so a retry books once.
    source: Mapped[str] = mapped_column(sa.String(80), unique=True)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    account = relationship("PartsAccount")
    outlet = relationship("Outlet")
    part = relationship("Part")
    actor = relationship("User")


class PartsReconciliation(Audited, TimestampMixin, db.Model):
    """A month of an outlet's account, confirmed by the outlet and closed by the center (R-PART-7).

    `revision` counts the statements issued for the month: each resolved dispute reissues it
    (the figures then include `corrections`, the sum of the resolutions' correction entries)."""

    __tablename__ = "parts_reconciliation"
    __scope__ = "outlet"  # R-ROLE-1: dealers see their outlets' rows, engineers none (backoffice.access)
    __table_args__ = (
        sa.UniqueConstraint("outlet_id", "month", name="uq_reconciliation_outlet_month"),
        choice_check("status", [s.value for s in ReconciliationStatus]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    month: Mapped[date] = mapped_column(sa.Date, index=True)  # the first day of the month
    opening: Mapped[Decimal] = mapped_column(Money)
    closing: Mapped[Decimal] = mapped_column(Money)
    cash_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    status: Mapped[str] = mapped_column(sa.String(12), default=ReconciliationStatus.OPEN.value, index=True)
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispute_reason: Mapped[str] = mapped_column(sa.Text, default="")
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revision: Mapped[int] = mapped_column(default=1)
    corrections: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    version_id: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version_id}

    outlet = relationship("Outlet")
    confirmed_by = relationship("User", foreign_keys=[confirmed_by_id])
    closed_by = relationship("User", foreign_keys=[closed_by_id])
    disputes = relationship("ReconciliationDispute", back_populates="reconciliation",
                            order_by="ReconciliationDispute.id")

    def __str__(self) -> str:
        return f"{self.outlet} {self.month:%Y-%m}" if self.outlet else f"#{self.id}"


class ReconciliationDispute(Audited, TimestampMixin, db.Model):
    """One dispute of a month's statement and its outcome (R-PART-7): the outlet's reason and the
    figures of the revision it disputed; the center's outcome (corrections, each a ledger
    entry with its reason, or no change with the reason), who resolved it and when."""

    __tablename__ = "reconciliation_dispute"
    __scope__ = "outlet"  # R-ROLE-1: dealers see their outlets' rows, engineers none (backoffice.access)
    __table_args__ = (
        sa.UniqueConstraint("reconciliation_id", "revision", name="uq_reconciliation_dispute_revision"),
        choice_check("outcome", [o.value for o in DisputeOutcome]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reconciliation_id: Mapped[int] = mapped_column(sa.ForeignKey("parts_reconciliation.id"), index=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    revision: Mapped[int] = mapped_column()  # the statement's revision that was disputed
    opening: Mapped[Decimal] = mapped_column(Money)  # that revision's figures
    closing: Mapped[Decimal] = mapped_column(Money)
    cash_total: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(sa.Text)
    disputed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    disputed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str | None] = mapped_column(sa.String(12))
    outcome_note: Mapped[str] = mapped_column(sa.Text, default="")  # why no change (or a note on the corrections)
    corrections: Mapped[Decimal | None] = mapped_column(Money)  # the sum of this resolution's entries
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    reconciliation = relationship("PartsReconciliation", back_populates="disputes")
    outlet = relationship("Outlet")
    disputed_by = relationship("User", foreign_keys=[disputed_by_id])
    resolved_by = relationship("User", foreign_keys=[resolved_by_id])

    def __str__(self) -> str:
        return f"{self.reconciliation} r{self.revision}" if self.reconciliation else f"#{self.id}"
