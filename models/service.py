"""What happens on a ticket after registration: diagnosis codes, fees, service reports,
mail-in handling, return visits, complaints, attachments (DOMAIN §3, §5)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Audited, Money, TimestampMixin, UTCDateTime, choice_check, db, utcnow
from .choices import CodeKind, ComplaintClass, FeeKind, ProductCategory, Settlement, VisitKind


class FaultCode(Audited, TimestampMixin, db.Model):
    """The fault taxonomy: symptom, cause and remedy codes per product category (R-TKT-9)."""

    __tablename__ = "fault_code"
    __table_args__ = (
        choice_check("kind", [k.value for k in CodeKind]),
        choice_check("category", [c.value for c in ProductCategory]),
        sa.UniqueConstraint("kind", "code", name="uq_fault_code_kind_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10), index=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(120))
    category: Mapped[str | None] = mapped_column(sa.String(30), index=True)  # None: any category
    active: Mapped[bool] = mapped_column(default=True)
    # R-FEE-1: the standard labour time a remedy is paid for (remedy codes only).
    standard_hours: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 2))

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class TicketFee(Audited, db.Model):
    """One line of the itemised fees of a paid (out-of-warranty) service (R-TKT-4, R-WAR-3)."""

    __tablename__ = "ticket_fee"
    __scope__ = "ticket"  # R-ROLE-1: visible with its ticket (backoffice.access)
    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
                      choice_check("kind", [k.value for k in FeeKind]))

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    kind: Mapped[str | None] = mapped_column(sa.String(20))  # an installation's charge (R-INST-1/2)
    item: Mapped[str] = mapped_column(sa.String(120))
    amount: Mapped[Decimal] = mapped_column(Money)

    ticket = relationship("Ticket", back_populates="fees")


class ServiceReport(Audited, TimestampMixin, db.Model):
    """The on-site service report the customer signs (R-TKT-7)."""

    __tablename__ = "service_report"
    __scope__ = "ticket"  # R-ROLE-1: visible with its ticket (backoffice.access)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), unique=True)
    engineer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    work_done: Mapped[str] = mapped_column(sa.Text)
    parts_replaced: Mapped[str] = mapped_column(sa.Text, default="")
    tested_ok: Mapped[bool] = mapped_column(default=False)
    signed_by: Mapped[str] = mapped_column(sa.String(60))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The signature the customer drew on the engineer's screen (issue 18), a PNG kept as one of
    # the ticket's attachments; None when signed on paper (the name above is always recorded).
    signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attachment.id"))

    ticket = relationship("Ticket", back_populates="report")
    engineer = relationship("User")
    signature = relationship("Attachment")


class ReplacedPart(Audited, db.Model):
    """A part fitted during service; it carries its own warranty (R-WAR-2) and, later, the
    old-part return obligation (R-PART-4). `settlement` says where the part came from: issued on
    the outlet's parts account, or bought by the outlet for cash — it decides which route pays
    for it, once (R-FEE-3: backoffice.fee_claims, backoffice.old_parts)."""

    __tablename__ = "replaced_part"
    __scope__ = "ticket"  # R-ROLE-1: visible with its ticket (backoffice.access)
    __table_args__ = (sa.CheckConstraint("qty > 0", name="qty_positive"),
                      choice_check("settlement", [s.value for s in Settlement]))

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    part_id: Mapped[int] = mapped_column(sa.ForeignKey("part.id"), index=True)
    qty: Mapped[int] = mapped_column(default=1)
    replaced_on: Mapped[date] = mapped_column(sa.Date, index=True)
    warranty_until: Mapped[date] = mapped_column(sa.Date)
    settlement: Mapped[str] = mapped_column(sa.String(12), default=Settlement.ON_ACCOUNT.value,
                                            server_default=Settlement.ON_ACCOUNT.value)

    ticket = relationship("Ticket", back_populates="replaced_parts")
    part = relationship("Part")


class MailIn(Audited, TimestampMixin, db.Model):
    """Mail-in repair handling: receipt inspection, test, shipment back (R-TKT-6)."""

    __tablename__ = "mail_in"
    __scope__ = "ticket"  # R-ROLE-1: visible with its ticket (backoffice.access)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), unique=True)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    package_ok: Mapped[bool | None] = mapped_column()
    damage_note: Mapped[str] = mapped_column(sa.Text, default="")
    customer_told: Mapped[bool] = mapped_column(default=False)
    test_result: Mapped[str] = mapped_column(sa.Text, default="")
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    courier: Mapped[str] = mapped_column(sa.String(40), default="")
    tracking_no: Mapped[str] = mapped_column(sa.String(60), default="", index=True)

    ticket = relationship("Ticket", back_populates="mail_in")


class ReturnVisit(Audited, TimestampMixin, db.Model):
    """A scheduled call-back after service or a complaint, and its outcome (001, 002)."""

    __tablename__ = "return_visit"
    __scope__ = "ticket"  # R-ROLE-1: visible with its ticket (backoffice.access)
    __table_args__ = (
        choice_check("kind", [k.value for k in VisitKind]),
        sa.CheckConstraint("satisfaction IS NULL OR (satisfaction BETWEEN 1 AND 5)",
                           name="satisfaction_range"),
        # Visits still to make by due time, with their ticket: "return visits due", read from the
        # index alone (each ticket then checked against the user's scope, backoffice.dashboard).
        sa.Index("ix_return_visit_open_due", "done_at", "due_at", "ticket_id"),
        # Visits made: by ticket (visit coverage, service_kpis) and by day with their score
        # (satisfaction, the home page and the KPI report), read from the index alone (issue 16).
        sa.Index("ix_return_visit_done_ticket", "ticket_id", sqlite_where=sa.text("done_at IS NOT NULL"),
                 postgresql_where=sa.text("done_at IS NOT NULL")),
        sa.Index("ix_return_visit_done_score", "done_at", "satisfaction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10), default=VisitKind.SERVICE.value)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    satisfaction: Mapped[int | None] = mapped_column(sa.SmallInteger)
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    visitor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)

    ticket = relationship("Ticket", back_populates="return_visits")
    visitor = relationship("User")


class Complaint(Audited, TimestampMixin, db.Model):
    """A complaint case on a ticket of kind 'complaint' (DOMAIN §5)."""

    __tablename__ = "complaint"
    __scope__ = "ticket"  # R-ROLE-1: visible with its ticket (backoffice.access)
    __table_args__ = (choice_check("complaint_class", [c.value for c in ComplaintClass]),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), unique=True)
    complaint_class: Mapped[str] = mapped_column(sa.String(20), index=True)
    from_outlet: Mapped[bool] = mapped_column(default=False)
    promised_result: Mapped[str] = mapped_column(sa.Text, default="")  # R-CMP-2
    promised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    investigation: Mapped[str] = mapped_column(sa.Text, default="")
    resolution: Mapped[str] = mapped_column(sa.Text, default="")
    rehandled_count: Mapped[int] = mapped_column(default=0)
    escalated: Mapped[bool] = mapped_column(default=False)
    # R-CMP-3: the investigation may name the staff member the complaint is against, and find it
    # confirmed against them (staff misconduct feeds the appraisal, backoffice.appraisal_suggestions).
    against_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    substantiated: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    ticket = relationship("Ticket", back_populates="complaint")
    against_staff = relationship("User", foreign_keys=[against_staff_id])


class Attachment(db.Model):
    """Evidence on a ticket: photos, invoices, chat records (R-TKT-8). Kept in the database
    so every worker serves it; size and type are limited by backoffice.attachments."""

    __tablename__ = "attachment"
    __scope__ = "ticket"  # R-ROLE-1: visible with its ticket (backoffice.access)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(80))
    size: Mapped[int] = mapped_column()
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket = relationship("Ticket", back_populates="attachments")
    uploaded_by = relationship("User")


class ApiToken(Audited, TimestampMixin, db.Model):
    """A channel integration's bearer token, stored as a SHA-256 hash (shown once at creation)."""

    __tablename__ = "api_token"
    __audit_secret__ = ("token_hash",)
    __audit_exclude__ = ("updated_at", "last_used_at")

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(20), index=True)
    name: Mapped[str] = mapped_column(sa.String(60), default="")
    prefix: Mapped[str] = mapped_column(sa.String(12))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __str__(self) -> str:
        return f"{self.channel} {self.prefix}…"
