"""Parts requests of the outlets and old-part returns to the center (R-PART-3…7, R-ROLE-2).

Demo world (backoffice/demo.py `_parts_accounts`): dealer outlets drew one batch last month;
last month is confirmed everywhere except at DG-NC (its supply is held); GZ-TH and DG-NC owe
old parts from warranty repairs. Request tests open an outlet of their own and work in
March 2031 (T0 is a Wednesday), where no demo week or month interferes.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backoffice import (
    intake,
    ledger,
    old_parts,
    parts_requests,
    reconciliation,
    warranty,
    workflow,
)
from backoffice.errors import DomainError, FieldErrors
from backoffice.parts_requests import LineDraft
from backoffice.timezones import local_today
from models import (
    LedgerEntry,
    OldPart,
    Outlet,
    Part,
    PartsAccount,
    PartsRequest,
    PolicySetting,
    ReplacedPart,
    utcnow,
)
from models.choices import LedgerKind as K
from models.choices import NonCreditable, OldPartState
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
    for entry, line in zip((on_board, bought, on_motor), request.lines):
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
    reconciliation.dispute(session, record, clerk, "炉头数量不符")
    assert reconciliation.supply_blocked(session, dg.id, today)  # a dispute does not release supply
    reconciliation.confirm(session, record, clerk)  # the written confirmation, received on paper
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
    reconciliation.confirm(session, record, f.user(session, "clerk"))
    assert submit(session, outlet, at=T0).status == S.SUBMITTED.value
    reconciliation.close(session, record, f.user(session, "clerk"))
    assert submit(session, outlet, at=T0 + timedelta(hours=1)).status == S.SUBMITTED.value


# --- old parts (R-PART-4…6) ---------------------------------------------------------------

APPOINTMENT = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")


def warranty_ticket(session, outlet="GZ-TH", in_warranty=True):
    unit = f.unit_of(session, outlet)
    unit.invoice_date = local_today() - timedelta(days=100 if in_warranty else 1000)
    ticket = intake.register_report(session, intake.Report(
        kind="repair", fault="热水器打不着火", customer_id=unit.customer_id, unit_id=unit.id,
        outlet_id=unit.outlet_id), f.user(session, "clerk"))
    assert ticket.in_warranty is in_warranty
    return ticket


def resolve_with_parts(session, ticket, parts):
    clerk = f.user(session, "clerk")
    steps = [("diagnose", {"service_mode": "onsite", "severity": "major", "note": "点火针积碳"}),
             ("propose", {"note": "更换配件", "fees": [] if ticket.in_warranty else [{"item": "上门费", "amount": "50"}]}),
             ("agree", {}),
             ("dispatch", {"engineer": str(f.user(session, "engineer").id), "appointment_at": APPOINTMENT}),
             ("start_service", {}),
             ("resolve", {"work_done": "更换配件", "tested_ok": "y", "signed_by": "王芳",
                          "parts": [(str(part(session, code).id), str(qty)) for code, qty in parts]})]
    for name, data in steps:
        workflow.perform(session, ticket, name, clerk, data)
    session.flush()
    return ticket


def old_parts_of(session, ticket) -> list[OldPart]:
    return list(session.scalars(select(OldPart).where(OldPart.ticket_id == ticket.id).order_by(OldPart.id)))


def test_warranty_repair_creates_an_old_part_obligation(session):  # R-PART-4, R-WAR-2
    ticket = resolve_with_parts(session, warranty_ticket(session), [("P-FAN-01", 1), ("P-PCB-01", 2)])
    fan, board = old_parts_of(session, ticket)
    assert (fan.part.code, fan.qty, fan.unit_price, fan.value) == ("P-FAN-01", 1, Decimal("185.00"), Decimal("185.00"))
    assert (board.qty, board.value) == (2, Decimal("472.00"))
    for old in (fan, board):
        assert old.state == OldPartState.OWED.value and old.exemption == "" and not old.needs_verification
        assert old.outlet == f.outlet(session, "GZ-TH") and old.ticket == ticket
        assert old.replaced_part in ticket.replaced_parts and old.replaced_on == local_today()


def test_out_of_warranty_repair_owes_no_old_part(session):  # R-PART-4, R-PART-5
    ticket = resolve_with_parts(session, warranty_ticket(session, in_warranty=False), [("P-FAN-01", 1)])
    assert len(ticket.replaced_parts) == 1 and old_parts_of(session, ticket) == []  # the customer's part

    center = warranty_ticket(session, outlet="SC-GZ")  # the center's own repair uses its own stock
    resolve_with_parts(session, center, [("P-FAN-01", 1)])
    assert old_parts_of(session, center) == []


def replaced(session, code, qty=1, outlet="GZ-TH", days_ago=0) -> OldPart:
    """An old part from a warranty repair at `outlet`, replaced `days_ago` days ago."""
    ticket = f.ticket_of(session, outlet, in_warranty=True)
    day = local_today() - timedelta(days=days_ago)
    piece = ReplacedPart(part=part(session, code), qty=qty, unit_id=ticket.unit_id, replaced_on=day,
                         warranty_until=warranty.part_warranty_until(session, day))
    ticket.replaced_parts.append(piece)
    old = old_parts.record_replaced(session, ticket, piece)
    session.flush()
    return old


def test_cheap_consumable_fragile_parts_need_no_physical_return(session):  # R-PART-6
    cheap = Part(code="P-TST-CHEAP", name="密封圈", category="gas_water_heater", unit_price=Decimal("4.99"))
    five = Part(code="P-TST-FIVE", name="垫片", category="gas_water_heater", unit_price=Decimal("5.00"))
    session.add_all([cheap, five])
    session.flush()
    assert old_parts.exemption(session, cheap, 5) == "cheap"  # < 5 yuan and qty ≤ 5
    assert old_parts.exemption(session, cheap, 6) == ""  # too many: they come back
    assert old_parts.exemption(session, five, 1) == ""  # 5 yuan is not below 5
    assert old_parts.exemption(session, part(session, "P-SEL-01"), 20) == "consumable"  # door seal
    assert old_parts.exemption(session, part(session, "P-GLS-01"), 1) == "fragile"  # glass panel
    assert old_parts.exemption(session, part(session, "P-UVL-01"), 1) == "fragile"  # UV tube
    assert old_parts.exemption(session, part(session, "P-FAN-01"), 1) == ""

    panel = replaced(session, "P-GLS-01")
    assert (panel.state, panel.exemption, panel.needs_verification) == \
        (OldPartState.SCRAP_LOCAL.value, "fragile", True)  # listed, verified by the center, then credited
    assert replaced(session, "P-TST-CHEAP", qty=6).state == OldPartState.OWED.value

    # The thresholds are policy values.
    session.add(PolicySetting(key="parts.scrap_price_below", value="13"))
    session.flush()
    assert old_parts.exemption(session, part(session, "P-IGN-01"), 1) == "cheap"  # 12.00


def test_scrapped_parts_are_credited_once_the_center_verifies(session):  # R-PART-6
    gz, clerk = f.outlet(session, "GZ-TH"), f.user(session, "clerk")
    panel, seal = replaced(session, "P-GLS-01"), replaced(session, "P-SEL-01", qty=2)
    with pytest.raises(FieldErrors):  # no physical return: not on a return list
        old_parts.create_return(session, gz.id, f.user(session, "dealer1"), [panel], "顺丰速运", "SF1")
    with pytest.raises(DomainError):
        old_parts.verify_scrapped(session, panel, f.user(session, "dealer1"), True)
    before = balance(session, gz)

    old_parts.verify_scrapped(session, panel, clerk, True, "回访核实面板已碎")
    assert panel.state == OldPartState.CREDITED.value
    credit = ledger._by_source(session, f"old_part:{panel.id}:credit")
    assert (credit.kind, credit.delta, credit.cash_amount) == (K.RETURN_CREDIT.value, Decimal("160.00"), Decimal("0.00"))
    with pytest.raises(DomainError):  # verified once
        old_parts.verify_scrapped(session, panel, clerk, True)

    with pytest.raises(FieldErrors):  # a failed verification says what was found
        old_parts.verify_scrapped(session, seal, clerk, False)
    old_parts.verify_scrapped(session, seal, clerk, False, "回访未见旧件")
    charge = ledger._by_source(session, f"old_part:{seal.id}:charge")
    assert (seal.state, seal.non_creditable) == (OldPartState.CHARGED.value, NonCreditable.NO_FAULT_FOUND.value)
    assert charge.cash_amount == Decimal("44.00")
    assert balance(session, gz) == before + Decimal("160.00") + Decimal("44.00")

    with pytest.raises(DomainError):  # an owed part comes back physically
        old_parts.verify_scrapped(session, replaced(session, "P-FAN-01"), clerk, True)


def returned(session, *olds, outlet="GZ-TH", counts=None):
    """Old parts sent back in one parcel and counted by the center (in full unless `counts`)."""
    parcel = old_parts.create_return(session, f.outlet(session, outlet).id, f.user(session, "dealer1"),
                                     list(olds), "德邦物流", "DB778899")
    old_parts.receive(session, parcel, f.user(session, "clerk"), counts or {o.id: o.qty for o in olds})
    return parcel


def test_quality_failure_is_credited_in_full(session):  # R-PART-4 (冲账)
    gz, clerk = f.outlet(session, "GZ-TH"), f.user(session, "clerk")
    fan, board = replaced(session, "P-FAN-01"), replaced(session, "P-PCB-01", qty=2)
    before = balance(session, gz)
    parcel = old_parts.create_return(session, gz.id, f.user(session, "dealer1"), [fan, board], " 德邦物流 ", "DB1")
    assert parcel.status == "shipped" and fan.state == board.state == OldPartState.IN_RETURN.value
    with pytest.raises(DomainError):  # counted before it is inspected
        old_parts.inspect(session, parcel, clerk, {fan.id: "quality", board.id: "quality"})
    old_parts.receive(session, parcel, clerk, {fan.id: 1, board.id: 2})
    assert parcel.status == "received" and parcel.received_by_id == clerk.id

    old_parts.inspect(session, parcel, clerk, {fan.id: "quality", board.id: "quality"}, {fan.id: "风机轴承异响"})
    assert parcel.status == "inspected" and parcel.inspected_by_id == clerk.id
    for old, amount in ((fan, "185.00"), (board, "472.00")):
        credit = ledger._by_source(session, f"old_part:{old.id}:credit")
        assert (credit.kind, credit.delta, credit.cash_amount, credit.qty) == \
            (K.RETURN_CREDIT.value, Decimal(amount), Decimal("0.00"), old.qty)
        assert old.state == OldPartState.CREDITED.value and old.non_creditable is None
        assert ledger._by_source(session, f"old_part:{old.id}:charge") is None
    assert fan.decision_note == "风机轴承异响"
    assert balance(session, gz) == before + Decimal("657.00")

    old_parts.settle(session, fan, clerk, "quality")  # settled once, whatever is retried
    assert balance(session, gz) == before + Decimal("657.00")
    with pytest.raises(DomainError):
        old_parts.inspect(session, parcel, clerk, {fan.id: "quality", board.id: "quality"})


@pytest.mark.parametrize("reason", [r.value for r in NonCreditable if r != NonCreditable.NOT_RECEIVED])
def test_non_creditable_reasons_are_charged(session, reason):  # R-PART-5
    gz, clerk = f.outlet(session, "GZ-TH"), f.user(session, "clerk")
    motor = replaced(session, "P-MOT-01")
    parcel = returned(session, motor)
    before = balance(session, gz)
    old_parts.inspect(session, parcel, clerk, {motor.id: reason})
    charge = ledger._by_source(session, f"old_part:{motor.id}:charge")
    assert charge.kind == K.CHARGE.value and charge.cash_amount == Decimal("310.00")  # the outlet pays
    assert charge.delta == Decimal("310.00") == balance(session, gz) - before  # paid: off the account
    assert reason in charge.reason and charge.qty == 1 and charge.actor_id == clerk.id
    assert (motor.state, motor.non_creditable) == (OldPartState.CHARGED.value, reason)
    assert ledger._by_source(session, f"old_part:{motor.id}:credit") is None


def test_inspection_needs_a_verdict_per_line_and_counts_within_the_list(session):  # R-PART-4
    clerk = f.user(session, "clerk")
    fan = replaced(session, "P-FAN-01", qty=2)
    parcel = old_parts.create_return(session, fan.outlet_id, f.user(session, "dealer1"), [fan], "德邦物流", "DB1")
    with pytest.raises(FieldErrors) as over:
        old_parts.receive(session, parcel, clerk, {fan.id: 3})
    assert set(over.value.errors) == {f"received-{fan.id}"}
    with pytest.raises(DomainError):
        old_parts.receive(session, parcel, f.user(session, "dealer1"), {fan.id: 2})
    old_parts.receive(session, parcel, clerk, {fan.id: 2})
    with pytest.raises(FieldErrors) as no_verdict:
        old_parts.inspect(session, parcel, clerk, {fan.id: "looks fine"})
    assert set(no_verdict.value.errors) == {f"verdict-{fan.id}"}
    with pytest.raises(FieldErrors):  # only this outlet's owed parts travel
        old_parts.create_return(session, fan.outlet_id, f.user(session, "dealer1"), [fan], "德邦物流", "DB2")


def test_missing_pieces_are_charged_as_not_received(session):  # R-PART-4
    gz, clerk = f.outlet(session, "GZ-TH"), f.user(session, "clerk")
    boards, fan = replaced(session, "P-PCB-01", qty=3), replaced(session, "P-FAN-01")
    parcel = returned(session, boards, fan, counts={boards.id: 1, fan.id: 0})  # one board of three; no fan
    before = balance(session, gz)
    old_parts.inspect(session, parcel, clerk, {boards.id: "quality", fan.id: "quality"})

    credit = ledger._by_source(session, f"old_part:{boards.id}:credit")
    charge = ledger._by_source(session, f"old_part:{boards.id}:charge")
    assert (credit.delta, credit.qty) == (Decimal("236.00"), 1)  # the board that came back, in full
    assert (charge.cash_amount, charge.qty) == (Decimal("472.00"), 2)  # the two that did not
    assert NonCreditable.NOT_RECEIVED.value in charge.reason
    assert (boards.state, boards.non_creditable) == (OldPartState.CREDITED.value, NonCreditable.NOT_RECEIVED.value)

    missing = ledger._by_source(session, f"old_part:{fan.id}:charge")
    assert (missing.cash_amount, missing.qty) == (Decimal("185.00"), 1)
    assert ledger._by_source(session, f"old_part:{fan.id}:credit") is None
    assert (fan.state, fan.non_creditable) == (OldPartState.CHARGED.value, NonCreditable.NOT_RECEIVED.value)
    assert balance(session, gz) == before + Decimal("236.00") + Decimal("472.00") + Decimal("185.00")


def test_overdue_old_parts_age_in_a_list(session):  # R-PART-4: one-week cycle
    today = local_today()
    late = replaced(session, "P-FAN-01", days_ago=10)
    later = replaced(session, "P-MOT-01", days_ago=30)
    fresh = replaced(session, "P-PCB-01", days_ago=3)
    scrapped = replaced(session, "P-GLS-01", days_ago=30)  # no physical return owed
    sent = replaced(session, "P-IMP-01", days_ago=30)
    old_parts.create_return(session, sent.outlet_id, f.user(session, "dealer1"), [sent], "顺丰速运", "SF9")

    listed = old_parts.overdue(session, today)
    assert later in listed and late in listed
    assert fresh not in listed and scrapped not in listed and sent not in listed
    assert listed.index(later) < listed.index(late)  # oldest first
    assert [o.replaced_on for o in listed] == sorted(o.replaced_on for o in listed)
    assert all(o.state == OldPartState.OWED.value and (today - o.replaced_on).days >= 7 for o in listed)

    assert fresh in old_parts.overdue(session, today + timedelta(days=30))  # it ages into the list
    session.add(PolicySetting(key="parts.return_cycle_days", value="14"))  # the cycle is a policy value
    session.flush()
    assert late not in old_parts.overdue(session, today) and later in old_parts.overdue(session, today)
