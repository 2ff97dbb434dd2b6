"""Service KPIs (R-RPT-2, R-CMP-4): each figure against counts worked out by hand for rows the
factories build in a fresh outlet A in March 2026 (local days), with rows just outside the month
and an outlet B the dealer of A must never see. The same world serves the screen's tests
(tests/web/test_kpi_report_screen.py)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from backoffice import access, workflow
from backoffice import service_kpis as kpis
from models import FeeClaim, ReplacedPart, ReturnVisit, TicketClock
from models.choices import Role
from tests import factories as f

PERIOD = kpis.Period(date(2026, 3, 1), date(2026, 3, 31))  # UTC [02-28 16:00, 03-31 16:00)


def utc(month, day, hour=2, minute=0) -> datetime:
    """A stored time (UTC); 02:00 UTC is 10:00 in Guangzhou, the same local day."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class KpiWorld:
    """Outlet A's March, by hand (R = repair, C = complaint; all times UTC):

    R1 unit 1, 03-02, closed, visit 5; repeated by R3      R2 unit 2, 03-03, closed, visit 4
    R3 unit 1, 03-20, resolved (repeat of R1)                R4 unit 3, 03-10, visit 2: reopened
    R5 unit 4, 02-27, closed in February (outside)           R6 unit 5, 03-31 13:00 (21:00 local), registered;
                                                             a visit made without a score
    C0 02-28 15:30 (23:30 local, February)                   C1 03-04, service quality, closed, visit 5
    C2 03-12, charges, confirmed, closed without a visit     C3 03-15, registered (not yet investigated)
    """

    def __init__(self, session):
        self.session = session
        self.a, self.b = f.make_outlet(session), f.make_outlet(session)
        self.engineer = f.make_user(session, Role.ENGINEER, outlet=self.a)
        self.desk = f.make_user(session, Role.CLERK, locale="en")
        self.manager = f.make_user(session, Role.MANAGER, locale="en")
        self.dealer_a = f.make_user(session, Role.DEALER, outlet=self.a, locale="en")
        self.dealer_b = f.make_user(session, Role.DEALER, outlet=self.b, locale="en")
        self.units = [self._unit(self.a) for _n in range(5)]
        self._repairs()
        self._complaints()
        self._clocks()
        self._parts()
        self._claims()
        self._outlet_b()
        session.commit()

    def _unit(self, outlet):
        return f.make_unit(self.session, f.make_customer(self.session, outlet), invoice_date=date(2025, 12, 1))

    def ticket(self, created, *, unit=None, kind="repair", status=None, steps=None, outlet=None):
        customer = unit.customer if unit is not None else f.make_customer(self.session, outlet or self.a)
        return f.make_ticket(self.session, customer, unit=unit, kind=kind, created_at=created,
                             occurred_at=created - timedelta(hours=1), status=status, engineer=self.engineer
                             if customer.outlet == self.a else None, desk=self.desk, steps=steps)

    def _repairs(self):
        u = self.units
        self.r1 = self.ticket(utc(3, 2), unit=u[0], status="closed")
        self.r2 = self.ticket(utc(3, 3), unit=u[1], status="closed",
                              steps={"return_visit": {"satisfaction": "4", "comment": "还行"}})
        self.r3 = self.ticket(utc(3, 20), unit=u[0], status="resolved")
        self.r4 = self.ticket(utc(3, 10), unit=u[2], status="resolved")
        workflow.perform(self.session, self.r4, "return_visit", self.desk,
                         {"satisfaction": "2", "comment": "仍然点不着火"}, utc(3, 11))  # R-TKT-4: reopened
        self.r5 = self.ticket(utc(2, 27), unit=u[3], status="closed")
        self.r6 = self.ticket(utc(3, 31, 13), unit=u[4])
        self.session.add(ReturnVisit(ticket=self.r6, kind="service", due_at=utc(3, 31, 14), done_at=utc(3, 31, 14)))
        self.session.flush()

    def _complaints(self):
        self.c0 = self.ticket(utc(2, 28, 15, 30), kind="complaint")
        self.c1 = self.ticket(utc(3, 4), kind="complaint", status="closed")
        self.c2 = self.ticket(utc(3, 12), kind="complaint", status="resolved", steps={
            "investigate": {"complaint_class": "charges", "investigation": "网点多收上门费50元属实",
                            "promised_result": "退还多收费用", "promised_at": "2026-03-13T10:00",
                            "against_staff": str(self.engineer.id), "substantiated": "y"},
            "settle": {"resolution": "退还50元并通报批评网点"}})
        self.c2.status, self.c2.closed_at = "closed", utc(3, 12, 9)  # closed without its return visit
        self.c3 = self.ticket(utc(3, 15), kind="complaint")
        self.session.flush()

    def _clocks(self):
        """The SLA clocks, set by hand in place of those the workflow started."""
        ids = [t.id for t in (self.r1, self.r2, self.r3, self.r4, self.r5, self.r6, self.c0, self.c1, self.c2, self.c3)]
        for clock in self.session.scalars(select(TicketClock).where(TicketClock.ticket_id.in_(ids))):
            self.session.delete(clock)  # through the ORM: the summary rows follow (backoffice.stats)
        self.session.flush()
        self.session.expire_all()
        for ticket, clock, due, met, extra in (
            (self.r2, "response", utc(3, 3, 4), utc(3, 3, 3), {}),  # met
            (self.r3, "response", utc(3, 20, 4), utc(3, 20, 5), {}),  # met late
            (self.r1, "dispatch", utc(3, 2, 10), None, {}),  # never met
            (self.r2, "resolve", utc(3, 5), utc(3, 4), {}),  # met
            (self.r6, "response", utc(3, 31, 17), None, {}),  # 04-01 01:00 local: next month
            (self.r4, "resolve", utc(3, 12), utc(3, 11), {"superseded_at": utc(3, 11)}),  # an earlier round
            (self.r4, "resolve", utc(3, 14), None, {"paused_since": utc(3, 13)}),  # paused, fell due: a miss
            (self.c1, "answer", utc(3, 5), utc(3, 4, 3), {}),  # met
            (self.r5, "response", utc(2, 27, 4), utc(2, 27, 3), {}),  # February
        ):
            self.session.add(TicketClock(ticket_id=ticket.id, clock=clock, due_at=due, met_at=met, **extra))
        self.session.flush()

    def _parts(self):
        self.p1 = f.make_part(self.session, unit_price=Decimal("46.00"))
        self.p2 = f.make_part(self.session, name="点火针", unit_price=Decimal("120.50"))
        fitted = ((self.r1, self.p1, 2, date(2026, 3, 2)), (self.r2, self.p2, 1, date(2026, 3, 3)),
                  (self.r3, self.p1, 1, date(2026, 3, 20)), (self.r5, self.p1, 5, date(2026, 2, 27)),  # February
                  (self.r6, self.p2, 1, date(2026, 4, 1)))  # April
        for ticket, part, qty, day in fitted:
            self.session.add(ReplacedPart(ticket=ticket, part=part, qty=qty, replaced_on=day, unit_id=ticket.unit_id,
                                          warranty_until=day + timedelta(days=365)))
        self.session.flush()

    def claim(self, ticket, status, claimed, approved, created, **kw):
        row = FeeClaim(number=f"FW{ticket.number}", ticket=ticket, outlet_id=ticket.outlet_id, status=status,
                       labor_rate=Decimal("40.00"), labor_amount=Decimal(claimed), travel_amount=Decimal("0.00"),
                       parts_amount=Decimal("0.00"), claimed_total=Decimal(claimed),
                       approved_total=None if approved is None else Decimal(approved), created_at=created, **kw)
        self.session.add(row)
        return row

    def _claims(self):
        self.claim(self.r1, "approved", "100.00", "100.00", utc(3, 5))
        self.claim(self.r2, "adjusted", "80.00", "60.00", utc(3, 6))
        self.claim(self.r3, "rejected", "50.00", "0.00", utc(3, 21))
        self.claim(self.r4, "settled", "70.00", "65.00", utc(3, 11), overcharge=Decimal("5.00"),
                   charge_back=Decimal("50.00"))
        self.claim(self.r6, "claimed", "30.00", None, utc(3, 31, 13, 30))
        self.claim(self.r5, "approved", "40.00", "40.00", utc(2, 27))
        self.session.flush()

    def _outlet_b(self):
        """Outlet B's March: figures that would change every one of A's if they leaked."""
        self.b_repair = self.ticket(utc(3, 5), unit=self._unit(self.b), status="closed",
                                    steps={"return_visit": {"satisfaction": "3", "comment": "一般"}})
        self.b_complaint = self.ticket(utc(3, 6), kind="complaint", outlet=self.b)
        self.session.add(ReplacedPart(ticket=self.b_repair, part=self.p1, qty=7, replaced_on=date(2026, 3, 5),
                                      unit_id=self.b_repair.unit_id, warranty_until=date(2027, 3, 5)))
        self.claim(self.b_repair, "approved", "500.00", "500.00", utc(3, 7))
        self.session.flush()


