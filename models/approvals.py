"""Requests a manager approves: returns, exchanges, refunds, compensation, waivers, verdict
overrides (DOMAIN §7, R-RET-4, R-ROLE-2), and for the dealer network extra parts batches,
parts on account beyond the quota and fee charge-backs (§6, §6b); the money they post, and
finished-goods stock."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Audited, Money, TimestampMixin, UTCDateTime, choice_check, db, utcnow
from .choices import ApprovalGrounds, ApprovalKind, ApprovalStatus

# Requests about a parts request, a fee claim or a parts account; every other kind is about a ticket.
NETWORK_KINDS = (ApprovalKind.PARTS_EXTRA_BATCH, ApprovalKind.PARTS_INCIDENT, ApprovalKind.FEE_CHARGEBACK,
                 ApprovalKind.PARTS_CREDIT)
OPEN = "status IN ('pending', 'info_requested')"


class ApprovalRequest(Audited, TimestampMixin, db.Model):
    __tablename__ = "approval_request"
    __scope__ = "own_rule"  # R-ROLE-1: a rule of its own in backoffice.access
    __table_args__ = (
        choice_check("kind", [k.value for k in ApprovalKind]),
        choice_check("grounds", [g.value for g in ApprovalGrounds]),
        choice_check("status", [s.value for s in ApprovalStatus]),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        # R-ROLE-2 as a second wall: nobody approves their own request.
        sa.CheckConstraint("first_approver_id IS NULL OR first_approver_id <> requested_by_id",
                           name="four_eyes_first"),
        sa.CheckConstraint("second_approver_id IS NULL OR (second_approver_id <> requested_by_id "
                           "AND second_approver_id <> first_approver_id)", name="four_eyes_second"),
        sa.Index("ix_approval_request_status_created", "status", "created_at"),
        sa.CheckConstraint(
            "CASE WHEN kind IN ({}) THEN (ticket_id IS NULL AND (parts_request_id IS NOT NULL OR fee_claim_id "
            "IS NOT NULL OR parts_account_id IS NOT NULL)) ELSE ticket_id IS NOT NULL END".format(
                ", ".join(f"'{k.value}'" for k in NETWORK_KINDS)),
            name="has_subject"),
        # One open request at a time about the same parts request, fee claim or account (a double click).
        sa.Index("uq_approval_request_open_parts_request", "parts_request_id", unique=True,
                 sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN)),
        sa.Index("uq_approval_request_open_fee_claim", "fee_claim_id", unique=True,
                 sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN)),
        sa.Index("uq_approval_request_open_parts_account", "parts_account_id", unique=True,
                 sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    parts_request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("parts_request.id"))
    fee_claim_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fee_claim.id"))
    parts_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("parts_account.id"))
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)  # the subject's
    kind: Mapped[str] = mapped_column(sa.String(24), index=True)
    grounds: Mapped[str] = mapped_column(sa.String(24))
    status: Mapped[str] = mapped_column(sa.String(16), default=ApprovalStatus.PENDING.value)
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    reason: Mapped[str] = mapped_column(sa.Text)
    # Pre-filled from the ticket so the manager decides on what the requester saw.
    purchase_price: Mapped[Decimal | None] = mapped_column(Money)
    warranty_window: Mapped[str | None] = mapped_column(sa.String(10))
    requested_window: Mapped[str | None] = mapped_column(sa.String(10))  # verdict overrides
    target_model_id: Mapped[int | None] = mapped_column(sa.ForeignKey("product_model.id"), index=True)
    target_size: Mapped[str | None] = mapped_column(sa.String(10))  # exchanges: the size shipped (R-RET-2)
    stock_outlet_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    needs_second: Mapped[bool] = mapped_column(default=False)
    first_approver_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    first_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    second_approver_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")
    # R-RET-5: the unit an approved return, exchange or refund was granted on. UNIQUE: one remedy
    # per purchased unit, also when two managers approve two requests at once.
    granted_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), unique=True)
    # The one-time key of the form that raised it, where the form has one: sent twice, it asks once.
    form_token: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    version_id: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version_id}

    ticket = relationship("Ticket", back_populates="approvals")
    parts_request = relationship("PartsRequest", back_populates="approvals")
    fee_claim = relationship("FeeClaim", back_populates="approvals")
    parts_account = relationship("PartsAccount", back_populates="approvals")
    events = relationship("ApprovalEvent", back_populates="request", order_by="ApprovalEvent.id")
    outlet = relationship("Outlet", foreign_keys=[outlet_id])
    stock_outlet = relationship("Outlet", foreign_keys=[stock_outlet_id])
    target_model = relationship("ProductModel")
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    first_approver = relationship("User", foreign_keys=[first_approver_id])
    second_approver = relationship("User", foreign_keys=[second_approver_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    posting = relationship("MoneyPosting", back_populates="request", uselist=False)

    def __str__(self) -> str:
        return f"#{self.id} {self.kind}"

    @property
    def subject_number(self) -> str:
        """What this request is about: the ticket, parts request or fee claim number, or the
        outlet of a parts account."""
        if self.parts_account is not None:
            return str(self.parts_account)
        subject = self.ticket or self.parts_request or self.fee_claim
        return subject.number if subject is not None else ""


class ApprovalEvent(db.Model):
    """One step of a request's life: asked, more information asked and given, first approval,
    decision; who, when, note. Kept for every request, with or without a ticket. Append-only."""

    __tablename__ = "approval_event"
    __scope__ = "own_rule"  # R-ROLE-1: a rule of its own in backoffice.access

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("approval_request.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(30))
    note: Mapped[str] = mapped_column(sa.Text, default="")

    request = relationship("ApprovalRequest", back_populates="events")
    actor = relationship("User")


class MoneyPosting(db.Model):
    """Money an approved request moves (refund, compensation, waiver): one row per request,
    the UNIQUE request id makes the posting idempotent (R-RET-4)."""

    __tablename__ = "money_posting"
    __scope__ = "outlet"  # R-ROLE-1: dealers see their outlets' rows, engineers none (backoffice.access)
    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("approval_request.id"), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(24))
    amount: Mapped[Decimal] = mapped_column(Money)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customer.id"), index=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    posted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    # R-RET-5: a refund is paid with a reference (bank transfer, WeChat Pay order no. ...).
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    payment_ref: Mapped[str] = mapped_column(sa.String(60), default="", server_default="")

    request = relationship("ApprovalRequest", back_populates="posting")
    customer = relationship("Customer")
    outlet = relationship("Outlet")
    posted_by = relationship("User")


class ReturnHandling(Audited, TimestampMixin, db.Model):
    """The return path of an approved return / exchange / refund (R-RET-5): the old unit picked up
    or handed in, the exchange unit shipped with courier and tracking number, the refund paid."""

    __tablename__ = "return_handling"
    __scope__ = "ticket"  # R-ROLE-1: visible with its ticket (backoffice.access)
    __table_args__ = (
        choice_check("old_unit_how", ["pickup", "hand_in"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("approval_request.id"), unique=True)
    old_unit_how: Mapped[str | None] = mapped_column(sa.String(10))
    old_unit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    courier: Mapped[str] = mapped_column(sa.String(40), default="")
    tracking_no: Mapped[str] = mapped_column(sa.String(60), default="", index=True)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ticket = relationship("Ticket", back_populates="return_handling")
    request = relationship("ApprovalRequest")


class FinishedGoodsStock(Audited, TimestampMixin, db.Model):
    """Units of a model on hand at an outlet or the center's warehouse (for exchanges)."""

    __tablename__ = "finished_goods_stock"
    __scope__ = "own_rule"  # R-ROLE-1: a rule of its own in backoffice.access
    __table_args__ = (
        sa.UniqueConstraint("outlet_id", "product_model_id", "size", name="uq_stock_outlet_model_size"),
        sa.CheckConstraint("qty >= 0", name="qty_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    product_model_id: Mapped[int] = mapped_column(sa.ForeignKey("product_model.id"), index=True)
    size: Mapped[str] = mapped_column(sa.String(10), default="")  # shoes: stock per size (R-RET-2)
    qty: Mapped[int] = mapped_column(default=0)

    outlet = relationship("Outlet")
    product_model = relationship("ProductModel")
