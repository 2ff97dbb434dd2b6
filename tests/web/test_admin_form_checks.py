"""Admin forms refuse bad data with a message on the form, never a 500.

Each test posts a form as a browser would (the page's own values plus what the user typed),
expects the form back (200) with the typed values kept and a message, and nothing saved.
"""
from __future__ import annotations

import logging
import re
from datetime import date
from html import unescape

import pytest
from sqlalchemy import func, select

from backoffice.timezones import DEFAULT_TZ, zone_of
from models import AppraisalRecord, FaultCode, FinishedGoodsStock, Outlet
from tests import factories as f
from tests.web.test_forms_per_role import FormPage, page_problems, text


@pytest.fixture
def manager(login_as, session):
    """The demo manager, reading English."""
    f.user(session, "manager").locale = "en"
    session.commit()
    return login_as("manager")


def post_form(client, url, **typed):
    form = FormPage(text(client.get(url)))
    return client.post(url, data={**form.values, **typed})


def count(session, model, *where) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def field_error(response, name) -> str:
    """The message shown under the form field `name` (empty when the field is not marked)."""
    for group in text(response).split('<div class="form-group')[1:]:
        if f'name="{name}"' in group:
            found = re.search(r'<div class="invalid-feedback">(.*?)</div>', group, re.S)
            return " ".join(unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split()) if found else ""
    raise AssertionError(f"no field {name} on the form")


def refused_on_the_form(response, *typed) -> str:
    """The form came back (not a 500, not a redirect) with what was typed and a message."""
    assert response.status_code == 200, response.status_code
    html = text(response)
    for value in typed:
        assert f'value="{value}"' in html or f"{value}</textarea>" in html, f"{value!r} is not kept in the form"
    problems = page_problems(html)
    assert problems and not problems.startswith("<"), "no message on the refused form"
    return problems


# --- finished-goods stock (R-RET-2) -------------------------------------------------------------

def test_a_second_stock_row_for_the_same_outlet_model_and_size_is_refused_on_the_form(manager, session):
    outlet = f.make_outlet(session)
    stock = f.make_stock(session, outlet, qty=3)
    session.commit()
    response = post_form(manager, "/admin/stock/new/", outlet=str(outlet.id),
                         product_model=str(stock.product_model_id), size="", qty="7")
    refused_on_the_form(response, "7")
    assert "already has" in field_error(response, "product_model")
    assert count(session, FinishedGoodsStock, FinishedGoodsStock.outlet_id == outlet.id) == 1


def test_a_negative_stock_quantity_is_refused_on_the_form(manager, session):
    outlet = f.make_outlet(session)
    model = f.make_product_model(session)
    session.commit()
    response = post_form(manager, "/admin/stock/new/", outlet=str(outlet.id),
                         product_model=str(model.id), qty="-3")
    refused_on_the_form(response, "-3")
    assert "negative" in field_error(response, "qty")
    assert count(session, FinishedGoodsStock, FinishedGoodsStock.outlet_id == outlet.id) == 0


def test_editing_stock_to_a_negative_quantity_keeps_the_old_row(manager, session):
    stock = f.make_stock(session, f.make_outlet(session), qty=4)
    session.commit()
    response = post_form(manager, f"/admin/stock/edit/?id={stock.id}", qty="-1")
    refused_on_the_form(response, "-1")
    assert "negative" in field_error(response, "qty")
    session.expire_all()
    assert session.get(FinishedGoodsStock, stock.id).qty == 4


# --- fault codes (R-TKT-9) ------------------------------------------------------------------------

def test_a_duplicate_fault_code_of_the_same_kind_is_refused_on_the_form(manager, session):
    existing = f.make_fault_code(session, kind="fault")
    session.commit()
    response = post_form(manager, "/admin/fault_code/new/", kind="fault", code=existing.code,
                         name="另一个名称", category="gas_water_heater")
    refused_on_the_form(response, "另一个名称")
    assert existing.code in field_error(response, "code")
    assert count(session, FaultCode, FaultCode.code == existing.code) == 1


def test_the_same_code_under_another_kind_is_allowed(manager, session):
    existing = f.make_fault_code(session, kind="fault")
    session.commit()
    response = post_form(manager, "/admin/fault_code/new/", kind="cause", code=existing.code,
                         name="点火针老化", category="gas_water_heater")
    assert response.status_code == 302, page_problems(text(response))


# --- appraisals (R-APR-1) -------------------------------------------------------------------------

APPRAISAL = {"period_kind": "monthly", "period_start": "2026-03-01", "conduct": "18", "diligence": "19",
             "ability": "26", "results": "27", "commendation": "0", "penalty": "0", "note": "三月考核"}


def test_an_appraisal_score_below_zero_is_refused_on_the_form(manager, session):
    staff = f.make_user(session, "engineer")
    session.commit()
    response = post_form(manager, "/admin/appraisal/new/",
                         **{**APPRAISAL, "staff": str(staff.id), "conduct": "-5"})
    refused_on_the_form(response, "-5")
    assert "between 0 and" in field_error(response, "conduct")
    assert count(session, AppraisalRecord, AppraisalRecord.staff_id == staff.id) == 0


