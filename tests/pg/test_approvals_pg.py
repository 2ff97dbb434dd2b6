"""R-RET-4 under real concurrency: two managers approve the same request at the same instant;
the request is decided once and its money posts exactly once."""
from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

from flask import g
from sqlalchemy import func, select

from backoffice import approvals, intake
from backoffice.timezones import local_today
from models import ApprovalRequest, MoneyPosting, Outlet, User, db
from tests import factories as f


def make_request(app) -> int:
    with app.app_context():
        g.actor_name = "test"
        # A unit of its own: one return, exchange or refund per purchased unit (R-RET-5).
        outlet = db.session.scalar(select(Outlet).where(Outlet.code == "GZ-TH"))
        unit = f.make_unit(db.session, f.make_customer(db.session, outlet),
                           invoice_date=local_today() - timedelta(days=2))
        ticket = intake.register_report(db.session, intake.Report(
            kind="return_exchange", fault="开箱即漏水", customer_id=unit.customer_id, unit_id=unit.id,
            outlet_id=unit.outlet_id), None)
        clerk = db.session.scalar(select(User).where(User.username == "clerk"))
        request = approvals.submit(db.session, ticket, clerk, approvals.Draft(
            kind="return_refund", grounds="sanbao_window", reason="七天内退货", amount=Decimal("100.00")))
        db.session.commit()
        return request.id


def test_two_managers_approving_at_once_post_once(pg_app):
    request_id = make_request(pg_app)
    barrier = threading.Barrier(2, timeout=20)
    outcomes: dict[str, str] = {}

    def approve(username: str) -> None:
        with pg_app.app_context():
            g.actor_name = username
            manager = db.session.scalar(select(User).where(User.username == username))
            request = db.session.get(ApprovalRequest, request_id)
            barrier.wait()
            try:
                approvals.decide(db.session, request, manager, "approve", f"{username} 同意")
                db.session.commit()
                outcomes[username] = "approved"
            except Exception as exc:  # the loser: stale version or unique posting
                db.session.rollback()
                outcomes[username] = type(exc).__name__
            finally:
                db.session.remove()

    threads = [threading.Thread(target=approve, args=(name,)) for name in ("manager", "admin")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes.values()).count("approved") == 1, outcomes
    with pg_app.app_context():
        postings = db.session.scalar(select(func.count()).select_from(MoneyPosting)
                                     .where(MoneyPosting.request_id == request_id))
        request = db.session.get(ApprovalRequest, request_id)
        assert postings == 1 and request.status == "approved"
        assert request.decided_by.username in outcomes and outcomes[request.decided_by.username] == "approved"


def test_the_same_posting_twice_is_refused_by_the_database(pg_app):
    import pytest
    from sqlalchemy.exc import IntegrityError

    request_id = make_request(pg_app)
    with pg_app.app_context():
        request = db.session.get(ApprovalRequest, request_id)
        for _ in range(2):
            db.session.add(MoneyPosting(request_id=request_id, kind="return_refund", amount=Decimal("1.00"),
                                        customer_id=request.ticket.customer_id, outlet_id=request.outlet_id))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
