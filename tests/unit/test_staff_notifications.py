"""Staff hear in the app of the events that wait for them (issue 17 point 2): an approval waiting
(the managers who may decide it, R-RET-4, R-ROLE-2), a fee claim audited or charged back (R-FEE-2),
a month's parts statement issued or reissued (R-PART-7) and parts shipped (R-PART-3) — the
dealers of the outlet (and of its parent outlet). Each event is told once per person, however
often it is noticed; inactive users hear nothing. The events go through the real services; the
notification rows are read back.
"""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from backoffice import approvals, fee_claims, ledger, network_approvals, parts_requests, recipients, reconciliation
from backoffice.errors import DomainError
from backoffice.notifications import staff_text
from backoffice.parts_requests import LineDraft
from backoffice.timezones import to_local
from models import Part, PolicySetting, StaffNotification, User, utcnow
from models.choices import Role
from tests import factories as f

ZH = "zh_Hans_CN"


def told(session, kind, **params) -> dict[int, StaffNotification]:
    """{user id: notification} of `kind` whose params include `params`; one row per user."""
    rows = [row for row in session.scalars(select(StaffNotification).where(StaffNotification.kind == kind)
                                           .order_by(StaffNotification.id))
            if all(row.params.get(key) == value for key, value in params.items())]
    by_user = {row.user_id: row for row in rows}
    assert len(by_user) == len(rows), "someone was told twice"
    return by_user


def deciding_managers(session, *but) -> set[int]:
    """Every active manager and admin, except `but` (R-RET-4: they decide approvals)."""
    ids = session.scalars(select(User.id).where(User.role.in_((Role.MANAGER.value, Role.ADMIN.value)),
                                                User.active.is_(True)))
    return set(ids) - {user.id for user in but}


def renders(app, row, *expected) -> tuple[str, str]:
    """The text in English and in Chinese; both name what they are about."""
    with app.app_context():
        with force_locale("en"):
            english = staff_text(row)
        with force_locale(ZH):
            chinese = staff_text(row)
    for text in (english, chinese):
        assert all(str(value) in text for value in expected), text
    assert chinese != english, "not translated (the catalogue lacks the msgid)"
    return english, chinese


def plain(row) -> bool:
    """Params are JSON plain values (the column is JSON, the view builds the link from them)."""
    return json.loads(json.dumps(row.params)) == row.params


# --- approvals: the managers who may decide (R-RET-4, R-ROLE-2) ----------------------------------

def test_a_waiting_refund_is_told_once_to_every_manager_who_may_decide_it(app, session):  # R-RET-4
    world = f.make_service_network(session)
    away = f.make_user(session, Role.MANAGER, active=False)
    request = f.make_refund_request(session, world)
    session.commit()

    rows = told(session, "approval_waiting", id=request.id)
    assert set(rows) == deciding_managers(session) and away.id not in rows
    assert world["clerk"].id not in rows and world["dealer_a"].id not in rows
    row = rows[world["manager"].id]
    assert (row.link, row.ticket_id, row.params["number"]) == ("approval.details_view", request.ticket_id,
                                                               f"#{request.id}")
    assert plain(row) and row.read_at is None
    english, _ = renders(app, row, f"#{request.id}")
    assert "waits for your decision" in english


def test_a_manager_who_asks_is_not_told_of_their_own_request(session):  # R-ROLE-2
    world = f.make_service_network(session)
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], kind="return_exchange",
                           actor=world["clerk"])
    request = approvals.submit(session, ticket, world["manager"], approvals.Draft(
        kind="return_refund", grounds="sanbao_window", reason="7天内性能故障", amount=Decimal("2599.00")))
    session.commit()
    assert set(told(session, "approval_waiting", id=request.id)) == deciding_managers(session, world["manager"])


def test_above_the_threshold_the_other_managers_hear_a_second_approval_is_needed(app, session):  # R-RET-4
    session.add(PolicySetting(key="approvals.second_manager_above", value="1000"))
    world = f.make_service_network(session)
    request = f.make_refund_request(session, world)
    assert request.needs_second
    approvals.decide(session, request, world["manager"], "approve", "核实属实，同意退货")
    session.commit()

    rows = told(session, "approval_second", id=request.id)
    assert set(rows) == deciding_managers(session, world["manager"])  # not the first approver again
    assert len(told(session, "approval_waiting", id=request.id)) == len(deciding_managers(session))
    renders(app, rows[world["manager2"].id], f"#{request.id}")


