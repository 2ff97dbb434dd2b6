"""Warranty verdicts of backoffice.warranty (R-WAR-1…6): the sanbao windows and their policy lengths,
key components and replaced parts, reasons that name the last covered day, a warranty that is unknown
(not expired) without an invoice, and badges that say what the verdict is."""
from datetime import date, timedelta
from decimal import Decimal

import pytest

from backoffice import warranty
from models import Part, PolicySetting, ProductModel, ReplacedPart, Ticket, Unit
from tests import factories as f

TODAY = date(2026, 11, 22)


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


def test_part_replaced_under_service_is_covered_for_3_months_after_the_unit_expired(session):  # R-WAR-2
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
    unit = unit_bought(500)
    exchanger = Part(code="HX", name="热交换器", unit_price=Decimal(420), warranty_months=36)
    result = warranty.verdict(session, unit, TODAY, part=exchanger)
    assert result.in_warranty and result.code == "key_component"
    assert not warranty.verdict(session, unit, TODAY, part=Part(code="IG", name="点火针",
                                                                 unit_price=Decimal(12))).in_warranty


# --- R-WAR-5: the window lengths are policy records, and the badge says the length -----------

def bought_days_ago(session, days: int) -> Unit:
    customer = f.make_customer(session, f.make_outlet(session))
    return f.make_unit(session, customer, invoice_date=TODAY - timedelta(days=days))


def test_return_window_length_is_the_policy_warranty_return_days(session):  # R-WAR-5
    unit = bought_days_ago(session, 9)
    assert warranty.verdict(session, unit, TODAY).window == "exchange"
    f.make_policy_setting(session, "warranty.return_days", "10")
    result = warranty.verdict(session, unit, TODAY)
    assert result.window == "return" and result.params == {"days": 9, "limit": 10}


def test_exchange_window_length_is_the_policy_warranty_exchange_days(session):  # R-WAR-5
    unit = bought_days_ago(session, 20)
    assert warranty.verdict(session, unit, TODAY).window == "repair"
    f.make_policy_setting(session, "warranty.exchange_days", "21")
    assert warranty.verdict(session, unit, TODAY).window == "exchange"


def test_window_badge_names_the_days_of_the_policy(session):  # R-WAR-5: the text cannot lie
    unit = bought_days_ago(session, 3)
    assert warranty.verdict(session, unit, TODAY).badge == "7-day return window"
    f.make_policy_setting(session, "warranty.return_days", "10")
    assert warranty.verdict(session, unit, TODAY).badge == "10-day return window"


def test_a_past_verdict_keeps_the_window_length_it_was_decided_under(session):  # R-WAR-5
    unit = bought_days_ago(session, 12)
    decided = warranty.verdict(session, unit, TODAY)
    f.make_policy_setting(session, "warranty.exchange_days", "30")
    assert decided.badge == "15-day exchange window" and "15-day window" in decided.reason


def test_a_category_without_a_coverage_policy_gets_no_sanbao_window(session):  # R-WAR-5
    assert not warranty.sanbao_covered(session, "bicycle")
    assert warranty.sanbao_covered(session, "gas_water_heater")


# --- R-WAR-1…6: the last covered day, and a warranty unknown without an invoice -----------------

INVOICE = date(2025, 12, 3)  # 12 months: covered through 2026-12-02, expired on 2026-12-03


# Outside a request the reasons and badges read in English (the msgids).


def unit_invoiced(invoice: date | None, months=12) -> Unit:
    model = ProductModel(code="T", name="测试机型", category="gas_water_heater", warranty_months=months)
    return Unit(serial="S1", product_model=model, invoice_date=invoice)


def test_warranty_reason_names_the_last_covered_day(session):  # R-WAR-1, R-WAR-3
    last = warranty.verdict(session, unit_invoiced(INVOICE), date(2026, 12, 2))
    assert last.in_warranty and last.code == "repair"
    assert "until 2026-12-02" in last.reason and "2026-12-03" not in last.reason


