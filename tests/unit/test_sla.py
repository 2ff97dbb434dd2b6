"""SLA clocks of backoffice.sla: due times (DOMAIN §4, R-SLA-1…4), states, the predicates "open",
"overdue now" and "due soon" in SQL and in Python (R-SLA-1), and the clocks after a reopen, at intake,
while waiting for the customer and for suburban customers (R-SLA-1, R-SLA-3, R-SLA-4)."""
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from backoffice import sla, tickets, workflow
from models import Customer, SlaPolicy, Ticket, TicketClock, utcnow
from models.choices import Clock, TicketStatus
from tests import factories as f

TODAY = date(2026, 11, 22)
NOON = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)  # 12:00 in Guangzhou


def hours(due: dict, clock: str) -> float:
    return (due[clock] - NOON).total_seconds() / 3600


def test_urban_repair_clocks_are_2_8_24_48_hours(session):  # §4 table
    due = sla.due_times(session, "repair", True, "urban", NOON)
    assert {c: hours(due, c) for c in due} == {"response": 2, "dispatch": 8, "onsite": 24, "resolve": 48}


def test_suburban_on_site_is_3_days(session):  # §4 table, 004
    assert hours(sla.due_times(session, "repair", True, "suburban", NOON), "onsite") == 72


def test_installation_is_24h_urban_3_days_suburban(session):  # R-INST-2
    assert hours(sla.due_times(session, "installation", True, "urban", NOON), "onsite") == 24
    assert hours(sla.due_times(session, "installation", True, "suburban", NOON), "onsite") == 72


def test_complaint_is_answered_within_24h(session):  # R-CMP-2
    assert hours(sla.due_times(session, "complaint", None, "urban", NOON), "answer") == 24


def test_a_stored_policy_overrides_the_default_and_the_most_specific_rule_wins(session):
    session.add(SlaPolicy(clock="onsite", kind="repair", area="urban", in_warranty=False,
                          hours=Decimal(36)))
    session.flush()
    assert hours(sla.due_times(session, "repair", False, "urban", NOON), "onsite") == 36
    assert hours(sla.due_times(session, "repair", True, "urban", NOON), "onsite") == 24


def test_registration_stores_verdict_and_due_times(session):  # R-SLA-1, R-WAR-1
    customer = session.query(Customer).filter_by(area="urban").first()
    unit = customer.units[0]
    unit.invoice_date = TODAY - timedelta(days=100)
    ticket = Ticket(kind="repair", channel="hotline", category="quality", fault_description="点不着火",
                    customer=customer, unit=unit, outlet=customer.outlet, created_at=NOON)
    session.add(ticket)
    tickets.register_ticket(session, ticket, None)
    session.flush()
    assert ticket.in_warranty and ticket.warranty_window == "repair"
    assert {c.clock: (c.due_at - NOON).total_seconds() / 3600 for c in ticket.clocks} == {
        "response": 2, "dispatch": 8, "onsite": 24, "resolve": 48}


def test_waiting_for_the_customer_pauses_the_resolution_clock(session):  # R-SLA-3
    ticket = f.ticket_of(session, "SC-GZ", status="registered")
    resolve = sla.clock_of(ticket, "resolve")
    due = resolve.due_at
    start = NOON
    sla.pause(ticket, start)
    assert sla.state(resolve, start + timedelta(days=30)) == "paused"
    sla.resume(ticket, start + timedelta(hours=5))
    assert resolve.due_at == due + timedelta(hours=5) and resolve.paused_seconds == 5 * 3600


def test_clock_states(session):  # R-SLA-1
    ticket = f.ticket_of(session, "SC-GZ", status="registered")
    clock = sla.clock_of(ticket, "response")
    assert sla.state(clock, clock.due_at - timedelta(hours=2)) == "running"
    assert sla.state(clock, clock.due_at - timedelta(minutes=30)) == "due_soon"
    assert sla.state(clock, clock.due_at + timedelta(minutes=1)) == "breached"
    sla.meet(ticket, "response", clock.due_at - timedelta(minutes=5))
    assert sla.state(clock) == "met"


# --- R-SLA-1 predicates: the SQL (list filter, dashboard) and the Python (ticket page, badge)
# say the same of the same clocks ------------------------------------------------------------

