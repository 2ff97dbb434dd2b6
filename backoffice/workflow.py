"""The ticket state machine as a transition table (R-TKT-4, R-TKT-5).

Each step names its source states, target, the roles that may take it, a guard, and the small
form it needs. `perform` is the only way a ticket's status changes: it checks the table,
validates the step's data, applies its effects (diagnosis, fees, report, mail-in, return
visit …), writes the timeline line (who, when, from, to, note) and meets the SLA clock the
step stands for.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import (
    Complaint,
    FaultCode,
    MailIn,
    Outlet,
    Part,
    ReplacedPart,
    ReturnVisit,
    ServiceReport,
    Ticket,
    TicketEvent,
    TicketFee,
    User,
    utcnow,
)
from models.choices import Role, ServiceMode, TicketKind, VisitKind
from models.choices import TicketStatus as S

from . import (
    customer_messages,
    dispatching,
    fee_claims,
    installation,  # R-INST-1/2
    old_parts,
    policy,
    return_path,
    signatures,
    sla,
    warranty,
)
from .errors import DomainError, FieldErrors
from .labels import label
from .permissions import ADMINS, CENTER, DESK, EMPLOYEES, MANAGERS, WORKERS
from .step_data import Field, parse
from .timezones import zone_of

OPEN = tuple(s for s in S if s not in (S.RESOLVED, S.RETURN_VISIT, S.CLOSED))
# R-CMP-3: a complaint may name one of the company's working staff (not an administrator's account).
NAMED_IN_COMPLAINTS = EMPLOYEES - ADMINS


class TransitionNotAllowed(DomainError):
    default_message = _l("That step is not possible for this ticket now.")


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[S, ...]
    target: S | None  # None: an action that keeps the status (pause / resume)
    roles: frozenset
    label: object
    fields: tuple[Field, ...] = ()
    guard: Callable[[Ticket], bool] | None = None
    effect: Callable | None = None  # (session, ticket, values, actor, at) -> target override

    def allows(self, ticket: Ticket, user: User) -> bool:
        return (S(ticket.status) in self.sources and user.role in self.roles
                and (self.guard is None or self.guard(ticket)))


def _kind(*kinds):
    return lambda t: t.kind in kinds


def _not_kind(*kinds):
    return lambda t: t.kind not in kinds


def _mode(*modes):
    return lambda t: t.kind != TicketKind.COMPLAINT and (t.service_mode or ServiceMode.ONSITE) in modes


def _paused(ticket):
    return any(c.paused_since is not None for c in ticket.clocks)


NOTE = Field("note", "textarea", _l("Note"), required=True)
OPTIONAL_NOTE = Field("note", "text", _l("Note (optional)"))


# --- effects -------------------------------------------------------------------------------
def _code(session, kind, value, category):
    if value is None:
        return None
    code = session.get(FaultCode, value)
    if code is None or code.kind != kind or (code.category not in (None, category)):
        raise FieldErrors({f"{kind}_code": _l("Choose a code of this product's category.")})
    return code


def _diagnose(session, ticket, values, actor, at):
    category = ticket.unit.product_model.category if ticket.unit else None
    ticket.service_mode = values["service_mode"]
    ticket.severity = values["severity"]
    ticket.fault_code = _code(session, "fault", values["fault_code"], category)
    ticket.cause_code = _code(session, "cause", values["cause_code"], category)
    ticket.remedy_code = _code(session, "remedy", values["remedy_code"], category)
    ticket.causal_part = session.get(Part, values["causal_part"]) if values["causal_part"] else None
    ticket.parts_needed = values["parts_needed"]
    ticket.estimate = values["estimate"]
    ticket.warranty_exclusion = values["exclusion"] or None
    if ticket.warranty_code != "override":  # a manager's verdict stands
        # R-WAR-4: the cause found may void it; R-WAR-2/6: the causal part may be covered itself.
        day = ticket.created_at.astimezone(zone_of(ticket.outlet)).date()
        warranty.apply(ticket, warranty.verdict(session, ticket.unit, day, ticket.warranty_exclusion,
                                                ticket.causal_part))


def complaint_staff(session: Session, ticket: Ticket) -> list[User]:
    """R-CMP-3: whom a complaint on `ticket` may name: the active staff (managers, clerks,
    engineers) of the serving outlet (or the dealer it is a sub-outlet of) and of the service
    center, as far as the user's row scope shows them."""
    parent = select(Outlet.parent_id).where(Outlet.id == ticket.outlet_id).scalar_subquery()
    center = or_(User.outlet_id.is_(None),
                 User.outlet_id.in_(select(Outlet.id).where(Outlet.is_service_center.is_(True))))
    stmt = (select(User).where(User.role.in_([r.value for r in NAMED_IN_COMPLAINTS]), User.active.is_(True),
                               or_(User.outlet_id == ticket.outlet_id, User.outlet_id == parent, center))
            .order_by(User.role, User.full_name, User.id))
    return list(session.scalars(stmt))


