"""Issue 10: the service desk's rules for every role, on a world built with factories.

Scope of writes (R-ROLE-1), dispatch in the network, one remedy per purchase (R-RET-5), one
customer per caller (R-CUS-1), complaints without a unit, SLA after reopen and at intake
(R-SLA-3, R-SLA-4), intake that derives the outlet and keeps the purchase data, and the return
path after an approved refund or exchange.
"""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice import access, approvals, dispatching, intake, sla, workflow
from backoffice.approvals import ApprovalForbidden, Draft
from backoffice.errors import FieldErrors, OutOfScope
from backoffice.timezones import local_today
from models import ApprovalRequest, Customer, MoneyPosting, Ticket, TicketClock, utcnow
from models.choices import ApprovalStatus, Clock, Role, TicketStatus
from tests import factories as f


@pytest.fixture
def world(session):
    """Two dealer outlets with a dealer and an engineer each; the center's clerk, engineer and
    two managers; a customer of outlet A with a new gas water heater."""
    a, b = f.make_outlet(session), f.make_outlet(session)
    center = f.outlet(session, "SC-GZ")
    w = dict(a=a, b=b, center=center,
             dealer_a=f.make_user(session, Role.DEALER, outlet=a), dealer_b=f.make_user(session, Role.DEALER, outlet=b),
             engineer_a=f.make_user(session, Role.ENGINEER, outlet=a),
             engineer_b=f.make_user(session, Role.ENGINEER, outlet=b),
             center_engineer=f.make_user(session, Role.ENGINEER, outlet=center),
             clerk=f.make_user(session, Role.CLERK), manager=f.make_user(session, Role.MANAGER),
             manager2=f.make_user(session, Role.MANAGER))
    w["customer"] = f.make_customer(session, a)
    w["unit"] = f.make_unit(session, w["customer"], invoice_date=local_today() - timedelta(days=3),
                            price=Decimal("2599.00"))
    session.commit()
    return w


def scope_of(session, user):
    return access.scope_for(session, user)


# --- 1. the write guard reads the outlet from the relationship too (R-ROLE-1) -----------------

def test_dealer_may_create_a_ticket_on_own_outlet_before_the_flush_sets_outlet_id(session, world):
    ticket = Ticket(outlet=world["a"], customer=world["customer"], kind="repair", channel="walk_in",
                    fault_description="不点火")
    assert ticket.outlet_id is None
    access.check_writable(scope_of(session, world["dealer_a"]), ticket)  # no OutOfScope


def test_dealer_cannot_create_a_ticket_on_another_outlet_through_the_relationship(session, world):
    ticket = Ticket(outlet=world["b"], customer=world["customer"], kind="repair", channel="walk_in",
                    fault_description="不点火")
    with pytest.raises(OutOfScope):
        access.check_writable(scope_of(session, world["dealer_a"]), ticket)


def test_dealer_cannot_move_a_row_by_repointing_its_outlet_relationship(session, world):
    customer = world["customer"]
    customer.outlet = world["b"]  # the column still holds outlet A until the flush
    with pytest.raises(OutOfScope):
        access.check_writable(scope_of(session, world["dealer_a"]), customer)
    session.rollback()


# --- 2. dispatch offers the serving outlet's and the center's engineers ----------------------

def test_engineers_offered_are_the_serving_outlets_and_the_centers_only(session, world):
    offered = dispatching.eligible_engineers(session, world["a"].id)
    assert world["engineer_a"] in offered and world["center_engineer"] in offered
    assert world["engineer_b"] not in offered


def test_inactive_engineer_is_not_offered(session, world):
    world["engineer_a"].active = False
    assert world["engineer_a"] not in dispatching.eligible_engineers(session, world["a"].id)


def test_dispatching_another_outlets_engineer_is_refused(session, world):
    ticket = _agreed_onsite(session, world)
    with pytest.raises(FieldErrors) as refused:
        workflow.perform(session, ticket, "dispatch", world["clerk"],
                         {"engineer": str(world["engineer_b"].id), "appointment_at": "2026-12-30T10:00"})
    assert "engineer" in refused.value.errors


def test_dealer_dispatches_its_own_engineer(session, world):
    ticket = _agreed_onsite(session, world)
    workflow.perform(session, ticket, "dispatch", world["dealer_a"],
                     {"engineer": str(world["engineer_a"].id), "appointment_at": "2026-12-30T10:00"})
    assert ticket.status == TicketStatus.DISPATCHED and ticket.assigned_engineer is world["engineer_a"]


def test_engineer_label_names_the_outlet(session, world):
    assert world["a"].name in dispatching.engineer_label(world["engineer_a"])