def test_an_answer_to_what_a_manager_asked_makes_it_wait_again_and_says_so(app, session):
    world = f.make_service_network(session)
    request = f.make_refund_request(session, world)
    for round_ in (1, 2):
        approvals.decide(session, request, world["manager"], "ask_info", "请补充故障照片")
        approvals.answer_info(session, request, world["clerk"], f"已上传照片（第{round_}次）")
    session.commit()
    rows = [row for row in session.scalars(select(StaffNotification).where(
        StaffNotification.kind == "approval_answered", StaffNotification.user_id == world["manager"].id))
        if row.params["id"] == request.id]
    assert len(rows) == 2  # each answer is news
    renders(app, rows[0], f"#{request.id}")


def test_a_dealers_batch_over_the_weekly_limit_reaches_the_managers(app, session):  # R-PART-3
    world = f.make_service_network(session)
    f.make_parts_account(session, world["a"])
    batches = [submit_parts(session, world["a"], world["dealer_a"]) for _ in range(2)]
    third = submit_parts(session, world["a"], world["dealer_a"], exception_reason="批量故障，急需点火针")
    session.commit()

    asked = network_approvals.open_request(third)
    rows = told(session, "approval_waiting", id=asked.id)
    assert set(rows) == deciding_managers(session)
    assert rows[world["manager"].id].ticket_id is None and all(b.approvals == [] for b in batches)
    renders(app, rows[world["manager"].id], f"#{asked.id}")


def test_a_managers_own_batch_is_decided_and_told_to_another_manager(session):  # R-ROLE-2
    world = f.make_service_network(session)
    f.make_parts_account(session, world["a"])
    for _ in range(2):
        submit_parts(session, world["a"], world["manager"])
    third = submit_parts(session, world["a"], world["manager"], exception_reason="质量事故，集中更换")
    session.commit()
    asked = network_approvals.open_request(third)
    assert set(told(session, "approval_waiting", id=asked.id)) == deciding_managers(session, world["manager"])


# --- fee claims: the outlet's dealers (R-FEE-2) ----------------------------------------------------

def claim_of(session, world, outlet_key="a"):
    """A resolved warranty repair at the world's outlet, and its claim with its old parts back."""
    customer = world["customer"] if outlet_key == "a" else f.make_customer(session, world[outlet_key])
    unit = world["unit"] if outlet_key == "a" else f.make_unit(session, customer)
    ticket = f.make_ticket(session, customer, unit=unit, status="resolved", desk=world["clerk"])
    claim = next(c for c in fee_claims.generate(session, world[outlet_key].id, world["clerk"])
                 if c.ticket_id == ticket.id)
    f.bring_back_old_parts(session, claim)
    return claim


def test_an_audited_claim_is_told_to_its_outlets_dealers_only(app, session):  # R-FEE-2
    world = f.make_service_network(session)
    also_a = f.make_user(session, Role.DEALER, outlet=world["a"])
    gone = f.make_user(session, Role.DEALER, outlet=world["a"], active=False)
    claim = claim_of(session, world)
    fee_claims.audit(session, claim, world["clerk"], "approve")
    session.commit()

    rows = told(session, "claim_approved", id=claim.id)
    assert set(rows) == {world["dealer_a"].id, also_a.id}  # not B's dealer, not the inactive one
    assert gone.id not in rows and world["dealer_b"].id not in rows
    row = rows[world["dealer_a"].id]
    assert (row.link, row.params["number"]) == ("fee_claim.details_view", claim.number) and plain(row)
    english, _ = renders(app, row, claim.number, f"{claim.approved_total:,.2f}")
    assert "approved" in english


@pytest.mark.parametrize("decision,kind", [("adjust", "claim_adjusted"), ("reject", "claim_rejected")])
def test_an_adjusted_or_rejected_claim_says_so(app, session, decision, kind):  # R-FEE-2
    world = f.make_service_network(session)
    claim = claim_of(session, world)
    fee_claims.audit(session, claim, world["clerk"], decision, note="里程与导航不符，按实际核减",
                     approved_total=Decimal("10.00") if decision == "adjust" else None)
    session.commit()
    rows = told(session, kind, id=claim.id)
    assert set(rows) == {world["dealer_a"].id}
    renders(app, rows[world["dealer_a"].id], claim.number, *(["10.00"] if decision == "adjust" else []))


