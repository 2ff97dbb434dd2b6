"""勤 (diligence) and 绩 (results) suggested from a person's service record (R-APR-1, §8; R-CMP-3).

`suggest(session, staff, start, end)` reads the person's record between two local dates (end
inclusive, the person's outlet's time zone; the service's for center staff) and proposes a score
for each dimension with the figures behind it, so the manager reads why before accepting or
changing it. Every weight and deduction is a policy value (`appraisal.suggest.*`); a suggestion
is rounded to the score step (`appraisal.score_step`, half up) and kept within 0 … the
dimension's maximum (`appraisal.max.diligence`, `appraisal.max.results`).

Whose tickets (the shape of the work, not a number):
- an engineer's: the tickets assigned to them (the one last dispatched);
- anyone else's (clerk, manager — the desk): the tickets they registered or took a step of
  (a status change on the timeline). The desk shares a ticket: each person who handled it
  answers for its desk clocks.

When a figure falls in the period:
- an SLA clock by its due time; it counts once decided — met in time, or late (met after its
  due time, or still unmet past it); a clock not needed, paused or stopped at a reopening
  before it was due does not count. Engineers answer for the on-site and resolution clocks,
  the desk for the first response, dispatch and complaint-answer clocks;
- an approval decision (first or final approver) by when it was taken: on time within
  `approvals.decide_within_hours` of the request (a second approver: of the first approval);
- a repair by its first resolution; it is a first-time fix unless it was reopened (R-TKT-4),
  and it came back if reopened or repeated by a new ticket on the unit (R-TKT-9);
- a return visit by when it was made; a complaint by when it was registered, counted only when
  its investigation names the person and confirms it against them (R-CMP-3).

Formulas (max = the dimension's maximum):
  勤 = max × (clocks and decisions on time / all counted) − per_overdue × those not on time
  绩 = max × Σ wᵢ·xᵢ / Σ wᵢ over the rates the period has (x = first-time-fix rate with
       weight_first_time_fix, average satisfaction / 5 with weight_satisfaction)
       − per_repeat_repair × repairs that came back − per_complaint × confirmed complaints;
       with confirmed complaints but no rate, 绩 starts from the maximum.
No data for a dimension in the period: its key is absent (the form shows "no data").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from models import ApprovalRequest, Complaint, ReturnVisit, Ticket, TicketClock, TicketEvent, User, utcnow
from models.choices import ApprovalStatus, Clock, Role, TicketStatus

from . import policy, sla
from .labels import LABELS, number
from .timezones import local_day_bounds, zone_of

DILIGENCE, RESULTS = "diligence", "results"
ENGINEER_CLOCKS = (Clock.ONSITE, Clock.RESOLVE)  # arrived and resolved on time
DESK_CLOCKS = (Clock.RESPONSE, Clock.DISPATCH, Clock.ANSWER)  # responded, dispatched, answered on time
SATISFACTION_SCALE = Decimal(5)  # return visits rate 1-5 (ReturnVisit CHECK)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Figure:
    """What was counted (`label`, `value` as shown) and what it did to the score (`points`)."""

    label: object
    value: str
    points: Decimal


@dataclass(frozen=True)
class Suggestion:
    value: Decimal  # rounded to the score step, within 0 … the dimension's maximum
    figures: list[Figure] = field(default_factory=list)


@dataclass(frozen=True)
class Period:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    now: datetime

    def holds(self, column):
        return and_(column >= self.start, column < self.end)


def suggest(session: Session, staff: User, start: date, end: date,
            now: datetime | None = None) -> dict[str, Suggestion]:
    """{"diligence": …, "results": …} for `staff` between local dates `start` and `end`
    (inclusive); a dimension without data in the period is absent."""
    period = Period(*local_day_bounds(start, end, zone_of(staff.outlet)), now or utcnow())
    found = {DILIGENCE: diligence(session, staff, period), RESULTS: results(session, staff, period)}
    return {key: suggestion for key, suggestion in found.items() if suggestion is not None}


# --- whose tickets ------------------------------------------------------------------------------

def is_engineer(staff: User) -> bool:
    return staff.role == Role.ENGINEER


def tickets_of(staff: User):
    """A condition on Ticket: the person's tickets (see the module's docstring)."""
    if is_engineer(staff):
        return Ticket.assigned_engineer_id == staff.id
    took_a_step = (select(TicketEvent.id).where(TicketEvent.ticket_id == Ticket.id, TicketEvent.actor_id == staff.id,
                                                TicketEvent.action == "status").exists())
    return or_(Ticket.registered_by_id == staff.id, took_a_step)


# --- 勤 -----------------------------------------------------------------------------------------

def diligence(session: Session, staff: User, period: Period) -> Suggestion | None:
    """勤 = max × share on time − per_overdue × late (clocks, approval decisions)."""
    counts = clock_counts(session, staff, period)  # {clock: (on time, late)}
    decisions = decision_counts(session, staff, period)
    items = [(LABELS[Clock][c], *counts[c]) for c in counts]
    if decisions != (0, 0):
        limit = policy.value(session, "approvals.decide_within_hours")
        items.append((_l("Approval decisions within %(hours)s h", hours=number(limit)), *decisions))
    total = sum(on_time + late for _label, on_time, late in items)
    if not total:
        return None
    top = policy.value(session, "appraisal.max.diligence")
    figures = [Figure(_l("On time: %(what)s", what=what), f"{on_time} / {on_time + late}", top * on_time / total)
               for what, on_time, late in items]
    late = sum(late for _label, _on_time, late in items)
    if late:
        per = policy.value(session, "appraisal.suggest.diligence.per_overdue")
        figures.append(Figure(_l("Not on time"), str(late), -per * late))
    raised = requests_raised(session, staff, period)
    if raised is not None:
        figures.append(Figure(_l("Approval requests raised (approved)"), f"{raised[0]} ({raised[1]})", Decimal(0)))
    return scored(session, top, figures)


def clock_counts(session: Session, staff: User, period: Period) -> dict[str, tuple[int, int]]:
    """{clock: (met in time, late)} of the person's clocks due in the period (R-SLA-1)."""
    clocks = ENGINEER_CLOCKS if is_engineer(staff) else DESK_CLOCKS
    stmt = (select(TicketClock).join(Ticket, TicketClock.ticket_id == Ticket.id)
            .where(tickets_of(staff), TicketClock.clock.in_([c.value for c in clocks]),
                   period.holds(TicketClock.due_at), TicketClock.due_at < period.now)
            .options(selectinload(TicketClock.ticket).selectinload(Ticket.clocks)))
    counts = {}
    for found in session.scalars(stmt):
        state = sla.state(found, period.now, sla.finished_at(found.ticket))
        if state in ("met", "breached"):
            on_time, late = counts.get(found.clock, (0, 0))
            counts[found.clock] = (on_time + (state == "met"), late + (state == "breached"))
    return {c.value: counts[c.value] for c in clocks if c.value in counts}


