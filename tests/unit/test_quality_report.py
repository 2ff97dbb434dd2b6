"""The monthly quality report (R-RPT-1): each figure against counts worked out by hand for rows the
factories build in a fresh outlet and a fresh product model, in months the demo data never reaches."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from backoffice import access, quality_report
from backoffice.quality_report import Limits, batch_alert
from models import ModelSales
from tests import factories as f

MONTH = date(2025, 3, 1)  # the report's month: long before the demo data's four months
LIMITS = Limits(min_faults=5, rate_percent=Decimal("1.0"), trailing_factor=Decimal("2.0"),
                trailing_months=3, sales_months=12)


def local_noon(month: date, day: int) -> datetime:
    """Noon in Guangzhou on that day, as stored (UTC)."""
    return datetime(month.year, month.month, day, 4, 0, tzinfo=UTC)


class World:
    """Two outlets, two fresh models and two fault codes and a cause code of their own."""

    def __init__(self, session):
        self.session = session
        self.outlet, self.other = f.make_outlet(session), f.make_outlet(session)
        self.model = f.make_product_model(session)
        self.second = f.make_product_model(session)
        self.ignition = f.make_fault_code(session, kind="fault", name="点火失败")
        self.noise = f.make_fault_code(session, kind="fault", name="风机噪音")
        self.thermocouple = f.make_fault_code(session, kind="cause", name="热电偶批次不良")

    def fault(self, month, day=10, *, outlet=None, model=None, fault=None, cause=None, kind="repair",
              category="quality"):
        outlet = outlet or self.outlet
        customer = f.make_customer(self.session, outlet)
        unit = f.make_unit(self.session, customer, model_code=(model or self.model).code,
                           invoice_date=month - timedelta(days=90))
        at = local_noon(month, day)
        ticket = f.make_ticket(self.session, customer, unit=unit, kind=kind, category=category,
                               created_at=at, occurred_at=at - timedelta(hours=5))
        ticket.fault_code_id = fault.id if fault else None
        ticket.cause_code_id = cause.id if cause else None
        self.session.flush()
        return ticket


@pytest.fixture
def world(session):
    return World(session)


def row_of(rows, key):
    return next(r for r in rows if r.key == key)


def test_faults_are_counted_by_model_this_month_and_the_month_before(session, world):  # R-RPT-1
    for day in (3, 9, 27):
        world.fault(MONTH, day, fault=world.ignition)
    world.fault(MONTH, 31)  # the month's last local day
    world.fault(quality_report.previous_month(MONTH), 15)
    world.fault(quality_report.previous_month(MONTH), 28)
    report = quality_report.build(session, MONTH, outlet_id=world.outlet.id)
    row = row_of(report.models, world.model.id)
    assert (row.faults, row.previous, row.change) == (4, 2, Decimal("100.0"))
    assert (report.total, report.previous_total, report.coded) == (4, 2, 3)


def test_installations_consultations_and_size_issues_are_not_faults(session, world):  # R-TKT-3
    world.fault(MONTH, kind="installation")
    world.fault(MONTH, kind="consultation")
    world.fault(MONTH, category="size")
    world.fault(MONTH, kind="return_exchange")
    report = quality_report.build(session, MONTH, outlet_id=world.outlet.id)
    assert report.total == 1


def test_a_ticket_registered_just_after_local_midnight_counts_in_the_new_month(session, world):
    ticket = world.fault(MONTH)
    ticket.created_at = datetime(2025, 2, 28, 16, 30, tzinfo=UTC)  # 00:30 on 1 March in Guangzhou
    session.flush()
    assert quality_report.build(session, MONTH, outlet_id=world.outlet.id).total == 1


def test_faults_by_fault_code_cause_code_and_outlet(session, world):  # R-RPT-1
    world.fault(MONTH, fault=world.ignition, cause=world.thermocouple)
    world.fault(MONTH, fault=world.ignition, cause=world.thermocouple)
    world.fault(MONTH, fault=world.noise)
    world.fault(quality_report.previous_month(MONTH), fault=world.noise)
    report = quality_report.build(session, MONTH, outlet_id=world.outlet.id)
    assert (row_of(report.fault_codes, world.ignition.id).faults, row_of(report.fault_codes, world.noise.id).faults,
            row_of(report.fault_codes, world.noise.id).previous) == (2, 1, 1)
    assert row_of(report.cause_codes, world.thermocouple.id).faults == 2
    assert row_of(report.cause_codes, None).faults == 1  # no cause recorded yet
    assert [(r.key, r.faults, r.previous) for r in report.outlets] == [(world.outlet.id, 3, 1)]


def test_high_frequency_problems_pair_the_model_with_its_fault(session, world):  # R-RPT-1
    for _ in range(3):
        world.fault(MONTH, fault=world.ignition)
    world.fault(MONTH, model=world.second, fault=world.noise)
    report = quality_report.build(session, MONTH, outlet_id=world.outlet.id)
    first = report.problems[0]
    assert (first.model_id, first.fault_code_id, first.faults) == (world.model.id, world.ignition.id, 3)
    assert [(p.model_id, p.faults) for p in report.problems[1:]] == [(world.second.id, 1)]


def test_a_model_whose_fault_rate_exceeds_the_policy_is_flagged(session, world):  # R-RPT-1
    for month in quality_report.months_back(MONTH, 12):
        session.add(ModelSales(product_model=world.model, month=month, units=40))  # 480 over the year
    for day in range(1, 7):
        world.fault(MONTH, day)  # 6 ÷ 480 = 1.25 %
    session.flush()
    report = quality_report.build(session, MONTH)
    row = row_of(report.models, world.model.id)
    assert (row.sold, row.rate) == (480, Decimal("1.25"))
    assert row.alert == quality_report.Alert("rate", Decimal("1.25"), Decimal("1.0"))
    assert row in report.alerts


def test_sales_before_the_policy_months_are_not_the_base(session, world):  # R-RPT-1 quality.sales_months
    session.add(ModelSales(product_model=world.model, month=date(2024, 3, 1), units=10000))  # 13 months back
    session.add(ModelSales(product_model=world.model, month=MONTH, units=100))
    session.flush()
    assert quality_report._sold(session, MONTH, 12)[world.model.id] == 100


def test_a_model_whose_faults_jump_over_its_trailing_average_is_flagged(session, world):  # R-RPT-1
    for back in (1, 2, 3):
        world.fault(quality_report.months_back(MONTH, 4)[back])  # one a month before
    for day in range(1, 7):
        world.fault(MONTH, day)
    report = quality_report.build(session, MONTH, outlet_id=world.outlet.id, with_sales=False)
    row = row_of(report.models, world.model.id)
    assert (row.trailing, row.average) == ([1, 1, 1], Decimal("1.00"))
    assert row.alert == quality_report.Alert("trailing", Decimal("6.00"), Decimal("2.0"))


def test_fewer_faults_than_the_policy_minimum_raise_no_alert(session, world):  # R-RPT-1
    for day in range(1, 5):
        world.fault(MONTH, day)  # 4 of a model never seen before
    report = quality_report.build(session, MONTH, outlet_id=world.outlet.id)
    assert row_of(report.models, world.model.id).alert is None
    f.make_policy_setting(session, "quality.batch_min_faults", "4")
    report = quality_report.build(session, MONTH, outlet_id=world.outlet.id)
    assert row_of(report.models, world.model.id).alert.basis == "trailing"


def test_the_rate_rule_follows_the_policy_percentage():
    assert batch_alert(5, 1000, [5, 5, 5], LIMITS) is None  # 0.5 %, no jump
    raised = Limits(5, Decimal("0.4"), Decimal("2.0"), 3, 12)
    assert batch_alert(5, 1000, [5, 5, 5], raised) == quality_report.Alert("rate", Decimal("0.50"), Decimal("0.4"))


def test_a_steady_model_is_not_flagged():
    assert batch_alert(7, None, [6, 7, 5], LIMITS) is None
    assert batch_alert(12, None, [6, 6, 6], LIMITS).basis == "trailing"


def test_the_trend_holds_twelve_months_oldest_first(session, world):
    world.fault(MONTH)
    world.fault(quality_report.months_back(MONTH, 12)[-1])
    world.fault(quality_report.months_back(MONTH, 13)[-1])  # before the trend
    trend = quality_report.build(session, MONTH, outlet_id=world.outlet.id).trend
    assert len(trend) == 12 and trend[0] == (date(2024, 4, 1), 1) and trend[-1] == (MONTH, 1)
    assert sum(n for _m, n in trend) == 2


def test_a_dealer_sees_only_its_outlets_faults(app, session, world):  # R-ROLE-1
    dealer = f.make_user(session, "dealer", outlet=world.outlet)
    world.fault(MONTH)
    world.fault(MONTH, outlet=world.other)
    world.fault(MONTH, outlet=world.other, model=world.second)
    with app.test_request_context():
        access.set_scope(access.scope_for(session, dealer))
        report = quality_report.build(session, MONTH, with_sales=False)
        other = quality_report.build(session, MONTH, outlet_id=world.other.id, with_sales=False)
    assert report.total == 1 and [r.key for r in report.outlets] == [world.outlet.id]
    assert world.second.id not in [r.key for r in report.models]
    assert other.total == 0


def test_a_dealers_fault_on_a_unit_another_outlet_sold_counts_under_its_model(app, session, world):
    dealer = f.make_user(session, "dealer", outlet=world.outlet)
    ticket = world.fault(MONTH)
    ticket.unit.outlet = world.other  # sold elsewhere, serviced here
    session.flush()
    with app.test_request_context():
        access.set_scope(access.scope_for(session, dealer))
        report = quality_report.build(session, MONTH, with_sales=False)
    assert [(r.key, r.faults) for r in report.models] == [(world.model.id, 1)]
