"""Service KPIs for a period and the outlets the viewer may see (R-RPT-2, R-CMP-4). Every figure is
one aggregate query under the row scope (backoffice.access), grouped in SQL; the page runs a fixed
number of queries whatever the period or the number of outlets.

Definitions (a period is local calendar days first..last, the service's time zone):

- SLA compliance (R-SLA-1): `clock_compliance`, per clock, and the same per outlet.
- First-time fix: of the repair tickets first resolved in the period (their earliest timeline
  line moving them to "resolved" falls in it), those fixed the first time: never reopened (no
  "reopened" line, workflow.perform) and not repeated by a later ticket (no ticket names it as
  `repeat_of`, R-TKT-9). This is the other side of workflow.is_repeat_repair: a ticket counts
  against the first-time fix of the repair it repeats, or of itself when it is reopened. A repeat
  found after the period still counts against it, so the figure of a recent period may fall.
- Repeat repairs (R-TKT-5/9): the repair tickets registered in the period, and those that are
  repeats (outlet_evaluation.repeat_repair_sql: a new ticket within the policy window after a
  repair, or reopened).
- Return-visit coverage (R-RPT-2, manual 001): the tickets closed in the period with a return
  visit made; complaints separately, which must reach 100 % (those lacking a visit are listed).
- Satisfaction: the return visits made in the period, by score 1-5 or unscored, and the mean of
  the scored.
- Complaints (R-CMP-1, R-CMP-4): complaint tickets registered in the period, by class (none yet
  before the investigation) and by outlet; each with its facts found, the result promised, the
  resolution and whether it was confirmed against a staff member (R-CMP-3).
- Parts consumption: parts fitted (ReplacedPart) on days of the period, quantity and value at the
  price list's current price, per outlet and per part.
- Fee claims (R-FEE-1/2): claims created in the period per outlet: count per state, claimed and
  approved totals, adjusted (cut by the audit: adjusted, or settled after an adjustment) and the
  amount cut, and charge-backs (R-CMP-3).

Dimensions (outlet and part names, later repeat tickets) are joined as Core tables: the scope of
the row counted (its ticket, its claim) alone decides what is counted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from models import (
    Complaint,
    FeeClaim,
    Outlet,
    Part,
    ReplacedPart,
    ReturnVisit,
    Ticket,
    TicketClock,
    TicketEvent,
    utcnow,
)
from models.choices import Clock, FeeClaimStatus, TicketKind, TicketStatus

from . import stats
from .money import money
from .months import parse_day
from .outlet_evaluation import repeat_repair_sql
from .timezones import local_day_bounds


def percent(part: int, whole: int) -> Decimal | None:
    """part ÷ whole as a percentage to one decimal; None when there is nothing to divide."""
    return (Decimal(part * 100) / whole).quantize(Decimal("0.1")) if whole else None


@dataclass(frozen=True)
class Compliance:
    clock: str
    due: int  # clocks of the current round that fell due in the period, up to now
    met: int  # of those, met by their due time
    rate: Decimal | None  # percent, None when nothing fell due


def clock_compliance(session: Session, start: datetime, end: datetime,
                     outlet_id: int | None = None) -> list[Compliance]:
    """Per clock (R-SLA-1): the clocks of the current round that fell due in [start, end) — end
    no later than now — and those met by their due time. A paused clock that fell due counts as
    due; met late or still open is a miss. Read from the summary rows (backoffice.stats)."""
    counts = stats.clock_counts(session, start, end, outlet_id)
    return _per_clock({clock: value for (_outlet, _bucket, clock), value in counts.items()})


def _due_and_met():
    in_time = and_(TicketClock.met_at.is_not(None), TicketClock.met_at <= TicketClock.due_at)
    return func.count(), func.count().filter(in_time)


def _clocks_due(start: datetime, end: datetime) -> tuple:
    """The current round's clocks due in [start, min(end, now))."""
    return (TicketClock.superseded_at.is_(None), TicketClock.due_at >= start,
            TicketClock.due_at < min(end, utcnow()))


def _per_clock(found: dict) -> list[Compliance]:
    result = []
    for clock in Clock:
        due, met = found.get(clock.value, (0, 0))
        result.append(Compliance(clock.value, due, met, percent(met, due)))
    return result


# --- the period ----------------------------------------------------------------------------------

