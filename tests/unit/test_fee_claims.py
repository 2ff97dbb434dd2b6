"""Service-fee claims of the outlets (R-FEE-1, R-FEE-2, R-CMP-3, R-ROLE-2)."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backoffice import fee_claims, months, network_approvals, reconciliation
from backoffice.errors import DomainError, FieldErrors
from backoffice.permissions import why_not
from backoffice.timezones import local_today
from models import FeeBatch, FeeClaim, FeeClaimPart, Part, PolicySetting, ReplacedPart, Ticket, TravelBand, utcnow
from tests import factories as f


def claims_of(session, code, status="claimed") -> list[FeeClaim]:
    """The outlet's claims in `status`, their old parts back at the center (returned and
    inspected: what approval waits for, R-FEE-3, and not what these tests are about)."""
    claims = session.scalars(select(FeeClaim).where(FeeClaim.outlet_id == f.outlet(session, code).id,
                                                    FeeClaim.status == status).order_by(FeeClaim.id)).all()
    f.bring_back_old_parts(session, *claims)
    return claims


def a_claim(session, code="DG-NC", status="claimed") -> FeeClaim:
    return claims_of(session, code, status)[0]


def month_start(months_back: int = 0) -> date:
    return months.recent(local_today(), months_back + 1)[-1]


def after(month: date):
    """A moment once the month is over (its end plus an hour, UTC)."""
    return reconciliation.month_bounds(month)[1] + timedelta(hours=1)


def in_month(month: date):
    return reconciliation.month_bounds(month)[0] + timedelta(days=3)


def resolved_ticket(session, code, in_warranty=True) -> Ticket:
    ticket = session.scalars(select(Ticket).where(Ticket.outlet_id == f.outlet(session, code).id,
                                                  Ticket.status.in_(("registered", "diagnosed")))
                             .order_by(Ticket.id)).first()
    ticket.status, ticket.in_warranty = "resolved", in_warranty
    session.flush()
    return ticket


# --- R-FEE-1: the figures -----------------------------------------------------------------
@pytest.mark.parametrize("km,fee", [(0, "0.00"), (1, "0.00"), (10, "0.00"), (11, "30.00"), (30, "30.00"),
                                    (31, "60.00"), (60, "60.00"), (61, "100.00"), (9999, "100.00"),
                                    (12000, "100.00")])
def test_travel_is_paid_by_distance_band(session, km, fee):
    amount = fee_claims.travel_for(session, km)
    assert amount == Decimal(fee) and isinstance(amount, Decimal)


def test_travel_bands_are_data_records(session):
    band = session.scalar(select(TravelBand).where(TravelBand.up_to_km == 30))
    band.amount = Decimal("35.50")
    session.add(TravelBand(up_to_km=20, amount=Decimal("20.00")))
    session.flush()
    assert fee_claims.travel_for(session, 20) == Decimal("20.00")
    assert fee_claims.travel_for(session, 21) == Decimal("35.50")


def test_labour_is_standard_hours_times_the_policy_rate_and_cash_parts_come_from_the_price_list(session):
    claim = a_claim(session)
    ticket = claim.ticket
    session.add(PolicySetting(key="fees.labor_rate_per_hour", value="80"))
    ticket.remedy_code.standard_hours = Decimal("1.50")
    part = session.scalars(select(Part).where(Part.unit_price > 0).order_by(Part.id)).first()
    for fitted in ticket.replaced_parts:
        fitted.settlement = "purchase"  # R-FEE-3: the claim pays parts the outlet bought for cash
    session.add(ReplacedPart(ticket=ticket, part=part, qty=3, replaced_on=local_today(), settlement="purchase",
                             warranty_until=local_today() + timedelta(days=365)))
    session.flush()
    session.expire(ticket, ["replaced_parts"])
    figures = fee_claims.compute(session, ticket, 45)
    assert (figures.labor_hours, figures.labor_rate, figures.labor_amount) == (
        Decimal("1.50"), Decimal("80.00"), Decimal("120.00"))
    assert (figures.band_km, figures.travel_amount) == (60, Decimal("60.00"))
    expected_parts = sum((p.part.unit_price * p.qty for p in ticket.replaced_parts), Decimal("0"))
    assert figures.parts_amount == expected_parts
    assert any(line.part_id == part.id and line.qty == 3 and line.amount == part.unit_price * 3
               for line in figures.parts)
    assert figures.total == Decimal("120.00") + Decimal("60.00") + expected_parts
    for value in (figures.labor_amount, figures.travel_amount, figures.parts_amount, figures.total):
        assert isinstance(value, Decimal) and value == value.quantize(Decimal("0.01"))


def test_a_remedy_without_standard_hours_is_paid_the_default_hours(session):
    claim = a_claim(session)
    claim.ticket.remedy_code.standard_hours = None
    session.add(PolicySetting(key="fees.default_hours", value="0.75"))
    session.flush()
    figures = fee_claims.compute(session, claim.ticket, 0)
    assert figures.labor_hours == Decimal("0.75") and figures.labor_amount == Decimal("45.00")


def test_stored_amounts_come_back_as_decimals_to_the_cent(session):
    claim = a_claim(session)
    claim_id = claim.id
    session.commit()
    session.expire_all()
    stored = session.get(FeeClaim, claim_id)
    for name in ("labor_hours", "labor_rate", "labor_amount", "travel_amount", "parts_amount", "claimed_total",
                 "overcharge", "charge_back"):
        assert isinstance(getattr(stored, name), Decimal), name
    assert stored.claimed_total == stored.labor_amount + stored.travel_amount + stored.parts_amount
    assert stored.parts_amount == sum((line.amount for line in stored.parts), Decimal("0.00"))


# --- R-FEE-1: which tickets give a claim ----------------------------------------------------------
def test_claims_come_only_from_resolved_warranty_tickets_of_dealer_outlets(session):
    claims = session.scalars(select(FeeClaim)).all()
    assert claims
    for claim in claims:
        ticket = claim.ticket
        assert ticket.in_warranty and not ticket.outlet.is_service_center
        assert ticket.status in ("resolved", "return_visit", "closed")
        assert claim.outlet_id == ticket.outlet_id and claim.number == "FW" + ticket.number[2:]
    center = f.outlet(session, "SC-GZ")
    assert session.scalar(select(FeeClaim).where(FeeClaim.outlet_id == center.id)) is None


def test_generate_is_idempotent_and_claims_only_new_warranty_services(session):
    clerk = f.user(session, "clerk")
    assert fee_claims.generate(session, None, clerk) == []  # the demo generated them already
    claimed = resolved_ticket(session, "FS-SD")
    resolved_ticket(session, "GZ-TH", in_warranty=False)  # paid by the customer: no claim
    resolved_ticket(session, "SC-GZ")  # the center's own service: no claim
    created = fee_claims.generate(session, None, clerk)
    assert [c.ticket_id for c in created] == [claimed.id]
    assert created[0].status == "claimed" and created[0].outlet_id == claimed.outlet_id
    assert fee_claims.generate(session, None, clerk) == []


def test_generate_for_one_outlet(session):
    clerk = f.user(session, "clerk")
    fs_sd, gz_th = resolved_ticket(session, "FS-SD"), resolved_ticket(session, "GZ-TH")
    assert [c.ticket_id for c in fee_claims.generate(session, gz_th.outlet_id, clerk)] == [gz_th.id]
    assert [c.ticket_id for c in fee_claims.generate(session, None, clerk)] == [fs_sd.id]


def test_one_claim_per_ticket_is_also_a_database_rule(session):
    claim = a_claim(session)
    session.add(FeeClaim(ticket_id=claim.ticket_id, outlet_id=claim.outlet_id, number="FW-DUPLICATE",
                         labor_rate=Decimal("60"), labor_amount=Decimal("0"), travel_amount=Decimal("0"),
                         parts_amount=Decimal("0"), claimed_total=Decimal("0")))
    with pytest.raises(IntegrityError):
        session.flush()


def test_only_the_center_generates_claims(session):
    with pytest.raises(DomainError):
        fee_claims.generate(session, None, f.user(session, "dealer2"))


# --- the outlet states the distance ---------------------------------------------------------------
def test_the_outlet_sets_the_distance_and_the_claim_is_recomputed(session):
    claim, dealer = a_claim(session, "FS-SD"), f.user(session, "dealer2")
    before = claim.claimed_total - claim.travel_amount
    fee_claims.set_distance(session, claim, dealer, "45")
    assert (claim.distance_km, claim.travel_band_km, claim.travel_amount) == (45, 60, Decimal("60.00"))
    assert claim.claimed_total == before + Decimal("60.00")
    for typed in ("四十五", "-3", "4.5", "", "2001", "４５"):
        with pytest.raises(FieldErrors) as refused:
            fee_claims.set_distance(session, claim, dealer, typed)
        assert set(refused.value.errors) == {"distance_km"}


def test_only_the_claims_outlet_or_the_center_sets_the_distance(session):
    claim = a_claim(session, "FS-SD")
    for username in ("dealer1", "engineer2"):
        with pytest.raises(DomainError):
            fee_claims.set_distance(session, claim, f.user(session, username), "5")
    fee_claims.set_distance(session, a_claim(session, "GZ-TH-01"), f.user(session, "dealer1"), "5")  # sub-outlet
    fee_claims.audit(session, claim, f.user(session, "clerk"), "approve")
    with pytest.raises(DomainError):
        fee_claims.set_distance(session, claim, f.user(session, "dealer2"), "5")  # audited: frozen


# --- the center's audit -------------------------------------------------------------------------
def test_approve_pays_the_claim(session):
    claim, clerk = a_claim(session), f.user(session, "clerk")
    fee_claims.audit(session, claim, clerk, "approve", "")
    assert claim.status == "approved" and claim.approved_total == claim.claimed_total
    assert claim.audited_by_id == clerk.id and claim.audited_at is not None


def test_adjust_needs_a_reason_and_an_amount_within_the_claim(session):
    claim, clerk = a_claim(session), f.user(session, "clerk")
    with pytest.raises(FieldErrors) as refused:
        fee_claims.audit(session, claim, clerk, "adjust", "", claim.claimed_total + Decimal("0.01"))
    assert set(refused.value.errors) == {"approved_total", "note"}
    for amount in (None, Decimal("-0.01")):
        with pytest.raises(FieldErrors):
            fee_claims.audit(session, claim, clerk, "adjust", "核减", amount)
    assert claim.status == "claimed"
    fee_claims.audit(session, claim, clerk, "adjust", "配件未返还，扣除配件费",
                     claim.claimed_total - claim.parts_amount)
    assert claim.status == "adjusted" and claim.approved_total == claim.claimed_total - claim.parts_amount
    assert claim.audit_note == "配件未返还，扣除配件费"


def test_adjust_to_zero_and_to_the_full_claim_are_allowed(session):
    first, second = claims_of(session, "DG-NC")[:2]
    clerk = f.user(session, "clerk")
    fee_claims.audit(session, first, clerk, "adjust", "全部核减", Decimal("0"))
    fee_claims.audit(session, second, clerk, "adjust", "核对无误", second.claimed_total)
    assert (first.approved_total, second.approved_total) == (Decimal("0.00"), second.claimed_total)


def test_reject_needs_a_reason(session):
    claim, clerk = a_claim(session), f.user(session, "clerk")
    with pytest.raises(FieldErrors) as refused:
        fee_claims.audit(session, claim, clerk, "reject", "  ")
    assert set(refused.value.errors) == {"note"}
    fee_claims.audit(session, claim, clerk, "reject", "无用户签字")
    assert claim.status == "rejected" and claim.approved_total == Decimal("0.00")


def test_a_claim_is_audited_once_and_only_by_the_center(session):
    claim = a_claim(session)
    for username in ("dealer1", "dealer2", "engineer"):
        with pytest.raises(DomainError):
            fee_claims.audit(session, claim, f.user(session, username), "approve")
    with pytest.raises(FieldErrors):
        fee_claims.audit(session, claim, f.user(session, "clerk"), "pay twice")
    fee_claims.audit(session, claim, f.user(session, "manager"), "approve")
    with pytest.raises(DomainError):
        fee_claims.audit(session, claim, f.user(session, "clerk"), "reject", "改判")


@pytest.mark.parametrize("typed", ["abc", "1.234", "NaN", "Infinity", "1e20", "12,3.4.5"])
def test_typed_amounts_are_checked(typed):
    with pytest.raises(FieldErrors) as refused:
        fee_claims.parse_amount(typed, "approved_total")
    assert set(refused.value.errors) == {"approved_total"}


def test_typed_amounts_become_decimals():
    assert fee_claims.parse_amount(" ¥1,234.5 ", "x") == Decimal("1234.50")
    assert fee_claims.parse_amount("", "x") is None


# --- R-FEE-2 / R-CMP-3 / R-ROLE-2: charge-back of a confirmed overcharge ----------------------------
def test_overcharge_is_charged_back_tenfold_by_a_manager_who_did_not_audit(session):
    claim, manager, admin = a_claim(session), f.user(session, "manager"), f.user(session, "admin")
    fee_claims.audit(session, claim, manager, "approve")
    with pytest.raises(DomainError):  # four eyes: never on one's own audit
        fee_claims.confirm_overcharge(session, claim, manager, Decimal("10"), "虚报路程")
    with pytest.raises(DomainError):  # managers only
        fee_claims.confirm_overcharge(session, claim, f.user(session, "clerk"), Decimal("10"), "虚报路程")
    with pytest.raises(FieldErrors) as refused:
        fee_claims.confirm_overcharge(session, claim, admin, claim.approved_total + Decimal("0.01"), "")
    assert set(refused.value.errors) == {"overcharge", "charge_back_note"}
    with pytest.raises(FieldErrors):
        fee_claims.confirm_overcharge(session, claim, admin, Decimal("0"), "虚报路程")
    fee_claims.confirm_overcharge(session, claim, admin, Decimal("12.35"), "虚报路程")
    assert claim.overcharge == Decimal("12.35") and claim.charge_back == Decimal("123.50")
    assert claim.charge_back_by_id == admin.id and claim.charge_back_note == "虚报路程"
    with pytest.raises(DomainError):  # once
        fee_claims.confirm_overcharge(session, claim, admin, Decimal("1"), "再次")


def test_the_charge_back_multiple_is_a_policy(session):
    claim = a_claim(session)
    fee_claims.audit(session, claim, f.user(session, "clerk"), "approve")
    session.add(PolicySetting(key="fees.overcharge_multiple", value="5"))
    session.flush()
    fee_claims.confirm_overcharge(session, claim, f.user(session, "manager"), Decimal("3.00"), "多报工时")
    assert claim.charge_back == Decimal("15.00")


def test_no_charge_back_on_a_claim_not_paid(session):
    waiting, rejected = claims_of(session, "DG-NC")[:2]
    fee_claims.audit(session, rejected, f.user(session, "clerk"), "reject", "无签字")
    for claim in (waiting, rejected):
        with pytest.raises(DomainError):
            fee_claims.confirm_overcharge(session, claim, f.user(session, "manager"), Decimal("1"), "多报")


# --- R-FEE-2: monthly settlement ------------------------------------------------------------------
def payable_before(session, outlet_id, end):
    return session.scalars(select(FeeClaim).where(
        FeeClaim.outlet_id == outlet_id, FeeClaim.status.in_(fee_claims.PAYABLE), FeeClaim.batch_id.is_(None),
        FeeClaim.audited_at < end)).all()


def test_monthly_batch_adds_up_to_the_cent_with_pending_charge_backs_and_is_idempotent(session):
    clerk, manager = f.user(session, "clerk"), f.user(session, "manager")
    outlet = f.outlet(session, "DG-NC")
    month = month_start(1)
    end = reconciliation.month_bounds(month)[1]
    first, second, third, late = claims_of(session, "DG-NC")[:4]
    fee_claims.audit(session, first, clerk, "adjust", "核减", Decimal("33.33"), at=in_month(month))
    fee_claims.audit(session, second, clerk, "adjust", "核减", Decimal("0.01"), at=in_month(month))
    fee_claims.audit(session, third, clerk, "approve", at=in_month(month))
    fee_claims.audit(session, late, clerk, "approve", at=end + timedelta(minutes=1))  # next month's
    fee_claims.confirm_overcharge(session, third, manager, Decimal("0.07"), "多报工时", at=in_month(month))
    expected = payable_before(session, outlet.id, end)
    assert {first, second, third} <= set(expected) and late not in expected
    batch = fee_claims.settle_month(session, outlet.id, month, clerk)
    total = sum((c.approved_total for c in expected), Decimal("0.00"))
    assert batch.claims_total == total and batch.charge_backs_total == Decimal("0.70")
    assert batch.net == total - Decimal("0.70")
    assert all(c.status == "settled" and c.batch_id == batch.id for c in expected)
    assert third.charge_back_batch_id == batch.id
    assert late.status == "approved" and late.batch_id is None
    assert fee_claims.settle_month(session, outlet.id, month, clerk) is batch  # idempotent
    assert session.scalars(select(FeeBatch).where(FeeBatch.outlet_id == outlet.id)).all() == [batch]
    session.commit()
    session.expire_all()
    stored = session.get(FeeBatch, batch.id)
    assert isinstance(stored.net, Decimal) and stored.net == total - Decimal("0.70")
    assert stored.claims_total == sum((c.approved_total for c in stored.claims), Decimal("0.00"))


def test_a_later_charge_back_goes_into_the_next_batch_and_the_net_may_be_negative(session):
    clerk, manager = f.user(session, "clerk"), f.user(session, "manager")
    outlet = f.outlet(session, "GZ-TH-01")
    this_month = month_start(0)
    next_month = (this_month + timedelta(days=32)).replace(day=1)
    fee_claims.settle_month(session, outlet.id, month_start(1), clerk)
    current = fee_claims.settle_month(session, outlet.id, this_month, clerk, now=after(this_month))
    settled = session.scalars(select(FeeClaim).where(FeeClaim.outlet_id == outlet.id,
                                                     FeeClaim.status == "settled", FeeClaim.charge_back == 0)
                              .order_by(FeeClaim.id)).first()
    fee_claims.confirm_overcharge(session, settled, manager, settled.approved_total, "整单虚报",
                                  at=utcnow())
    assert settled.charge_back_batch_id is None  # this month's batch is closed: next one
    nxt = fee_claims.settle_month(session, outlet.id, next_month, clerk, now=after(next_month))
    assert current.id != nxt.id and settled.charge_back_batch_id == nxt.id
    assert nxt.claims_total == Decimal("0.00") and nxt.charge_backs_total == settled.charge_back
    assert nxt.net == -settled.charge_back < 0  # the outlet owes


def test_a_month_is_settled_once_it_is_over_and_only_by_the_center(session):
    outlet = f.outlet(session, "GZ-TH")
    with pytest.raises(DomainError):
        fee_claims.settle_month(session, outlet.id, month_start(0), f.user(session, "clerk"))
    with pytest.raises(DomainError):
        fee_claims.settle_month(session, outlet.id, month_start(1), f.user(session, "dealer1"))


def test_settle_all_makes_a_batch_per_outlet_with_something_to_settle(session):
    clerk = f.user(session, "clerk")
    month = month_start(1)
    batches = fee_claims.settle_all(session, month, clerk)
    assert batches and all(b.month == month for b in batches)
    assert fee_claims.settle_all(session, month, clerk) == []  # nothing left: no empty batches
    assert len({b.outlet_id for b in batches}) == len(batches)


def test_claim_part_lines_follow_the_claim(session):
    claim = next(c for c in session.scalars(select(FeeClaim).order_by(FeeClaim.id)) if c.parts)
    lines = [(line.part_id, line.qty, line.unit_price) for line in claim.parts]
    assert lines == [(p.part_id, p.qty, p.part.unit_price) for p in claim.ticket.replaced_parts]
    claim_id = claim.id
    session.delete(claim)
    session.flush()
    assert session.scalars(select(FeeClaimPart).where(FeeClaimPart.claim_id == claim_id)).all() == []


# --- R-ROLE-1..3: who may do what with claims, now (fee_claims.actions) ------------------------------
CENTER_ROLES = ("admin", "manager", "clerk")


@pytest.fixture
def world(session):
    """A dealer outlet with a sub-outlet, a dealer of each and of another outlet, an engineer,
    and the center's staff (admin, manager, clerk)."""
    outlet = f.make_outlet(session)
    branch = f.make_outlet(session, parent=outlet)
    people = {role: f.make_user(session, role) for role in (*CENTER_ROLES, "engineer")}
    people["dealer"] = f.make_user(session, "dealer", outlet=outlet)
    people["branch_dealer"] = f.make_user(session, "dealer", outlet=branch)
    people["other_dealer"] = f.make_user(session, "dealer")
    return {"outlet": outlet, "branch": branch, **people}


