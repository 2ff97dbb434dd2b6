"""Generated input for the public report and track forms and the staff intake form: no 5xx, and a
form sent back with errors (200) keeps what was typed.

Every value is sent byte for byte (strategies.form_body): any unicode, NUL, lone surrogates (as
the invalid UTF-8 a hostile client sends), huge strings, odd dates and numbers, next to plausible
values so that some reports do get registered. The budget is FUZZ_EXAMPLES (tests/fuzz/conftest.py).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import select

from models import Outlet, ProductModel, Ticket, db

from .conftest import fuzz_settings, send, signed_in
from .strategies import (
    FORM,
    URL_SIZES,
    Huge,
    form_body,
    hostile_text,
    kept_as_typed,
    odd_dates,
    odd_datetimes,
    odd_numbers,
    phones,
)

pytestmark = pytest.mark.fuzz


@dataclass(repr=False)
class Demo:
    models: list[str]
    outlets: list[str]
    outlet_ids: list[str]
    tickets: list[tuple[str, str]]  # number, contact phone
    open_ticket_ids: list[str]

    def __repr__(self):
        return "demo"


@pytest.fixture(scope="module")
def demo(fuzz_app) -> Demo:
    with fuzz_app.app_context():
        from backoffice.access import SYSTEM, set_scope

        set_scope(SYSTEM)
        models = list(db.session.scalars(select(ProductModel.code)))
        outlets = list(db.session.scalars(select(Outlet.code)))
        outlet_ids = [str(i) for i in db.session.scalars(select(Outlet.id))]
        tickets = [(t.number, t.contact_phone or "") for t in db.session.scalars(select(Ticket).limit(20))]
        open_ids = [str(i) for i in db.session.scalars(select(Ticket.id).where(Ticket.status != "closed").limit(20))]
    return Demo(models, outlets, outlet_ids, tickets, open_ids)


def one_of_values(values, hostile):
    return st.one_of(st.sampled_from(values), hostile) if values else hostile


def page_of(response) -> str:
    return response.get_data(as_text=True)


def with_examples(test, name: str, values, **others):
    """Known-dangerous inputs, tried on every run before the generated ones (Phase.explicit)."""
    for value in values:
        test = example(**{name: value}, **others)(test)
    return test


def varied(plain: dict, changes: list[dict]) -> list[dict]:
    return [plain] + [{**plain, **change} for change in changes]


QUERY_VALUES = ["\x00", "\ud800", "=HYPERLINK(\"http://evil\")", "<script>", Huge("x" * 2000), Huge("长" * 1000)]
HOSTILE_VALUES = ["\x00", "\ud800", "a\udfffb", "=HYPERLINK(\"http://evil\")", "<script>alert(1)</script>",
                  "\u202e\ufeff", Huge("x" * 65_536), Huge("长" * 300_000)]


def missing_typed(page: str, fields: dict[str, str], names) -> list[str]:
    """The typed values (of the given text fields) that a re-rendered form does not show (a form
    may trim the spaces around a value)."""
    return [name for name in names
            if (fields.get(name) or "").strip() and kept_as_typed(fields[name])
            and str(escape(fields[name].strip())) not in page]


# --- /report --------------------------------------------------------------------------------------

REPORT_TEXT_FIELDS = ("name", "phone", "address", "serial", "fault", "invoice_date")
REPORT = {"name": "何美玲", "phone": "13711112222", "address": "", "area": "urban", "model_code": "JSQ30-16B",
          "serial": "JSQ-WEB-0001", "invoice_date": "", "outlet_code": "SC-GZ", "kind": "repair",
          "fault": "热水器打不着火", "website": ""}
REPORT_EXAMPLES = varied(REPORT, [
    *({field: value} for field in ("name", "phone", "address", "serial", "fault") for value in HOSTILE_VALUES),
    *({"invoice_date": value} for value in ("0001-01-01", "9999-12-31", "1900-01-01", "2100-01-01", "2026-02-30",
                                            "10000-01-01", "-1", "\x00")),
    {"area": "\x00"}, {"model_code": "\ud800"}, {"outlet_code": Huge("x" * 65_536)}, {"kind": "teleport"},
    {"serial": "x" * 61}, {"phone": "+86 138 0013 8000"}, {"name": " 何美玲 ", "phone": " 13711112222 "},
])


@st.composite
def report_forms(draw, demo: Demo) -> dict[str, str]:
    return {
        "name": draw(st.one_of(st.sampled_from(["何美玲", "Anna"]), hostile_text())),
        "phone": draw(phones()),
        "address": draw(st.one_of(st.just(""), hostile_text())),
        "area": draw(st.one_of(st.sampled_from(["urban", "suburban"]), hostile_text(10))),
        "model_code": draw(one_of_values(demo.models, hostile_text(20))),
        "serial": draw(st.one_of(st.from_regex(r"[A-Z0-9-]{4,20}", fullmatch=True), hostile_text())),
        "invoice_date": draw(odd_dates()),
        "outlet_code": draw(one_of_values(demo.outlets, hostile_text(20))),
        "kind": draw(st.one_of(st.sampled_from(["repair", "installation", "consultation", "complaint"]),
                               hostile_text(10))),
        "fault": draw(st.one_of(st.just("热水器打不着火"), hostile_text(300))),
        "website": draw(st.one_of(st.just(""), st.just(""), st.just(""), hostile_text(10))),
    }


def test_report_form_never_fails_and_keeps_what_was_typed(fuzz_app, demo):
    client, seen = signed_in(fuzz_app, None), Counter()

    @fuzz_settings()
    @given(fields=report_forms(demo))
    def check(fields):
        body = form_body({"csrf_token": client.csrf, **fields})
        response = send(client, "POST", "/report", data=body, content_type=FORM)
        seen[f"{response.status_code}{' receipt' if b'receipt-number' in response.data else ''}"] += 1
        page = page_of(response)
        if response.status_code == 200 and 'data-testid="receipt-number"' not in page and fields["website"] == "":
            assert 'name="csrf_token"' in page, "a 200 that is neither the receipt nor the form"
            missing = missing_typed(page, fields, REPORT_TEXT_FIELDS)
            assert not missing, f"not kept as typed: {missing}"

    with_examples(check, "fields", REPORT_EXAMPLES)()
    print(f"/report: {dict(seen)}")


# --- /track ---------------------------------------------------------------------------------------

@st.composite
def track_forms(draw, demo: Demo) -> dict[str, str]:
    known = draw(st.sampled_from(demo.tickets)) if demo.tickets else ("", "")
    return {"number": draw(st.one_of(st.just(known[0]), st.just(known[0].lower()), hostile_text(30))),
            "phone": draw(st.one_of(st.just(known[1]), phones()))}


def test_track_form_never_fails_and_keeps_what_was_typed(fuzz_app, demo):
    client, seen = signed_in(fuzz_app, None), Counter()

    @fuzz_settings()
    @given(fields=track_forms(demo))
    def check(fields):
        body = form_body({"csrf_token": client.csrf, **fields})
        response = send(client, "POST", "/track", data=body, content_type=FORM)
        seen[f"{response.status_code}{' found' if b'track-result' in response.data else ''}"] += 1
        if response.status_code == 200:
            page = page_of(response)
            missing = missing_typed(page, fields, ("number", "phone"))
            assert not missing, f"not kept as typed: {missing}"

    number, phone = demo.tickets[0] if demo.tickets else ("SV20260101-0001", "13800138000")
    plain = {"number": number, "phone": phone}
    examples = varied(plain, [{field: value} for field in plain
                              for value in [*HOSTILE_VALUES, " ", "sv" + number[2:]]])
    with_examples(check, "fields", examples)()
    print(f"/track: {dict(seen)}")


def test_track_query_string_and_get_never_fail(fuzz_app):
    client = fuzz_app.test_client()

    @fuzz_settings(0.5)
    @given(number=hostile_text(huge=URL_SIZES), phone=hostile_text(huge=URL_SIZES))
    def check(number, phone):
        query = form_body({"number": number, "phone": phone}).decode()
        send(client, "GET", f"/track?{query}")
        send(client, "GET", f"/report?{query}")

    with_examples(check, "number", QUERY_VALUES, phone="13800138000")()


# --- /admin/intake/ -------------------------------------------------------------------------------

INTAKE = {"customer.phone": "13512345678", "customer_id": "", "customer.name": "钟丽华", "customer.area": "urban",
          "unit.model_code": "JSQ30-16B", "unit.serial": "JSQ2611FUZZ", "kind": "repair", "category": "quality",
          "channel": "hotline", "fault": "开机后风机不转"}
INTAKE_EXAMPLES = varied(INTAKE, [
    *({field: value} for field in ("customer.phone", "customer.name", "customer.address", "customer.region",
                                   "unit.serial", "unit.invoice_no", "unit.size", "fault") for value in HOSTILE_VALUES),
    *({field: value} for field in ("customer_id", "unit_id", "outlet_id", "unit.price", "unit.size")
      for value in ("0", "-1", "9" * 25, "1e309", "NaN", "١٢٣", "\x00")),
    *({"unit.invoice_date": value} for value in ("0001-01-01", "9999-12-31", "2026-02-30", "10000-01-01")),
    *({"occurred_at": value} for value in ("0001-01-01T00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59",
                                           "9999-12-31T23:59:59-12:00", "2026-02-30T10:00", "\x00")),
    *({field: value} for field in ("kind", "category", "channel", "name_choice", "customer.area",
                                   "unit.model_code", "unit.purchase_channel") for value in ("", "\x00", "x" * 300)),
])
INTAKE_TEXT_FIELDS = ("customer.phone", "customer.name", "customer.address", "customer.region", "unit.serial",
                      "unit.size", "unit.invoice_no", "unit.invoice_date", "unit.price", "fault", "occurred_at")


@st.composite
def intake_forms(draw, demo: Demo) -> dict[str, str]:
    def maybe(strategy):
        return draw(st.one_of(st.just(None), strategy))

    fields = {
        "customer.phone": draw(phones()),
        "customer_id": maybe(odd_numbers()),
        "unit_id": maybe(odd_numbers()),
        "outlet_id": maybe(one_of_values(demo.outlet_ids, odd_numbers())),
        "kind": draw(st.one_of(st.sampled_from(["repair", "installation", "consultation", "complaint",
                                                "return_exchange"]), hostile_text(10))),
        "category": draw(st.one_of(st.sampled_from(["quality", "size", "discomfort", "other"]), hostile_text(10))),
        "channel": draw(st.one_of(st.sampled_from(["hotline", "dealer", "web", "wechat"]), hostile_text(10))),
        "fault": draw(st.one_of(st.just("开机后风机不转"), hostile_text(300))),
        "name_choice": maybe(st.one_of(st.sampled_from(["contact", "correct"]), hostile_text(10))),
        "customer.name": maybe(st.one_of(st.just("钟丽华"), hostile_text())),
        "customer.address": maybe(hostile_text()),
        "customer.area": maybe(st.one_of(st.sampled_from(["urban", "suburban"]), hostile_text(10))),
        "customer.region": maybe(hostile_text()),
        "unit.model_code": maybe(one_of_values(demo.models, hostile_text(20))),
        "unit.serial": maybe(hostile_text()),
        "unit.invoice_no": maybe(hostile_text()),
        "unit.invoice_date": maybe(odd_dates()),
        "unit.price": maybe(odd_numbers()),
        "unit.purchase_channel": maybe(st.one_of(st.sampled_from(["store", "dealer", "online"]), hostile_text(10))),
        "unit.size": maybe(st.one_of(st.sampled_from(["42", "38.5"]), odd_numbers(), hostile_text(12))),
        "occurred_at": maybe(odd_datetimes()),
    }
    return {key: value for key, value in fields.items() if value is not None}


@pytest.mark.parametrize("username", ["clerk", "dealer1"])
def test_intake_form_never_fails_and_keeps_what_was_typed(fuzz_app, demo, username):
    client, seen = signed_in(fuzz_app, username), Counter()

    @fuzz_settings()
    @given(fields=intake_forms(demo), add_to=st.one_of(st.none(), st.sampled_from(demo.open_ticket_ids or ["1"])))
    def check(fields, add_to):
        url = "/admin/intake/" if add_to is None else f"/admin/intake/add/{add_to}"
        body = form_body({"csrf_token": client.csrf, **fields})
        response = send(client, "POST", url, data=body, content_type=FORM)
        seen[f"{'add' if add_to else 'new'} {response.status_code}"] += 1
        if response.status_code == 302:
            assert "/login" not in response.headers["Location"], "signed out by a form"
        if response.status_code == 200:
            page = page_of(response)
            assert 'id="intake-form"' in page, "a 200 that is not the intake form"
            missing = missing_typed(page, fields, INTAKE_TEXT_FIELDS)
            assert not missing, f"not kept as typed: {missing}"

    with_examples(check, "fields", INTAKE_EXAMPLES, add_to=None)()
    print(f"intake as {username}: {dict(seen)}")


@pytest.mark.parametrize("username", ["clerk", "dealer1"])
def test_intake_lookup_never_fails(fuzz_app, username):
    client = signed_in(fuzz_app, username)

    @fuzz_settings(0.5)
    @given(phone=phones(huge=URL_SIZES))
    def check(phone):
        send(client, "GET", "/admin/intake/lookup?" + form_body({"phone": phone}).decode())
        send(client, "GET", "/admin/intake/?" + form_body({"phone": phone}).decode())

    with_examples(check, "phone", QUERY_VALUES)()