MAX_SPAN_DAYS = 3 * 366  # about three years: the work a page does stays bounded
LISTED_MAX = 500  # complaints listed one by one (analysis, lacking a visit); beyond, the page says so
OUTLETS = Outlet.__table__  # a dimension: the counted row's own scope decides (module docstring)
LATER = Ticket.__table__.alias("later_ticket")  # a repeat is seen whichever outlet registered it
COMPLAINTS = Complaint.__table__  # a ticket's complaint case: the ticket's scope decides
# A ticket's timeline lines and return visits, in conditions on the ticket counted: the ticket's
# scope decides. As mapped classes each would bring its own rule ("its ticket among the dealer's"),
# which PostgreSQL answers by hashing every ticket of the dealer's outlets first (issue 16).
EVENTS = TicketEvent.__table__
VISITS = ReturnVisit.__table__
BAD_DAY = _l("Give the dates as year-month-day, e.g. 2026-03-31. Showing this month instead.")
BACKWARDS = _l("The period ends before it starts. Showing this month instead.")
TOO_LONG = _l("A period of at most %(days)d days. Showing this month instead.", days=MAX_SPAN_DAYS)


@dataclass(frozen=True)
class Period:
    first: date  # local calendar days, both included
    last: date

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return local_day_bounds(self.first, self.last)


def parse_period(first_text: str | None, last_text: str | None, today: date) -> tuple[Period, object | None]:
    """The period typed (YYYY-MM-DD each; a missing start is the end's month start, a missing end
    today) and None; or, for anything else, this month up to today and the reason in words."""
    default = Period(today.replace(day=1), today)
    first_text, last_text = (first_text or "").strip(), (last_text or "").strip()
    if not first_text and not last_text:
        return default, None
    last = parse_day(last_text) if last_text else today
    first = parse_day(first_text) if first_text else (last.replace(day=1) if last else None)
    if first is None or last is None:
        return default, BAD_DAY
    if last < first:
        return default, BACKWARDS
    if (last - first).days >= MAX_SPAN_DAYS:
        return default, TOO_LONG
    return Period(first, last), None


# --- the figures ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Share:
    part: int
    whole: int

    @property
    def rate(self) -> Decimal | None:
        return percent(self.part, self.whole)


@dataclass(frozen=True)
class OutletRow:
    """One outlet's figures in a table by outlet; `values` in the table's column order."""

    outlet_id: int
    code: str
    name: str
    values: tuple


@dataclass(frozen=True)
class Listed:
    """A complaint ticket listed by number (the analysis, or lacking its return visit)."""

    ticket_id: int
    number: str
    outlet: str
    registered_at: datetime | None = None
    status: str = ""
    complaint_class: str | None = None
    investigation: str = ""
    promised_result: str = ""
    resolution: str = ""
    substantiated: bool = False


@dataclass(frozen=True)
class Satisfaction:
    counts: dict  # score 1-5 -> return visits made with it
    unscored: int

    @property
    def scored(self) -> int:
        return sum(self.counts.values())

    @property
    def total(self) -> int:
        return self.scored + self.unscored

    @property
    def mean(self) -> Decimal | None:
        if not self.scored:
            return None
        points = sum(score * n for score, n in self.counts.items())
        return (Decimal(points) / self.scored).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass
class Report:
    period: Period
    outlet_id: int | None
    compliance: list[Compliance] = field(default_factory=list)
    compliance_by_outlet: list[OutletRow] = field(default_factory=list)  # values: Compliance per clock
    first_time_fix: Share = field(default_factory=lambda: Share(0, 0))
    repeats: Share = field(default_factory=lambda: Share(0, 0))
    coverage: Share = field(default_factory=lambda: Share(0, 0))
    complaint_coverage: Share = field(default_factory=lambda: Share(0, 0))
    lacking_visit: list[Listed] = field(default_factory=list)
    satisfaction: Satisfaction = field(default_factory=lambda: Satisfaction({}, 0))
    complaints_by_class: list[tuple] = field(default_factory=list)  # (class or None, count, confirmed)
    complaints_by_outlet: list[OutletRow] = field(default_factory=list)  # values: count, confirmed
    complaints: list[Listed] = field(default_factory=list)
    parts_by_outlet: list[OutletRow] = field(default_factory=list)  # values: qty, value
    parts_by_part: list[tuple] = field(default_factory=list)  # (part id, code, name, qty, value)
    claims_by_outlet: list[OutletRow] = field(default_factory=list)  # values: CLAIM_COLUMNS

    @property
    def complaints_total(self) -> int:
        return sum(row[1] for row in self.complaints_by_class)


