"""Service-fee claims of the dealer outlets and their monthly settlement (R-FEE-1, R-FEE-2)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Audited, Money, TimestampMixin, UTCDateTime, choice_check, db
from .choices import FeeClaimStatus


class TravelBand(Audited, db.Model):
    """Travel paid by distance band: the first band whose limit covers the distance."""

    __tablename__ = "travel_band"
    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
                      sa.CheckConstraint("up_to_km > 0", name="limit_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    up_to_km: Mapped[int] = mapped_column(unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)

    def __str__(self) -> str:
        return f"≤ {self.up_to_km} km"


class FeeClaim(Audited, TimestampMixin, db.Model):
    """What an outlet claims for one warranty service; every amount traceable to its ticket."""

    __tablename__ = "fee_claim"
    __table_args__ = (
        choice_check("status", [s.value for s in FeeClaimStatus]),
        sa.CheckConstraint("claimed_total >= 0 AND (approved_total IS NULL OR approved_total >= 0)",
                           name="amounts_not_negative"),
        sa.CheckConstraint("overcharge >= 0 AND charge_back >= 0", name="charge_back_not_negative"),
        sa.Index("ix_fee_claim_outlet_status", "outlet_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), unique=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(12), default=FeeClaimStatus.CLAIMED.value)
    labor_hours: Mapped[Decimal] = mapped_column(sa.Numeric(4, 2), default=Decimal("0"))
    labor_rate: Mapped[Decimal] = mapped_column(Money)
    labor_amount: Mapped[Decimal] = mapped_column(Money)
    distance_km: Mapped[int] = mapped_column(default=0)
    travel_amount: Mapped[Decimal] = mapped_column(Money)
    parts_amount: Mapped[Decimal] = mapped_column(Money)
    claimed_total: Mapped[Decimal] = mapped_column(Money)
    approved_total: Mapped[Decimal | None] = mapped_column(Money)
    audit_note: Mapped[str] = mapped_column(sa.Text, default="")
    audited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    audited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # R-FEE-2 / R-CMP-3: a confirmed overcharge is charged back at a multiple (policy).
    overcharge: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    charge_back: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    charge_back_note: Mapped[str] = mapped_column(sa.Text, default="")
    charge_back_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    charge_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fee_batch.id"), index=True)
    charge_back_batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fee_batch.id"), index=True)
    version_id: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version_id}

    ticket = relationship("Ticket")
    outlet = relationship("Outlet")
    audited_by = relationship("User", foreign_keys=[audited_by_id])
    charge_back_by = relationship("User", foreign_keys=[charge_back_by_id])
    batch = relationship("FeeBatch", foreign_keys=[batch_id], back_populates="claims")

    def __str__(self) -> str:
        return f"FW-{self.ticket.number}" if self.ticket else f"#{self.id}"


class FeeBatch(Audited, TimestampMixin, db.Model):
    """One outlet's settlement of a month: approved claims less charge-backs (R-FEE-2)."""

    __tablename__ = "fee_batch"
    __table_args__ = (sa.UniqueConstraint("outlet_id", "month", name="uq_fee_batch_outlet_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    month: Mapped[date] = mapped_column(sa.Date, index=True)
    claims_total: Mapped[Decimal] = mapped_column(Money)
    charge_backs_total: Mapped[Decimal] = mapped_column(Money)
    net: Mapped[Decimal] = mapped_column(Money)  # negative: the outlet owes the company
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)

    outlet = relationship("Outlet")
    created_by = relationship("User")
    claims = relationship("FeeClaim", foreign_keys=[FeeClaim.batch_id], back_populates="batch",
                          order_by="FeeClaim.id")

    def __str__(self) -> str:
        return f"{self.outlet.code if self.outlet else self.outlet_id} {self.month:%Y-%m}"
