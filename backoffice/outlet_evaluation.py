"""The dealer outlets' annual evaluation (R-APR-5; manual 004: the service center 负责对公司服务网络
工作情况进行年度检查考核, 评选年度先进服务网点和个人): a score per dealer outlet and year computed
from its own service data, a ranking, the awards a manager records, and each outlet's
qualification records (licence, certified engineers, annual inspection).

The score is six components, each worth its policy weight (`outlet_eval.weight.*`, 100 in all):

- SLA compliance: weight x the share of the year's decided clocks met on time (backoffice.sla's
  `state`: met vs breached; running, paused and not needed clocks are not decided);
- complaints: weight less `outlet_eval.complaint_deduction` per confirmed complaint (R-CMP-3);
- return-visit satisfaction: weight x average score / 5;
- repeat repairs: weight x (1 - share of repeat repairs / `outlet_eval.repeat_share_zero`), at
  least 0 (R-TKT-9, workflow.is_repeat_repair);
- parts-account discipline: weight less `outlet_eval.late_part_deduction` per old part returned
  late or still overdue (R-PART-9) and `outlet_eval.late_statement_deduction` per month's
  statement not confirmed within `outlet_eval.statement_confirm_days` after the month (R-PART-7);
- service-fee claims: weight x (1 - share adjusted or rejected / `outlet_eval.claim_adjusted_share_zero`)
  (R-FEE-2).

A component without data (no clock decided, no return visit, no repair, no claim audited) neither
gives nor costs points: the score is the other components' points scaled up to the full weight,
and the page says so. An outlet with none of these in the year is not rated (listed last, no
rank), never first by default. Each component carries the figures it was computed from. The year
is the service time zone's calendar year.

Every query runs under the user's row scope (backoffice.access): a dealer's ranking holds its
own outlets only, and nothing is computed for outlets the user may not see. An outlet with a
confirmed overcharge that year is not eligible for an award (backoffice.outlet_awards, R-CMP-3).

Who may do what: `actions(session, record, user, year)` — with no record "read" and "award";
for an outlet "award" (in that year), "qualify" (licence) and "inspect"; for an award "withdraw".
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from models import (
    Complaint,
    FeeClaim,
    OldPart,
    Outlet,
    PartsReconciliation,
    ReturnVisit,
    Ticket,
    TicketClock,
    TicketEvent,
    User,
    utcnow,
)
from models.choices import FeeClaimStatus, InspectionResult, OldPartState, ProductCategory, Role, TicketKind
from models.evaluation import OutletAward, OutletInspection, OutletQualification

from . import outlet_awards, permissions, policy, sla
from .errors import FieldErrors
from .labels import number
from .months import YEARS, month_end, parse_day
from .permissions import ALLOWED, DESK, MANAGERS, Verdict, first_refusal, refuse, role_in
from .timezones import local_day_bounds, local_today

CENT = Decimal("0.01")
SATISFACTION_MAX = Decimal(5)  # the return visit's scale, 1-5 (a CHECK on return_visit)
TITLE_MAX, NOTE_MAX, LICENCE_MAX = 60, 2000, 60
# Suggestions for the title field (manual 004: 年度先进服务网点和个人); any title may be typed.
OUTLET_TITLES = (_l("Outstanding service outlet of the year"),)
PERSON_TITLES = (_l("Outstanding service engineer of the year"), _l("Outstanding service employee of the year"))
COMPONENTS = ("sla", "complaints", "satisfaction", "repeat_repairs", "parts", "fee_claims")
COMPONENT_LABELS = {
    "sla": _l("SLA compliance"), "complaints": _l("Complaints"), "satisfaction": _l("Return-visit satisfaction"),
    "repeat_repairs": _l("Repeat repairs"), "parts": _l("Parts-account discipline"),
    "fee_claims": _l("Fee-claim adjustments"),
}
NOT_EVALUATED = _l("The service center itself is not evaluated: only dealer outlets are.")
ONLY_MANAGERS = _l("Only a manager records awards and qualification records.")


# --- the figures -------------------------------------------------------------------------------

@dataclass
class Facts:
    """What the outlet's data says for the year: the counts each component is computed from."""

    clocks_decided: int = 0
    clocks_on_time: int = 0
    complaints: int = 0
    visits: int = 0
    satisfaction_total: int = 0
    repairs: int = 0
    repeats: int = 0
    late_parts: int = 0
    overdue_parts: int = 0
    statements: int = 0
    late_statements: int = 0
    claims_audited: int = 0
    claims_adjusted: int = 0