def test_a_second_appraisal_of_the_same_period_is_refused_on_the_form(manager, session):
    staff = f.make_user(session, "engineer")
    f.make_appraisal(session, staff, period_kind="monthly", period_start=date(2026, 3, 1))
    session.commit()
    response = post_form(manager, "/admin/appraisal/new/",
                         **{**APPRAISAL, "staff": str(staff.id), "note": "重复录入"})
    refused_on_the_form(response, "重复录入")
    assert "already has" in field_error(response, "period_start")
    assert count(session, AppraisalRecord, AppraisalRecord.staff_id == staff.id) == 1


# --- outlets: time zone and code (DOMAIN §1) ---------------------------

OUTLET = {"name": "中山小榄家电服务站", "region": "中山市小榄镇", "address": "中山市小榄镇升平中路28号",
          "service_phone": "0760-22881234", "duty_phone": "13590012345", "total_purchase_amount": "860000"}


@pytest.mark.parametrize("zone", ["-3", "Mars/Olympus", "../../etc/passwd", "+08:00"])
def test_an_outlet_time_zone_outside_the_time_zone_database_is_refused(manager, session, zone):
    code = f"ZS-TZ{f.next_number():03d}"
    response = post_form(manager, "/admin/outlet/new/", **OUTLET, code=code, timezone=zone)
    refused_on_the_form(response, code)
    assert "time zone" in field_error(response, "timezone")
    assert count(session, Outlet, Outlet.code == code) == 0


def test_an_outlet_in_another_time_zone_is_saved(manager, session):
    code = f"UR-TZ{f.next_number():03d}"
    response = post_form(manager, "/admin/outlet/new/", **OUTLET, code=code, timezone="Asia/Urumqi")
    assert response.status_code == 302, page_problems(text(response))
    assert session.scalar(select(Outlet.timezone).where(Outlet.code == code)) == "Asia/Urumqi"


@pytest.mark.parametrize("code", ["GZ TH", "GZ-TH\r\nX-Injected: 1", "<b>GZ</b>", "gz-th", "-GZ", "A",
                                  "X" * 21, "广州天河"])
def test_an_outlet_code_outside_the_code_pattern_is_refused(manager, session, code):
    response = post_form(manager, "/admin/outlet/new/", **OUTLET, code=code, timezone=DEFAULT_TZ)
    refused_on_the_form(response)
    assert field_error(response, "code")
    assert count(session, Outlet, Outlet.name == OUTLET["name"]) == 0


def test_a_bad_stored_time_zone_falls_back_to_the_service_zone_with_a_warning(app, caplog):
    outlet = Outlet(code="OLD-TZ", name="旧数据网点", timezone="-3")
    with app.app_context(), caplog.at_level(logging.WARNING):
        assert zone_of(outlet).key == DEFAULT_TZ
    assert "-3" in caplog.text


def test_registering_for_an_outlet_with_a_bad_stored_time_zone_still_works(login_as, session):
    outlet = f.make_outlet(session, timezone="-3")
    session.commit()
    clerk = login_as("clerk")
    response = clerk.post("/admin/intake/", data={
        "csrf_token": clerk.csrf, "customer.name": "陈国强", "customer.phone": f"1390002{f.next_number():04d}",
        "customer.area": "urban", "kind": "repair", "category": "quality", "channel": "hotline",
        "fault": "热水器点不着火", "outlet_id": str(outlet.id)})
    assert response.status_code == 302, page_problems(text(response))
    receipt = clerk.get(response.headers["Location"])
    assert receipt.status_code == 200


# --- numbers and times a column cannot hold --------------------------------------------------------

def test_a_stock_quantity_beyond_the_column_is_refused_on_the_form(manager, session):
    outlet = f.make_outlet(session)
    model = f.make_product_model(session)
    session.commit()
    response = post_form(manager, "/admin/stock/new/", outlet=str(outlet.id), product_model=str(model.id),
                         qty="99999999999")
    refused_on_the_form(response, "99999999999")
    assert "too large" in field_error(response, "qty")


@pytest.mark.parametrize("score", ["NaN", "Infinity", "1e400"])
def test_an_appraisal_score_that_is_no_finite_number_is_refused_on_the_form(manager, session, score):
    staff = f.make_user(session, "engineer")
    session.commit()
    response = post_form(manager, "/admin/appraisal/new/", **{**APPRAISAL, "staff": str(staff.id), "conduct": score})
    refused_on_the_form(response)
    assert field_error(response, "conduct")
    assert count(session, AppraisalRecord, AppraisalRecord.staff_id == staff.id) == 0


def test_a_ticket_occurrence_before_year_one_in_utc_is_refused_on_the_form(login_as, session):
    ticket = f.ticket_of(session, "GZ-TH")
    f.user(session, "clerk").locale = "en"
    session.commit()
    clerk = login_as("clerk")
    response = post_form(clerk, f"/admin/ticket/edit/?id={ticket.id}", occurred_at="0001-01-01 00:00:00")
    refused_on_the_form(response)
    assert field_error(response, "occurred_at")
