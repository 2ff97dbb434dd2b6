"""The monthly reconciliation of each outlet's parts account (R-PART-7):
backoffice/reconciliation.py: statements per month, issue, confirm, dispute, close, and who may.

Demo world (backoffice/demo.py `_parts_accounts`): last month is closed everywhere except at
DG-NC, whose statement is still open. Tests that need months of their own open a new outlet
and work in 2031, which no demo movement reaches.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from backoffice import ledger, reconciliation
from backoffice.errors import DomainError, FieldErrors
from backoffice.permissions import NotAllowed
from models import Outlet, PartsAccount, PartsReconciliation
from models.choices import LedgerKind as K
from models.choices import ReconciliationStatus as R
from models.choices import Role
from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(y, m, d, hour=10, minute=0) -> datetime:
    """A service-local wall-clock time, as the aware UTC instant the services store."""
    return datetime(y, m, d, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


# --- statements per month (R-PART-7, R-PART-8) -------------------------------------------------

def march_outlet(session) -> Outlet:
    """February: the quota. March: every kind of movement, amounts to the cent. April: one more."""
    outlet = f.make_outlet(session, code="T-MONTH")
    moves = [(local(2031, 2, 10), K.QUOTA, "0.70", "0"),
             (local(2031, 3, 1, 0, 5), K.RETURN_CREDIT, "0.10", "0"),  # just after local midnight
             (local(2031, 3, 5), K.ISSUE, "-0.80", "0"),  # 0.70 + 0.10 − 0.80: exactly zero
             (local(2031, 3, 6), K.PURCHASE, "0", "45.67"),
             (local(2031, 3, 7), K.QUOTA, "100.00", "0"),
             (local(2031, 3, 8), K.ISSUE, "-100.00", "0"),
             (local(2031, 3, 9), K.CHARGE, "12.34", "12.34"),
             (local(2031, 3, 31, 23, 55), K.ADJUSTMENT, "-0.01", "0"),  # still March, locally
             (local(2031, 4, 1, 0, 5), K.ADJUSTMENT, "1.00", "0")]
    for n, (at, kind, delta, cash) in enumerate(moves):
        ledger.post(session, outlet.id, kind, Decimal(delta), cash=Decimal(cash), at=at,
                    source=f"test:month:{n}", reason=kind.value, actor=f.user(session, "clerk"))
    return outlet


def is_cents(value) -> bool:
    return isinstance(value, Decimal) and value.as_tuple().exponent == -2


def test_statement_opening_movements_closing_add_up_to_the_cent(session):  # R-PART-7, R-PART-8
    outlet = march_outlet(session)
    march = reconciliation.month_statement(session, outlet.id, date(2031, 3, 1))

    assert march.opening == Decimal("0.70")  # the balance after February's last entry
    assert [e.source for e in march.entries] == [f"test:month:{n}" for n in range(1, 8)]
    assert march.closing == march.opening + sum(e.delta for e in march.entries) == Decimal("12.33")
    assert march.closing == march.entries[-1].balance_after
    assert march.issued == Decimal("100.80") and march.credited == Decimal("0.10")
    assert march.total(K.CHARGE.value) == Decimal("12.34") and march.total(K.ADJUSTMENT.value) == Decimal("-0.01")
    assert march.cash_total == Decimal("58.01")  # 45.67 bought + 12.34 charged

    # Decimal end to end, to the cent: no float ever enters the figures.
    for value in (march.opening, march.closing, march.cash_total, march.issued, march.credited):
        assert is_cents(value), value
    for entry in march.entries:
        assert is_cents(entry.delta) and is_cents(entry.cash_amount) and is_cents(entry.balance_after)

    # Months chain: February closes where March opens, April opens where March closes.
    february = reconciliation.month_statement(session, outlet.id, date(2031, 2, 1))
    april = reconciliation.month_statement(session, outlet.id, date(2031, 4, 1))
    assert (february.opening, february.closing) == (Decimal("0.00"), march.opening)
    assert (april.opening, april.closing) == (march.closing, Decimal("13.33"))
    assert april.closing == ledger.balance_of(session, outlet.id)


def test_month_statement_figures_and_idempotent_issue(session):  # R-PART-7
    outlet = march_outlet(session)
    record = reconciliation.issue(session, outlet.id, date(2031, 3, 1))
    assert (record.opening, record.closing, record.cash_total, record.status) == \
        (Decimal("0.70"), Decimal("12.33"), Decimal("58.01"), R.OPEN.value)
    assert reconciliation.issue(session, outlet.id, date(2031, 3, 1)).id == record.id  # issued once
    assert session.scalar(select(func.count(PartsReconciliation.id))
                          .where(PartsReconciliation.outlet_id == outlet.id)) == 1

    # The demo's last month: its stored figures are the statement's.
    gz = f.outlet(session, "GZ-TH")
    last = session.scalar(select(PartsReconciliation).where(PartsReconciliation.outlet_id == gz.id))
    figures = reconciliation.month_statement(session, gz.id, last.month)
    assert (last.opening, last.closing, last.cash_total) == (figures.opening, figures.closing, figures.cash_total)
    assert last.closing == ledger.account_of(session, gz.id).balance == Decimal("7644.00")
    assert reconciliation.issue(session, gz.id, last.month).id == last.id


# --- confirm, dispute, close (R-PART-7) ---------------------------------------------------------

def open_record(session, code="DG-NC") -> PartsReconciliation:
    """DG-NC has not confirmed last month (demo)."""
    record = session.scalar(select(PartsReconciliation).where(
        PartsReconciliation.outlet_id == f.outlet(session, code).id))
    assert record.status == R.OPEN.value
    return record


def test_outlet_confirms_or_disputes_with_reason(session):  # R-PART-7
    record, clerk = open_record(session), f.user(session, "clerk")
    with pytest.raises(FieldErrors) as no_reason:
        reconciliation.dispute(session, record, clerk, "  ")
    assert "dispute_reason" in no_reason.value.errors
    with pytest.raises(DomainError):  # engineers have no say in accounts
        reconciliation.confirm(session, record, f.user(session, "engineer"))
    assert record.status == R.OPEN.value

    reconciliation.dispute(session, record, clerk, "10月3日炉头3个实收2个")
    assert record.status == R.DISPUTED.value and record.dispute_reason == "10月3日炉头3个实收2个"
    with pytest.raises(DomainError):  # a disputed statement is not disputed twice
        reconciliation.dispute(session, record, clerk, "again")

    reconciliation.confirm(session, record, clerk)  # settled after the dispute: written confirmation
    assert record.status == R.CONFIRMED.value
    assert record.confirmed_by == clerk and record.confirmed_at is not None
    with pytest.raises(DomainError):
        reconciliation.confirm(session, record, clerk)
    with pytest.raises(DomainError):
        reconciliation.dispute(session, record, clerk, "太晚了")

    # The outlet itself confirms its own statement.
    gz = f.outlet(session, "GZ-TH")
    mine = reconciliation.issue(session, gz.id, date(2031, 1, 1))
    reconciliation.confirm(session, mine, f.user(session, "dealer1"))
    assert mine.status == R.CONFIRMED.value and mine.confirmed_by.username == "dealer1"


def test_center_closes_only_confirmed_months(session):  # R-PART-7
    record, clerk = open_record(session), f.user(session, "clerk")
    with pytest.raises(DomainError):  # not confirmed by the outlet yet
        reconciliation.close(session, record, clerk)
    reconciliation.dispute(session, record, clerk, "数量不符")
    with pytest.raises(DomainError):
        reconciliation.close(session, record, clerk)
    reconciliation.confirm(session, record, clerk)
    with pytest.raises(DomainError):  # the outlet does not close the center's books
        reconciliation.close(session, record, f.user(session, "dealer1"))
    reconciliation.close(session, record, clerk)
    assert record.status == R.CLOSED.value and record.closed_by == clerk and record.closed_at is not None
    with pytest.raises(DomainError):
        reconciliation.close(session, record, clerk)
    with pytest.raises(DomainError):
        reconciliation.confirm(session, record, clerk)
    session.commit()  # the versioned record saves cleanly


# --- who may do what with a month: reconciliation.actions (R-PART-7, R-ROLE-1) ----------------------

CENTER_ROLES = ("admin", "manager", "clerk")
EVERY_ROLE = tuple(role.value for role in Role)


def month_in(session, status: R) -> PartsReconciliation:
    """A fresh outlet's statement of January 2031 (a ¥3,000.00 account), brought to `status`."""
    account = f.make_parts_account(session, f.make_outlet(session, total_purchase_amount=Decimal("1000000.00")))
    record = reconciliation.issue(session, account.outlet_id, date(2031, 1, 1))
    record.status = R(status).value
    session.flush()
    return record


