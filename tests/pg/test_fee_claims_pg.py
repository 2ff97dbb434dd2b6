"""R-FEE-1/2 under real concurrency on PostgreSQL: two runs generating claims, or settling the
same outlet and month, at the same time. The first run holds its uncommitted rows; the second
blocks on the UNIQUE index (ticket_id; outlet+month), then finds the first run's rows once
committed: one claim per ticket, one batch per outlet and month, and no error for either."""
from __future__ import annotations

import threading
import time

from flask import g
from sqlalchemy import func, select

from backoffice import fee_claims, reconciliation
from backoffice.timezones import local_today
from models import FeeBatch, FeeClaim, Outlet, Ticket, User, db


def user(username):
    return db.session.scalar(select(User).where(User.username == username))


def outlet_id(app, code) -> int:
    with app.app_context():
        return db.session.scalar(select(Outlet.id).where(Outlet.code == code))


def run_second(app, work, outcome: dict) -> threading.Thread:
    """`work()` in another thread with its own app context, session and connection."""
    def target():
        with app.app_context():
            g.actor_name = "second"
            try:
                outcome["result"] = work()
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                outcome["error"] = repr(exc)
            finally:
                db.session.remove()
    thread = threading.Thread(target=target, name="fees-second")
    thread.start()
    return thread


def test_two_runs_generating_at_once_claim_each_ticket_once(pg_app):
    with pg_app.app_context():
        g.actor_name = "test"
        ticket = db.session.scalars(select(Ticket).join(Outlet).where(
            Outlet.code == "DG-NC", Ticket.status.in_(("registered", "diagnosed"))).order_by(Ticket.id)).first()
        ticket.status, ticket.in_warranty = "resolved", True
        ticket_id = ticket.id
        db.session.commit()
    outcome: dict = {}
    with pg_app.app_context():
        g.actor_name = "first"
        created = fee_claims.generate(db.session, None, user("clerk"))  # flushed, not committed
        assert [c.ticket_id for c in created] == [ticket_id]
        second = run_second(pg_app, lambda: [c.ticket_id for c in
                                             fee_claims.generate(db.session, None, user("manager"))], outcome)
        time.sleep(0.5)  # the second run is now waiting on the UNIQUE ticket_id
        db.session.commit()
        second.join(30)
        assert outcome == {"result": []}
        count = db.session.scalar(select(func.count()).select_from(FeeClaim).where(FeeClaim.ticket_id == ticket_id))
        assert count == 1


def test_two_runs_settling_the_same_month_make_one_batch(pg_app):
    outlet = outlet_id(pg_app, "GZ-TH")
    month = reconciliation.previous_month(local_today())
    outcome: dict = {}
    with pg_app.app_context():
        g.actor_name = "first"
        batch = fee_claims.settle_month(db.session, outlet, month, user("clerk"))  # flushed, not committed
        second = run_second(pg_app, lambda: fee_claims.settle_month(db.session, outlet, month,
                                                                     user("manager")).id, outcome)
        time.sleep(0.5)  # the second run is now waiting on UNIQUE (outlet_id, month)
        db.session.commit()
        second.join(30)
        assert outcome == {"result": batch.id}
        batches = db.session.scalars(select(FeeBatch).where(FeeBatch.outlet_id == outlet,
                                                            FeeBatch.month == month)).all()
        assert [b.id for b in batches] == [batch.id]
        settled = db.session.scalars(select(FeeClaim).where(FeeClaim.batch_id == batch.id)).all()
        assert sum((c.approved_total for c in settled), batch.claims_total * 0) == batch.claims_total
