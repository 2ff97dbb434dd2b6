"""Figures for the home page: aggregate queries under the caller's scope.

The SLA figures use the predicates of `sla` (R-SLA-1), as the ticket list's filters do.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from models import (
    ApprovalRequest,
    FeeClaim,
    OldPart,
    PartsReconciliation,
    ReturnVisit,
    StaffNotification,
    Ticket,
    TicketClock,
    utcnow,
)
from models.choices import (
    ApprovalStatus,
    Clock,
    FeeClaimStatus,
    OldPartState,
    ReconciliationStatus,
    TicketKind,
    TicketStatus,
)

from . import ledger, sla, stats
from .capped import capped_sql, read
from .money import money
from .months import recent
from .outlet_evaluation import Evaluation, ranking
from .service_kpis import Compliance, clock_compliance, percent
from .timezones import local_day_bounds, local_today, to_local, zone_of

OPEN = [s.value for s in TicketStatus if s not in (TicketStatus.CLOSED,)]
# The home page's "registered recently" figure: a fixed choice of the page, not a rule.
RECENT_DAYS = 7
# Return visits counted as due: those due by this time tomorrow (a working day's look ahead).
VISITS_AHEAD = timedelta(days=1)
# Counts of rows that grow with the backlog or the history stop here and read "1,000+" (issue 16):
# each reads at most this many rows whatever the table's size; the list behind shows them all.
FIGURE_CAP = 1000
# The menu's queue badges, drawn on every page: "99+" past it.
BADGE_CAP = 99


# A clock is visible with its ticket (backoffice.access, "ticket" scope). A count of tickets that
# have a clock of some kind reads the clocks as a *table*: the counted ticket's own scope decides.
# As a mapped class the clock would carry its own rule too — "its ticket among the dealer's" —
# and PostgreSQL, given both, hashes every ticket of the dealer's outlets first (180,000 at a
# million: half a second) before it looks at one open ticket.
CLOCKS = TicketClock.__table__
VISITS = ReturnVisit.__table__  # likewise: a return visit is visible with its ticket


def _ticket_visible(ticket_id):
    """The row's ticket is one the user may see: its id read back through the (scoped) ticket, one
    index probe per row. A join or an IN would let PostgreSQL hash every ticket of a dealer's
    outlets first (180,000) to find the few hundred rows a capped count reads."""
    return select(Ticket.id).where(Ticket.id == ticket_id).scalar_subquery().is_not(None)


def _capped_columns(wheres: dict, cap: int, entity=Ticket) -> list:
    return [capped_sql(select(entity.id).where(where), cap) for where in wheres.values()]


def capped_counts(session: Session, wheres: dict, cap: int | None = None, entity=Ticket) -> dict:
    """{key: rows of `entity` meeting the condition, capped at `cap` (FIGURE_CAP)} in one query
    (backoffice.capped)."""
    cap = FIGURE_CAP if cap is None else cap
    if not wheres:
        return {}
    row = session.execute(select(*_capped_columns(wheres, cap, entity))).one()
    return {key: read(found, cap) for key, found in zip(wheres, row, strict=True)}


def status_counts(session: Session) -> dict[str, int]:
    """Tickets per status, each capped at FIGURE_CAP, in one query."""
    counts = capped_counts(session, {status.value: Ticket.status == status.value for status in TicketStatus})
    return {status.value: counts[status.value] for status in TicketStatus}


def open_tickets(session: Session) -> int:
    """Tickets not closed (the list's "Open tickets"), capped at FIGURE_CAP."""
    return capped_counts(session, {"open": Ticket.status.in_(OPEN)})["open"]


def registered_between(session: Session, days: int) -> int:
    today = local_today()
    start, end = local_day_bounds(today - timedelta(days=days - 1), today)
    return session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.created_at >= start, Ticket.created_at < end)
    ) or 0


def mine_sql(user_id: int):
    """The user's open tickets: the ticket list's "My tickets" queue."""
    return and_(Ticket.assigned_engineer_id == user_id, Ticket.status.in_(OPEN))


def registered_by_me_sql(user_id: int):
    """The desk's own open tickets, those the user registered: a clerk's or a dealer's "mine"
    (an engineer's is `mine_sql`, the tickets assigned to him)."""
    return and_(Ticket.registered_by_id == user_id, Ticket.status.in_(OPEN))


