"""Bench mode (issue 16, bench/bench.py): the stock Flask-Admin ticket list, the lean keyset page and
the timing headers exist only with app.config["BENCH"], never in production, and keep the row
scope (R-ROLE-1): a dealer sees only its outlet's tickets on them too."""
import re
import shutil

import pytest
from sqlalchemy.orm import Session

from backoffice.config import ConfigError, load_config
from models import db
from tests import factories as f
from tests.conftest import login, make_app

REFERENCES = ("/admin/stock_ticket/", "/bench/lean/tickets")
SERVER_TIMING = re.compile(r'^sql;dur=[\d.]+;desc="(\d+) statements", app;dur=[\d.]+$')


@pytest.fixture
def bench_app(demo_template, tmp_path):
    path = tmp_path / "bench.db"
    shutil.copy(demo_template, path)
    app = make_app(f"sqlite:///{path}", BENCH=True)
    yield app
    with app.app_context():
        db.engine.dispose()


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


@pytest.fixture
def two_dealers(bench_app):
    """Two fresh outlets, each with a dealer and one ticket (the newest tickets of all)."""
    with bench_app.app_context():
        engine = db.engine
    with Session(bind=engine) as session:
        found = {}
        for key in ("own", "other"):
            outlet = f.make_outlet(session)
            dealer = f.make_user(session, "dealer", outlet=outlet)
            customer = f.make_customer(session, outlet)
            ticket = f.make_ticket(session, customer, contact_phone=f"1360000{f.next_number():04d}")
            found[key] = {"dealer": dealer.username, "number": ticket.number, "phone": customer.phone,
                          "contact_phone": ticket.contact_phone}
        session.commit()
    return found


@pytest.mark.parametrize("url", REFERENCES)
def test_references_are_absent_without_bench_mode(login_as, url):
    assert login_as("manager").get(url).status_code == 404


def test_no_timing_headers_without_bench_mode(login_as):
    response = login_as("manager").get("/admin/")
    assert response.status_code == 200
    assert "Server-Timing" not in response.headers and "X-SQL-Statements" not in response.headers


@pytest.mark.parametrize("url", REFERENCES)
def test_references_are_present_in_bench_mode(bench_app, url):
    assert signed_in(bench_app, "manager").get(url).status_code == 200


@pytest.mark.parametrize("url", REFERENCES)
def test_references_need_a_signed_in_user(bench_app, url):
    response = bench_app.test_client().get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("url", REFERENCES)
def test_dealer_sees_only_its_outlets_rows_on_the_references(bench_app, two_dealers, url):
    """R-ROLE-1: the references go through the same scoped session as our list."""
    manager_page = signed_in(bench_app, "manager").get(url).get_data(as_text=True)
    assert two_dealers["own"]["number"] in manager_page and two_dealers["other"]["number"] in manager_page
    page = signed_in(bench_app, two_dealers["own"]["dealer"]).get(url).get_data(as_text=True)
    assert two_dealers["own"]["number"] in page
    assert two_dealers["other"]["number"] not in page


def test_lean_page_seeks_past_its_cursor_and_filters(bench_app, two_dealers):
    client = signed_in(bench_app, "manager")
    first = client.get("/bench/lean/tickets").get_data(as_text=True)
    cursor = re.search(r'href="(/bench/lean/tickets\?after=[^"]+)"', first)
    assert cursor, "a full page links to the next one"
    second = client.get(cursor.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert two_dealers["own"]["number"] in first and two_dealers["own"]["number"] not in second
    assert client.get("/bench/lean/tickets?after=not-a-cursor").status_code == 200  # the first page
    filtered = client.get("/bench/lean/tickets?status=closed").get_data(as_text=True)
    assert two_dealers["own"]["number"] not in filtered  # registered, not closed


def test_server_timing_headers_in_bench_mode(bench_app):
    response = signed_in(bench_app, "manager").get("/admin/")
    timing = SERVER_TIMING.match(response.headers["Server-Timing"])
    assert timing, response.headers["Server-Timing"]
    # Counted from the first hook: the user loader and the scope run statements before the view.
    assert int(timing.group(1)) == int(response.headers["X-SQL-Statements"]) > 1
    assert response.headers["X-Worker-Pid"].isdigit()


def test_streamed_export_carries_the_headers_too(bench_app):
    response = signed_in(bench_app, "manager").get("/admin/ticket/export/csv/")
    assert response.status_code == 200 and response.is_streamed
    assert "X-SQL-Statements" in response.headers and "Server-Timing" in response.headers


def test_bench_mode_is_refused_in_production(monkeypatch, tmp_path):
    monkeypatch.setenv("BACKOFFICE_BENCH", "1")
    monkeypatch.setenv("SECRET_KEY", "9f2c81d04be6a7f35c19e0d2b8a4f6c7e1d3b5a79c0e2f4a6b8d0c2e4f6a8b0c")
    monkeypatch.setenv("DATABASE_URL", "postgresql://bench@127.0.0.1/none")
    with pytest.raises(ConfigError, match="BACKOFFICE_BENCH"):
        load_config(str(tmp_path), {"BACKOFFICE_ENV": "production"})
    assert load_config(str(tmp_path), {"BACKOFFICE_ENV": "development"})["BENCH"] is True


def test_lean_page_finds_a_phone_by_customer_or_contact(bench_app, two_dealers):
    client = signed_in(bench_app, "manager")
    own, other = two_dealers["own"], two_dealers["other"]
    for phone in (own["phone"], own["contact_phone"]):
        page = client.get(f"/bench/lean/tickets?phone={phone}").get_data(as_text=True)
        assert own["number"] in page and other["number"] not in page
