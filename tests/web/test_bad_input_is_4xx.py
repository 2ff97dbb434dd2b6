"""Bad input is a 4xx with a message, never a 500.

Some of these only broke on PostgreSQL (a NUL byte in text), others everywhere (an SQL offset
past BIGINT, a JSON body 100,000 levels deep): each is refused before the database or the
parser is reached, as an HTML page for people and as JSON for the channel API.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from models import Customer, Ticket
from tests import factories as f
from tests.conftest import csrf_token
from tests.web.test_channel_api import auth, body, token  # noqa: F401  (the token fixture)
from tests.web.test_forms_per_role import admin_views

HUGE = "99999999999999999999"


def text(response) -> str:
    return response.get_data(as_text=True)


def says_why(response, code=400):
    assert response.status_code == code, (response.status_code, text(response)[:300])
    assert "cannot be stored" in text(response) or "无法保存" in text(response) or response.is_json


def list_endpoints(app):
    return [endpoint for endpoint, view in admin_views(app).items() if "admin" in view.roles]


# --- lists -----------------------------------------------------------------------------------------

def test_a_page_number_past_any_list_is_400_with_a_message_on_every_list(app, login_as):
    admin = login_as("admin")
    for endpoint in list_endpoints(app):
        for page in (HUGE, "-1"):
            response = admin.get(f"/admin/{endpoint}/?page={page}", headers={"Accept-Language": "en"})
            assert response.status_code == 400, (endpoint, page, response.status_code)
            assert "no such page" in text(response), endpoint


def test_a_page_just_past_the_end_is_an_empty_list(login_as):
    assert login_as("clerk").get("/admin/ticket/?page=499").status_code == 200


def test_a_page_past_the_paging_cap_says_to_narrow_the_list(login_as):
    """Issue 16: lists page through their first LIST_COUNT_CAP (10,000) rows; further on, the
    page says how to get there instead of reading past ten thousand rows."""
    response = login_as("clerk").get("/admin/ticket/?page=500", headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "first 10,000 rows only" in text(response)


# --- ticket steps and ids ------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["", "abc", "1.5", "²", "١", HUGE, " 3 "])
def test_a_mangled_loaded_version_never_breaks_a_step(login_as, session, version):
    ticket = f.ticket_of(session, "GZ-TH", status="registered")
    clerk = login_as("clerk")
    response = clerk.post(f"/admin/ticket/transition/diagnose/?id={ticket.id}",
                          data={"csrf_token": clerk.csrf, "loaded_version": version})
    assert response.status_code in (200, 302), response.status_code


@pytest.mark.parametrize("url", ["/admin/intake/receipt/" + "9" * 25, "/admin/ticket/attachment/" + "9" * 25,
                                 f"/admin/ticket/details/?id={HUGE}", f"/admin/intake/add/{'9' * 25}"])
def test_ids_of_25_digits_are_not_found(login_as, url):
    clerk = login_as("clerk")
    response = clerk.post(url, data={"csrf_token": clerk.csrf}) if "/add/" in url else clerk.get(url)
    assert response.status_code == 404


def test_intake_ids_that_are_digits_to_python_but_not_numbers_are_ignored(login_as):
    clerk = login_as("clerk")
    response = clerk.post("/admin/intake/", data={"csrf_token": clerk.csrf, "customer_id": "²", "unit_id": HUGE,
                                                  "outlet_id": "١", "kind": "repair", "fault": "不出热水"})
    assert response.status_code == 200


# --- the channel API -------------------------------------------------------------------------------

@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00"])
def test_an_api_occurrence_at_the_ends_of_the_calendar_is_a_field_error(client, token, moment):  # noqa: F811
    response = client.post("/api/v1/tickets", json=body(occurred_at=moment), headers=auth(token))
    assert response.status_code == 422 and "occurred_at" in response.json["fields"]


def test_a_lone_surrogate_in_the_api_body_is_400_json(client, token, session):  # noqa: F811
    before = session.scalar(select(func.count()).select_from(Ticket))
    payload = json.dumps(body(fault="点不着火\ud800"))  # json.dumps escapes it as \\ud800
    response = client.post("/api/v1/tickets", data=payload, content_type="application/json", headers=auth(token))
    assert response.status_code == 400 and response.is_json and response.json["error"] == "bad_request"
    assert session.scalar(select(func.count()).select_from(Ticket)) == before


def test_json_nested_100000_deep_is_400_json(client, token):  # noqa: F811
    payload = '{"fault": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.post("/api/v1/tickets", data=payload, content_type="application/json", headers=auth(token))
    assert response.status_code == 400 and response.is_json


def test_an_api_body_over_the_size_limit_is_413_json(app, client, token):  # noqa: F811
    payload = json.dumps(body(fault="长" * (app.config["MAX_CONTENT_LENGTH"] // 2)))
    response = client.post("/api/v1/tickets", data=payload, content_type="application/json", headers=auth(token))
    assert response.status_code == 413 and response.is_json and response.json["error"]


def test_an_api_failure_is_500_json_not_html(app, client, token, monkeypatch):  # noqa: F811
    from backoffice import intake

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(intake, "register_report", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.post("/api/v1/tickets", json=body(), headers=auth(token))
    assert response.status_code == 500 and response.is_json and "disk" not in text(response)


# --- NUL bytes anywhere (PostgreSQL cannot store them) ---------------------------------------------

def test_a_nul_byte_in_the_login_form_is_400(client):
    response = client.post("/login", data={"csrf_token": csrf_token(client), "username": "clerk\x00",
                                           "password": "demo1234"})
    says_why(response)


def test_a_nul_byte_in_the_public_report_form_is_400_and_nothing_is_kept(client, session):
    response = client.post("/report", data={"csrf_token": csrf_token(client, "/report"), "name": "何\x00美玲",
                                            "phone": "13711110000", "fault": "不出热水"})
    says_why(response)
    assert session.scalar(select(Customer).where(Customer.phone == "13711110000")) is None


def test_a_nul_byte_in_the_track_form_is_400(client):
    response = client.post("/track", data={"csrf_token": csrf_token(client, "/track"), "number": "SV\x00",
                                           "phone": "13800138000"})
    says_why(response)


def test_a_nul_byte_in_a_search_or_filter_is_400(login_as):
    clerk = login_as("clerk")
    says_why(clerk.get("/admin/ticket/?search=SV%00"))
    says_why(clerk.get("/admin/customer/?flt0_0=%00"))
    says_why(clerk.get("/admin/intake/lookup?phone=138%00"))


def test_a_nul_byte_in_the_api_body_is_400_json(client, token):  # noqa: F811
    response = client.post("/api/v1/tickets", json=body(**{"customer.name": "王\x00芳"}), headers=auth(token))
    assert response.status_code == 400 and response.is_json


def test_a_nul_byte_in_an_uploaded_file_name_is_400(login_as, session):
    import io

    ticket = f.ticket_of(session, "GZ-TH")
    clerk = login_as("clerk")
    response = clerk.post(f"/admin/ticket/attach/?id={ticket.id}", content_type="multipart/form-data",
                          data={"csrf_token": clerk.csrf, "file": (io.BytesIO(b"chat log"), "chat\x00.txt")})
    says_why(response)