def _agreed_onsite(session, world, customer=None, unit=None):
    ticket = f.make_ticket(session, customer or world["customer"], unit=unit or world["unit"], actor=world["clerk"])
    workflow.perform(session, ticket, "diagnose", world["center_engineer"],
                     {"service_mode": "onsite", "severity": "major", "note": "需上门"})
    workflow.perform(session, ticket, "propose", world["center_engineer"], {"note": "上门检修"})
    workflow.perform(session, ticket, "agree", world["clerk"], {})
    return ticket


# --- 3. one approved return, exchange or refund per purchased unit (R-RET-5) -----------------

def _refund_requested(session, world, ticket=None):
    ticket = ticket or f.make_ticket(session, world["customer"], unit=world["unit"], kind="return_exchange",
                                     actor=world["clerk"])
    return approvals.submit(session, ticket, world["clerk"], Draft(
        kind="return_refund", grounds="sanbao_window", reason="7天内性能故障", amount=Decimal("2599.00")))


def test_second_remedy_on_a_unit_shows_what_was_already_granted(session, world):
    refund = _refund_requested(session, world)
    approvals.decide(session, refund, world["manager"], "approve", "符合三包")
    again = f.make_ticket(session, world["customer"], unit=world["unit"], kind="return_exchange", actor=world["clerk"])
    errors = approvals.check(session, again, Draft(kind="exchange", grounds="sanbao_window", reason="要求换货"))
    assert "Already granted" in str(errors["kind"]) and f"#{refund.id}" in str(errors["kind"])


def test_second_remedy_request_while_one_waits_is_refused(session, world):
    waiting = _refund_requested(session, world)
    again = f.make_ticket(session, world["customer"], unit=world["unit"], kind="return_exchange", actor=world["clerk"])
    errors = approvals.check(session, again, Draft(kind="return_refund", grounds="sanbao_window", reason="退货",
                                                   amount=Decimal("2599.00")))
    assert f"#{waiting.id}" in str(errors["kind"])


def test_approving_a_second_remedy_of_a_unit_is_refused_naming_the_first(session, world):
    first = _refund_requested(session, world)
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


# --- 4. one customer per caller (R-CUS-1) ---------------------------------------------------

def _new_caller(world, phone="13911112222", name="欧阳娜", **extra):
    return intake.Report(kind="repair", fault="热水器忽冷忽热", channel="walk_in", outlet_id=world["a"].id,
                         customer={"name": name, "phone": phone, "area": "urban"}, **extra)


def _customers_with(session, digits):
    return session.scalar(select(func.count()).select_from(Customer).where(Customer.phone_key == digits))


def test_same_caller_registered_twice_is_one_customer_whatever_the_phone_format(session, world):
    first = intake.register_report(session, _new_caller(world, phone="139 1111 2222"), world["dealer_a"])
    second = intake.register_report(session, _new_caller(world, phone="+86 139-1111-2222"), world["dealer_a"])
    assert first.customer is second.customer
    assert _customers_with(session, "13911112222") == 1


def test_another_name_on_a_known_phone_is_put_to_the_clerk(session, world):
    intake.register_report(session, _new_caller(world), world["clerk"])
    session.commit()
    with pytest.raises(FieldErrors) as asked:
        intake.register_report(session, _new_caller(world, name="欧阳明"), world["clerk"])
    assert "name_choice" in asked.value.errors and "欧阳娜" in str(asked.value.errors["customer.name"])
    assert _customers_with(session, "13911112222") == 1


def test_another_contact_of_a_known_customer_goes_on_the_ticket_not_the_archive(session, world):
    known = intake.register_report(session, _new_caller(world), world["clerk"]).customer
    ticket = intake.register_report(session, _new_caller(world, name="欧阳明", name_choice="contact"), world["clerk"])
    assert ticket.customer is known and known.name == "欧阳娜" and ticket.contact_name == "欧阳明"


def test_corrected_name_changes_the_archive_record(session, world):
    known = intake.register_report(session, _new_caller(world), world["clerk"]).customer
    ticket = intake.register_report(session, _new_caller(world, name="欧阳明", name_choice="correct"), world["clerk"])
    assert ticket.customer is known and known.name == "欧阳明"


# --- 5. a complaint or consultation without a unit needs no fee proposal ---------------------

def test_complaint_without_a_unit_is_proposed_without_fee_lines(session, world):
    ticket = f.make_ticket(session, world["customer"], kind="complaint", actor=world["clerk"])
    workflow.perform(session, ticket, "investigate", world["clerk"], {
        "complaint_class": "service_quality", "investigation": "师傅迟到两小时",
        "promised_result": "致歉并回访", "promised_at": "2026-12-30T10:00"})
    workflow.perform(session, ticket, "propose", world["clerk"], {"note": "致歉，减免上门费"})
    assert ticket.status == TicketStatus.SOLUTION_PROPOSED and ticket.fees == []


