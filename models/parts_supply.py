"""Parts requests from outlets and old-part returns to the center (R-PART-3…6)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Audited, Money, TimestampMixin, UTCDateTime, choice_check, db
from .choices import (
    DisputeResolution,
    GasType,
    NonCreditable,
    OldPartDisposal,
    OldPartState,
    PartsRequestStatus,
    PartsReturnStatus,
    Settlement,
)


class PartsRequest(Audited, TimestampMixin, db.Model):
    """One request batch of an outlet (at most 2 a week unless a manager allows more, R-PART-3)."""

    __tablename__ = "parts_request"
    __scope__ = "outlet"  # R-ROLE-1: dealers see their outlets' rows, engineers none (backoffice.access)
    __table_args__ = (
        # The second wall behind the per-outlet lock: one batch number per outlet and week.
        sa.UniqueConstraint("outlet_id", "week_start", "batch_no", name="uq_parts_request_batch"),
        choice_check("status", [s.value for s in PartsRequestStatus]),
        choice_check("resolution", [r.value for r in DisputeResolution]),
        sa.Index("ix_parts_request_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    week_start: Mapped[date] = mapped_column(sa.Date, index=True)  # Monday, service-local
    batch_no: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(20), default=PartsRequestStatus.SUBMITTED.value)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    exception_reason: Mapped[str] = mapped_column(sa.Text, default="")  # a batch over the limit
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    courier: Mapped[str] = mapped_column(sa.String(40), default="")
    tracking_no: Mapped[str] = mapped_column(sa.String(60), default="")
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_note: Mapped[str] = mapped_column(sa.Text, default="")
    needed_by: Mapped[date | None] = mapped_column(sa.Date, index=True)  # service-local day (R-PART-3)
    rejection_reason: Mapped[str] = mapped_column(sa.Text, default="")  # why the center refused it (R-PART-10)
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A delivery difference settled by the center (R-PART-10): the missing lines reshipped in a
    # parcel of their own, or their value credited; the missing quantities are on the lines.
    resolution: Mapped[str | None] = mapped_column(sa.String(8))
    resolution_note: Mapped[str] = mapped_column(sa.Text, default="")
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    missing_value: Mapped[Decimal | None] = mapped_column(Money)  # what the missing lines are worth
    reship_courier: Mapped[str] = mapped_column(sa.String(40), default="")
    reship_tracking_no: Mapped[str] = mapped_column(sa.String(60), default="")
    # Freight of the shipment, paid by the receiver (manual 004, R-PART-7): booked as a cash
    # movement of the outlet's account; None before it was recorded.
    freight: Mapped[Decimal | None] = mapped_column(Money)
    version_id: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version_id}

    outlet = relationship("Outlet")
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    reviewed_by = relationship("User", foreign_keys=[reviewed_by_id])
    withdrawn_by = relationship("User", foreign_keys=[withdrawn_by_id])
    resolved_by = relationship("User", foreign_keys=[resolved_by_id])
    approvals = relationship("ApprovalRequest", back_populates="parts_request", order_by="ApprovalRequest.id")
    lines = relationship("PartsRequestLine", back_populates="request", order_by="PartsRequestLine.id",
                         cascade="all, delete-orphan")

    @property
    def urgent(self) -> bool:
        return any(line.urgent for line in self.lines)

    def __str__(self) -> str:
        return self.number


class PartsRequestLine(Audited, db.Model):
    __tablename__ = "parts_request_line"
    __scope__ = "own_rule"  # R-ROLE-1: a rule of its own in backoffice.access
    __table_args__ = (
        sa.CheckConstraint("qty > 0", name="qty_positive"),
        sa.CheckConstraint("missing_qty > 0 AND missing_qty <= qty", name="missing_qty_valid"),
        choice_check("settlement", [s.value for s in Settlement]),
        choice_check("gas_type", [g.value for g in GasType]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("parts_request.id"), index=True)
    part_id: Mapped[int] = mapped_column(sa.ForeignKey("part.id"), index=True)
    gas_type: Mapped[str | None] = mapped_column(sa.String(20))
    qty: Mapped[int] = mapped_column()
    urgent: Mapped[bool] = mapped_column(default=False)
    unit_price: Mapped[Decimal] = mapped_column(Money)  # the price list's, when requested
    settlement: Mapped[str | None] = mapped_column(sa.String(12))
    missing_qty: Mapped[int | None] = mapped_column()  # found missing on delivery (R-PART-10)

    request = relationship("PartsRequest", back_populates="lines")
    part = relationship("Part")

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.qty  # cents × a count: cents


def _fallback_tag(context) -> str:
    """A tag for an old part inserted without one: unique through its replaced-part line."""
    return f"JT-R{context.get_current_parameters()['replaced_part_id']:06d}"


class OldPart(Audited, TimestampMixin, db.Model):
    """The old part taken out in a warranty repair: tagged, returned (after the center authorised
    the return application) or scrapped locally, then credited or charged; a non-creditable part
    is sent back or scrapped as the outlet chooses (R-PART-4…6, R-PART-9). One per replaced-part
    line."""

    __tablename__ = "old_part"
    __scope__ = "outlet"  # R-ROLE-1: dealers see their outlets' rows, engineers none (backoffice.access)
    __table_args__ = (
        choice_check("state", [s.value for s in OldPartState]),
        choice_check("non_creditable", [r.value for r in NonCreditable]),
        choice_check("disposal", [d.value for d in OldPartDisposal]),
        sa.CheckConstraint("qty > 0", name="qty_positive"),
        sa.Index("ix_old_part_outlet_state", "outlet_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    replaced_part_id: Mapped[int] = mapped_column(sa.ForeignKey("replaced_part.id"), unique=True)
    # R-PART-9: the number on the part's label and on the return list, given when it becomes owed
    # (backoffice.old_parts.tag_for); the fallback only covers rows made outside that service.
    tag: Mapped[str] = mapped_column(sa.String(40), unique=True, default=_fallback_tag)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    part_id: Mapped[int] = mapped_column(sa.ForeignKey("part.id"), index=True)
    qty: Mapped[int] = mapped_column()
    unit_price: Mapped[Decimal] = mapped_column(Money)
    replaced_on: Mapped[date] = mapped_column(sa.Date, index=True)
    state: Mapped[str] = mapped_column(sa.String(12), default=OldPartState.OWED.value)
    exemption: Mapped[str] = mapped_column(sa.String(20), default="")  # why no physical return
    needs_verification: Mapped[bool] = mapped_column(default=False)  # fragile panels (R-PART-6)
    # The return application / parcel the part is on now (cleared when struck, refused, withdrawn).
    return_id: Mapped[int | None] = mapped_column(sa.ForeignKey("parts_return.id"), index=True)
    received_qty: Mapped[int | None] = mapped_column()
    non_creditable: Mapped[str | None] = mapped_column(sa.String(24))
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")
    # R-PART-9: the service-local day it was shipped back, and whether that was after the cycle.
    returned_on: Mapped[date | None] = mapped_column(sa.Date, index=True)
    returned_late: Mapped[bool] = mapped_column(default=False)
    # R-PART-9: a non-creditable returned part, sent back or scrapped as the outlet chose.
    disposal: Mapped[str | None] = mapped_column(sa.String(12))
    disposal_chosen_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    disposal_chosen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disposed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    send_back_courier: Mapped[str] = mapped_column(sa.String(40), default="")
    send_back_tracking_no: Mapped[str] = mapped_column(sa.String(60), default="")

    ticket = relationship("Ticket")
    outlet = relationship("Outlet")
    part = relationship("Part")
    replaced_part = relationship("ReplacedPart")
    parts_return = relationship("PartsReturn", back_populates="old_parts")
    disposal_chosen_by = relationship("User", foreign_keys=[disposal_chosen_by_id])
    disposed_by = relationship("User", foreign_keys=[disposed_by_id])

    @property
    def value(self) -> Decimal:
        return self.unit_price * self.qty  # cents × a count: cents


class PartsReturn(Audited, TimestampMixin, db.Model):
    """A return application of old parts and, once the center authorised it, the return list sent
    with the parcel (R-PART-4, R-PART-9: 退货申请 → 核准 → 发回 → 清点 → 检测)."""

    __tablename__ = "parts_return"
    __scope__ = "outlet"  # R-ROLE-1: dealers see their outlets' rows, engineers none (backoffice.access)
    __table_args__ = (choice_check("status", [s.value for s in PartsReturnStatus]),
                      sa.CheckConstraint("freight >= 0", name="freight_not_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(12), default=PartsReturnStatus.REQUESTED.value, index=True)
    note: Mapped[str] = mapped_column(sa.Text, default="")  # the application's remarks
    on_paper: Mapped[bool] = mapped_column(default=False)  # filed by the center from the outlet's fax
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # authorised or refused
    refusal_reason: Mapped[str] = mapped_column(sa.Text, default="")
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    courier: Mapped[str] = mapped_column(sa.String(40), default="")
    tracking_no: Mapped[str] = mapped_column(sa.String(60), default="")
    shipped_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    received_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Freight is paid by the receiver (004, R-PART-7): the center, which records it on receipt.
    freight: Mapped[Decimal | None] = mapped_column(Money)
    inspected_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    inspected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version_id: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version_id}

    outlet = relationship("Outlet")
    created_by = relationship("User", foreign_keys=[created_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    withdrawn_by = relationship("User", foreign_keys=[withdrawn_by_id])
    shipped_by = relationship("User", foreign_keys=[shipped_by_id])
    received_by = relationship("User", foreign_keys=[received_by_id])
    inspected_by = relationship("User", foreign_keys=[inspected_by_id])
    old_parts = relationship("OldPart", back_populates="parts_return", order_by="OldPart.id")
    lines = relationship("PartsReturnLine", back_populates="parts_return", order_by="PartsReturnLine.id",
                         cascade="all, delete-orphan")

    def __str__(self) -> str:
        return f"RT{self.id:06d}"


class PartsReturnLine(Audited, db.Model):
    """An old part as listed on a return application, kept after the decision: the center may
    strike it with a reason (R-PART-9); the parts still on the list are `PartsReturn.old_parts`."""

    __tablename__ = "parts_return_line"
    __scope__ = "outlet"  # R-ROLE-1: with its application's outlet (backoffice.access)
    __table_args__ = (sa.UniqueConstraint("return_id", "old_part_id", name="uq_parts_return_line_old_part"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(sa.ForeignKey("parts_return.id"), index=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    old_part_id: Mapped[int] = mapped_column(sa.ForeignKey("old_part.id"), index=True)
    struck: Mapped[bool] = mapped_column(default=False)
    strike_reason: Mapped[str] = mapped_column(sa.Text, default="")

    parts_return = relationship("PartsReturn", back_populates="lines")
    old_part = relationship("OldPart")