def report(session: Session, period: Period, outlet_id: int | None = None) -> Report:
    """Every figure of the page for the period and (optionally) one outlet, under the row scope.
    `outlet_id` must be one the viewer may see: the caller checks it against the outlet list."""
    start, end = period.bounds
    found = Report(period, outlet_id)
    found.compliance = clock_compliance(session, start, end, outlet_id)
    found.compliance_by_outlet = compliance_by_outlet(session, start, end, outlet_id)
    found.first_time_fix = first_time_fix(session, start, end, outlet_id)
    found.repeats = repeat_repairs(session, start, end, outlet_id)
    found.coverage, found.complaint_coverage = visit_coverage(session, start, end, outlet_id)
    if found.complaint_coverage.part < found.complaint_coverage.whole:
        found.lacking_visit = complaints_lacking_visit(session, start, end, outlet_id)
    found.satisfaction = satisfaction(session, start, end, outlet_id)
    found.complaints_by_class, found.complaints_by_outlet = complaint_counts(session, start, end, outlet_id)
    found.complaints = complaint_analysis(session, start, end, outlet_id)
    found.parts_by_outlet, found.parts_by_part = parts_consumption(session, period, outlet_id)
    found.claims_by_outlet = fee_claims_by_outlet(session, start, end, outlet_id)
    return found


def column_totals(rows: list[OutletRow]) -> tuple:
    """The sums of a table by outlet's columns (counts and amounts), for its total line."""
    return tuple(sum(column) for column in zip(*(row.values for row in rows), strict=True)) if rows else ()


def _of_outlet(stmt, column, outlet_id: int | None):
    return stmt if outlet_id is None else stmt.where(column == outlet_id)


def _by_outlet(stmt, outlet_column):
    """`stmt` grouped by outlet, with the outlet's code and name (a dimension), by code."""
    return (stmt.add_columns(OUTLETS.c.code, OUTLETS.c.name).join(OUTLETS, OUTLETS.c.id == outlet_column)
            .group_by(outlet_column, OUTLETS.c.code, OUTLETS.c.name).order_by(OUTLETS.c.code))


def compliance_by_outlet(session: Session, start: datetime, end: datetime,
                         outlet_id: int | None = None) -> list[OutletRow]:
    """`clock_compliance` per outlet (backoffice.stats): each row's values are its Compliance per
    clock; the outlets by code, with their names (a dimension)."""
    found: dict[int, dict] = {}
    for (outlet, _bucket, clock), value in stats.clock_counts(session, start, end, outlet_id, by_outlet=True).items():
        found.setdefault(outlet, {})[clock] = value
    if not found:
        return []
    names = session.execute(select(OUTLETS.c.id, OUTLETS.c.code, OUTLETS.c.name)
                            .where(OUTLETS.c.id.in_(sorted(found))).order_by(OUTLETS.c.code)).all()
    return [OutletRow(outlet, code, name, tuple(_per_clock(found[outlet]))) for outlet, code, name in names]


def _resolved_line(*when):
    """The ticket has a timeline line moving it to "resolved" (when …): the (ticket, instant)
    index of those lines answers it (ix_ticket_event_resolved_*)."""
    return (select(EVENTS.c.id).where(EVENTS.c.ticket_id == Ticket.id, EVENTS.c.action == "status",
                                      EVENTS.c.to_status == TicketStatus.RESOLVED.value, *when).exists())


def first_time_fix(session: Session, start: datetime, end: datetime, outlet_id: int | None = None) -> Share:
    """Repair tickets first resolved in [start, end): (fixed the first time, all); see the module."""
    reopened = select(EVENTS.c.id).where(EVENTS.c.ticket_id == Ticket.id, EVENTS.c.action == "reopened").exists()
    repeated = exists().where(LATER.c.repeat_of_id == Ticket.id)
    stmt = (select(func.count(), func.count().filter(and_(~reopened, ~repeated))).select_from(Ticket)
            .where(Ticket.kind == TicketKind.REPAIR.value, Ticket.created_at < end,
                   _resolved_line(EVENTS.c.at >= start, EVENTS.c.at < end),
                   ~_resolved_line(EVENTS.c.at < start)))
    resolved, fixed = session.execute(_of_outlet(stmt, Ticket.outlet_id, outlet_id)).one()
    return Share(fixed, resolved)


def _registered(kind: TicketKind, start: datetime, end: datetime) -> tuple:
    return Ticket.kind == kind.value, Ticket.created_at >= start, Ticket.created_at < end


