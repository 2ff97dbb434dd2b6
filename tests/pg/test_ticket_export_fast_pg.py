"""The ticket CSV from plain columns on PostgreSQL (issue 16): the same file as the ORM export it
replaced, for a dealer (R-ROLE-1: dealer1's GZ-TH and GZ-TH-01) and the center's staff, read
through server-side cursors in small blocks (one array parameter per block query), with the
demo's clocks, visits, repeats, codes and verdicts."""
from __future__ import annotations

import pytest

from models import utcnow
from tests.pg.test_streamed_exports_pg import signed_in
from views import ticket_export

EN = {"Accept-Language": "en"}


def body(client, url, monkeypatch, fast: bool) -> bytes:
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(ticket_export, "csv_batches", lambda *args, **kwargs: None)  # the ORM path
        response = client.get(url, headers=EN)
        assert response.status_code == 200 and response.is_streamed
        return b"".join(response.response)


@pytest.mark.parametrize("username", ["dealer1", "clerk", "manager"])
@pytest.mark.parametrize("query", ["", "?sort=0", "?search=13"])
def test_the_streamed_csv_is_the_orm_exports_file(pg_app, monkeypatch, username, query):
    monkeypatch.setitem(pg_app.config, "TICKET_EXPORT_BLOCK_ROWS", 7)  # many blocks
    monkeypatch.setitem(pg_app.config, "EXPORT_BATCH_ROWS", 5)
    now = utcnow()  # one "now" for both files: a clock falling due between them would differ
    monkeypatch.setattr(ticket_export, "utcnow", lambda: now)
    client = signed_in(pg_app, username)
    url = "/admin/ticket/export/csv/" + query
    fast = body(client, url, monkeypatch, fast=True)
    assert fast == body(client, url, monkeypatch, fast=False)
    assert fast.count(b"\n") > 2 or query  # the demo's tickets (a search may find a few)
