"""R-ROLE-1 on PostgreSQL, through the real app: dealer1 (GZ-TH and its sub-outlet GZ-TH-01)
never sees an FS-SD ticket, gets 404 for one by id, and the list holds exactly the rows a
direct SQL query finds for its two outlets."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from tests.conftest import csrf_token, login

OWN = ("GZ-TH", "GZ-TH-01")
OTHER = "FS-SD"
PAGE_SIZE = 100  # one of Flask-Admin's page_size_options
LIST_COUNT_RE = re.compile(r'class="nav-link active">[^<(]*\((\d+)\)')  # the "List (N)" tab
DETAILS_ID_RE = re.compile(r"/admin/ticket/details/\?id=(\d+)")


def sql_ticket_ids(engine, codes) -> set[int]:
    """Straight SQL, no ORM and so no scope listener."""
    with engine.connect() as connection:
        return set(connection.execute(text(
            "SELECT t.id FROM ticket t JOIN outlet o ON o.id = t.outlet_id "
            "WHERE o.code = ANY(:codes)"), {"codes": list(codes)}).scalars())


def sql_ticket_count(engine, codes) -> int:
    with engine.connect() as connection:
        return connection.execute(text(
            "SELECT count(*) FROM ticket t JOIN outlet o ON o.id = t.outlet_id "
            "WHERE o.code = ANY(:codes)"), {"codes": list(codes)}).scalar_one()


def sql_ticket_numbers(engine, codes) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(text(
            "SELECT t.number FROM ticket t JOIN outlet o ON o.id = t.outlet_id "
            "WHERE o.code = ANY(:codes)"), {"codes": list(codes)}).scalars())


@pytest.fixture
def dealer1(pg_app):
    client = pg_app.test_client()
    response = login(client, "dealer1")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    client.csrf = csrf_token(client, "/admin/")
    return client


def list_pages(client):
    """Every page of dealer1's ticket list: (html, ids) per page, until an empty page."""
    pages = []
    for page in range(50):
        response = client.get(f"/admin/ticket/?page_size={PAGE_SIZE}&page={page}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        ids = {int(i) for i in DETAILS_ID_RE.findall(html)}
        if not ids:
            break
        pages.append((html, ids))
    return pages


def test_the_app_really_runs_on_postgresql_in_the_test_schema(pg_app, pg_engine):
    assert pg_engine.dialect.name == "postgresql"
    with pg_engine.connect() as connection:
        assert connection.execute(text("SELECT current_schema()")).scalar_one().startswith("bo_test_")
    assert sql_ticket_ids(pg_engine, (OTHER,)), "demo data has FS-SD tickets"
    assert sql_ticket_ids(pg_engine, OWN), "demo data has GZ-TH tickets"


def test_dealer_list_shows_exactly_own_outlets_tickets(dealer1, pg_engine):
    own = sql_ticket_ids(pg_engine, OWN)
    other = sql_ticket_ids(pg_engine, (OTHER,))
    pages = list_pages(dealer1)
    listed = set().union(*(ids for _html, ids in pages))
    assert not listed & other, "dealer1 sees FS-SD tickets"
    assert listed == own
    other_numbers = sql_ticket_numbers(pg_engine, (OTHER,))
    for html, _ids in pages:
        assert not any(number in html for number in other_numbers)


def test_dealer_list_count_matches_direct_sql_count(dealer1, pg_engine):
    expected = sql_ticket_count(pg_engine, OWN)
    assert expected > 0
    html = dealer1.get("/admin/ticket/").get_data(as_text=True)
    match = LIST_COUNT_RE.search(html)
    assert match, "no list count on the ticket list page"
    assert int(match.group(1)) == expected
    # Flask-Admin pages by 20 by default: the pager must offer exactly enough pages.
    pages = -(-expected // 20)
    assert f"page={pages - 1}" in html or pages == 1
    assert f"page={pages}" not in html


def test_dealer_gets_404_for_other_outlets_ticket_by_id(dealer1, pg_engine):
    other = sorted(sql_ticket_ids(pg_engine, (OTHER,)))
    for ticket_id in (other[0], other[len(other) // 2], other[-1]):
        for action in ("details", "edit"):
            response = dealer1.get(f"/admin/ticket/{action}/?id={ticket_id}")
            assert response.status_code == 404, (action, ticket_id)
    response = dealer1.post(f"/admin/ticket/edit/?id={other[0]}",
                            data={"fault_description": "hijacked", "csrf_token": dealer1.csrf})
    assert response.status_code == 404
    with pg_engine.connect() as connection:
        assert connection.execute(text("SELECT fault_description FROM ticket WHERE id = :id"),
                                  {"id": other[0]}).scalar_one() != "hijacked"


def test_dealer_can_open_own_ticket(dealer1, pg_engine):
    own = min(sql_ticket_ids(pg_engine, OWN))
    assert dealer1.get(f"/admin/ticket/details/?id={own}").status_code == 200
    assert dealer1.get(f"/admin/ticket/edit/?id={own}").status_code == 200


def test_dealer_search_for_other_outlets_number_finds_nothing(dealer1, pg_engine):
    number = sorted(sql_ticket_numbers(pg_engine, (OTHER,)))[0]
    html = dealer1.get(f"/admin/ticket/?search={number}").get_data(as_text=True)
    assert not DETAILS_ID_RE.search(html)
