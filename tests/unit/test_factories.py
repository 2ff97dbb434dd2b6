"""The builders of tests/factories.py make real rows: a ticket in any status of its path, walked
there by the workflow (R-TKT-4), and a parts account whose balance the ledger booked (R-PART-8)."""
from decimal import Decimal
from itertools import pairwise

import pytest
from sqlalchemy import select

from backoffice import ledger, workflow
from models import LedgerEntry
from models.choices import Role, TicketKind, TicketStatus

from .. import factories as f

S = TicketStatus

# Every status, and the kind and service mode whose path passes through it.
REACHABLE = [
    (S.REGISTERED, "repair", "onsite"),
    (S.DIAGNOSED, "repair", "onsite"),
    (S.SOLUTION_PROPOSED, "repair", "onsite"),
    (S.AGREED, "repair", "onsite"),
    (S.DISPATCHED, "repair", "onsite"),
    (S.IN_SERVICE, "repair", "onsite"),
    (S.RESOLVED, "repair", "onsite"),
    (S.RETURN_VISIT, "repair", "onsite"),
    (S.CLOSED, "repair", "onsite"),
    (S.RETURNING, "return_exchange", "onsite"),
    (S.DISPATCHED, "repair", "mail_in"),
    (S.CLOSED, "repair", "mail_in"),
    (S.RESOLVED, "repair", "remote"),
    (S.RESOLVED, "consultation", None),
    (S.CLOSED, "complaint", None),
    (S.SOLUTION_PROPOSED, "installation", None),
    (S.CLOSED, "installation", None),
]


@pytest.fixture
def world(session):
    dealer_outlet = f.make_outlet(session)
    customer = f.make_customer(session, dealer_outlet)
    return {"outlet": dealer_outlet, "customer": customer, "unit": f.make_unit(session, customer)}


@pytest.mark.parametrize(("status", "kind", "mode"), REACHABLE,
                         ids=[f"{k}-{m or 'desk'}-{s.value}" for s, k, m in REACHABLE])
def test_a_ticket_is_made_in_each_status_through_the_workflow(session, world, status, kind, mode):
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], kind=kind, status=status,
                           mode=mode or "onsite")
    assert ticket.status == status
    assert ticket.id is not None and ticket.number
    moves = [e for e in ticket.events if e.action == "status"]
    assert [e.to_status for e in moves][-1:] == ([] if status == S.REGISTERED else [status.value])
    assert all(a.to_status == b.from_status for a, b in pairwise(moves))
    assert ticket.clocks, "SLA clocks started (R-SLA-1)"
    if status in (S.DISPATCHED, S.IN_SERVICE) and mode == "onsite":
        assert ticket.assigned_engineer.role == Role.ENGINEER
        assert ticket.appointment_at is not None
    if status in (S.RESOLVED, S.RETURN_VISIT, S.CLOSED) and kind == "repair" and mode == "onsite":
        assert ticket.report.tested_ok and ticket.report.signed_by
        assert ticket.return_visits
    if status == S.CLOSED:
        assert ticket.closed_at is not None
        assert all(v.done_at is not None for v in ticket.return_visits)


def test_a_diagnosed_ticket_has_the_codes_a_fee_claim_reads(session, world):
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], status="diagnosed")
    assert ticket.service_mode == "onsite"
    assert ticket.fault_code.kind == "fault" and ticket.cause_code.kind == "cause"
    assert ticket.remedy_code.standard_hours == Decimal("1.50")


def test_a_dispatched_ticket_goes_to_the_engineer_given(session, world):
    engineer = f.make_user(session, "engineer", outlet=world["outlet"])
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], status="dispatched", engineer=engineer)
    assert ticket.assigned_engineer is engineer


def test_a_ticket_out_of_warranty_is_proposed_with_its_fees(session, world):
    old = f.make_unit(session, world["customer"], invoice_date=world["unit"].invoice_date.replace(year=2015))
    ticket = f.make_ticket(session, world["customer"], unit=old, status="agreed")
    assert ticket.in_warranty is False
    assert sum(fee.amount for fee in ticket.fees) == Decimal("218.00")


def test_a_returning_ticket_is_on_the_return_path_of_an_approved_refund(session, world):
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], kind=TicketKind.RETURN_EXCHANGE.value,
                           status="returning")
    handling = ticket.return_handling
    assert handling.request.status == "approved" and handling.request.amount == world["unit"].price
    assert [t.name for t in workflow.available(ticket, f.make_user(session, "clerk"))][:1] == ["take_back_unit"]


def test_an_existing_ticket_is_advanced_further(session, world):
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], status="agreed")
    f.advance_ticket(session, ticket, "in_service")
    assert ticket.status == S.IN_SERVICE


def test_a_status_off_the_path_is_refused(session, world):
    with pytest.raises(ValueError, match="does not reach"):
        f.make_ticket(session, world["customer"], kind="consultation", status="dispatched")


def test_a_parts_account_has_its_quota_and_the_balance_asked(session, world):
    account = f.make_parts_account(session, world["outlet"], quota="1000.00", balance="350.50")
    assert account.quota == Decimal("1000.00")
    assert account.balance == Decimal("350.50") == ledger.balance_of(session, world["outlet"].id)
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.account_id == account.id)
                              .order_by(LedgerEntry.id)).all()
    assert [(e.kind, e.delta) for e in entries] == [("quota", Decimal("1000.00")), ("adjustment", Decimal("-649.50"))]
    assert entries[-1].balance_after == Decimal("350.50") and entries[-1].reason


def test_a_parts_account_may_hold_more_than_its_quota(session, world):
    account = f.make_parts_account(session, world["outlet"], quota=200, balance=260)
    assert (account.quota, account.balance) == (Decimal("200.00"), Decimal("260.00"))


def test_a_parts_account_is_granted_the_quota_of_the_outlets_purchases(session, world):
    account = f.make_parts_account(session, world["outlet"])
    assert account.quota == account.balance == ledger.quota_for(session, world["outlet"]) > 0


def test_a_dealer_is_bound_to_an_outlet_and_an_engineer_to_the_center_unless_told(session, world):
    assert f.make_user(session, "dealer").outlet is not None
    assert f.make_user(session, "engineer").outlet is None
    assert f.make_user(session, "engineer", outlet=world["outlet"]).outlet is world["outlet"]
    sub = f.make_outlet(session, parent=world["outlet"])
    assert sub.parent is world["outlet"]
