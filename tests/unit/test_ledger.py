"""The parts account of each outlet and its append-only ledger (R-PART-2, R-PART-8):
backoffice/ledger.py. Statements per month and the reconciliation: test_reconciliation.py.

Demo world (backoffice/demo.py `_parts_accounts`): every dealer outlet got its quota at the
start of last month and drew one batch on account. Tests that need an account of their own
open a new outlet and work in March 2031, a month no demo movement reaches.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from backoffice import ledger, policy
from backoffice.errors import DomainError, FieldErrors
from backoffice.permissions import NotAllowed
from models import AuditEntry, LedgerEntry, Outlet, Part, PartsAccount, PolicySetting
from models.choices import LedgerKind as K
from models.choices import Role
from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")
CENT = Decimal("0.01")


def local(y, m, d, hour=10, minute=0) -> datetime:
    """A service-local wall-clock time, as the aware UTC instant the services store."""
    return datetime(y, m, d, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


T0 = local(2031, 3, 12)  # a Wednesday in March 2031


def new_outlet(session, code="T-LEDGER", purchases="1000000.00") -> Outlet:
    outlet = Outlet(code=code, name=f"测试网点 {code}", region="测试区",
                    total_purchase_amount=Decimal(purchases))
    session.add(outlet)
    session.flush()
    return outlet


def funded(session, amount: str, code="T-LEDGER", at=T0) -> Outlet:
    """A new outlet whose account holds exactly `amount` (one quota entry)."""
    outlet = new_outlet(session, code)
    ledger.post(session, outlet.id, K.QUOTA, Decimal(amount), source=f"test-quota:{code}", at=at,
                actor=f.user(session, "manager"), reason="测试额度")
    return outlet


def balance(session, outlet) -> Decimal:
    return session.scalar(select(PartsAccount.balance).where(PartsAccount.outlet_id == outlet.id))


def entries(session, outlet) -> list[LedgerEntry]:
    return list(session.scalars(select(LedgerEntry).where(LedgerEntry.outlet_id == outlet.id)
                                .order_by(LedgerEntry.id)))


def part(session, code) -> Part:
    return session.scalar(select(Part).where(Part.code == code))


def assert_consistent(session, outlet) -> None:
    """R-PART-8: the balance is derived: entries sum to it, each balance_after is the running sum."""
    running = Decimal("0.00")
    for entry in entries(session, outlet):
        running += entry.delta
        assert entry.balance_after == running >= 0, entry.source
    assert running == balance(session, outlet)


# --- R-PART-2: the quota ------------------------------------------------------------------

def test_quota_is_point_three_percent_of_total_purchases(session):  # R-PART-2
    # The demo outlets got 0.3 % of what they bought from the company.
    for code in ("GZ-TH", "GZ-TH-01", "FS-SD", "DG-NC"):
        outlet = f.outlet(session, code)
        account = ledger.account_of(session, outlet.id)
        assert account.quota == (outlet.total_purchase_amount * Decimal("0.003")).quantize(CENT)
    assert ledger.account_of(session, f.outlet(session, "GZ-TH").id).quota == Decimal("8580.00")  # 2,860,000 × 0.3 %

    outlet = new_outlet(session, purchases="1000000.00")
    entry = ledger.grant_quota(session, outlet, f.user(session, "manager"), at=T0)
    assert ledger.quota_for(session, outlet) == Decimal("3000.00")
    assert (entry.kind, entry.delta, entry.balance_after) == (K.QUOTA.value, Decimal("3000.00"), Decimal("3000.00"))
    account = ledger.account_of(session, outlet.id)
    assert (account.quota, account.balance) == (Decimal("3000.00"), Decimal("3000.00"))
    assert ledger.grant_quota(session, outlet, at=T0 + timedelta(hours=1)) is None  # nothing changed

    # The rate is a policy record, not a literal: an admin's override changes the next grant.
    assert policy.DEFAULTS["parts.quota_rate"][0] == Decimal("0.003")
    session.add(PolicySetting(key="parts.quota_rate", value="0.005"))
    session.flush()
    assert ledger.quota_for(session, outlet) == Decimal("5000.00")
    raised = ledger.grant_quota(session, outlet, f.user(session, "manager"), at=T0 + timedelta(days=1))
    assert raised.delta == Decimal("2000.00") and balance(session, outlet) == Decimal("5000.00")
    assert_consistent(session, outlet)


def test_lower_quota_takes_back_only_what_is_not_drawn(session):  # R-PART-2, R-PART-8
    manager = f.user(session, "manager")
    outlet = new_outlet(session, purchases="1000000.00")
    ledger.grant_quota(session, outlet, manager, at=T0)  # 3000.00
    ledger.post(session, outlet.id, K.ISSUE, Decimal("-2500.00"), source="test:drawn", at=T0)

    outlet.total_purchase_amount = Decimal("500000.00")  # quota now 1500.00; 2500.00 is drawn
    lowered = ledger.grant_quota(session, outlet, manager, at=T0 + timedelta(days=1))
    assert lowered.kind == K.QUOTA.value and lowered.delta == Decimal("-500.00")  # only the undrawn 500
    assert lowered.reason == "3000.00 → 1500.00" and lowered.actor_id == manager.id
    account = ledger.account_of(session, outlet.id)
    assert (account.quota, account.balance) == (Decimal("1500.00"), Decimal("0.00"))

    # Raised again: the full difference is granted.
    outlet.total_purchase_amount = Decimal("1000000.00")
    assert ledger.grant_quota(session, outlet, manager, at=T0 + timedelta(days=2)).delta == Decimal("1500.00")

    # Lowered while enough is undrawn: the whole difference comes back.
    outlet.total_purchase_amount = Decimal("800000.00")  # 2400.00
    assert ledger.grant_quota(session, outlet, manager, at=T0 + timedelta(days=3)).delta == Decimal("-600.00")
    assert balance(session, outlet) == Decimal("900.00")
    assert_consistent(session, outlet)


# --- R-PART-8: movements --------------------------------------------------------------------

def test_issue_on_account_lowers_the_balance_and_records_who_when_why(session):  # R-PART-8
    outlet = funded(session, "3000.00")
    clerk, board = f.user(session, "clerk"), part(session, "P-PCB-01")
    at = T0 + timedelta(hours=3)
    entry = ledger.post(session, outlet.id, K.ISSUE, -board.unit_price * 2, source="test:issue:1",
                        actor=clerk, part_id=board.id, qty=2, at=at, reason="PJ-测试 主控板")
    session.expire_all()
    entry = session.get(LedgerEntry, entry.id)
    assert entry.kind == K.ISSUE.value
    assert entry.delta == Decimal("-472.00") and entry.cash_amount == Decimal("0.00")  # on account: not charged
    assert entry.balance_after == Decimal("2528.00") == balance(session, outlet)
    assert entry.actor_id == clerk.id and entry.actor.username == "clerk"  # who
    assert entry.at == at  # when
    assert entry.reason == "PJ-测试 主控板" and entry.source == "test:issue:1"  # why, and from which line
    assert (entry.part, entry.qty) == (board, 2)


def test_a_balance_never_goes_below_zero_over_quota_must_be_bought(session):  # R-PART-2, R-PART-8
    outlet = funded(session, "100.00")
    with pytest.raises(ledger.OverQuota) as refused:
        ledger.post(session, outlet.id, K.ISSUE, Decimal("-100.01"), source="test:too-much", at=T0)
    assert (refused.value.available, refused.value.needed) == (Decimal("100.00"), Decimal("100.01"))
    # Nothing was booked, and the caller's transaction is intact (the posting ran in a SAVEPOINT).
    assert ledger._by_source(session, "test:too-much") is None
    assert balance(session, outlet) == Decimal("100.00") and len(entries(session, outlet)) == 1

    # Exactly down to zero is allowed; one cent more is not.
    ledger.post(session, outlet.id, K.ISSUE, Decimal("-100.00"), source="test:all", at=T0)
    assert balance(session, outlet) == Decimal("0.00")
    with pytest.raises(ledger.OverQuota):
        ledger.post(session, outlet.id, K.ISSUE, Decimal("-0.01"), source="test:cent", at=T0)

    # Above the quota the outlet buys: a purchase is paid in cash and leaves the account alone.
    bought = ledger.post(session, outlet.id, K.PURCHASE, 0, cash=Decimal("100.01"), source="test:bought", at=T0)
    assert (bought.kind, bought.delta, bought.cash_amount, bought.balance_after) == \
        (K.PURCHASE.value, Decimal("0.00"), Decimal("100.01"), Decimal("0.00"))
    assert_consistent(session, outlet)

    # The database holds the same line, whoever writes to it.
    session.commit()
    with pytest.raises(IntegrityError):
        session.execute(text("UPDATE parts_account SET balance = -1 WHERE outlet_id = :id"), {"id": outlet.id})
    session.rollback()
    assert balance(session, outlet) == Decimal("0.00")


def test_cents_add_up_exactly_so_the_last_cent_can_be_drawn(session):  # R-PART-8
    # 0.70 + 0.10 is 0.7999999999999999 in binary floating point: the balance must stay exact.
    outlet = funded(session, "0.70")
    ledger.post(session, outlet.id, K.RETURN_CREDIT, Decimal("0.10"), source="test:credit", at=T0)
    entry = ledger.post(session, outlet.id, K.ISSUE, Decimal("-0.80"), source="test:last-cents", at=T0)
    assert entry.balance_after == Decimal("0.00") == balance(session, outlet)
    with pytest.raises(ledger.OverQuota):
        ledger.post(session, outlet.id, K.ISSUE, Decimal("-0.01"), source="test:one-more", at=T0)
    assert_consistent(session, outlet)


def test_the_same_source_books_once(session):  # R-PART-8: a retry or a double click books once
    outlet = funded(session, "500.00")
    first = ledger.post(session, outlet.id, K.ISSUE, Decimal("-120.00"), source="parts_request_line:T1", at=T0)
    again = ledger.post(session, outlet.id, K.ISSUE, Decimal("-120.00"), source="parts_request_line:T1", at=T0)
    # Even a retry that would not fit any more returns the booked entry instead of refusing.
    late = ledger.post(session, outlet.id, K.ISSUE, Decimal("-499.00"), source="parts_request_line:T1", at=T0)
    assert first.id == again.id == late.id
    assert balance(session, outlet) == Decimal("380.00") and len(entries(session, outlet)) == 2
    session.commit()
    assert ledger.post(session, outlet.id, K.ISSUE, Decimal("-120.00"), source="parts_request_line:T1").id == first.id
    assert balance(session, outlet) == Decimal("380.00")

    # The UNIQUE source is the database's wall behind post().
    session.add(LedgerEntry(account_id=first.account_id, outlet_id=outlet.id, kind=K.ISSUE.value,
                            delta=Decimal("-1.00"), cash_amount=Decimal("0.00"), balance_after=Decimal("379.00"),
                            source="parts_request_line:T1", reason="", at=T0))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_sum_of_entries_equals_the_balance(session):  # R-PART-8
    for account in session.scalars(select(PartsAccount)):  # the demo accounts
        assert_consistent(session, account.outlet)
    total = session.scalar(select(func.sum(LedgerEntry.delta)))
    assert total == session.scalar(select(func.sum(PartsAccount.balance)))

    outlet = funded(session, "1000.00")
    moves = [(K.ISSUE, "-400.00", "0"), (K.PURCHASE, "0", "99.90"), (K.RETURN_CREDIT, "185.00", "0"),
             (K.CHARGE, "58.00", "58.00"), (K.ADJUSTMENT, "-0.05", "0"), (K.ISSUE, "-842.95", "0")]
    for n, (kind, delta, cash) in enumerate(moves):
        ledger.post(session, outlet.id, kind, Decimal(delta), cash=Decimal(cash), source=f"test:mix:{n}",
                    at=T0 + timedelta(minutes=n), reason="混合")
        assert_consistent(session, outlet)
    with pytest.raises(ledger.OverQuota):  # a refused movement leaves no trace
        ledger.post(session, outlet.id, K.ISSUE, Decimal("-0.01"), source="test:mix:refused", at=T0)
    assert balance(session, outlet) == sum((Decimal(d) for _, d, _ in moves), Decimal("1000.00")) == 0
    assert_consistent(session, outlet)


def test_ledger_entries_cannot_be_updated_or_deleted_orm_and_sql(session):  # R-PART-8
    entry = session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).first()  # a demo entry
    entry_id, delta, reason = entry.id, entry.delta, entry.reason

    # The ORM's wall: a changed or deleted entry is refused before any SQL is sent.
    entry.reason = "改一下"
    with pytest.raises(DomainError):
        session.flush()
    session.rollback()
    session.delete(session.get(LedgerEntry, entry_id))
    with pytest.raises(DomainError):
        session.flush()
    session.rollback()

    # The database's wall: triggers refuse raw SQL from any client.
    triggers = session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                    "AND tbl_name = 'ledger_entry' ORDER BY name")).all()
    assert triggers == ["ledger_entry_no_delete", "ledger_entry_no_update"]
    for sql in ("UPDATE ledger_entry SET delta = 0, reason = 'x' WHERE id = :id",
                "DELETE FROM ledger_entry WHERE id = :id"):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(sql), {"id": entry_id})
        session.rollback()

    kept = session.get(LedgerEntry, entry_id)
    assert (kept.delta, kept.reason) == (delta, reason)


# --- R-PART-8: a manager's correction, with its reason, once -------------------------------------

def test_manager_debits_an_account_with_a_reason_once_per_form(session):  # R-PART-8
    outlet = f.outlet(session, "FS-SD")
    manager, token = f.user(session, "manager"), uuid.uuid4().hex
    before = ledger.balance_of(session, outlet.id)
    entry = ledger.adjust(session, outlet.id, manager, Decimal("-50.00"), " 盘点短少 ", token)
    again = ledger.adjust(session, outlet.id, manager, Decimal("-50.00"), "盘点短少", token)  # a double click
    assert again.id == entry.id and ledger.balance_of(session, outlet.id) == before - Decimal("50.00")
    assert (entry.kind, entry.reason, entry.actor_id) == ("adjustment", "盘点短少", manager.id)
    with pytest.raises(FieldErrors) as reused:  # the same form sent back with another amount
        ledger.adjust(session, outlet.id, manager, Decimal("-5.00"), "另一笔", token)
    assert set(reused.value.errors) == {"adjust_amount"}
    assert ledger.balance_of(session, outlet.id) == before - Decimal("50.00")


def test_a_correction_is_checked_before_it_is_posted(session):  # R-PART-8
    outlet = f.outlet(session, "FS-SD")
    manager = f.user(session, "manager")
    before = ledger.balance_of(session, outlet.id)
    with pytest.raises(FieldErrors) as refused:
        ledger.adjust(session, outlet.id, manager, Decimal("0"), "", uuid.uuid4().hex)
    assert set(refused.value.errors) == {"adjust_amount", "adjust_reason"}
    with pytest.raises(FieldErrors) as too_much:  # never below zero
        ledger.adjust(session, outlet.id, manager, -(before + Decimal("0.01")), "冲减", uuid.uuid4().hex)
    assert set(too_much.value.errors) == {"adjust_amount"}
    with pytest.raises(FieldErrors) as expired:  # no one-time key, no posting
        ledger.adjust(session, outlet.id, manager, Decimal("-1"), "x", "")
    assert set(expired.value.errors) == {"adjust_amount"}
    with pytest.raises(DomainError):  # a credit needs another manager (network_approvals)
        ledger.adjust(session, outlet.id, manager, Decimal("1"), "x", uuid.uuid4().hex)
    for who in ("clerk", "dealer2"):
        with pytest.raises(DomainError):
            ledger.adjust(session, outlet.id, f.user(session, who), Decimal("-1"), "x", uuid.uuid4().hex)
    assert ledger.balance_of(session, outlet.id) == before


# --- who may do what with an account: ledger.actions (R-PART-2, R-PART-8, R-ROLE-2) ----------------

def account_short_of_its_quota(session) -> PartsAccount:
    """A fresh outlet's account whose quota lags the purchases: granted for ¥3,000.00 of
    purchases, which then doubled (the quota stands at ¥3,000.00, ¥6,000.00 is due)."""
    outlet = f.make_outlet(session, total_purchase_amount=Decimal("1000000.00"))
    account = f.make_parts_account(session, outlet)
    outlet.total_purchase_amount = Decimal("2000000.00")
    session.flush()
    return account


def purchases_raised_by(session, outlet: Outlet, user) -> None:
    """The audit trail says `user` last changed the outlet's purchases."""
    session.add(AuditEntry(actor_id=user.id, actor_name=user.username, action="update", table_name="outlet",
                           record_id=str(outlet.id), changes={"total_purchase_amount": ["1000000.00", "2000000.00"]}))
    session.flush()


