"""Optimistic locking of tickets (version_id_col) and the audit trail, on PostgreSQL.

Two ORM sessions on two connections play two clerks editing the same ticket. The audit
entry is written by an after_flush listener on the flush's own connection, so it must live
and die with the change it describes.
"""
from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from models import AuditEntry, Outlet, Ticket


@pytest.fixture
def ctx(pg_app):
    """An app context (the audit reads the actor's name from g), no request: unscoped."""
    with pg_app.app_context():
        yield


def a_ticket_id(engine, code: str) -> int:
    with Session(engine) as session:
        return session.scalars(select(Ticket.id).join(Outlet).where(Outlet.code == code)
                               .order_by(Ticket.id)).first()


def ticket_audit(engine, ticket_id: int) -> list[tuple[str, str, dict]]:
    """The ticket's audit rows as another connection sees them (committed only)."""
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(
            "SELECT action, actor_name, changes FROM audit_entry "
            "WHERE table_name = 'ticket' AND record_id = :id ORDER BY id"), {"id": str(ticket_id)})]


def version_of(engine, ticket_id: int) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT version_id FROM ticket WHERE id = :id"),
                                  {"id": ticket_id}).scalar_one()


def test_second_concurrent_edit_is_refused_and_first_is_audited(ctx, pg_engine):
    ticket_id = a_ticket_id(pg_engine, "DG-NC")
    version = version_of(pg_engine, ticket_id)
    before = ticket_audit(pg_engine, ticket_id)

    with Session(pg_engine) as first, Session(pg_engine) as second:
        mine = first.get(Ticket, ticket_id)
        theirs = second.get(Ticket, ticket_id)
        assert mine.version_id == theirs.version_id == version
        old_phone, old_address = mine.contact_phone, theirs.address

        g.actor_name = "pg-first"
        mine.contact_phone = "13900000001"
        first.commit()

        g.actor_name = "pg-second"
        theirs.address = "广州市越秀区被覆盖的地址1号"
        with pytest.raises(StaleDataError):
            second.commit()
        second.rollback()

    assert version_of(pg_engine, ticket_id) == version + 1
    with pg_engine.connect() as connection:
        phone, address = connection.execute(text(
            "SELECT contact_phone, address FROM ticket WHERE id = :id"), {"id": ticket_id}).one()
    assert (phone, address) == ("13900000001", old_address), "the stale edit must not land"

    after = ticket_audit(pg_engine, ticket_id)
    new = after[len(before):]
    assert len(new) == 1, new  # the refused edit left no trace
    action, actor, changes = new[0]
    assert (action, actor) == ("update", "pg-first")
    assert changes == {"contact_phone": [old_phone, "13900000001"],
                       "version_id": [version, version + 1]}


def test_audit_entry_is_in_the_same_transaction_as_the_change(ctx, pg_engine):
    ticket_id = a_ticket_id(pg_engine, "SC-GZ")
    before = ticket_audit(pg_engine, ticket_id)
    version = version_of(pg_engine, ticket_id)

    with Session(pg_engine) as session:
        g.actor_name = "pg-rolled-back"
        ticket = session.get(Ticket, ticket_id)
        old = ticket.fault_description
        ticket.fault_description = "回滚测试：不应留下审计记录"
        session.flush()
        # Inside the transaction the entry exists, with old -> new ...
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.table_name == "ticket", AuditEntry.record_id == str(ticket_id))
            .order_by(AuditEntry.id.desc())).first()
        assert entry.actor_name == "pg-rolled-back"
        assert entry.changes["fault_description"] == [old, "回滚测试：不应留下审计记录"]
        # ... but no other connection can see it before commit ...
        assert ticket_audit(pg_engine, ticket_id) == before
        session.rollback()

    # ... and the rollback took it away together with the change.
    assert ticket_audit(pg_engine, ticket_id) == before
    assert version_of(pg_engine, ticket_id) == version
    with pg_engine.connect() as connection:
        assert connection.execute(text(
            "SELECT count(*) FROM audit_entry WHERE actor_name = 'pg-rolled-back'")).scalar_one() == 0


def test_stale_save_through_the_edit_form_is_refused_on_postgresql(pg_app, pg_engine):
    """The same race through the UI: a clerk saves with the version the form was loaded at."""
    from tests.conftest import csrf_token, login

    ticket_id = a_ticket_id(pg_engine, "DG-NC")
    client = pg_app.test_client()
    assert login(client, "clerk").status_code == 302
    token = csrf_token(client, "/admin/")
    loaded = version_of(pg_engine, ticket_id)

    # Somebody else saves first.
    with pg_app.app_context(), Session(pg_engine) as other:
        g.actor_name = "pg-other-clerk"
        other.get(Ticket, ticket_id).contact_name = "其他人先保存"
        other.commit()

    with pg_engine.connect() as connection:
        row = connection.execute(text(
            "SELECT customer_id, unit_id, kind, channel, category, outlet_id, contact_phone, "
            "address FROM ticket WHERE id = :id"), {"id": ticket_id}).mappings().one()
    response = client.post(f"/admin/ticket/edit/?id={ticket_id}", data={
        "customer": str(row["customer_id"]), "unit": str(row["unit_id"] or ""),
        "kind": row["kind"], "channel": row["channel"], "category": row["category"],
        "fault_description": "我的修改", "contact_name": "我的名字",
        "contact_phone": row["contact_phone"], "address": row["address"],
        "outlet": str(row["outlet_id"]), "assigned_engineer": "__None",
        "loaded_version": str(loaded), "csrf_token": token})
    assert response.status_code == 200  # the form comes back with the message
    with pg_engine.connect() as connection:
        name, fault = connection.execute(text(
            "SELECT contact_name, fault_description FROM ticket WHERE id = :id"),
            {"id": ticket_id}).one()
    assert name == "其他人先保存" and fault != "我的修改"
    assert "其他人先保存" in response.get_data(as_text=True)  # the other change is shown