def decision_counts(session: Session, staff: User, period: Period) -> tuple[int, int]:
    """(on time, late) approval decisions the person took in the period, first or final."""
    within = sla.hours(policy.value(session, "approvals.decide_within_hours"))
    waits = []
    first = select(ApprovalRequest).where(ApprovalRequest.first_approver_id == staff.id,
                                          period.holds(ApprovalRequest.first_approved_at))
    waits += [r.first_approved_at - r.created_at for r in session.scalars(first)]
    final = select(ApprovalRequest).where(ApprovalRequest.decided_by_id == staff.id,
                                          period.holds(ApprovalRequest.decided_at))
    for request in session.scalars(final):
        second = request.first_approved_at is not None and request.first_approver_id != staff.id
        waits.append(request.decided_at - (request.first_approved_at if second else request.created_at))
    on_time = sum(wait <= within for wait in waits)
    return on_time, len(waits) - on_time


def requests_raised(session: Session, staff: User, period: Period) -> tuple[int, int] | None:
    """(raised, approved) approval requests the person raised in the period: shown, not scored."""
    approved = func.coalesce(func.sum(case((ApprovalRequest.status == ApprovalStatus.APPROVED.value, 1), else_=0)), 0)
    raised, granted = session.execute(select(func.count(ApprovalRequest.id), approved).where(
        ApprovalRequest.requested_by_id == staff.id, period.holds(ApprovalRequest.created_at))).one()
    return (raised, granted) if raised else None


# --- 绩 -----------------------------------------------------------------------------------------