CENTER_ROLES = ("admin", "manager", "clerk")
MANAGER_ROLES = ("admin", "manager")
EVERY_ROLE = tuple(role.value for role in Role)


def someone(session, role, account=None):
    """A user of `role`; a dealer of the account's own outlet."""
    return f.make_user(session, role, outlet=account.outlet if account and role == "dealer" else None)


# action: (the roles that may take it, the reason the others read)
WHO = {"grant_quota": (CENTER_ROLES, ledger.QUOTA_ROLE), "adjust": (MANAGER_ROLES, ledger.ADJUST_ROLE)}


@pytest.mark.parametrize("role", EVERY_ROLE)
@pytest.mark.parametrize("action", WHO)
def test_the_center_brings_quotas_in_line_and_only_managers_adjust(session, action, role):  # R-PART-2, R-PART-8
    account = account_short_of_its_quota(session)
    verdict = ledger.actions(session, account, someone(session, role, account))[action]
    roles, refusal = WHO[action]
    assert bool(verdict) is (role in roles)
    assert verdict.reason == ("" if role in roles else refusal)


def test_clerk_may_not_bring_in_line_a_quota_that_is_in_line(session):  # R-PART-2
    outlet = f.make_outlet(session)
    account = f.make_parts_account(session, outlet)
    verdict = ledger.actions(session, account, f.make_user(session, "clerk"))["grant_quota"]
    assert not verdict and verdict.reason == ledger.QUOTA_IN_LINE