def waiting_for_customer_sql():
    """Open tickets whose clocks are paused while the customer is waited for (R-SLA-3): the
    "waiting for the customer" step pauses them, "customer is back" resumes them."""
    paused = sla.ticket_has_clock(TicketClock.paused_since.is_not(None))
    return and_(Ticket.status.not_in(sla.FINISHED), paused)


def my_open_tickets(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Ticket).where(mine_sql(user_id))) or 0


def sla_counts(session: Session) -> dict[str, int]:
    """Tickets with an open clock overdue now (the list's "Overdue now"), and due soon
    (`sla.due_soon_within`), R-SLA-1; return visits still to make that are due by tomorrow. One
    query. Overdue tickets and due visits grow with the backlog: capped at FIGURE_CAP. Due soon is
    read from the clocks falling due within the window (an index range), exactly. Clocks and visits
    are read as tables, their tickets' scope deciding (see CLOCKS, `_ticket_visible`)."""
    now = utcnow()
    overdue = capped_sql(select(Ticket.id).where(sla.ticket_overdue_sql(now)), FIGURE_CAP)
    visits = capped_sql(select(VISITS.c.id).where(visits_due_sql(now), _ticket_visible(VISITS.c.ticket_id)),
                        FIGURE_CAP)
    soon = (select(func.count(func.distinct(CLOCKS.c.ticket_id))).select_from(CLOCKS)
            .join(Ticket, Ticket.id == CLOCKS.c.ticket_id)
            .where(sla.due_soon_sql(now, sla.due_soon_within(session))).scalar_subquery())
    found_overdue, found_soon, found_visits = session.execute(select(overdue, soon, visits)).one()
    return {"overdue": read(found_overdue, FIGURE_CAP), "due_soon": found_soon or 0,
            "visits_due": read(found_visits, FIGURE_CAP)}


def newest_tickets(session: Session, limit: int = 10) -> list[Ticket]:
    stmt = (select(Ticket).options(joinedload(Ticket.customer), joinedload(Ticket.outlet))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit))
    return list(session.scalars(stmt))


# --- figures per role (issue 15): each one the count of a list's filter, under the row scope ---

# The desk's queue: open tickets nobody is assigned to yet (the ticket list's "Unassigned" queue).
UNASSIGNED = [TicketStatus.REGISTERED.value, TicketStatus.DIAGNOSED.value,
              TicketStatus.SOLUTION_PROPOSED.value, TicketStatus.AGREED.value]


def _count(session: Session, stmt) -> int:
    return session.scalar(stmt) or 0


# The queues' rules, one place for the home page's counts and the lists' filters (views).
def unassigned_sql():
    return and_(Ticket.assigned_engineer_id.is_(None), Ticket.status.in_(UNASSIGNED))


def complaints_awaiting_answer_sql():
    """Complaints whose answer clock is still ticking (R-CMP-1, R-SLA-1)."""
    answer_open = sla.ticket_has_clock(sla.ticking_sql(), TicketClock.clock == Clock.ANSWER.value)
    return and_(Ticket.kind == TicketKind.COMPLAINT.value, Ticket.status.not_in(sla.FINISHED), answer_open)


def visits_due_sql(now):
    """Return visits still to make that are due by this time tomorrow."""
    return and_(ReturnVisit.done_at.is_(None), ReturnVisit.due_at <= now + VISITS_AHEAD)


def unassigned_tickets(session: Session) -> int:
    return capped_counts(session, {"unassigned": unassigned_sql()})["unassigned"]


def complaints_awaiting_answer(session: Session) -> int:
    return capped_counts(session, {"complaints": complaints_awaiting_answer_sql()})["complaints"]


def my_tickets_in(session: Session, user_id: int, status: str) -> int:
    return _count(session, select(func.count()).select_from(Ticket).where(
        Ticket.assigned_engineer_id == user_id, Ticket.status == status))


