"""Dates and serials are refused when implausible, never silently stored or cut: an
invoice is dated from 2000 up to today (R-WAR-1), a fault occurred within the
last OCCURRENCE_YEARS_BACK years and not in the future (R-TKT-2), a serial is at most 60
characters — on every door: the channel API, the intake desk, the unit and ticket forms."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from backoffice.tickets import OCCURRENCE_YEARS_BACK
from backoffice.timezones import local_today, service_zone
from models import Ticket, Unit
from tests import factories as f
from tests.web.test_admin_form_checks import field_error, post_form
from tests.web.test_channel_api import auth, body, token  # noqa: F401  (the token fixture)


def tickets(session) -> int:
    return session.scalar(select(func.count()).select_from(Ticket))


def local(days_ago: float) -> str:
    return (datetime.now(service_zone()) - timedelta(days=days_ago)).isoformat(timespec="seconds")


@pytest.mark.parametrize("invoice_date", ["1900-01-01", "1999-12-31", "2100-01-01",
                                          (local_today() + timedelta(days=1)).isoformat()])
def test_an_implausible_invoice_date_from_the_api_is_a_field_error(client, token, session, invoice_date):  # noqa: F811
    before = tickets(session)
    response = client.post("/api/v1/tickets", json=body(**{"unit.invoice_date": invoice_date}), headers=auth(token))
    assert response.status_code == 422 and "unit.invoice_date" in response.json["fields"]
    assert tickets(session) == before


def test_an_invoice_of_2000_or_today_is_plausible(client, token):  # noqa: F811
    for day, serial in (("2000-01-01", "SN-2000"), (local_today().isoformat(), "SN-TODAY")):
        response = client.post("/api/v1/tickets", json=body(**{"unit.invoice_date": day, "unit.serial": serial}),
                               headers=auth(token))
        assert response.status_code == 201, response.json


@pytest.mark.parametrize("moment", ["1900-01-01T08:00:00+08:00", "2100-01-01T08:00:00+08:00",
                                    local(-1), local(365 * OCCURRENCE_YEARS_BACK + 30)])
def test_an_implausible_time_of_occurrence_from_the_api_is_a_field_error(client, token, session, moment):  # noqa: F811
    before = tickets(session)
    response = client.post("/api/v1/tickets", json=body(occurred_at=moment), headers=auth(token))
    assert response.status_code == 422 and "occurred_at" in response.json["fields"], response.json
    assert tickets(session) == before


def test_an_occurrence_a_week_ago_is_plausible(client, token):  # noqa: F811
    response = client.post("/api/v1/tickets", json=body(occurred_at=local(7)), headers=auth(token))
    assert response.status_code == 201, response.json


def test_a_serial_longer_than_60_characters_is_refused_not_cut(client, token, session):  # noqa: F811
    serial = "SN-" + "7" * 58
    response = client.post("/api/v1/tickets", json=body(**{"unit.serial": serial}), headers=auth(token))
    assert response.status_code == 422 and "unit.serial" in response.json["fields"]
    assert session.scalar(select(Unit).where(Unit.serial == serial[:60])) is None


def test_the_intake_desk_refuses_an_occurrence_in_1900_next_to_the_field(login_as, session):
    f.user(session, "clerk").locale = "en"
    session.commit()
    clerk = login_as("clerk")
    before = tickets(session)
    response = clerk.post("/admin/intake/", data={
        "csrf_token": clerk.csrf, "customer.name": "陈国强", "customer.phone": f"1390003{f.next_number():04d}",
        "customer.area": "urban", "kind": "repair", "category": "quality", "channel": "hotline",
        "fault": "热水器点不着火", "occurred_at": "1900-01-01T08:00", "outlet_id": str(f.outlet(session, "GZ-TH").id)})
    assert response.status_code == 200 and "time of occurrence" in response.get_data(as_text=True)
    assert tickets(session) == before


@pytest.fixture
def manager(login_as, session):
    f.user(session, "manager").locale = "en"
    session.commit()
    return login_as("manager")


@pytest.mark.parametrize("invoice_date", ["1900-01-01", "2100-01-01"])
def test_the_unit_form_refuses_an_implausible_invoice_date_next_to_the_field(manager, session, invoice_date):
    unit = f.make_unit(session, f.make_customer(session, f.outlet(session, "GZ-TH")))
    session.commit()
    response = post_form(manager, f"/admin/unit/edit/?id={unit.id}", invoice_date=invoice_date)
    assert response.status_code == 200 and field_error(response, "invoice_date")
    session.expire_all()
    assert str(session.get(Unit, unit.id).invoice_date) != invoice_date


def test_the_ticket_form_refuses_an_occurrence_in_2100_next_to_the_field(manager, session):
    ticket = f.ticket_of(session, "GZ-TH")
    response = post_form(manager, f"/admin/ticket/edit/?id={ticket.id}", occurred_at="2100-01-01 08:00:00")
    assert response.status_code == 200 and "future" in field_error(response, "occurred_at")
