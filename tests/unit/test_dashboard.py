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


# --- the manager's SLA trend (R-SLA-1): clock_compliance per local calendar month ---------------

def month_start(months_ago: int):
    from backoffice.months import recent
    from backoffice.timezones import local_day_bounds, local_today

    first = recent(local_today(), months_ago + 1)[-1]
    return first, local_day_bounds(first, first)[0]


def clock_due(ticket, clock: str, due_at, met_at=None):
    """Set one clock's due and met times; the ticket's other clocks fall due after now."""
    for found in ticket.clocks:
        if found.clock == clock:
            found.due_at, found.met_at = due_at, met_at
        elif found.due_at <= utcnow() + timedelta(days=1):
            found.due_at = utcnow() + timedelta(days=10)


def test_the_trend_counts_each_months_clocks_due_and_met_in_time(session):  # R-SLA-1
    outlet = f.make_outlet(session)
    customer = f.make_customer(session, outlet)

    def ticket():
        return f.make_ticket(session, customer, unit=f.make_unit(session, customer))

    _first, two_ago = month_start(2)
    _first, five_ago = month_start(5)
    _first, six_ago = month_start(6)
    this_month = max(month_start(0)[1], utcnow() - timedelta(minutes=1))
    clock_due(ticket(), "response", two_ago + timedelta(days=3), two_ago + timedelta(days=2))  # in time
    clock_due(ticket(), "response", two_ago + timedelta(days=4), two_ago + timedelta(days=5))  # late
    clock_due(ticket(), "response", two_ago + timedelta(days=5))  # never met: a miss
    clock_due(ticket(), "dispatch", five_ago, five_ago)  # the month's first instant, met on the dot
    clock_due(ticket(), "resolve", six_ago + timedelta(days=3), six_ago)  # seven months back: not shown
    clock_due(ticket(), "onsite", this_month)  # this month so far, still open
    superseded = ticket()
    clock_due(superseded, "response", two_ago + timedelta(days=3), two_ago)
    next(c for c in superseded.clocks if c.clock == "response").superseded_at = two_ago + timedelta(days=4)
    session.flush()

    trend = dashboard.compliance_trend(session, outlet_id=outlet.id)
    figures = {(i, c.clock): (c.due, c.met, c.rate) for i, m in enumerate(trend) for c in m.clocks if c.due}
    from decimal import Decimal
    assert [m.month for m in trend] == [month_start(n)[0] for n in range(5, -1, -1)]
    assert figures == {(3, "response"): (3, 1, Decimal("33.3")), (0, "dispatch"): (1, 1, Decimal("100.0")),
                       (5, "onsite"): (1, 0, Decimal("0.0"))}


def test_each_month_of_the_trend_equals_clock_compliance_for_that_month(session):  # R-SLA-1
    from backoffice.months import month_end
    from backoffice.service_kpis import clock_compliance
    from backoffice.timezones import local_day_bounds, local_today

    for month in dashboard.compliance_trend(session):
        last = min(month_end(month.month), local_today())
        assert month.clocks == clock_compliance(session, *local_day_bounds(month.month, last))


# --- the menu's queue counts: the lists' rules, one query ----------------------------------------

def test_queue_counts_follow_the_lists_rules(session):
    engineer = f.make_user(session, "engineer")
    keys = list(dashboard.QUEUES)

    def counts():
        return dashboard.queue_counts(session, engineer.id, keys)

    before = counts()
    customer = f.make_customer(session, f.make_outlet(session))
    f.make_ticket(session, customer)  # registered, nobody assigned
    f.make_ticket(session, customer, assigned_engineer=engineer)  # mine
    f.make_ticket(session, customer, kind="complaint", assigned_engineer=engineer)  # mine, answer clock ticking
    late = f.make_ticket(session, customer, assigned_engineer=engineer, status="closed")  # closed: in no queue
    late.clocks[0].due_at = utcnow() - timedelta(hours=1)
    overdue = f.make_ticket(session, customer, assigned_engineer=engineer)
    overdue.clocks[0].due_at = utcnow() - timedelta(hours=1)
    session.flush()
    after = counts()
    assert {key: after[key] - before[key] for key in keys} == {
        "mine": 3, "unassigned": 1, "overdue": 1, "complaints_awaiting_answer": 1,
        "registered_by_me": 0, "waiting_for_customer": 0}