def new_claim(session, world, outlet=None, *, status="claimed", auditor="clerk") -> FeeClaim:
    """A claim generated from a warranty repair walked to resolved at `outlet`; audited by
    `auditor` when `status` is approved, adjusted, rejected or settled."""
    outlet = outlet or world["outlet"]
    customer = f.make_customer(session, outlet)
    ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer), status="resolved")
    assert ticket.in_warranty
    [claim] = fee_claims.generate(session, outlet.id, world["clerk"])
    decision = {"approved": "approve", "settled": "approve", "adjusted": "adjust", "rejected": "reject"}.get(status)
    if decision:
        fee_claims.audit(session, claim, world[auditor], decision, "核减", claim.claimed_total - Decimal("1.00"))
    if status == "settled":
        claim.status = "settled"
        session.flush()
    return claim


def verdicts(session, claim, user):
    return fee_claims.actions(session, claim, user)


def reason(verdict) -> str:
    return str(verdict.reason)


@pytest.mark.parametrize("role", CENTER_ROLES)
def test_the_center_generates_claims_and_settles_months(session, world, role):
    may = verdicts(session, None, world[role])
    assert may["generate"] and may["settle"]


@pytest.mark.parametrize("role", ["dealer", "engineer"])
def test_dealers_and_engineers_neither_generate_claims_nor_settle_months(session, world, role):
    may = verdicts(session, None, world[role])
    assert reason(may["generate"]) == "Only the service center generates claims."
    assert reason(may["settle"]) == "Only the service center settles fees."
    with pytest.raises(DomainError, match="generates claims"):
        fee_claims.generate(session, None, world[role])
    with pytest.raises(DomainError, match="settles fees"):
        fee_claims.settle_all(session, month_start(1), world[role])


