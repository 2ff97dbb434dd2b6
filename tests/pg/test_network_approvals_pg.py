"""The dealer network's approvals under real concurrency on PostgreSQL (R-PART-2, R-FEE-2,
R-PART-8, R-RET-4): two managers approving the same quality incident at once issue the parts
and credit the account once; two clerks reporting the same overcharge at once open one request.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from backoffice import approvals, network_approvals, parts_requests
from backoffice.approvals import ApprovalForbidden
from backoffice.errors import DomainError
from backoffice.parts_requests import LineDraft
from models import ApprovalRequest, FeeClaim, Part, PartsRequest, User
from tests.pg.test_parts_ledger_pg import T0, account_state, assert_derived, engine, new_outlet, run_together

__all__ = ["engine"]  # the fixture, shared with the ledger tests

REFUSED = (ApprovalForbidden, DomainError, StaleDataError)


def user(session: Session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def waiting_incident(engine, outlet_id: int) -> tuple[int, int]:
    """A request of 8 heat exchangers (3,360.00) on account against 3,000.00, sent to a manager."""
    with Session(engine) as session:
        part = session.scalar(select(Part).where(Part.code == "P-HEX-01"))
        request = parts_requests.submit(session, outlet_id, user(session, "clerk"), [LineDraft(part.id, 8)], at=T0)
        asked = network_approvals.ask_incident(session, request, user(session, "clerk"),
                                               {line.id: "on_account" for line in request.lines}, "批次渗漏")
        session.commit()
        return request.id, asked.id


def test_two_managers_approving_one_incident_at_once_issue_once(engine):  # R-PART-8, R-RET-4
    outlet_id = new_outlet(engine, funds="3000.00")
    request_id, approval_id = waiting_incident(engine, outlet_id)

    def approve(session: Session, index: int) -> str:
        manager = user(session, ("manager", "admin")[index])
        asked = session.get(ApprovalRequest, approval_id)
        try:
            approvals.decide(session, asked, manager, "approve", "同意")
            session.commit()
            return "approved"
        except REFUSED as exc:
            session.rollback()
            return type(exc).__name__

    results = run_together(engine, 2, approve)
    assert sorted(results.values()).count("approved") == 1, results
    balance, entries = account_state(engine, outlet_id)
    assert_derived(balance, entries)
    assert balance == Decimal("0.00")
    assert [(e.kind, e.delta) for e in entries] == [
        ("quota", Decimal("3000.00")), ("adjustment", Decimal("360.00")), ("issue", Decimal("-3360.00"))]
    with Session(engine) as session:
        assert session.get(PartsRequest, request_id).status == "reviewed"
        assert session.get(ApprovalRequest, approval_id).status == "approved"


def test_two_clerks_reporting_one_overcharge_at_once_open_one_request(engine):  # R-FEE-2
    with Session(engine) as session:
        open_ = exists().where(ApprovalRequest.fee_claim_id == FeeClaim.id)
        claim_id = session.scalar(select(FeeClaim.id).where(
            FeeClaim.status == "approved", FeeClaim.charge_back == 0, ~open_).order_by(FeeClaim.id))
    assert claim_id is not None

    def report(session: Session, index: int) -> str:
        claim = session.get(FeeClaim, claim_id)
        try:
            network_approvals.ask_chargeback(session, claim, user(session, ("clerk", "manager")[index]),
                                             Decimal("5.00"), f"多报路程 {index}")
            session.commit()
            return "asked"
        except DomainError:
            session.rollback()
            return "refused"

    results = run_together(engine, 2, report)
    assert sorted(results.values()) == ["asked", "refused"], results
    with Session(engine) as session:
        asked = session.scalars(select(ApprovalRequest).where(ApprovalRequest.fee_claim_id == claim_id)).all()
        assert len(asked) == 1 and asked[0].status == "pending"
