"""Issue 18, a slow connection: pages, styles and scripts leave compressed when the browser asks;
the API's JSON and exports leave as they are (an integration may not decode them)."""
from __future__ import annotations

import gzip
import zlib

from tests import factories as f

GZIP = {"Accept-Encoding": "gzip"}
HTTP_BROWSER = {"Accept-Encoding": "gzip, deflate"}  # what Chromium asks for over plain http


def inflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data, 47)  # a gzip or zlib header
    except zlib.error:
        return zlib.decompress(data, -15)  # raw deflate


def test_the_login_page_leaves_gzipped_for_a_browser_that_asks(client):
    response = client.get("/login", headers=GZIP)
    assert response.headers["Content-Encoding"] == "gzip"
    assert "<form" in gzip.decompress(response.data).decode()


def test_a_page_stays_plain_for_a_client_that_does_not_ask(client):
    response = client.get("/login")
    assert "Content-Encoding" not in response.headers and b"<form" in response.data


def test_styles_and_scripts_leave_compressed(client):
    for path in ("/static/css/backoffice.css", "/static/js/signature.js",
                 "/admin/static/bootstrap/bootstrap4/css/bootstrap.min.css"):
        response = client.get(path, headers=HTTP_BROWSER)  # files are streamed: deflate, not gzip
        assert response.headers.get("Content-Encoding") in ("gzip", "deflate"), path
        assert len(inflate(response.data)) > 2 * len(response.data), path


def test_the_api_answers_plain_json_whatever_the_client_accepts(client, session):
    secret, _row = f.make_api_token(session)
    session.commit()
    response = client.get("/api/v1/tickets/SV00000000-0000",
                          headers={**GZIP, "Authorization": f"Bearer {secret}"})
    assert "Content-Encoding" not in response.headers and response.is_json


def test_the_ticket_export_is_not_compressed(login_as):
    response = login_as("clerk").get("/admin/ticket/export/csv/", headers=GZIP)
    assert response.status_code == 200 and "Content-Encoding" not in response.headers


def test_a_browser_revalidating_a_file_it_holds_gets_304(client):
    """A compressed file's ETag carries its encoding; asked again with it, nothing is resent:
    our files and Flask-Admin's (Bootstrap, jQuery) alike."""
    for path in ("/static/css/backoffice.css", "/admin/static/bootstrap/bootstrap4/css/bootstrap.min.css"):
        first = client.get(path, headers=HTTP_BROWSER)
        etag = first.headers["ETag"]
        again = client.get(path, headers={**HTTP_BROWSER, "If-None-Match": etag})
        assert again.status_code == 304 and not again.data, path
