"""The monthly reconciliation of each outlet's parts account (R-PART-7):
backoffice/reconciliation.py: statements per month, issue (also when a month ends: issue_due and
`flask issue-statements`), the outlet confirms or disputes, the center resolves a dispute and
reissues the statement, closes the month, and who may.

Demo world (backoffice/demo.py `_parts_accounts`): last month is closed everywhere except at
DG-NC, whose statement is still open. Tests that need months of their own open a new outlet
and work in 2031, which no demo movement reaches.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from backoffice import ledger, reconciliation
from backoffice.errors import DomainError, FieldErrors
from backoffice.permissions import NotAllowed, why_not
from models import LedgerEntry, Outlet, PartsAccount, PartsReconciliation, User
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


# --- the outlet answers, the center closes (R-PART-7) -------------------------------------------

def open_record(session, code="DG-NC") -> PartsReconciliation:
    """DG-NC has not confirmed last month (demo)."""
    record = session.scalar(select(PartsReconciliation).where(
        PartsReconciliation.outlet_id == f.outlet(session, code).id))
    assert record.status == R.OPEN.value
    return record


def dealer_of(session, record) -> User:
    return f.make_user(session, "dealer", outlet=record.outlet)


def test_outlet_confirms_or_disputes_with_reason(session):  # R-PART-7
    record = open_record(session)
    dealer = dealer_of(session, record)
    with pytest.raises(FieldErrors) as no_reason:
        reconciliation.dispute(session, record, dealer, "  ")
    assert "dispute_reason" in no_reason.value.errors
    with pytest.raises(DomainError):  # engineers have no say in accounts
        reconciliation.confirm(session, record, f.user(session, "engineer"))
    assert record.status == R.OPEN.value

    reconciliation.dispute(session, record, dealer, "10月3日炉头3个实收2个")
    assert record.status == R.DISPUTED.value and record.dispute_reason == "10月3日炉头3个实收2个"
    assert [(d.revision, d.reason, d.disputed_by, d.outcome) for d in record.disputes] == [
        (1, "10月3日炉头3个实收2个", dealer, None)]
    with pytest.raises(DomainError):  # a disputed statement is not disputed twice
        reconciliation.dispute(session, record, dealer, "again")
    with pytest.raises(NotAllowed) as waits:  # nor confirmed before the center resolves it
        reconciliation.confirm(session, record, dealer)
    assert waits.value.message == reconciliation.AWAITING_RESOLUTION

    # The outlet itself confirms its own statement.
    gz = f.outlet(session, "GZ-TH")
    mine = reconciliation.issue(session, gz.id, date(2031, 1, 1))
    reconciliation.confirm(session, mine, f.user(session, "dealer1"))
    assert mine.status == R.CONFIRMED.value and mine.confirmed_by.username == "dealer1"
    with pytest.raises(DomainError):
        reconciliation.confirm(session, mine, f.user(session, "dealer1"))
    with pytest.raises(DomainError):
        reconciliation.dispute(session, mine, f.user(session, "dealer1"), "太晚了")


def test_center_can_no_longer_confirm_for_the_outlet(session):  # R-PART-7
    record = open_record(session)
    for username in ("clerk", "manager", "admin"):
        with pytest.raises(NotAllowed) as refused:
            reconciliation.confirm(session, record, f.user(session, username))
        assert refused.value.message == reconciliation.ANSWER_ROLE
        with pytest.raises(NotAllowed):
            reconciliation.dispute(session, record, f.user(session, username), "代网点提出异议")
    assert record.status == R.OPEN.value and record.confirmed_by is None


def test_a_dealer_of_another_outlet_does_not_answer(session):  # R-PART-7, R-ROLE-1
    record = open_record(session)
    found = reconciliation.actions(session, record, f.user(session, "dealer1"))  # GZ-TH, not DG-NC
    assert not found["confirm"] and found["confirm"].reason == reconciliation.ANSWER_ROLE
    assert not found["dispute"]


def test_center_closes_only_confirmed_months(session):  # R-PART-7
    record, clerk = open_record(session), f.user(session, "clerk")
    dealer = dealer_of(session, record)
    with pytest.raises(DomainError):  # not confirmed by the outlet yet
        reconciliation.close(session, record, clerk)
    reconciliation.dispute(session, record, dealer, "数量不符")
    with pytest.raises(DomainError):
        reconciliation.close(session, record, clerk)
    reconciliation.resolve(session, record, clerk, "no_change", [], "出库单与签收单一致")
    reconciliation.confirm(session, record, dealer)
    with pytest.raises(DomainError):  # the outlet does not close the center's books
        reconciliation.close(session, record, dealer)
    reconciliation.close(session, record, clerk)
    assert record.status == R.CLOSED.value and record.closed_by == clerk and record.closed_at is not None
    with pytest.raises(DomainError):
        reconciliation.close(session, record, clerk)
    with pytest.raises(DomainError):
        reconciliation.confirm(session, record, dealer)
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
def test_only_the_outlet_answers_an_open_statement(session, role):  # R-PART-7
    record = month_in(session, R.OPEN)
    found = reconciliation.actions(session, record, someone(session, role, record))
    answers = role == "dealer"
    for action in ("confirm", "dispute"):
        assert bool(found[action]) is answers, action
        assert found[action].reason == ("" if answers else reconciliation.ANSWER_ROLE), action
        assert found[action].for_role is (not answers)  # never the center's button


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_only_the_service_center_resolves_a_dispute(session, role):  # R-PART-7
    record = month_in(session, R.DISPUTED)
    verdict = reconciliation.actions(session, record, someone(session, role, record))["resolve"]
    assert bool(verdict) is (role in CENTER_ROLES)
    assert verdict.reason == ("" if role in CENTER_ROLES else reconciliation.RESOLVE_ROLE)


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_only_the_service_center_closes_a_confirmed_month(session, role):
    record = month_in(session, R.CONFIRMED)
    verdict = reconciliation.actions(session, record, someone(session, role, record))["close"]
    assert bool(verdict) is (role in CENTER_ROLES)
    assert verdict.reason == ("" if role in CENTER_ROLES else reconciliation.CLOSE_ROLE)


@pytest.mark.parametrize("status, confirm, dispute, resolve", [
    (R.OPEN, "", "", reconciliation.NOT_DISPUTED),
    (R.DISPUTED, reconciliation.AWAITING_RESOLUTION, reconciliation.AWAITING_RESOLUTION, ""),
    (R.CONFIRMED, reconciliation.ALREADY_CONFIRMED, reconciliation.NOT_OPEN, reconciliation.NOT_DISPUTED),
    (R.CLOSED, reconciliation.ALREADY_CONFIRMED, reconciliation.NOT_OPEN, reconciliation.NOT_DISPUTED),
])
def test_the_outlet_answers_and_the_center_resolves_only_in_turn(session, status, confirm, dispute, resolve):
    record = month_in(session, status)
    outlet = reconciliation.actions(session, record, someone(session, "dealer", record))
    center = reconciliation.actions(session, record, f.make_user(session, "clerk"))
    assert {name: (bool(outlet[name]), outlet[name].reason) for name in ("confirm", "dispute")} == {
        "confirm": (not confirm, confirm), "dispute": (not dispute, dispute)}
    assert (bool(center["resolve"]), center["resolve"].reason) == (not resolve, resolve)


@pytest.mark.parametrize("status, close", [
    (R.OPEN, reconciliation.NOT_CONFIRMED), (R.DISPUTED, reconciliation.NOT_CONFIRMED),
    (R.CONFIRMED, ""), (R.CLOSED, reconciliation.ALREADY_CLOSED)])
def test_clerk_closes_a_month_only_in_its_turn(session, status, close):
    record = month_in(session, status)
    verdict = reconciliation.actions(session, record, f.make_user(session, "clerk"))["close"]
    assert (bool(verdict), verdict.reason) == (not close, close)


def test_the_role_is_the_reason_before_the_status(session):
    record = month_in(session, R.CLOSED)
    found = reconciliation.actions(session, record, f.make_user(session, "engineer"))
    assert [v.reason for v in found.values()] == [reconciliation.ANSWER_ROLE] * 2 + [
        reconciliation.RESOLVE_ROLE, reconciliation.RESOLVE_ROLE, reconciliation.CLOSE_ROLE]


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


def test_clerk_issues_the_month_for_every_outlet_that_owes_one_once(session):
    clerk = f.make_user(session, "clerk")
    outlet_id = month_in(session, R.OPEN).outlet_id
    issued = reconciliation.issue_all(session, date(2031, 2, 1), clerk)
    in_use = session.scalar(select(func.count()).select_from(PartsAccount).join(
        Outlet, Outlet.id == PartsAccount.outlet_id).where(Outlet.is_service_center.is_(False)))
    assert len(issued) == in_use and outlet_id in {record.outlet_id for record in issued}
    assert [r.id for r in reconciliation.issue_all(session, date(2031, 2, 1), clerk)] == [r.id for r in issued]


def test_the_guards_give_the_verdicts_reason(session):
    record, clerk = month_in(session, R.OPEN), f.make_user(session, "clerk")
    with pytest.raises(NotAllowed) as refused:
        reconciliation.close(session, record, clerk)
    assert refused.value.message == reconciliation.NOT_CONFIRMED
    with pytest.raises(NotAllowed) as refused:
        reconciliation.confirm(session, record, f.make_user(session, "engineer"))
    assert refused.value.message == reconciliation.ANSWER_ROLE
    with pytest.raises(NotAllowed) as refused:
        reconciliation.resolve(session, record, clerk, "no_change", [], "无")
    assert refused.value.message == reconciliation.NOT_DISPUTED
    reconciliation.confirm(session, record, someone(session, "dealer", record))
    reconciliation.close(session, record, clerk)
    with pytest.raises(NotAllowed) as refused:
        reconciliation.close(session, record, clerk)
    assert refused.value.message == reconciliation.ALREADY_CLOSED
    assert record.status == R.CLOSED.value


# --- a dispute resolved, the statement reissued (R-PART-7, R-PART-8) ----------------------------

C = reconciliation.CorrectionDraft


def disputed_march(session):
    """March 2031 (closing ¥12.33) disputed by the outlet's dealer in April."""
    outlet = march_outlet(session)
    record = reconciliation.issue(session, outlet.id, date(2031, 3, 1))
    dealer = f.make_user(session, "dealer", outlet=outlet)
    reconciliation.dispute(session, record, dealer, "3月8日的领用少收了", at=local(2031, 4, 2))
    return record, dealer