# The components measured on the outlet's service; the others deduct from full points.
MEASURED = ("sla", "satisfaction", "repeat_repairs", "fee_claims")


@dataclass(frozen=True)
class Figure:
    label: object  # a lazy text
    value: str


@dataclass(frozen=True)
class Component:
    key: str
    weight: Decimal
    points: Decimal
    figures: tuple[Figure, ...]
    no_data: bool = False

    @property
    def label(self):
        return COMPONENT_LABELS[self.key]


@dataclass
class Evaluation:
    outlet: Outlet
    year: int
    components: tuple[Component, ...]
    penalties: list = field(default_factory=list)  # outlet_awards.Penalty: not eligible (R-CMP-3)
    awards: list[OutletAward] = field(default_factory=list)
    rank: int | None = 0

    @property
    def rated(self) -> bool:
        """Whether the year gave anything to judge: a component measured on its service (clocks,
        visits, repairs, claims). An outlet with no activity is not rated, never ranked first."""
        return any(not c.no_data for c in self.components if c.key in MEASURED)

    @property
    def score(self) -> Decimal | None:
        """The points of the components with data, scaled up to the full weight: a component
        without data neither gives nor costs points. None when the outlet is not rated."""
        if not self.rated:
            return None
        with_data = [c for c in self.components if not c.no_data]
        full = sum((c.weight for c in self.components), Decimal("0"))
        weighed = sum((c.weight for c in with_data), Decimal("0"))
        return _points(sum((c.points for c in with_data), Decimal("0")) * full / weighed)

    @property
    def eligible(self) -> bool:
        return not self.penalties

    def component(self, key: str) -> Component:
        return next(c for c in self.components if c.key == key)


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The service zone's calendar year as UTC [start, end)."""
    return local_day_bounds(date(year, 1, 1), date(year, 12, 31))


def dealer_outlets(session: Session, year: int) -> list[Outlet]:
    """The dealer outlets the user may see that were in the network during `year` (an outlet
    retired since is still evaluated for the years it served)."""
    start, _end = year_bounds(year)
    return list(session.scalars(select(Outlet).where(
        Outlet.is_service_center.is_(False),
        or_(Outlet.active.is_(True), Outlet.retired_at >= start)).order_by(Outlet.code)))


def facts(session: Session, outlet_ids: list[int], year: int, now: datetime | None = None) -> dict[int, Facts]:
    """{outlet id: Facts} for the year, one query per kind of figure for all the outlets."""
    now = now or utcnow()
    found = {outlet_id: Facts() for outlet_id in outlet_ids}
    if not outlet_ids:
        return found
    bounds = year_bounds(year)
    _clocks(session, found, bounds, now)
    _complaints(session, found, bounds)
    _satisfaction(session, found, bounds)
    _repeats(session, found, bounds)
    _old_parts(session, found, year, now)
    _statements(session, found, year, now)
    _claims(session, found, bounds)
    return found


def _clocks(session, found, bounds, now) -> None:
    """R-SLA-1: the clocks due in the year that are decided — met in time, or breached
    (`sla.state`'s outcome, counted in SQL)."""
    met, breached = sla.decided_sql(now)
    rows = session.execute(
        select(Ticket.outlet_id, func.count().filter(met), func.count().filter(breached))
        .select_from(TicketClock).join(Ticket, TicketClock.ticket_id == Ticket.id)
        .where(Ticket.outlet_id.in_(list(found)), TicketClock.due_at >= bounds[0], TicketClock.due_at < bounds[1])
        .group_by(Ticket.outlet_id))
    for outlet_id, on_time, late in rows:
        found[outlet_id].clocks_decided, found[outlet_id].clocks_on_time = on_time + late, on_time