def someone(session, role, record=None):
    """A user of `role`; a dealer of the month's own outlet."""
    return f.make_user(session, role, outlet=record.outlet if record is not None and role == "dealer" else None)


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_only_the_service_center_issues_statements(session, role):
    verdict = reconciliation.actions(session, None, someone(session, role))["issue"]
    assert bool(verdict) is (role in CENTER_ROLES)
    assert verdict.reason == ("" if role in CENTER_ROLES else reconciliation.ISSUE_ROLE)


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_the_outlet_or_the_center_answers_an_open_statement_engineers_never(session, role):
    record = month_in(session, R.OPEN)
    found = reconciliation.actions(session, record, someone(session, role, record))
    answers = role != "engineer"
    for action in ("confirm", "dispute"):
        assert bool(found[action]) is answers, action
        assert found[action].reason == ("" if answers else reconciliation.ANSWER_ROLE), action


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_only_the_service_center_closes_a_confirmed_month(session, role):
    record = month_in(session, R.CONFIRMED)
    verdict = reconciliation.actions(session, record, someone(session, role, record))["close"]
    assert bool(verdict) is (role in CENTER_ROLES)
    assert verdict.reason == ("" if role in CENTER_ROLES else reconciliation.CLOSE_ROLE)


@pytest.mark.parametrize("status, confirm, dispute, close", [
    (R.OPEN, "", "", reconciliation.NOT_CONFIRMED),
    (R.DISPUTED, "", reconciliation.NOT_OPEN, reconciliation.NOT_CONFIRMED),
    (R.CONFIRMED, reconciliation.ALREADY_CONFIRMED, reconciliation.NOT_OPEN, ""),
    (R.CLOSED, reconciliation.ALREADY_CONFIRMED, reconciliation.NOT_OPEN, reconciliation.ALREADY_CLOSED),
])
def test_clerk_may_answer_and_close_a_month_only_in_its_turn(session, status, confirm, dispute, close):
    record = month_in(session, status)
    found = reconciliation.actions(session, record, f.make_user(session, "clerk"))
    assert {name: (bool(v), v.reason) for name, v in found.items()} == {
        "confirm": (not confirm, confirm), "dispute": (not dispute, dispute), "close": (not close, close)}


