"""Returns, exchanges, refunds, compensation with manager approval (R-RET-1…4, R-WAR-5, R-ROLE-2)."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice import approvals, intake, workflow
from backoffice.approvals import ApprovalForbidden, Draft
from backoffice.errors import FieldErrors
from backoffice.timezones import local_today
from models import FinishedGoodsStock, MoneyPosting
from tests import factories as f


def heater(session, days_old=3, price="2599.00", outlet="GZ-TH"):
    unit = f.unit_of(session, outlet)
    unit.invoice_date = local_today() - timedelta(days=days_old)
    unit.price = Decimal(price)
    return intake.register_report(session, intake.Report(
        kind="return_exchange", fault="热水器不出热水", customer_id=unit.customer_id, unit_id=unit.id,
        outlet_id=unit.outlet_id), f.user(session, "dealer1"))


def diagnosed(session, ticket):
    workflow.perform(session, ticket, "diagnose", f.user(session, "engineer"),
                     {"service_mode": "onsite", "severity": "major", "note": "热交换器烧穿，无法修复"})
    return ticket


def submit(session, ticket, user="dealer1", **draft):
    return approvals.submit(session, ticket, f.user(session, user), Draft(**draft))


@pytest.mark.parametrize("days,kind,ok", [(5, "return_refund", True), (9, "return_refund", False),
                                          (12, "exchange", True), (20, "exchange", False)])
def test_sanbao_windows_decide_returns_and_exchanges(session, days, kind, ok):  # R-WAR-5
    ticket = heater(session, days_old=days)
    draft = Draft(kind=kind, grounds="sanbao_window", reason="三包期内", amount=Decimal("2599.00"))
    assert (approvals.check(session, ticket, draft) == {}) is ok


def test_unrepairable_unit_can_be_exchanged_outside_the_window(session):  # R-RET-1
    ticket = diagnosed(session, heater(session, days_old=200))
    assert approvals.check(session, ticket, Draft(kind="exchange", grounds="unrepairable", reason="无法修复")) == {}


def test_still_faulty_needs_an_earlier_repair_on_record(session):  # R-RET-1
    ticket = diagnosed(session, heater(session, days_old=200))
    errors = approvals.check(session, ticket, Draft(kind="exchange", grounds="still_faulty", reason="修后仍坏"))
    assert "grounds" in errors


def test_refund_is_at_most_the_purchase_price(session):  # R-RET-1
    ticket = heater(session)
    errors = approvals.check(session, ticket, Draft(kind="return_refund", grounds="sanbao_window",
                                                    reason="退货", amount=Decimal("2600.00")))
    assert "amount" in errors


def test_extra_compensation_is_capped_by_policy(session):  # R-RET-1
    ticket = diagnosed(session, heater(session, days_old=200))
    over = Draft(kind="extra_compensation", grounds="unrepairable", reason="误工", amount=Decimal("260.00"))
    under = Draft(kind="extra_compensation", grounds="unrepairable", reason="误工", amount=Decimal("259.90"))
    assert "amount" in approvals.check(session, ticket, over)  # 10 % of ¥2,599.00 = ¥259.90
    assert approvals.check(session, ticket, under) == {}


def test_injury_goes_to_legal_handling(session):  # R-RET-1
    errors = approvals.check(session, heater(session), Draft(kind="extra_compensation", grounds="injury",
                                                             reason="烫伤", amount=Decimal(100)))
    assert "grounds" in errors


def test_exchange_without_stock_offers_similar_models_or_refund(session):  # R-RET-2
    ticket = heater(session)
    model = ticket.unit.product_model
    for row in session.scalars(select(FinishedGoodsStock).where(FinishedGoodsStock.product_model_id == model.id)):
        row.qty = 0
    session.flush()
    errors = approvals.check(session, ticket, Draft(kind="exchange", grounds="sanbao_window", reason="换机"))
    assert "target_model_id" in errors and model.code in str(errors["target_model_id"])


def test_requester_can_never_approve_their_own_request(session):  # R-ROLE-2
    ticket = heater(session)
    request = submit(session, ticket, user="manager", kind="return_refund", grounds="sanbao_window",
                     reason="七天无理由", amount=Decimal("2599.00"))
    with pytest.raises(ApprovalForbidden):
        approvals.decide(session, request, f.user(session, "manager"), "approve", "同意")


def test_only_managers_decide(session):  # R-RET-4
    request = submit(session, heater(session), kind="return_refund", grounds="sanbao_window", reason="退货",
                     amount=Decimal("1000.00"))
    with pytest.raises(ApprovalForbidden):
        approvals.decide(session, request, f.user(session, "clerk"), "approve", "同意")


def test_approved_refund_posts_once_and_the_timeline_shows_it(session):  # R-RET-4
    ticket = heater(session)
    request = submit(session, ticket, kind="return_refund", grounds="sanbao_window", reason="退货退款",
                     amount=Decimal("2599.00"))
    approvals.decide(session, request, f.user(session, "manager"), "approve", "符合三包")
    session.flush()
    postings = session.scalars(select(MoneyPosting).where(MoneyPosting.request_id == request.id)).all()
    assert len(postings) == 1 and postings[0].amount == Decimal("2599.00")
    assert [e.action for e in ticket.events][-3:] == ["approval_requested", "approval_approve", "status"]
    assert ticket.status == "returning"  # R-RET-5: on the return path now
    with pytest.raises(ApprovalForbidden):  # deciding again posts nothing
        approvals.decide(session, request, f.user(session, "admin"), "approve", "再批一次")


def test_large_amounts_need_a_second_different_manager(session):  # R-RET-4
    ticket = heater(session, price="5999.00")
    request = submit(session, ticket, kind="return_refund", grounds="sanbao_window", reason="退货",
                     amount=Decimal("5999.00"))
    assert request.needs_second
    approvals.decide(session, request, f.user(session, "manager"), "approve", "同意")
    assert request.status == "pending" and request.posting is None
    with pytest.raises(ApprovalForbidden):
        approvals.decide(session, request, f.user(session, "manager"), "approve", "再次同意")
    approvals.decide(session, request, f.user(session, "admin"), "approve", "复核同意")
    assert request.status == "approved"


def test_manager_may_ask_for_more_information(session):
    request = submit(session, heater(session), kind="return_refund", grounds="sanbao_window", reason="退货",
                     amount=Decimal("100.00"))
    approvals.decide(session, request, f.user(session, "manager"), "ask_info", "请上传发票照片")
    assert request.status == "info_requested"
    approvals.answer_info(session, request, f.user(session, "dealer1"), "已上传发票")
    assert request.status == "pending" and "已上传发票" in request.reason


def test_a_decision_needs_a_reason(session):
    request = submit(session, heater(session), kind="return_refund", grounds="sanbao_window", reason="退货",
                     amount=Decimal("100.00"))
    with pytest.raises(FieldErrors):
        approvals.decide(session, request, f.user(session, "manager"), "reject", "")


def test_approved_exchange_takes_one_unit_from_stock(session):
    ticket = heater(session)
    request = submit(session, ticket, kind="exchange", grounds="sanbao_window", reason="换同型号")
    stock = session.scalar(select(FinishedGoodsStock).where(
        FinishedGoodsStock.outlet_id == request.stock_outlet_id,
        FinishedGoodsStock.product_model_id == request.target_model_id))
    before = stock.qty
    approvals.decide(session, request, f.user(session, "manager"), "approve", "同意换机")
    session.expire(stock)
    assert stock.qty == before - 1


def test_approved_verdict_override_changes_the_verdict(session):  # R-WAR-5
    ticket = heater(session, days_old=500)
    assert not ticket.in_warranty
    request = submit(session, ticket, user="clerk", kind="verdict_override", grounds="batch_failure",
                     reason="同批次比例阀批量失效", requested_window="repair")
    approvals.decide(session, request, f.user(session, "manager"), "approve", "按批次问题处理")
    assert ticket.in_warranty and ticket.warranty_code == "override"
