"""Issue 17 (operations): every request has an id — in the X-Request-ID header, on every log
line written while it runs (JSON lines in production) and on the error page (backoffice/logs.py)."""
import io
import json
import logging

import pytest

from backoffice import logs
from tests.conftest import csrf_token


@pytest.fixture
def json_lines():
    """The app's log lines as the JSON handler writes them, captured."""
    handler = logs._handler("json")
    handler.setStream(io.StringIO())
    logging.getLogger().addHandler(handler)
    yield lambda: [json.loads(line) for line in handler.stream.getvalue().splitlines()]
    logging.getLogger().removeHandler(handler)


def test_every_response_carries_a_request_id(client):
    first, second = client.get("/login"), client.get("/login")
    assert len(first.headers["X-Request-ID"]) >= 8
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


def test_the_proxys_request_id_is_kept_and_a_malformed_one_replaced(client):
    assert client.get("/healthz", headers={"X-Request-ID": "lb-7f3a9c21e0"}).headers["X-Request-ID"] == "lb-7f3a9c21e0"
    for odd in ("short", "has spaces in it", "x" * 65, "<script>alert(1)</script>"):
        assert client.get("/healthz", headers={"X-Request-ID": odd}).headers["X-Request-ID"] != odd


def test_a_log_line_written_during_a_request_carries_its_id(client, json_lines):
    token = csrf_token(client)
    response = client.post("/login", data={"username": "clerk", "password": "demo1234", "csrf_token": token})
    lines = [line for line in json_lines() if "login_ok" in line["message"]]
    assert lines and lines[0]["request_id"] == response.headers["X-Request-ID"]
    assert {"time", "level", "logger", "message"} <= set(lines[0])


def test_the_error_page_shows_the_reference_of_its_request(login_as):
    response = login_as("clerk").get("/admin/ticket/details/?id=999999", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert f"Reference for the service desk: {response.headers['X-Request-ID']}" in response.get_data(as_text=True)
