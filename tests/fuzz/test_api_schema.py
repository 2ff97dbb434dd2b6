"""The channel API against its own OpenAPI document (/api/v1/openapi.json), with schemathesis
on the Flask app in process (WSGI): every operation, positive and negative examples, a valid
bearer token; no 5xx, and every answer documented (status code, content type, headers, body
schema). Plus hand-written hostile bodies that generators do not reach.

Positive examples get real model and outlet codes and a plausible phone some of the time, so that
registrations succeed and the 201 body is checked against the Ticket schema too; the numbers
registered are then read back through GET /tickets/{number}.
"""
from __future__ import annotations

import json
from collections import Counter

import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from backoffice import openapi_doc
from models import Outlet, ProductModel, Ticket, db

from .conftest import ServerError, fuzz_settings, last_frames, send, short
from .strategies import odd_dates, odd_datetimes

pytestmark = pytest.mark.fuzz

# Not "positive_data_acceptance": a schema-valid body with an unknown model code is rightly a 422.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
OPERATIONS = [(method.upper(), path) for path, item in openapi_doc.document()["paths"].items() for method in item]
REGISTERED: list[str] = []  # numbers registered by the positive examples, read back by getTicket


@pytest.fixture(scope="module")
def api_token(fuzz_app):
    result = fuzz_app.test_cli_runner().invoke(args=["create-api-token", "--channel", "wechat", "--name", "fuzz"])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)


@pytest.fixture(scope="module")
def codes(fuzz_app):
    with fuzz_app.app_context():
        from backoffice.access import SYSTEM, set_scope

        set_scope(SYSTEM)
        return {"models": list(db.session.scalars(select(ProductModel.code).where(ProductModel.active.is_(True)))),
                "outlets": list(db.session.scalars(select(Outlet.code).where(Outlet.active.is_(True)))),
                "numbers": list(db.session.scalars(select(Ticket.number).limit(10)))}


def test_the_document_lists_both_operations():
    assert ("POST", "/tickets") in OPERATIONS and ("GET", "/tickets/{number}") in OPERATIONS


def call(case, headers: dict):
    """case.call(), with the request in the message when an exception escapes the app."""
    try:
        return case.call(headers=headers)
    except Exception:
        raise ServerError(f"{short(case.as_curl_command(headers=headers), 1000)}\n{last_frames()}") from None


def plausible(case, data, codes) -> None:
    """Some of the time, make a generated body one that registers (real codes, a mobile phone)."""
    body = case.body
    if not isinstance(body, dict) or not data.draw(st.booleans(), label="plausible"):
        return
    unit, customer = body.get("unit"), body.get("customer")
    if isinstance(unit, dict):
        unit["model_code"] = data.draw(st.sampled_from(codes["models"]), label="model_code")
        unit["outlet_code"] = data.draw(st.sampled_from(codes["outlets"]), label="outlet_code")
        if "invoice_date" in unit:
            unit["invoice_date"] = data.draw(odd_dates(), label="invoice_date")
    if isinstance(customer, dict):
        customer["phone"] = data.draw(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), label="phone")
    if "occurred_at" in body:
        body["occurred_at"] = data.draw(odd_datetimes(), label="occurred_at")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_answers_as_documented(api_schema, api_token, codes, method, path, mode):
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {api_token}"}

    if path == "/tickets/{number}" and mode == GenerationMode.POSITIVE:
        known = st.sampled_from(codes["numbers"] + REGISTERED).flatmap(
            lambda number: operation.as_strategy(mode, path_parameters={"number": number}))
        cases = st.one_of(operation.as_strategy(mode), known)
    else:
        cases = operation.as_strategy(mode)

    seen = Counter()

    @fuzz_settings(2 if method == "POST" else 1)
    @given(case=cases, data=st.data())
    def check(case, data):
        if mode == GenerationMode.POSITIVE:
            plausible(case, data, codes)
        response = call(case, headers)
        seen[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)
        if response.status_code == 201:
            REGISTERED.append(response.json()["number"])

    check()
    print(f"{method} {path} {mode.value}: HTTP {dict(sorted(seen.items()))}")


def test_without_a_token_every_operation_is_a_documented_401(api_schema):
    for method, path in OPERATIONS:
        operation = api_schema[path][method]

        @fuzz_settings(0.3)
        @given(case=operation.as_strategy(GenerationMode.POSITIVE))
        def check(case):
            response = call(case, {"Authorization": "Bearer bo_not-a-token"})
            # 400: a NUL byte or lone surrogate is refused before the token is looked at.
            assert response.status_code in (400, 401), f"{response.status_code}: {case.as_curl_command()}"
            case.validate_response(response, checks=CHECKS)

        check()