def test_center_resolves_with_corrections_and_the_outlet_confirms_the_reissued_statement(session):  # R-PART-7
    record, dealer = disputed_march(session)
    clerk, manager = f.user(session, "clerk"), f.user(session, "manager")  # a credit: the manager's
    before = ledger.balance_of(session, record.outlet_id)
    found = reconciliation.resolve(session, record, manager, "corrections",
                                   [C(Decimal("5.00"), "3月8日少发一个传感器，冲回"), C(None, ""),
                                    C(Decimal("-0.33"), "运费分摊")], "核对签收单", at=local(2031, 4, 3))
    # Booked once per line, as adjustments with their reasons, now (never back-dated).
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.source.like(f"reconciliation:{found.id}:%"))
                              .order_by(LedgerEntry.id)).all()
    assert [(e.kind, e.delta, e.reason, e.source, e.actor_id) for e in entries] == [
        (K.ADJUSTMENT.value, Decimal("5.00"), "2031-03: 3月8日少发一个传感器，冲回", f"reconciliation:{found.id}:0",
         manager.id),
        (K.ADJUSTMENT.value, Decimal("-0.33"), "2031-03: 运费分摊", f"reconciliation:{found.id}:2", manager.id)]
    assert all(e.at == local(2031, 4, 3) for e in entries)
    assert ledger.balance_of(session, record.outlet_id) == before + Decimal("4.67")
    # The outcome is recorded, the statement reissued with the corrections apart.
    assert (found.outcome, found.outcome_note, found.corrections, found.resolved_by) == (
        "corrections", "核对签收单", Decimal("4.67"), manager)
    assert (record.status, record.revision, record.corrections) == (R.OPEN.value, 2, Decimal("4.67"))
    assert (record.opening, record.closing, record.cash_total) == (Decimal("0.70"), Decimal("17.00"), Decimal("58.01"))
    figures = reconciliation.month_figures(session, record)
    assert figures.statement.closing == Decimal("12.33") and figures.closing == Decimal("17.00")
    assert [e.id for e in figures.corrections] == [e.id for e in entries]
    # Only the outlet confirms the reissued statement; then the center closes.
    with pytest.raises(NotAllowed):
        reconciliation.confirm(session, record, clerk)
    reconciliation.confirm(session, record, dealer)
    reconciliation.close(session, record, clerk)
    assert (record.status, record.confirmed_by, record.closed_by) == (R.CLOSED.value, dealer, clerk)
    session.commit()