def test_expired_reason_still_names_the_first_uncovered_day(session):  # R-WAR-1
    first = warranty.verdict(session, unit_invoiced(INVOICE), date(2026, 12, 3))
    assert first.in_warranty is False and first.code == "expired"
    assert "since 2026-12-03" in first.reason


def test_stored_repair_verdict_also_reads_the_last_covered_day():
    """Tickets registered before the fix keep `until` as stored: the text is made when shown."""
    stored = Ticket(in_warranty=True, warranty_window="repair", warranty_code="repair",
                    warranty_params={"until": "2026-12-03", "months": 12})
    assert "until 2026-12-02" in warranty.of_ticket(stored).reason


def test_key_component_reason_names_its_last_covered_day(session):  # R-WAR-6
    exchanger = Part(code="HX", name="热交换器", unit_price=Decimal(420), warranty_months=36)
    covered = warranty.verdict(session, unit_invoiced(INVOICE), date(2028, 12, 2), part=exchanger)
    assert covered.code == "key_component" and "until 2028-12-02" in covered.reason
    assert not warranty.verdict(session, unit_invoiced(INVOICE), date(2028, 12, 3), part=exchanger).in_warranty


def test_replaced_part_warranty_until_is_its_last_covered_day(session):  # R-WAR-2, as R-WAR-1
    replaced_on = date(2026, 1, 15)
    until = warranty.part_warranty_until(session, replaced_on)
    assert until == date(2026, 4, 14)  # 3 months: 04-15 is the first day no longer covered
    unit = f.make_unit(session, f.make_customer(session, f.make_outlet(session)))
    unit.invoice_date = replaced_on - timedelta(days=800)
    part = f.make_part(session)
    ticket = f.make_ticket(session, unit.customer, unit=unit)
    session.add(ReplacedPart(ticket_id=ticket.id, unit_id=unit.id, part=part,
                             qty=1, replaced_on=replaced_on, warranty_until=until))
    session.flush()
    covered = warranty.verdict(session, unit, until, part=part)
    assert covered.code == "part_replaced" and "until 2026-04-14" in covered.reason
    assert not warranty.verdict(session, unit, until + timedelta(days=1), part=part).in_warranty


def test_unit_without_invoice_has_unknown_warranty_not_expired(session):  # R-WAR-1
    result = warranty.verdict(session, unit_invoiced(None), date(2026, 11, 22))
    assert result.in_warranty is None and result.code == "no_invoice"
    assert warranty.verdict(session, None, date(2026, 11, 22)).in_warranty is None


def test_invoice_dated_after_the_report_leaves_the_warranty_unknown(session):  # R-WAR-1
    result = warranty.verdict(session, unit_invoiced(date(2026, 12, 1)), date(2026, 11, 22))
    assert result.in_warranty is None and result.code == "invoice_after_report"


def test_exclusion_is_a_known_no_not_unknown(session):  # R-WAR-4
    result = warranty.verdict(session, unit_invoiced(INVOICE), date(2026, 1, 30), exclusion="misuse")
    assert result.in_warranty is False




def test_ticket_of_a_unit_without_invoice_keeps_its_warranty_unknown(session):
    ticket = f.make_ticket_without_invoice(session)
    assert ticket.in_warranty is None and ticket.warranty_code == "no_invoice"
    assert warranty.of_ticket(ticket).in_warranty is None  # not turned into "expired" when read


@pytest.mark.parametrize("code,params,badge", [
    ("no_invoice", {}, "No purchase invoice"),
    ("invoice_after_report", {"invoice": "2026-12-01"}, "Invoice dated after the report"),
    ("excluded", {"cause": "misuse"}, "Not covered: misuse"),
    ("excluded", {"cause": "transport"}, "Not covered: transport damage"),
    ("expired", {"until": "2026-12-03", "months": 12}, "Out of warranty"),
    ("repair", {"until": "2026-12-03", "months": 12}, "In warranty (repair)"),
])
def test_verdict_badge_says_what_the_verdict_is(code, params, badge):  # R-WAR-3
    window = "repair" if code == "repair" else "none"
    assert warranty.Verdict(code == "repair", window, code, params).badge == badge
