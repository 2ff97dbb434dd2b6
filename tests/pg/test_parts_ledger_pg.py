"""R-PART-3 and R-PART-8 under real concurrency on PostgreSQL: an account never goes below zero
and its entries always sum to its balance, the same posting books once, the weekly limit of
request batches holds when submissions race, and the database itself refuses to change history.

Every thread has its own Session on its own connection (NullPool), opens its transaction
first, then waits at a barrier, so the transactions really contend on the server. Threads
run without a Flask request, like a job: services are unscoped. Each test opens outlets of
its own (random codes) in the session's demo schema, so the tests share nothing.
"""
from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from backoffice import ledger, parts_requests
from backoffice.errors import FieldErrors
from backoffice.parts_requests import LineDraft
from models import LedgerEntry, Outlet, Part, PartsAccount, PartsRequest, User
from models.choices import LedgerKind as K

# A Wednesday in May 2031, noon in Guangzhou: no demo week or month reaches it.
T0 = datetime(2031, 5, 14, 12, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


@pytest.fixture
def engine(pg_app, pg_demo_url):
    """The demo schema (built by pg_app), one fresh connection per Session: no pool to queue on."""
    engine = create_engine(pg_demo_url, poolclass=NullPool)
    yield engine
    engine.dispose()


def new_outlet(engine, funds: str | None = None, purchases: str = "0") -> int:
    """A committed outlet; with `funds`, its account holds exactly that (one quota entry at T0)."""
    code = f"PG-{uuid.uuid4().hex[:8]}"
    with Session(engine) as session:
        outlet = Outlet(code=code, name=f"并发测试 {code}", region="测试区",
                        total_purchase_amount=Decimal(purchases))
        session.add(outlet)
        session.flush()
        if funds is not None:
            ledger.post(session, outlet.id, K.QUOTA, Decimal(funds), source=f"pg-quota:{code}", at=T0)
        session.commit()
        return outlet.id


def run_together(engine, count: int, work) -> dict[int, object]:
    """work(session, index) in `count` threads released at once; returns index -> its result.
    Expected refusals are results (work catches them); anything else fails the test."""
    barrier = threading.Barrier(count, timeout=30)
    results: dict[int, object] = {}
    errors: list[tuple[int, BaseException]] = []
    lock = threading.Lock()

    def target(index: int) -> None:
        try:
            with Session(engine) as session:
                session.connection()  # the transaction is open on its own connection
                barrier.wait()
                result = work(session, index)
            with lock:
                results[index] = result
        except BaseException as exc:
            barrier.abort()
            with lock:
                errors.append((index, exc))

    threads = [threading.Thread(target=target, args=(i,), name=f"parts-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert not errors, f"{len(errors)} threads failed, first: {errors[0]!r}"
    return results


def account_state(engine, outlet_id: int) -> tuple[Decimal, list[LedgerEntry]]:
    with Session(engine) as session:
        balance = session.scalar(select(PartsAccount.balance).where(PartsAccount.outlet_id == outlet_id))
        entries = session.scalars(select(LedgerEntry).where(LedgerEntry.outlet_id == outlet_id)
                                  .order_by(LedgerEntry.id)).all()
        return balance, list(entries)


def assert_derived(balance: Decimal, entries: list[LedgerEntry]) -> None:
    """R-PART-8: each balance_after is the running sum; the entries sum to the balance."""
    running = Decimal("0.00")
    for entry in entries:
        running += entry.delta
        assert entry.balance_after == running >= 0, entry.source
    assert running == balance


def test_twenty_concurrent_issues_never_take_the_account_below_zero(engine):  # R-PART-2, R-PART-8
    threads, initial, amount = 20, Decimal("1000.00"), Decimal("150.00")  # room for 6 of 20
    outlet_id = new_outlet(engine, funds=str(initial))

    def issue(session: Session, index: int) -> str:
        try:
            ledger.post(session, outlet_id, K.ISSUE, -amount, source=f"pg-issue:{outlet_id}:{index}",
                        at=T0 + timedelta(minutes=1), reason=f"并发领用 #{index}")
            session.commit()
            return "booked"
        except ledger.OverQuota:
            session.rollback()
            return "over_quota"

    outcomes = list(run_together(engine, threads, issue).values())
    successes, refusals = outcomes.count("booked"), outcomes.count("over_quota")
    assert successes + refusals == threads
    assert successes == 6 and refusals == 14, outcomes

    final, entries = account_state(engine, outlet_id)
    assert final == Decimal("100.00") >= 0
    assert successes * amount == initial - final
    assert_derived(final, entries)
    issues = [e for e in entries if e.kind == K.ISSUE.value]
    assert len(issues) == successes
    assert [e.balance_after for e in issues] == [initial - amount * n for n in range(1, successes + 1)]


@pytest.mark.parametrize("funds", ["1000.00", "100.00"], ids=["room_for_both", "room_for_one"])
def test_the_same_posting_submitted_twice_at_once_books_once(engine, funds):  # R-PART-8
    rounds, amount = 5, Decimal("80.00")
    for _ in range(rounds):  # a few rounds, so both interleavings get their chance
        outlet_id = new_outlet(engine, funds=funds)
        source = f"parts_request_line:pg-{uuid.uuid4().hex[:8]}"

        def book(session: Session, index: int, outlet_id=outlet_id, source=source) -> int:
            entry = ledger.post(session, outlet_id, K.ISSUE, -amount, source=source, at=T0,
                                reason=f"双击 #{index}")
            entry_id = entry.id
            session.commit()
            return entry_id

        booked = run_together(engine, 2, book)
        assert len(set(booked.values())) == 1, booked  # both callers got the one entry
        final, entries = account_state(engine, outlet_id)
        assert [e.source for e in entries].count(source) == 1
        assert final == Decimal(funds) - amount
        assert_derived(final, entries)


def request_setup(engine, with_account: bool) -> tuple[int, int, int]:
    outlet_id = new_outlet(engine, funds="3000.00" if with_account else None)
    with Session(engine) as session:
        clerk = session.scalar(select(User.id).where(User.username == "clerk"))
        part = session.scalar(select(Part.id).where(Part.code == "P-NTC-01"))
    return outlet_id, clerk, part


@pytest.mark.parametrize("with_account", [True, False], ids=["account_open", "account_opened_on_the_fly"])
def test_racing_requests_past_the_weekly_limit_only_two_pass(engine, with_account):  # R-PART-3
    threads = 5
    outlet_id, clerk_id, part_id = request_setup(engine, with_account)

    def submit(session: Session, index: int):
        try:
            request = parts_requests.submit(session, outlet_id, session.get(User, clerk_id),
                                            [LineDraft(part_id, 1)], note=f"并发申请 #{index}",
                                            at=T0 + timedelta(seconds=index))
            batch = request.batch_no
            session.commit()
            return batch
        except FieldErrors as exc:
            session.rollback()
            return tuple(exc.errors)

    outcomes = list(run_together(engine, threads, submit).values())
    passed = sorted(o for o in outcomes if isinstance(o, int))
    refused = [o for o in outcomes if not isinstance(o, int)]
    assert passed == [1, 2], outcomes
    assert refused == [("exception_reason",)] * (threads - 2), outcomes
    with Session(engine) as session:
        stored = session.execute(select(PartsRequest.batch_no, PartsRequest.status)
                                 .where(PartsRequest.outlet_id == outlet_id)
                                 .order_by(PartsRequest.batch_no)).all()
        assert [tuple(row) for row in stored] == [(1, "submitted"), (2, "submitted")]
        assert session.scalar(select(func.count(PartsAccount.id))
                              .where(PartsAccount.outlet_id == outlet_id)) == 1


def test_racing_reviews_for_the_last_of_the_quota_post_one(engine):  # R-PART-2, R-PART-8
    outlet_id, clerk_id, _ = request_setup(engine, with_account=False)
    with Session(engine) as session:  # 300.00 left; two requests of 236.00 each want it on account
        ledger.post(session, outlet_id, K.QUOTA, Decimal("300.00"), source=f"pg-quota-r:{outlet_id}", at=T0)
        board = session.scalar(select(Part).where(Part.code == "P-PCB-01"))
        clerk = session.get(User, clerk_id)
        request_ids = [parts_requests.submit(session, outlet_id, clerk, [LineDraft(board.id, 1)], at=T0).id
                       for _ in range(2)]
        session.commit()

    def review(session: Session, index: int) -> str:
        request = session.get(PartsRequest, request_ids[index])
        try:
            parts_requests.review(session, request, session.get(User, clerk_id),
                                  {request.lines[0].id: "on_account"}, at=T0 + timedelta(hours=1))
            session.commit()
            return "reviewed"
        except FieldErrors:
            session.rollback()
            return "refused"

    outcomes = sorted(run_together(engine, 2, review).values())
    assert outcomes == ["refused", "reviewed"]
    final, entries = account_state(engine, outlet_id)
    assert final == Decimal("64.00")
    assert [e.kind for e in entries] == [K.QUOTA.value, K.ISSUE.value]
    assert_derived(final, entries)


def test_the_append_only_triggers_refuse_update_delete_and_truncate(engine):  # R-PART-8
    outlet_id = new_outlet(engine, funds="50.00")
    with Session(engine) as session:
        entry_id = session.scalar(select(LedgerEntry.id).where(LedgerEntry.outlet_id == outlet_id))
    with engine.connect() as connection:
        trigger = connection.execute(text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'ledger_entry'::regclass AND NOT tgisinternal"
        )).scalars().all()
        assert sorted(trigger) == ["ledger_entry_append_only", "ledger_entry_no_truncate"]
        for sql in ("UPDATE ledger_entry SET delta = 0, reason = '改' WHERE id = :id",
                    "UPDATE ledger_entry SET reason = reason WHERE outlet_id = :outlet",
                    "DELETE FROM ledger_entry WHERE id = :id",
                    "TRUNCATE ledger_entry CASCADE"):
            with pytest.raises(DBAPIError, match="append-only"):
                connection.execute(text(sql), {"id": entry_id, "outlet": outlet_id})
            connection.rollback()
    balance, entries = account_state(engine, outlet_id)
    assert [(e.id, e.delta, e.reason) for e in entries] == [(entry_id, Decimal("50.00"), "")]
    assert balance == Decimal("50.00")
