"""A part is paid for once, and a claim is approved only when its service is done (R-FEE-3,
R-FEE-1, R-PART-4…6): parts issued on account are not paid again in the claim (the old part's
credit refills the account); a part bought for cash is paid by the claim and its old part moves
no balance; approval waits for a resolved ticket and old parts that are back; a reopened
ticket's claim waits again."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice import fee_claims, ledger, old_parts, workflow
from backoffice.errors import DomainError
from models import Attachment, LedgerEntry, OldPart
from tests import factories as f

RESOLVE = {"work_done": "更换臭氧发生器，试机正常", "tested_ok": "y", "signed_by": "用户本人"}


@pytest.fixture
def world(session):
    w = f.make_service_network(session)
    f.make_parts_account(session, w["a"], quota="300.00")
    # A consumable is scrapped locally and verified by the center (R-PART-6): its old part comes
    # "back" without a parcel, which keeps these tests on the fee rule.
    w["ozone"] = f.make_part(session, code=f"P-OZN-{f.next_number():03d}", name="臭氧发生器",
                             unit_price=Decimal("58.00"), consumable=True)
    session.commit()
    return w


def resolved_with(session, world, settlement, qty=1):
    """A warranty repair at outlet A that fitted the ozone part (on account or bought for cash)."""
    resolve = dict(RESOLVE, parts=[(str(world["ozone"].id), str(qty), settlement)])
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], status="resolved",
                           engineer=world["engineer_a"], desk=world["clerk"], steps={"resolve": resolve})
    [claim] = fee_claims.generate(session, world["a"].id, world["clerk"])
    return ticket, claim


def old_part_of(session, ticket) -> OldPart:
    return session.scalar(select(OldPart).where(OldPart.ticket_id == ticket.id))


def credits(session, world) -> list[LedgerEntry]:
    return session.scalars(select(LedgerEntry).where(LedgerEntry.outlet_id == world["a"].id,
                                                     LedgerEntry.kind == "return_credit")).all()


# --- R-FEE-3: paid once -----------------------------------------------------------------------
def test_a_part_issued_on_account_is_not_paid_in_the_claim_its_old_part_credit_refills_the_account(session, world):
    ticket, claim = resolved_with(session, world, "on_account")
    [line] = claim.parts
    assert (line.basis, line.unit_price, line.amount, claim.parts_amount) == (
        "on_account", Decimal("58.00"), Decimal("0.00"), Decimal("0.00"))
    assert claim.claimed_total == claim.labor_amount + claim.travel_amount
    before = ledger.balance_of(session, world["a"].id)
    old_parts.verify_scrapped(session, old_part_of(session, ticket), world["clerk"], True, "回访核实已报废")
    assert ledger.balance_of(session, world["a"].id) - before == Decimal("58.00")  # credited once, here
    fee_claims.audit(session, claim, world["clerk"], "approve")
    assert claim.approved_total == claim.labor_amount + claim.travel_amount  # ¥58 not paid again


def test_a_part_bought_for_cash_is_paid_by_the_claim_and_its_old_part_credits_nothing(session, world):
    ticket, claim = resolved_with(session, world, "purchase", qty=2)
    [line] = claim.parts
    assert (line.basis, line.amount, claim.parts_amount) == ("purchase", Decimal("116.00"), Decimal("116.00"))
    before = ledger.balance_of(session, world["a"].id)
    old = old_part_of(session, ticket)
    old_parts.verify_scrapped(session, old, world["clerk"], True, "回访核实已报废")
    assert old.state == "credited" and ledger.balance_of(session, world["a"].id) == before
    assert credits(session, world) == []
    fee_claims.audit(session, claim, world["clerk"], "approve")
    assert claim.approved_total == claim.labor_amount + claim.travel_amount + Decimal("116.00")


def test_a_cash_part_whose_old_part_is_not_creditable_is_neither_paid_nor_charged_again(session, world):
    ticket, claim = resolved_with(session, world, "purchase")
    before = ledger.balance_of(session, world["a"].id)
    old = old_part_of(session, ticket)
    old_parts.verify_scrapped(session, old, world["clerk"], False, "回访未见旧件")
    assert old.state == "charged" and ledger.balance_of(session, world["a"].id) == before
    assert session.scalars(select(LedgerEntry).where(LedgerEntry.source.like(f"old_part:{old.id}:%"))).all() == []
    fee_claims.audit(session, claim, world["clerk"], "approve")
    [line] = claim.parts
    assert (line.basis, line.amount, claim.parts_amount) == ("not_creditable", Decimal("0.00"), Decimal("0.00"))


def test_a_part_without_its_source_is_on_account(session, world):
    resolve = dict(RESOLVE, parts=[(str(world["ozone"].id), "1")])
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], status="resolved",
                           engineer=world["engineer_a"], desk=world["clerk"], steps={"resolve": resolve})
    assert [p.settlement for p in ticket.replaced_parts] == ["on_account"]


# --- R-FEE-3: approval waits until the service is done ------------------------------------------
def test_a_claim_is_not_approved_while_its_old_part_is_owed_but_may_be_adjusted_or_rejected(session, world):
    _ticket, claim = resolved_with(session, world, "on_account")
    verdicts = fee_claims.actions(session, claim, world["clerk"])
    assert verdicts["audit"] and not verdicts["approve"]
    assert "臭氧发生器" in str(verdicts["approve"].reason)
    with pytest.raises(DomainError):
        fee_claims.audit(session, claim, world["clerk"], "approve")
    assert claim.status == "claimed"
    fee_claims.audit(session, claim, world["clerk"], "reject", "旧件未返回，照片缺失")
    assert claim.status == "rejected"


def test_a_reopened_tickets_approved_claim_waits_again_and_is_approved_once_resolved_again(session, world):
    ticket, claim = resolved_with(session, world, "on_account")
    old_parts.verify_scrapped(session, old_part_of(session, ticket), world["clerk"], True, "回访核实")
    fee_claims.audit(session, claim, world["clerk"], "approve")
    workflow.perform(session, ticket, "return_visit", world["clerk"], {"satisfaction": "1", "comment": "仍不出热水"})
    session.flush()
    assert ticket.status == "diagnosed"
    assert (claim.status, claim.approved_total, claim.audited_by_id) == ("claimed", None, None)
    assert claim.reopened_at is not None
    refusal = fee_claims.actions(session, claim, world["clerk"])["approve"]
    assert not refusal and "reopened" in str(refusal.reason)
    with pytest.raises(DomainError):
        fee_claims.audit(session, claim, world["clerk"], "approve")
    f.advance_ticket(session, ticket, "resolved", engineer=world["engineer_a"], desk=world["clerk"],
                     steps={"resolve": dict(RESOLVE, parts=[])})
    fee_claims.audit(session, claim, world["clerk"], "approve")
    assert claim.status == "approved"


def test_a_rework_that_fits_another_cash_part_is_added_to_the_waiting_claim(session, world):
    ticket, claim = resolved_with(session, world, "on_account")
    workflow.perform(session, ticket, "return_visit", world["clerk"], {"satisfaction": "2", "comment": "异味仍在"})
    f.advance_ticket(session, ticket, "resolved", engineer=world["engineer_a"], desk=world["clerk"],
                     steps={"resolve": dict(RESOLVE, parts=[(str(world["ozone"].id), "1", "purchase")])})
    assert sorted((p.basis, p.amount) for p in claim.parts) == [
        ("on_account", Decimal("0.00")), ("purchase", Decimal("58.00"))]
    assert claim.parts_amount == Decimal("58.00")


@pytest.mark.parametrize("status", ["rejected", "settled"])
def test_a_reopened_tickets_rejected_or_paid_claim_keeps_its_decision(session, world, status):
    ticket, claim = resolved_with(session, world, "on_account")
    old_parts.verify_scrapped(session, old_part_of(session, ticket), world["clerk"], True, "回访核实")
    fee_claims.audit(session, claim, world["clerk"], "reject" if status == "rejected" else "approve", "无签字")
    claim.status = status
    workflow.perform(session, ticket, "return_visit", world["clerk"], {"satisfaction": "1", "comment": "不满意"})
    assert claim.status == status and claim.reopened_at is None


# --- R-FEE-1: what the audit shows -----------------------------------------------------------------
def test_the_audit_facts_are_the_ticket_its_verdict_photos_and_old_parts(session, world):
    ticket, claim = resolved_with(session, world, "on_account")
    session.add_all([Attachment(ticket=ticket, filename="铭牌.jpg", content_type="image/jpeg", size=3, data=b"jpg"),
                     Attachment(ticket=ticket, filename="发票.pdf", content_type="application/pdf", size=3,
                                data=b"pdf")])
    session.flush()
    facts = fee_claims.audit_facts(session, claim)
    assert facts.ticket is ticket and facts.verdict.in_warranty
    assert [p.filename for p in facts.photos] == ["铭牌.jpg"]
    assert [(o.part_id, o.state) for o in facts.old_parts] == [(world["ozone"].id, "scrap_local")]


# --- the example the issue saw: ¥58 paid by the claim and credited back as well -------------------
def returned_and_inspected(session, world, ticket, verdict="quality"):
    """The old part travels back the real way: application, authorisation, parcel, count, QA."""
    old = old_part_of(session, ticket)
    parcel = old_parts.apply(session, world["a"].id, world["dealer_a"], [old], "月度旧件返还")
    old_parts.authorise(session, parcel, world["clerk"])
    old_parts.ship(session, parcel, world["dealer_a"], "顺丰速运", "SF1234567890")
    old_parts.receive(session, parcel, world["clerk"], {old.id: old.qty})
    old_parts.inspect(session, parcel, world["clerk"], {old.id: verdict})
    return old


@pytest.mark.parametrize("settlement, claim_pays, account_gets", [
    ("on_account", Decimal("0.00"), Decimal("58.00")),  # refilled by the credit, not paid in the claim
    ("purchase", Decimal("58.00"), Decimal("0.00")),  # paid by the claim, no credit
])
def test_a_returned_ozone_generator_is_paid_for_once(session, world, settlement, claim_pays, account_gets):
    world["ozone"].consumable = False  # it comes back in a parcel
    ticket, claim = resolved_with(session, world, settlement)
    before = ledger.balance_of(session, world["a"].id)
    returned_and_inspected(session, world, ticket)
    assert claim.parts_amount == claim_pays  # the waiting claim followed the inspection
    fee_claims.audit(session, claim, world["clerk"], "approve")
    assert claim.approved_total - claim.labor_amount - claim.travel_amount == claim_pays
    assert ledger.balance_of(session, world["a"].id) - before == account_gets


def test_a_cash_part_found_not_creditable_in_the_parcel_drops_out_of_the_waiting_claim(session, world):
    world["ozone"].consumable = False
    ticket, claim = resolved_with(session, world, "purchase")
    assert claim.parts_amount == Decimal("58.00")
    returned_and_inspected(session, world, ticket, verdict="human_damage")
    assert claim.parts_amount == Decimal("0.00") and [p.basis for p in claim.parts] == ["not_creditable"]
