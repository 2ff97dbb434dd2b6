"""Streamed exports on PostgreSQL (issue 15 point 5): the CSV is read through a server-side cursor in
batches while the response is sent, with each batch's eager loads run on the same connection in
between; the dealer's row scope (R-ROLE-1) holds in every batch, and a cap is said, not silent."""
from __future__ import annotations

import csv
import io

from tests.conftest import login
from tests.pg.test_scope_pg import OTHER, OWN, sql_ticket_numbers


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def csv_numbers(response) -> list[str]:
    assert response.status_code == 200 and response.is_streamed
    body = b"".join(response.response)
    assert body.startswith(b"\xef\xbb\xbf")
    return [line[0] for line in list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[1:]]


def test_dealers_streamed_ticket_csv_holds_exactly_its_outlets_tickets(pg_app, pg_engine, monkeypatch):
    monkeypatch.setitem(pg_app.config, "EXPORT_BATCH_ROWS", 7)  # many batches through the cursor
    numbers = csv_numbers(signed_in(pg_app, "dealer1").get("/admin/ticket/export/csv/"))
    assert len(numbers) == len(set(numbers)) > 7
    assert set(numbers) == sql_ticket_numbers(pg_engine, OWN)
    assert not set(numbers) & sql_ticket_numbers(pg_engine, (OTHER,))


def test_a_capped_stream_says_so_on_postgresql(pg_app, monkeypatch):
    monkeypatch.setitem(pg_app.config, "EXPORT_BATCH_ROWS", 4)
    monkeypatch.setitem(pg_app.config, "EXPORT_STREAM_MAX_ROWS", 10)
    response = signed_in(pg_app, "clerk").get("/admin/ticket/export/csv/", headers={"Accept-Language": "en"})
    assert response.headers["X-Export-Truncated"] == "10"
    numbers = csv_numbers(response)
    assert len(numbers) == 11 and numbers[-1] == "Only the first 10 rows were exported; narrow the filter."