def test_corrections_are_movements_of_the_month_they_are_booked_in(session):  # R-PART-7, R-PART-8
    record, _dealer = disputed_march(session)
    reconciliation.resolve(session, record, f.user(session, "manager"), "corrections",
                           [C(Decimal("5.00"), "补记")], at=local(2031, 4, 3))
    april = reconciliation.month_statement(session, record.outlet_id, date(2031, 4, 1))
    assert april.opening == Decimal("12.33")  # the ledger's balance at the start of April
    assert Decimal("5.00") in [e.delta for e in april.entries]
    assert april.closing == ledger.balance_of(session, record.outlet_id)  # adds up to the cent


def test_no_change_needs_its_reason_and_reissues_the_same_figures(session):  # R-PART-7
    record, dealer = disputed_march(session)
    clerk = f.user(session, "clerk")
    entries = session.scalar(select(func.count(LedgerEntry.id)))
    with pytest.raises(FieldErrors) as no_reason:
        reconciliation.resolve(session, record, clerk, "no_change", [C(None, "")], " ")
    assert set(no_reason.value.errors) == {"resolution_note"}
    found = reconciliation.resolve(session, record, clerk, "no_change", [], "签收单显示已全部收到")
    assert (found.outcome, found.outcome_note, found.corrections) == ("no_change", "签收单显示已全部收到", None)
    assert (record.status, record.revision, record.closing, record.corrections) == (
        R.OPEN.value, 2, Decimal("12.33"), Decimal("0.00"))
    assert session.scalar(select(func.count(LedgerEntry.id))) == entries  # nothing booked
    reconciliation.confirm(session, record, dealer)
    assert record.status == R.CONFIRMED.value


