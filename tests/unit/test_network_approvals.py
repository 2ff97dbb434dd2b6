"""What the dealer network asks a manager to approve goes through the approval requests, with
four eyes (R-PART-3 extra batches, R-PART-2 parts beyond the quota for a quality incident,
R-FEE-2 / R-CMP-3 charge-backs, R-ROLE-2).

Parts tests open an outlet of their own in March 2031 (tests/unit/test_parts_supply.py), so no
demo week interferes; fee tests use the demo's claims at DG-NC.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backoffice import approvals, fee_claims, ledger, network_approvals, parts_requests
from backoffice.approvals import ApprovalForbidden
from backoffice.errors import DomainError, FieldErrors
from models import ApprovalRequest, FeeClaim, LedgerEntry, PolicySetting
from models.choices import LedgerKind
from models.choices import PartsRequestStatus as S
from tests import factories as f
from tests.unit.test_parts_requests import T0, balance, outlet_with_quota, submit

ON_ACCOUNT = "on_account"


def third_batch(session, outlet, user="dealer1", reason="燃气热水器批量故障，急需比例阀"):
    submit(session, outlet)
    submit(session, outlet)
    return submit(session, outlet, user=user, exception_reason=reason)


def entries_sum(session, outlet) -> Decimal:
    return session.scalar(select(func.sum(LedgerEntry.delta)).where(LedgerEntry.outlet_id == outlet.id))


def incident_request(session, outlet, qty=8):
    """P-HEX-01 at 420.00: 8 pieces on account are 3,360.00 against a 3,000.00 balance."""
    return submit(session, outlet, specs=(("P-HEX-01", qty),))


def ask_incident(session, request, user="clerk", reason="JSQ20 批次热交换器渗漏，集中更换"):
    settlements = {line.id: ON_ACCOUNT for line in request.lines}
    return network_approvals.ask_incident(session, request, f.user(session, user), settlements, reason)


# --- R-PART-3: a batch over the weekly limit -------------------------------------------------------
def test_third_batch_waits_for_an_approval_request_a_manager_allows(session):  # R-PART-3
    outlet = outlet_with_quota(session)
    third = third_batch(session, outlet)
    asked = network_approvals.open_request(third)
    assert third.status == S.AWAITING_EXCEPTION.value
    assert (asked.kind, asked.grounds, asked.status) == ("parts_extra_batch", "extra_batch", "pending")
    assert (asked.outlet_id, asked.ticket_id, asked.requested_by.username) == (outlet.id, None, "dealer1")
    assert asked.reason == "燃气热水器批量故障，急需比例阀" and asked.subject_number == third.number
    with pytest.raises(DomainError):  # not reviewable before the exception is allowed
        parts_requests.review(session, third, f.user(session, "clerk"), {})

    approvals.decide(session, asked, f.user(session, "manager"), "approve", "质量事故，同意加批")
    assert asked.status == "approved" and asked.decided_by.username == "manager"
    assert third.status == S.SUBMITTED.value
    parts_requests.review(session, third, f.user(session, "clerk"), {third.lines[0].id: ON_ACCOUNT})
    assert third.status == S.REVIEWED.value


def test_requester_never_decides_own_extra_batch(session):  # R-ROLE-2
    outlet = outlet_with_quota(session)
    own = third_batch(session, outlet, user="manager", reason="批量质量事故")
    asked = network_approvals.open_request(own)
    manager, admin = f.user(session, "manager"), f.user(session, "admin")
    with pytest.raises(ApprovalForbidden):
        approvals.decide(session, asked, manager, "approve", "同意")
    with pytest.raises(ApprovalForbidden):  # a clerk never decides
        approvals.decide(session, asked, f.user(session, "clerk"), "approve", "同意")
    with pytest.raises(FieldErrors) as no_note:
        approvals.decide(session, asked, admin, "approve", " ")
    assert set(no_note.value.errors) == {"note"} and own.status == S.AWAITING_EXCEPTION.value
    approvals.decide(session, asked, admin, "approve", "批次质量问题属实")
    assert own.status == S.SUBMITTED.value
    with pytest.raises(ApprovalForbidden):  # decided once
        approvals.decide(session, asked, admin, "reject", "再议")


def test_refused_extra_batch_goes_no_further_and_keeps_its_number(session):  # R-PART-3
    outlet = outlet_with_quota(session)
    refused = third_batch(session, outlet, reason="第三批")
    approvals.decide(session, network_approvals.open_request(refused), f.user(session, "manager"), "reject",
                     "本周已两批，下周再发")
    assert refused.status == S.REJECTED.value and network_approvals.open_request(refused) is None
    with pytest.raises(DomainError):
        parts_requests.review(session, refused, f.user(session, "clerk"), {})
    # A refused batch does not count against the limit, but its number stays taken.
    again = submit(session, outlet, exception_reason="补充说明后再申请")
    assert again.status == S.AWAITING_EXCEPTION.value
    assert again.batch_no == 4 and again.number == "PJ-T-SUPPLY-2031W11-4"
    session.commit()


def test_the_outlet_answers_what_the_manager_asks_then_it_is_decided(session):  # R-PART-3
    outlet = outlet_with_quota(session)
    third = third_batch(session, outlet)
    asked = network_approvals.open_request(third)
    manager, dealer = f.user(session, "manager"), f.user(session, "dealer1")
    approvals.decide(session, asked, manager, "ask_info", "请附上服务单号")
    assert asked.status == "info_requested" and network_approvals.open_request(third) is asked
    with pytest.raises(ApprovalForbidden):  # only the requester answers
        approvals.answer_info(session, asked, f.user(session, "clerk"), "SV20261122-0007")
    approvals.answer_info(session, asked, dealer, "SV20261122-0007 等三单")
    assert asked.status == "pending" and asked.reason.endswith("— SV20261122-0007 等三单")
    approvals.decide(session, asked, manager, "approve", "已核对服务单")
    assert third.status == S.SUBMITTED.value


# --- R-PART-2: on account beyond the quota for a special quality incident ---------------------------
def test_quality_incident_issues_beyond_the_quota_only_once_approved(session):  # R-PART-2, R-PART-8
    outlet = outlet_with_quota(session)
    request = incident_request(session, outlet)
    asked = ask_incident(session, request)
    assert request.status == S.AWAITING_INCIDENT.value and asked.kind == "parts_incident"
    assert asked.amount == Decimal("360.00") and asked.needs_second is False  # 3,360.00 - 3,000.00
    assert balance(session, outlet) == Decimal("3000.00")  # nothing posted while it waits
    with pytest.raises(DomainError):
        parts_requests.review(session, request, f.user(session, "clerk"), {request.lines[0].id: ON_ACCOUNT})

    approvals.decide(session, asked, f.user(session, "manager"), "approve", "批次质量事故属实")
    assert request.status == S.REVIEWED.value and request.lines[0].settlement == ON_ACCOUNT
    assert balance(session, outlet) == Decimal("0.00") == entries_sum(session, outlet)
    credit = session.scalar(select(LedgerEntry).where(LedgerEntry.source == f"approval:{asked.id}"))
    assert (credit.kind, credit.delta) == (LedgerKind.ADJUSTMENT.value, Decimal("360.00"))
    assert request.number in credit.reason and credit.actor.username == "manager"
    issued = session.scalar(select(LedgerEntry).where(LedgerEntry.source == f"parts_request_line:"
                                                                              f"{request.lines[0].id}"))
    assert issued.delta == Decimal("-3360.00") and issued.balance_after == Decimal("0.00")


def test_incident_credits_only_what_is_lacking_when_approved(session):  # R-PART-2, R-PART-8
    outlet = outlet_with_quota(session)
    request = incident_request(session, outlet)
    asked = ask_incident(session, request)
    ledger.post(session, outlet.id, LedgerKind.RETURN_CREDIT, Decimal("100.00"), source="test:credit-meanwhile",
                reason="旧件冲账")
    approvals.decide(session, asked, f.user(session, "admin"), "approve", "同意")
    credit = session.scalar(select(LedgerEntry).where(LedgerEntry.source == f"approval:{asked.id}"))
    assert credit.delta == Decimal("260.00")
    assert balance(session, outlet) == Decimal("0.00") == entries_sum(session, outlet)


def test_incident_is_asked_only_when_the_account_does_not_cover_it(session):  # R-PART-2
    outlet = outlet_with_quota(session)
    covered = incident_request(session, outlet, qty=2)
    with pytest.raises(FieldErrors) as refused:
        ask_incident(session, covered)
    assert set(refused.value.errors) == {"incident_reason"}
    request = incident_request(session, outlet)
    with pytest.raises(FieldErrors) as no_reason:
        ask_incident(session, request, reason="  ")
    assert set(no_reason.value.errors) == {"incident_reason"}
    with pytest.raises(DomainError):  # the center asks, not the outlet
        ask_incident(session, request, user="dealer1")
    assert request.status == S.SUBMITTED.value and request.approvals == []


def test_refused_incident_goes_back_to_review_and_the_outlet_buys(session):  # R-PART-2
    outlet = outlet_with_quota(session)
    request = incident_request(session, outlet)
    asked = ask_incident(session, request)
    approvals.decide(session, asked, f.user(session, "manager"), "reject", "非批次问题，按采购处理")
    assert request.status == S.SUBMITTED.value and balance(session, outlet) == Decimal("3000.00")
    parts_requests.review(session, request, f.user(session, "clerk"), {request.lines[0].id: "purchase"})
    assert request.status == S.REVIEWED.value and balance(session, outlet) == Decimal("3000.00")
    assert [a.status for a in request.approvals] == ["rejected"]  # the refusal stays on record


def test_a_large_incident_needs_two_different_managers(session):  # R-RET-4, R-ROLE-2
    outlet = outlet_with_quota(session)
    request = incident_request(session, outlet, qty=16)  # 6,720.00: 3,720.00 beyond the balance
    asked = ask_incident(session, request)
    assert asked.amount == Decimal("3720.00") and asked.needs_second
    manager, admin = f.user(session, "manager"), f.user(session, "admin")
    approvals.decide(session, asked, manager, "approve", "同意")
    assert asked.status == "pending" and asked.first_approver == manager
    assert balance(session, outlet) == Decimal("3000.00")
    with pytest.raises(ApprovalForbidden):
        approvals.decide(session, asked, manager, "approve", "再次同意")
    approvals.decide(session, asked, admin, "approve", "复核同意")
    assert asked.status == "approved" and request.status == S.REVIEWED.value
    assert balance(session, outlet) == Decimal("0.00") == entries_sum(session, outlet)


def test_an_approved_incident_posts_once(session):  # R-PART-8, R-RET-4
    outlet = outlet_with_quota(session)
    request = incident_request(session, outlet)
    asked = ask_incident(session, request)
    approvals.decide(session, asked, f.user(session, "manager"), "approve", "同意")
    before = session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.outlet_id == outlet.id))
    with pytest.raises(ApprovalForbidden):
        approvals.decide(session, asked, f.user(session, "admin"), "approve", "再批一次")
    with pytest.raises(DomainError):  # the request is reviewed: no second incident
        ask_incident(session, request)
    assert session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.outlet_id == outlet.id)) == before


# --- R-FEE-2 / R-CMP-3: the charge-back of an overcharge -------------------------------------------
def audited_claim(session, auditor="manager") -> FeeClaim:
    claim = session.scalars(select(FeeClaim).where(FeeClaim.outlet_id == f.outlet(session, "DG-NC").id,
                                                   FeeClaim.status == "claimed").order_by(FeeClaim.id)).first()
    f.bring_back_old_parts(session, claim)
    fee_claims.audit(session, claim, f.user(session, auditor), "approve")
    return claim


def test_overcharge_is_charged_back_once_a_manager_who_did_not_audit_approves(session):  # R-CMP-3
    claim = audited_claim(session)
    asked = network_approvals.ask_chargeback(session, claim, f.user(session, "clerk"), Decimal("12.35"),
                                             "回访核实：路程不足10公里")
    assert (asked.kind, asked.amount, asked.fee_claim, asked.outlet_id) == (
        "fee_chargeback", Decimal("12.35"), claim, claim.outlet_id)
    assert claim.charge_back == Decimal("0.00")  # nothing until approved
    with pytest.raises(DomainError):  # the manager who audited the claim does not decide
        approvals.decide(session, asked, f.user(session, "manager"), "approve", "同意")
    approvals.decide(session, asked, f.user(session, "admin"), "approve", "录音核实")
    assert claim.overcharge == Decimal("12.35") and claim.charge_back == Decimal("123.50")
    assert claim.charge_back_by.username == "admin" and claim.charge_back_note == "回访核实：路程不足10公里"
    with pytest.raises(DomainError):  # charged back once
        network_approvals.ask_chargeback(session, claim, f.user(session, "clerk"), Decimal("1"), "再次")


def test_one_charge_back_request_waits_per_claim_and_a_refusal_frees_it(session):  # R-FEE-2
    claim = audited_claim(session, auditor="clerk")
    clerk, manager = f.user(session, "clerk"), f.user(session, "manager")
    asked = network_approvals.ask_chargeback(session, claim, clerk, Decimal("5"), "多报路程")
    with pytest.raises(DomainError):  # a double click
        network_approvals.ask_chargeback(session, claim, clerk, Decimal("5"), "多报路程")
    approvals.decide(session, asked, manager, "reject", "证据不足")
    assert claim.charge_back == Decimal("0.00")
    again = network_approvals.ask_chargeback(session, claim, clerk, Decimal("5"), "补充导航截图")
    approvals.decide(session, again, manager, "approve", "证据充分")
    assert claim.charge_back == Decimal("50.00") and [a.status for a in claim.approvals] == ["rejected", "approved"]


def test_charge_back_is_checked_before_it_is_asked(session):  # R-FEE-2
    claim = audited_claim(session)
    clerk = f.user(session, "clerk")
    with pytest.raises(FieldErrors) as refused:
        network_approvals.ask_chargeback(session, claim, clerk, claim.approved_total + Decimal("0.01"), " ")
    assert set(refused.value.errors) == {"overcharge", "charge_back_note"}
    with pytest.raises(DomainError):  # an outlet does not report itself
        network_approvals.ask_chargeback(session, claim, f.user(session, "dealer1"), Decimal("1"), "多报")
    waiting = session.scalars(select(FeeClaim).where(FeeClaim.status == "claimed")).first()
    with pytest.raises(DomainError):  # not paid: nothing to charge back
        network_approvals.ask_chargeback(session, waiting, clerk, Decimal("1"), "多报")
    assert claim.approvals == []


def test_a_large_charge_back_needs_two_managers(session):  # R-RET-4, R-ROLE-2
    claim = audited_claim(session, auditor="clerk")
    session.add(PolicySetting(key="approvals.second_manager_above", value="1"))
    session.flush()
    asked = network_approvals.ask_chargeback(session, claim, f.user(session, "clerk"), Decimal("2.00"), "多报")
    assert asked.needs_second
    approvals.decide(session, asked, f.user(session, "manager"), "approve", "同意")
    assert claim.charge_back == Decimal("0.00")
    approvals.decide(session, asked, f.user(session, "admin"), "approve", "复核同意")
    assert claim.charge_back == Decimal("20.00")


# --- the request's subject --------------------------------------------------------------------------
def test_a_ticket_request_cannot_ask_for_a_network_kind(session):  # R-RET-4
    ticket = f.ticket_of(session, "GZ-TH")
    draft = approvals.Draft(kind="parts_incident", grounds="quality_incident", amount=Decimal("10"),
                            reason="x")
    assert set(approvals.check(session, ticket, draft)) == {"kind"}


def test_every_request_has_exactly_its_kind_of_subject(session):  # schema: has_subject
    outlet, clerk = f.outlet(session, "GZ-TH"), f.user(session, "clerk")
    session.add(ApprovalRequest(kind="parts_incident", grounds="quality_incident", outlet_id=outlet.id,
                                amount=Decimal("1"), reason="无主", requested_by=clerk, created_at=T0))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    session.add(ApprovalRequest(kind="return_refund", grounds="sanbao_window", outlet_id=outlet.id,
                                amount=Decimal("1"), reason="无单", requested_by=clerk, created_at=T0))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


# --- review findings: what was asked bounds what is approved ------------------------------------------
def test_incident_never_credits_more_than_was_asked(session):  # R-PART-2, R-RET-4
    outlet = outlet_with_quota(session)
    request = incident_request(session, outlet)  # 360.00 asked
    asked = ask_incident(session, request)
    other = submit(session, outlet, specs=(("P-HEX-01", 7),))  # the account is drawn on meanwhile
    parts_requests.review(session, other, f.user(session, "clerk"), {other.lines[0].id: ON_ACCOUNT})
    with pytest.raises(DomainError):
        approvals.decide(session, asked, f.user(session, "manager"), "approve", "同意")
    session.rollback()


def test_incident_credit_is_refused_when_the_account_was_drawn_on(session):  # R-PART-2
    outlet = outlet_with_quota(session)
    request = incident_request(session, outlet)
    asked = ask_incident(session, request)
    other = submit(session, outlet, specs=(("P-HEX-01", 7),))
    parts_requests.review(session, other, f.user(session, "clerk"), {other.lines[0].id: ON_ACCOUNT})
    before = balance(session, outlet)
    approvals.decide(session, asked, f.user(session, "manager"), "reject", "余额已变，请重新申请")
    assert request.status == S.SUBMITTED.value and balance(session, outlet) == before
    again = ask_incident(session, request)  # asked again on today's figure
    assert again.amount == Decimal("3360.00") - before and again.needs_second


def test_the_ten_fold_charge_back_decides_whether_two_managers_are_needed(session):  # R-RET-4, R-CMP-3
    claim = audited_claim(session, auditor="clerk")
    session.add(PolicySetting(key="approvals.second_manager_above", value="500"))
    session.flush()
    asked = network_approvals.ask_chargeback(session, claim, f.user(session, "clerk"), Decimal("100.00"), "多报")
    assert asked.needs_second  # 100.00 overcharged is 1,000.00 charged back
    approvals.decide(session, asked, f.user(session, "manager"), "approve", "同意")
    assert claim.charge_back == Decimal("0.00")


def test_what_a_manager_asks_and_the_answer_stay_on_the_request(session):  # R-RET-4
    outlet = outlet_with_quota(session)
    third = third_batch(session, outlet)
    asked = network_approvals.open_request(third)
    approvals.decide(session, asked, f.user(session, "manager"), "ask_info", "请附上服务单号")
    approvals.answer_info(session, asked, f.user(session, "dealer1"), "SV20261122-0007")
    session.flush()
    assert [(e.action, e.note, e.actor.username) for e in asked.events] == [
        ("approval_requested", "燃气热水器批量故障，急需比例阀", "dealer1"),
        ("approval_ask_info", "请附上服务单号", "manager"),
        ("approval_info_given", "SV20261122-0007", "dealer1")]


# --- R-PART-8: a credit to a parts account is approved by another manager --------------------------
def test_a_credit_to_a_parts_account_waits_for_another_manager(session):  # R-PART-8, R-ROLE-2
    outlet = outlet_with_quota(session)
    account = ledger.account_of(session, outlet.id)
    manager, admin = f.user(session, "manager"), f.user(session, "admin")
    token = "a" * 32
    asked = network_approvals.correct_account(session, account, manager, Decimal("120.00"), "误扣冲回", token)
    assert (asked.kind, asked.amount, asked.parts_account, asked.status) == (
        "parts_credit", Decimal("120.00"), account, "pending")
    again = network_approvals.correct_account(session, account, manager, Decimal("120.00"), "误扣冲回", token)
    assert again is asked and balance(session, outlet) == Decimal("3000.00")  # a double click, nothing posted
    with pytest.raises(ApprovalForbidden):
        approvals.decide(session, asked, manager, "approve", "自己批准")
    approvals.decide(session, asked, admin, "approve", "核实误扣")
    assert balance(session, outlet) == Decimal("3120.00") == entries_sum(session, outlet)
    credit = session.scalar(select(LedgerEntry).where(LedgerEntry.source == f"approval:{asked.id}"))
    assert (credit.kind, credit.actor, "误扣冲回" in credit.reason) == ("adjustment", admin, True)


def test_a_debit_correction_is_posted_at_once(session):  # R-PART-8
    outlet = outlet_with_quota(session)
    account = ledger.account_of(session, outlet.id)
    entry = network_approvals.correct_account(session, account, f.user(session, "manager"), Decimal("-20.00"),
                                              "盘点短少", "b" * 32)
    assert isinstance(entry, LedgerEntry) and balance(session, outlet) == Decimal("2980.00")
    assert network_approvals.open_request(account) is None


def test_the_same_credit_form_asks_once_even_after_it_was_approved(session):  # R-PART-8
    outlet = outlet_with_quota(session)
    account = ledger.account_of(session, outlet.id)
    manager, admin, token = f.user(session, "manager"), f.user(session, "admin"), "c" * 32
    asked = network_approvals.correct_account(session, account, manager, Decimal("10.00"), "误扣冲回", token)
    with pytest.raises(FieldErrors) as waiting:  # another credit waits behind the first
        network_approvals.correct_account(session, account, manager, Decimal("5.00"), "另一笔", "d" * 32)
    assert set(waiting.value.errors) == {"adjust_amount"}
    approvals.decide(session, asked, admin, "approve", "核实")
    again = network_approvals.correct_account(session, account, manager, Decimal("10.00"), "误扣冲回", token)
    assert again is asked and balance(session, outlet) == Decimal("3010.00")
    with pytest.raises(FieldErrors) as reused:  # the used form, another amount
        network_approvals.correct_account(session, account, manager, Decimal("11.00"), "误扣冲回", token)
    assert set(reused.value.errors) == {"adjust_amount"}
    assert session.scalar(select(func.count(ApprovalRequest.id)).where(
        ApprovalRequest.parts_account_id == account.id)) == 1


def test_a_double_clicked_debit_is_booked_once_whatever_is_left(session):  # R-PART-8
    outlet = outlet_with_quota(session)
    account = ledger.account_of(session, outlet.id)
    manager, token = f.user(session, "manager"), "e" * 32
    first = network_approvals.correct_account(session, account, manager, Decimal("-2999.00"), "盘点短少", token)
    second = network_approvals.correct_account(session, account, manager, Decimal("-2999.00"), "盘点短少", token)
    assert second.id == first.id and balance(session, outlet) == Decimal("1.00")


def test_a_credit_never_takes_the_account_past_what_it_can_hold(session):  # R-PART-8
    outlet = outlet_with_quota(session)
    account = ledger.account_of(session, outlet.id)
    asked = network_approvals.correct_account(session, account, f.user(session, "manager"), Decimal("9.00"),
                                              "冲回", "f" * 32)
    ledger.post(session, outlet.id, LedgerKind.ADJUSTMENT, ledger.MAX_BALANCE - Decimal("3005.00"),
                source="test:fill", reason="测试填满")
    with pytest.raises(DomainError):
        approvals.decide(session, asked, f.user(session, "admin"), "approve", "同意")
    session.rollback()


# --- who decides a network request, and what it is decided on (R-ROLE-2, R-PART-2, R-PART-8) --------
def test_the_manager_who_audited_the_claim_may_not_decide_its_charge_back(session):  # R-ROLE-2, R-CMP-3
    claim = audited_claim(session)
    asked = network_approvals.ask_chargeback(session, claim, f.user(session, "clerk"), Decimal("5.00"), "多报路程")
    auditor = f.user(session, "manager")
    conflict = network_approvals.decider_conflict(asked, auditor)
    assert str(conflict.reason) == "You audited this claim: another manager decides the charge-back."
    verdicts = approvals.actions(session, asked, auditor)
    assert not verdicts["decide"] and verdicts["decide"].hint and verdicts["reject"].reason == conflict.reason
    assert network_approvals.decider_conflict(asked, f.user(session, "admin"))
    assert approvals.actions(session, asked, f.user(session, "admin"))["decide"]


def test_the_manager_who_requested_the_parts_may_not_decide_the_incident(session):  # R-ROLE-2, R-PART-2
    outlet = outlet_with_quota(session)
    request = submit(session, outlet, user="manager", specs=(("P-HEX-01", 8),))
    asked = ask_incident(session, request)
    verdict = approvals.actions(session, asked, f.user(session, "manager"))["approve"]
    assert not verdict and str(verdict.reason) == "You requested these parts: another manager decides."
    assert approvals.actions(session, asked, f.user(session, "admin"))["approve"]


def test_a_conflict_is_not_said_once_the_request_is_decided(session):  # R-ROLE-2
    claim = audited_claim(session)
    asked = network_approvals.ask_chargeback(session, claim, f.user(session, "clerk"), Decimal("5.00"), "多报路程")
    approvals.decide(session, asked, f.user(session, "admin"), "reject", "证据不足")
    verdict = approvals.actions(session, asked, f.user(session, "manager"))["decide"]
    assert not verdict and not verdict.hint


def test_a_request_with_no_conflict_lets_any_other_manager_decide(session):
    asked = network_approvals.open_request(third_batch(session, outlet_with_quota(session)))
    assert network_approvals.decider_conflict(asked, f.user(session, "manager"))


def test_incident_figures_say_what_lies_beyond_the_quota(session):  # R-PART-2
    outlet = outlet_with_quota(session)
    asked = ask_incident(session, incident_request(session, outlet))
    incident = network_approvals.figures(session, asked)["incident"]
    assert (incident["on_account"], incident["balance"], incident["beyond_quota"]) == (
        Decimal("3360.00"), Decimal("3000.00"), Decimal("360.00"))
    ledger.post(session, outlet.id, LedgerKind.RETURN_CREDIT, Decimal("500.00"), source="test:credit-meanwhile",
                reason="旧件冲账")
    assert network_approvals.figures(session, asked)["incident"]["beyond_quota"] == Decimal("0.00")  # never below


def test_credit_figures_say_the_balance_after_the_credit(session):  # R-PART-8
    outlet = outlet_with_quota(session)
    account = ledger.account_of(session, outlet.id)
    asked = network_approvals.correct_account(session, account, f.user(session, "manager"), Decimal("120.00"),
                                              "误扣冲回", "b" * 32)
    credit = network_approvals.figures(session, asked)["credit"]
    assert (credit["account"], credit["balance"], credit["after"]) == (account, Decimal("3000.00"), Decimal("3120.00"))


def test_charge_back_figures_say_what_the_outlet_is_charged(session):  # R-FEE-2
    claim = audited_claim(session)
    asked = network_approvals.ask_chargeback(session, claim, f.user(session, "clerk"), Decimal("12.35"), "多报路程")
    chargeback = network_approvals.figures(session, asked)["chargeback"]
    assert (chargeback["claim"], chargeback["multiple"], chargeback["charge_back"]) == (
        claim, Decimal("10"), Decimal("123.50"))


def test_a_ticket_request_has_no_network_figures(session):
    assert network_approvals.figures(session, ApprovalRequest(kind="return_refund")) == {}