@pytest.mark.parametrize("role", [*CENTER_ROLES, "dealer", "branch_dealer"])
def test_the_center_and_the_claims_own_outlet_may_edit_the_distance_of_a_waiting_claim(session, world, role):
    claim = new_claim(session, world, world["branch"])  # the dealer of the parent outlet too
    assert verdicts(session, claim, world[role])["edit_distance"]
    fee_claims.set_distance(session, claim, world[role], "12")
    assert claim.distance_km == 12


def test_dealer_may_not_edit_another_outlets_claim(session, world):
    claim = new_claim(session, world)
    for role in ("other_dealer", "branch_dealer"):  # a sub-outlet's dealer does not edit the parent's claims
        verdict = verdicts(session, claim, world[role])["edit_distance"]
        assert not verdict and reason(verdict) == "This claim belongs to another outlet."
        with pytest.raises(DomainError, match="another outlet"):
            fee_claims.set_distance(session, claim, world[role], "12")


def test_engineer_may_not_edit_a_claim(session, world):
    verdict = verdicts(session, new_claim(session, world), world["engineer"])["edit_distance"]
    assert reason(verdict) == "Only the outlet or the service center edits a claim."


@pytest.mark.parametrize("role", [*CENTER_ROLES, "dealer"])
def test_nobody_edits_the_distance_of_an_audited_claim_and_the_outlet_is_told_why(session, world, role):
    claim = new_claim(session, world, status="approved")
    verdict = verdicts(session, claim, world[role])["edit_distance"]
    assert reason(verdict) == "The claim has been audited: its distance is final."
    assert why_not(fee_claims.actions(session, claim, world[role]))["edit_distance"] == verdict.reason
    with pytest.raises(DomainError, match="distance is final"):
        fee_claims.set_distance(session, claim, world[role], "12")