def _named_staff(session, ticket, values) -> User | None:
    """R-CMP-3: the staff member the investigation names, if any; confirmed needs a name."""
    staff_id = values["against_staff"]
    if staff_id is None:
        if values["substantiated"]:
            raise FieldErrors({"against_staff": _l("Name the staff member the complaint is confirmed against.")})
        return None
    staff = next((u for u in complaint_staff(session, ticket) if u.id == staff_id), None)
    if staff is None:
        raise FieldErrors({"against_staff": _l("Choose a staff member of the serving outlet or the service center.")})
    return staff


def _investigate(session, ticket, values, actor, at):  # R-CMP-2
    staff = _named_staff(session, ticket, values)
    complaint = ticket.complaint or Complaint(ticket=ticket)
    complaint.complaint_class = values["complaint_class"]
    complaint.promised_result = values["promised_result"]
    complaint.promised_at = values["promised_at"]
    complaint.investigation = values["investigation"]
    complaint.against_staff, complaint.substantiated = staff, bool(values["substantiated"])  # R-CMP-3
    session.add(complaint)
    customer_messages.complaint_answer(session, ticket)  # R-NTF-1


# Kinds whose solution is paid work on a unit when it is out of warranty; a complaint or a
# consultation is settled or answered, not charged (R-WAR-3, R-CMP-2).
PAID_WORK = (TicketKind.REPAIR, TicketKind.RETURN_EXCHANGE)


def needs_fee_list(ticket: Ticket) -> bool:
    """R-TKT-4, R-WAR-3: out of warranty, the proposal lists the fees item by item."""
    return ticket.kind in PAID_WORK and ticket.unit is not None and ticket.in_warranty is False


def _propose(session, ticket, values, actor, at):
    if needs_fee_list(ticket) and not values["fees"]:
        raise FieldErrors({"fees": _l("Out of warranty: list the fees item by item.")})
    for item, amount in values["fees"]:
        ticket.fees.append(TicketFee(item=item, amount=amount))
    sla.pause(ticket, at)  # R-SLA-3: waiting for the customer's consent
    session.add(TicketEvent(ticket=ticket, actor=actor, at=at, action="paused"))


def _agree(session, ticket, values, actor, at):
    if _paused(ticket):
        sla.resume(ticket, at)
        session.add(TicketEvent(ticket=ticket, actor=actor, at=at, action="resumed"))


def _dispatch(session, ticket, values, actor, at):
    engineer = session.get(User, values["engineer"]) if values["engineer"] else None  # scoped
    if not dispatching.may_serve(session, engineer, ticket):
        raise FieldErrors({"engineer": _l("Choose an active engineer of the serving outlet or the service center.")})
    ticket.assigned_engineer = engineer
    ticket.appointment_at = values["appointment_at"]
    customer_messages.appointment(session, ticket)  # R-NTF-1


def _receive_mail_in(session, ticket, values, actor, at):  # R-TKT-6
    if not values["package_ok"] and not values["damage_note"]:
        raise FieldErrors({"damage_note": _l("Describe the damage found on receipt.")})
    if not values["package_ok"] and not values["customer_told"]:
        raise FieldErrors({"customer_told": _l("The customer must be told about the damage.")})
    ticket.mail_in = MailIn(received_at=at, package_ok=values["package_ok"],
                            damage_note=values["damage_note"], customer_told=values["customer_told"])
    customer_messages.mail_in_received(session, ticket)  # R-NTF-1


def _test_mail_in(session, ticket, values, actor, at):
    ticket.mail_in.test_result = values["test_result"]


def _schedule_visit(session, ticket, at):
    complaint = ticket.kind == TicketKind.COMPLAINT
    days = policy.value(session, "returns.complaint_visit_days" if complaint else "returns.visit_days")
    ticket.return_visits.append(ReturnVisit(
        kind=(VisitKind.COMPLAINT if complaint else VisitKind.SERVICE).value,
        due_at=at + timedelta(days=float(days))))


