"""SLA clocks (DOMAIN §4, R-SLA-1…4): policies -> due times, met/breached, pauses.

Defaults are the rule book's table; SlaPolicy rows override them. The most specific rule
(kind, warranty status, area) wins. Clocks run in calendar hours (R-SLA-2: the hotline is
staffed 24/7) and every ticket keeps the due times it got at registration.

What the lists, the dashboard and the ticket page say of a clock — open, overdue now, due
soon — is defined once below, each predicate in SQL (`open_sql`, `overdue_sql`,
`due_soon_sql`) next to its Python twin (`is_open`, `is_overdue`, `is_due_soon`); `state`
is built on the Python ones. "Soon" is the policy `sla.due_soon_hours` (`due_soon_within`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from models import SlaPolicy, Ticket, TicketClock, utcnow
from models.choices import Area, Clock, TicketKind, TicketStatus

from . import policy

# Which clocks a kind of ticket runs (the shape of the process, not a number).
KIND_CLOCKS = {
    TicketKind.REPAIR: (Clock.RESPONSE, Clock.DISPATCH, Clock.ONSITE, Clock.RESOLVE),
    TicketKind.INSTALLATION: (Clock.RESPONSE, Clock.DISPATCH, Clock.ONSITE, Clock.RESOLVE),
    TicketKind.RETURN_EXCHANGE: (Clock.RESPONSE, Clock.DISPATCH, Clock.ONSITE, Clock.RESOLVE),
    TicketKind.CONSULTATION: (Clock.RESPONSE, Clock.RESOLVE),
    TicketKind.COMPLAINT: (Clock.RESPONSE, Clock.ANSWER, Clock.RESOLVE),
}

# The step of the flow (R-TKT-4) that meets each clock. Any step past registration is also a
# response (R-SLA-4: a consultation answered at intake met its response clock).
MET_BY_STATUS = {
    TicketStatus.DIAGNOSED: (Clock.RESPONSE, Clock.ANSWER),
    TicketStatus.SOLUTION_PROPOSED: (Clock.RESPONSE,),
    TicketStatus.AGREED: (Clock.RESPONSE,),
    TicketStatus.DISPATCHED: (Clock.DISPATCH,),
    TicketStatus.IN_SERVICE: (Clock.ONSITE,),
    TicketStatus.RESOLVED: (Clock.RESPONSE, Clock.RESOLVE),
}
# What a reopened ticket's rework runs again (R-SLA-4): not what the reopening step itself meets.
ANSWERED_AT_REOPEN = MET_BY_STATUS[TicketStatus.DIAGNOSED]

# Once a ticket is resolved its remaining clocks no longer run (a remote answer needs no visit).
FINISHED = (TicketStatus.RESOLVED.value, TicketStatus.RETURN_VISIT.value, TicketStatus.CLOSED.value)

# Clocks that stop while the ticket waits for the customer (R-SLA-3): every clock that waits
# on the customer — not the first response or the complaint answer, which are ours alone.
PAUSABLE = (Clock.DISPATCH, Clock.ONSITE, Clock.RESOLVE)


@dataclass(frozen=True)
class Rule:
    clock: str
    hours: Decimal
    kind: str | None = None
    in_warranty: bool | None = None
    area: str | None = None

    def matches(self, kind: str, in_warranty: bool | None, area: str) -> bool:
        return ((self.kind is None or self.kind == kind)
                and (self.in_warranty is None or self.in_warranty == in_warranty)
                and (self.area is None or self.area == area))

    @property
    def specificity(self) -> int:
        return sum(x is not None for x in (self.kind, self.in_warranty, self.area))


DEFAULT_RULES = (
    Rule(Clock.RESPONSE, Decimal(2)),                          # 000: first response 2 h
    Rule(Clock.DISPATCH, Decimal(8)),                          # 000: technician dispatched 8 h
    Rule(Clock.ONSITE, Decimal(24), area=Area.URBAN),          # 000, 004: on site urban 24 h
    Rule(Clock.ONSITE, Decimal(72), area=Area.SUBURBAN),       # 004: suburban / county 3 days
    Rule(Clock.RESOLVE, Decimal(48)),                          # 000: resolved 48 h (urban)
    Rule(Clock.ANSWER, Decimal(24), kind=TicketKind.COMPLAINT),  # 004: complaint answered 24 h
)


def rules(session: Session) -> list[Rule]:
    """Defaults, with stored policies replacing the default of the same dimensions."""
    stored = [Rule(p.clock, p.hours, p.kind, p.in_warranty, p.area)
              for p in session.scalars(select(SlaPolicy))]
    keys = {(r.clock, r.kind, r.in_warranty, r.area) for r in stored}
    defaults = [r for r in DEFAULT_RULES if (r.clock, r.kind, r.in_warranty, r.area) not in keys]
    return stored + defaults


def hours_for(session: Session, clock: str, kind: str, in_warranty: bool | None, area: str) -> Decimal | None:
    candidates = [r for r in rules(session) if r.clock == clock and r.matches(kind, in_warranty, area)]
    if not candidates:
        return None
    return max(candidates, key=lambda r: r.specificity).hours


def due_times(session: Session, kind: str, in_warranty: bool | None, area: str,
              start: datetime, clocks=None) -> dict[str, datetime]:
    result = {}
    for clock in clocks or KIND_CLOCKS[TicketKind(kind)]:
        limit = hours_for(session, clock, kind, in_warranty, area)
        if limit is not None:
            result[clock.value] = start + hours(limit)
    onsite, resolve = result.get(Clock.ONSITE.value), result.get(Clock.RESOLVE.value)
    if onsite is not None and resolve is not None:
        # R-SLA-4: a resolution is never due before the visit it needs (suburban: 72 h on site).
        after_visit = onsite + hours(policy.value(session, "sla.resolve_after_onsite_hours"))
        result[Clock.RESOLVE.value] = max(resolve, after_visit)
    return result


def hours(number) -> timedelta:
    """A number of hours (a policy Decimal) as a duration."""
    return timedelta(seconds=float(number) * 3600)


def start_clocks(session: Session, ticket: Ticket) -> None:
    """Fix the ticket's due times at registration (R-SLA-1)."""
    for clock, due in due_times(session, ticket.kind, ticket.in_warranty, ticket.area,
                                ticket.created_at).items():
        ticket.clocks.append(TicketClock(clock=clock, due_at=due, paused_seconds=0))