def appointments_today(session: Session, user_id: int, now: datetime | None = None) -> list[Ticket]:
    """The engineer's own open tickets (assigned to him, under his row scope) with an appointment
    today, in time order. "Today" is the serving outlet's calendar day (its time zone, as the
    ticket's page shows the appointment): an outlet west of the service's zone keeps its evening
    visits on today's list. Whatever the zone, today's appointments lie within a day of now; the
    few of those two days are read and kept by their outlet's day."""
    now = now or utcnow()
    stmt = (select(Ticket).options(joinedload(Ticket.customer), joinedload(Ticket.outlet))
            .where(Ticket.assigned_engineer_id == user_id, Ticket.status.in_(OPEN),
                   Ticket.appointment_at > now - timedelta(days=1), Ticket.appointment_at < now + timedelta(days=1))
            .order_by(Ticket.appointment_at, Ticket.id))

    def today_there(ticket):
        zone = zone_of(ticket.outlet)
        return to_local(ticket.appointment_at, zone).date() == now.astimezone(zone).date()

    return [ticket for ticket in session.scalars(stmt).unique() if today_there(ticket)]


def _pending_approvals():
    pending = ApprovalRequest.status == ApprovalStatus.PENDING.value
    return select(func.count()).select_from(ApprovalRequest).where(pending)


def pending_approvals(session: Session) -> int:
    return _count(session, _pending_approvals())


def breached_tickets(session: Session) -> int:
    """Tickets with a clock overdue now or met late (the list's "Breached (ever)", R-SLA-1), capped
    at FIGURE_CAP: a count over the whole history."""
    breached = or_(sla.ticket_overdue_sql(utcnow()), sla.ticket_has_clock(sla.met_late_sql()))
    return capped_counts(session, {"breached": breached})["breached"]


def sla_compliance(session: Session, on: date | None = None) -> list[Compliance]:
    """Per clock, this month (local) so far: clocks that fell due, and those met in time (R-SLA-1)."""
    today = on or local_today()
    return clock_compliance(session, *local_day_bounds(today.replace(day=1), today))


def satisfaction(session: Session, on: date | None = None) -> tuple[int, Decimal | None]:
    """Return visits made this month (local) with a score, and their mean score (1–5)."""
    today = on or local_today()
    start, end = local_day_bounds(today.replace(day=1), today)
    made, mean = session.execute(
        select(func.count(ReturnVisit.satisfaction), func.avg(ReturnVisit.satisfaction))
        .where(ReturnVisit.done_at >= start, ReturnVisit.done_at < end)).one()
    return made or 0, (Decimal(str(mean)).quantize(Decimal("0.01")) if mean is not None else None)


def complaints_registered(session: Session, on: date | None = None) -> int:
    today = on or local_today()
    start, end = local_day_bounds(today.replace(day=1), today)
    return _count(session, select(func.count()).select_from(Ticket).where(
        Ticket.kind == TicketKind.COMPLAINT.value, Ticket.created_at >= start, Ticket.created_at < end))


def fee_claims_by_status(session: Session, statuses=None) -> dict[str, int]:
    """Fee claims per status (all, or the `statuses` asked), each capped at FIGURE_CAP, in one query."""
    statuses = [s.value for s in FeeClaimStatus] if statuses is None else list(statuses)
    return capped_counts(session, {status: FeeClaim.status == status for status in statuses}, entity=FeeClaim)


def statements_to_confirm(session: Session) -> int:
    """Monthly statements issued and not yet confirmed or disputed by the outlet (R-PART-7)."""
    return _count(session, select(func.count()).select_from(PartsReconciliation)
                  .where(PartsReconciliation.status == ReconciliationStatus.OPEN.value))


def old_parts_owed(session: Session) -> tuple[int, Decimal]:
    """Old parts the outlet still owes the center, and their value (R-PART-4)."""
    n, value = session.execute(select(func.count(), func.coalesce(func.sum(OldPart.unit_price * OldPart.qty), 0))
                               .where(OldPart.state == OldPartState.OWED.value)).one()
    return n or 0, money(value)


@dataclass(frozen=True)
class PartsPosition:
    balance: Decimal
    held: Decimal


def parts_position(session: Session, outlet_id: int) -> PartsPosition:
    """The outlet's parts account: what it may still draw, and the value it holds (R-PART-2)."""
    return PartsPosition(ledger.balance_of(session, outlet_id),
                         ledger.held_on_account(session, [outlet_id])[outlet_id])


# --- the menu's queue counts -------------------------------------------------------------------