def _record_parts(session, ticket, lines, at) -> str:
    """Parts fitted: each gets its own warranty (R-WAR-2); returns the report's text."""
    day = at.astimezone(zone_of(ticket.outlet)).date()
    names = []
    for part_id, qty, settlement in lines:
        part = session.get(Part, part_id)
        if part is None:
            raise FieldErrors({"parts": _l("Choose parts from the price list.")})
        replaced = ReplacedPart(part=part, qty=qty, unit_id=ticket.unit_id, replaced_on=day, settlement=settlement,
                                warranty_until=warranty.part_warranty_until(session, day))
        ticket.replaced_parts.append(replaced)
        old_parts.record_replaced(session, ticket, replaced)  # R-PART-4: the old part is owed
        names.append(f"{part.code} {part.name} × {qty}")
    fee_claims.refresh_for_ticket(session, ticket.id)  # a rework's parts join a waiting claim
    return "；".join(names)


def _resolve_onsite(session, ticket, values, actor, at):  # R-TKT-7
    if not values["tested_ok"]:
        raise FieldErrors({"tested_ok": _l("Test the unit in front of the customer before resolving.")})
    fitted = _record_parts(session, ticket, values["parts"], at)
    # One signed report per ticket: a rework after a reopening signs it anew (the audit trail
    # keeps the earlier round's).
    report = ticket.report or ServiceReport()
    report.engineer = actor if actor.role == Role.ENGINEER else ticket.assigned_engineer
    report.work_done, report.parts_replaced, report.tested_ok = values["work_done"], fitted, True
    report.signed_by, report.signed_at = values["signed_by"], at
    drawn = values.get("signature")  # issue 18: drawn on the engineer's screen, else signed on paper
    report.signature = signatures.keep(session, ticket, drawn, actor) if drawn else None
    ticket.report = report
    _schedule_visit(session, ticket, at)


def _ship_back(session, ticket, values, actor, at):  # R-TKT-6
    _record_parts(session, ticket, values["parts"], at)
    ticket.mail_in.courier = values["courier"]
    ticket.mail_in.tracking_no = values["tracking_no"]
    ticket.mail_in.shipped_at = at
    _schedule_visit(session, ticket, at)
    customer_messages.mail_in_shipped(session, ticket)  # R-NTF-1


def _resolved_without_visit_on_site(session, ticket, values, actor, at):
    _schedule_visit(session, ticket, at)


def _settle_complaint(session, ticket, values, actor, at):
    ticket.complaint.resolution = values["resolution"]
    _schedule_visit(session, ticket, at)


def _return_visit(session, ticket, values, actor, at):
    """Record the call-back; an unsatisfied customer reopens the ticket (R-TKT-4, R-CMP-2)."""
    visit = next((v for v in ticket.return_visits if v.done_at is None), None)
    if visit is None:
        visit = ReturnVisit(kind=VisitKind.SERVICE.value, due_at=at)
        ticket.return_visits.append(visit)
    visit.done_at, visit.visitor = at, actor
    visit.satisfaction, visit.comment = values["satisfaction"], values["comment"]
    if values["satisfaction"] < policy.value(session, "returns.satisfied_from"):
        if ticket.complaint is not None:
            ticket.complaint.rehandled_count += 1
            ticket.complaint.escalated = ticket.complaint.rehandled_count > 1  # to the service center
        return S.DIAGNOSED
    return None


def _return_step(apply, tell=None):
    """A step of the return path (R-RET-5); the last one resolves the ticket. `tell`: what the
    customer is sent once the step is done (R-NTF-1)."""
    def effect(session, ticket, values, actor, at):
        apply(ticket, values, at)
        if tell is not None:
            tell(session, ticket)
        if return_path.complete(ticket):
            _schedule_visit(session, ticket, at)
            return S.RESOLVED
        return None
    return effect


def _on_return_path(check):
    return lambda t: t.return_handling is not None and check(t)


def _override_warranty(session, ticket, values, actor, at):
    warranty.override(ticket, values["window"], values["note"], actor.full_name or actor.username)


def _pause(session, ticket, values, actor, at):
    sla.pause(ticket, at)


def _resume(session, ticket, values, actor, at):
    sla.resume(ticket, at)


# --- the table -----------------------------------------------------------------------------
CODE = lambda name, kind, label: Field(name, "code", label, choices=kind)  # noqa: E731