def test_a_resolution_says_what_it_corrects_and_why(session):  # R-PART-7
    record, _dealer = disputed_march(session)
    manager = f.user(session, "manager")
    cases = [("", [], {"outcome"}),
             ("corrections", [C(None, "")], {"correction-0-amount"}),
             ("corrections", [C(Decimal("5.00"), " ")], {"correction-0-reason"}),
             ("corrections", [C(None, ""), C(Decimal("0.00"), "零")], {"correction-1-amount"}),
             ("no_change", [C(Decimal("1.00"), "多填了")], {"correction-0-amount"})]
    for outcome, lines, fields in cases:
        with pytest.raises(FieldErrors) as refused:
            reconciliation.resolve(session, record, manager, outcome, lines, "说明")
        assert set(refused.value.errors) == fields, outcome
    assert record.status == R.DISPUTED.value and record.revision == 1


def test_a_correction_never_takes_the_balance_below_zero_and_books_nothing(session):  # R-PART-7, R-PART-8
    record, _dealer = disputed_march(session)
    balance = ledger.balance_of(session, record.outlet_id)  # 13.33
    with pytest.raises(FieldErrors) as refused:
        reconciliation.resolve(session, record, f.user(session, "clerk"), "corrections",
                               [C(Decimal("-10.00"), "扣回"), C(Decimal("-5.00"), "再扣")])
    assert set(refused.value.errors) == {"correction-1-amount"}
    assert ledger.balance_of(session, record.outlet_id) == balance
    assert record.status == R.DISPUTED.value and record.disputes[-1].outcome is None


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_only_a_manager_resolves_with_a_credit(session, role):  # R-PART-8, R-ROLE-2
    record = month_in(session, R.DISPUTED)
    found = reconciliation.actions(session, record, someone(session, role, record))
    manages = role in ("admin", "manager")
    assert bool(found["resolve_with_credit"]) is manages
    expected = "" if manages else (reconciliation.CREDIT_ROLE if role == "clerk" else reconciliation.RESOLVE_ROLE)
    assert found["resolve_with_credit"].reason == expected
    # The clerk resolves (no change, debits) and is told up front; the others have no form at all.
    assert why_not(found).get("resolve_with_credit") == (reconciliation.CREDIT_ROLE if role == "clerk" else None)


