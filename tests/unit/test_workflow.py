"""R-TKT-4 … R-TKT-7, R-SLA-3, R-CMP-2: the flow, its step data, and its effects."""
from datetime import timedelta

import pytest

from backoffice import intake, sla, workflow
from backoffice.errors import FieldErrors
from backoffice.timezones import local_today
from backoffice.workflow import TransitionNotAllowed
from models import FaultCode, utcnow
from models.choices import TicketStatus
from models.choices import TicketStatus as S
from tests import factories as f

APPOINTMENT = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")


def ticket(session, kind="repair", in_warranty=True):
    """A freshly registered ticket of an SC-GZ customer's unit."""
    unit = f.unit_of(session, "SC-GZ")
    unit.invoice_date = local_today() - timedelta(days=100 if in_warranty else 1000)
    new = intake.register_report(session, intake.Report(
        kind=kind, fault="热水器打不着火", customer_id=unit.customer_id, unit_id=unit.id,
        outlet_id=unit.outlet_id), f.user(session, "clerk"))
    assert new.in_warranty is in_warranty
    return new


def run(session, t, steps, user="clerk"):
    actor = f.user(session, user)
    for name, data in steps:
        workflow.perform(session, t, name, actor, data)


def diagnose(mode="onsite", **extra):
    return ("diagnose", {"service_mode": mode, "severity": "major", "note": "点火针积碳", **extra})


def onsite_path(session):
    return [diagnose(), ("propose", {"note": "更换点火针"}), ("agree", {}),
            ("dispatch", {"engineer": str(f.user(session, "engineer").id), "appointment_at": APPOINTMENT}),
            ("start_service", {}),
            ("resolve", {"work_done": "更换点火针", "tested_ok": "y", "signed_by": "王芳"})]


def test_onsite_flow_in_order_writes_the_timeline_and_a_signed_report(session):  # R-TKT-4/5/7
    t = ticket(session)
    run(session, t, [*onsite_path(session), ("return_visit", {"satisfaction": "5"}), ("close", {})])
    assert t.status == S.CLOSED and t.closed_at is not None
    moves = [(e.from_status, e.to_status) for e in t.events if e.action == "status"]
    assert moves[-8:] == [("registered", "diagnosed"), ("diagnosed", "solution_proposed"),
                          ("solution_proposed", "agreed"), ("agreed", "dispatched"),
                          ("dispatched", "in_service"), ("in_service", "resolved"),
                          ("resolved", "return_visit"), ("return_visit", "closed")]
    assert t.report.signed_by == "王芳" and t.report.tested_ok
    assert t.assigned_engineer.username == "engineer" and t.appointment_at is not None


def test_resolving_needs_the_test_in_front_of_the_customer(session):  # R-TKT-4, R-TKT-7
    t = ticket(session)
    run(session, t, onsite_path(session)[:-1])
    with pytest.raises(FieldErrors) as caught:
        workflow.perform(session, t, "resolve", f.user(session, "engineer"),
                         {"work_done": "换件", "signed_by": "王芳"})
    assert "tested_ok" in caught.value.errors and t.status == S.IN_SERVICE


def test_mail_in_flow_inspects_tests_and_ships_back(session):  # R-TKT-6
    t = ticket(session)
    run(session, t, [diagnose("mail_in"), ("propose", {"note": "寄修"}), ("agree", {})])
    with pytest.raises(FieldErrors):  # damage must be described and told
        workflow.perform(session, t, "receive_mail_in", f.user(session, "engineer"), {})
    run(session, t, [("receive_mail_in", {"damage_note": "外壳右侧凹陷", "customer_told": "y"}),
                     ("test_mail_in", {"test_result": "E1 点火失败复现"}),
                     ("ship_back", {"courier": "顺丰", "tracking_no": "SF1234567890"})], "engineer")
    assert t.status == S.RESOLVED and t.mail_in.tracking_no == "SF1234567890"
    assert t.mail_in.damage_note and t.mail_in.customer_told


