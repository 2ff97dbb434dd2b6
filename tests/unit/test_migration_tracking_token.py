"""Migration 0026 on an existing SQLite database: the tickets already there keep no token (none is
backfilled: one is made when a message first needs it); many tickets may have none, no two share one."""
import pytest
from flask_migrate import upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from models import db
from tests.conftest import make_app

NOW = {"t": "2026-01-01 00:00:00"}


def old_tickets(conn) -> None:
    conn.execute(text("INSERT INTO outlet (id, code, name, region, address, service_phone, duty_phone, "
                      "total_purchase_amount, timezone, active, created_at, updated_at) "
                      "VALUES (1, 'O1', '网点', '', '', '', '', 0, 'Asia/Shanghai', 1, :t, :t)"), NOW)
    conn.execute(text("INSERT INTO customer (id, name, phone, phone2, address, region, area, outlet_id, note, "
                      "created_at, updated_at) VALUES (1, '张三', '13800000000', '', '', '', 'urban', 1, '', "
                      ":t, :t)"), NOW)
    for n in (1, 2):
        conn.execute(text("INSERT INTO ticket (id, number, kind, channel, category, status, fault_description, "
                          "contact_name, contact_phone, address, customer_id, outlet_id, version_id, created_at, "
                          "updated_at, area, queue, warranty_params) VALUES (:n, :number, 'repair', 'hotline', "
                          "'quality', 'registered', '不点火', '', '', '', 1, 1, 1, :t, :t, 'urban', 'service', '{}')"),
                     {**NOW, "n": n, "number": f"SV20260101-000{n}"})


def test_upgrade_from_0025_keeps_the_tickets_without_a_token_and_the_token_is_unique(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/old.db")
    with app.app_context():
        upgrade(revision="0025_notifications_jobs")
        with db.engine.begin() as conn:
            old_tickets(conn)
        upgrade()
        indexes = {i["name"]: i for i in inspect(db.engine).get_indexes("ticket")}
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT number, tracking_token FROM ticket ORDER BY id")).all() == [
                ("SV20260101-0001", None), ("SV20260101-0002", None)]
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE ticket SET tracking_token = 'tok-1' WHERE id = 1"))
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(text("UPDATE ticket SET tracking_token = 'tok-1' WHERE id = 2"))
    assert indexes["ix_ticket_tracking_token"]["unique"] and indexes["ix_ticket_tracking_token"][
        "column_names"] == ["tracking_token"]