def test_a_clerks_credit_is_refused_on_its_amount_line_and_books_nothing(session):  # R-PART-8, R-ROLE-2
    record, dealer = disputed_march(session)
    clerk = f.user(session, "clerk")
    entries, balance = session.scalar(select(func.count(LedgerEntry.id))), ledger.balance_of(session, record.outlet_id)
    lines = [C(Decimal("-1.00"), "扣回运费"), C(None, ""), C(Decimal("5.00"), "少发传感器，冲回")]
    with pytest.raises(FieldErrors) as refused:
        reconciliation.resolve(session, record, clerk, "corrections", lines)
    assert refused.value.errors == {"correction-2-amount": reconciliation.CREDIT_ROLE}  # the debit line is fine
    assert session.scalar(select(func.count(LedgerEntry.id))) == entries
    assert ledger.balance_of(session, record.outlet_id) == balance
    assert (record.status, record.revision, record.disputes[-1].outcome) == (R.DISPUTED.value, 1, None)
    # A manager resolves the same dispute with the credit; the outlet confirms the reissued statement.
    found = reconciliation.resolve(session, record, f.user(session, "manager"), "corrections", lines)
    assert (found.corrections, found.resolved_by.username, record.revision) == (Decimal("4.00"), "manager", 2)
    assert ledger.balance_of(session, record.outlet_id) == balance + Decimal("4.00")
    reconciliation.confirm(session, record, dealer)
    assert record.status == R.CONFIRMED.value


def test_a_clerk_resolves_with_debit_corrections(session):  # R-PART-7, R-PART-8
    record, dealer = disputed_march(session)
    clerk = f.user(session, "clerk")
    balance = ledger.balance_of(session, record.outlet_id)
    found = reconciliation.resolve(session, record, clerk, "corrections",
                                   [C(Decimal("-2.00"), "多发一个垫圈，扣回"), C(Decimal("-0.33"), "运费分摊")],
                                   "核对出库单", at=local(2031, 4, 3))
    assert (found.outcome, found.corrections, found.resolved_by) == ("corrections", Decimal("-2.33"), clerk)
    assert ledger.balance_of(session, record.outlet_id) == balance - Decimal("2.33")
    assert (record.status, record.revision, record.closing) == (R.OPEN.value, 2, Decimal("10.00"))
    reconciliation.confirm(session, record, dealer)
    assert record.status == R.CONFIRMED.value