def restart_for_rework(session: Session, ticket: Ticket, at: datetime) -> None:
    """R-SLA-4: a reopened ticket's rework gets new clocks from the reopening; the old ones stay
    as history (met or breached as they were) but no longer run."""
    rework = [c for c in KIND_CLOCKS[TicketKind(ticket.kind)] if c not in ANSWERED_AT_REOPEN]
    for found in current_clocks(ticket):
        found.superseded_at = at
        found.paused_since = None
    for clock, due in due_times(session, ticket.kind, ticket.in_warranty, ticket.area, at, rework).items():
        ticket.clocks.append(TicketClock(clock=clock, due_at=due, paused_seconds=0))


def current_clocks(ticket: Ticket) -> list[TicketClock]:
    """The clocks of the ticket's latest round (R-SLA-4: earlier rounds are history)."""
    return [c for c in ticket.clocks if c.superseded_at is None]


def running_clocks(ticket: Ticket) -> list[TicketClock]:
    """Clocks of the current round not yet met, on a ticket not yet resolved (paused ones too:
    the list's badge shows them as paused)."""
    if ticket.status in FINISHED:
        return []
    return [c for c in current_clocks(ticket) if c.met_at is None]


def clock_of(ticket: Ticket, clock: str) -> TicketClock | None:
    return next((c for c in current_clocks(ticket) if c.clock == clock), None)