def test_out_of_warranty_proposal_lists_fees_item_by_item(session):  # R-TKT-4, R-WAR-3
    t = ticket(session, in_warranty=False)
    run(session, t, [diagnose()])
    with pytest.raises(FieldErrors):
        workflow.perform(session, t, "propose", f.user(session, "clerk"), {"note": "收费维修"})
    workflow.perform(session, t, "propose", f.user(session, "clerk"), {
        "note": "收费维修", "fees": [{"item": "比例阀", "amount": "126.00"}, {"item": "上门费", "amount": "50"}]})
    assert [(x.item, str(x.amount)) for x in t.fees] == [("比例阀", "126.00"), ("上门费", "50.00")]


def test_awaiting_consent_pauses_the_resolution_clock_and_records_it(session):  # R-SLA-3
    t = ticket(session)
    run(session, t, [diagnose(), ("propose", {"note": "方案"})])
    assert sla.clock_of(t, "resolve").paused_since is not None
    assert any(e.action == "paused" for e in t.events)
    run(session, t, [("agree", {})])
    assert sla.clock_of(t, "resolve").paused_since is None
    assert any(e.action == "resumed" for e in t.events)


def test_waiting_for_the_customer_is_an_action_that_keeps_the_status(session):  # R-SLA-3
    t = ticket(session)
    run(session, t, [("wait_for_customer", {"note": "客户出差，下周再约"})])
    assert t.status == S.REGISTERED and sla.clock_of(t, "resolve").paused_since is not None
    run(session, t, [("customer_back", {})])
    assert sla.clock_of(t, "resolve").paused_since is None


def test_a_step_out_of_order_is_refused(session):
    t = ticket(session)
    with pytest.raises(TransitionNotAllowed):
        workflow.perform(session, t, "close", f.user(session, "clerk"), {})
    assert t.status == S.REGISTERED


def test_unknown_step_is_refused(session):
    with pytest.raises(TransitionNotAllowed):
        workflow.perform(session, ticket(session), "teleport", f.user(session, "admin"), {})


def test_engineers_cannot_record_consent(session):
    t = ticket(session)
    run(session, t, [diagnose(), ("propose", {"note": "方案"})], "engineer")
    with pytest.raises(TransitionNotAllowed):
        workflow.perform(session, t, "agree", f.user(session, "engineer"), {})


def test_only_consultations_are_answered_at_intake(session):  # R-TKT-4
    t = ticket(session)
    assert "answer_at_intake" not in [s.name for s in workflow.available(t, f.user(session, "clerk"))]
    t.kind = "consultation"
    workflow.perform(session, t, "answer_at_intake", f.user(session, "clerk"), {"note": "电话指导"})
    assert t.status == S.RESOLVED and t.return_visits


def test_unsatisfied_customer_at_the_return_visit_reopens_the_ticket(session):  # R-TKT-4, R-TKT-5
    t = ticket(session)
    run(session, t, [*onsite_path(session), ("return_visit", {"satisfaction": "2", "comment": "还是打不着"})])
    assert t.status == S.DIAGNOSED and workflow.is_repeat_repair(t)
    visit = t.return_visits[0]
    assert visit.done_at is not None and visit.satisfaction == 2


def test_resolution_schedules_the_return_visit_within_7_days(session):  # 001, 002
    t = ticket(session)
    run(session, t, onsite_path(session))
    visit = t.return_visits[0]
    assert visit.done_at is None and timedelta(days=6) < visit.due_at - t.events[-1].at <= timedelta(days=7)


def test_complaint_is_answered_settled_and_visited_within_3_days(session):  # R-CMP-2, 001
    t = ticket(session, kind="complaint")
    promised = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    run(session, t, [("investigate", {"complaint_class": "service_quality", "investigation": "师傅迟到两小时",
                                      "promised_result": "减免上门费并致歉", "promised_at": promised}),
                     ("propose", {"note": "减免上门费"}), ("agree", {}),
                     ("settle", {"resolution": "已减免并致歉"})])
    assert t.status == S.RESOLVED and t.complaint.complaint_class == "service_quality"
    assert sla.clock_of(t, "answer").met_at is not None
    visit = t.return_visits[0]
    assert visit.kind == "complaint" and visit.due_at - t.events[-1].at <= timedelta(days=3)


