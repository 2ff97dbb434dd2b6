"""Retiring an outlet (issue 13 point 6; DOMAIN §1, R-PART-7, R-ROLE-1): a manager sees what it
leaves behind, its open tickets and customers go to a successor with the trail, its staff lose
access at once, its account is settled on a final statement."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice import ledger, reconciliation, retirement
from backoffice.errors import DomainError, FieldErrors
from models import LedgerEntry, TicketEvent
from tests import factories as f


@pytest.fixture
def world(session):
    w = f.make_service_network(session)
    f.make_parts_account(session, w["a"], quota="300.00", balance="120.00")
    w["open"] = f.make_ticket(session, w["customer"], unit=w["unit"], status="dispatched",
                              engineer=w["engineer_a"], desk=w["clerk"])
    w["closed"] = f.make_ticket(session, w["customer"], unit=w["unit"], status="closed",
                                engineer=w["engineer_a"], desk=w["clerk"])
    session.commit()
    return w


def test_the_preview_lists_what_the_outlet_leaves_behind(session, world):
    facts = retirement.preview(session, world["a"])
    assert (facts.open_tickets, facts.customers, facts.balance, facts.active_staff) == (
        1, 1, Decimal("120.00"), 2)
    assert facts.needs_successor


@pytest.mark.parametrize("role", ["clerk", "dealer_a", "engineer_a"])
def test_only_a_manager_retires_an_outlet(session, world, role):
    assert not retirement.actions(session, world["a"], world[role])["retire"]
    with pytest.raises(DomainError):
        retirement.retire(session, world["a"], world[role], world["b"], "合作终止")
    assert world["a"].active


def test_retiring_hands_open_tickets_and_customers_to_the_successor_with_the_trail(session, world):
    retirement.retire(session, world["a"], world["manager"], world["b"], "经销合同到期不再续签")
    session.flush()
    assert world["open"].outlet_id == world["b"].id and world["open"].assigned_engineer is None
    assert world["closed"].outlet_id == world["a"].id  # history stays where it happened
    assert world["customer"].outlet_id == world["b"].id
    [line] = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == world["open"].id,
                                                       TicketEvent.action == "handed_over")).all()
    assert line.actor_id == world["manager"].id and "经销合同到期不再续签" in line.note
    assert (world["a"].active, world["a"].successor_id, world["a"].retired_by_id) == (
        False, world["b"].id, world["manager"].id)


def test_retiring_ends_its_staffs_access_at_once(session, world):
    nonce = world["dealer_a"].session_nonce
    retirement.retire(session, world["a"], world["manager"], world["b"], "合作终止")
    assert not world["dealer_a"].active and not world["engineer_a"].active
    assert world["dealer_a"].session_nonce != nonce
    assert world["dealer_b"].active  # the successor's staff are untouched


def test_retiring_withdraws_the_unused_quota_once_and_issues_the_final_statement(session, world):
    record = retirement.retire(session, world["a"], world["manager"], world["b"], "合作终止")
    session.flush()
    assert ledger.balance_of(session, world["a"].id) == Decimal("0.00")
    [withdrawal] = session.scalars(select(LedgerEntry).where(LedgerEntry.source == f"retirement:{world['a'].id}"))
    assert (withdrawal.kind, withdrawal.delta) == ("quota", Decimal("-120.00"))
    assert record is not None and record.outlet_id == world["a"].id
    figures = reconciliation.month_statement(session, world["a"].id, record.month)
    assert figures.closing == Decimal("0.00") and withdrawal in figures.entries


def test_a_retired_outlet_is_not_retired_twice(session, world):
    retirement.retire(session, world["a"], world["manager"], world["b"], "合作终止")
    verdict = retirement.actions(session, world["a"], world["manager"])["retire"]
    assert not verdict and "retired already" in str(verdict.reason)


def test_open_tickets_need_a_successor_and_a_reason(session, world):
    with pytest.raises(FieldErrors) as refused:
        retirement.retire(session, world["a"], world["manager"], None, " ")
    assert set(refused.value.errors) == {"successor_id", "reason"}
    with pytest.raises(FieldErrors) as refused:
        retirement.retire(session, world["a"], world["manager"], world["a"], "合作终止")
    assert set(refused.value.errors) == {"successor_id"}
    assert world["a"].active and world["open"].outlet_id == world["a"].id


def test_an_outlet_with_active_sub_outlets_is_not_retired_before_them(session, world):
    f.make_outlet(session, parent=world["a"])
    verdict = retirement.actions(session, world["a"], world["manager"])["retire"]
    assert not verdict and "sub-outlets" in str(verdict.reason)


def test_the_service_center_is_not_retired(session, world):
    assert not retirement.actions(session, world["center"], world["manager"])["retire"]


def test_the_center_records_the_retired_outlets_paper_signature_of_its_final_statement(session, world):
    record = retirement.retire(session, world["a"], world["manager"], world["b"], "合作终止")
    assert reconciliation.actions(session, record, world["clerk"])["confirm"]
    reconciliation.confirm(session, record, world["clerk"])
    assert record.status == "confirmed"
    live = reconciliation.issue(session, world["b"].id, record.month)  # an outlet still in the network
    assert not reconciliation.actions(session, live, world["clerk"])["confirm"]
