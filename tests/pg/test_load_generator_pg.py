"""`flask gen-load` on PostgreSQL (issue 16, point 1): rows written with COPY into a fresh migrated
schema keep every constraint and the consistency the unit tests check on SQLite; the sequences
move past the ids given, so the app's next rows do not collide; the tables written are vacuumed
and analysed (fresh statistics, and visibility maps for index-only scans)."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from flask_migrate import upgrade
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backoffice import ledger
from models import LedgerEntry, Outlet, PartsAccount, db
from models.choices import LedgerKind
from tests import factories as f
from tests.unit.test_load_generator import check_consistency

TICKETS = 2000


def test_copy_writes_a_consistent_data_set_the_app_continues(empty_pg_app):
    app = empty_pg_app
    with app.app_context():
        upgrade()
        runner = app.test_cli_runner()
        result = runner.invoke(args=["gen-load", "--tickets", str(TICKETS), "--outlets", "30", "--seed", "3"])
        assert result.exit_code == 0, result.output
        assert "Added" in result.output and "Error" not in result.output
        assert "VACUUM ANALYZE of the " in result.output and "visibility maps for index-only scans" in result.output
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM ticket")).scalar() == TICKETS
            check_consistency(connection, now=datetime.now(UTC).replace(tzinfo=None))
            for table in ("ticket", "ticket_event", "ticket_counter", "ledger_entry"):  # this schema's tables
                vacuumed, analysed, visible = connection.execute(text(
                    "SELECT s.last_vacuum IS NOT NULL, s.last_analyze IS NOT NULL, c.relallvisible "
                    "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
                    "WHERE s.relid = CAST(:t AS regclass)"), {"t": table}).one()
                assert vacuumed and analysed and visible > 0, table
        with Session(bind=db.engine) as session:  # the sequences are past the generated ids
            outlet = session.scalars(select(Outlet).order_by(Outlet.id.desc())).first()
            customer = f.make_customer(session, outlet)
            ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer))
            entry = ledger.post(session, outlet.id, LedgerKind.ADJUSTMENT, Decimal("1.00"), source="test:gen-load",
                                reason="盘点差异")
            session.commit()
            assert ticket.id > TICKETS and entry.id > 0
            account = session.scalar(select(PartsAccount).where(PartsAccount.outlet_id == outlet.id))
            total = session.scalar(select(func.sum(LedgerEntry.delta)).where(LedgerEntry.account_id == account.id))
            assert total == account.balance
        # A second run adds to the first without a collision.
        result = runner.invoke(args=["gen-load", "--tickets", "500", "--outlets", "5", "--seed", "4"])
        assert result.exit_code == 0, result.output
        assert "(run 2)" in result.output
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM ticket")).scalar() == TICKETS + 501
            check_consistency(connection)