def repeat_repairs(session: Session, start: datetime, end: datetime, outlet_id: int | None = None) -> Share:
    """Repair tickets registered in [start, end): (repeats, all) (R-TKT-9)."""
    stmt = (select(func.count().filter(repeat_repair_sql()), func.count()).select_from(Ticket)
            .where(*_registered(TicketKind.REPAIR, start, end)))
    repeats, repairs = session.execute(_of_outlet(stmt, Ticket.outlet_id, outlet_id)).one()
    return Share(repeats, repairs)


def _visited():
    return select(VISITS.c.id).where(VISITS.c.ticket_id == Ticket.id, VISITS.c.done_at.is_not(None)).exists()


def _closed_in(start: datetime, end: datetime) -> tuple:
    return Ticket.status == TicketStatus.CLOSED.value, Ticket.closed_at >= start, Ticket.closed_at < end


def visit_coverage(session: Session, start: datetime, end: datetime,
                   outlet_id: int | None = None) -> tuple[Share, Share]:
    """Tickets closed in [start, end) with a return visit made: all tickets, and complaints."""
    complaint = Ticket.kind == TicketKind.COMPLAINT.value
    stmt = (select(func.count().filter(_visited()), func.count(),
                   func.count().filter(and_(complaint, _visited())), func.count().filter(complaint))
            .select_from(Ticket).where(*_closed_in(start, end)))
    visited, closed, complaints_visited, complaints = session.execute(
        _of_outlet(stmt, Ticket.outlet_id, outlet_id)).one()
    return Share(visited, closed), Share(complaints_visited, complaints)


def complaints_lacking_visit(session: Session, start: datetime, end: datetime,
                             outlet_id: int | None = None) -> list[Listed]:
    """The complaint tickets closed in [start, end) without a return visit made (R-RPT-2: 100 %)."""
    stmt = (select(Ticket.id, Ticket.number, OUTLETS.c.name).join(OUTLETS, OUTLETS.c.id == Ticket.outlet_id)
            .where(*_closed_in(start, end), Ticket.kind == TicketKind.COMPLAINT.value, ~_visited())
            .order_by(Ticket.closed_at, Ticket.id).limit(LISTED_MAX))
    return [Listed(*row) for row in session.execute(_of_outlet(stmt, Ticket.outlet_id, outlet_id))]


def satisfaction(session: Session, start: datetime, end: datetime, outlet_id: int | None = None) -> Satisfaction:
    """Return visits made in [start, end) by score (None: made without a score). The visits carry
    their own scope (their tickets'); the ticket is joined only to pick one outlet."""
    stmt = (select(ReturnVisit.satisfaction, func.count())
            .where(ReturnVisit.done_at >= start, ReturnVisit.done_at < end).group_by(ReturnVisit.satisfaction))
    if outlet_id is not None:
        stmt = stmt.join(Ticket, Ticket.id == ReturnVisit.ticket_id).where(Ticket.outlet_id == outlet_id)
    rows = dict(session.execute(stmt).all())
    return Satisfaction({score: rows.get(score, 0) for score in range(1, 6)}, rows.get(None, 0))


def complaint_counts(session: Session, start: datetime, end: datetime,
                     outlet_id: int | None = None) -> tuple[list[tuple], list[OutletRow]]:
    """Complaint tickets registered in [start, end): by class (None: not yet investigated) and by
    outlet, each (count, confirmed against a staff member)."""
    confirmed = func.count().filter(COMPLAINTS.c.substantiated.is_(True))
    base = (select(func.count(), confirmed).select_from(Ticket)
            .outerjoin(COMPLAINTS, COMPLAINTS.c.ticket_id == Ticket.id)
            .where(*_registered(TicketKind.COMPLAINT, start, end)))
    base = _of_outlet(base, Ticket.outlet_id, outlet_id)
    by_class = session.execute(base.add_columns(COMPLAINTS.c.complaint_class)
                               .group_by(COMPLAINTS.c.complaint_class)).all()
    classes = sorted(((kind, count, yes) for count, yes, kind in by_class),
                     key=lambda row: (row[0] is None, -row[1], row[0] or ""))  # the most first, unclassified last
    by_outlet = session.execute(_by_outlet(base.add_columns(Ticket.outlet_id), Ticket.outlet_id)).all()
    return classes, [OutletRow(outlet, code, name, (count, yes)) for count, yes, outlet, code, name in by_outlet]