TRANSITIONS = (
    Transition("diagnose", (S.REGISTERED,), S.DIAGNOSED, WORKERS, _l("Diagnose"), (
        Field("service_mode", "choice", _l("Service mode"), True, "service_mode"),
        Field("severity", "choice", _l("Severity"), True, "severity"),
        CODE("fault_code", "fault", _l("Fault code")), CODE("cause_code", "cause", _l("Cause code")),
        CODE("remedy_code", "remedy", _l("Remedy code")),
        Field("causal_part", "part", _l("Causal part"), choices="part"),
        Field("parts_needed", "textarea", _l("Parts needed")),
        Field("estimate", "decimal", _l("Estimate (yuan)")),
        Field("exclusion", "choice", _l("Not covered because of"), choices="exclusion"), NOTE),
        guard=_not_kind(TicketKind.COMPLAINT, TicketKind.CONSULTATION, TicketKind.INSTALLATION), effect=_diagnose),
    Transition("investigate", (S.REGISTERED,), S.DIAGNOSED, DESK, _l("Answer the complaint"), (
        Field("complaint_class", "choice", _l("Complaint class"), True, "complaint_class"),
        Field("investigation", "textarea", _l("Facts found"), True),
        Field("promised_result", "textarea", _l("Result promised to the customer"), True),
        Field("promised_at", "datetime", _l("Promised by"), True),
        # R-CMP-3: whom it is against, if a person; an id chosen from the "staff" list.
        Field("against_staff", "engineer", _l("Against staff member (optional)"), choices="staff"),
        Field("substantiated", "check", _l("Confirmed against that staff member")), OPTIONAL_NOTE),
        guard=_kind(TicketKind.COMPLAINT), effect=_investigate),
    Transition("answer_at_intake", (S.REGISTERED,), S.RESOLVED, DESK, _l("Answered at intake"),
               (NOTE,), guard=_kind(TicketKind.CONSULTATION), effect=_resolved_without_visit_on_site),
    # R-INST-1/2: an installation needs no diagnosis; its charges are quoted, agreed when free.
    Transition("schedule_installation", (S.REGISTERED,), S.SOLUTION_PROPOSED, WORKERS, _l("Schedule installation"), (
        Field("distance_km", "decimal", _l("Distance (km), if not in the customer's archive")),
        Field("fees", "fees", _l("Installation materials (pipes, valves, tees)")), OPTIONAL_NOTE),
        guard=_kind(TicketKind.INSTALLATION), effect=installation.schedule),
    Transition("installation_materials", (S.AGREED, S.DISPATCHED, S.IN_SERVICE), None, WORKERS,
               _l("Installation materials used"), (
                   Field("fees", "fees", _l("Installation materials (pipes, valves, tees)"), True), OPTIONAL_NOTE),
               guard=_kind(TicketKind.INSTALLATION), effect=installation.add_materials),
    Transition("answer_remotely", (S.DIAGNOSED,), S.RESOLVED, WORKERS, _l("Solved remotely"), (NOTE,),
               guard=_mode(ServiceMode.REMOTE), effect=_resolved_without_visit_on_site),
    Transition("propose", (S.DIAGNOSED,), S.SOLUTION_PROPOSED, WORKERS, _l("Propose solution"), (
        Field("fees", "fees", _l("Fees (out of warranty)")), NOTE), effect=_propose),
    Transition("agree", (S.SOLUTION_PROPOSED,), S.AGREED, DESK, _l("Customer agreed"),
               (OPTIONAL_NOTE,), effect=_agree),
    Transition("dispatch", (S.AGREED,), S.DISPATCHED, DESK, _l("Dispatch"), (
        Field("engineer", "engineer", _l("Engineer"), True, "engineer"),
        Field("appointment_at", "datetime", _l("Appointment"), True), OPTIONAL_NOTE),
        guard=_mode(ServiceMode.ONSITE, ServiceMode.REMOTE), effect=_dispatch),
    Transition("receive_mail_in", (S.AGREED,), S.DISPATCHED, WORKERS, _l("Mail-in received"), (
        Field("package_ok", "check", _l("Package and exterior intact")),
        Field("damage_note", "textarea", _l("Damage found")),
        Field("customer_told", "check", _l("Customer told about the damage")), OPTIONAL_NOTE),
        guard=_mode(ServiceMode.MAIL_IN), effect=_receive_mail_in),
    Transition("start_service", (S.DISPATCHED,), S.IN_SERVICE, WORKERS, _l("Start service"),
               (OPTIONAL_NOTE,), guard=_mode(ServiceMode.ONSITE, ServiceMode.REMOTE)),
    Transition("test_mail_in", (S.DISPATCHED,), S.IN_SERVICE, WORKERS, _l("Tested"), (
        Field("test_result", "textarea", _l("Test result"), True), OPTIONAL_NOTE),
        guard=_mode(ServiceMode.MAIL_IN), effect=_test_mail_in),
    Transition("resolve", (S.IN_SERVICE,), S.RESOLVED, WORKERS, _l("Resolve with signed report"), (
        Field("work_done", "textarea", _l("Work done"), True),
        Field("parts", "parts", _l("Parts replaced"), choices="part"),
        Field("tested_ok", "check", _l("Tested in front of the customer"), True),
        Field("signed_by", "text", _l("Signed by (customer)"), True),
        Field("signature", "signature", _l("Customer signs here")), OPTIONAL_NOTE),
        guard=_mode(ServiceMode.ONSITE, ServiceMode.REMOTE), effect=_resolve_onsite),
    Transition("ship_back", (S.IN_SERVICE,), S.RESOLVED, WORKERS, _l("Shipped back"), (
        Field("parts", "parts", _l("Parts replaced"), choices="part"),
        Field("courier", "text", _l("Courier"), True), Field("tracking_no", "text", _l("Tracking no."), True),
        OPTIONAL_NOTE), guard=_mode(ServiceMode.MAIL_IN), effect=_ship_back),
    # R-RET-5: the return path of an approved return / exchange / refund.
    Transition("take_back_unit", (S.RETURNING,), None, WORKERS, _l("Old unit taken back"), (
        Field("old_unit_how", "choice", _l("How"), True, "old_unit_how"), OPTIONAL_NOTE),
        guard=_on_return_path(return_path.unit_pending),
        effect=_return_step(lambda t, v, at: return_path.take_back_unit(t, v["old_unit_how"], at))),
    Transition("ship_exchange", (S.RETURNING,), None, DESK, _l("Exchange unit shipped"), (
        Field("courier", "text", _l("Courier"), True), Field("tracking_no", "text", _l("Tracking no."), True),
        OPTIONAL_NOTE), guard=_on_return_path(return_path.shipment_pending),
        effect=_return_step(lambda t, v, at: return_path.ship_exchange(t, v["courier"], v["tracking_no"], at),
                            customer_messages.exchange_shipped)),
    Transition("pay_refund", (S.RETURNING,), None, DESK, _l("Refund paid"), (
        Field("payment_ref", "text", _l("Payment reference"), True), OPTIONAL_NOTE),
        guard=_on_return_path(return_path.payment_pending),
        effect=_return_step(lambda t, v, at: return_path.pay_refund(t, v["payment_ref"], at),
                            customer_messages.refund_paid)),
    Transition("settle", (S.AGREED,), S.RESOLVED, DESK, _l("Complaint settled"), (
        Field("resolution", "textarea", _l("Resolution"), True), OPTIONAL_NOTE),
        guard=_kind(TicketKind.COMPLAINT), effect=_settle_complaint),
    # R-ROLE-3: return visits grade the outlet's service, so the service center makes them (and
    # closes the ticket after them); dealers read them.
    Transition("return_visit", (S.RESOLVED,), S.RETURN_VISIT, CENTER, _l("Record return visit"), (
        Field("satisfaction", "rating", _l("Satisfaction (1-5)"), True),
        Field("comment", "textarea", _l("Customer's words")), OPTIONAL_NOTE), effect=_return_visit),
    Transition("close", (S.RETURN_VISIT,), S.CLOSED, CENTER, _l("Close"), (OPTIONAL_NOTE,)),
    # R-TKT-4 "until the customer is satisfied".
    Transition("reopen", (S.RESOLVED, S.RETURN_VISIT), S.DIAGNOSED, DESK, _l("Reopen"), (NOTE,)),
    # R-SLA-3: waiting for the customer stops the resolution clock, and the pause is recorded.
    Transition("wait_for_customer", OPEN, None, WORKERS, _l("Waiting for the customer"), (NOTE,),
               guard=lambda t: not _paused(t), effect=_pause),
    Transition("customer_back", OPEN, None, WORKERS, _l("Customer is back"), (OPTIONAL_NOTE,),
               guard=_paused, effect=_resume),
    # R-WAR-5: only a manager overrides the verdict, and only with a reason.
    Transition("warranty_override", tuple(s for s in S if s != S.CLOSED), None, MANAGERS,
               _l("Override warranty verdict"), (
                   Field("window", "choice", _l("Verdict"), True, "window"),
                   Field("note", "textarea", _l("Reason"), True)), effect=_override_warranty),
)
BY_NAME = {t.name: t for t in TRANSITIONS}


