"""The migration head and the models agree; upgrade from empty works."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from models import db
from tests.conftest import make_app


def schema_differences(app):
    with app.app_context(), db.engine.connect() as connection:
        env = app.extensions["migrate"].configure_args
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "render_as_batch": env.get("render_as_batch", False)})
        return compare_metadata(context, db.metadata)


def test_upgrade_from_empty_then_models_match_the_head(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/m.db")
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
    assert {"ticket", "customer", "unit", "outlet", "user_account", "audit_entry"} <= tables
    assert schema_differences(app) == []


def test_downgrade_to_base_and_upgrade_again(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/d.db")
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
    assert schema_differences(app) == []


def test_upgrade_keeps_existing_tickets_and_gives_them_their_customers_area(tmp_path):
    from sqlalchemy import text

    app = make_app(f"sqlite:///{tmp_path}/old.db")
    with app.app_context():
        upgrade(revision="0001_foundation")
        with db.engine.begin() as conn:
            now = "2026-01-01 00:00:00"
            conn.execute(text("INSERT INTO outlet (id, code, name, region, address, service_phone, "
                              "duty_phone, total_purchase_amount, timezone, active, created_at, updated_at) "
                              "VALUES (1, 'O1', '网点', '', '', '', '', 0, 'Asia/Shanghai', 1, :t, :t)"), {"t": now})
            conn.execute(text("INSERT INTO customer (id, name, phone, phone2, address, region, area, outlet_id, "
                              "note, created_at, updated_at) VALUES (1, '张三', '13800000000', '', '', '', "
                              "'suburban', 1, '', :t, :t)"), {"t": now})
            conn.execute(text("INSERT INTO ticket (id, number, kind, channel, category, status, "
                              "fault_description, contact_name, contact_phone, address, customer_id, outlet_id, "
                              "version_id, created_at, updated_at) VALUES (1, 'SV20260101-0001', 'repair', "
                              "'hotline', 'quality', 'registered', '不点火', '', '', '', 1, 1, 1, :t, :t)"),
                         {"t": now})
        upgrade()
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT number, area, warranty_params FROM ticket")).one()
    assert row[0] == "SV20260101-0001" and row[1] == "suburban"
    assert schema_differences(app) == []


def test_network_approvals_migration_keeps_ticket_requests_and_queues_waiting_exceptions(app):
    """0009 on the demo data: down to 0008 drops only the requests without a ticket (the old
    schema cannot hold them) and sends incidents back to review; up again keeps the ticket
    requests as they were and gives each batch still waiting for its exception the approval
    request it now needs (R-PART-3)."""
    from sqlalchemy import text

    tickets_sql = "SELECT id, kind, status FROM approval_request WHERE ticket_id IS NOT NULL ORDER BY id"
    with app.app_context():
        with db.engine.connect() as conn:
            ticket_requests = conn.execute(text(tickets_sql)).all()
            assert conn.execute(text("SELECT count(*) FROM approval_request WHERE ticket_id IS NULL")).scalar() > 0
        downgrade(revision="0008_fee_claims")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT id, kind, status FROM approval_request ORDER BY id")).all() == \
                ticket_requests
            assert conn.execute(text(
                "SELECT count(*) FROM parts_request WHERE status = 'awaiting_incident'")).scalar() == 0
            waiting = conn.execute(text("SELECT id, exception_reason, requested_by_id FROM parts_request "
                                        "WHERE status = 'awaiting_exception' ORDER BY id")).all()
        assert waiting, "the demo has a batch waiting for its exception"
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text(tickets_sql)).all() == ticket_requests
            queued = conn.execute(text(
                "SELECT parts_request_id, reason, requested_by_id FROM approval_request WHERE kind = "
                "'parts_extra_batch' AND status = 'pending' AND ticket_id IS NULL ORDER BY parts_request_id")).all()
    assert [tuple(row) for row in queued] == [tuple(row) for row in waiting]
    assert schema_differences(app) == []
