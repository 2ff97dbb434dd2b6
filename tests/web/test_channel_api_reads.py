"""The channel API reads back only its own channel's tickets, a limited number of times, and says
which methods an address takes."""
from __future__ import annotations

from sqlalchemy import select

from models import Ticket
from tests import factories as f
from tests.web.test_channel_api import auth, body, token  # noqa: F401  (the token fixture)


def test_a_token_reads_the_tickets_of_its_own_channel(client, token):  # noqa: F811
    number = client.post("/api/v1/tickets", json=body(), headers=auth(token)).json["number"]
    response = client.get(f"/api/v1/tickets/{number}", headers=auth(token))
    assert response.status_code == 200 and response.json["channel"] == "wechat"


def test_a_token_cannot_read_a_ticket_of_another_channel(client, token, session):  # noqa: F811
    hotline = session.scalars(select(Ticket).where(Ticket.channel == "hotline")).first()
    response = client.get(f"/api/v1/tickets/{hotline.number}", headers=auth(token))
    assert response.status_code == 404 and response.json["error"] == "not_found"


def test_another_channels_token_gets_the_same_answer_as_for_no_ticket(app, client, token, session):  # noqa: F811
    number = client.post("/api/v1/tickets", json=body(), headers=auth(token)).json["number"]
    email_token, _row = f.make_api_token(session, channel="email")
    session.commit()
    theirs = client.get(f"/api/v1/tickets/{number}", headers=auth(email_token))
    missing = client.get("/api/v1/tickets/SV20000101-9999", headers=auth(email_token))
    assert theirs.status_code == missing.status_code == 404 and theirs.json == missing.json


def test_reads_are_rate_limited_per_token(app, client, token, session):  # noqa: F811
    app.config["API_READ_LIMIT"] = (3, 1)
    number = client.post("/api/v1/tickets", json=body(), headers=auth(token)).json["number"]
    answers = [client.get(f"/api/v1/tickets/{number}", headers=auth(token)).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    limited = client.get("/api/v1/tickets/SV20000101-9999", headers=auth(token))
    assert limited.status_code == 429 and limited.is_json and int(limited.headers["Retry-After"]) > 0
    other, _row = f.make_api_token(session, channel="wechat")
    session.commit()
    assert client.get(f"/api/v1/tickets/{number}", headers=auth(other)).status_code == 200  # per token


def test_a_405_names_the_allowed_methods(client, token, login_as):  # noqa: F811
    api = client.delete("/api/v1/tickets", headers=auth(token))
    assert api.status_code == 405 and api.is_json and "POST" in api.headers["Allow"]
    page = login_as("clerk").post("/admin/ticket/export/csv/")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]


def test_the_openapi_document_says_reads_are_per_channel_and_limited(client):
    document = client.get("/api/v1/openapi.json").json
    responses = document["paths"]["/tickets/{number}"]["get"]["responses"]
    assert "429" in responses and "channel" in responses["404"]["description"]
