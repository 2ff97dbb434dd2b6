"""Service-fee claims of the dealer outlets and their monthly settlement (R-FEE-1, R-FEE-2).

Every amount is Numeric(12, 2) (Decimal in Python) and traceable to its ticket: the claim
keeps the figures it was computed from (remedy, standard hours, rate, distance and band,
one line per part fitted at its price-list price).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Audited, Money, TimestampMixin, UTCDateTime, choice_check, db
from .choices import ClaimPartBasis, FeeClaimStatus


class TravelBand(Audited, db.Model):
    """Travel paid by distance band: the first band whose limit covers the distance; beyond
    the last band, the last band's amount."""

    __tablename__ = "travel_band"
    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
                      sa.CheckConstraint("up_to_km > 0", name="limit_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    up_to_km: Mapped[int] = mapped_column(unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)

    def __str__(self) -> str:
        return f"≤ {self.up_to_km} km"


class FeeClaim(Audited, TimestampMixin, db.Model):
    """What an outlet claims for one warranty service (one claim per ticket)."""

    __tablename__ = "fee_claim"
    __scope__ = "outlet"  # R-ROLE-1: dealers see their outlets' rows, engineers none (backoffice.access)
    __table_args__ = (
        choice_check("status", [s.value for s in FeeClaimStatus]),
        sa.CheckConstraint("claimed_total >= 0 AND (approved_total IS NULL OR approved_total >= 0)",
                           name="amounts_not_negative"),
        sa.CheckConstraint("approved_total IS NULL OR approved_total <= claimed_total",
                           name="approved_within_claim"),
        sa.CheckConstraint("distance_km >= 0", name="distance_not_negative"),
        sa.CheckConstraint("overcharge >= 0 AND charge_back >= 0", name="charge_back_not_negative"),
        sa.Index("ix_fee_claim_outlet_status", "outlet_id", "status"),
        sa.Index("ix_fee_claim_status", "status"),  # the claims to audit, network-wide (issue 16)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(24), unique=True)  # FW + the ticket's number
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), unique=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(12), default=FeeClaimStatus.CLAIMED.value)
    # Labour: the remedy's standard hours × the hourly rate of the policy at computation.
    remedy_code_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fault_code.id"), index=True)
    labor_hours: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("0.00"))
    labor_rate: Mapped[Decimal] = mapped_column(Money)
    labor_amount: Mapped[Decimal] = mapped_column(Money)
    # Travel: the distance the outlet states and the band it fell in (limit in km).
    distance_km: Mapped[int] = mapped_column(default=0)
    travel_band_km: Mapped[int | None] = mapped_column()
    travel_amount: Mapped[Decimal] = mapped_column(Money)
    parts_amount: Mapped[Decimal] = mapped_column(Money)
    claimed_total: Mapped[Decimal] = mapped_column(Money)
    # Audit by the center (R-FEE-1): approve, adjust with a reason, or reject.
    approved_total: Mapped[Decimal | None] = mapped_column(Money)
    audit_note: Mapped[str] = mapped_column(sa.Text, default="")
    audited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    audited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fee_batch.id"), index=True)
    # R-FEE-2 / R-CMP-3: a confirmed overcharge is charged back at a multiple (policy) in the
    # outlet's next settlement batch.
    overcharge: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    charge_back: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    charge_back_note: Mapped[str] = mapped_column(sa.Text, default="")
    charge_back_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    charge_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    charge_back_batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fee_batch.id"), index=True)
    # R-FEE-3: when an unsatisfied return visit reopened the ticket and the claim went back to waiting.
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version_id: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version_id}

    ticket = relationship("Ticket")
    outlet = relationship("Outlet")
    remedy_code = relationship("FaultCode")
    audited_by = relationship("User", foreign_keys=[audited_by_id])
    approvals = relationship("ApprovalRequest", back_populates="fee_claim", order_by="ApprovalRequest.id")
    charge_back_by = relationship("User", foreign_keys=[charge_back_by_id])
    batch = relationship("FeeBatch", foreign_keys=[batch_id], back_populates="claims")
    charge_back_batch = relationship("FeeBatch", foreign_keys=[charge_back_batch_id],
                                     back_populates="charged_claims")
    parts = relationship("FeeClaimPart", back_populates="claim", order_by="FeeClaimPart.id",
                         cascade="all, delete-orphan")

    def __str__(self) -> str:
        return self.number or f"#{self.id}"


class FeeClaimPart(db.Model):
    """A part fitted on the claim's ticket, at its price-list price when the claim was computed;
    `basis` says whether the claim pays it (R-FEE-3: a part is paid for once)."""

    __tablename__ = "fee_claim_part"
    __scope__ = "own_rule"  # R-ROLE-1: a rule of its own in backoffice.access
    __table_args__ = (sa.CheckConstraint("qty > 0", name="qty_positive"),
                      sa.CheckConstraint("unit_price >= 0 AND amount >= 0", name="amounts_not_negative"),
                      choice_check("basis", [b.value for b in ClaimPartBasis]))

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("fee_claim.id", ondelete="CASCADE"), index=True)
    replaced_part_id: Mapped[int] = mapped_column(sa.ForeignKey("replaced_part.id"), index=True)
    part_id: Mapped[int] = mapped_column(sa.ForeignKey("part.id"), index=True)
    qty: Mapped[int] = mapped_column()
    unit_price: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    basis: Mapped[str] = mapped_column(sa.String(16), default=ClaimPartBasis.PURCHASE.value,
                                       server_default=ClaimPartBasis.PURCHASE.value)

    claim = relationship("FeeClaim", back_populates="parts")
    part = relationship("Part")


class FeeBatch(Audited, TimestampMixin, db.Model):
    """One outlet's settlement of a month: approved claims less charge-backs (R-FEE-2)."""

    __tablename__ = "fee_batch"
    __scope__ = "outlet"  # R-ROLE-1: dealers see their outlets' rows, engineers none (backoffice.access)
    __table_args__ = (sa.UniqueConstraint("outlet_id", "month", name="uq_fee_batch_outlet_month"),
                      sa.CheckConstraint("claims_total >= 0 AND charge_backs_total >= 0",
                                         name="totals_not_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    month: Mapped[date] = mapped_column(sa.Date, index=True)  # first day of the settled month
    claims_total: Mapped[Decimal] = mapped_column(Money)
    charge_backs_total: Mapped[Decimal] = mapped_column(Money)
    net: Mapped[Decimal] = mapped_column(Money)  # negative: the outlet owes the company
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)

    outlet = relationship("Outlet")
    created_by = relationship("User")
    claims = relationship("FeeClaim", foreign_keys=[FeeClaim.batch_id], back_populates="batch",
                          order_by="FeeClaim.id")
    charged_claims = relationship("FeeClaim", foreign_keys=[FeeClaim.charge_back_batch_id],
                                  back_populates="charge_back_batch", order_by="FeeClaim.id")

    def __str__(self) -> str:
        return f"{self.outlet.code if self.outlet else self.outlet_id} {self.month:%Y-%m}"
