"""Service tickets (服务单) and their timeline (DOMAIN §3)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .base import Audited, Money, TimestampMixin, UTCDateTime, choice_check, db, utcnow
from .choices import (
    Area,
    Channel,
    IssueCategory,
    Queue,
    ServiceMode,
    Severity,
    TicketKind,
    TicketStatus,
    WarrantyExclusion,
    WarrantyWindow,
)
from .customers import phone_key

OPEN_WORK = "status <> 'closed'"
CLOSED = "status = 'closed'"


class Ticket(Audited, TimestampMixin, db.Model):
    __tablename__ = "ticket"
    __scope__ = "own_rule"  # R-ROLE-1: a rule of its own in backoffice.access
    __audit_exclude__ = ("updated_at", "contact_phone_key")  # the key follows the phone: not an edit
    __table_args__ = (
        choice_check("kind", [k.value for k in TicketKind]),
        choice_check("channel", [c.value for c in Channel]),
        choice_check("category", [c.value for c in IssueCategory]),
        choice_check("status", [s.value for s in TicketStatus]),
        choice_check("area", [a.value for a in Area]),
        choice_check("warranty_window", [w.value for w in WarrantyWindow]),
        choice_check("warranty_exclusion", [e.value for e in WarrantyExclusion]),
        choice_check("queue", [q.value for q in Queue]),
        choice_check("service_mode", [m.value for m in ServiceMode]),
        choice_check("severity", [v.value for v in Severity]),
        # The common list order within an outlet's scope.
        sa.Index("ix_ticket_outlet_created", "outlet_id", "created_at", "id"),
        sa.Index("ix_ticket_status_created", "status", "created_at"),
        # The list's default order and its sortable columns, each with created_at, id as the
        # tie-break (views.tickets): an index walk gives any page without sorting the table.
        sa.Index("ix_ticket_created_id", "created_at", "id"),
        sa.Index("ix_ticket_kind_created", "kind", "created_at", "id"),
        # Home pages and menu badges (backoffice.dashboard): open work by outlet, status, engineer
        # and kind; an engineer's tickets by status; an outlet's by status; "is this ticket in the
        # dealer's scope" read from the index alone; closed tickets by closing time (visit coverage).
        sa.Index("ix_ticket_open_work", "outlet_id", "status", "assigned_engineer_id", "kind", "id",
                 sqlite_where=sa.text(OPEN_WORK), postgresql_where=sa.text(OPEN_WORK)),
        sa.Index("ix_ticket_engineer_status", "assigned_engineer_id", "status", "outlet_id"),
        sa.Index("ix_ticket_outlet_status", "outlet_id", "status"),
        sa.Index("ix_ticket_id_outlet", "id", "outlet_id"),
        sa.Index("ix_ticket_closed_at", "closed_at", sqlite_where=sa.text(CLOSED), postgresql_where=sa.text(CLOSED)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)  # R-TKT-1
    kind: Mapped[str] = mapped_column(sa.String(20))
    channel: Mapped[str] = mapped_column(sa.String(20), index=True)
    category: Mapped[str] = mapped_column(sa.String(20), default=IssueCategory.QUALITY.value)
    status: Mapped[str] = mapped_column(sa.String(20), default=TicketStatus.REGISTERED.value)
    fault_description: Mapped[str] = mapped_column(sa.Text)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # R-TKT-2: contact data as given at registration (may differ from the archive).
    contact_name: Mapped[str] = mapped_column(sa.String(60), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(30), default="", index=True)
    # The contact phone as searches compare it (models.customers.phone_key): digits only.
    contact_phone_key: Mapped[str | None] = mapped_column(sa.String(30), index=True)
    address: Mapped[str] = mapped_column(sa.String(255), default="")
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customer.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    # Indexed by ix_ticket_engineer_status (it leads), with the status and outlet its lists ask.
    assigned_engineer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    registered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the service happens, as registered: drives the on-site clock (DOMAIN §4).
    area: Mapped[str] = mapped_column(sa.String(10), default=Area.URBAN.value)
    # Warranty verdict at registration (R-WAR-1…5); a manager may override it with a reason.
    in_warranty: Mapped[bool | None] = mapped_column()
    warranty_window: Mapped[str | None] = mapped_column(sa.String(10))
    warranty_code: Mapped[str | None] = mapped_column(sa.String(20))  # why: see backoffice.warranty
    warranty_params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    warranty_exclusion: Mapped[str | None] = mapped_column(sa.String(20))
    queue: Mapped[str] = mapped_column(sa.String(20), default=Queue.SERVICE.value, index=True)
    # R-TKT-9: a new ticket on the same serial soon after a resolved one repeats it.
    repeat_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    # Diagnosis (R-TKT-4, R-TKT-9).
    service_mode: Mapped[str | None] = mapped_column(sa.String(10))
    severity: Mapped[str | None] = mapped_column(sa.String(10))
    fault_code_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fault_code.id"), index=True)
    cause_code_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fault_code.id"), index=True)
    remedy_code_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fault_code.id"), index=True)
    causal_part_id: Mapped[int | None] = mapped_column(sa.ForeignKey("part.id"), index=True)
    parts_needed: Mapped[str] = mapped_column(sa.Text, default="")
    estimate: Mapped[Decimal | None] = mapped_column(Money)
    appointment_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The customer's link /t/<token> (R-NTF-1): random, made when a message first needs it
    # (backoffice.notifications.tracking_token); NULL until then.
    tracking_token: Mapped[str | None] = mapped_column(sa.String(32), unique=True, index=True)
    version_id: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version_id}

    @validates("contact_phone")
    def _keep_contact_phone_key(self, key, phone):
        self.contact_phone_key = phone_key(phone)
        return phone

    customer = relationship("Customer", back_populates="tickets")
    unit = relationship("Unit", back_populates="tickets")
    outlet = relationship("Outlet")
    assigned_engineer = relationship("User", foreign_keys=[assigned_engineer_id])
    registered_by = relationship("User", foreign_keys=[registered_by_id])
    events = relationship(
        "TicketEvent", back_populates="ticket", order_by="TicketEvent.at, TicketEvent.id"
    )
    clocks = relationship("TicketClock", back_populates="ticket", order_by="TicketClock.due_at")
    repeat_of = relationship("Ticket", remote_side=[id], foreign_keys=[repeat_of_id])
    fault_code = relationship("FaultCode", foreign_keys=[fault_code_id])
    cause_code = relationship("FaultCode", foreign_keys=[cause_code_id])
    remedy_code = relationship("FaultCode", foreign_keys=[remedy_code_id])
    causal_part = relationship("Part")
    fees = relationship("TicketFee", back_populates="ticket", order_by="TicketFee.id")
    report = relationship("ServiceReport", back_populates="ticket", uselist=False)
    mail_in = relationship("MailIn", back_populates="ticket", uselist=False)
    return_visits = relationship("ReturnVisit", back_populates="ticket", order_by="ReturnVisit.due_at")
    complaint = relationship("Complaint", back_populates="ticket", uselist=False)
    attachments = relationship("Attachment", back_populates="ticket", order_by="Attachment.id")
    replaced_parts = relationship("ReplacedPart", back_populates="ticket", order_by="ReplacedPart.id")
    approvals = relationship("ApprovalRequest", back_populates="ticket", order_by="ApprovalRequest.id")
    return_handling = relationship("ReturnHandling", back_populates="ticket", uselist=False)
    # The outlet's service-fee claim for this ticket (R-FEE-2), read with the ticket's page.
    fee_claim = relationship("FeeClaim", uselist=False, viewonly=True)

    def __str__(self) -> str:
        return self.number or "—"

    def unit_tickets(self) -> list:
        """Every ticket of this ticket's unit (the fault history)."""
        return list(self.unit.tickets) if self.unit is not None else []