def test_a_claim_reopened_and_audited_again_is_told_once_per_audit(session):  # R-FEE-3
    world = f.make_service_network(session)
    claim = claim_of(session, world)
    first = utcnow() - timedelta(hours=2)
    fee_claims.audit(session, claim, world["clerk"], "approve", at=first)
    fee_claims.ticket_reopened(session, claim.ticket, first + timedelta(minutes=30))  # waits for audit again
    fee_claims.audit(session, claim, world["clerk"], "approve", at=first + timedelta(hours=1))
    session.commit()
    rows = session.scalars(select(StaffNotification).where(
        StaffNotification.kind == "claim_approved", StaffNotification.user_id == world["dealer_a"].id)).all()
    assert len([row for row in rows if row.params["id"] == claim.id]) == 2


def test_a_confirmed_charge_back_is_told_to_the_outlet(app, session):  # R-FEE-2, R-CMP-3
    world = f.make_service_network(session)
    claim = claim_of(session, world)
    fee_claims.audit(session, claim, world["manager"], "approve")
    asked = network_approvals.ask_chargeback(session, claim, world["clerk"], Decimal("5.00"), "多报里程")
    approvals.decide(session, asked, world["manager2"], "approve", "核实多报，扣罚")
    session.commit()
    rows = told(session, "claim_charged_back", id=claim.id)
    assert set(rows) == {world["dealer_a"].id}
    renders(app, rows[world["dealer_a"].id], claim.number, "5.00", f"{claim.charge_back:,.2f}")


# --- statements: the outlet's dealers and its parent's (R-PART-7) ----------------------------------

def test_a_months_statement_is_told_once_per_outlet_and_month(app, session):  # R-PART-7
    world = f.make_service_network(session)
    sub = f.make_outlet(session, parent=world["a"])
    sub_dealer = f.make_user(session, Role.DEALER, outlet=sub)
    gone = f.make_user(session, Role.DEALER, outlet=sub, active=False)
    for outlet in (sub, world["b"]):
        ledger.grant_quota(session, outlet, world["manager"], at=utcnow() - timedelta(days=1))

    month = to_local(utcnow()).date().replace(day=1)
    issued = reconciliation.issue_month(session, month)
    again = reconciliation.issue_month(session, month)  # the job runs again: nothing new
    reconciliation.issue_all(session, month, world["clerk"])  # and the center presses the button
    session.commit()

    assert {r.outlet_id for r in issued} >= {sub.id, world["b"].id} and again == []
    label = f"{month:%Y-%m}"
    record = next(r for r in issued if r.outlet_id == sub.id)
    rows = told(session, "statement_issued", id=record.id)
    assert set(rows) == {sub_dealer.id, world["dealer_a"].id}  # the parent's dealer signs it too
    assert gone.id not in rows and world["dealer_b"].id not in rows
    b_rows = told(session, "statement_issued", id=next(r.id for r in issued if r.outlet_id == world["b"].id))
    assert set(b_rows) == {world["dealer_b"].id}
    row = rows[sub_dealer.id]
    assert (row.link, row.params["month"]) == ("parts_month.details_view", label) and plain(row)
    renders(app, row, label)


def test_the_scheduled_issue_tells_the_outlets_dealers(session):  # R-PART-7: issue_due
    world = f.make_service_network(session)
    ledger.grant_quota(session, world["a"], world["manager"], at=utcnow() - timedelta(days=40))
    today = to_local(utcnow()).date()
    reconciliation.issue_due(session, today)
    reconciliation.issue_due(session, today)
    session.commit()
    last = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    assert set(told(session, "statement_issued", month=f"{last:%Y-%m}",
                    id=reconciliation._find(session, world["a"].id, last).id)) == {world["dealer_a"].id}


def test_each_record_is_an_event_of_its_own(session):  # recipients.tell_outlet_of: once per record and key
    world = f.make_service_network(session)
    ledger.grant_quota(session, world["a"], world["manager"], at=utcnow() - timedelta(days=40))
    this_month = to_local(utcnow()).date().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    records = [reconciliation.issue(session, world["a"].id, month) for month in (last_month, this_month)]
    for record in records:  # noticed again: nothing new
        recipients.tell_outlet_of(session, record, "statement_issued", "", "parts_month.details_view")
    session.commit()
    for record in records:
        rows = told(session, "statement_issued", id=record.id)
        assert set(rows) == {world["dealer_a"].id}
        assert rows[world["dealer_a"].id].link == "parts_month.details_view"