def substantiated_only() -> bool:
    """Whether complaints record their outcome (R-CMP-3): then only confirmed ones count."""
    return hasattr(Complaint, "substantiated")


def _complaints(session, found, bounds) -> None:
    """Complaints on the outlet's tickets registered in the year; confirmed ones when the complaint
    records whether it was substantiated."""
    stmt = (select(Ticket.outlet_id, func.count(Complaint.id)).join(Ticket, Complaint.ticket_id == Ticket.id)
            .where(Ticket.outlet_id.in_(list(found)),
                   Complaint.created_at >= bounds[0], Complaint.created_at < bounds[1])
            .group_by(Ticket.outlet_id))
    if substantiated_only():
        stmt = stmt.where(Complaint.substantiated.is_(True))
    for outlet_id, count in session.execute(stmt):
        found[outlet_id].complaints = count


def _satisfaction(session, found, bounds) -> None:
    rows = session.execute(
        select(Ticket.outlet_id, func.count(ReturnVisit.id), func.sum(ReturnVisit.satisfaction))
        .join(Ticket, ReturnVisit.ticket_id == Ticket.id)
        .where(Ticket.outlet_id.in_(list(found)), ReturnVisit.satisfaction.is_not(None),
               ReturnVisit.done_at >= bounds[0], ReturnVisit.done_at < bounds[1])
        .group_by(Ticket.outlet_id))
    for outlet_id, count, total in rows:
        found[outlet_id].visits, found[outlet_id].satisfaction_total = count, int(total or 0)


def repeat_repair_sql():
    """workflow.is_repeat_repair in SQL: a new ticket soon after a repair (repeat_of), or reopened."""
    reopened = exists().where(TicketEvent.ticket_id == Ticket.id, TicketEvent.action == "reopened")
    return or_(Ticket.repeat_of_id.is_not(None), reopened)


def _repeats(session, found, bounds) -> None:
    """R-TKT-9: the outlet's repair tickets registered in the year, and how many were repeats."""
    repeat = func.sum(case((repeat_repair_sql(), 1), else_=0))
    rows = session.execute(
        select(Ticket.outlet_id, func.count(Ticket.id), repeat)
        .where(Ticket.outlet_id.in_(list(found)), Ticket.kind == TicketKind.REPAIR.value,
               Ticket.created_at >= bounds[0], Ticket.created_at < bounds[1])
        .group_by(Ticket.outlet_id))
    for outlet_id, count, repeats in rows:
        found[outlet_id].repairs, found[outlet_id].repeats = count, int(repeats or 0)


def _old_parts(session, found, year: int, now: datetime) -> None:
    """R-PART-9: old parts shipped back after the return cycle in the year (old_parts.late_returns),
    and old parts replaced in the year still owed after it (old_parts.overdue)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    late = session.execute(
        select(OldPart.outlet_id, func.count(OldPart.id))
        .where(OldPart.outlet_id.in_(list(found)), OldPart.returned_late.is_(True),
               OldPart.returned_on >= first, OldPart.returned_on <= last)
        .group_by(OldPart.outlet_id))
    for outlet_id, count in late:
        found[outlet_id].late_parts = count
    cycle = timedelta(days=int(policy.value(session, "parts.return_cycle_days")))
    overdue_before = min(local_today(), last + timedelta(days=1)) - cycle
    overdue = session.execute(
        select(OldPart.outlet_id, func.count(OldPart.id))
        .where(OldPart.outlet_id.in_(list(found)), OldPart.state == OldPartState.OWED.value,
               OldPart.replaced_on >= first, OldPart.replaced_on < overdue_before)
        .group_by(OldPart.outlet_id))
    for outlet_id, count in overdue:
        found[outlet_id].overdue_parts = count


def confirm_deadline(month: date, days: int) -> datetime:
    """R-PART-7: a month's statement is confirmed in time before this instant (UTC): the end of the
    policy's number of days (`outlet_eval.statement_confirm_days`) after the month, service zone."""
    return local_day_bounds(month, month_end(month) + timedelta(days=days))[1]


