"""Service-fee claims of the outlets (R-FEE-1, R-FEE-2, R-CMP-3, R-ROLE-2)."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice import fee_claims
from backoffice.errors import DomainError, FieldErrors
from models import FeeBatch, FeeClaim, PolicySetting, Ticket, TravelBand
from tests import factories as f


def a_claim(session, status="claimed") -> FeeClaim:
    return session.scalars(select(FeeClaim).where(FeeClaim.status == status).order_by(FeeClaim.id)).first()


@pytest.mark.parametrize("km,fee", [(0, "0.00"), (10, "0.00"), (11, "30.00"), (30, "30.00"), (31, "60.00"),
                                    (60, "60.00"), (61, "100.00"), (5000, "100.00")])
def test_travel_is_paid_by_distance_band(session, km, fee):  # R-FEE-1
    assert fee_claims.travel_for(session, km) == Decimal(fee)


def test_labour_is_standard_hours_times_the_policy_rate(session):  # R-FEE-1
    claim = a_claim(session)
    session.add(PolicySetting(key="fees.labor_rate_per_hour", value="80"))
    claim.ticket.remedy_code.standard_hours = Decimal("1.50")
    session.flush()
    fee_claims.compute(session, claim, claim.ticket)
    assert claim.labor_amount == Decimal("120.00") and isinstance(claim.labor_amount, Decimal)
    parts = sum((p.part.unit_price * p.qty for p in claim.ticket.replaced_parts), Decimal("0"))
    assert claim.parts_amount == parts
    assert claim.claimed_total == claim.labor_amount + claim.travel_amount + claim.parts_amount


def test_claims_come_only_from_resolved_warranty_tickets_of_dealer_outlets_once(session):  # R-FEE-1
    assert fee_claims.generate(session) == []  # the demo already generated them: idempotent
    for claim in session.scalars(select(FeeClaim)):
        ticket = claim.ticket
        assert ticket.in_warranty and not ticket.outlet.is_service_center
        assert ticket.status in ("resolved", "return_visit", "closed")
    center_ticket = f.ticket_of(session, "SC-GZ", status="closed")
    assert session.scalar(select(FeeClaim).where(FeeClaim.ticket_id == center_ticket.id)) is None


def test_a_newly_resolved_warranty_ticket_gets_a_claim(session):
    ticket = session.scalars(select(Ticket).where(Ticket.outlet_id == f.outlet(session, "FS-SD").id,
                                                  Ticket.status == "diagnosed")).first()
    ticket.status, ticket.in_warranty = "resolved", True
    session.flush()
    created = fee_claims.generate(session, ticket.outlet_id)
    assert [c.ticket_id for c in created] == [ticket.id]


def test_the_outlet_sets_the_distance_and_the_claim_is_recomputed(session):
    claim, dealer = a_claim(session), f.user(session, "dealer2")
    fee_claims.set_distance(session, claim, dealer, "45")
    assert claim.distance_km == 45 and claim.travel_amount == Decimal("60.00")
    with pytest.raises(FieldErrors):
        fee_claims.set_distance(session, claim, dealer, "四十五")


def test_adjust_and_reject_need_a_reason_and_adjust_stays_within_the_claim(session):  # R-FEE-1
    claim, clerk = a_claim(session), f.user(session, "clerk")
    with pytest.raises(FieldErrors) as refused:
        fee_claims.audit(session, claim, clerk, "adjust", "", claim.claimed_total + 1)
    assert set(refused.value.errors) == {"amount", "note"}
    with pytest.raises(FieldErrors):
        fee_claims.audit(session, claim, clerk, "reject", " ")
    fee_claims.audit(session, claim, clerk, "adjust", "配件未返还，扣除配件费", claim.claimed_total - claim.parts_amount)
    assert claim.status == "adjusted" and claim.approved_total == claim.claimed_total - claim.parts_amount


def test_dealers_cannot_audit(session):
    with pytest.raises(DomainError):
        fee_claims.audit(session, a_claim(session), f.user(session, "dealer1"), "approve")


def test_overcharge_is_charged_back_tenfold_by_another_manager(session):  # R-FEE-2, R-CMP-3, R-ROLE-2
    claim, manager = a_claim(session), f.user(session, "manager")
    fee_claims.audit(session, claim, manager, "approve")
    with pytest.raises(DomainError):
        fee_claims.confirm_overcharge(session, claim, manager, Decimal("10"), "虚报路程")
    admin = f.user(session, "admin")
    with pytest.raises(FieldErrors):
        fee_claims.confirm_overcharge(session, claim, admin, claim.approved_total + 1, "虚报路程")
    fee_claims.confirm_overcharge(session, claim, admin, Decimal("12.50"), "虚报路程")
    assert claim.charge_back == Decimal("125.00")


def test_monthly_batch_adds_up_to_the_cent_and_is_idempotent(session):  # R-FEE-2
    clerk, admin = f.user(session, "clerk"), f.user(session, "admin")
    outlet = f.outlet(session, "FS-SD")
    last_month = datetime.now(timezone.utc) - timedelta(days=40)
    open_claims = session.scalars(select(FeeClaim).where(FeeClaim.outlet_id == outlet.id,
                                                         FeeClaim.status == "claimed")).all()
    for claim in open_claims:
        fee_claims.audit(session, claim, clerk, "approve", at=last_month)
    fee_claims.confirm_overcharge(session, open_claims[0], admin, Decimal("3.00"), "多报工时", at=last_month)
    month = (last_month + timedelta(hours=8)).date().replace(day=1)
    batch = fee_claims.settle_month(session, outlet.id, month, clerk)
    expected = sum((c.approved_total for c in open_claims), Decimal("0.00"))
    assert batch.claims_total == expected and batch.charge_backs_total == Decimal("30.00")
    assert batch.net == expected - Decimal("30.00")
    assert all(c.status == "settled" and c.batch_id == batch.id for c in open_claims)
    assert fee_claims.settle_month(session, outlet.id, month, clerk) is batch
    assert session.scalar(select(FeeBatch).where(FeeBatch.outlet_id == outlet.id)).id == batch.id


def test_travel_bands_are_data_records(session):
    band = session.scalar(select(TravelBand).where(TravelBand.up_to_km == 30))
    band.amount = Decimal("35.00")
    session.flush()
    assert fee_claims.travel_for(session, 20) == Decimal("35.00")