def test_a_reissued_statement_asks_the_outlet_to_confirm_again(app, session):  # R-PART-7
    world = f.make_service_network(session)
    ledger.grant_quota(session, world["a"], world["manager"], at=utcnow() - timedelta(days=1))
    record = reconciliation.issue(session, world["a"].id, to_local(utcnow()).date().replace(day=1))
    reconciliation.dispute(session, record, world["dealer_a"], "三月领用数量不符")
    reconciliation.resolve(session, record, world["clerk"], "no_change", [], note="核对出库单，数量无误")
    session.commit()
    rows = told(session, "statement_reissued", id=record.id)
    assert set(rows) == {world["dealer_a"].id} and rows[world["dealer_a"].id].params["revision"] == 2
    renders(app, rows[world["dealer_a"].id], f"{record.month:%Y-%m}", "2")


# --- parts shipped: the outlet's dealers (R-PART-3) ------------------------------------------------

def submit_parts(session, outlet, actor, **kw):
    part = session.scalar(select(Part).where(Part.code == "P-NTC-01"))
    return parts_requests.submit(session, outlet.id, actor, [LineDraft(part.id, 1)], **kw)


def reviewed(session, world, outlet_key="a"):
    f.make_parts_account(session, world[outlet_key])
    request = submit_parts(session, world[outlet_key], world[f"dealer_{outlet_key}"])
    parts_requests.review(session, request, world["clerk"], {line.id: "on_account" for line in request.lines})
    return request


def test_a_shipped_request_is_told_once_to_its_outlets_dealers(app, session):  # R-PART-3
    world = f.make_service_network(session)
    request = reviewed(session, world)
    parts_requests.ship(session, request, world["clerk"], "顺丰速运", "SF1234567890")
    session.commit()
    with pytest.raises(DomainError):  # shipped already: a second click is refused, nothing told twice
        parts_requests.ship(session, request, world["clerk"], "顺丰速运", "SF1234567890")
    session.rollback()

    rows = told(session, "parts_shipped", id=request.id)
    assert set(rows) == {world["dealer_a"].id}
    row = rows[world["dealer_a"].id]
    assert (row.link, row.params["number"], row.params["tracking"]) == \
        ("parts_request.details_view", request.number, "SF1234567890") and plain(row)
    renders(app, row, request.number)


def test_missing_parts_reshipped_are_told_as_a_parcel_of_their_own(app, session):  # R-PART-10
    world = f.make_service_network(session)
    request = reviewed(session, world)
    parts_requests.ship(session, request, world["clerk"], "顺丰速运", "SF1")
    parts_requests.confirm_delivery(session, request, world["dealer_a"], False, note="少一个")
    parts_requests.resolve_dispute(session, request, world["clerk"], "reship", {request.lines[0].id: 1},
                                   "漏发，补发", courier="中通快递", tracking_no="ZT99")
    session.commit()
    rows = told(session, "parts_reshipped", id=request.id)
    assert set(rows) == {world["dealer_a"].id}
    renders(app, rows[world["dealer_a"].id], request.number, "ZT99")
    assert len(told(session, "parts_shipped", id=request.id)) == 1


def test_an_inactive_dealer_hears_nothing(session):
    """A deactivated account (someone who left the outlet) is told nothing any more."""
    world = f.make_service_network(session)
    world["dealer_a"].active = False
    request = reviewed(session, world)
    parts_requests.ship(session, request, world["clerk"], "顺丰速运", "SF2")
    session.commit()
    assert told(session, "parts_shipped", id=request.id) == {}


def test_staff_notifications_are_in_the_services_transaction(session):
    """The services never commit: a rolled-back shipment tells nobody."""
    world = f.make_service_network(session)
    request = reviewed(session, world)
    session.commit()
    parts_requests.ship(session, request, world["clerk"], "顺丰速运", "SF3")
    assert told(session, "parts_shipped", id=request.id)
    session.rollback()
    assert told(session, "parts_shipped", id=request.id) == {}

