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
from sqlalchemy import func, select

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


def shipped(session, outlet_id, olds, courier="德邦物流", tracking_no="DB1", dealer="dealer1"):
    """The outlet's return application, authorised by the center and shipped (R-PART-9)."""
    parcel = old_parts.apply(session, outlet_id, f.user(session, dealer), list(olds))
    old_parts.authorise(session, parcel, f.user(session, "clerk"))
    old_parts.ship(session, parcel, f.user(session, dealer), courier, tracking_no)
    return parcel


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
        old_parts.apply(session, gz.id, f.user(session, "dealer1"), [panel])
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
    parcel = shipped(session, f.outlet(session, outlet).id, olds, tracking_no="DB778899")
    old_parts.receive(session, parcel, f.user(session, "clerk"), counts or {o.id: o.qty for o in olds})
    return parcel


def test_quality_failure_is_credited_in_full(session):  # R-PART-4 (冲账)
    gz, clerk = f.outlet(session, "GZ-TH"), f.user(session, "clerk")
    fan, board = replaced(session, "P-FAN-01"), replaced(session, "P-PCB-01", qty=2)
    before = balance(session, gz)
    parcel = shipped(session, gz.id, [fan, board], courier=" 德邦物流 ")
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
    parcel = shipped(session, fan.outlet_id, [fan])
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
        old_parts.apply(session, fan.outlet_id, f.user(session, "dealer1"), [fan])


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
    shipped(session, sent.outlet_id, [sent], "顺丰速运", "SF9")

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


def reasons(verdicts, names=("receive", "inspect", "verify_scrapped", "settle")) -> dict:
    return {name: (bool(v), v.reason) for name, v in verdicts.items() if name in names}


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
    parcel = shipped(session, gz.id, [fan])
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


# --- the return application and its authorisation (R-PART-9: 退货申请 → 核准) ----------------------

def test_a_return_is_applied_for_and_authorised_before_it_ships(session):  # R-PART-9
    gz, clerk, dealer = f.outlet(session, "GZ-TH"), f.user(session, "clerk"), f.user(session, "dealer1")
    fan, board = replaced(session, "P-FAN-01"), replaced(session, "P-PCB-01")
    parcel = old_parts.apply(session, gz.id, dealer, [fan, board], " 本月旧件 ")
    assert (parcel.status, parcel.note, parcel.on_paper, parcel.created_by) == ("requested", "本月旧件", False, dealer)
    assert [o.id for o in parcel.old_parts] == [fan.id, board.id] == [line.old_part_id for line in parcel.lines]
    assert fan.state == board.state == OldPartState.OWED.value  # still owed until the parcel ships
    with pytest.raises(DomainError) as early:
        old_parts.ship(session, parcel, dealer, "德邦物流", "DB1")
    assert early.value.message == old_parts.NOT_AUTHORISED
    with pytest.raises(DomainError) as by_outlet:
        old_parts.authorise(session, parcel, dealer)
    assert by_outlet.value.message == old_parts.ONLY_CENTER

    old_parts.authorise(session, parcel, clerk)
    assert (parcel.status, parcel.decided_by_id) == ("authorised", clerk.id) and parcel.decided_at is not None
    with pytest.raises(DomainError):  # decided once
        old_parts.refuse_application(session, parcel, clerk, "重复")
    with pytest.raises(FieldErrors) as untracked:
        old_parts.ship(session, parcel, dealer, "德邦物流", " ")
    assert set(untracked.value.errors) == {"tracking_no"}
    old_parts.ship(session, parcel, dealer, "德邦物流", "DB1")
    assert (parcel.status, parcel.shipped_by_id, parcel.tracking_no) == ("shipped", dealer.id, "DB1")
    assert fan.state == board.state == OldPartState.IN_RETURN.value
    assert fan.returned_on == local_today() and not fan.returned_late