@pytest.fixture
def world(session):
    return KpiWorld(session)


def scoped_report(app, session, user, outlet_id=None):
    with app.test_request_context():
        access.set_scope(access.scope_for(session, user))
        return kpis.report(session, PERIOD, outlet_id)


# --- the figures, outlet A, March 2026 ----------------------------------------------------------

def test_sla_compliance_counts_the_current_rounds_due_in_the_period(session, world):  # R-SLA-1
    report = kpis.report(session, PERIOD, world.a.id)
    assert [(c.clock, c.due, c.met, c.rate) for c in report.compliance] == [
        ("response", 2, 1, Decimal("50.0")), ("dispatch", 1, 0, Decimal("0.0")), ("onsite", 0, 0, None),
        ("resolve", 2, 1, Decimal("50.0")), ("answer", 1, 1, Decimal("100.0"))]
    [row] = report.compliance_by_outlet
    assert (row.outlet_id, row.code) == (world.a.id, world.a.code)
    assert row.values == tuple(report.compliance)


def test_sla_by_outlet_is_one_row_per_outlet_seen(session, world):
    report = kpis.report(session, PERIOD)
    rows = {row.outlet_id: row for row in report.compliance_by_outlet}
    assert rows[world.a.id].values == tuple(kpis.clock_compliance(session, *PERIOD.bounds, world.a.id))
    assert world.b.id in rows  # B's own clocks, started by the workflow
    for index, clock in enumerate(report.compliance):  # the network's figure is the outlets' sum
        assert clock.due == sum(row.values[index].due for row in rows.values())


