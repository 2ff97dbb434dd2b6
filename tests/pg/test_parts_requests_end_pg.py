"""A parts request ends once, under real concurrency on PostgreSQL (R-PART-10, R-PART-8): the
outlet withdrawing a request while the center reviews it, or while a manager decides its extra
batch, ends with exactly one of them done — never a withdrawn request with parts posted to the
account, nor an approval both decided and withdrawn.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from backoffice import approvals, parts_requests
from backoffice.approvals import ApprovalForbidden
from backoffice.errors import DomainError
from backoffice.parts_requests import LineDraft
from models import ApprovalRequest, Part, PartsRequest, User
from models.choices import LedgerKind as K
from tests.pg.test_parts_ledger_pg import T0, account_state, assert_derived, engine, new_outlet, run_together

__all__ = ["engine"]  # the fixture, shared with the ledger tests

REFUSED = (ApprovalForbidden, DomainError, StaleDataError)
ROUNDS = 4  # a few rounds, so both interleavings get their chance


def user(session: Session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def submitted(engine, outlet_id: int, batches: int = 1, exception_reason: str = "") -> int:
    """The outlet's `batches` requests of one sensor each; the id of the last one."""
    with Session(engine) as session:
        sensor = session.scalar(select(Part).where(Part.code == "P-NTC-01"))
        for n in range(batches):
            request = parts_requests.submit(session, outlet_id, user(session, "clerk"), [LineDraft(sensor.id, 1)],
                                            at=T0 + timedelta(seconds=n),
                                            exception_reason=exception_reason if n == batches - 1 else "")
        session.commit()
        return request.id


def race(engine, request_id: int, other) -> list[str]:
    """Thread 0 withdraws the request as the outlet's dealer, thread 1 runs `other`."""
    def work(session: Session, index: int) -> str:
        request = session.get(PartsRequest, request_id)
        try:
            if index == 0:
                parts_requests.withdraw(session, request, user(session, "dealer1"), at=T0 + timedelta(hours=1))
                done = "withdrawn"
            else:
                done = other(session, request)
            session.commit()
            return done
        except REFUSED:
            session.rollback()
            return "refused"

    results = run_together(engine, 2, work)
    return [results[0], results[1]]


def test_withdraw_racing_the_review_ends_the_request_once(engine):  # R-PART-10, R-PART-8
    def review(session: Session, request: PartsRequest) -> str:
        parts_requests.review(session, request, user(session, "clerk"),
                              {line.id: "on_account" for line in request.lines}, at=T0 + timedelta(hours=1))
        return "reviewed"

    for _ in range(ROUNDS):
        outlet_id = new_outlet(engine, funds="1000.00")
        request_id = submitted(engine, outlet_id)
        outcome = race(engine, request_id, review)
        assert sorted(outcome) in (["refused", "withdrawn"], ["refused", "reviewed"]), outcome
        balance, entries = account_state(engine, outlet_id)
        assert_derived(balance, entries)
        with Session(engine) as session:
            status = session.get(PartsRequest, request_id).status
        if "withdrawn" in outcome:  # nothing was posted for a withdrawn request
            assert status == "withdrawn" and [e.kind for e in entries] == [K.QUOTA.value]
            assert balance == Decimal("1000.00")
        else:
            assert status == "reviewed" and [e.kind for e in entries] == [K.QUOTA.value, K.ISSUE.value]


def test_withdraw_racing_the_managers_decision_closes_the_approval_once(engine):  # R-PART-10, R-ROLE-2
    def approve(session: Session, request: PartsRequest) -> str:
        asked = request.approvals[-1]
        approvals.decide(session, asked, user(session, "manager"), "approve", "同意加批")
        return "approved"

    for _ in range(ROUNDS):
        outlet_id = new_outlet(engine, funds="1000.00")
        request_id = submitted(engine, outlet_id, batches=3, exception_reason="促销备货")
        outcome = race(engine, request_id, approve)
        # Both may succeed only one after the other (a loaded machine can finish the approval before
        # the withdrawal starts): the batch approved, then the request — still not reviewed — taken
        # back, as R-PART-10 allows. Never an approval both decided and withdrawn.
        assert sorted(outcome) in (["refused", "withdrawn"], ["approved", "refused"],
                                   ["approved", "withdrawn"]), outcome
        with Session(engine) as session:
            request = session.get(PartsRequest, request_id)
            statuses = [a.status for a in session.scalars(select(ApprovalRequest).where(
                ApprovalRequest.parts_request_id == request_id))]
            if sorted(outcome) == ["approved", "withdrawn"]:
                assert (request.status, statuses) == ("withdrawn", ["approved"])
                assert request.reviewed_at is None  # nothing was issued on account
            elif "withdrawn" in outcome:
                assert (request.status, statuses) == ("withdrawn", ["withdrawn"])
            else:
                assert (request.status, statuses) == ("submitted", ["approved"])


def test_after_its_extra_batch_is_approved_a_request_not_yet_reviewed_may_still_be_withdrawn(engine):  # R-PART-10
    """The race above may run one after the other; this is that order, on purpose."""
    outlet_id = new_outlet(engine, funds="1000.00")
    request_id = submitted(engine, outlet_id, batches=3, exception_reason="促销备货")
    with Session(engine) as session:
        request = session.get(PartsRequest, request_id)
        approvals.decide(session, request.approvals[-1], user(session, "manager"), "approve", "同意加批")
        session.commit()
    with Session(engine) as session:
        request = session.get(PartsRequest, request_id)
        parts_requests.withdraw(session, request, user(session, "dealer1"), at=T0 + timedelta(hours=1))
        session.commit()
    with Session(engine) as session:
        request = session.get(PartsRequest, request_id)
        statuses = [a.status for a in request.approvals]
        assert (request.status, statuses, request.reviewed_at) == ("withdrawn", ["approved"], None)
