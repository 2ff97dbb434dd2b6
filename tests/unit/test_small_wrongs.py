"""Issue 10 point 9, "smaller wrongs": warranty dates, unknown warranty, verdict badges and the
refusals of an approval decision (R-WAR-1…6, R-ROLE-2)."""
from datetime import date, timedelta
from decimal import Decimal

import pytest

from backoffice import approvals, intake, warranty, workflow
from backoffice.approvals import ApprovalForbidden
from backoffice.timezones import local_today
from models import Part, ProductModel, ReplacedPart, Ticket, Unit
from tests import factories as f

INVOICE = date(2025, 12, 3)  # 12 months: covered through 2026-12-02, expired on 2026-12-03
# Outside a request the reasons and badges read in English (the msgids).


def unit_bought(invoice: date | None, months=12) -> Unit:
    model = ProductModel(code="T", name="测试机型", category="gas_water_heater", warranty_months=months)
    return Unit(serial="S1", product_model=model, invoice_date=invoice)


def test_warranty_reason_names_the_last_covered_day(session):  # R-WAR-1, R-WAR-3
    last = warranty.verdict(session, unit_bought(INVOICE), date(2026, 12, 2))
    assert last.in_warranty and last.code == "repair"
    assert "until 2026-12-02" in last.reason and "2026-12-03" not in last.reason


def test_expired_reason_still_names_the_first_uncovered_day(session):  # R-WAR-1
    first = warranty.verdict(session, unit_bought(INVOICE), date(2026, 12, 3))
    assert first.in_warranty is False and first.code == "expired"
    assert "since 2026-12-03" in first.reason


def test_stored_repair_verdict_also_reads_the_last_covered_day():
    """Tickets registered before the fix keep `until` as stored: the text is made when shown."""
    stored = Ticket(in_warranty=True, warranty_window="repair", warranty_code="repair",
                    warranty_params={"until": "2026-12-03", "months": 12})
    assert "until 2026-12-02" in warranty.of_ticket(stored).reason


def test_key_component_reason_names_its_last_covered_day(session):  # R-WAR-6
    exchanger = Part(code="HX", name="热交换器", unit_price=Decimal(420), warranty_months=36)
    covered = warranty.verdict(session, unit_bought(INVOICE), date(2028, 12, 2), part=exchanger)
    assert covered.code == "key_component" and "until 2028-12-02" in covered.reason
    assert not warranty.verdict(session, unit_bought(INVOICE), date(2028, 12, 3), part=exchanger).in_warranty


def test_replaced_part_warranty_until_is_its_last_covered_day(session):  # R-WAR-2, as R-WAR-1
    replaced_on = date(2026, 1, 15)
    until = warranty.part_warranty_until(session, replaced_on)
    assert until == date(2026, 4, 14)  # 3 months: 04-15 is the first day no longer covered
    unit = session.query(Unit).first()
    unit.invoice_date = replaced_on - timedelta(days=800)
    part = session.query(Part).filter_by(code="P-IGN-01").one()
    session.add(ReplacedPart(ticket_id=session.query(Ticket.id).first()[0], unit_id=unit.id, part=part,
                             qty=1, replaced_on=replaced_on, warranty_until=until))
    session.flush()
    covered = warranty.verdict(session, unit, until, part=part)
    assert covered.code == "part_replaced" and "until 2026-04-14" in covered.reason
    assert not warranty.verdict(session, unit, until + timedelta(days=1), part=part).in_warranty


def test_unit_without_invoice_has_unknown_warranty_not_expired(session):  # R-WAR-1
    result = warranty.verdict(session, unit_bought(None), date(2026, 11, 22))
    assert result.in_warranty is None and result.code == "no_invoice"
    assert warranty.verdict(session, None, date(2026, 11, 22)).in_warranty is None


def test_invoice_dated_after_the_report_leaves_the_warranty_unknown(session):  # R-WAR-1
    result = warranty.verdict(session, unit_bought(date(2026, 12, 1)), date(2026, 11, 22))
    assert result.in_warranty is None and result.code == "invoice_after_report"


def test_exclusion_is_a_known_no_not_unknown(session):  # R-WAR-4
    result = warranty.verdict(session, unit_bought(INVOICE), date(2026, 1, 30), exclusion="misuse")
    assert result.in_warranty is False


def registered_without_invoice(session) -> Ticket:
    unit = f.unit_of(session, "SC-GZ")
    unit.invoice_date = None
    return intake.register_report(session, intake.Report(
        kind="repair", fault="热水器打不着火", customer_id=unit.customer_id, unit_id=unit.id,
        outlet_id=unit.outlet_id), f.user(session, "clerk"))


def test_ticket_of_a_unit_without_invoice_keeps_its_warranty_unknown(session):
    ticket = registered_without_invoice(session)
    assert ticket.in_warranty is None and ticket.warranty_code == "no_invoice"
    assert warranty.of_ticket(ticket).in_warranty is None  # not turned into "expired" when read


def test_unknown_warranty_does_not_force_a_fee_list(session):  # R-TKT-4 asks fees when out of warranty
    ticket = registered_without_invoice(session)
    clerk = f.user(session, "clerk")
    workflow.perform(session, ticket, "diagnose", clerk, {"service_mode": "onsite", "severity": "minor",
                                                          "note": "点火针积碳"})
    workflow.perform(session, ticket, "propose", clerk, {"note": "先检测，确认发票后再定费用"})
    assert ticket.status == "solution_proposed"


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


# --- who may decide an approval: the refusal says why (R-ROLE-2) ------------------------------
def request_on(session, amount="2599.00"):
    unit = f.unit_of(session, "SC-GZ")
    unit.invoice_date, unit.price = local_today() - timedelta(days=3), Decimal("4999.00")
    ticket = intake.register_report(session, intake.Report(
        kind="return_exchange", fault="新机漏水", customer_id=unit.customer_id, unit_id=unit.id,
        outlet_id=unit.outlet_id), None)
    return approvals.submit(session, ticket, f.user(session, "clerk"), approvals.Draft(
        kind="return_refund", grounds="sanbao_window", reason="7天内质量问题", amount=Decimal(amount)))


def refusal(request, user, decision="approve") -> str:
    with pytest.raises(ApprovalForbidden) as refused:
        approvals.check_decider(request, user, decision)
    return str(refused.value.message)


def test_whoever_requested_an_approval_is_told_so(session):
    asked = request_on(session)
    asked.requested_by = f.user(session, "manager")
    session.flush()
    assert refusal(asked, f.user(session, "manager")) == "Whoever requested an approval can never approve it."


def test_only_a_manager_decides(session):
    assert refusal(request_on(session), f.user(session, "engineer")) == "Only a manager decides approval requests."


def test_the_first_approver_is_told_a_second_manager_must_approve(session):
    asked = request_on(session, amount="4999.00")
    assert asked.needs_second
    approvals.decide(session, asked, f.user(session, "manager"), "approve", "同意")
    assert refusal(asked, f.user(session, "manager")) == "A second, different manager must approve this amount."
    approvals.check_decider(asked, f.user(session, "admin"), "approve")  # another manager may