def test_a_resolved_dispute_is_not_resolved_again_and_says_by_whom(session):  # R-PART-7
    record, _dealer = disputed_march(session)
    reconciliation.resolve(session, record, f.user(session, "manager"), "corrections", [C(Decimal("5.00"), "补")])
    with pytest.raises(DomainError) as twice:
        reconciliation.resolve(session, record, f.user(session, "admin"), "corrections", [C(Decimal("5.00"), "补")])
    assert f.user(session, "manager").full_name in str(twice.value.message)
    assert record.corrections == Decimal("5.00")


def test_every_revision_and_outcome_stays_in_the_history(session):  # R-PART-7
    record, dealer = disputed_march(session)
    clerk, manager = f.user(session, "clerk"), f.user(session, "manager")
    reconciliation.resolve(session, record, manager, "corrections", [C(Decimal("5.00"), "少发传感器")],
                           at=local(2031, 4, 3))
    reconciliation.dispute(session, record, dealer, "运费也不对", at=local(2031, 4, 4))
    reconciliation.resolve(session, record, clerk, "no_change", [], "运费按合同", at=local(2031, 4, 5))
    reconciliation.confirm(session, record, dealer)
    reconciliation.close(session, record, clerk)
    session.commit()
    session.expire_all()
    history = [(d.revision, d.closing, d.reason, d.outcome, d.outcome_note, d.corrections, d.resolved_by.username)
               for d in record.disputes]
    assert history == [(1, Decimal("12.33"), "3月8日的领用少收了", "corrections", "", Decimal("5.00"), "manager"),
                       (2, Decimal("17.33"), "运费也不对", "no_change", "运费按合同", None, "clerk")]
    assert (record.revision, record.closing, record.status) == (3, Decimal("17.33"), R.CLOSED.value)
    assert [[e.reason for e in entries] for entries in reconciliation.corrections_of(session, record).values()] == [
        ["2031-03: 少发传感器"]]


def test_the_outlet_confirming_the_reissued_statement_unblocks_supply(session):  # R-PART-7
    record, dealer = disputed_march(session)
    april = date(2031, 4, 10)
    assert reconciliation.supply_blocked(session, record.outlet_id, april)
    reconciliation.resolve(session, record, f.user(session, "clerk"), "no_change", [], "数量无误")
    assert reconciliation.supply_blocked(session, record.outlet_id, april)  # reissued: still the outlet's turn
    reconciliation.confirm(session, record, dealer)
    assert not reconciliation.supply_blocked(session, record.outlet_id, april)


# --- statements issued when a month ends (R-PART-7) ---------------------------------------------

def outlet_moving(session, at, active=True, **kw) -> Outlet:
    outlet = f.make_outlet(session, **kw)
    ledger.post(session, outlet.id, K.QUOTA, Decimal("100.00"), source=f"test:due:{outlet.code}", at=at)
    outlet.active = active
    session.flush()
    return outlet


def test_issue_due_issues_last_months_statement_of_every_outlet_once(session):  # R-PART-7
    used = outlet_moving(session, local(2031, 1, 20))
    retired = outlet_moving(session, local(2031, 2, 20), active=False)  # its final statement
    retired_before = outlet_moving(session, local(2031, 1, 20), active=False)
    too_new = outlet_moving(session, local(2031, 3, 2))
    unused = f.make_outlet(session)
    ledger.account_of(session, unused.id)  # an account opened, never used
    center = f.make_outlet(session, is_service_center=True)
    ledger.post(session, center.id, K.QUOTA, Decimal("1.00"), source="test:due:center", at=local(2031, 1, 2))

    issued = reconciliation.issue_due(session, date(2031, 3, 5))
    outlets = {record.outlet_id for record in issued}
    assert {used.id, retired.id} <= outlets
    assert not outlets & {retired_before.id, too_new.id, unused.id, center.id}
    assert {record.month for record in issued} == {date(2031, 2, 1)}
    # every demo dealer outlet's account was in use too: each owes February
    demo = {o.id for o in session.scalars(select(Outlet).where(Outlet.code.in_(["GZ-TH", "GZ-TH-01", "FS-SD",
                                                                                    "DG-NC"])))}
    assert demo <= outlets
    assert reconciliation.issue_due(session, date(2031, 3, 5)) == []  # idempotent
    assert reconciliation.issue_due(session, date(2031, 3, 28)) == []
    mine = reconciliation._find(session, used.id, date(2031, 2, 1))
    assert (mine.opening, mine.closing, mine.status, mine.revision) == (
        Decimal("100.00"), Decimal("100.00"), R.OPEN.value, 1)