def test_whoever_raised_the_purchases_may_not_grant_the_raised_quota(session):  # R-PART-2, R-ROLE-2
    account = account_short_of_its_quota(session)
    raiser, other = f.make_user(session, "manager"), f.make_user(session, "clerk")
    purchases_raised_by(session, account.outlet, raiser)
    refused = ledger.actions(session, account, raiser)["grant_quota"]
    assert not refused and refused.reason == ledger.QUOTA_FOUR_EYES
    assert ledger.actions(session, account, other)["grant_quota"]

    # The guard gives the same answer, and books nothing; the other person grants it.
    with pytest.raises(NotAllowed, match="four eyes"):
        ledger.grant_quota(session, account.outlet, raiser)
    assert ledger.balance_of(session, account.outlet_id) == Decimal("3000.00")
    assert ledger.grant_quota(session, account.outlet, other).delta == Decimal("3000.00")


def test_whoever_lowered_the_purchases_may_bring_the_quota_down(session):  # R-PART-2: four eyes guard credits only
    outlet = f.make_outlet(session, total_purchase_amount=Decimal("2000000.00"))
    account = f.make_parts_account(session, outlet)
    manager = f.make_user(session, "manager")
    outlet.total_purchase_amount = Decimal("1000000.00")
    session.flush()
    purchases_raised_by(session, outlet, manager)
    assert ledger.actions(session, account, manager)["grant_quota"]
    assert ledger.grant_quota(session, outlet, manager).delta == Decimal("-3000.00")