def results(session: Session, staff: User, period: Period) -> Suggestion | None:
    """绩 = max × weighted rates − per_repeat_repair × came back − per_complaint × confirmed."""
    top = policy.value(session, "appraisal.max.results")
    resolved = first_resolutions(session, staff, period)
    rates = []  # (weight, rate, label, value shown)
    if resolved:
        fixed = sum(not reopened(t) for t in resolved)
        rates.append((policy.value(session, "appraisal.suggest.results.weight_first_time_fix"),
                      Decimal(fixed) / len(resolved), _l("First-time fixes (resolved without a reopening)"),
                      f"{fixed} / {len(resolved)}"))
    ratings = satisfaction(session, staff, period)
    if ratings:
        average = Decimal(sum(ratings)) / len(ratings)
        rates.append((policy.value(session, "appraisal.suggest.results.weight_satisfaction"),
                      average / SATISFACTION_SCALE,
                      _l("Return-visit satisfaction: average of %(count)s visits", count=len(ratings)),
                      f"{number(average.quantize(CENT, ROUND_HALF_UP))} / {number(SATISFACTION_SCALE)}"))
    came_back = sum(reopened(t) or repeated(session, t) for t in resolved)
    complaints = confirmed_complaints(session, staff, period)
    weights = sum(weight for weight, *_rest in rates)
    if weights > 0:
        figures = [Figure(what, shown, top * weight * rate / weights) for weight, rate, what, shown in rates]
    elif complaints:
        figures = [Figure(_l("Nothing resolved or rated in the period: starts from the maximum"), number(top), top)]
    else:
        return None
    if came_back:
        per = policy.value(session, "appraisal.suggest.results.per_repeat_repair")
        figures.append(Figure(_l("Repairs that came back (reopened or repeated)"), str(came_back), -per * came_back))
    if complaints:
        per = policy.value(session, "appraisal.suggest.results.per_complaint")
        figures.append(Figure(_l("Complaints confirmed against the person"), str(complaints), -per * complaints))
    return scored(session, top, figures)


def first_resolutions(session: Session, staff: User, period: Period) -> list[Ticket]:
    """The person's tickets first resolved in the period (a rework's resolution is not a new one)."""
    first = (select(TicketEvent.ticket_id, func.min(TicketEvent.at).label("at"))
             .where(TicketEvent.action == "status", TicketEvent.to_status == TicketStatus.RESOLVED.value)
             .group_by(TicketEvent.ticket_id).subquery())
    stmt = (select(Ticket).join(first, first.c.ticket_id == Ticket.id)
            .where(tickets_of(staff), period.holds(first.c.at))
            .options(selectinload(Ticket.events)).order_by(Ticket.id))
    return list(session.scalars(stmt))


def reopened(ticket: Ticket) -> bool:
    """R-TKT-4: the customer was not satisfied and the ticket was reopened (workflow.perform)."""
    return any(e.action == "reopened" for e in ticket.events)


def repeated(session: Session, ticket: Ticket) -> bool:
    """R-TKT-9: a new ticket on the same unit came soon after (its `repeat_of`)."""
    return session.scalar(select(Ticket.id).where(Ticket.repeat_of_id == ticket.id).limit(1)) is not None


def satisfaction(session: Session, staff: User, period: Period) -> list[int]:
    """Ratings (1-5) of the return visits made in the period on the person's tickets."""
    stmt = (select(ReturnVisit.satisfaction).join(Ticket, ReturnVisit.ticket_id == Ticket.id)
            .where(tickets_of(staff), ReturnVisit.satisfaction.is_not(None), period.holds(ReturnVisit.done_at)))
    return list(session.scalars(stmt))


def confirmed_complaints(session: Session, staff: User, period: Period) -> int:
    """R-CMP-3: complaints registered in the period that name the person, confirmed against them."""
    stmt = (select(func.count(Complaint.id)).join(Ticket, Complaint.ticket_id == Ticket.id)
            .where(Complaint.against_staff_id == staff.id, Complaint.substantiated.is_(True),
                   period.holds(Ticket.created_at)))
    return session.scalar(stmt) or 0


# --- the score ----------------------------------------------------------------------------------

def scored(session: Session, top: Decimal, figures: list[Figure]) -> Suggestion:
    """The figures' sum rounded half up to the score step and kept within 0 … top; each figure's
    points shown to the cent."""
    raw = sum((Decimal(f.points) for f in figures), Decimal(0))
    shown = [Figure(f.label, f.value, Decimal(f.points).quantize(CENT, ROUND_HALF_UP)) for f in figures]
    return Suggestion(within(to_step(raw, policy.value(session, "appraisal.score_step")), top), shown)


def to_step(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_HALF_UP) * step


def within(value: Decimal, top: Decimal) -> Decimal:
    return min(max(value, Decimal(0)), top)