def meet(ticket: Ticket, clock: str, at: datetime | None = None) -> None:
    found = clock_of(ticket, clock)
    if found is not None and found.met_at is None:
        found.met_at = at or utcnow()


def status_reached(ticket: Ticket, status: str, at: datetime | None = None) -> None:
    for clock in MET_BY_STATUS.get(TicketStatus(status), ()):
        meet(ticket, clock.value, at)


def pause(ticket: Ticket, at: datetime | None = None) -> None:
    """Waiting for the customer: pausable clocks stop (R-SLA-3)."""
    for found in current_clocks(ticket):
        if found.clock in PAUSABLE and found.met_at is None and found.paused_since is None:
            found.paused_since = at or utcnow()


def resume(ticket: Ticket, at: datetime | None = None) -> None:
    at = at or utcnow()
    for found in ticket.clocks:
        if found.paused_since is not None:
            waited = at - found.paused_since
            found.paused_seconds = (found.paused_seconds or 0) + int(waited.total_seconds())
            found.due_at = found.due_at + waited
            found.paused_since = None


def finished_at(ticket: Ticket) -> datetime | None:
    """When a resolved (or later) ticket was resolved: its clocks stopped then."""
    if ticket.status not in FINISHED:
        return None
    resolved = clock_of(ticket, Clock.RESOLVE.value)
    return resolved.met_at if resolved is not None and resolved.met_at else ticket.closed_at or ticket.updated_at


def states(ticket: Ticket, now: datetime | None = None,
           within: timedelta | None = None) -> list[tuple[TicketClock, str]]:
    """Each clock of the ticket with its state, as the ticket page shows them."""
    stopped = finished_at(ticket)
    return [(c, state(c, now, stopped, within)) for c in ticket.clocks]


def state(found: TicketClock, now: datetime | None = None, stopped: datetime | None = None,
          within: timedelta | None = None) -> str:
    """met / breached / superseded / not_needed / paused / due_soon / running.

    `stopped`: when the ticket was resolved (`finished_at`); a clock still unmet then was not
    needed (a remote answer needs no visit, a refund no technician) unless it was already
    overdue. `within`: how soon is "due soon" (`due_soon_within`; the policy default if not given)."""
    now = now or utcnow()
    if not is_open(found, stopped):
        return _stopped_state(found, stopped)
    if is_overdue(found, now, stopped):
        return "breached"
    if is_due_soon(found, now, _within(within), stopped):
        return "due_soon"
    return "running"


def _stopped_state(found: TicketClock, stopped: datetime | None) -> str:
    """The state of a clock that is not open: met (in time or late), stopped, or paused."""
    if found.met_at is not None:
        return "met" if found.met_at <= found.due_at else "breached"
    if found.superseded_at is not None:  # stopped by a reopening before it was met
        return "breached" if found.superseded_at > found.due_at else "superseded"
    if stopped is not None:
        return "breached" if stopped > found.due_at else "not_needed"
    return "paused"


# --- R-SLA-1 predicates: SQL for the list filter and the dashboard, Python for the ticket page
# and the list badge. Each pair is one definition; keep them side by side. The SQL ones name
# Ticket.status: the query joins the ticket or correlates with it (EXISTS in the list).

def due_soon_within(session: Session | None) -> timedelta:
    """How long before its due time an open clock is "due soon" (policy; the default without a session)."""
    return hours(policy.value(session, "sla.due_soon_hours"))


def _within(within: timedelta | None) -> timedelta:
    return within if within is not None else due_soon_within(None)


def ticking_sql():
    """`open_sql`'s clock part: unmet, not paused, of the current round."""
    return and_(TicketClock.met_at.is_(None), TicketClock.paused_since.is_(None),
                TicketClock.superseded_at.is_(None))


def open_sql():
    """A clock ticking now: unmet, not paused, of the current round, on a ticket not yet resolved."""
    return and_(ticking_sql(), Ticket.status.not_in(FINISHED))