def test_out_of_warranty_repair_still_lists_its_fees(session, world):
    old = f.make_unit(session, world["customer"], invoice_date=local_today() - timedelta(days=800))
    ticket = f.make_ticket(session, world["customer"], unit=old, actor=world["clerk"])
    workflow.perform(session, ticket, "diagnose", world["center_engineer"],
                     {"service_mode": "onsite", "severity": "minor", "note": "点火针老化"})
    with pytest.raises(FieldErrors) as refused:
        workflow.perform(session, ticket, "propose", world["center_engineer"], {"note": "更换点火针"})
    assert "fees" in refused.value.errors


# --- 6. SLA after reopen, at intake, while waiting, suburban (R-SLA-3, R-SLA-4) --------------

def _resolved(session, world):
    ticket = _agreed_onsite(session, world)
    workflow.perform(session, ticket, "dispatch", world["clerk"],
                     {"engineer": str(world["center_engineer"].id), "appointment_at": "2026-12-30T10:00"})
    workflow.perform(session, ticket, "start_service", world["center_engineer"], {})
    workflow.perform(session, ticket, "resolve", world["center_engineer"],
                     {"work_done": "更换点火针", "tested_ok": "y", "signed_by": "欧阳娜"})
    return ticket


def test_reopened_ticket_runs_new_clocks_for_the_rework(session, world):
    ticket = _resolved(session, world)
    later = utcnow() + timedelta(days=3)
    workflow.perform(session, ticket, "return_visit", world["clerk"], {"satisfaction": "2", "comment": "又不点火"},
                     at=later)
    assert ticket.status == TicketStatus.DIAGNOSED
    running = {c.clock: c for c in sla.running_clocks(ticket)}
    assert set(running) == {Clock.DISPATCH, Clock.ONSITE, Clock.RESOLVE}
    assert all(c.due_at > later for c in running.values())
    assert sla.state(running[Clock.RESOLVE], later) == "running"
    session.flush()  # the earlier round stays as history beside the new one
    assert session.scalar(select(func.count()).select_from(TicketClock).where(
        TicketClock.ticket_id == ticket.id, TicketClock.superseded_at.is_not(None))) >= 3


def test_reopened_ticket_becomes_overdue_when_the_rework_is_late(session, world):
    ticket = _resolved(session, world)
    at = utcnow()
    workflow.perform(session, ticket, "reopen", world["clerk"], {"note": "用户来电仍不点火"}, at=at)
    dispatch = sla.clock_of(ticket, Clock.DISPATCH.value)
    assert sla.state(dispatch, at + timedelta(hours=9)) == "breached"


def test_consultation_answered_at_intake_meets_its_response_clock(session, world):
    ticket = f.make_ticket(session, world["customer"], kind="consultation", actor=world["clerk"])
    workflow.perform(session, ticket, "answer_at_intake", world["clerk"], {"note": "已讲解使用方法"})
    assert sla.state(sla.clock_of(ticket, Clock.RESPONSE.value)) == "met"


def test_waiting_for_the_customer_pauses_every_clock_that_waits_on_them(session, world):
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], actor=world["clerk"])
    workflow.perform(session, ticket, "wait_for_customer", world["clerk"], {"note": "用户出差，下周再约"})
    paused = {c.clock for c in ticket.clocks if c.paused_since is not None}
    assert paused == {Clock.DISPATCH, Clock.ONSITE, Clock.RESOLVE}


def test_suburban_resolution_is_due_after_its_on_site_visit(session, world):
    suburban = f.make_customer(session, world["a"], area="suburban")
    ticket = f.make_ticket(session, suburban, actor=world["clerk"])
    onsite, resolve = sla.clock_of(ticket, Clock.ONSITE.value), sla.clock_of(ticket, Clock.RESOLVE.value)
    assert resolve.due_at - onsite.due_at == timedelta(hours=24)  # policy sla.resolve_after_onsite_hours


# --- 7. intake derives the outlet and keeps the purchase data -------------------------------

def test_repeat_caller_is_served_by_their_outlet_when_none_is_chosen(session, world):
    report = intake.Report(kind="repair", fault="油烟机噪音大", customer_id=world["customer"].id)
    ticket = intake.register_report(session, report, world["clerk"])
    assert ticket.outlet is world["a"]


def test_new_caller_without_an_outlet_is_asked_for_it(session, world):
    report = _new_caller(world, phone="13933334444")
    report.outlet_id = None
    with pytest.raises(FieldErrors) as asked:
        intake.register_report(session, report, world["clerk"])
    assert "outlet_id" in asked.value.errors