def _statements(session, found, year: int, now: datetime) -> None:
    """The year's monthly statements whose confirmation was due by now, and how many were confirmed
    late or not at all."""
    rows = session.execute(
        select(PartsReconciliation.outlet_id, PartsReconciliation.month, PartsReconciliation.confirmed_at)
        .where(PartsReconciliation.outlet_id.in_(list(found)), PartsReconciliation.month >= date(year, 1, 1),
               PartsReconciliation.month <= date(year, 12, 1)))
    days = int(policy.value(session, "outlet_eval.statement_confirm_days"))
    for outlet_id, month, confirmed_at in rows:
        deadline = confirm_deadline(month, days)
        if confirmed_at is None and deadline > now:
            continue  # still inside its days
        found[outlet_id].statements += 1
        found[outlet_id].late_statements += confirmed_at is None or confirmed_at >= deadline


def adjusted_sql():
    """R-FEE-2: a claim the audit cut or refused; a settled claim keeps the cut in its amounts."""
    return or_(FeeClaim.status.in_((FeeClaimStatus.ADJUSTED.value, FeeClaimStatus.REJECTED.value)),
               and_(FeeClaim.approved_total.is_not(None), FeeClaim.approved_total < FeeClaim.claimed_total))


def _claims(session, found, bounds) -> None:
    adjusted = func.sum(case((adjusted_sql(), 1), else_=0))
    rows = session.execute(
        select(FeeClaim.outlet_id, func.count(FeeClaim.id), adjusted)
        .where(FeeClaim.outlet_id.in_(list(found)), FeeClaim.audited_at >= bounds[0], FeeClaim.audited_at < bounds[1])
        .group_by(FeeClaim.outlet_id))
    for outlet_id, count, cut in rows:
        found[outlet_id].claims_audited, found[outlet_id].claims_adjusted = count, int(cut or 0)


# --- the score ---------------------------------------------------------------------------------

def _points(value: Decimal) -> Decimal:
    return max(value, Decimal(0)).quantize(CENT, ROUND_HALF_UP)


def _share(part: int, whole: int) -> Decimal:
    return Decimal(part) / Decimal(whole) if whole else Decimal(0)


def _percent(share: Decimal) -> str:
    return f"{(share * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)} %"


def _of(part: int, whole: int) -> str:
    return f"{part} / {whole} ({_percent(_share(part, whole))})"


def _falling(weight: Decimal, share: Decimal, zero_at: Decimal) -> Decimal:
    """Full weight at a share of 0, nothing from `zero_at` on, linear between."""
    if zero_at <= 0:
        return weight if share == 0 else Decimal(0)
    return weight * (1 - share / zero_at)


def score(session: Session | None, found: Facts) -> tuple[Component, ...]:
    """The six components of one outlet's facts, with the policy's weights and thresholds."""
    def weight(key):
        return policy.value(session, f"outlet_eval.weight.{key}")

    return (_sla(weight("sla"), found), _complaint_points(session, weight("complaints"), found),
            _satisfaction_points(weight("satisfaction"), found),
            _repeat_points(session, weight("repeat_repairs"), found),
            _parts_points(session, weight("parts"), found), _claim_points(session, weight("fee_claims"), found))


def _sla(weight, found) -> Component:
    share = _share(found.clocks_on_time, found.clocks_decided)
    points = weight * share if found.clocks_decided else weight
    return Component("sla", weight, _points(points), (
        Figure(_l("Clocks met on time / decided"), _of(found.clocks_on_time, found.clocks_decided)),),
        no_data=not found.clocks_decided)


def _complaint_points(session, weight, found) -> Component:
    each = policy.value(session, "outlet_eval.complaint_deduction")
    counted = _l("Confirmed complaints") if substantiated_only() else _l("Complaints on its tickets")
    return Component("complaints", weight, _points(weight - each * found.complaints), (
        Figure(counted, str(found.complaints)), Figure(_l("Points lost per complaint"), number(each))))


