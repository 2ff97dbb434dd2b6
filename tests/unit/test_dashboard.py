"""Home page figures of backoffice.dashboard: the SLA counts use the sla predicates and the
policy's "due soon" hours (R-SLA-1)."""
from datetime import timedelta

from backoffice import dashboard, sla
from models import utcnow
from tests import factories as f


def ticket_due_in(session, minutes: int):
    """A fresh ticket whose earliest clock is due in `minutes`, the others days later."""
    customer = f.make_customer(session, f.make_outlet(session))
    ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer))
    now = utcnow()
    for clock in ticket.clocks:
        clock.due_at = now + timedelta(minutes=minutes if clock.clock == "response" else 5000)
    session.flush()
    return ticket


def added(session, make) -> dict[str, int]:
    before = dashboard.sla_counts(session)
    make()
    after = dashboard.sla_counts(session)
    return {key: after[key] - before[key] for key in after}


def test_a_ticket_with_a_clock_past_due_counts_as_overdue(session):  # R-SLA-1
    assert added(session, lambda: ticket_due_in(session, -10)) == {"overdue": 1, "due_soon": 0, "visits_due": 0}


def test_a_ticket_due_within_the_hour_counts_as_due_soon(session):  # R-SLA-1
    assert added(session, lambda: ticket_due_in(session, 30)) == {"overdue": 0, "due_soon": 1, "visits_due": 0}


def test_due_soon_counts_the_policy_hours(session):  # R-SLA-1, policy sla.due_soon_hours
    assert added(session, lambda: ticket_due_in(session, 90))["due_soon"] == 0
    f.make_policy_setting(session, "sla.due_soon_hours", "2")
    assert added(session, lambda: ticket_due_in(session, 90))["due_soon"] == 1


def test_a_paused_clock_is_neither_overdue_nor_due_soon(session):  # R-SLA-3
    def paused():
        ticket = ticket_due_in(session, 5000)
        sla.pause(ticket)
        for clock in ticket.clocks:
            if clock.paused_since is not None:
                clock.due_at = utcnow() - timedelta(minutes=10)
        session.flush()

    assert added(session, paused) == {"overdue": 0, "due_soon": 0, "visits_due": 0}


def test_a_ticket_registered_today_counts_today_and_in_the_recent_days(session):
    def counts():
        return (dashboard.registered_between(session, 1),
                dashboard.registered_between(session, dashboard.RECENT_DAYS))

    before = counts()
    ticket_due_in(session, 5000)
    assert [b - a for a, b in zip(before, counts(), strict=True)] == [1, 1]


def compliance_of(session, clock: str):
    return next(c for c in dashboard.sla_compliance(session) if c.clock == clock)


def test_sla_compliance_counts_clocks_due_this_month_and_those_met_in_time(session):  # R-SLA-1
    before = compliance_of(session, "response")
    in_time, late = ticket_due_in(session, 5000), ticket_due_in(session, 5000)
    now = utcnow()
    for ticket, met in ((in_time, now - timedelta(minutes=5)), (late, now - timedelta(seconds=30))):
        clock = next(c for c in ticket.clocks if c.clock == "response")
        clock.due_at, clock.met_at = now - timedelta(minutes=1), met
    session.flush()
    after = compliance_of(session, "response")
    assert (after.due - before.due, after.met - before.met) == (2, 1)


def test_a_complaint_with_its_answer_clock_running_awaits_an_answer(session):  # R-CMP-1
    before = dashboard.complaints_awaiting_answer(session)
    customer = f.make_customer(session, f.make_outlet(session))
    f.make_ticket(session, customer, kind="complaint")
    f.make_ticket(session, customer)  # a repair: no answer clock
    assert dashboard.complaints_awaiting_answer(session) == before + 1


def test_an_outlets_parts_position_is_its_balance_and_the_value_it_holds(session):  # R-PART-2
    from decimal import Decimal

    outlet = f.make_outlet(session)
    f.make_parts_account(session, outlet, balance=Decimal("500.00"))
    position = dashboard.parts_position(session, outlet.id)
    assert position.balance == Decimal("500.00")
    assert position.held == Decimal("0.00")
