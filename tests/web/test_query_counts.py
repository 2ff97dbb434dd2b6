"""Lists load what a row shows together with the rows (Flask-Admin joins the related columns it
lists): the statement count does not grow with the page size (no N+1)."""
import pytest
from sqlalchemy import event

from models import db


@pytest.fixture
def statements(app):
    seen = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("endpoint", ["ticket", "customer", "unit", "outlet", "appraisal", "user",
                                      "parts_request", "parts_account", "ledger_entry", "old_part", "parts_return",
                                      "parts_month"])
def test_list_statement_count_does_not_grow_with_rows(login_as, statements, endpoint):
    admin = login_as("admin")
    statements.clear()
    admin.get(f"/admin/{endpoint}/?page_size=20").get_data()
    small = len(statements)
    statements.clear()
    admin.get(f"/admin/{endpoint}/?page_size=100").get_data()
    assert len(statements) <= small + 1, statements[small:]