# --- bodies no generator sends --------------------------------------------------------------------

def registration(**changes) -> dict:
    body = {"kind": "repair", "fault": "不打火", "customer": {"name": "王芳", "phone": "13800138000"},
            "unit": {"model_code": "JSQ24-12A", "serial": "SN-FUZZ-1", "outlet_code": "GZ-TH"}}
    for key, value in changes.items():
        outer, _, inner = key.partition(".")
        if inner:
            body[outer] = {**body[outer], inner: value}
        else:
            body[key] = value
    return body


def raw(body: dict) -> bytes:
    """JSON with lone surrogates kept as \\ud800 escapes (valid JSON text, invalid unicode)."""
    return json.dumps(body, ensure_ascii=True).encode()


HOSTILE_BODIES = {
    "not json": b"{not json",
    "not an object": b"[1, 2, 3]",
    "empty": b"",
    "invalid utf-8": b'{"kind": "\xff\xfe"}',
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "object nested 10,000 deep": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "lone surrogate in a name": raw(registration(**{"customer.name": "\ud800"})),
    "lone surrogate in the fault": raw(registration(fault="坏了\udfff")),
    "NUL in the serial": raw(registration(**{"unit.serial": "SN\x00"})),
    "NUL in a key": raw({**registration(), "k\x00": "v"}),
    "occurred_at year 1 with offset": raw(registration(occurred_at="0001-01-01T00:00:00+08:00")),
    "occurred_at year 9999 with offset": raw(registration(occurred_at="9999-12-31T23:59:59-12:00")),
    "occurred_at year 9999 naive": raw(registration(occurred_at="9999-12-31T23:59:59")),
    "invoice_date year 1": raw(registration(**{"unit.invoice_date": "0001-01-01"})),
    "invoice_date year 9999": raw(registration(**{"unit.invoice_date": "9999-12-31"})),
    "price 1e400": raw(registration(**{"unit.price": "1e400"})),
    "price NaN": raw(registration(**{"unit.price": "NaN"})),
    "price -1": raw(registration(**{"unit.price": "-1"})),
    "numbers where strings go": b'{"kind": 1e400, "fault": 12345678901234567890123, "customer": [], "unit": null}',
    "formula in the serial": raw(registration(**{"unit.serial": "=HYPERLINK(\"http://evil\")"})),
    "huge fault": raw(registration(fault="长" * 200_000)),
    "body over the limit": b'{"fault": "' + b"x" * (7 * 1024 * 1024) + b'"}',
}


@pytest.mark.parametrize("name", list(HOSTILE_BODIES))
def test_hostile_bodies_get_a_documented_json_answer(fuzz_app, api_token, name):
    client = fuzz_app.test_client()
    response = send(client, "POST", "/api/v1/tickets", data=HOSTILE_BODIES[name], content_type="application/json",
                    headers={"Authorization": f"Bearer {api_token}"})
    assert response.mimetype == "application/json", f"{response.status_code} answered as {response.mimetype}"
    documented = openapi_doc.document()["paths"]["/tickets"]["post"]["responses"]
    assert str(response.status_code) in documented, f"{response.status_code} is not in the OpenAPI document"
    if response.status_code >= 400:
        assert isinstance(response.json.get("error"), str), response.json


@pytest.mark.parametrize("number", ["%00", "9" * 25, "SV" + "9" * 300, "%ED%A0%80", "..%2F..%2Fetc%2Fpasswd",
                                    "<script>", "%F0%9F%98%80", "SV20260101-0001%0A"])
def test_hostile_ticket_numbers_get_a_documented_json_answer(fuzz_app, api_token, number):
    client = fuzz_app.test_client()
    response = send(client, "GET", f"/api/v1/tickets/{number}", headers={"Authorization": f"Bearer {api_token}"})
    assert response.mimetype == "application/json", f"{response.status_code} answered as {response.mimetype}"
    documented = openapi_doc.document()["paths"]["/tickets/{number}"]["get"]["responses"]
    assert str(response.status_code) in documented, f"{response.status_code} is not in the OpenAPI document"


def test_api_errors_outside_the_documented_operations_are_json(fuzz_app, api_token):
    client = fuzz_app.test_client()
    headers = {"Authorization": f"Bearer {api_token}"}
    for method, url in (("PUT", "/api/v1/tickets"), ("DELETE", "/api/v1/tickets/SV20260101-0001"),
                        ("GET", "/api/v1/tickets"), ("GET", "/api/v1/nothing")):
        response = send(client, method, url, headers=headers)
        assert response.status_code in (404, 405) and response.mimetype == "application/json", (method, url)
        if response.status_code == 405:
            assert response.headers.get("Allow"), (method, url)