def complaint_analysis(session: Session, start: datetime, end: datetime,
                       outlet_id: int | None = None) -> list[Listed]:
    """R-CMP-4: the complaint tickets registered in [start, end) with what the investigation found,
    the result promised, the resolution and whether it was confirmed, oldest first."""
    c = COMPLAINTS.c
    stmt = (select(Ticket.id, Ticket.number, OUTLETS.c.name, Ticket.created_at, Ticket.status, c.complaint_class,
                   c.investigation, c.promised_result, c.resolution, c.substantiated)
            .select_from(Ticket).join(OUTLETS, OUTLETS.c.id == Ticket.outlet_id)
            .outerjoin(COMPLAINTS, c.ticket_id == Ticket.id)
            .where(*_registered(TicketKind.COMPLAINT, start, end)).order_by(Ticket.created_at, Ticket.id)
            .limit(LISTED_MAX))
    return [Listed(*row[:5], row[5], row[6] or "", row[7] or "", row[8] or "", bool(row[9]))
            for row in session.execute(_of_outlet(stmt, Ticket.outlet_id, outlet_id))]


def parts_consumption(session: Session, period: Period,
                      outlet_id: int | None = None) -> tuple[list[OutletRow], list[tuple]]:
    """Parts fitted on the period's days: (qty, value) per outlet, and (part id, code, name, qty,
    value) per part, the highest value first. Value at the price list's current unit price."""
    qty = func.sum(ReplacedPart.qty)
    value = func.sum(ReplacedPart.qty * Part.unit_price)
    base = (select(qty, value).select_from(ReplacedPart).join(Ticket, Ticket.id == ReplacedPart.ticket_id)
            .join(Part, Part.id == ReplacedPart.part_id)
            .where(ReplacedPart.replaced_on >= period.first, ReplacedPart.replaced_on <= period.last))
    base = _of_outlet(base, Ticket.outlet_id, outlet_id)
    by_outlet = [OutletRow(outlet, code, name, (int(n), money(v or 0)))
                 for n, v, outlet, code, name in session.execute(_by_outlet(base.add_columns(Ticket.outlet_id),
                                                                            Ticket.outlet_id))]
    by_part = session.execute(base.add_columns(Part.id, Part.code, Part.name)
                              .group_by(Part.id, Part.code, Part.name).order_by(value.desc(), Part.code)).all()
    return by_outlet, [(part, code, name, int(n), money(v or 0)) for n, v, part, code, name in by_part]


# The fee-claim table's columns after the outlet: claims, one count per state, claimed total,
# approved total, adjusted, amount cut by adjustments, charged back.
CLAIM_STATES = tuple(s.value for s in FeeClaimStatus)


def adjusted_sql():
    """R-FEE-1: a claim the audit adjusted (its cut kept when it was settled later); a rejection
    is a state of its own."""
    cut = and_(FeeClaim.approved_total.is_not(None), FeeClaim.approved_total < FeeClaim.claimed_total)
    return (FeeClaim.status == FeeClaimStatus.ADJUSTED.value) | and_(
        FeeClaim.status == FeeClaimStatus.SETTLED.value, cut)


def fee_claims_by_outlet(session: Session, start: datetime, end: datetime,
                         outlet_id: int | None = None) -> list[OutletRow]:
    """Claims created in [start, end) per outlet; values: count, a count per state (CLAIM_STATES),
    claimed total, approved total, adjusted count, amount cut, charged back."""
    cut = func.sum(case((adjusted_sql(), FeeClaim.claimed_total - func.coalesce(FeeClaim.approved_total, 0)),
                        else_=0))
    stmt = (select(func.count(), *(func.count().filter(FeeClaim.status == s) for s in CLAIM_STATES),
                   func.sum(FeeClaim.claimed_total), func.sum(FeeClaim.approved_total),
                   func.count().filter(adjusted_sql()), cut, func.sum(FeeClaim.charge_back), FeeClaim.outlet_id)
            .select_from(FeeClaim).where(FeeClaim.created_at >= start, FeeClaim.created_at < end))
    rows = session.execute(_by_outlet(_of_outlet(stmt, FeeClaim.outlet_id, outlet_id), FeeClaim.outlet_id))
    found = []
    for row in rows:
        counts, amounts = row[:1 + len(CLAIM_STATES)], row[1 + len(CLAIM_STATES):]
        claimed, approved, adjusted, cut_total, charged, outlet, code, name = amounts
        found.append(OutletRow(outlet, code, name, (*counts, money(claimed or 0), money(approved or 0), adjusted,
                                                    money(cut_total or 0), money(charged or 0))))
    return found
