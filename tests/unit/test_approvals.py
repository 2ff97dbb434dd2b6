"""Returns, exchanges, refunds, compensation with manager approval (R-RET-1…5, R-WAR-5, R-ROLE-2):
the grounds and amounts a request may have, one remedy per purchased unit (R-RET-5), exchanges from
stock and by size (R-RET-2, R-RET-3), and who may request, decide or answer, each refusal saying why
(R-ROLE-2, R-RET-4, DOMAIN §1)."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice import approvals, intake, workflow
from backoffice.approvals import ApprovalForbidden, Draft
from backoffice.errors import FieldErrors
from backoffice.timezones import local_today
from models import ApprovalRequest, FinishedGoodsStock, MoneyPosting
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


# --- who may do what, now: approvals.actions (R-ROLE-2, R-RET-4, DOMAIN §1) ---------------------
DESK_ROLES = ("admin", "manager", "clerk", "dealer")


def waiting_request(session, requester, **fields):
    """A refund request on a fresh ticket, raised by `requester` (factory rows throughout)."""
    outlet = requester.outlet or f.make_outlet(session)
    customer = f.make_customer(session, outlet)
    ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer))
    values = dict(ticket=ticket, outlet_id=ticket.outlet_id, kind="return_refund", grounds="sanbao_window",
                  amount=Decimal("100.00"), reason="七天内质量问题，用户要求退货", requested_by=requester,
                  status="pending")
    values.update(fields)
    row = ApprovalRequest(**values)
    session.add(row)
    session.flush()
    return row


def said(verdict) -> str:
    return str(verdict.reason)


def shown(verdict) -> bool:
    """Whether the request's page says the refusal next to the withheld form."""
    return not verdict and verdict.hint


@pytest.mark.parametrize("role", DESK_ROLES)
def test_the_desk_may_request_an_approval(session, role):  # DOMAIN §1
    assert approvals.actions(session, None, f.make_user(session, role))["request"]


def test_an_engineer_may_not_request_an_approval(session):  # DOMAIN §1
    verdict = approvals.actions(session, None, f.make_user(session, "engineer"))["request"]
    assert not verdict and said(verdict) == str(approvals.NOT_A_REQUESTER)
    assert "may not request approvals" in said(verdict)


def test_nobody_signed_in_may_not_request_an_approval(session):
    assert not approvals.actions(session, None, None)["request"]


def test_an_engineer_submitting_a_request_is_refused_with_the_reason(session):  # DOMAIN §1
    ticket = heater(session)
    with pytest.raises(ApprovalForbidden) as refused:
        submit(session, ticket, user="engineer", kind="return_refund", grounds="sanbao_window",
               reason="退货", amount=Decimal("100.00"))
    assert "may not request approvals" in str(refused.value.message)


@pytest.mark.parametrize("role", ("admin", "manager"))
def test_a_manager_may_decide_a_waiting_request(session, role):  # R-RET-4
    asked = waiting_request(session, f.make_user(session, "clerk"))
    verdicts = approvals.actions(session, asked, f.make_user(session, role))
    assert all(verdicts[name] for name in ("decide", "approve", "reject", "ask_info"))


@pytest.mark.parametrize("role", ("clerk", "engineer", "dealer"))
def test_only_a_manager_may_decide(session, role):  # R-RET-4
    asked = waiting_request(session, f.make_user(session, "clerk"))
    verdicts = approvals.actions(session, asked, f.make_user(session, role))
    for name in ("decide", "approve", "reject", "ask_info"):
        assert not verdicts[name] and said(verdicts[name]) == "Only a manager decides approval requests."
    assert not shown(verdicts["decide"])  # the role alone: the page offers no form and says nothing