def test_intake_keeps_purchase_price_and_channel_of_a_new_unit(session, world):
    report = _new_caller(world, phone="13944445555")
    report.unit = {"model_code": "JSQ30-16B", "serial": "SN-T-PRICE-1", "invoice_date": local_today().isoformat(),
                   "price": "3,299.00", "purchase_channel": "online"}
    ticket = intake.register_report(session, report, world["clerk"])
    assert ticket.unit.price == Decimal("3299.00") and ticket.unit.purchase_channel == "online"


def test_intake_refuses_a_price_that_is_not_an_amount(session, world):
    report = _new_caller(world, phone="13944446666")
    report.unit = {"model_code": "JSQ30-16B", "serial": "SN-T-PRICE-2", "price": "三千"}
    with pytest.raises(FieldErrors) as refused:
        intake.register_report(session, report, world["clerk"])
    assert "unit.price" in refused.value.errors


def test_caller_with_an_open_ticket_is_added_to_it(session, world):
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], actor=world["clerk"])
    intake.add_to_ticket(session, ticket, intake.Report(fault="又响了一次", channel="hotline"), world["clerk"])
    assert ticket.events[-1].action == "caller_called" and "又响了一次" in ticket.events[-1].note


# --- 8. after approval the ticket follows the return path (R-RET-5) -------------------------

def test_approved_refund_moves_the_ticket_to_the_return_path_until_paid(session, world):
    refund = _refund_requested(session, world)
    approvals.decide(session, refund, world["manager"], "approve", "同意退货退款")
    ticket = refund.ticket
    assert ticket.status == TicketStatus.RETURNING
    assert [s.name for s in workflow.available(ticket, world["clerk"])] == [
        "take_back_unit", "pay_refund", "wait_for_customer"]
    workflow.perform(session, ticket, "take_back_unit", world["clerk"], {"old_unit_how": "hand_in"})
    assert ticket.status == TicketStatus.RETURNING
    workflow.perform(session, ticket, "pay_refund", world["clerk"], {"payment_ref": "WX4200001234"})
    posting = session.scalar(select(MoneyPosting).where(MoneyPosting.request_id == refund.id))
    assert ticket.status == TicketStatus.RESOLVED and posting.payment_ref == "WX4200001234"
    assert posting.paid_at is not None and ticket.return_visits


def test_approved_exchange_ships_the_new_unit_with_courier_and_tracking(session, world):
    model = f.make_product_model(session)
    f.make_stock(session, world["center"], model)
    unit = f.make_unit(session, world["customer"], model_code=model.code, invoice_date=local_today() - timedelta(days=5))
    ticket = f.make_ticket(session, world["customer"], unit=unit, kind="return_exchange", actor=world["dealer_a"])
    exchange = approvals.submit(session, ticket, world["dealer_a"],
                                Draft(kind="exchange", grounds="sanbao_window", reason="开箱即坏"))
    approvals.decide(session, exchange, world["manager"], "approve", "同意换货")
    workflow.perform(session, ticket, "ship_exchange", world["dealer_a"],
                     {"courier": "顺丰速运", "tracking_no": "SF1234567890"})
    workflow.perform(session, ticket, "take_back_unit", world["engineer_a"], {"old_unit_how": "pickup"})
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.return_handling.tracking_no == "SF1234567890"
    assert exchange.status == ApprovalStatus.APPROVED


@pytest.mark.parametrize("price,expected", [("NaN", None), ("Infinity", None), ("-5", None), (3299, Decimal("3299.00"))])
def test_intake_price_is_read_like_every_other_amount(session, world, price, expected):
    """One money parser (step_data): NaN and Infinity are no amounts, a JSON number is one."""
    report = _new_caller(world, phone="13944447777")
    report.unit = {"model_code": "JSQ30-16B", "serial": f"SN-T-PRICE-{price}", "price": price}
    if expected is None:
        with pytest.raises(FieldErrors) as refused:
            intake.register_report(session, report, world["clerk"])
        assert "unit.price" in refused.value.errors
    else:
        assert intake.register_report(session, report, world["clerk"]).unit.price == expected


@pytest.mark.parametrize("typed", ["1e400", "NaN", "-Infinity"])
def test_a_step_amount_too_large_or_not_a_number_is_a_field_error(session, world, typed):
    """The shared amount parser refused 1e400 with an exception (a 500 on any form using it)."""
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], actor=world["clerk"])
    with pytest.raises(FieldErrors) as refused:
        workflow.perform(session, ticket, "diagnose", world["center_engineer"],
                         {"service_mode": "onsite", "severity": "minor", "estimate": typed, "note": "估价"})
    assert "estimate" in refused.value.errors