def new_ticket(session, **kw) -> Ticket:
    customer = f.make_customer(session, f.make_outlet(session))
    return f.make_ticket(session, customer, unit=f.make_unit(session, customer), **kw)


def clocks_world(session, now):
    """Clocks in every situation the predicates tell apart, by name: what sla.state says of each
    with the default "due soon" of 1 h."""
    ticking = new_ticket(session)
    due = {"response": -10, "dispatch": 30, "onsite": 90, "resolve": 600}
    for clock in ticking.clocks:
        clock.due_at = now + timedelta(minutes=due[clock.clock])
    paused = new_ticket(session)
    sla.pause(paused, now - timedelta(hours=1))
    for clock in paused.clocks:
        clock.due_at = now - timedelta(minutes=10)
    met = new_ticket(session)
    sla.meet(met, "response", now - timedelta(minutes=5))
    sla.clock_of(met, "response").due_at = now + timedelta(minutes=20)
    reopened = new_ticket(session)
    stopped_early = sla.clock_of(reopened, "dispatch")
    stopped_early.superseded_at, stopped_early.due_at = now - timedelta(minutes=1), now + timedelta(minutes=30)
    answered = new_ticket(session, status="resolved", mode="remote")  # its visit clocks were not needed
    sla.clock_of(answered, "onsite").due_at = now + timedelta(minutes=30)
    session.flush()
    return {
        "overdue": (sla.clock_of(ticking, "response"), "breached"),
        "due in 30 minutes": (sla.clock_of(ticking, "dispatch"), "due_soon"),
        "due in 90 minutes": (sla.clock_of(ticking, "onsite"), "running"),
        "due in 10 hours": (sla.clock_of(ticking, "resolve"), "running"),
        "paused past its due time": (sla.clock_of(paused, "resolve"), "paused"),
        "met in time": (sla.clock_of(met, "response"), "met"),
        "stopped by a reopening": (stopped_early, "superseded"),
        "on a resolved ticket": (sla.clock_of(answered, "onsite"), "not_needed"),
    }


def sql_ids(session, condition) -> set[int]:
    return set(session.scalars(select(TicketClock.id).join(Ticket, Ticket.id == TicketClock.ticket_id)
                               .where(condition)))


def verdicts(session, now, within):
    """Per clock name: (open, overdue, due soon) in SQL and in Python, and its state."""
    world = clocks_world(session, now)
    opened = sql_ids(session, sla.open_sql())
    overdue = sql_ids(session, sla.overdue_sql(now))
    soon = sql_ids(session, sla.due_soon_sql(now, within))
    found = {}
    for name, (clock, _state) in world.items():
        stopped = sla.finished_at(clock.ticket)
        found[name] = {
            "sql": (clock.id in opened, clock.id in overdue, clock.id in soon),
            "python": (sla.is_open(clock, stopped), sla.is_overdue(clock, now, stopped),
                       sla.is_due_soon(clock, now, within, stopped)),
            "state": sla.state(clock, now, stopped, within),
        }
    return world, found


def test_sql_and_python_predicates_agree_on_every_kind_of_clock(session):  # R-SLA-1
    now = utcnow()
    world, found = verdicts(session, now, sla.due_soon_within(session))
    for name, (_clock, state) in world.items():
        assert found[name]["sql"] == found[name]["python"], name
        assert found[name]["state"] == state, name
    assert found["overdue"]["sql"] == (True, True, False)
    assert found["due in 30 minutes"]["sql"] == (True, False, True)
    assert found["due in 90 minutes"]["sql"] == (True, False, False)
    for name in ("paused past its due time", "met in time", "stopped by a reopening", "on a resolved ticket"):
        assert found[name]["sql"] == (False, False, False), name


def test_due_soon_is_the_policy_hours_in_sql_and_in_python(session):  # R-SLA-1, policy sla.due_soon_hours
    f.make_policy_setting(session, "sla.due_soon_hours", "2")
    within = sla.due_soon_within(session)
    assert within == timedelta(hours=2)
    world, found = verdicts(session, utcnow(), within)
    assert found["due in 90 minutes"]["sql"] == found["due in 90 minutes"]["python"] == (True, False, True)
    assert found["due in 90 minutes"]["state"] == "due_soon"
    assert found["due in 10 hours"]["sql"] == found["due in 10 hours"]["python"] == (True, False, False)
    for name in world:
        assert found[name]["sql"] == found[name]["python"], name