def _satisfaction_points(weight, found) -> Component:
    if not found.visits:
        return Component("satisfaction", weight, _points(weight), (
            Figure(_l("Return visits with a score"), "0"),), no_data=True)
    average = Decimal(found.satisfaction_total) / Decimal(found.visits)
    return Component("satisfaction", weight, _points(weight * average / SATISFACTION_MAX), (
        Figure(_l("Return visits with a score"), str(found.visits)),
        Figure(_l("Average satisfaction (1-5)"), str(average.quantize(CENT, ROUND_HALF_UP)))))


def _repeat_points(session, weight, found) -> Component:
    zero_at = policy.value(session, "outlet_eval.repeat_share_zero")
    share = _share(found.repeats, found.repairs)
    return Component("repeat_repairs", weight, _points(_falling(weight, share, zero_at)), (
        Figure(_l("Repeat repairs / repair tickets"), _of(found.repeats, found.repairs)),
        Figure(_l("No points from a share of"), _percent(zero_at))), no_data=not found.repairs)


def _parts_points(session, weight, found) -> Component:
    per_part = policy.value(session, "outlet_eval.late_part_deduction")
    per_statement = policy.value(session, "outlet_eval.late_statement_deduction")
    parts = found.late_parts + found.overdue_parts
    points = weight - per_part * parts - per_statement * found.late_statements
    return Component("parts", weight, _points(points), (
        Figure(_l("Old parts returned late"), str(found.late_parts)),
        Figure(_l("Old parts still owed after the return cycle"), str(found.overdue_parts)),
        Figure(_l("Statements not confirmed in time / due"), f"{found.late_statements} / {found.statements}"),
        Figure(_l("Points lost per part / per statement"), f"{number(per_part)} / {number(per_statement)}")))


def _claim_points(session, weight, found) -> Component:
    zero_at = policy.value(session, "outlet_eval.claim_adjusted_share_zero")
    share = _share(found.claims_adjusted, found.claims_audited)
    return Component("fee_claims", weight, _points(_falling(weight, share, zero_at)), (
        Figure(_l("Claims adjusted or rejected / audited"), _of(found.claims_adjusted, found.claims_audited)),
        Figure(_l("No points from a share of"), _percent(zero_at))), no_data=not found.claims_audited)


# --- the ranking -------------------------------------------------------------------------------

def ranking(session: Session, year: int, now: datetime | None = None) -> list[Evaluation]:
    """The dealer outlets the user may see, best first; equal scores share a rank (1, 1, 3)."""
    outlets = dealer_outlets(session, year)
    figures = facts(session, [o.id for o in outlets], year, now)
    penalties = outlet_awards.penalties(session, year)
    awards = awards_of(session, year)
    rows = [Evaluation(o, year, score(session, figures[o.id]), penalties.get(o.id, []), awards.get(o.id, []))
            for o in outlets]
    rows.sort(key=lambda e: (not e.rated, -(e.score or 0), e.outlet.code))
    for index, row in enumerate(rows):
        if not row.rated:
            row.rank = None  # listed after the rated ones, without a rank
        else:
            row.rank = rows[index - 1].rank if index and row.score == rows[index - 1].score else index + 1
    return rows


def evaluation_of(session: Session, outlet: Outlet, year: int) -> Evaluation | None:
    """The outlet's row of the year's ranking (its rank among the outlets the user sees)."""
    return next((row for row in ranking(session, year) if row.outlet.id == outlet.id), None)


def awards_of(session: Session, year: int | None = None, outlet_id: int | None = None) -> dict[int | None, list]:
    """{outlet id: awards} (a person's award under their outlet; None for the center's staff)."""
    stmt = select(OutletAward).order_by(OutletAward.year.desc(), OutletAward.id)
    if year is not None:
        stmt = stmt.where(OutletAward.year == year)
    if outlet_id is not None:
        stmt = stmt.where(OutletAward.outlet_id == outlet_id)
    found = defaultdict(list)
    for award in session.scalars(stmt):
        found[award.outlet_id].append(award)
    return dict(found)


def person_awards(session: Session, year: int) -> list[OutletAward]:
    return list(session.scalars(select(OutletAward).where(OutletAward.year == year, OutletAward.staff_id.is_not(None))
                                .order_by(OutletAward.id)))


# --- may I -------------------------------------------------------------------------------------