def test_first_time_fix_excludes_reopened_and_repeated_repairs(session, world):
    """R1 repeated by R3, R4 reopened: 2 of the 4 repairs first resolved in March (R2, R3)."""
    assert world.r3.repeat_of_id == world.r1.id  # R-TKT-9, linked at registration
    assert kpis.report(session, PERIOD, world.a.id).first_time_fix == kpis.Share(2, 4)
    assert kpis.Share(2, 4).rate == Decimal("50.0")


def test_first_time_fix_counts_a_ticket_in_the_month_of_its_first_resolution(session, world):
    february = kpis.Period(date(2026, 2, 1), date(2026, 2, 28))
    assert kpis.report(session, february, world.a.id).first_time_fix == kpis.Share(1, 1)  # R5


def test_repeat_repairs_are_repeats_or_reopened_among_the_periods_repairs(session, world):  # R-TKT-9
    assert kpis.report(session, PERIOD, world.a.id).repeats == kpis.Share(2, 5)  # R3, R4 of R1 R2 R3 R4 R6


def test_return_visit_coverage_lists_the_complaints_lacking_a_visit(session, world):  # R-RPT-2
    report = kpis.report(session, PERIOD, world.a.id)
    assert report.coverage == kpis.Share(3, 4)  # R1 R2 C1 of R1 R2 C1 C2
    assert report.complaint_coverage == kpis.Share(1, 2)
    assert [(c.ticket_id, c.number) for c in report.lacking_visit] == [(world.c2.id, world.c2.number)]


def test_satisfaction_distribution_and_mean(session, world):
    report = kpis.report(session, PERIOD, world.a.id)
    assert report.satisfaction.counts == {1: 0, 2: 1, 3: 0, 4: 1, 5: 2}
    assert (report.satisfaction.unscored, report.satisfaction.total) == (1, 5)
    assert report.satisfaction.mean == Decimal("4.00")  # (5 + 5 + 4 + 2) / 4


def test_complaints_by_class_and_outlet_with_causes_and_measures(session, world):  # R-CMP-1, R-CMP-4
    report = kpis.report(session, PERIOD, world.a.id)
    assert report.complaints_by_class == [("charges", 1, 1), ("service_quality", 1, 0), (None, 1, 0)]
    assert [(r.outlet_id, r.values) for r in report.complaints_by_outlet] == [(world.a.id, (3, 1))]
    assert report.complaints_total == 3
    c1, c2, c3 = report.complaints
    assert [c.number for c in report.complaints] == [world.c1.number, world.c2.number, world.c3.number]
    assert (c2.complaint_class, c2.investigation, c2.promised_result, c2.resolution, c2.substantiated) == (
        "charges", "网点多收上门费50元属实", "退还多收费用", "退还50元并通报批评网点", True)
    assert (c1.complaint_class, c1.substantiated, c1.status) == ("service_quality", False, "closed")
    assert (c3.complaint_class, c3.investigation, c3.status) == (None, "", "registered")