@pytest.mark.parametrize("role", ("manager", "admin"))
def test_the_requester_may_never_decide_their_own_request(session, role):  # R-ROLE-2
    requester = f.make_user(session, role)
    verdicts = approvals.actions(session, waiting_request(session, requester), requester)
    for name in ("decide", "approve", "reject", "ask_info"):
        assert said(verdicts[name]) == "Whoever requested an approval can never approve it."
    assert not verdicts["answer"] and shown(verdicts["answer"])  # the page says another person decides
    assert said(verdicts["answer"]) == "You requested this: another person decides it."


def test_the_first_approver_may_not_approve_again_but_may_still_reject(session):  # R-RET-4
    first, second = f.make_user(session, "manager"), f.make_user(session, "admin")
    asked = waiting_request(session, f.make_user(session, "clerk"), amount=Decimal("5999.00"), needs_second=True,
                            first_approver=first)
    verdicts = approvals.actions(session, asked, first)
    assert not verdicts["approve"] and not verdicts["decide"] and shown(verdicts["decide"])
    assert said(verdicts["approve"]) == "A second, different manager must approve this amount."
    assert verdicts["reject"] and verdicts["ask_info"]
    assert approvals.actions(session, asked, second)["approve"]


@pytest.mark.parametrize("status", ("approved", "rejected", "info_requested"))
def test_a_request_no_longer_waiting_is_not_decided(session, status):  # R-RET-4
    asked = waiting_request(session, f.make_user(session, "clerk"), status=status)
    verdicts = approvals.actions(session, asked, f.make_user(session, "manager"))
    for name in ("decide", "approve", "reject", "ask_info"):
        assert said(verdicts[name]) == "This request is no longer waiting for a decision."
    assert not shown(verdicts["decide"])


def test_the_requester_answers_what_a_manager_asked(session):  # R-RET-4
    dealer = f.make_user(session, "dealer")
    asked = waiting_request(session, dealer, status="info_requested")
    assert approvals.actions(session, asked, dealer)["answer"]
    for role in ("admin", "manager", "clerk", "engineer", "dealer"):
        other = approvals.actions(session, asked, f.make_user(session, role))["answer"]
        assert not other and not shown(other)
        assert said(other) == "Only whoever made the request answers what the manager asked."


@pytest.mark.parametrize("status", ("approved", "rejected"))
def test_nothing_is_answered_on_a_decided_request(session, status):
    dealer = f.make_user(session, "dealer")
    verdict = approvals.actions(session, waiting_request(session, dealer, status=status), dealer)["answer"]
    assert not verdict and not shown(verdict) and said(verdict) == "No information is asked for on this request."


def test_the_guards_refuse_with_the_reason(session):  # R-ROLE-2
    dealer, clerk, manager = (f.make_user(session, role) for role in ("dealer", "clerk", "manager"))
    asked = waiting_request(session, dealer)
    with pytest.raises(ApprovalForbidden) as not_a_manager:
        approvals.decide(session, asked, clerk, "approve", "同意")
    assert str(not_a_manager.value.message) == "Only a manager decides approval requests."
    with pytest.raises(ApprovalForbidden) as nothing_asked:
        approvals.answer_info(session, asked, dealer, "补充发票")
    assert str(nothing_asked.value.message) == "You requested this: another person decides it."
    with pytest.raises(FieldErrors) as unknown:  # a manager's unknown decision is a field to correct
        approvals.decide(session, asked, manager, "maybe", "再议")
    assert set(unknown.value.errors) == {"decision"} and asked.status == "pending"
    approvals.decide(session, asked, manager, "ask_info", "请上传发票照片")
    with pytest.raises(ApprovalForbidden) as not_the_requester:
        approvals.answer_info(session, asked, clerk, "已上传")
    assert str(not_the_requester.value.message) == "Only whoever made the request answers what the manager asked."
    approvals.answer_info(session, asked, dealer, "已上传发票")
    assert asked.status == "pending"


# --- R-RET-5: one return, exchange or refund per purchased unit ----------------------------------