def test_unsatisfied_complaint_is_handled_again_then_escalated(session):  # R-CMP-2
    t = ticket(session, kind="complaint")
    promised = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    settle = [("propose", {"note": "补偿"}), ("agree", {}), ("settle", {"resolution": "补偿"}),
              ("return_visit", {"satisfaction": "1"})]
    run(session, t, [("investigate", {"complaint_class": "charges", "investigation": "多收费",
                                      "promised_result": "退还", "promised_at": promised}), *settle, *settle])
    assert t.complaint.rehandled_count == 2 and t.complaint.escalated


def test_misuse_found_at_diagnosis_voids_the_warranty(session):  # R-WAR-4
    t = ticket(session)
    run(session, t, [diagnose(exclusion="misuse")])
    assert t.in_warranty is False and t.warranty_code == "excluded"


def test_diagnosis_codes_must_fit_the_product_category(session):  # R-TKT-9
    t = ticket(session)
    stove_code = FaultCode(kind="fault", code="GS-X", name="灶具专用", category="gas_stove")
    session.add(stove_code)
    session.flush()
    category = t.unit.product_model.category
    if category != "gas_stove":
        with pytest.raises(FieldErrors):
            workflow.perform(session, t, "diagnose", f.user(session, "engineer"),
                             diagnose(fault_code=str(stove_code.id))[1])


def test_steps_meet_their_sla_clocks(session):  # R-SLA-1
    t = ticket(session)
    run(session, t, [diagnose()])
    assert sla.clock_of(t, "response").met_at is not None
    assert sla.clock_of(t, "resolve").met_at is None


def test_only_a_manager_overrides_the_warranty_verdict_with_a_reason(session):  # R-WAR-5
    t = ticket(session)
    with pytest.raises(TransitionNotAllowed):
        workflow.perform(session, t, "warranty_override", f.user(session, "clerk"),
                         {"window": "none", "note": "人为损坏"})
    with pytest.raises(FieldErrors):
        workflow.perform(session, t, "warranty_override", f.user(session, "manager"), {"window": "none"})
    workflow.perform(session, t, "warranty_override", f.user(session, "manager"),
                     {"window": "exchange", "note": "批次质量问题，特批换机"})
    assert t.warranty_window == "exchange" and t.in_warranty and t.warranty_code == "override"
    from backoffice import warranty
    assert "特批换机" in warranty.of_ticket(t).reason and t.status == S.REGISTERED


def test_parts_fitted_at_resolution_get_their_own_warranty(session):  # R-WAR-2
    from models import Part

    t = ticket(session)
    part = session.query(Part).filter_by(code="P-IGN-01").one()
    steps = onsite_path(session)
    steps[-1] = ("resolve", {**steps[-1][1], "parts": [(str(part.id), "2")]})
    run(session, t, steps)
    fitted = t.replaced_parts[0]
    assert fitted.part == part and fitted.qty == 2 and fitted.unit_id == t.unit_id
    assert 88 <= (fitted.warranty_until - fitted.replaced_on).days <= 91  # the last covered day
    assert "P-IGN-01" in t.report.parts_replaced


# --- fee lists: asked when a unit is out of warranty, not when unknown or without a unit -------




def test_unknown_warranty_does_not_force_a_fee_list(session):  # R-TKT-4 asks fees when out of warranty
    ticket = f.make_ticket_without_invoice(session)
    clerk = f.make_user(session, "clerk")
    workflow.perform(session, ticket, "diagnose", clerk, {"service_mode": "onsite", "severity": "minor",
                                                          "note": "点火针积碳"})
    workflow.perform(session, ticket, "propose", clerk, {"note": "先检测，确认发票后再定费用"})
    assert ticket.status == "solution_proposed"


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