@pytest.mark.parametrize("role", CENTER_ROLES)
def test_clerk_manager_and_admin_may_audit_a_waiting_claim(session, world, role):
    claim = new_claim(session, world)
    assert verdicts(session, claim, world[role])["audit"]
    fee_claims.audit(session, claim, world[role], "approve")
    assert claim.status == "approved"


@pytest.mark.parametrize("role", ["dealer", "engineer"])
def test_dealer_may_not_audit_its_own_claim_nor_an_engineer_any(session, world, role):
    claim = new_claim(session, world)
    verdict = verdicts(session, claim, world[role])["audit"]
    assert reason(verdict) == "Only the service center audits claims."
    assert "audit" not in why_not(fee_claims.actions(session, claim, world[role]))  # the role alone: no hint
    with pytest.raises(DomainError, match="audits claims"):
        fee_claims.audit(session, claim, world[role], "approve")


@pytest.mark.parametrize("status", ["approved", "adjusted", "rejected", "settled"])
def test_a_claim_is_audited_once(session, world, status):
    claim = new_claim(session, world, status=status)
    verdict = verdicts(session, claim, world["manager"])["audit"]
    assert reason(verdict) == "This claim has been audited already."
    with pytest.raises(DomainError, match="audited already"):
        fee_claims.audit(session, claim, world["manager"], "reject", "改判")