def test_the_center_strikes_lines_with_a_reason_and_they_stay_owed(session):  # R-PART-9
    gz, clerk, dealer = f.outlet(session, "GZ-TH"), f.user(session, "clerk"), f.user(session, "dealer1")
    fan, board = replaced(session, "P-FAN-01"), replaced(session, "P-PCB-01")
    parcel = old_parts.apply(session, gz.id, dealer, [fan, board])
    with pytest.raises(FieldErrors) as no_reason:
        old_parts.authorise(session, parcel, clerk, {board.id: "  "})
    assert set(no_reason.value.errors) == {f"strike_reason-{board.id}"}
    with pytest.raises(FieldErrors) as all_struck:
        old_parts.authorise(session, parcel, clerk, {fan.id: "不收", board.id: "不收"})
    assert "struck" in all_struck.value.errors
    assert parcel.status == "requested"

    old_parts.authorise(session, parcel, clerk, {board.id: "包装破损，重新包装后另行申请"})
    struck = next(line for line in parcel.lines if line.old_part_id == board.id)
    assert (struck.struck, struck.strike_reason) == (True, "包装破损，重新包装后另行申请")
    assert [o.id for o in parcel.old_parts] == [fan.id]
    assert (board.state, board.return_id) == (OldPartState.OWED.value, None)  # owed, free to apply again
    old_parts.ship(session, parcel, dealer, "德邦物流", "DB1")
    assert (fan.state, board.state) == (OldPartState.IN_RETURN.value, OldPartState.OWED.value)
    again = old_parts.apply(session, gz.id, dealer, [board])
    assert again.old_parts == [board]


def test_the_center_refuses_a_whole_application_with_a_reason(session):  # R-PART-9
    gz, clerk, dealer = f.outlet(session, "GZ-TH"), f.user(session, "clerk"), f.user(session, "dealer1")
    fan = replaced(session, "P-FAN-01")
    parcel = old_parts.apply(session, gz.id, dealer, [fan])
    with pytest.raises(FieldErrors) as no_reason:
        old_parts.refuse_application(session, parcel, clerk, "")
    assert set(no_reason.value.errors) == {"refusal_reason"}
    with pytest.raises(DomainError):
        old_parts.refuse_application(session, parcel, dealer, "自己拒绝")
    old_parts.refuse_application(session, parcel, clerk, "旧件未贴标签")
    assert (parcel.status, parcel.refusal_reason, parcel.decided_by_id) == ("refused", "旧件未贴标签", clerk.id)
    assert (fan.state, fan.return_id) == (OldPartState.OWED.value, None) and parcel.old_parts == []
    assert [line.old_part_id for line in parcel.lines] == [fan.id]  # the application still lists it
    for step in ("withdraw", "ship", "authorise"):
        assert not old_parts.actions(session, parcel, dealer if step != "authorise" else clerk)[step]


def test_the_outlet_withdraws_an_application_until_it_ships(session):  # R-PART-9
    gz, clerk, dealer = f.outlet(session, "GZ-TH"), f.user(session, "clerk"), f.user(session, "dealer1")
    fan, board = replaced(session, "P-FAN-01"), replaced(session, "P-PCB-01")
    waiting = old_parts.apply(session, gz.id, dealer, [fan])
    old_parts.withdraw(session, waiting, dealer)
    assert (waiting.status, waiting.withdrawn_by_id, fan.return_id) == ("withdrawn", dealer.id, None)
    authorised = old_parts.apply(session, gz.id, dealer, [fan, board])
    old_parts.authorise(session, authorised, clerk)
    old_parts.withdraw(session, authorised, dealer)  # authorised, not shipped: may still be withdrawn
    assert authorised.status == "withdrawn" and fan.state == board.state == OldPartState.OWED.value
    gone = shipped(session, gz.id, [fan])
    with pytest.raises(DomainError) as late:
        old_parts.withdraw(session, gone, dealer)
    assert late.value.message == old_parts.SHIPPED_ALREADY


def test_an_old_part_is_on_one_application_at_a_time(session):  # R-PART-9
    gz, dealer = f.outlet(session, "GZ-TH"), f.user(session, "dealer1")
    fan = replaced(session, "P-FAN-01")
    old_parts.apply(session, gz.id, dealer, [fan])
    with pytest.raises(FieldErrors):
        old_parts.apply(session, gz.id, dealer, [fan])
    with pytest.raises(FieldErrors):  # nor an old part of another outlet, nor an exempt one
        old_parts.apply(session, gz.id, dealer, [replaced(session, "P-MOT-01", outlet="FS-SD")])
    with pytest.raises(FieldErrors):
        old_parts.apply(session, gz.id, dealer, [replaced(session, "P-GLS-01")])


def test_a_dealer_applies_only_for_its_own_outlets(session):  # R-PART-9, R-ROLE-1
    motor = replaced(session, "P-MOT-01", outlet="FS-SD")
    with pytest.raises(FieldErrors):
        old_parts.apply(session, motor.outlet_id, f.user(session, "dealer1"), [motor])
    with pytest.raises(DomainError):
        old_parts.apply(session, motor.outlet_id, f.user(session, "engineer"), [motor])
    assert motor.return_id is None


