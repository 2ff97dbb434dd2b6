"""Parts requests of the outlets (backoffice/parts_requests.py: R-PART-2, R-PART-3, R-PART-7,
R-ROLE-1): the weekly batches, review onto the account, shipping, the delivery check, and who
may do which step now (`actions`).

Demo world (backoffice/demo.py `_parts_accounts`): dealer outlets drew one batch last month;
last month is confirmed everywhere except at DG-NC (its supply is held). Request tests open an
outlet of their own and work in March 2031 (T0 is a Wednesday), where no demo week or month
interferes.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backoffice import ledger, parts_requests, reconciliation
from backoffice.errors import DomainError, FieldErrors
from backoffice.parts_requests import LineDraft
from backoffice.permissions import ALLOWED, NOT_YOUR_ROLE, why_not
from backoffice.timezones import local_today, to_local
from models import ApprovalEvent, ApprovalRequest, LedgerEntry, Outlet, Part, PartsAccount, PartsRequest, PolicySetting
from models.choices import LedgerKind as K
from models.choices import PartsRequestStatus as S
from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(y, m, d, hour=10, minute=0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


T0 = local(2031, 3, 12)  # Wednesday; the week starts Monday 2031-03-10 (ISO week 11)


def part(session, code) -> Part:
    return session.scalar(select(Part).where(Part.code == code))


def outlet_with_quota(session, code="T-SUPPLY", purchases="1000000.00", at=T0) -> Outlet:
    """A new outlet with its quota granted at `at` (0.3 % of purchases: 3000.00 by default)."""
    outlet = Outlet(code=code, name=f"测试网点 {code}", region="测试区",
                    total_purchase_amount=Decimal(purchases))
    session.add(outlet)
    session.flush()
    ledger.grant_quota(session, outlet, f.user(session, "manager"), at=at)
    return outlet


def balance(session, outlet) -> Decimal:
    return session.scalar(select(PartsAccount.balance).where(PartsAccount.outlet_id == outlet.id))


def lines(session, *specs) -> list[LineDraft]:
    """specs: (part code, qty) or (part code, qty, urgent)."""
    return [LineDraft(part(session, code).id, qty, urgent=bool(rest and rest[0])) for code, qty, *rest in specs]


def submit(session, outlet, at=T0, user="clerk", specs=(("P-NTC-01", 1),), **kw) -> PartsRequest:
    return parts_requests.submit(session, outlet.id, f.user(session, user), lines(session, *specs),
                                 at=at, **kw)


def line_entries(session, request) -> list[LedgerEntry]:
    sources = [f"parts_request_line:{line.id}" for line in request.lines]
    return list(session.scalars(select(LedgerEntry).where(LedgerEntry.source.in_(sources))
                                .order_by(LedgerEntry.id)))


# --- requests (R-PART-3) ------------------------------------------------------------------

def test_at_most_two_batches_per_week_then_an_exception_is_needed(session):  # R-PART-3
    outlet = outlet_with_quota(session)
    first = submit(session, outlet, note="周转")
    second = submit(session, outlet, at=T0 + timedelta(days=1))
    assert [(r.batch_no, r.status) for r in (first, second)] == [(1, S.SUBMITTED.value), (2, S.SUBMITTED.value)]
    assert first.week_start == second.week_start == date(2031, 3, 10)
    assert first.number == "PJ-T-SUPPLY-2031W11-1" and second.number == "PJ-T-SUPPLY-2031W11-2"

    # Sunday 23:30 in Guangzhou is still this week: the third batch needs a reason.
    sunday_night = local(2031, 3, 16, 23, 30)
    with pytest.raises(FieldErrors) as refused:
        submit(session, outlet, at=sunday_night)
    assert set(refused.value.errors) == {"exception_reason"}
    third = submit(session, outlet, at=sunday_night, exception_reason="质量事故批量更换")
    assert (third.batch_no, third.status, third.exception_reason) == \
        (3, S.AWAITING_EXCEPTION.value, "质量事故批量更换")

    # Monday 00:30 locally (still Sunday in UTC) opens a new week.
    monday = submit(session, outlet, at=local(2031, 3, 17, 0, 30))
    assert (monday.week_start, monday.batch_no, monday.status) == (date(2031, 3, 17), 1, S.SUBMITTED.value)

    # The limit is a policy value.
    session.add(PolicySetting(key="parts.batches_per_week", value="3"))
    session.flush()
    assert submit(session, outlet, at=local(2031, 3, 18)).status == S.SUBMITTED.value
    assert submit(session, outlet, at=local(2031, 3, 18)).status == S.SUBMITTED.value
    assert submit(session, outlet, at=local(2031, 3, 18), exception_reason="x").status == \
        S.AWAITING_EXCEPTION.value


def test_each_line_names_a_price_list_part_and_a_quantity(session):  # R-PART-1, R-PART-3
    outlet = outlet_with_quota(session)
    clerk = f.user(session, "clerk")
    with pytest.raises(FieldErrors) as empty:
        parts_requests.submit(session, outlet.id, clerk, [LineDraft(None, None)], at=T0)
    assert set(empty.value.errors) == {"lines"}
    with pytest.raises(FieldErrors) as bad:
        parts_requests.submit(session, outlet.id, clerk, [
            LineDraft(part(session, "P-IGN-01").id, 0), LineDraft(987654, 1),
            LineDraft(part(session, "P-VLV-01").id, 1, gas_type="coal")], at=T0)
    assert set(bad.value.errors) == {"lines-0-qty", "lines-1-part_id", "lines-2-gas_type"}

    request = parts_requests.submit(session, outlet.id, clerk, [
        LineDraft(part(session, "P-VLV-02").id, 2), LineDraft(part(session, "P-FAN-01").id, 1, "lpg")], at=T0)
    valve, fan = request.lines
    assert (valve.gas_type, valve.unit_price, valve.amount) == ("lpg", Decimal("168.00"), Decimal("336.00"))
    assert (fan.gas_type, fan.unit_price) == ("lpg", Decimal("185.00"))  # the price list's, when requested


def test_review_posts_on_account_and_purchase_lines(session):  # R-PART-2, R-PART-3, R-PART-8
    outlet = outlet_with_quota(session)  # 3000.00
    clerk = f.user(session, "clerk")
    request = submit(session, outlet, specs=(("P-PCB-01", 2), ("P-HEX-01", 1), ("P-MOT-01", 1)))
    board, exchanger, motor = request.lines
    assert set(parts_requests.suggested_settlements(session, request).values()) == {"on_account"}

    at = T0 + timedelta(hours=4)
    parts_requests.review(session, request, clerk, {board.id: "on_account", exchanger.id: "purchase",
                                                    motor.id: "on_account"}, at=at)
    assert request.status == S.REVIEWED.value and request.reviewed_by == clerk and request.reviewed_at == at
    assert [line.settlement for line in request.lines] == ["on_account", "purchase", "on_account"]
    booked = {e.source: e for e in line_entries(session, request)}
    on_board, bought, on_motor = (booked[f"parts_request_line:{line.id}"] for line in request.lines)
    assert (on_board.kind, on_board.delta, on_board.cash_amount) == (K.ISSUE.value, Decimal("-472.00"), Decimal("0.00"))
    assert (bought.kind, bought.delta, bought.cash_amount) == (K.PURCHASE.value, Decimal("0.00"), Decimal("420.00"))
    assert (on_motor.kind, on_motor.delta) == (K.ISSUE.value, Decimal("-310.00"))
    for entry, line in zip((on_board, bought, on_motor), request.lines, strict=True):
        assert (entry.part_id, entry.qty, entry.actor_id, entry.reason) == \
            (line.part_id, line.qty, clerk.id, request.number)
    assert balance(session, outlet) == Decimal("2218.00")

    with pytest.raises(DomainError):  # reviewed once
        parts_requests.review(session, request, clerk, {board.id: "on_account"})
    assert len(line_entries(session, request)) == 3

    other = submit(session, outlet)
    with pytest.raises(DomainError):  # the outlet does not review its own request
        parts_requests.review(session, other, f.user(session, "dealer1"), {other.lines[0].id: "on_account"})
    with pytest.raises(FieldErrors) as unsettled:
        parts_requests.review(session, other, clerk, {})
    assert set(unsettled.value.errors) == {f"settlement-{other.lines[0].id}"}


def test_suggestion_is_on_account_while_the_balance_covers_then_purchase(session):  # R-PART-2
    outlet = outlet_with_quota(session, purchases="100000.00")  # 300.00
    request = submit(session, outlet, specs=(("P-PCB-01", 1), ("P-MOT-01", 1), ("P-NTC-01", 2)))
    board, motor, sensor = request.lines  # 236.00, 310.00, 56.00
    assert parts_requests.suggested_settlements(session, request) == {
        board.id: "on_account", motor.id: "purchase", sensor.id: "on_account"}
    parts_requests.review(session, request, f.user(session, "clerk"),
                          parts_requests.suggested_settlements(session, request))
    assert balance(session, outlet) == Decimal("8.00")


def test_review_over_quota_line_is_refused_and_nothing_posts(session):  # R-PART-2, R-PART-8
    outlet = outlet_with_quota(session, purchases="100000.00")  # 300.00
    request = submit(session, outlet, specs=(("P-NTC-01", 2), ("P-MOT-01", 1)))
    sensor, motor = request.lines  # 56.00 fits, 310.00 does not
    session.commit()
    ids = {"request": request.id, "sensor": sensor.id, "motor": motor.id}

    with pytest.raises(FieldErrors) as refused:
        parts_requests.review(session, request, f.user(session, "clerk"),
                              {sensor.id: "on_account", motor.id: "on_account"})
    assert set(refused.value.errors) == {f"settlement-{ids['motor']}"}  # only the line over the quota
    assert "310.00" in str(refused.value.errors[f"settlement-{ids['motor']}"])  # what the line needs
    assert ledger._by_source(session, f"parts_request_line:{ids['motor']}") is None  # refused: not booked
    session.rollback()  # as every view does on FieldErrors: all lines or none

    request = session.get(PartsRequest, ids["request"])
    assert request.status == S.SUBMITTED.value and line_entries(session, request) == []
    assert balance(session, outlet) == Decimal("300.00")
    assert [line.settlement for line in request.lines] == [None, None]

    # Bought instead (R-PART-2: above the quota the outlet buys): now it goes through.
    parts_requests.review(session, request, f.user(session, "clerk"),
                          {ids["sensor"]: "on_account", ids["motor"]: "purchase"})
    assert balance(session, outlet) == Decimal("244.00")
    assert [e.cash_amount for e in line_entries(session, request)] == [Decimal("0.00"), Decimal("310.00")]


def test_urgent_request_must_ship_within_24h(session):  # R-PART-3
    outlet = outlet_with_quota(session)
    urgent = submit(session, outlet, specs=(("P-IGN-01", 2, True), ("P-FLM-01", 1)))
    normal = submit(session, outlet, specs=(("P-IGN-01", 2),))
    assert urgent.urgent and not normal.urgent
    assert parts_requests.ship_due(session, urgent) == T0 + timedelta(hours=24)
    assert parts_requests.ship_due(session, normal) is None

    session.add(PolicySetting(key="parts.urgent_ship_hours", value="12"))  # a policy value
    session.flush()
    assert parts_requests.ship_due(session, urgent) == T0 + timedelta(hours=12)

    demo = session.scalar(select(PartsRequest).where(  # FS-SD's urgent request waiting for review
        PartsRequest.outlet_id == f.outlet(session, "FS-SD").id, PartsRequest.status == S.SUBMITTED.value))
    assert demo.urgent and parts_requests.ship_due(session, demo) == demo.created_at + timedelta(hours=12)


def shipped(session, outlet, at=T0) -> PartsRequest:
    clerk = f.user(session, "clerk")
    request = submit(session, outlet, at=at)
    parts_requests.review(session, request, clerk, {request.lines[0].id: "on_account"}, at=at)
    parts_requests.ship(session, request, clerk, "顺丰速运", "SF1234567890", at=at + timedelta(hours=6))
    return request


def test_picking_then_shipping_needs_the_courier_and_tracking_number(session):  # R-PART-3
    outlet = outlet_with_quota(session)
    clerk = f.user(session, "clerk")
    request = submit(session, outlet)
    with pytest.raises(DomainError):  # not reviewed yet: no picking list, no shipment
        parts_requests.ship(session, request, clerk, "顺丰速运", "SF1")
    parts_requests.review(session, request, clerk, {request.lines[0].id: "purchase"})
    with pytest.raises(FieldErrors) as missing:
        parts_requests.ship(session, request, clerk, " ", "")
    assert set(missing.value.errors) == {"courier", "tracking_no"}
    with pytest.raises(DomainError):
        parts_requests.ship(session, request, f.user(session, "dealer1"), "顺丰速运", "SF1")
    parts_requests.ship(session, request, clerk, " 顺丰速运 ", " SF1 ", at=T0 + timedelta(hours=2))
    assert (request.status, request.courier, request.tracking_no, request.shipped_at) == \
        (S.SHIPPED.value, "顺丰速运", "SF1", T0 + timedelta(hours=2))


def test_delivery_difference_only_within_a_week(session):  # R-PART-3
    outlet = outlet_with_quota(session)
    dealer = f.user(session, "dealer1")
    late = shipped(session, outlet)
    on_time = shipped(session, outlet)
    sent = on_time.shipped_at

    with pytest.raises(DomainError):  # 7 days and a minute after shipping: counts as accepted
        parts_requests.confirm_delivery(session, late, dealer, False, "少一个", at=sent + timedelta(days=7, minutes=1))
    assert late.status == S.SHIPPED.value
    parts_requests.confirm_delivery(session, late, dealer, True, at=sent + timedelta(days=30))  # accepting: any time
    assert late.status == S.DELIVERED.value

    with pytest.raises(FieldErrors) as unsaid:
        parts_requests.confirm_delivery(session, on_time, dealer, False, " ", at=sent + timedelta(days=6))
    assert set(unsaid.value.errors) == {"delivery_note"}
    parts_requests.confirm_delivery(session, on_time, dealer, False, "感应针少1个", at=sent + timedelta(days=7))
    assert (on_time.status, on_time.delivery_note) == (S.DISPUTED.value, "感应针少1个")
    assert on_time.delivered_at == sent + timedelta(days=7)
    with pytest.raises(DomainError):
        parts_requests.confirm_delivery(session, on_time, dealer, True)


def test_requests_blocked_while_last_month_unconfirmed(session):  # R-PART-7
    clerk, dealer2 = f.user(session, "clerk"), f.user(session, "dealer2")
    today = local_today()
    dg = f.outlet(session, "DG-NC")  # demo: last month's statement still open
    assert reconciliation.supply_blocked(session, dg.id, today)
    with pytest.raises(DomainError):
        parts_requests.submit(session, dg.id, clerk, lines(session, ("P-BRN-01", 1)))
    assert not reconciliation.supply_blocked(session, f.outlet(session, "FS-SD").id, today)  # closed
    parts_requests.submit(session, f.outlet(session, "FS-SD").id, dealer2, lines(session, ("P-BRN-01", 1)))

    record = session.scalar(select(reconciliation.PartsReconciliation).where(
        reconciliation.PartsReconciliation.outlet_id == dg.id))
    dealer = f.make_user(session, "dealer", outlet=dg)
    reconciliation.dispute(session, record, dealer, "炉头数量不符")
    assert reconciliation.supply_blocked(session, dg.id, today)  # a dispute does not release supply
    reconciliation.resolve(session, record, clerk, "no_change", [], "签收单数量一致")
    assert reconciliation.supply_blocked(session, dg.id, today)  # reissued: the outlet's turn
    reconciliation.confirm(session, record, dealer)  # only the outlet signs (R-PART-7)
    assert not reconciliation.supply_blocked(session, dg.id, today)
    request = parts_requests.submit(session, dg.id, clerk, lines(session, ("P-BRN-01", 1)))
    assert request.status == S.SUBMITTED.value


def test_a_new_month_holds_supply_until_the_last_is_confirmed(session):  # R-PART-7
    outlet = outlet_with_quota(session, at=local(2031, 2, 20))  # a February movement
    assert submit(session, outlet, at=local(2031, 2, 26)).status == S.SUBMITTED.value  # same month: fine
    with pytest.raises(DomainError):  # March: February not issued yet
        submit(session, outlet, at=T0)
    record = reconciliation.issue(session, outlet.id, date(2031, 2, 1))
    with pytest.raises(DomainError):  # issued, not confirmed
        submit(session, outlet, at=T0)
    reconciliation.confirm(session, record, f.make_user(session, "dealer", outlet=outlet))
    assert submit(session, outlet, at=T0).status == S.SUBMITTED.value
    reconciliation.close(session, record, f.user(session, "clerk"))
    assert submit(session, outlet, at=T0 + timedelta(hours=1)).status == S.SUBMITTED.value


# --- who may do what, now (actions: R-PART-3, R-ROLE-1) ------------------------------------------

ROLES = ("admin", "manager", "clerk", "engineer", "dealer")
CENTER_ROLES = ("admin", "manager", "clerk")


def make_request(session, outlet, status=S.SUBMITTED, requested_by=None) -> PartsRequest:
    """A parts request of `outlet` standing at `status` (no lines: the verdicts read the status)."""
    n = f.next_number()
    week = parts_requests.week_start(local_today())
    row = PartsRequest(number=f"PJ-{outlet.code}-T{n:05d}", outlet_id=outlet.id, week_start=week, batch_no=n,
                       status=S(status).value, requested_by=requested_by)
    session.add(row)
    session.flush()
    return row


def someone(session, role, outlet):
    """A user of `role`; a dealer works at `outlet`."""
    return f.make_user(session, role, outlet=outlet if role == "dealer" else None)


@pytest.mark.parametrize("role", ["admin", "manager", "clerk", "dealer"])
def test_the_center_and_the_outlets_may_request_parts(session, role):  # R-PART-3
    user = someone(session, role, f.make_outlet(session))
    assert parts_requests.actions(session, None, user) == {"submit": ALLOWED}


def test_an_engineer_may_not_request_parts(session):  # R-PART-3
    engineer = f.make_user(session, "engineer")
    verdict = parts_requests.actions(session, None, engineer)["submit"]
    assert not verdict and verdict.reason == NOT_YOUR_ROLE
    outlet = outlet_with_quota(session)
    with pytest.raises(DomainError) as refused:
        parts_requests.submit(session, outlet.id, engineer, lines(session, ("P-NTC-01", 1)), at=T0)
    assert refused.value.message == NOT_YOUR_ROLE
    assert session.scalar(select(PartsRequest).where(PartsRequest.outlet_id == outlet.id)) is None


@pytest.mark.parametrize("role", CENTER_ROLES)
def test_the_center_may_review_a_submitted_request(session, role):  # R-PART-3
    outlet = f.make_outlet(session)
    verdicts = parts_requests.actions(session, make_request(session, outlet), someone(session, role, outlet))
    assert verdicts["review"] and not verdicts["ship"] and not verdicts["confirm"] and not verdicts["picking"]


@pytest.mark.parametrize("role", ["dealer", "engineer"])
def test_an_outlet_or_an_engineer_may_not_review_or_ship(session, role):  # R-PART-3
    outlet = f.make_outlet(session)
    user = someone(session, role, outlet)
    submitted, reviewed = make_request(session, outlet), make_request(session, outlet, S.REVIEWED)
    for request, action in ((submitted, "review"), (reviewed, "ship")):
        verdict = parts_requests.actions(session, request, user)[action]
        assert not verdict and verdict.reason == parts_requests.ONLY_CENTER, (role, action)


@pytest.mark.parametrize("status", [s for s in S if s != S.SUBMITTED])
def test_a_request_is_reviewed_only_while_submitted(session, status):  # R-PART-3
    outlet = f.make_outlet(session)
    verdict = parts_requests.actions(session, make_request(session, outlet, status),
                                     f.make_user(session, "clerk"))["review"]
    assert not verdict and verdict.reason == parts_requests.STALE


@pytest.mark.parametrize("role", CENTER_ROLES)
def test_the_center_may_ship_a_reviewed_request_and_print_its_picking_list(session, role):  # R-PART-3
    outlet = f.make_outlet(session)
    verdicts = parts_requests.actions(session, make_request(session, outlet, S.REVIEWED),
                                      someone(session, role, outlet))
    assert verdicts["ship"] and verdicts["picking"] and not verdicts["review"] and not verdicts["confirm"]


@pytest.mark.parametrize("status", [s for s in S if s != S.REVIEWED])
def test_a_request_ships_only_once_reviewed(session, status):  # R-PART-3
    outlet = f.make_outlet(session)
    verdict = parts_requests.actions(session, make_request(session, outlet, status),
                                     f.make_user(session, "clerk"))["ship"]
    assert not verdict and verdict.reason == parts_requests.STALE


@pytest.mark.parametrize("role", ["admin", "manager", "clerk", "dealer"])
def test_the_outlet_or_the_center_may_check_a_shipped_delivery(session, role):  # R-PART-3
    outlet = f.make_outlet(session)
    verdicts = parts_requests.actions(session, make_request(session, outlet, S.SHIPPED),
                                      someone(session, role, outlet))
    assert verdicts["confirm"] and verdicts["picking"] and not verdicts["ship"]


def test_an_engineer_may_not_check_a_delivery_or_print_a_picking_list(session):  # R-PART-3
    outlet = f.make_outlet(session)
    verdicts = parts_requests.actions(session, make_request(session, outlet, S.SHIPPED),
                                      f.make_user(session, "engineer"))
    assert {name: v.reason for name, v in verdicts.items()} == {
        "review": parts_requests.ONLY_CENTER, "ship": parts_requests.ONLY_CENTER,
        "reject": parts_requests.ONLY_CENTER, "withdraw": NOT_YOUR_ROLE, "resolve": parts_requests.ONLY_CENTER,
        "confirm": NOT_YOUR_ROLE, "picking": NOT_YOUR_ROLE}


@pytest.mark.parametrize("status", [s for s in S if s != S.SHIPPED])
def test_a_delivery_is_checked_only_while_shipped(session, status):  # R-PART-3
    outlet = f.make_outlet(session)
    verdict = parts_requests.actions(session, make_request(session, outlet, status),
                                     someone(session, "dealer", outlet))["confirm"]
    assert not verdict and verdict.reason == parts_requests.STALE


@pytest.mark.parametrize("status", [S.AWAITING_EXCEPTION, S.AWAITING_INCIDENT, S.SUBMITTED, S.REJECTED])
def test_no_picking_list_before_the_review(session, status):  # R-PART-3
    outlet = f.make_outlet(session)
    for role in ROLES:
        verdict = parts_requests.actions(session, make_request(session, outlet, status),
                                         someone(session, role, outlet))["picking"]
        assert not verdict, role
        assert verdict.reason == (NOT_YOUR_ROLE if role == "engineer" else parts_requests.NOT_PICKED)


def test_the_guards_refuse_with_the_verdicts_reason(session):  # R-PART-3
    outlet = outlet_with_quota(session)
    request = submit(session, outlet)
    dealer, clerk = someone(session, "dealer", outlet), f.make_user(session, "clerk")
    with pytest.raises(DomainError) as by_outlet:
        parts_requests.review(session, request, dealer, {request.lines[0].id: "on_account"})
    assert by_outlet.value.message == parts_requests.ONLY_CENTER
    with pytest.raises(DomainError) as too_early:
        parts_requests.ship(session, request, clerk, "顺丰速运", "SF1")
    assert too_early.value.message == parts_requests.STALE
    with pytest.raises(DomainError) as not_sent:
        parts_requests.confirm_delivery(session, request, dealer, True)
    assert not_sent.value.message == parts_requests.STALE
    assert request.status == S.SUBMITTED.value and line_entries(session, request) == []


def test_the_form_knows_which_outlets_used_this_weeks_batches(session):  # R-PART-3
    full, fresh = outlet_with_quota(session), outlet_with_quota(session, code="T-SUPPLY-2")
    day = to_local(T0).date()
    submit(session, full)
    assert parts_requests.week_taken(session, [full.id, fresh.id], day) == set()
    refused = submit(session, full)
    assert parts_requests.week_taken(session, [full.id, fresh.id], day) == {full.id}
    refused.status = S.REJECTED.value  # a refused batch does not count against the limit
    session.flush()
    assert parts_requests.week_taken(session, [full.id, fresh.id], day) == set()
    assert parts_requests.week_taken(session, [full.id], day + timedelta(days=7)) == set()  # a new week
    hints = parts_requests.form_hints(session, f.make_user(session, "clerk"), [full, fresh], day)
    assert hints.full_weeks == frozenset()


def test_the_form_tells_an_outlet_its_own_outlet_and_its_held_supply(session):  # R-PART-3, R-PART-7
    held = outlet_with_quota(session, at=local(2031, 2, 20))  # February in use, not confirmed by March
    fine = outlet_with_quota(session, code="T-SUPPLY-2")
    day = to_local(T0).date()
    dealer = someone(session, "dealer", held)
    hints = parts_requests.form_hints(session, dealer, [held, fine], day)
    assert (hints.own_outlet_id, hints.held) == (held.id, (held,))
    for role in CENTER_ROLES:  # the center chooses the outlet, and a held one is refused when sent
        hints = parts_requests.form_hints(session, f.make_user(session, role), [held, fine], day)
        assert (hints.own_outlet_id, hints.held) == (None, ()), role


# --- requests that end: reject, withdraw (R-PART-10) -----------------------------------------

UNREVIEWED = (S.AWAITING_EXCEPTION, S.AWAITING_INCIDENT, S.SUBMITTED)


@pytest.mark.parametrize("role", CENTER_ROLES)
def test_the_center_may_reject_a_submitted_request(session, role):  # R-PART-10
    outlet = f.make_outlet(session)
    assert parts_requests.actions(session, make_request(session, outlet), someone(session, role, outlet))["reject"]


@pytest.mark.parametrize("role", ["dealer", "engineer"])
def test_an_outlet_or_an_engineer_may_not_reject_a_request(session, role):  # R-PART-10
    outlet = f.make_outlet(session)
    verdicts = parts_requests.actions(session, make_request(session, outlet), someone(session, role, outlet))
    assert not verdicts["reject"] and verdicts["reject"].reason == parts_requests.ONLY_CENTER
    assert "reject" not in why_not(verdicts)  # the role: no hint where the button would be


@pytest.mark.parametrize("status", [S.AWAITING_EXCEPTION, S.AWAITING_INCIDENT])
def test_a_request_waiting_for_a_manager_is_not_rejected_before_the_decision(session, status):  # R-PART-10
    outlet = f.make_outlet(session)
    verdicts = parts_requests.actions(session, make_request(session, outlet, status), f.make_user(session, "clerk"))
    assert not verdicts["reject"] and why_not(verdicts)["reject"] == parts_requests.MANAGER_FIRST


@pytest.mark.parametrize("status", [S.REVIEWED, S.SHIPPED, S.DELIVERED, S.DISPUTED, S.REJECTED, S.WITHDRAWN])
def test_a_request_past_its_review_is_not_rejected(session, status):  # R-PART-10
    outlet = f.make_outlet(session)
    verdicts = parts_requests.actions(session, make_request(session, outlet, status), f.make_user(session, "clerk"))
    assert not verdicts["reject"] and verdicts["reject"].reason == parts_requests.NOT_SUBMITTED
    assert "reject" not in why_not(verdicts)


def test_a_rejection_needs_its_reason_and_keeps_it(session):  # R-PART-10
    outlet = outlet_with_quota(session)
    request, clerk = submit(session, outlet), f.make_user(session, "clerk")
    with pytest.raises(FieldErrors) as no_reason:
        parts_requests.reject(session, request, clerk, "  ")
    assert set(no_reason.value.errors) == {"rejection_reason"} and request.status == S.SUBMITTED.value
    parts_requests.reject(session, request, clerk, "型号停产，请改订 P-NTC-02", at=T0 + timedelta(hours=1))
    assert (request.status, request.rejection_reason, request.reviewed_by, request.reviewed_at) == (
        S.REJECTED.value, "型号停产，请改订 P-NTC-02", clerk, T0 + timedelta(hours=1))
    assert line_entries(session, request) == []  # nothing posted to the account
    with pytest.raises(DomainError) as twice:
        parts_requests.reject(session, request, clerk, "again")
    assert twice.value.message == parts_requests.NOT_SUBMITTED


def test_a_dealer_may_not_reject_its_own_request(session):  # R-PART-10
    outlet = outlet_with_quota(session)
    request = submit(session, outlet)
    with pytest.raises(DomainError) as refused:
        parts_requests.reject(session, request, someone(session, "dealer", outlet), "不要了")
    assert refused.value.message == parts_requests.ONLY_CENTER and request.status == S.SUBMITTED.value


@pytest.mark.parametrize("role", ["admin", "manager", "clerk", "dealer"])
@pytest.mark.parametrize("status", UNREVIEWED)
def test_the_outlet_or_the_center_may_withdraw_a_request_not_yet_reviewed(session, role, status):  # R-PART-10
    outlet = f.make_outlet(session)
    verdicts = parts_requests.actions(session, make_request(session, outlet, status), someone(session, role, outlet))
    assert verdicts["withdraw"]


def test_an_engineer_may_not_withdraw_a_request(session):  # R-PART-10
    outlet = f.make_outlet(session)
    verdict = parts_requests.actions(session, make_request(session, outlet),
                                     f.make_user(session, "engineer"))["withdraw"]
    assert not verdict and verdict.reason == NOT_YOUR_ROLE


def test_a_reviewed_request_is_no_longer_withdrawn_and_says_why(session):  # R-PART-10
    outlet = f.make_outlet(session)
    verdicts = parts_requests.actions(session, make_request(session, outlet, S.REVIEWED),
                                      someone(session, "dealer", outlet))
    assert not verdicts["withdraw"] and why_not(verdicts)["withdraw"] == parts_requests.REVIEWED_ALREADY


@pytest.mark.parametrize("status", [S.SHIPPED, S.DELIVERED, S.DISPUTED, S.REJECTED, S.WITHDRAWN])
def test_a_request_past_its_review_or_ended_is_not_withdrawn(session, status):  # R-PART-10
    outlet = f.make_outlet(session)
    verdicts = parts_requests.actions(session, make_request(session, outlet, status),
                                      someone(session, "dealer", outlet))
    assert not verdicts["withdraw"] and verdicts["withdraw"].reason == parts_requests.REVIEWED_ALREADY
    assert "withdraw" not in why_not(verdicts)


def test_withdrawing_an_extra_batch_closes_its_approval_request_as_withdrawn(session):  # R-PART-10
    outlet = outlet_with_quota(session)
    submit(session, outlet)
    second = submit(session, outlet)
    extra = submit(session, outlet, exception_reason="促销活动")
    dealer = someone(session, "dealer", outlet)
    asked = extra.approvals[0]
    parts_requests.withdraw(session, extra, dealer, at=T0 + timedelta(hours=2))
    session.flush()
    assert (extra.status, extra.withdrawn_by, extra.withdrawn_at) == (S.WITHDRAWN.value, dealer,
                                                                      T0 + timedelta(hours=2))
    assert asked.status == "withdrawn"
    events = session.scalars(select(ApprovalEvent).where(ApprovalEvent.request_id == asked.id)
                             .order_by(ApprovalEvent.id)).all()
    assert [(e.action, e.actor) for e in events][-1] == ("approval_withdrawn", dealer)
    assert session.scalar(select(ApprovalRequest).where(ApprovalRequest.parts_request_id == extra.id,
                                                        ApprovalRequest.status == "pending")) is None
    # a withdrawn batch no longer counts against the week: the next one needs no exception
    parts_requests.withdraw(session, second, dealer)
    assert submit(session, outlet).status == S.SUBMITTED.value


def test_withdrawing_a_submitted_request_posts_nothing(session):  # R-PART-10
    outlet = outlet_with_quota(session)
    request, clerk = submit(session, outlet), f.make_user(session, "clerk")
    parts_requests.withdraw(session, request, clerk)  # the center on the outlet's behalf
    assert request.status == S.WITHDRAWN.value and request.approvals == [] and line_entries(session, request) == []
    with pytest.raises(DomainError) as twice:
        parts_requests.withdraw(session, request, clerk)
    assert twice.value.message == parts_requests.REVIEWED_ALREADY


def test_an_engineer_may_not_withdraw_through_the_service(session):  # R-PART-10
    outlet = outlet_with_quota(session)
    request = submit(session, outlet)
    with pytest.raises(DomainError) as refused:
        parts_requests.withdraw(session, request, f.make_user(session, "engineer"))
    assert refused.value.message == NOT_YOUR_ROLE and request.status == S.SUBMITTED.value


# --- gas type, total, needed-by (R-PART-3, R-PART-10) ----------------------------------------

def test_a_line_for_another_gas_than_its_part_is_a_field_error(session):  # R-PART-10
    outlet = outlet_with_quota(session)
    lpg = f.make_part(session, gas_type="lpg")
    draft = [LineDraft(lpg.id, 1, gas_type="natural_gas")]
    with pytest.raises(FieldErrors) as wrong:
        parts_requests.submit(session, outlet.id, f.user(session, "clerk"), draft, at=T0)
    assert set(wrong.value.errors) == {"lines-0-gas_type"}
    assert lpg.code in str(wrong.value.errors["lines-0-gas_type"])
    same = parts_requests.submit(session, outlet.id, f.user(session, "clerk"),
                                 [LineDraft(lpg.id, 1, gas_type="lpg")], at=T0)
    assert same.lines[0].gas_type == "lpg"


def test_a_part_for_any_gas_fits_every_gas_type(session):  # R-PART-10
    outlet = outlet_with_quota(session)
    any_gas = f.make_part(session, gas_type=None)
    request = parts_requests.submit(session, outlet.id, f.user(session, "clerk"),
                                    [LineDraft(any_gas.id, 2, gas_type="town_gas")], at=T0)
    assert request.lines[0].gas_type == "town_gas"


def test_a_request_shows_the_total_of_its_lines(session):  # R-PART-3
    outlet = outlet_with_quota(session)
    request = submit(session, outlet, specs=(("P-NTC-01", 3), ("P-HEX-01", 1)))
    expected = sum((line.unit_price * line.qty for line in request.lines), Decimal("0"))
    assert parts_requests.total(request) == expected > 0
    assert parts_requests.total(make_request(session, outlet)) == Decimal("0.00")


def test_a_request_is_needed_a_week_after_sending_unless_a_day_is_given(session):  # R-PART-3
    outlet = outlet_with_quota(session)
    assert submit(session, outlet).needed_by == date(2031, 3, 19)  # T0 is Wednesday 12 March
    assert submit(session, outlet, needed_by=date(2031, 3, 14)).needed_by == date(2031, 3, 14)


def test_a_needed_by_day_in_the_past_is_refused(session):  # R-PART-3
    outlet = outlet_with_quota(session)
    with pytest.raises(FieldErrors) as past:
        submit(session, outlet, needed_by=date(2031, 3, 11))
    assert set(past.value.errors) == {"needed_by"}
    assert submit(session, outlet, needed_by=date(2031, 3, 12)).needed_by == date(2031, 3, 12)  # today is fine


# --- a delivery difference settled: reship or credit (R-PART-10) ------------------------------

def disputed(session, outlet, settlement="on_account", specs=(("P-NTC-01", 3), ("P-HEX-01", 1))) -> PartsRequest:
    request = submit(session, outlet, specs=specs)
    clerk = f.user(session, "clerk")
    parts_requests.review(session, request, clerk, {line.id: settlement for line in request.lines},
                          at=T0 + timedelta(hours=1))
    parts_requests.ship(session, request, clerk, "顺丰速运", "SF100", at=T0 + timedelta(hours=2))
    parts_requests.confirm_delivery(session, request, someone(session, "dealer", outlet), False, "少了两个传感器",
                                    at=T0 + timedelta(days=1))
    return request


@pytest.mark.parametrize("role", CENTER_ROLES)
def test_the_center_may_settle_a_delivery_difference(session, role):  # R-PART-10
    outlet = f.make_outlet(session)
    assert parts_requests.actions(session, make_request(session, outlet, S.DISPUTED),
                                  someone(session, role, outlet))["resolve"]


@pytest.mark.parametrize("role", ["dealer", "engineer"])
def test_an_outlet_or_an_engineer_may_not_settle_a_delivery_difference(session, role):  # R-PART-10
    outlet = f.make_outlet(session)
    verdict = parts_requests.actions(session, make_request(session, outlet, S.DISPUTED),
                                     someone(session, role, outlet))["resolve"]
    assert not verdict and verdict.reason == parts_requests.ONLY_CENTER


@pytest.mark.parametrize("status", [s for s in S if s != S.DISPUTED])
def test_only_a_disputed_delivery_is_settled(session, status):  # R-PART-10
    outlet = f.make_outlet(session)
    verdicts = parts_requests.actions(session, make_request(session, outlet, status), f.make_user(session, "clerk"))
    assert not verdicts["resolve"] and verdicts["resolve"].reason == parts_requests.NOT_DISPUTED
    assert "resolve" not in why_not(verdicts)


def test_crediting_the_missing_lines_credits_their_value_and_records_the_difference(session):  # R-PART-10
    outlet = outlet_with_quota(session)
    request = disputed(session, outlet)
    sensor, exchanger = request.lines
    after_issue = balance(session, outlet)
    clerk = f.user(session, "clerk")
    parts_requests.resolve_dispute(session, request, clerk, "credit", {sensor.id: 2}, "快递丢件，冲账",
                                   at=T0 + timedelta(days=2))
    session.flush()
    assert (request.status, request.resolution, request.resolution_note, request.resolved_by) == (
        S.DELIVERED.value, "credit", "快递丢件，冲账", clerk)
    assert (sensor.missing_qty, exchanger.missing_qty) == (2, None)
    assert request.missing_value == sensor.unit_price * 2
    session.expire_all()
    assert balance(session, outlet) == after_issue + sensor.unit_price * 2
    credit = session.scalar(select(LedgerEntry).where(LedgerEntry.source == f"parts_request_line:{sensor.id}:missing"))
    assert (credit.kind, credit.delta, credit.qty, credit.reason) == (
        K.ADJUSTMENT.value, sensor.unit_price * 2, 2, f"{request.number}: 快递丢件，冲账")


def test_reshipping_the_missing_lines_sends_a_parcel_the_outlet_checks_again(session):  # R-PART-10
    outlet = outlet_with_quota(session)
    request = disputed(session, outlet, settlement="purchase")
    sensor = request.lines[0]
    clerk, entries = f.user(session, "clerk"), len(line_entries(session, request))
    with pytest.raises(FieldErrors) as no_parcel:
        parts_requests.resolve_dispute(session, request, clerk, "reship", {sensor.id: 2}, "补发")
    assert set(no_parcel.value.errors) == {"reship_courier", "reship_tracking_no"}
    parts_requests.resolve_dispute(session, request, clerk, "reship", {sensor.id: 2}, "补发两个", "中通快递", "ZT2",
                                   at=T0 + timedelta(days=9))
    assert (request.status, request.reship_courier, request.reship_tracking_no, sensor.missing_qty) == (
        S.SHIPPED.value, "中通快递", "ZT2", 2)
    assert len(line_entries(session, request)) == entries  # nothing credited
    # the reshipment is checked within the week from its own shipping, not the first parcel's
    parts_requests.confirm_delivery(session, request, someone(session, "dealer", outlet), True,
                                    at=T0 + timedelta(days=12))
    assert request.status == S.DELIVERED.value


def test_a_settlement_needs_the_missing_quantities_and_the_reason(session):  # R-PART-10
    outlet = outlet_with_quota(session)
    request = disputed(session, outlet)
    sensor = request.lines[0]
    clerk = f.user(session, "clerk")
    with pytest.raises(FieldErrors) as empty:
        parts_requests.resolve_dispute(session, request, clerk, "credit", {}, " ")
    assert set(empty.value.errors) == {"missing", "resolution_note"}
    with pytest.raises(FieldErrors) as too_many:
        parts_requests.resolve_dispute(session, request, clerk, "refund", {sensor.id: 4}, "x")
    assert set(too_many.value.errors) == {"resolution", f"missing-{sensor.id}"}
    with pytest.raises(DomainError) as by_outlet:
        parts_requests.resolve_dispute(session, request, someone(session, "dealer", outlet), "credit",
                                       {sensor.id: 1}, "自己冲账")
    assert by_outlet.value.message == parts_requests.ONLY_CENTER
    assert request.status == S.DISPUTED.value and sensor.missing_qty is None


# --- freight paid by the receiver (manual 004, R-PART-7) ------------------------------------------

def reviewed(session, outlet, settlement="on_account"):
    request = submit(session, outlet)
    parts_requests.review(session, request, f.user(session, "clerk"), {line.id: settlement for line in request.lines},
                          at=T0 + timedelta(hours=1))
    return request


def test_the_outlet_pays_the_freight_of_its_shipment_in_cash(session):  # R-PART-7, manual 004
    outlet = outlet_with_quota(session)
    request = reviewed(session, outlet)
    before = balance(session, outlet)
    parts_requests.ship(session, request, f.user(session, "clerk"), "顺丰速运", "SF900", at=T0 + timedelta(hours=2),
                        freight=Decimal("18.50"))
    assert request.freight == Decimal("18.50")
    entry = session.scalar(select(LedgerEntry).where(LedgerEntry.source == f"parts_request:{request.id}:freight"))
    assert (entry.kind, entry.delta, entry.cash_amount, entry.at) == (
        K.FREIGHT.value, Decimal("0.00"), Decimal("18.50"), T0 + timedelta(hours=2))
    assert request.number in entry.reason
    session.expire_all()
    assert balance(session, outlet) == before  # cash, not the account
    march = reconciliation.month_statement(session, outlet.id, date(2031, 3, 1))
    assert march.total(K.FREIGHT.value) == 0
    assert sum(e.cash_amount for e in march.entries if e.kind == K.FREIGHT.value) == Decimal("18.50")
    assert march.cash_total == Decimal("18.50")  # the statement's cash total includes it


def test_no_freight_books_nothing_and_a_bad_freight_is_a_field_error(session):  # R-PART-7
    outlet = outlet_with_quota(session)
    request = reviewed(session, outlet)
    clerk = f.user(session, "clerk")
    with pytest.raises(FieldErrors) as negative:
        parts_requests.ship(session, request, clerk, "顺丰速运", "SF901", freight=Decimal("-1.00"))
    assert set(negative.value.errors) == {"freight"} and request.status == S.REVIEWED.value
    parts_requests.ship(session, request, clerk, "顺丰速运", "SF901", at=T0 + timedelta(hours=2))
    assert request.freight == Decimal("0.00")
    assert session.scalar(select(LedgerEntry).where(LedgerEntry.kind == K.FREIGHT.value,
                                                    LedgerEntry.outlet_id == outlet.id)) is None


# --- a credited line is paid back the way it was paid, once (R-PART-10) ----------------------------

def test_a_missing_line_bought_for_cash_is_refunded_in_cash_not_credited_to_the_account(session):  # R-PART-10
    outlet = outlet_with_quota(session)
    request = disputed(session, outlet, settlement="purchase")
    sensor = request.lines[0]
    before = balance(session, outlet)
    parts_requests.resolve_dispute(session, request, f.user(session, "clerk"), "credit", {sensor.id: 2}, "丢件退款",
                                   at=T0 + timedelta(days=2))
    session.expire_all()
    assert balance(session, outlet) == before  # not added to the parts account
    refund = session.scalar(select(LedgerEntry).where(LedgerEntry.source == f"parts_request_line:{sensor.id}:missing"))
    assert (refund.kind, refund.delta, refund.cash_amount, refund.qty) == (
        K.CASH_REFUND.value, Decimal("0.00"), -sensor.unit_price * 2, 2)
    march = reconciliation.month_statement(session, outlet.id, date(2031, 3, 1))
    bought = sum(line.amount for line in request.lines)
    assert march.cash_total == bought - sensor.unit_price * 2  # paid, less what came back


def test_each_settlement_is_paid_back_in_its_own_kind(session):  # R-PART-10
    outlet = outlet_with_quota(session)
    request = submit(session, outlet, specs=(("P-NTC-01", 3), ("P-HEX-01", 1)))
    clerk = f.user(session, "clerk")
    sensor, exchanger = request.lines
    parts_requests.review(session, request, clerk, {sensor.id: "on_account", exchanger.id: "purchase"},
                          at=T0 + timedelta(hours=1))
    parts_requests.ship(session, request, clerk, "顺丰速运", "SF100", at=T0 + timedelta(hours=2))
    parts_requests.confirm_delivery(session, request, someone(session, "dealer", outlet), False, "都少了",
                                    at=T0 + timedelta(days=1))
    before = balance(session, outlet)
    parts_requests.resolve_dispute(session, request, clerk, "credit", {sensor.id: 1, exchanger.id: 1}, "丢件")
    found = parts_requests.credited_lines(session, request)
    assert (found[sensor.id].kind, found[sensor.id].delta) == (K.ADJUSTMENT.value, sensor.unit_price)
    assert (found[exchanger.id].kind, found[exchanger.id].cash_amount) == (K.CASH_REFUND.value, -exchanger.unit_price)
    session.expire_all()
    assert balance(session, outlet) == before + sensor.unit_price


def test_a_line_credited_already_is_refused_not_silently_skipped(session):  # R-PART-10
    outlet = outlet_with_quota(session)
    request = disputed(session, outlet)
    sensor, exchanger = request.lines
    clerk = f.user(session, "clerk")
    parts_requests.resolve_dispute(session, request, clerk, "credit", {sensor.id: 2}, "丢件", at=T0 + timedelta(days=2))
    after = balance(session, outlet)
    request.status = S.DISPUTED.value  # the delivery questioned again (say, a second report of the same parcel)
    with pytest.raises(FieldErrors) as twice:
        parts_requests.resolve_dispute(session, request, clerk, "credit", {sensor.id: 2, exchanger.id: 1}, "再冲一次")
    assert twice.value.errors == {f"missing-{sensor.id}": parts_requests.ALREADY_CREDITED}
    session.expire_all()
    assert balance(session, outlet) == after  # nothing credited twice, nothing half-done
    assert set(parts_requests.credited_lines(session, request)) == {sensor.id}


def test_only_a_refund_pays_cash_back(session):  # R-PART-8: the database's own wall
    from sqlalchemy.exc import IntegrityError

    outlet = outlet_with_quota(session)
    with pytest.raises(IntegrityError):  # post() rolls its savepoint back
        ledger.post(session, outlet.id, K.PURCHASE, Decimal("0"), cash=Decimal("-1.00"), source="test:neg-cash")
    refund = ledger.post(session, outlet.id, K.CASH_REFUND, Decimal("0"), cash=Decimal("-1.00"), source="test:refund")
    assert refund.cash_amount == Decimal("-1.00")