@pytest.mark.parametrize("role", ("engineer", "dealer"))
def test_the_quota_guard_refuses_outside_the_center_and_books_nothing(session, role):  # R-PART-2
    account = account_short_of_its_quota(session)
    with pytest.raises(NotAllowed) as refused:
        ledger.grant_quota(session, account.outlet, someone(session, role, account))
    assert refused.value.message == ledger.QUOTA_ROLE
    assert ledger.account_of(session, account.outlet_id).quota == Decimal("3000.00")


def test_a_quota_in_line_is_left_alone_whoever_asks(session):  # R-PART-2: a second click is no error
    account = f.make_parts_account(session, f.make_outlet(session))
    assert ledger.grant_quota(session, account.outlet, f.make_user(session, "dealer", outlet=account.outlet)) is None


@pytest.mark.parametrize("role", ("clerk", "engineer", "dealer"))
def test_the_adjustment_guard_refuses_all_but_managers_and_books_nothing(session, role):  # R-PART-8
    account = f.make_parts_account(session, f.make_outlet(session), balance="100.00")
    user = someone(session, role, account)
    for attempt in (lambda: ledger.adjust(session, account.outlet_id, user, Decimal("-1.00"), "盘点", uuid.uuid4().hex),
                    lambda: ledger.check_correction(session, account.outlet_id, user, Decimal("1.00"), "冲回",
                                                    uuid.uuid4().hex)):
        with pytest.raises(NotAllowed) as refused:
            attempt()
        assert refused.value.message == ledger.ADJUST_ROLE
    assert ledger.balance_of(session, account.outlet_id) == Decimal("100.00")
