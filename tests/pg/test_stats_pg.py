"""The summary rows on PostgreSQL (backoffice.stats, issue 16): kept by upserts (ON CONFLICT … DO
UPDATE) with every ORM write, under concurrent writers too, and filled by migration 0024's SQL
(the service zone's days and months computed by the database) exactly as counting again gives."""
from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from backoffice import stats
from models import ClockStat, QualityStat
from tests import factories as f
from tests.unit import test_stats as unit

MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0024_report_indexes.py"


@pytest.fixture
def pg_session(pg_engine):
    with Session(bind=pg_engine) as session:
        yield session
        session.rollback()  # the demo schema is shared by the session's PostgreSQL tests


def test_the_counts_are_kept_on_postgresql(pg_session):  # R-SLA-1, R-RPT-1
    unit.test_the_demo_data_is_counted_as_it_was_written(pg_session)
    unit.test_registering_and_walking_tickets_keeps_the_counts(pg_session)
    unit.test_pausing_resuming_and_meeting_clocks_keeps_the_counts(pg_session)
    unit.test_a_reopened_tickets_earlier_round_leaves_the_counts(pg_session)
    unit.test_a_ticket_handed_to_another_outlet_takes_its_clocks_and_faults_along(pg_session)
    unit.test_coding_the_fault_and_correcting_the_unit_keeps_the_counts(pg_session)
    unit.test_the_figures_read_from_the_rows_equal_the_clocks_counted(pg_session)


def test_the_migration_fills_the_rows_as_counting_again_gives(pg_session, app):
    customer = f.make_customer(pg_session, f.make_outlet(pg_session))
    f.make_ticket(pg_session, customer, unit=f.make_unit(pg_session, customer), status="closed")
    pg_session.flush()
    connection = pg_session.connection()
    connection.execute(ClockStat.__table__.delete())
    connection.execute(QualityStat.__table__.delete())
    spec = importlib.util.spec_from_file_location("migration_0024", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    migration.op = type("Op", (), {"get_bind": staticmethod(lambda: connection)})
    with app.app_context():
        migration._fill()
    assert stats.stored(connection) == stats.recount(connection)


def test_concurrent_writers_each_add_their_counts(pg_engine):
    """Two transactions register tickets of the same outlet at the same time: the increments of
    the same summary rows wait for each other and both count."""
    with Session(bind=pg_engine) as setup:
        outlet = f.make_outlet(setup)
        customers = [f.make_customer(setup, outlet) for _ in range(2)]
        setup.commit()
        customer_ids = [c.id for c in customers]
    barrier, errors = threading.Barrier(2), []

    def register(customer_id):
        try:
            with Session(bind=pg_engine) as session:
                from models import Customer
                customer = session.get(Customer, customer_id)
                barrier.wait()
                for _ in range(3):
                    f.make_ticket(session, customer, unit=f.make_unit(session, customer))
                session.commit()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(cid,)) for cid in customer_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Session(bind=pg_engine) as check:
        connection = check.connection()
        assert stats.stored(connection) == stats.recount(connection)