def test_the_desks_own_tickets_and_those_waiting_for_the_customer(session):  # R-SLA-3, issue 18
    from backoffice import workflow

    clerk = f.make_user(session, "clerk")
    keys = ["registered_by_me", "waiting_for_customer"]
    before = dashboard.queue_counts(session, clerk.id, keys)
    customer = f.make_customer(session, f.make_outlet(session))
    f.make_ticket(session, customer, actor=clerk)  # the clerk's
    waiting, back = f.make_ticket(session, customer, actor=clerk), f.make_ticket(session, customer, actor=clerk)
    for ticket in (waiting, back):
        workflow.perform(session, ticket, "wait_for_customer", clerk, {"note": "客户出差"})
    workflow.perform(session, back, "customer_back", clerk, {})
    f.make_ticket(session, customer, actor=clerk, status="closed")  # closed: in neither
    f.make_ticket(session, customer)  # registered by nobody in particular
    session.flush()
    after = dashboard.queue_counts(session, clerk.id, keys)
    assert {key: after[key] - before[key] for key in keys} == {"registered_by_me": 3, "waiting_for_customer": 1}


def test_queue_counts_are_one_query_and_only_the_queues_asked(session, app):
    from sqlalchemy import event

    seen = []
    engine = session.get_bind()
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        found = dashboard.queue_counts(session, 1, ["unassigned", "overdue", "no_such_queue"])
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert list(found) == ["unassigned", "overdue"] and len(seen) == 1
    assert dashboard.queue_counts(session, 1, []) == {}


# --- the outlets' ranking on the manager's home page (R-APR-5) -----------------------------------

class Row:
    def __init__(self, rank):
        self.rank = rank


def test_ranking_ends_are_the_best_and_worst_rated_never_an_outlet_twice(monkeypatch):
    def ends(ranks):
        monkeypatch.setattr(dashboard, "ranking", lambda session, year: [Row(r) for r in ranks])
        top, bottom = dashboard.ranking_ends(None, 2026)
        return [r.rank for r in top], [r.rank for r in bottom]

    assert ends([1, 2, 2, 4, 5, 6, 7, 8, None, None]) == ([1, 2, 2], [6, 7, 8])
    assert ends([1, 2, 3, 4, None]) == ([1, 2, 3], [4])
    assert ends([1, 1]) == ([1, 1], [])
    assert ends([None]) == ([], [])


# --- counts that stop at a cap (issue 16): the cost of a figure does not grow with the table ------

def test_a_count_past_its_cap_reads_the_cap_and_says_more(session, monkeypatch):
    from backoffice.capped import Capped

    customer = f.make_customer(session, f.make_outlet(session))
    for _ in range(3):
        f.make_ticket(session, customer)  # registered, nobody assigned
    session.flush()
    exact = dashboard.unassigned_tickets(session)
    monkeypatch.setattr(dashboard, "FIGURE_CAP", exact - 1)
    found = dashboard.unassigned_tickets(session)
    assert isinstance(found, Capped) and found == exact - 1 and str(found) == f"{exact - 1:,}+"
    assert dashboard.capped_counts(session, {"unassigned": dashboard.unassigned_sql()}, exact)["unassigned"] == exact
    assert type(dashboard.capped_counts(session, {"u": dashboard.unassigned_sql()}, exact)["u"]) is int


def test_the_menus_queue_counts_stop_at_the_badge_cap(session):
    engineer = f.make_user(session, "engineer")
    customer = f.make_customer(session, f.make_outlet(session))
    for _ in range(3):
        f.make_ticket(session, customer, assigned_engineer=engineer)
    session.flush()
    assert dashboard.queue_counts(session, engineer.id, ["mine"])["mine"] == 3
    assert str(dashboard.queue_counts(session, engineer.id, ["mine"], cap=2)["mine"]) == "2+"