def actions(session: Session, record: Outlet | OutletAward | None, user: User,
            year: int | None = None) -> dict[str, Verdict]:
    """Everyone at a desk reads the evaluation of the outlets they see (a dealer its own); only a
    manager records awards, licences and inspections (R-APR-5). An outlet penalised for
    overcharging that year is not awarded (R-CMP-3)."""
    manager = role_in(user, MANAGERS, ONLY_MANAGERS)
    if record is None:
        return {"read": role_in(user, DESK), "award": manager}
    if isinstance(record, OutletAward):
        return {"withdraw": manager}
    dealer = refuse(NOT_EVALUATED, hint=False) if record.is_service_center else ALLOWED
    return {"award": first_refusal(manager, dealer, _eligible(session, record, year or local_today().year)),
            "qualify": first_refusal(manager, dealer), "inspect": first_refusal(manager, dealer)}


def _eligible(session: Session, outlet: Outlet, year: int) -> Verdict:
    found = outlet_awards.penalties(session, year, outlet.id).get(outlet.id)
    if not found:
        return ALLOWED
    claims = ", ".join(p.claim_number for p in found)
    return refuse(_l("Not eligible for %(year)s: an overcharge was confirmed that year (%(claims)s).",
                     year=year, claims=claims))


# --- awards ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AwardDraft:
    """An award as typed: the year, an outlet or a person (ids already parsed), title, note."""

    year: str
    outlet_id: int | None
    staff_id: int | None
    title: str
    note: str = ""


def parse_year(text, errors: dict, key: str = "year") -> int | None:
    """A year from 2000 to this year, as typed; else an error under `key`."""
    raw = str(text or "").strip()
    this_year = local_today().year
    if raw.isascii() and raw.isdecimal() and len(raw) == 4 and int(raw) in YEARS and int(raw) <= this_year:
        return int(raw)
    errors[key] = _l("A year from %(first)d to %(last)d.", first=YEARS.start, last=this_year)
    return None


def record_award(session: Session, actor: User, draft: AwardDraft) -> OutletAward:
    """A manager records an annual award to a dealer outlet or a person; an outlet penalised for
    overcharging that year is refused with the reason (R-APR-5, R-CMP-3)."""
    permissions.require(actions(session, None, actor), "award")
    errors: dict = {}
    year = parse_year(draft.year, errors)
    title, note = (draft.title or "").strip(), (draft.note or "").strip()
    _check_text(errors, "title", title, TITLE_MAX, required=True)
    _check_text(errors, "note", note, NOTE_MAX)
    outlet, staff = _recipient(session, actor, draft, year, errors)
    if not errors and _already(session, year, outlet, staff, title):
        errors["title"] = _l("This award is recorded already for that year.")
    if errors:
        raise FieldErrors(errors)
    award = OutletAward(year=year, outlet_id=outlet.id if outlet else staff.outlet_id,
                        staff_id=staff.id if staff else None, title=title, note=note, recorded_by_id=actor.id)
    session.add(award)
    session.flush()
    return award


def _check_text(errors: dict, key: str, text: str, limit: int, required: bool = False) -> None:
    if required and not text:
        errors[key] = _l("Required.")
    elif len(text) > limit:
        errors[key] = _l("At most %(n)d characters.", n=limit)


def _recipient(session, actor, draft: AwardDraft, year, errors) -> tuple[Outlet | None, User | None]:
    if (draft.outlet_id is None) == (draft.staff_id is None):
        errors["outlet_id"] = _l("Choose an outlet or a person (one of them).")
        return None, None
    if draft.outlet_id is not None:
        outlet = session.get(Outlet, draft.outlet_id)  # scoped: what the user may see
        if outlet is None:
            errors["outlet_id"] = _l("No such outlet.")
        elif year is not None:
            verdict = actions(session, outlet, actor, year)["award"]
            if not verdict:
                errors["outlet_id"] = verdict.reason
        return outlet, None
    staff = session.get(User, draft.staff_id)
    if staff is None or not staff.active or staff.role == Role.ADMIN:
        errors["staff_id"] = _l("No such person.")
    elif staff.id == actor.id:
        errors["staff_id"] = _l("You cannot record an award for yourself.")
    return None, staff


