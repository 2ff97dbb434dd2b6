"""The summary rows kept with the tickets (backoffice.stats, issue 16): after every kind of ORM
write a service makes — registering, walking the workflow, pausing and resuming clocks, reopening,
handing a ticket to another outlet, correcting a unit's model, coding a fault, deleting — the rows
hold exactly what counting the tickets again gives (R-SLA-1, R-RPT-1); a rollback takes them back
with the change; and the figures read from them equal the figures counted from the tickets."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, select

from backoffice import sla, stats
from backoffice.timezones import local_day_bounds, local_today
from models import ClockStat, QualityStat, TicketClock, utcnow
from tests import factories as f


def assert_kept(session) -> None:
    session.flush()
    connection = session.connection()
    assert stats.stored(connection) == stats.recount(connection)


def test_the_demo_data_is_counted_as_it_was_written(session):
    assert_kept(session)


def test_registering_and_walking_tickets_keeps_the_counts(session):  # R-SLA-1, R-RPT-1
    outlet = f.make_outlet(session)
    customer = f.make_customer(session, outlet)
    f.make_ticket(session, customer, unit=f.make_unit(session, customer))
    assert_kept(session)
    f.make_ticket(session, customer, unit=f.make_unit(session, customer), status="closed")
    f.make_ticket(session, customer, kind="complaint", status="resolved")
    f.make_ticket(session, customer, kind="return_exchange", unit=f.make_unit(session, customer))
    assert_kept(session)


def test_pausing_resuming_and_meeting_clocks_keeps_the_counts(session):  # R-SLA-3
    customer = f.make_customer(session, f.make_outlet(session))
    ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer), status="diagnosed")
    sla.pause(ticket, utcnow() - timedelta(days=3))
    assert_kept(session)
    sla.resume(ticket, utcnow())  # the due times move on by three days
    assert_kept(session)
    sla.meet(ticket, "dispatch", utcnow())
    assert_kept(session)


def test_a_reopened_tickets_earlier_round_leaves_the_counts(session):  # R-SLA-4
    customer = f.make_customer(session, f.make_outlet(session))
    ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer), status="resolved")
    sla.restart_for_rework(session, ticket, utcnow())
    assert_kept(session)


def test_a_ticket_handed_to_another_outlet_takes_its_clocks_and_faults_along(session):
    customer = f.make_customer(session, f.make_outlet(session))
    ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer))
    session.flush()
    session.expire(ticket)  # loaded again when changed: the old outlet is still known
    ticket.outlet_id = f.make_outlet(session).id
    assert_kept(session)


def test_coding_the_fault_and_correcting_the_unit_keeps_the_counts(session):  # R-RPT-1
    customer = f.make_customer(session, f.make_outlet(session))
    unit = f.make_unit(session, customer)
    ticket = f.make_ticket(session, customer, unit=unit)
    ticket.fault_code_id = f.make_fault_code(session, kind="fault").id
    ticket.cause_code_id = f.make_fault_code(session, kind="cause").id
    assert_kept(session)
    unit.product_model_id = f.make_product_model(session).id
    assert_kept(session)
    ticket.unit = f.make_unit(session, customer)
    ticket.created_at = ticket.created_at - timedelta(days=40)  # registered a month earlier
    assert_kept(session)
    ticket.category = "size"  # no longer a fault report (R-TKT-3)
    assert_kept(session)
    ticket.category, ticket.kind = "quality", "installation"
    assert_kept(session)


def test_deleting_clocks_keeps_the_counts(session):
    customer = f.make_customer(session, f.make_outlet(session))
    ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer))
    for clock in list(ticket.clocks):
        session.delete(clock)
    assert_kept(session)


def test_a_rollback_takes_the_counts_back_with_the_change(session):
    customer = f.make_customer(session, f.make_outlet(session))
    session.commit()
    before = stats.stored(session.connection())
    f.make_ticket(session, customer, unit=f.make_unit(session, customer))
    session.flush()
    assert stats.stored(session.connection()) != before
    session.rollback()
    assert stats.stored(session.connection()) == before


def test_rebuild_writes_what_was_kept(session):
    customer = f.make_customer(session, f.make_outlet(session))
    f.make_ticket(session, customer, unit=f.make_unit(session, customer), status="closed")
    session.flush()
    kept = stats.stored(session.connection())
    stats.rebuild(session)
    assert stats.stored(session.connection()) == kept


def live_counts(session, start, end) -> dict:
    """service_kpis.clock_compliance as it counted before the summary rows: the clocks themselves."""
    in_time = and_(TicketClock.met_at.is_not(None), TicketClock.met_at <= TicketClock.due_at)
    rows = session.execute(select(TicketClock.clock, func.count(), func.count().filter(in_time))
                           .where(TicketClock.superseded_at.is_(None), TicketClock.due_at >= start,
                                  TicketClock.due_at < min(end, utcnow()))
                           .group_by(TicketClock.clock))
    return {clock: (due, met) for clock, due, met in rows}


def read_counts(session, start, end) -> dict:
    return {clock: value for (_o, _b, clock), value in stats.clock_counts(session, start, end).items()}


def test_the_figures_read_from_the_rows_equal_the_clocks_counted(session):  # R-SLA-1
    """Whole past days from the rows, today and any part of a day from the clocks."""
    customer = f.make_customer(session, f.make_outlet(session))
    now = utcnow()
    for hours in (-50, -30, -2, -1, 1, 30):  # due two days ago … tomorrow, some met in time
        ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer))
        clock = ticket.clocks[0]
        clock.due_at = now + timedelta(hours=hours)
        clock.met_at = clock.due_at - timedelta(minutes=5) if hours % 2 else None
    session.flush()
    today = local_today()
    for first, last in ((today - timedelta(days=40), today), (today - timedelta(days=3), today - timedelta(days=1)),
                        (today, today), (today.replace(day=1), today)):
        start, end = local_day_bounds(first, last)
        assert read_counts(session, start, end) == live_counts(session, start, end)
    odd = (now - timedelta(hours=49, minutes=17), now - timedelta(minutes=90))  # not at local midnights
    assert read_counts(session, *odd) == live_counts(session, *odd)


def test_whole_months_are_read_from_their_months_rows_and_give_the_same_figures(session):  # R-SLA-1
    """A period of months and odd days: the months' rows and the days' rows add up alike."""
    from backoffice.months import recent

    customer = f.make_customer(session, f.make_outlet(session))
    today = local_today()
    first = sorted(recent(today, 4))[0]
    for days in (0, 1, 20, 31, 45, 62, 80):  # spread over the months, first days included
        ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer))
        ticket.clocks[0].due_at = local_day_bounds(first, first)[0] + timedelta(days=days, hours=3)
        ticket.clocks[0].met_at = ticket.clocks[0].due_at if days % 2 else None
    session.flush()
    for low, high in ((first, today), (first + timedelta(days=3), today - timedelta(days=1)), (first, first)):
        start, end = local_day_bounds(low, high)
        assert read_counts(session, start, end) == live_counts(session, start, end)


def test_the_rows_carry_the_outlet_so_a_dealer_reads_its_own(app, session):  # R-ROLE-1
    from backoffice import access

    world = f.make_service_network(session)
    f.make_ticket(session, world["customer"], unit=f.make_unit(session, world["customer"]))
    f.make_ticket(session, f.make_customer(session, world["b"]))
    session.commit()
    with app.test_request_context():
        access.set_scope(access.scope_for(session, world["dealer_a"]))
        from models import db
        outlets = set(db.session.scalars(select(ClockStat.outlet_id).distinct()))
        outlets |= set(db.session.scalars(select(QualityStat.outlet_id).distinct()))
    assert outlets == {world["a"].id}


def test_a_ticket_registered_before_local_midnight_counts_on_that_local_day(session):
    customer = f.make_customer(session, f.make_outlet(session))
    ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer))
    clock = ticket.clocks[0]
    clock.due_at = datetime(2025, 2, 28, 15, 59, tzinfo=UTC)  # 23:59 local (UTC+8)
    session.flush()
    day = session.get(ClockStat, ("day", datetime(2025, 2, 28).date(), ticket.outlet_id, clock.clock))
    month = session.get(ClockStat, ("month", datetime(2025, 2, 1).date(), ticket.outlet_id, clock.clock))
    assert day.due == month.due == 1