def test_second_remedy_on_a_unit_shows_what_was_already_granted(session, world):
    refund = f.make_refund_request(session, world)
    approvals.decide(session, refund, world["manager"], "approve", "符合三包")
    again = f.make_ticket(session, world["customer"], unit=world["unit"], kind="return_exchange", actor=world["clerk"])
    errors = approvals.check(session, again, Draft(kind="exchange", grounds="sanbao_window", reason="要求换货"))
    assert "Already granted" in str(errors["kind"]) and f"#{refund.id}" in str(errors["kind"])


def test_second_remedy_request_while_one_waits_is_refused(session, world):
    waiting = f.make_refund_request(session, world)
    again = f.make_ticket(session, world["customer"], unit=world["unit"], kind="return_exchange", actor=world["clerk"])
    errors = approvals.check(session, again, Draft(kind="return_refund", grounds="sanbao_window", reason="退货",
                                                   amount=Decimal("2599.00")))
    assert f"#{waiting.id}" in str(errors["kind"])


def test_approving_a_second_remedy_of_a_unit_is_refused_naming_the_first(session, world):
    first = f.make_refund_request(session, world)
    # A second request that slipped in before the rule (or from another ticket at the same moment).
    other = f.make_ticket(session, world["customer"], unit=world["unit"], kind="return_exchange", actor=world["clerk"])
    second = ApprovalRequest(ticket=other, outlet_id=other.outlet_id, kind="return_refund", grounds="sanbao_window",
                             amount=Decimal("2599.00"), reason="重复", requested_by=world["clerk"], status="pending")
    session.add(second)
    approvals.decide(session, first, world["manager"], "approve", "同意退货")
    with pytest.raises(ApprovalForbidden) as refused:
        approvals.decide(session, second, world["manager2"], "approve", "同意")
    assert f"#{first.id}" in str(refused.value.message)
    assert first.granted_unit_id == world["unit"].id


# --- exchanges by size: the shoe line (003) stocked by size at the center ---------------------


def customer(session, km="6.5"):
    return f.make_customer(session, f.outlet(session, "SC-GZ"), distance_km=Decimal(km) if km is not None else None)


def shoe_ticket(session, **kw):
    """A shoe ticket of a customer of the center, where the shoes are stocked by size."""
    return f.make_shoe_ticket(session, owner=customer(session), **kw)


def stock_of(session, model, size):
    return session.scalar(select(FinishedGoodsStock).where(
        FinishedGoodsStock.product_model_id == model.id, FinishedGoodsStock.size == size,
        FinishedGoodsStock.outlet_id == f.outlet(session, "SC-GZ").id))


def set_stock(session, model, size, qty):
    row = stock_of(session, model, size)
    if row is None:
        row = FinishedGoodsStock(outlet=f.outlet(session, "SC-GZ"), product_model=model, size=size)
        session.add(row)
    row.qty = qty
    session.flush()
    return row


def test_size_exchange_checks_stock_of_that_size(session):  # R-RET-2
    ticket = shoe_ticket(session)
    model = ticket.unit.product_model
    set_stock(session, model, "38", 0)
    size_39 = set_stock(session, model, "39", 2)
    asks = lambda size: Draft(kind="exchange", grounds="size", reason="换大一码", target_size=size)  # noqa: E731
    assert "target_size" in approvals.check(session, ticket, asks(None))  # a size exchange names the size
    assert "target_size" in approvals.check(session, ticket, asks("37"))  # …another than the unit's own
    errors = approvals.check(session, ticket, asks("38"))
    assert "38" in str(errors["target_model_id"]) and "39" in str(errors["target_model_id"])  # offered instead
    request = approvals.submit(session, ticket, f.make_user(session, "clerk"), asks("39"))
    assert request.target_size == "39" and request.stock_outlet_id == size_39.outlet_id
    other_sizes = {s: stock_of(session, model, s).qty for s in ("36", "37")}
    approvals.decide(session, request, f.make_user(session, "manager"), "approve", "同意换39码")
    session.expire_all()
    assert stock_of(session, model, "39").qty == 1
    assert {s: stock_of(session, model, s).qty for s in ("36", "37")} == other_sizes