@pytest.mark.parametrize("role", CENTER_ROLES)
@pytest.mark.parametrize("status", ["approved", "adjusted", "settled"])
def test_the_center_may_ask_to_charge_back_a_paid_claim(session, world, role, status):
    claim = new_claim(session, world, status=status)
    assert verdicts(session, claim, world[role])["charge_back"]
    network_approvals.ask_chargeback(session, claim, world[role], Decimal("1.00"), "多报路程")


@pytest.mark.parametrize("role", ["dealer", "engineer"])
def test_dealer_and_engineer_may_not_ask_for_a_charge_back(session, world, role):
    claim = new_claim(session, world, status="approved")
    verdict = verdicts(session, claim, world[role])["charge_back"]
    assert reason(verdict) == "Only the service center reports an overcharge."
    assert "charge_back" not in why_not(fee_claims.actions(session, claim, world[role]))  # the role alone: no hint


@pytest.mark.parametrize("status", ["claimed", "rejected"])
def test_no_charge_back_of_a_claim_not_paid(session, world, status):
    claim = new_claim(session, world, status=status)
    verdict = verdicts(session, claim, world["clerk"])["charge_back"]
    assert reason(verdict) == "Only an approved or settled claim can be charged back."
    assert why_not(fee_claims.actions(session, claim, world["clerk"]))["charge_back"] == verdict.reason


