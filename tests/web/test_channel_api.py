"""The channel API (/api/v1): token auth, registration, read-back, OpenAPI (R-TKT-1, R-TKT-2)."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from backoffice.timezones import local_today
from models import ApiToken, AuditEntry, Ticket

BODY = {"kind": "repair", "category": "quality", "fault": "点不着火，有异味",
        "customer": {"name": "王芳", "phone": "13800138000", "address": "广州市天河区体育西路1号",
                     "area": "urban"},
        "unit": {"model_code": "JSQ24-12A", "serial": "SN-API-0001", "invoice_no": "FP-2026-001",
                 "invoice_date": None, "outlet_code": "GZ-TH"}}


def body(days_old=100, **changes):
    data = {**BODY, "customer": dict(BODY["customer"]), "unit": dict(BODY["unit"])}
    data["unit"]["invoice_date"] = (local_today() - timedelta(days=days_old)).isoformat()
    for key, value in changes.items():
        if "." in key:
            outer, inner = key.split(".")
            data[outer][inner] = value
        else:
            data[key] = value
    return data


@pytest.fixture
def token(app):
    result = app.test_cli_runner().invoke(args=["create-api-token", "--channel", "wechat", "--name", "公众号"])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def hours(response, clock):
    created = datetime.fromisoformat(response.json["created_at"])
    return (datetime.fromisoformat(response.json["sla"][clock]) - created).total_seconds() / 3600


def test_token_is_printed_once_and_stored_hashed(app, token, session):
    row = session.scalars(select(ApiToken)).one()
    assert token.startswith("bo_") and row.token_hash != token and row.token_hash not in token
    assert row.channel == "wechat" and row.prefix in token


def test_registering_answers_201_with_number_warranty_and_sla(client, token, session):
    response = client.post("/api/v1/tickets", json=body(), headers=auth(token))
    assert response.status_code == 201, response.json
    data = response.json
    assert data["status"] == "registered" and data["number"].startswith("SV")
    assert data["warranty"] == {"in_warranty": True, "window": "repair", "reason": data["warranty"]["reason"]}
    assert {c: hours(response, c) for c in data["sla"]} == {"response": 2, "dispatch": 8, "onsite": 24,
                                                             "resolve": 48}
    assert data["sla"]["response"].endswith("+08:00")
    assert response.headers["Location"].endswith(f"/api/v1/tickets/{data['number']}")
    ticket = session.scalar(select(Ticket).where(Ticket.number == data["number"]))
    assert ticket.channel == "wechat"  # the channel comes from the token
    entry = session.scalar(select(AuditEntry).where(AuditEntry.table_name == "ticket",
                                                    AuditEntry.record_id == str(ticket.id)))
    assert entry.actor_name == "api:wechat"


def test_suburban_customer_gets_3_days_on_site(client, token):
    response = client.post("/api/v1/tickets", json=body(**{"customer.area": "suburban"}), headers=auth(token))
    assert hours(response, "onsite") == 72


def test_unit_14_months_old_is_out_of_warranty_with_the_reason(client, token):
    response = client.post("/api/v1/tickets", json=body(days_old=427), headers=auth(token))
    warranty = response.json["warranty"]
    assert warranty["in_warranty"] is False and warranty["window"] == "none" and warranty["reason"]


def test_validation_errors_are_422_field_by_field(client, token):
    response = client.post("/api/v1/tickets", json=body(kind="teleport", fault="",
                                                        **{"customer.phone": "abc", "unit.outlet_code": "NOPE"}),
                           headers=auth(token))
    assert response.status_code == 422
    assert {"kind", "fault", "unit.outlet_code"} <= set(response.json["fields"])


@pytest.mark.parametrize("payload", ["not json", "[1, 2]", '{"customer": "王芳"}', '{"fault": 42}'])
def test_malformed_bodies_are_4xx_never_500(client, token, payload):
    response = client.post("/api/v1/tickets", data=payload, content_type="application/json",
                           headers=auth(token))
    assert 400 <= response.status_code < 500 and response.is_json


def test_read_back_and_unknown_number(client, token):
    number = client.post("/api/v1/tickets", json=body(), headers=auth(token)).json["number"]
    assert client.get(f"/api/v1/tickets/{number}", headers=auth(token)).json["number"] == number
    missing = client.get("/api/v1/tickets/SV20000101-9999", headers=auth(token))
    assert missing.status_code == 404 and missing.json["error"] == "not_found"


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic Zm9vOmJhcg=="])
def test_missing_or_wrong_token_is_401(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.post("/api/v1/tickets", json=body(), headers=headers)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_revoked_in_the_admin_stops_working(client, token, login_as, session):
    admin = login_as("admin")
    row = session.scalars(select(ApiToken)).one()
    response = admin.post(f"/admin/api_token/edit/?id={row.id}", data={"name": row.name,
                                                                        "csrf_token": admin.csrf})
    assert response.status_code == 302  # 'active' unticked
    assert client.post("/api/v1/tickets", json=body(), headers=auth(token)).status_code == 401


def test_browser_session_is_not_api_auth(login_as):
    clerk = login_as("clerk")
    assert clerk.post("/api/v1/tickets", json=body()).status_code == 401


def test_openapi_document_validates_and_every_operation_answers_bad_input_with_4xx(client, token):
    from openapi_spec_validator import validate

    document = client.get("/api/v1/openapi.json").json
    validate(document)
    for path, operations in document["paths"].items():
        for method in operations:
            url = "/api/v1" + path.replace("{number}", "SV00000000-0000")
            call = getattr(client, method)
            assert 400 <= call(url).status_code < 500  # no token
            bad = call(url, headers=auth(token), data="{", content_type="application/json")
            assert 400 <= bad.status_code < 500, (method, path)


def test_wrong_method_and_unknown_path_stay_json(client, token):
    assert client.delete("/api/v1/tickets", headers=auth(token)).status_code == 405
    response = client.get("/api/v1/nothing", headers=auth(token))
    assert response.status_code == 404 and response.is_json


def test_a_token_made_in_the_admin_registers_tickets_through_the_api(client, login_as):
    """Issue 17: an admin creates a channel's token on the screen; its secret, shown once, works."""
    import re

    admin = login_as("admin")
    made = admin.post("/admin/api_token/new/", data={"channel": "wechat", "name": "公众号二号",
                                                     "csrf_token": admin.csrf}, follow_redirects=True)
    secret = re.search(r"(bo_[0-9a-f]{8}_[A-Za-z0-9_-]+)", made.get_data(as_text=True)).group(1)
    assert client.post("/api/v1/tickets", json=body(), headers=auth(secret)).status_code == 201


def test_an_unknown_channel_is_refused_on_the_form_and_nothing_is_made(login_as, session):
    admin = login_as("admin")
    before = session.query(ApiToken).count()
    refused = admin.post("/admin/api_token/new/", data={"channel": "fax", "name": "传真",
                                                        "csrf_token": admin.csrf},
                         headers={"Accept-Language": "en"})
    assert refused.status_code == 200 and "Not a valid choice" in refused.get_data(as_text=True)
    assert "传真" in refused.get_data(as_text=True)  # what was typed stays in the form
    assert session.query(ApiToken).count() == before


@pytest.mark.parametrize("username", ["manager", "clerk", "dealer1"])
def test_only_admins_create_channel_tokens(login_as, username):
    assert login_as(username).get("/admin/api_token/new/").status_code == 403