QUEUES = {"mine": mine_sql, "unassigned": lambda _user_id: unassigned_sql(),
          "overdue": lambda _user_id: sla.ticket_overdue_sql(utcnow()),
          "complaints_awaiting_answer": lambda _user_id: complaints_awaiting_answer_sql(),
          "registered_by_me": registered_by_me_sql,
          "waiting_for_customer": lambda _user_id: waiting_for_customer_sql()}


def _queue_wheres(user_id: int, keys) -> dict:
    return {key: QUEUES[key](user_id) for key in keys if key in QUEUES}


UNREAD = "unread_notifications"  # the menu's badge of the user's unread in-app notifications (issue 17)


def unread_sql(user_id: int):
    """The user's unread notifications, read from the index (user_id, read_at) alone."""
    return select(StaffNotification.id).where(StaffNotification.user_id == user_id,
                                              StaffNotification.read_at.is_(None))


def menu_counts(session: Session, user_id: int, keys, with_approvals: bool,
                with_unread: bool = False) -> tuple[dict[str, int], int | None]:
    """The menu's badges in one statement: the ticket queues `keys` as `queue_counts` counts them,
    `with_unread` the user's unread notifications under `UNREAD` (both capped at BADGE_CAP), and,
    `with_approvals`, the approvals waiting for a decision (`pending_approvals`), else None."""
    rows = {key: select(Ticket.id).where(where) for key, where in _queue_wheres(user_id, keys).items()}
    if with_unread:
        rows[UNREAD] = unread_sql(user_id)
    columns = [capped_sql(found, BADGE_CAP) for found in rows.values()]
    if with_approvals:
        columns.append(_pending_approvals().scalar_subquery())
    if not columns:
        return {}, None
    row = session.execute(select(*columns)).one()
    queues = {key: read(found, BADGE_CAP) for key, found in zip(rows, row, strict=False)}
    return queues, (row[-1] or 0) if with_approvals else None


def queue_counts(session: Session, user_id: int, keys, cap: int | None = None) -> dict[str, int]:
    """{queue: tickets in it} for the user, each by the rule of the list's queue (`QUEUES`), in
    one query, each capped at `cap` ("99+"): a badge drawn on every page reads a handful of rows
    whatever the backlog (issue 16)."""
    return capped_counts(session, _queue_wheres(user_id, keys), BADGE_CAP if cap is None else cap)


# --- the manager's SLA trend and the outlets' ranking --------------------------------------------

# The manager's trend: this month so far and the five before (a choice of the page, not a rule).
TREND_MONTHS = 6
RANKING_ENDS = 3  # outlets shown from each end of the year's ranking


@dataclass(frozen=True)
class MonthCompliance:
    month: date  # the local calendar month's first day
    clocks: list[Compliance]  # one per Clock, in Clock's order

    def of(self, clock: str) -> Compliance:
        return next(c for c in self.clocks if c.clock == clock)


def compliance_trend(session: Session, today: date | None = None, months: int = TREND_MONTHS,
                     outlet_id: int | None = None) -> list[MonthCompliance]:
    """`clock_compliance` for each of the last `months` local calendar months, oldest first, this
    month so far last (R-SLA-1): the summary rows of the months' days (backoffice.stats), grouped
    by day and bucketed by month, and today's clocks."""
    today = today or local_today()
    firsts = sorted(recent(today, months))
    start = local_day_bounds(firsts[0], firsts[0])[0]
    end = local_day_bounds(today, today)[1]  # clock_counts stops at now, as clock_compliance
    found = {(index, clock): value for (_outlet, index, clock), value
             in stats.clock_counts(session, start, end, outlet_id, buckets=firsts).items()}

    def figures(index: int, clock: str) -> Compliance:
        n, met = found.get((index, clock), (0, 0))
        return Compliance(clock, n, met, percent(met, n))

    return [MonthCompliance(first, [figures(index, c.value) for c in Clock]) for index, first in enumerate(firsts)]


def ranking_ends(session: Session, year: int, n: int = RANKING_ENDS) -> tuple[list[Evaluation], list[Evaluation]]:
    """The year's best `n` and worst `n` rated dealer outlets (R-APR-5), ranking order; an outlet
    shown among the best is not repeated among the worst. Unrated outlets are neither."""
    rated = [row for row in ranking(session, year) if row.rank is not None]
    return rated[:n], rated[max(n, len(rated) - n):]