def _already(session, year, outlet, staff, title) -> bool:
    stmt = select(OutletAward.id).where(OutletAward.year == year, OutletAward.title == title)
    stmt = stmt.where(OutletAward.staff_id == staff.id) if staff else stmt.where(
        OutletAward.outlet_id == outlet.id, OutletAward.staff_id.is_(None))
    return session.scalar(stmt.limit(1)) is not None


def withdraw_award(session: Session, award: OutletAward, actor: User) -> None:
    """A manager removes an award recorded in error (the audit trail keeps it)."""
    permissions.require(actions(session, award, actor), "withdraw")
    session.delete(award)
    session.flush()


# --- qualification records ---------------------------------------------------------------------

@dataclass(frozen=True)
class Qualification:
    licence: OutletQualification | None
    licence_expired: bool
    engineers: int  # active engineers of the outlet
    certified_engineers: int | None  # None: no training records to tell (engineers counted instead)
    inspections: list[OutletInspection]


def qualification(session: Session, outlet: Outlet, today: date | None = None) -> Qualification:
    today = today or local_today()
    licence = session.scalar(select(OutletQualification).where(OutletQualification.outlet_id == outlet.id))
    engineers = list(session.scalars(select(User).where(
        User.outlet_id == outlet.id, User.role == Role.ENGINEER.value, User.active.is_(True))))
    inspections = list(session.scalars(select(OutletInspection).where(OutletInspection.outlet_id == outlet.id)
                                       .order_by(OutletInspection.year.desc())))
    expired = bool(licence and licence.licence_valid_until and licence.licence_valid_until < today)
    return Qualification(licence, expired, len(engineers), certified_count(session, engineers, today), inspections)


def certified_count(session: Session, engineers: list[User], today: date) -> int | None:
    """Engineers holding a valid certificate for at least one product category (R-APR-6, manual 001:
    上岗 after passing) by the training records (backoffice.training); None without them."""
    try:
        from . import training
    except ImportError:  # no training records kept: the screen counts the engineers instead
        return None
    ids = [e.id for e in engineers]
    certified: set[int] = set()
    for category in ProductCategory:
        certified |= training.certified_among(session, ids, category.value, today)
    return len(certified)


def record_licence(session: Session, outlet: Outlet, actor: User, number: str, valid_until: str) -> OutletQualification:
    permissions.require(actions(session, outlet, actor), "qualify")
    errors: dict = {}
    number = (number or "").strip()
    _check_text(errors, "licence_number", number, LICENCE_MAX, required=True)
    until = None
    if (valid_until or "").strip():
        until = parse_day(valid_until)
        if until is None:
            errors["licence_valid_until"] = _l("A date as year-month-day, e.g. 2027-06-30.")
    if errors:
        raise FieldErrors(errors)
    row = session.scalar(select(OutletQualification).where(OutletQualification.outlet_id == outlet.id))
    if row is None:
        row = OutletQualification(outlet_id=outlet.id)
        session.add(row)
    row.licence_number, row.licence_valid_until, row.recorded_by_id = number, until, actor.id
    session.flush()
    return row


def record_inspection(session: Session, outlet: Outlet, actor: User, year: str, result: str,
                      note: str) -> OutletInspection:
    """The year's inspection result; recorded again (整改 done, say) it replaces the earlier one —
    the audit trail keeps what it was."""
    permissions.require(actions(session, outlet, actor), "inspect")
    errors: dict = {}
    found_year = parse_year(year, errors, "inspection_year")
    if result not in {r.value for r in InspectionResult}:
        errors["inspection_result"] = _l("Choose a result.")
    note = (note or "").strip()
    _check_text(errors, "inspection_note", note, NOTE_MAX)
    if errors:
        raise FieldErrors(errors)
    row = session.scalar(select(OutletInspection).where(OutletInspection.outlet_id == outlet.id,
                                                        OutletInspection.year == found_year))
    if row is None:
        row = OutletInspection(outlet_id=outlet.id, year=found_year)
        session.add(row)
    row.result, row.note, row.inspected_by_id = result, note, actor.id
    session.flush()
    return row