def test_parts_consumption_by_outlet_and_part_at_the_price_list(session, world):
    report = kpis.report(session, PERIOD, world.a.id)
    assert [(r.outlet_id, r.values) for r in report.parts_by_outlet] == [(world.a.id, (4, Decimal("258.50")))]
    assert report.parts_by_part == [(world.p1.id, world.p1.code, world.p1.name, 3, Decimal("138.00")),
                                    (world.p2.id, world.p2.code, world.p2.name, 1, Decimal("120.50"))]


def test_fee_claims_and_adjustments_by_outlet(session, world):  # R-FEE-1/2
    [row] = kpis.report(session, PERIOD, world.a.id).claims_by_outlet
    assert kpis.CLAIM_STATES == ("claimed", "approved", "adjusted", "rejected", "settled")
    assert row.values == (5, 1, 1, 1, 1, 1, Decimal("330.00"), Decimal("225.00"), 2, Decimal("25.00"),
                          Decimal("50.00"))


def test_column_totals_sum_each_column():
    rows = [kpis.OutletRow(1, "A", "a", (1, Decimal("2.50"))), kpis.OutletRow(2, "B", "b", (3, Decimal("1.00")))]
    assert kpis.column_totals(rows) == (4, Decimal("3.50"))
    assert kpis.column_totals([]) == ()


# --- scope -----------------------------------------------------------------------------------------

def test_dealer_sees_only_its_outlets_kpis(app, session, world):  # R-ROLE-1
    mine = kpis.report(session, PERIOD, world.a.id)
    seen = scoped_report(app, session, world.dealer_a)
    assert {r.outlet_id for r in seen.compliance_by_outlet + seen.complaints_by_outlet + seen.parts_by_outlet
            + seen.claims_by_outlet} == {world.a.id}
    for name in ("compliance", "first_time_fix", "repeats", "coverage", "complaint_coverage", "lacking_visit",
                 "satisfaction", "complaints_by_class", "complaints", "parts_by_part"):
        assert getattr(seen, name) == getattr(mine, name), name


def test_a_dealer_asking_for_another_outlet_gets_nothing_of_it(app, session, world):
    """The view refuses an outlet outside the list; even asked directly, the scope shows nothing."""
    seen = scoped_report(app, session, world.dealer_a, world.b.id)
    assert seen.repeats == kpis.Share(0, 0) and seen.complaints == [] and seen.claims_by_outlet == []
    assert all(c.due == 0 for c in seen.compliance)


def test_the_report_runs_the_same_number_of_queries_for_any_number_of_outlets(app, session, world):
    def count(outlet_id=None):
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(session.get_bind(), "before_cursor_execute", listener)
        try:
            kpis.report(session, PERIOD, outlet_id)
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", listener)
        return len(statements)

    network = count()
    f.make_outlet(session)
    assert count() == network <= 14
    assert count(world.a.id) == network


# --- the period ------------------------------------------------------------------------------------

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(("first", "last", "expected"), [
    ("", "", (date(2026, 12, 1), TODAY)),
    ("2026-03-01", "2026-03-31", (date(2026, 3, 1), date(2026, 3, 31))),
    ("2026-03-05", "", (date(2026, 3, 5), TODAY)),  # no end: up to today
    ("", "2026-03-20", (date(2026, 3, 1), date(2026, 3, 20))),  # no start: the end's month
    ("2024-01-01", "2026-12-02", (date(2024, 1, 1), TODAY)),  # three years and a month are fine
])
def test_a_period_as_typed(first, last, expected):
    period, problem = kpis.parse_period(first, last, TODAY)
    assert ((period.first, period.last), problem) == (expected, None)


@pytest.mark.parametrize(("first", "last", "problem"), [
    ("2026-13-01", "", kpis.BAD_DAY), ("2026-02-30", "2026-03-01", kpis.BAD_DAY), ("yesterday", "", kpis.BAD_DAY),
    ("١٢٣٤-01-01", "", kpis.BAD_DAY), ("1999-12-31", "2000-01-02", kpis.BAD_DAY),
    ("2026-03-31", "2026-03-01", kpis.BACKWARDS), ("2020-01-01", "2026-03-01", kpis.TOO_LONG),
])
def test_a_bad_period_is_this_month_with_the_reason(first, last, problem):
    period, found = kpis.parse_period(first, last, TODAY)
    assert (period.first, period.last, found) == (date(2026, 12, 1), TODAY, problem)