def refuse_other_roles(name: str, actor: User) -> None:
    """R-TKT-5: a step the actor's role may never take is refused saying so, however old the page
    it was sent from (the views call this before their staleness check)."""
    transition = BY_NAME.get(name)
    if transition is not None and actor.role not in transition.roles:
        raise TransitionNotAllowed(_l("Your role (%(role)s) may not take the step “%(step)s”: nothing was changed.",
                                      role=label(Role, actor.role), step=transition.label))


def available(ticket: Ticket, user: User) -> list[Transition]:
    return [t for t in TRANSITIONS if t.allows(ticket, user)]


def perform(session: Session, ticket: Ticket, name: str, actor: User, data: dict | None = None,
            at: datetime | None = None) -> Transition:
    """Take step `name`; `data` holds the step's fields as typed (strings) or parsed values."""
    refuse_other_roles(name, actor)
    transition = BY_NAME.get(name)
    if transition is None or not transition.allows(ticket, actor):
        raise TransitionNotAllowed()
    values, errors = parse(transition.fields, data or {})
    if errors:
        raise FieldErrors(errors)
    return _take(session, ticket, transition, values, actor, at or utcnow())


def _take(session: Session, ticket: Ticket, transition: Transition, values: dict, actor: User | None,
          at: datetime) -> Transition:
    """Apply a step whose data is checked: its effect, the timeline, the status and the clocks."""
    target = transition.target
    if transition.effect is not None:
        target = transition.effect(session, ticket, values, actor, at) or target
    if transition.target is None:  # an action: recorded; the last return step also moves the status
        session.add(TicketEvent(ticket=ticket, actor=actor, at=at, action=transition.name,
                                note=values.get("note", "")))
        if target is None:
            return transition
    session.add(TicketEvent(ticket=ticket, actor=actor, at=at, action="status",
                            from_status=ticket.status, to_status=target.value,
                            note="" if transition.target is None else values.get("note", "")))
    if target == S.DIAGNOSED and S(ticket.status) in (S.RESOLVED, S.RETURN_VISIT):
        session.add(TicketEvent(ticket=ticket, actor=actor, at=at, action="reopened",
                                note=values.get("comment") or values.get("note", "")))
        sla.restart_for_rework(session, ticket, at)  # R-SLA-4: the rework runs on new clocks
        fee_claims.ticket_reopened(session, ticket, at)  # R-FEE-3: its claim waits again
    ticket.status = target.value
    ticket.closed_at = at if target == S.CLOSED else None
    sla.status_reached(ticket, target, at)
    return transition


