"""Issue 17 on PostgreSQL: two workers race for one periodic job's slot and it runs once.

Two threads, each with its own app context (so its own session and connection), start the
month-end job for the same instant at the same moment, as two consumers of one Redis queue
would. The UNIQUE (job, slot) row lets one of them in; the other waits on that row's insert,
finds it taken and skips: one run recorded, one statement per outlet, no error."""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

from flask_migrate import upgrade
from sqlalchemy import func, select

from backoffice import job_runs, ledger, tasks
from backoffice.job_runs import Outcome
from models import JobRun, PartsReconciliation, db
from models.choices import JobStatus
from models.choices import LedgerKind as K
from tests import factories as f


def race(app, target, *args) -> list:
    """Run target(*args) in two threads released together; what each returned (or raised)."""
    start, results = threading.Barrier(2), []

    def worker():
        with app.app_context():
            start.wait()
            try:
                results.append(target(*args))
            except Exception as exc:  # a loser must skip, not fail: kept to be asserted
                results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_workers_racing_for_month_end_run_it_once(empty_pg_app):
    with empty_pg_app.app_context():
        upgrade()
        outlets = [f.make_outlet(db.session) for _ in range(3)]
        for outlet in outlets:
            ledger.post(db.session, outlet.id, K.QUOTA, Decimal("100.00"), source=f"race:{outlet.code}",
                        at=datetime(2031, 2, 10, 2, 0, tzinfo=UTC))
        db.session.commit()
        outlet_ids = [o.id for o in outlets]

    results = race(empty_pg_app, tasks.run_job, "month_end", datetime(2031, 3, 1, 3, 0, tzinfo=UTC))

    assert not [r for r in results if isinstance(r, Exception)], results
    ran = [r for r in results if r is not None]
    assert len(ran) == 1 and ran[0].status == JobStatus.DONE.value
    with empty_pg_app.app_context():
        runs = db.session.scalars(select(JobRun).where(JobRun.job == "month_end")).all()
        assert [(r.slot, r.attempts) for r in runs] == [("2031-02", 1)]
        per_outlet = db.session.execute(select(PartsReconciliation.outlet_id, func.count())
                                        .where(PartsReconciliation.month == date(2031, 2, 1))
                                        .group_by(PartsReconciliation.outlet_id)).all()
        assert sorted(per_outlet) == [(outlet_id, 1) for outlet_id in sorted(outlet_ids)]


def test_the_loser_of_a_race_does_not_run_the_work_even_while_the_winner_is_still_working(empty_pg_app):
    with empty_pg_app.app_context():
        upgrade()
    entered, ran = threading.Event(), []

    def slow(session):
        ran.append(threading.get_ident())
        entered.set()
        threading.Event().wait(0.5)  # the winner holds the slot a while
        return Outcome(1, "slow")

    results = race(empty_pg_app, lambda: job_runs.run_once(db.session, "probe", "slot-1", slow))

    assert len(ran) == 1 and entered.is_set()
    assert sorted(r is None for r in results) == [False, True]