def test_the_center_files_an_outlets_faxed_application(session):  # R-PART-9 (004: 传真到客服中心)
    motor = replaced(session, "P-MOT-01", outlet="DG-NC")
    parcel = old_parts.apply(session, motor.outlet_id, f.user(session, "clerk"), [motor], "网点传真")
    assert parcel.on_paper and parcel.status == "requested"


# --- tags (R-PART-4, R-PART-9) ------------------------------------------------------------------

def test_every_old_part_gets_a_unique_readable_tag_when_it_becomes_owed(session):  # R-PART-9
    ticket = resolve_with_parts(session, warranty_ticket(session), [("P-FAN-01", 1), ("P-PCB-01", 2),
                                                                    ("P-GLS-01", 1)])
    fan, board, panel = old_parts_of(session, ticket)
    day_seq = ticket.number.removeprefix("SV")
    assert (fan.tag, board.tag, panel.tag) == (f"JT{day_seq}-1", f"JT{day_seq}-2", f"JT{day_seq}-3")
    tags = session.scalars(select(OldPart.tag)).all()
    assert all(tags) and len(tags) == len(set(tags))  # the demo's parts were tagged too (migration 0015)
    assert old_parts.tag_for("SV20261122-0007", 2) == "JT20261122-0007-2"


# --- late returns (R-PART-9) --------------------------------------------------------------------

def set_policy(session, key, value):
    session.add(PolicySetting(key=key, value=value))
    session.flush()


def test_a_part_shipped_after_the_cycle_is_flagged_late_and_credited_in_full_by_default(session):  # R-PART-9
    gz, clerk = f.outlet(session, "GZ-TH"), f.user(session, "clerk")
    late, fresh = replaced(session, "P-FAN-01", days_ago=8), replaced(session, "P-PCB-01", days_ago=7)
    before = balance(session, gz)
    parcel = returned(session, late, fresh)
    assert (late.returned_late, fresh.returned_late) == (True, False)  # 7 days is within the cycle
    old_parts.inspect(session, parcel, clerk, {late.id: "quality", fresh.id: "quality"})
    assert ledger._by_source(session, f"old_part:{late.id}:credit").delta == Decimal("185.00")
    assert ledger._by_source(session, f"old_part:{late.id}:charge") is None
    assert late.state == OldPartState.CREDITED.value and late.returned_late  # flagged, stays counted
    assert balance(session, gz) == before + Decimal("185.00") + Decimal("236.00")


def test_a_late_part_is_credited_at_the_policys_share_and_the_rest_charged(session):  # R-PART-9
    gz, clerk = f.outlet(session, "GZ-TH"), f.user(session, "clerk")
    set_policy(session, "parts.late_return_credit_rate", "0.5")
    board = replaced(session, "P-PCB-01", qty=2, days_ago=20)
    before = balance(session, gz)
    old_parts.inspect(session, returned(session, board), clerk, {board.id: "quality"})
    credit = ledger._by_source(session, f"old_part:{board.id}:credit")
    charge = ledger._by_source(session, f"old_part:{board.id}:charge")
    assert (credit.delta, charge.cash_amount) == (Decimal("236.00"), Decimal("236.00"))  # half of 472
    assert "50%" in charge.reason and board.non_creditable is None
    assert board.state == OldPartState.CREDITED.value
    assert balance(session, gz) == before + Decimal("472.00")  # credited + paid in cash


def test_a_late_part_is_refused_credit_when_the_policy_says_none(session):  # R-PART-9
    clerk = f.user(session, "clerk")
    set_policy(session, "parts.late_return_credit_rate", "0")
    fan = replaced(session, "P-FAN-01", days_ago=30)
    old_parts.inspect(session, returned(session, fan), clerk, {fan.id: "quality"})
    assert ledger._by_source(session, f"old_part:{fan.id}:credit") is None
    assert ledger._by_source(session, f"old_part:{fan.id}:charge").cash_amount == Decimal("185.00")
    assert fan.state == OldPartState.CHARGED.value and fan.returned_late


