"""Issue 16 on PostgreSQL: the ticket search finds by phone, number, name and address through
indexes (B-tree for numbers and phones, pg_trgm for partial names, addresses and phones, made by
migration 0023), and the same search through the app finds the same tickets for the clerk and
only the dealer's own for a dealer (R-ROLE-1)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backoffice import ticket_search
from models import Ticket, db
from tests import factories as f
from tests.conftest import csrf_token, login


@pytest.fixture(scope="module")
def desk(pg_app):
    """Made once: the demo schema is shared by the whole session (phones are unique)."""
    with pg_app.app_context():
        engine = db.engine
    with Session(bind=engine) as session:
        world = f.make_service_network(session)
        wang = f.make_customer(session, world["a"], name="欧阳秀英", phone="13512345678",
                               address="广州市越秀区试验巷九号")
        ticket = f.make_ticket(session, wang, contact_phone="186 5555 0000")
        other = f.make_ticket(session, f.make_customer(session, world["b"], phone="13587654321"))
        session.commit()
        return {"number": ticket.number, "other": other.number, "clerk": world["clerk"].username,
                "dealer_b": world["dealer_b"].username}


def plan(engine, text_typed: str) -> str:
    """EXPLAIN of the list's search with sequential scans priced out: what indexes can answer."""
    with Session(bind=engine) as session:
        stmt = select(Ticket.id).where(ticket_search.condition(session, text_typed))
        compiled = stmt.compile(engine, compile_kwargs={"literal_binds": True})
        session.execute(text("SET enable_seqscan = off"))
        rows = session.execute(text(f"EXPLAIN {compiled}")).scalars().all()
        session.rollback()
    return "\n".join(rows)


@pytest.mark.parametrize("typed", ["13512345678", "5678", "SV20261202-0001", "欧阳秀英", "试验巷九号", "186 5555"])
def test_every_kind_of_search_is_answered_from_an_index(pg_engine, desk, typed):
    shown = plan(pg_engine, typed)
    assert "Seq Scan on ticket" not in shown, shown
    assert "Seq Scan on customer" not in shown, shown


def rows_found(client, typed) -> set[str]:
    html = client.get("/admin/ticket/", query_string={"search": typed}).get_data(as_text=True)
    return set(re.findall(r">\s*(SV\d{8}-\d{4,})\s*<", html))


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    client.csrf = csrf_token(client, "/admin/")
    return client


def test_clerk_finds_by_phone_tail_contact_phone_name_and_address(pg_app, desk):
    clerk = signed_in(pg_app, desk["clerk"])
    for typed in ("13512345678", "135-1234-5678", "2345678", "18655550000", "欧阳秀", "越秀区试验巷"):
        assert desk["number"] in rows_found(clerk, typed), typed


def test_dealer_finds_only_its_own_outlets_tickets(pg_app, desk):
    dealer_b = signed_in(pg_app, desk["dealer_b"])
    assert rows_found(dealer_b, "13512345678") == set()
    assert rows_found(dealer_b, desk["number"]) == set()
    assert rows_found(dealer_b, "13587654321") == {desk["other"]}