SURVEY_NOTE = _l("The customer answered the return-visit survey.")


def customer_survey(session: Session, ticket: Ticket, satisfaction: int, comment: str,
                    at: datetime | None = None) -> Transition:
    """The customer rated the service on the survey page (R-TKT-4, R-NTF-1): the return-visit
    step with no visitor, so an unsatisfied customer reopens the ticket as at the center's call."""
    transition = BY_NAME["return_visit"]
    if S(ticket.status) not in transition.sources:
        raise TransitionNotAllowed()
    values = {"satisfaction": satisfaction, "comment": comment, "note": str(SURVEY_NOTE)}
    return _take(session, ticket, transition, values, None, at or utcnow())


def is_repeat_repair(ticket: Ticket) -> bool:
    """R-TKT-5 / R-TKT-9: reopened for the same fault, or a new ticket soon after a repair."""
    return ticket.repeat_of_id is not None or any(e.action == "reopened" for e in ticket.events)


def codes(session: Session, kind: str, category: str | None) -> list[FaultCode]:
    stmt = select(FaultCode).where(FaultCode.kind == kind, FaultCode.active.is_(True))
    if category:
        stmt = stmt.where((FaultCode.category == category) | FaultCode.category.is_(None))
    return list(session.scalars(stmt.order_by(FaultCode.code)))
