"""Large list exports stream within the row scope instead of being cut silently (issue 15 point 5).

CSV is streamed in batches of EXPORT_BATCH_ROWS up to EXPORT_STREAM_MAX_ROWS rows, XLSX written row
by row up to EXPORT_MAX_ROWS. The rows are read while the response is sent, inside the request
(stream_with_context), so the dealer's scope (R-ROLE-1) still applies to every batch. When a cap
applies the file ends with a notice, the response carries X-Export-Truncated: <rows in the file>,
and the list page says how many rows the list has against the cap. Caps are set small per test
(the conftest restores the configuration after each test).
"""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import Customer, Ticket
from models.choices import Role
from tests import factories as f
from tests.web.test_ticket_export import filter_arg

EN = {"Accept-Language": "en"}
NOTICE = "Only the first %d rows were exported; narrow the filter."


def csv_lines(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), body[:20]
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def xlsx_lines(response) -> list[tuple]:
    assert response.status_code == 200
    return list(load_workbook(io.BytesIO(response.get_data())).active.iter_rows(values_only=True))


@pytest.fixture
def outlets(session):
    """Outlet A (12 tickets, a dealer reading English) and outlet B (7 tickets), each ticket of
    its own customer; a clerk reading English."""
    a, b = f.make_outlet(session), f.make_outlet(session)
    made = {key: [f.make_ticket(session, f.make_customer(session, outlet)) for _ in range(n)]
            for key, outlet, n in (("a", a, 12), ("b", b, 7))}
    people = {"dealer": f.make_user(session, Role.DEALER, outlet=a, locale="en"),
              "clerk": f.make_user(session, Role.CLERK, locale="en")}
    session.commit()
    return {"a": a, "b": b, "numbers": {k: {t.number for t in v} for k, v in made.items()}, **people}


def test_a_dealers_streamed_csv_holds_only_its_outlets_rows_in_every_batch(app, as_user, outlets):
    app.config["EXPORT_BATCH_ROWS"] = 5  # 12 rows and the demo dealer rows: several batches
    response = as_user(outlets["dealer"]).get("/admin/ticket/export/csv/", headers=EN)
    assert response.status_code == 200 and response.is_streamed
    chunks = list(response.response)  # read as the browser would, one chunk at a time
    assert len(chunks) == 1 + 3 and chunks[0].startswith(b"\xef\xbb\xbf")  # BOM and header, 3 batches of 5
    body = b"".join(chunks).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(body)))
    assert {line[0] for line in lines[1:]} == outlets["numbers"]["a"]  # its 12 tickets, none of B's
    assert "X-Export-Truncated" not in response.headers and "Only the first" not in body


def test_a_dealers_streamed_customer_csv_holds_only_its_customers(app, as_user, outlets, session):
    app.config["EXPORT_BATCH_ROWS"] = 4
    own = set(session.scalars(select(Customer.phone).where(Customer.outlet_id == outlets["a"].id)))
    lines = csv_lines(as_user(outlets["dealer"]).get("/admin/customer/export/csv/", headers=EN))
    column = lines[0].index("Phone")
    assert {line[column] for line in lines[1:]} == own and len(own) == 12


def test_a_capped_csv_ends_with_the_notice_and_says_so_in_a_header(app, as_user, outlets):
    app.config["EXPORT_STREAM_MAX_ROWS"] = 5
    app.config["EXPORT_BATCH_ROWS"] = 2
    url = f"/admin/ticket/export/csv/?flt0_{filter_arg(app, Ticket.outlet_id)}={outlets['a'].id}"
    response = as_user(outlets["clerk"]).get(url, headers=EN)
    assert response.headers["X-Export-Truncated"] == "5"
    lines = csv_lines(response)
    assert lines[-1] == [NOTICE % 5]
    assert len(lines) == 1 + 5 + 1 and {line[0] for line in lines[1:-1]} <= outlets["numbers"]["a"]


def test_the_csv_cap_does_not_cut_the_xlsx_and_the_xlsx_cap_not_the_csv(app, as_user, outlets):
    app.config["EXPORT_MAX_ROWS"] = 3  # the XLSX cap
    url = f"/admin/ticket/export/%s/?flt0_{filter_arg(app, Ticket.outlet_id)}={outlets['a'].id}"
    clerk = as_user(outlets["clerk"])
    whole = clerk.get(url % "csv", headers=EN)
    assert "X-Export-Truncated" not in whole.headers and len(csv_lines(whole)) == 1 + 12
    cut = clerk.get(url % "xlsx", headers=EN)
    assert cut.headers["X-Export-Truncated"] == "3"
    lines = xlsx_lines(cut)
    assert len(lines) == 1 + 3 + 1 and lines[-1][0] == NOTICE % 3
    assert {line[0] for line in lines[1:-1]} <= outlets["numbers"]["a"]


@pytest.mark.parametrize("endpoint", ["ticket", "customer", "unit", "ledger_entry", "audit", "return_visit",
                                      "parts_account", "user"])
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_every_screen_says_when_its_export_is_capped(app, login_as, endpoint, kind):
    app.config["EXPORT_STREAM_MAX_ROWS" if kind == "csv" else "EXPORT_MAX_ROWS"] = 1
    response = login_as("admin").get(f"/admin/{endpoint}/export/{kind}/", headers=EN)
    assert response.status_code == 200, endpoint
    assert response.headers["X-Export-Truncated"] == "1", endpoint
    last = csv_lines(response)[-1] if kind == "csv" else list(xlsx_lines(response)[-1])
    assert last[0] == NOTICE % 1 and len(csv_lines(response) if kind == "csv" else xlsx_lines(response)) == 3


@pytest.mark.parametrize("endpoint", ["ticket", "customer", "unit", "ledger_entry", "parts_account"])
def test_every_screen_exports_an_xlsx_that_opens_with_its_header(login_as, endpoint):
    lines = xlsx_lines(login_as("admin").get(f"/admin/{endpoint}/export/xlsx/", headers=EN))
    assert len(lines) >= 2 and all(isinstance(cell, str) and cell for cell in lines[0])


def test_the_list_page_says_how_many_rows_the_list_has_against_the_cap(app, as_user, outlets):
    app.config["EXPORT_MAX_ROWS"] = 10
    url = f"/admin/ticket/?flt0_{filter_arg(app, Ticket.outlet_id)}={outlets['a'].id}"
    clerk = as_user(outlets["clerk"])
    page = clerk.get(url, headers=EN).get_data(as_text=True)
    assert 'data-testid="export-cap-xlsx"' in page and 'data-testid="export-cap-csv"' not in page
    assert "This list has 12 rows: XLSX exports only the first 10." in page
    app.config["EXPORT_MAX_ROWS"] = 12  # the list fits: nothing to say
    assert "export-cap" not in clerk.get(url, headers=EN).get_data(as_text=True)
