"""Ticket registration and edits; the workflow itself lives in backoffice.workflow."""
from __future__ import annotations

from datetime import UTC, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from models import AuditEntry, Ticket, TicketEvent, Unit, User, utcnow
from models.choices import Role, TicketStatus

from . import dispatching, numbering, policy, routing, sla, warranty
from .errors import FieldErrors, StaleEdit, ValidationFailed
from .timezones import zone_of


def validate_ticket(ticket: Ticket, session: Session | None = None) -> None:
    """R-TKT-2 / R-RPT-3: the record must be coherent before it is kept."""
    # Objects, not ids: new rows have no ids yet.
    if ticket.unit is not None and ticket.customer is not None and ticket.unit.customer is not ticket.customer:
        raise ValidationFailed(_l("The unit does not belong to the selected customer."))
    engineer = ticket.assigned_engineer
    if engineer is not None and engineer.role != Role.ENGINEER:
        raise ValidationFailed(_l("Only an engineer can be assigned to a ticket."))
    if session is not None and engineer is not None and _engineer_changed(ticket) \
            and not dispatching.may_serve(session, engineer, ticket):
        raise ValidationFailed(_l("Choose an active engineer of the serving outlet or the service center."))
    if not (ticket.fault_description or "").strip():
        raise ValidationFailed(_l("Describe the fault."))
    problem = occurrence_problem(ticket.occurred_at, ticket.created_at)
    if problem:
        raise FieldErrors({"occurred_at": problem})


# A fault is reported when it shows: a time of occurrence more than a few years before the
# report (1900, say) is a typing error, not a service case. A few minutes ahead is the caller's
# clock, not the future.
OCCURRENCE_YEARS_BACK = 5
CLOCK_SKEW = timedelta(minutes=10)


def occurrence_problem(occurred_at, registered_at=None):
    """The message for an implausible time of occurrence, else None (R-TKT-2)."""
    if occurred_at is None:
        return None
    def aware(value):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    occurred_at, now = aware(occurred_at), utcnow()
    reference = min(aware(registered_at), now) if registered_at is not None else now
    if occurred_at > now + CLOCK_SKEW:
        return _l("The time of occurrence cannot be in the future.")
    if occurred_at < reference - timedelta(days=365 * OCCURRENCE_YEARS_BACK + 1):
        return _l("The time of occurrence cannot be more than %(years)d years before the report.",
                  years=OCCURRENCE_YEARS_BACK)
    return None


def _engineer_changed(ticket: Ticket) -> bool:
    state = inspect(ticket)
    return state.transient or state.pending or state.attrs.assigned_engineer.history.has_changes() \
        or state.attrs.outlet.history.has_changes()


def register_ticket(session: Session, ticket: Ticket, actor: User | None) -> Ticket:
    """Give a new ticket its number, contact defaults and first timeline line (R-TKT-1/2)."""
    with session.no_autoflush:  # the pending ticket has no number yet: loads must not flush it
        validate_ticket(ticket, session)
    customer = ticket.customer
    if customer is not None:
        ticket.contact_name = ticket.contact_name or customer.name
        ticket.contact_phone = ticket.contact_phone or customer.phone
        ticket.address = ticket.address or customer.address
        ticket.area = ticket.area or customer.area
    ticket.status = ticket.status or TicketStatus.REGISTERED.value
    ticket.registered_by = actor
    ticket.created_at = ticket.created_at or utcnow()
    day = ticket.created_at.astimezone(zone_of(ticket.outlet)).date()
    with session.no_autoflush:  # the pending ticket has no number until this returns
        ticket.number = numbering.next_ticket_number(session, day)
        warranty.apply(ticket, warranty.verdict(session, ticket.unit, day, kind=ticket.kind))  # R-WAR-1…5, R-INST-1
        sla.start_clocks(session, ticket)  # R-SLA-1
        ticket.queue = routing.queue_for(ticket.kind, ticket.category,  # R-TKT-3
                                         ticket.unit.product_model.category if ticket.unit else None)
        ticket.repeat_of = earlier_repair(session, ticket)  # R-TKT-9
    session.add(TicketEvent(ticket=ticket, actor=actor, at=ticket.created_at, action="registered",
                            to_status=ticket.status, note=""))
    return ticket


def earlier_repair(session: Session, ticket: Ticket) -> Ticket | None:
    """The resolved ticket on the same serial within the policy window, if any (R-TKT-9)."""
    if ticket.unit is None:
        return None
    days = int(policy.value(session, "tickets.repeat_repair_days"))
    since = ticket.created_at - timedelta(days=days)
    done = [TicketStatus.RESOLVED.value, TicketStatus.RETURN_VISIT.value, TicketStatus.CLOSED.value]
    stmt = (select(Ticket).join(Ticket.unit)
            .where(Unit.serial == ticket.unit.serial, Unit.product_model_id == ticket.unit.product_model_id,
                   Ticket.status.in_(done), Ticket.created_at >= since, Ticket.id != ticket.id)
            .order_by(Ticket.created_at.desc()).limit(1))
    return session.scalar(stmt)


def check_not_stale(session: Session, ticket: Ticket, loaded_version: int | None) -> None:
    """Optimistic locking: refuse a save based on an older version, saying what changed."""
    text = str(loaded_version if loaded_version is not None else "").strip()
    if not (text.isascii() and text.isdecimal()) or int(text) == ticket.version_id:  # "²" is a digit, not an int
        return  # no (or a mangled) version sent: nothing to compare, the ORM's counter still guards
    raise StaleEdit(changes=changes_since(session, ticket, int(text)))


def changes_since(session: Session, ticket: Ticket, version: int) -> list[dict]:
    """Audit entries of this ticket that moved it past `version`, newest first."""
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.table_name == Ticket.__tablename__,
               AuditEntry.record_id == str(ticket.id), AuditEntry.action == "update")
        .order_by(AuditEntry.id.desc())
        .limit(50)
    ).all()
    result = []
    for entry in entries:
        moved = entry.changes.get("version_id")
        if not moved or moved[0] is None or int(moved[0]) < version:
            continue
        for field, (old, new) in entry.changes.items():
            if field != "version_id":
                result.append({"field": field, "old": old, "new": new,
                               "by": entry.actor_name, "at": entry.at})
    return result


def record_edit(session: Session, ticket: Ticket, actor: User | None, fields: list[str]) -> None:
    if fields:
        session.add(TicketEvent(ticket=ticket, actor=actor, action="edited",
                                note=", ".join(sorted(fields))))