def ticket_has_clock(*conditions):
    """Tickets with a clock meeting `conditions` (on the clock alone): EXISTS correlated with the
    ticket, answered by the (ticket_id, met_at, due_at) index for each ticket. An uncorrelated
    IN list is no better: at a million tickets it holds ~300k clocks, more than PostgreSQL hashes
    in its default work_mem (270 s per page); and without that index SQLite searched every open
    clock again per ticket (11 s at 20k tickets)."""
    # Over the clock table, not the mapped class: a clock is visible with its ticket, so the
    # counted ticket's scope alone decides; the class would bring its own rule (every ticket of a
    # dealer hashed first: 584 ms instead of 4 ms for the biggest dealer's "overdue now").
    clocks = TicketClock.__table__
    return select(clocks.c.id).where(clocks.c.ticket_id == Ticket.id, *conditions).exists()


def ticket_overdue_sql(now: datetime):
    """A ticket with an open clock past its due time (the lists' "overdue now")."""
    return and_(Ticket.status.not_in(FINISHED), ticket_has_clock(ticking_sql(), TicketClock.due_at < now))


def ticket_due_soon_sql(now: datetime, within: timedelta):
    return and_(Ticket.status.not_in(FINISHED), ticket_has_clock(
        ticking_sql(), TicketClock.due_at >= now, TicketClock.due_at <= now + within))


def is_open(found: TicketClock, stopped: datetime | None = None) -> bool:
    """`open_sql` for one clock; `stopped` is the ticket's `finished_at` (None while it runs)."""
    return (found.met_at is None and found.paused_since is None and found.superseded_at is None
            and stopped is None)


def overdue_sql(now: datetime):
    """An open clock past its due time."""
    return and_(open_sql(), TicketClock.due_at < now)


def is_overdue(found: TicketClock, now: datetime, stopped: datetime | None = None) -> bool:
    return is_open(found, stopped) and found.due_at < now


def due_soon_sql(now: datetime, within: timedelta):
    """An open clock not yet due, due within `within` (`due_soon_within`)."""
    return and_(open_sql(), TicketClock.due_at >= now, TicketClock.due_at <= now + within)


def is_due_soon(found: TicketClock, now: datetime, within: timedelta, stopped: datetime | None = None) -> bool:
    return is_open(found, stopped) and now <= found.due_at <= now + within


def finished_at_sql():
    """`finished_at` in SQL (correlated with Ticket): when a finished ticket was resolved; NULL
    while it runs."""
    resolve = aliased(TicketClock)
    resolved = (select(resolve.met_at).where(resolve.ticket_id == Ticket.id, resolve.clock == Clock.RESOLVE.value,
                                             resolve.superseded_at.is_(None))
                .correlate(Ticket).scalar_subquery())
    return case((Ticket.status.in_(FINISHED), func.coalesce(resolved, Ticket.closed_at, Ticket.updated_at)),
                else_=None)


def decided_sql(now: datetime):
    """`state` in SQL for the clocks whose outcome is known, over TicketClock joined with Ticket:
    (met in time, breached). A clock running, paused, superseded in time or not needed is neither."""
    stopped = finished_at_sql()
    met = and_(TicketClock.met_at.is_not(None), TicketClock.met_at <= TicketClock.due_at)
    breached = or_(
        TicketClock.met_at > TicketClock.due_at,
        and_(TicketClock.met_at.is_(None), TicketClock.superseded_at > TicketClock.due_at),
        and_(TicketClock.met_at.is_(None), TicketClock.superseded_at.is_(None), stopped > TicketClock.due_at),
        and_(open_sql(), TicketClock.due_at < now))
    return met, breached


def met_late_sql():
    """A clock met after its due time (any round): with `overdue_sql`, the list's "breached (ever)"."""
    return TicketClock.met_at > TicketClock.due_at