def test_dealer_may_confirm_its_disputed_statement_but_not_dispute_it_again(session):
    record = month_in(session, R.DISPUTED)
    found = reconciliation.actions(session, record, someone(session, "dealer", record))
    assert found["confirm"] and not found["dispute"] and found["dispute"].reason == reconciliation.NOT_OPEN


def test_the_role_is_the_reason_before_the_status(session):
    record = month_in(session, R.CLOSED)
    found = reconciliation.actions(session, record, f.make_user(session, "engineer"))
    assert [v.reason for v in found.values()] == [reconciliation.ANSWER_ROLE] * 2 + [reconciliation.CLOSE_ROLE]


@pytest.mark.parametrize("role", ("engineer", "dealer"))
def test_issuing_is_refused_outside_the_center_and_issues_nothing(session, role):
    outlet_id = month_in(session, R.OPEN).outlet_id
    before = session.scalar(select(func.count(PartsReconciliation.id)))
    for attempt in (lambda user: reconciliation.issue(session, outlet_id, date(2031, 2, 1), user),
                    lambda user: reconciliation.issue_all(session, date(2031, 2, 1), user)):
        with pytest.raises(NotAllowed) as refused:
            attempt(someone(session, role))
        assert refused.value.message == reconciliation.ISSUE_ROLE
    assert session.scalar(select(func.count(PartsReconciliation.id))) == before


def test_clerk_issues_the_month_for_every_account_once(session):
    clerk = f.make_user(session, "clerk")
    outlet_id = month_in(session, R.OPEN).outlet_id
    issued = reconciliation.issue_all(session, date(2031, 2, 1), clerk)
    accounts = session.scalar(select(func.count()).select_from(PartsAccount))
    assert len(issued) == accounts and outlet_id in {record.outlet_id for record in issued}
    assert [r.id for r in reconciliation.issue_all(session, date(2031, 2, 1), clerk)] == [r.id for r in issued]


def test_the_guards_give_the_verdicts_reason(session):
    record, clerk = month_in(session, R.OPEN), f.make_user(session, "clerk")
    with pytest.raises(NotAllowed) as refused:
        reconciliation.close(session, record, clerk)
    assert refused.value.message == reconciliation.NOT_CONFIRMED
    with pytest.raises(NotAllowed) as refused:
        reconciliation.confirm(session, record, f.make_user(session, "engineer"))
    assert refused.value.message == reconciliation.ANSWER_ROLE
    reconciliation.confirm(session, record, clerk)
    reconciliation.close(session, record, clerk)
    with pytest.raises(NotAllowed) as refused:
        reconciliation.close(session, record, clerk)
    assert refused.value.message == reconciliation.ALREADY_CLOSED
    assert record.status == R.CLOSED.value