def test_a_late_part_bought_for_cash_is_flagged_and_moves_no_balance(session):  # R-PART-9, R-FEE-3
    gz, clerk = f.outlet(session, "GZ-TH"), f.user(session, "clerk")
    set_policy(session, "parts.late_return_credit_rate", "0.5")
    fan = replaced(session, "P-FAN-01", days_ago=30)
    fan.replaced_part.settlement = "purchase"
    before = balance(session, gz)
    old_parts.inspect(session, returned(session, fan), clerk, {fan.id: "quality"})
    assert fan.returned_late and fan.state == OldPartState.CREDITED.value
    assert ledger._by_source(session, f"old_part:{fan.id}:credit") is None
    assert ledger._by_source(session, f"old_part:{fan.id}:charge") is None
    assert balance(session, gz) == before


def test_late_returns_counts_an_outlets_late_parts_in_a_period(session):  # R-PART-9 → outlet evaluation
    today = local_today()
    gz = f.outlet(session, "GZ-TH")
    start, end = today - timedelta(days=30), today
    assert old_parts.late_returns(session, gz.id, start, end) == 0
    late = [replaced(session, "P-FAN-01", days_ago=9), replaced(session, "P-MOT-01", days_ago=15)]
    on_time = replaced(session, "P-PCB-01", days_ago=2)
    owed_late = replaced(session, "P-IMP-01", days_ago=20)  # overdue but not returned: not counted here
    other = replaced(session, "P-FAN-01", outlet="GZ-TH-01", days_ago=12)
    shipped(session, gz.id, [*late, on_time])
    shipped(session, other.outlet_id, [other])
    assert owed_late.returned_on is None
    assert old_parts.late_returns(session, gz.id, start, end) == 2
    assert old_parts.late_returns(session, gz.id, today, today) == 2  # shipped today
    assert old_parts.late_returns(session, gz.id, start, today - timedelta(days=1)) == 0
    assert old_parts.late_returns(session, other.outlet_id, start, end) == 1


# --- freight on receipt (004: paid by the receiver) ---------------------------------------------

def test_the_center_records_the_freight_it_paid_on_receipt(session):  # R-PART-7 (freight), R-PART-9
    gz, clerk = f.outlet(session, "GZ-TH"), f.user(session, "clerk")
    fan = replaced(session, "P-FAN-01")
    parcel = shipped(session, gz.id, [fan])
    before = balance(session, gz)
    with pytest.raises(FieldErrors) as bad:
        old_parts.receive(session, parcel, clerk, {fan.id: 1}, "十八")
    assert set(bad.value.errors) == {"freight"}
    with pytest.raises(FieldErrors):
        old_parts.receive(session, parcel, clerk, {fan.id: 1}, "-3")
    old_parts.receive(session, parcel, clerk, {fan.id: 1}, "¥18.50")
    assert (parcel.status, parcel.freight) == ("received", Decimal("18.50"))
    assert balance(session, gz) == before  # the center pays it: nothing on the outlet's account


# --- a non-creditable part: sent back or scrapped, as the outlet chooses (R-PART-9) --------------

def test_a_non_creditable_part_is_sent_back_or_scrapped_as_the_outlet_chooses(session):  # R-PART-9
    clerk, dealer = f.user(session, "clerk"), f.user(session, "dealer1")
    fan, motor, board = replaced(session, "P-FAN-01"), replaced(session, "P-MOT-01"), replaced(session, "P-PCB-01")
    parcel = returned(session, fan, motor, board)
    assert not old_parts.actions(session, parcel, dealer)["choose_disposal"]  # not inspected yet
    old_parts.inspect(session, parcel, clerk, {fan.id: "human_damage", motor.id: "no_fault_found",
                                               board.id: "quality"})
    assert [o for o in parcel.old_parts if old_parts.awaits_choice(o)] == [fan, motor]
    assert not old_parts.actions(session, board, dealer)["choose_disposal"]  # credited: the center keeps it
    with pytest.raises(DomainError) as first:
        old_parts.dispose(session, fan, clerk)
    assert first.value.message == old_parts.NOT_CHOSEN
    with pytest.raises(FieldErrors):
        old_parts.choose_disposal(session, parcel, dealer, {fan.id: "keep"})
    with pytest.raises(FieldErrors):
        old_parts.choose_disposal(session, parcel, dealer, {})

    old_parts.choose_disposal(session, parcel, dealer, {fan.id: "send_back", motor.id: "scrap"})
    assert (fan.disposal, motor.disposal, fan.disposal_chosen_by_id) == ("send_back", "scrap", dealer.id)
    assert not old_parts.actions(session, parcel, dealer)["choose_disposal"]  # chosen once
    with pytest.raises(DomainError):  # the center carries it out
        old_parts.dispose(session, fan, dealer, "顺丰速运", "SF1")
    with pytest.raises(FieldErrors) as untracked:
        old_parts.dispose(session, fan, clerk)
    assert set(untracked.value.errors) == {"courier", "tracking_no"}
    old_parts.dispose(session, fan, clerk, "顺丰速运", "SF1")
    old_parts.dispose(session, motor, clerk)
    assert (fan.send_back_courier, fan.send_back_tracking_no, fan.disposed_by_id) == ("顺丰速运", "SF1", clerk.id)
    assert motor.disposed_at is not None and motor.send_back_tracking_no == ""
    with pytest.raises(DomainError):
        old_parts.dispose(session, motor, clerk)