def test_no_second_charge_back_request_while_one_waits_for_a_decision(session, world):
    claim = new_claim(session, world, status="approved")
    network_approvals.ask_chargeback(session, claim, world["clerk"], Decimal("1.00"), "多报路程")
    session.expire(claim, ["approvals"])
    verdict = verdicts(session, claim, world["manager"])["charge_back"]
    assert reason(verdict) == "A charge-back of this claim is already waiting for a decision."
    assert why_not(fee_claims.actions(session, claim, world["clerk"]))["charge_back"] == verdict.reason


def test_a_charged_back_claim_is_not_charged_back_again(session, world):
    claim = new_claim(session, world, status="approved")
    fee_claims.confirm_overcharge(session, claim, world["manager"], Decimal("1.00"), "多报路程")
    for name in ("charge_back", "confirm_overcharge"):
        verdict = verdicts(session, claim, world["admin"])[name]
        assert reason(verdict) == "This claim has been charged back already."


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_a_manager_who_did_not_audit_may_confirm_the_overcharge(session, world, role):
    claim = new_claim(session, world, status="approved", auditor="clerk")
    assert verdicts(session, claim, world[role])["confirm_overcharge"]


def test_the_auditing_manager_may_not_confirm_the_overcharge(session, world):  # R-ROLE-2
    claim = new_claim(session, world, status="approved", auditor="manager")
    verdict = verdicts(session, claim, world["manager"])["confirm_overcharge"]
    assert reason(verdict) == "You audited this claim: another manager decides the charge-back."
    assert verdicts(session, claim, world["admin"])["confirm_overcharge"]
    with pytest.raises(DomainError, match="another manager"):
        fee_claims.confirm_overcharge(session, claim, world["manager"], Decimal("1.00"), "多报路程")


@pytest.mark.parametrize("role", ["clerk", "dealer", "engineer"])
def test_only_managers_confirm_an_overcharge(session, world, role):
    claim = new_claim(session, world, status="approved")
    verdict = verdicts(session, claim, world[role])["confirm_overcharge"]
    assert reason(verdict) == "Only a manager confirms an overcharge."


def test_every_claim_action_is_answered_for_every_role(session, world):
    claim = new_claim(session, world)
    for role in (*CENTER_ROLES, "engineer", "dealer"):
        assert set(verdicts(session, claim, world[role])) == {"edit_distance", "audit", "approve", "charge_back",
                                                              "confirm_overcharge"}
        assert set(verdicts(session, None, world[role])) == {"generate", "settle"}