class TicketEvent(db.Model):
    """One line of a ticket's timeline: who, when, from, to, note (R-TKT-5). Append-only."""

    __tablename__ = "ticket_event"
    __scope__ = "ticket"  # R-ROLE-1: visible with its ticket (backoffice.access)
    __table_args__ = (
        # The lines moving a ticket to "resolved", by ticket and by instant, and the reopenings:
        # first-time fix and repeat repairs (backoffice.service_kpis, outlet_evaluation; issue 16).
        sa.Index("ix_ticket_event_resolved", "ticket_id", "at",
                 sqlite_where=sa.text("action = 'status' AND to_status = 'resolved'"),
                 postgresql_where=sa.text("action = 'status' AND to_status = 'resolved'")),
        sa.Index("ix_ticket_event_resolved_at", "at", "ticket_id",
                 sqlite_where=sa.text("action = 'status' AND to_status = 'resolved'"),
                 postgresql_where=sa.text("action = 'status' AND to_status = 'resolved'")),
        sa.Index("ix_ticket_event_reopened", "ticket_id", sqlite_where=sa.text("action = 'reopened'"),
                 postgresql_where=sa.text("action = 'reopened'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(30))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str | None] = mapped_column(sa.String(20))
    note: Mapped[str] = mapped_column(sa.Text, default="")

    ticket = relationship("Ticket", back_populates="events")
    actor = relationship("User")


class TicketCounter(db.Model):
    """Daily sequence behind ticket numbers; one row per service-local date (R-TKT-1)."""

    __tablename__ = "ticket_counter"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)