def test_the_command_issues_statements_and_a_second_run_issues_nothing(app, session):  # R-PART-7
    from backoffice.months import previous_month
    from backoffice.timezones import local_today

    last = previous_month(local_today())
    start, _end = reconciliation.month_bounds(last)
    new = outlet_moving(session, start + timedelta(hours=3), code="CLI-NEW")
    session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["issue-statements"])
    assert first.exit_code == 0, first.output
    assert "issued: 1 (" in first.output and new.name in first.output
    second = runner.invoke(args=["issue-statements"])
    assert second.exit_code == 0 and "issued: 0" in second.output
    session.expire_all()
    assert session.scalar(select(func.count(PartsReconciliation.id)).where(
        PartsReconciliation.outlet_id == new.id)) == 1
    named = runner.invoke(args=["issue-statements", "--month", f"{previous_month(last):%Y-%m}"])
    assert named.exit_code == 0, named.output
    for bad in ("2031-13", "soon", f"{local_today():%Y-%m}"):  # not a month, or not ended yet
        refused = runner.invoke(args=["issue-statements", "--month", bad])
        assert refused.exit_code != 0, bad
        assert ("YYYY-MM" if bad != f"{local_today():%Y-%m}" else "has not ended") in refused.output


# --- the migration keeps a dispute recorded under the older schema (0014) -----------------------

def test_migration_gives_an_old_dispute_its_history_row(tmp_path):  # R-PART-7
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from models import db
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path}/old.db")
    with app.app_context():
        upgrade(revision="0013_part_sources")
        with db.engine.begin() as conn:
            now = "2026-11-03 02:00:00"
            conn.execute(text("INSERT INTO outlet (id, code, name, region, address, service_phone, duty_phone, "
                              "total_purchase_amount, timezone, active, is_service_center, created_at, updated_at) "
                              "VALUES (1, 'O1', '网点', '', '', '', '', 0, 'Asia/Shanghai', 1, 0, :t, :t)"), {"t": now})
            for n, (status, reason) in enumerate([("disputed", "炉头少一个"), ("closed", "")], start=1):
                conn.execute(text(
                    "INSERT INTO parts_reconciliation (id, outlet_id, month, opening, closing, cash_total, status, "
                    "dispute_reason, version_id, created_at, updated_at) VALUES (:id, 1, :month, 10, 12.5, 3, "
                    ":status, :reason, 1, :t, :t)"),
                    {"id": n, "month": f"2026-{9 + n:02d}-01", "status": status, "reason": reason, "t": now})
        upgrade(revision="0014_reconciliation_sign")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT reconciliation_id, revision, closing, reason, outcome "
                                     "FROM reconciliation_dispute")).all()
            months = conn.execute(text("SELECT id, revision, corrections FROM parts_reconciliation ORDER BY id")).all()
        downgrade(revision="0013_part_sources")
    assert [(r[0], r[1], Decimal(str(r[2])), r[3], r[4]) for r in rows] == [(1, 1, Decimal("12.5"), "炉头少一个", None)]
    assert [(m[0], m[1], Decimal(str(m[2]))) for m in months] == [(1, 1, Decimal("0")), (2, 1, Decimal("0"))]