def test_due_soon_defaults_to_one_hour(session):  # R-SLA-1
    assert sla.due_soon_within(session) == sla.due_soon_within(None) == timedelta(hours=1)


def test_a_clock_past_due_on_a_resolved_ticket_was_breached_but_is_not_overdue(session):  # R-SLA-1
    now = utcnow()
    answered = new_ticket(session, status="resolved", mode="remote")
    onsite = sla.clock_of(answered, "onsite")
    onsite.due_at = sla.finished_at(answered) - timedelta(minutes=1)
    session.flush()
    assert sla.state(onsite, now, sla.finished_at(answered)) == "breached"
    assert not sla.is_overdue(onsite, now, sla.finished_at(answered))
    assert onsite.id not in sql_ids(session, sla.overdue_sql(now))


# --- R-SLA-1, R-SLA-3, R-SLA-4: clocks after a reopen, at intake, while waiting for the customer
# and for suburban customers -----------------------------------------------------------------

def _resolved(session, world):
    return f.make_ticket(session, world["customer"], unit=world["unit"], actor=world["clerk"], status="resolved",
                         engineer=world["center_engineer"], desk=world["clerk"],
                         steps={"diagnose": {"service_mode": "onsite", "severity": "major", "note": "需上门"},
                                "resolve": {"work_done": "更换点火针", "tested_ok": "y", "signed_by": "欧阳娜"}})


def test_reopened_ticket_runs_new_clocks_for_the_rework(session, world):
    ticket = _resolved(session, world)
    later = utcnow() + timedelta(days=3)
    workflow.perform(session, ticket, "return_visit", world["clerk"], {"satisfaction": "2", "comment": "又不点火"},
                     at=later)
    assert ticket.status == TicketStatus.DIAGNOSED
    running = {c.clock: c for c in sla.running_clocks(ticket)}
    assert set(running) == {Clock.DISPATCH, Clock.ONSITE, Clock.RESOLVE}
    assert all(c.due_at > later for c in running.values())
    assert sla.state(running[Clock.RESOLVE], later) == "running"
    session.flush()  # the earlier round stays as history beside the new one
    assert session.scalar(select(func.count()).select_from(TicketClock).where(
        TicketClock.ticket_id == ticket.id, TicketClock.superseded_at.is_not(None))) >= 3


def test_reopened_ticket_becomes_overdue_when_the_rework_is_late(session, world):
    ticket = _resolved(session, world)
    at = utcnow()
    workflow.perform(session, ticket, "reopen", world["clerk"], {"note": "用户来电仍不点火"}, at=at)
    dispatch = sla.clock_of(ticket, Clock.DISPATCH.value)
    assert sla.state(dispatch, at + timedelta(hours=9)) == "breached"


def test_consultation_answered_at_intake_meets_its_response_clock(session, world):
    ticket = f.make_ticket(session, world["customer"], kind="consultation", actor=world["clerk"])
    workflow.perform(session, ticket, "answer_at_intake", world["clerk"], {"note": "已讲解使用方法"})
    assert sla.state(sla.clock_of(ticket, Clock.RESPONSE.value)) == "met"


def test_waiting_for_the_customer_pauses_every_clock_that_waits_on_them(session, world):
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], actor=world["clerk"])
    workflow.perform(session, ticket, "wait_for_customer", world["clerk"], {"note": "用户出差，下周再约"})
    paused = {c.clock for c in ticket.clocks if c.paused_since is not None}
    assert paused == {Clock.DISPATCH, Clock.ONSITE, Clock.RESOLVE}


def test_suburban_resolution_is_due_after_its_on_site_visit(session, world):
    suburban = f.make_customer(session, world["a"], area="suburban")
    ticket = f.make_ticket(session, suburban, actor=world["clerk"])
    onsite, resolve = sla.clock_of(ticket, Clock.ONSITE.value), sla.clock_of(ticket, Clock.RESOLVE.value)
    assert resolve.due_at - onsite.due_at == timedelta(hours=24)  # policy sla.resolve_after_onsite_hours