def test_missing_pieces_are_not_there_to_send_back(session):  # R-PART-9
    clerk = f.user(session, "clerk")
    fan = replaced(session, "P-FAN-01")
    parcel = returned(session, fan, counts={fan.id: 0})
    old_parts.inspect(session, parcel, clerk, {fan.id: "quality"})
    assert fan.non_creditable == "not_received" and not old_parts.awaits_choice(fan)


# --- who may take the new steps (actions) -------------------------------------------------------

STEPS = ("authorise", "refuse", "withdraw", "ship", "print")


@pytest.mark.parametrize("role", CENTER_ROLES)
def test_the_center_authorises_or_refuses_a_waiting_application(session, role):  # R-PART-9
    outlet = f.make_outlet(session)
    verdicts = old_parts.actions(session, make_return(session, outlet, PartsReturnStatus.REQUESTED),
                                 someone(session, role, outlet))
    assert reasons(verdicts, STEPS) == {"authorise": (True, ""), "refuse": (True, ""), "withdraw": (True, ""),
                                        "ship": (False, old_parts.NOT_AUTHORISED),
                                        "print": (False, old_parts.NOT_AUTHORISED)}


def test_the_outlet_ships_withdraws_and_prints_an_authorised_application(session):  # R-PART-9
    outlet = f.make_outlet(session)
    dealer = someone(session, "dealer", outlet)
    waiting = old_parts.actions(session, make_return(session, outlet, PartsReturnStatus.REQUESTED), dealer)
    assert reasons(waiting, STEPS) == {"authorise": (False, old_parts.ONLY_CENTER),
                                       "refuse": (False, old_parts.ONLY_CENTER), "withdraw": (True, ""),
                                       "ship": (False, old_parts.NOT_AUTHORISED),
                                       "print": (False, old_parts.NOT_AUTHORISED)}
    authorised = old_parts.actions(session, make_return(session, outlet, PartsReturnStatus.AUTHORISED), dealer)
    assert {name for name, v in authorised.items() if v} == {"withdraw", "ship", "print"}


def test_an_engineer_takes_no_step_of_a_return(session):  # R-ROLE-1
    outlet = f.make_outlet(session)
    engineer = someone(session, "engineer", outlet)
    assert not old_parts.actions(session, None, engineer)["apply"]
    for status in PartsReturnStatus:
        assert not any(old_parts.actions(session, make_return(session, outlet, status), engineer).values())


def test_migration_0015_tags_existing_old_parts_as_the_service_does(tmp_path):  # R-PART-9
    """Down to 0014 and up again on the demo data: every old part gets back the very tag the
    service gave it, and a parcel shipped before applications existed stands shipped, listed in full."""
    from flask_migrate import downgrade, upgrade

    from models import db
    from tests.conftest import build_demo_database, make_app

    app = make_app(f"sqlite:///{tmp_path}/tags.db")
    build_demo_database(app)
    with app.app_context():
        before = dict(db.session.execute(select(OldPart.id, OldPart.tag)).all())
        shipped_ids = db.session.scalars(select(PartsReturn.id).where(PartsReturn.status == "shipped")).all()
        db.session.remove()
        downgrade(revision="0014_reconciliation_sign")
        upgrade()
        after = dict(db.session.execute(select(OldPart.id, OldPart.tag)).all())
        assert after == before and all(after.values())
        for parcel in db.session.scalars(select(PartsReturn)):
            assert parcel.id in shipped_ids or parcel.status != "shipped"
            assert parcel.shipped_at == parcel.created_at
            assert [line.old_part_id for line in parcel.lines] == [o.id for o in parcel.old_parts]
            assert all(o.returned_on is not None and not o.returned_late for o in parcel.old_parts)
        assert db.session.scalar(select(func.count()).select_from(PartsReturn).where(
            PartsReturn.status.in_(["requested", "authorised"]))) == 0  # unshipped applications went down
        db.session.remove()