def test_size_out_of_stock_offers_similar_model_in_that_size_or_a_refund(session):  # R-RET-2
    ticket = shoe_ticket(session)
    model = ticket.unit.product_model
    for row in session.scalars(select(FinishedGoodsStock).where(FinishedGoodsStock.product_model_id == model.id)):
        row.qty = 0
    similar = f.make_product_model(session, category="shoes", free_installation=False)
    set_stock(session, similar, "38", 1)
    errors = approvals.check(session, ticket, Draft(kind="exchange", grounds="size", reason="换码", target_size="38"))
    assert similar.code in str(errors["target_model_id"])
    set_stock(session, similar, "38", 0)
    errors = approvals.check(session, ticket, Draft(kind="exchange", grounds="size", reason="换码", target_size="38"))
    assert "refund" in str(errors["target_model_id"])


def test_other_exchanges_ship_the_units_own_size(session):  # R-RET-2, R-RET-3
    ticket = shoe_ticket(session, size="38", category="quality")
    model = ticket.unit.product_model
    set_stock(session, model, "38", 0)
    draft = Draft(kind="exchange", grounds="unboxing_appearance", reason="开箱鞋面有划痕", target_size="40")
    assert "target_model_id" in approvals.check(session, ticket, draft)  # size 38 is out, 40 is not asked
    set_stock(session, model, "38", 1)
    draft = Draft(kind="exchange", grounds="unboxing_appearance", reason="开箱鞋面有划痕", target_size="40")
    assert approvals.check(session, ticket, draft) == {} and draft.target_size == "38"


def test_appliance_exchange_keeps_working_without_sizes(session):  # R-RET-2, sizes are "" there
    owner = customer(session)
    unit = f.make_unit(session, owner, model_code="JSQ24-12A", invoice_date=local_today() - timedelta(days=3))
    set_stock(session, unit.product_model, "", 3)
    ticket = f.make_ticket(session, owner, unit=unit)
    draft = Draft(kind="exchange", grounds="sanbao_window", reason="七天内质量问题")
    assert approvals.check(session, ticket, draft) == {} and draft.target_size == ""


# --- R-ROLE-2, R-RET-4: who may decide an approval, and the refusal says why ----------------------

def request_on(session, amount="2599.00"):
    unit = f.make_unit(session, f.make_customer(session, f.make_outlet(session)))
    unit.invoice_date, unit.price = local_today() - timedelta(days=3), Decimal("4999.00")
    ticket = intake.register_report(session, intake.Report(
        kind="return_exchange", fault="新机漏水", customer_id=unit.customer_id, unit_id=unit.id,
        outlet_id=unit.outlet_id), None)
    return approvals.submit(session, ticket, f.make_user(session, "clerk"), approvals.Draft(
        kind="return_refund", grounds="sanbao_window", reason="7天内质量问题", amount=Decimal(amount)))


def refusal(request, user, decision="approve") -> str:
    with pytest.raises(ApprovalForbidden) as refused:
        approvals.check_decider(request, user, decision)
    return str(refused.value.message)


def test_whoever_requested_an_approval_is_told_so(session):
    asked = request_on(session)
    manager = f.make_user(session, "manager")
    asked.requested_by = manager
    session.flush()
    assert refusal(asked, manager) == "Whoever requested an approval can never approve it."


def test_only_a_manager_decides(session):
    assert refusal(request_on(session), f.make_user(session, "engineer")) == "Only a manager decides approval requests."


def test_the_first_approver_is_told_a_second_manager_must_approve(session):
    asked = request_on(session, amount="4999.00")
    assert asked.needs_second
    manager = f.make_user(session, "manager")
    approvals.decide(session, asked, manager, "approve", "同意")
    session.flush()  # the first approval is saved, as at the end of its request
    assert refusal(asked, manager) == "A second, different manager must approve this amount."
    approvals.check_decider(asked, f.make_user(session, "admin"), "approve")  # another manager may
