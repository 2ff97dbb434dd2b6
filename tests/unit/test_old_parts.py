"""Old parts from warranty repairs and the return lists that bring them back
(backoffice/old_parts.py: R-PART-4…6, R-WAR-2): the obligation, local scrapping and its
verification, receipt, inspection, credit or charge, the overdue list, and who may do which
step now (`actions`).

Demo world (backoffice/demo.py `_parts_accounts`): GZ-TH and DG-NC owe old parts from
warranty repairs.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice import intake, ledger, old_parts, warranty, workflow
from backoffice.errors import DomainError, FieldErrors
from backoffice.labels import label
from backoffice.timezones import local_today
from models import OldPart, Part, PartsAccount, PartsReturn, PolicySetting, ReplacedPart, utcnow
from models.choices import LedgerKind as K
from models.choices import NonCreditable, OldPartState, PartsReturnStatus
from tests import factories as f


def part(session, code) -> Part:
    return session.scalar(select(Part).where(Part.code == code))


def balance(session, outlet) -> Decimal:
    return session.scalar(select(PartsAccount.balance).where(PartsAccount.outlet_id == outlet.id))


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
             ("propose", {"note": "更换配件",
                          "fees": [] if ticket.in_warranty else [{"item": "上门费", "amount": "50"}]}),
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
    assert (credit.kind, credit.delta, credit.cash_amount) == \
        (K.RETURN_CREDIT.value, Decimal("160.00"), Decimal("0.00"))
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
    assert str(label(NonCreditable, reason)) in charge.reason and charge.qty == 1 and charge.actor_id == clerk.id
    assert reason not in charge.reason  # the reason's label, never its key (a ledger line is read)
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
    assert str(label(NonCreditable, NonCreditable.NOT_RECEIVED)) in charge.reason
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


# --- who may do what, now (actions: R-PART-4, R-PART-6, R-ROLE-1) --------------------------------

ROLES = ("admin", "manager", "clerk", "engineer", "dealer")
CENTER_ROLES = ("admin", "manager", "clerk")
OUTSIDERS = ("engineer", "dealer")


def someone(session, role, outlet):
    """A user of `role`; a dealer works at `outlet`."""
    return f.make_user(session, role, outlet=outlet if role == "dealer" else None)


def make_return(session, outlet, status=PartsReturnStatus.SHIPPED) -> PartsReturn:
    row = PartsReturn(outlet_id=outlet.id, status=PartsReturnStatus(status).value, courier="德邦物流",
                      tracking_no=f"DB{f.next_number():08d}")
    session.add(row)
    session.flush()
    return row


def make_old_part(session, outlet, state=OldPartState.OWED, parcel=None) -> OldPart:
    """An old part owed from a warranty repair at `outlet`, standing at `state` (in `parcel`)."""
    customer = f.make_customer(session, outlet)
    unit = f.make_unit(session, customer)
    ticket = f.make_ticket(session, customer, unit=unit)
    piece = f.make_part(session, unit_price=Decimal("88.00"))
    today = local_today()
    replaced_part = ReplacedPart(part=piece, qty=1, unit_id=unit.id, replaced_on=today,
                                 warranty_until=warranty.part_warranty_until(session, today))
    ticket.replaced_parts.append(replaced_part)
    row = OldPart(replaced_part=replaced_part, ticket=ticket, outlet_id=outlet.id, part=piece, qty=1,
                  unit_price=piece.unit_price, replaced_on=today, state=OldPartState(state).value,
                  parts_return=parcel)
    session.add(row)
    session.flush()
    return row


def reasons(verdicts) -> dict:
    return {name: (bool(v), v.reason) for name, v in verdicts.items()}


@pytest.mark.parametrize("role", CENTER_ROLES)
def test_the_center_may_count_a_shipped_parcel_but_not_inspect_it_yet(session, role):  # R-PART-4
    outlet = f.make_outlet(session)
    verdicts = old_parts.actions(session, make_return(session, outlet), someone(session, role, outlet))
    assert reasons(verdicts) == {"receive": (True, ""), "inspect": (False, old_parts.NOT_COUNTED)}


@pytest.mark.parametrize("role", CENTER_ROLES)
def test_the_center_may_inspect_a_counted_parcel(session, role):  # R-PART-4
    outlet = f.make_outlet(session)
    verdicts = old_parts.actions(session, make_return(session, outlet, PartsReturnStatus.RECEIVED),
                                 someone(session, role, outlet))
    assert reasons(verdicts) == {"receive": (False, old_parts.STALE_RETURN), "inspect": (True, "")}


@pytest.mark.parametrize("role", OUTSIDERS)
def test_an_outlet_or_an_engineer_may_not_count_or_inspect_a_parcel(session, role):  # R-PART-4
    outlet = f.make_outlet(session)
    user = someone(session, role, outlet)
    for status in PartsReturnStatus:
        verdicts = old_parts.actions(session, make_return(session, outlet, status), user)
        assert reasons(verdicts) == {"receive": (False, old_parts.ONLY_CENTER),
                                     "inspect": (False, old_parts.ONLY_CENTER)}, status


def test_an_inspected_parcel_is_neither_counted_nor_inspected_again(session):  # R-PART-4
    outlet = f.make_outlet(session)
    parcel = make_return(session, outlet, PartsReturnStatus.INSPECTED)
    for role in CENTER_ROLES:
        assert reasons(old_parts.actions(session, parcel, f.make_user(session, role))) == {
            "receive": (False, old_parts.STALE_RETURN), "inspect": (False, old_parts.STALE_RETURN)}


@pytest.mark.parametrize("role", CENTER_ROLES)
def test_the_center_may_verify_and_settle_a_part_scrapped_locally(session, role):  # R-PART-6
    outlet = f.make_outlet(session)
    verdicts = old_parts.actions(session, make_old_part(session, outlet, OldPartState.SCRAP_LOCAL),
                                 someone(session, role, outlet))
    assert reasons(verdicts) == {"verify_scrapped": (True, ""), "settle": (True, "")}


@pytest.mark.parametrize("role", OUTSIDERS)
def test_an_outlet_or_an_engineer_may_not_verify_or_settle_an_old_part(session, role):  # R-PART-4, R-PART-6
    outlet = f.make_outlet(session)
    user = someone(session, role, outlet)
    for old in (make_old_part(session, outlet, OldPartState.SCRAP_LOCAL),
                make_old_part(session, outlet, OldPartState.IN_RETURN,
                              make_return(session, outlet, PartsReturnStatus.RECEIVED))):
        assert reasons(old_parts.actions(session, old, user)) == {
            "verify_scrapped": (False, old_parts.ONLY_CENTER), "settle": (False, old_parts.ONLY_CENTER)}


@pytest.mark.parametrize("state", [s for s in OldPartState if s != OldPartState.SCRAP_LOCAL])
def test_only_a_part_scrapped_locally_waits_for_verification(session, state):  # R-PART-6
    outlet = f.make_outlet(session)
    parcel = make_return(session, outlet) if state == OldPartState.IN_RETURN else None
    verdict = old_parts.actions(session, make_old_part(session, outlet, state, parcel),
                                f.make_user(session, "clerk"))["verify_scrapped"]
    assert not verdict and verdict.reason == old_parts.NOT_SCRAPPED


def test_an_old_part_is_settled_once_verified_or_inspected(session):  # R-PART-4, R-PART-6
    outlet, clerk = f.make_outlet(session), f.make_user(session, "clerk")
    shipped = make_return(session, outlet)
    counted = make_return(session, outlet, PartsReturnStatus.RECEIVED)
    cases = [(make_old_part(session, outlet, OldPartState.OWED), old_parts.STILL_OWED),
             (make_old_part(session, outlet, OldPartState.IN_RETURN, shipped), old_parts.NOT_COUNTED),
             (make_old_part(session, outlet, OldPartState.IN_RETURN, counted), ""),
             (make_old_part(session, outlet, OldPartState.SCRAP_LOCAL), ""),
             (make_old_part(session, outlet, OldPartState.CREDITED), old_parts.ALREADY_SETTLED),
             (make_old_part(session, outlet, OldPartState.CHARGED), old_parts.ALREADY_SETTLED)]
    for old, reason in cases:
        verdict = old_parts.actions(session, old, clerk)["settle"]
        assert (bool(verdict), verdict.reason) == (not reason, reason), old.state


def test_the_guards_refuse_with_the_verdicts_reason(session):  # R-PART-4, R-PART-6
    gz, clerk, dealer = f.outlet(session, "GZ-TH"), f.user(session, "clerk"), f.user(session, "dealer1")
    fan = replaced(session, "P-FAN-01")
    before = balance(session, gz)
    parcel = old_parts.create_return(session, gz.id, dealer, [fan], "德邦物流", "DB1")
    with pytest.raises(DomainError) as by_outlet:
        old_parts.receive(session, parcel, dealer, {fan.id: 1})
    assert by_outlet.value.message == old_parts.ONLY_CENTER
    with pytest.raises(DomainError) as uncounted:
        old_parts.inspect(session, parcel, clerk, {fan.id: "quality"})
    assert uncounted.value.message == old_parts.NOT_COUNTED
    with pytest.raises(DomainError) as early:
        old_parts.settle(session, fan, clerk, "quality")
    assert early.value.message == old_parts.NOT_COUNTED
    owed = replaced(session, "P-MOT-01")
    with pytest.raises(DomainError) as still_owed:
        old_parts.settle(session, owed, clerk, "quality")
    assert still_owed.value.message == old_parts.STILL_OWED
    with pytest.raises(DomainError) as not_scrapped:
        old_parts.verify_scrapped(session, owed, clerk, True)
    assert not_scrapped.value.message == old_parts.NOT_SCRAPPED
    assert (fan.state, owed.state) == (OldPartState.IN_RETURN.value, OldPartState.OWED.value)
    assert balance(session, gz) == before  # nothing credited or charged
