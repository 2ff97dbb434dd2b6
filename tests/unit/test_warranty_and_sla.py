"""Warranty verdicts (R-WAR-1, R-WAR-4, R-WAR-5) and SLA due times (DOMAIN §4, R-SLA-1…3)."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from backoffice import sla, tickets, warranty
from models import Customer, PolicySetting, ProductModel, SlaPolicy, Ticket, Unit
from tests import factories as f

TODAY = date(2026, 11, 22)
NOON = datetime(2026, 11, 22, 4, 0, tzinfo=timezone.utc)  # 12:00 in Guangzhou


def unit_bought(days_ago: int | None, category="gas_water_heater", months=12) -> Unit:
    model = ProductModel(code="T", name="测试机型", category=category, warranty_months=months)
    invoice = TODAY - timedelta(days=days_ago) if days_ago is not None else None
    return Unit(serial="S1", product_model=model, invoice_date=invoice)


@pytest.mark.parametrize("days,window", [(0, "return"), (7, "return"), (8, "exchange"),
                                         (15, "exchange"), (16, "repair"), (100, "repair")])
def test_sanbao_windows_for_covered_categories(session, days, window):  # R-WAR-5
    result = warranty.verdict(session, unit_bought(days), TODAY)
    assert result.in_warranty and result.window == window


def test_uncovered_category_gets_plain_repair_warranty(session):  # R-WAR-5 coverage is policy
    assert warranty.verdict(session, unit_bought(3, category="shoes"), TODAY).window == "repair"


def test_coverage_of_a_category_is_a_policy_record(session):
    session.add(PolicySetting(key="warranty.sanbao.gas_stove", value="0"))
    session.flush()
    assert warranty.verdict(session, unit_bought(3, category="gas_stove"), TODAY).window == "repair"


def test_unit_14_months_old_is_out_of_warranty_with_the_reason(session):  # R-WAR-1, R-WAR-3
    result = warranty.verdict(session, unit_bought(14 * 30 + 5), TODAY)
    assert not result.in_warranty and result.window == "none"
    assert result.params["until"] == "2026-09-23" and "2026-09-23" in result.reason


def test_warranty_months_come_from_the_product_model(session):  # R-WAR-1
    assert warranty.verdict(session, unit_bought(400, months=24), TODAY).window == "repair"


def test_invoice_dated_after_the_report_gives_no_window(session):  # R-WAR-1: the invoice is proof
    result = warranty.verdict(session, unit_bought(-9), TODAY)
    assert not result.in_warranty and result.code == "invoice_after_report"
    assert "2026-12-01" in result.reason


def test_no_invoice_means_no_warranty_proof(session):  # R-WAR-1
    result = warranty.verdict(session, unit_bought(None), TODAY)
    assert not result.in_warranty and result.code == "no_invoice"


def test_misuse_is_not_covered_even_inside_the_period(session):  # R-WAR-4
    result = warranty.verdict(session, unit_bought(30), TODAY, exclusion="misuse")
    assert not result.in_warranty and result.code == "excluded"


def test_month_arithmetic_clamps_to_month_end():
    assert warranty.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)


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


def test_registration_stores_verdict_and_due_times(session):  # R-SLA-1, acceptance of issue 3
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


def test_part_replaced_under_service_is_covered_for_3_months_after_the_unit_expired(session):  # R-WAR-2
    from models import Part, ReplacedPart

    unit = session.query(Unit).first()
    unit.invoice_date = TODAY - timedelta(days=500)
    part = session.query(Part).filter_by(code="P-IGN-01").one()
    session.add(ReplacedPart(ticket_id=session.query(Ticket.id).first()[0], unit_id=unit.id, part=part,
                             qty=1, replaced_on=TODAY - timedelta(days=40),
                             warranty_until=warranty.part_warranty_until(session, TODAY - timedelta(days=40))))
    session.flush()
    assert not warranty.verdict(session, unit, TODAY).in_warranty
    claimed = warranty.verdict(session, unit, TODAY, part=part)
    assert claimed.in_warranty and claimed.code == "part_replaced"
    assert not warranty.verdict(session, unit, TODAY + timedelta(days=60), part=part).in_warranty


def test_key_component_keeps_its_longer_warranty(session):  # R-WAR-6
    from models import Part

    unit = unit_bought(500)
    exchanger = Part(code="HX", name="热交换器", unit_price=Decimal(420), warranty_months=36)
    result = warranty.verdict(session, unit, TODAY, part=exchanger)
    assert result.in_warranty and result.code == "key_component"
    assert not warranty.verdict(session, unit, TODAY, part=Part(code="IG", name="点火针",
                                                                 unit_price=Decimal(12))).in_warranty
