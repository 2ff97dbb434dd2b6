"""The ticket export carries what the monthly quality report is built from (issue 15, R-RPT-1/2):
the unit's product model and serial, the warranty verdict, fault / cause / remedy codes (code and
name), the causal part, the ticket it repeats (R-TKT-9), the latest return visit's satisfaction,
each SLA clock's outcome (R-SLA-1/3/4) and the closing time in local time. Every role that may
export (DESK) reads the same values for the same tickets; a dealer reads its outlet's only
(R-ROLE-1). The list also has an "open tickets" queue (not closed)."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from backoffice.timezones import format_local
from models import ReturnVisit, Ticket, utcnow
from models.choices import Role
from tests import factories as f
from tests.web.test_forms_per_role import admin_views

EN = {"Accept-Language": "en"}


def table(response) -> list[dict]:
    assert response.status_code == 200, response.status_code
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]


def filter_arg(app, column) -> str:
    """The ticket list's URL argument of the filter on `column` (Flask-Admin numbers them)."""
    view = admin_views(app)["ticket"]
    index = next(i for i, flt in enumerate(view._filters) if getattr(flt, "column", None) is column)
    return view.get_filter_arg(index, view._filters[index])


@pytest.fixture
def world(session):
    """Outlet A with a dealer, a clerk and a manager (reading English); a unit of a fresh model
    sold by outlet B to A's customer; ticket `done` walked to closed with known codes, causal
    part and a return visit scored 4; ticket `again` on the same unit (a repeat of `done`) with
    a breached, a paused and a running clock."""
    a, b = f.make_outlet(session), f.make_outlet(session)
    people = {role: f.make_user(session, role, outlet=a if role == Role.DEALER else None, locale="en")
              for role in (Role.CLERK, Role.MANAGER, Role.DEALER)}
    model = f.make_product_model(session)
    customer = f.make_customer(session, a)
    unit = f.make_unit(session, customer, model_code=model.code, outlet=b)
    codes = {kind: f.make_fault_code(session, kind=kind, name=name) for kind, name in
             (("fault", "点火失败"), ("cause", "点火针积碳"), ("remedy", "清洁点火针"))}
    part = f.make_part(session, name="点火针")
    diagnosis = {"service_mode": "onsite", "severity": "minor", "fault_code": str(codes["fault"].id),
                 "cause_code": str(codes["cause"].id), "remedy_code": str(codes["remedy"].id),
                 "causal_part": str(part.id), "note": "点火针积碳"}
    done = f.make_ticket(session, customer, unit=unit, status="closed",
                         steps={"diagnose": diagnosis, "return_visit": {"satisfaction": "4", "comment": "一般"}})
    session.add(ReturnVisit(ticket=done, due_at=utcnow() + timedelta(days=3)))  # planned, not done: not counted
    again = f.make_ticket(session, customer, unit=unit)
    now = utcnow()
    clocks = {c.clock: c for c in again.clocks}
    clocks["response"].due_at = now - timedelta(hours=1)  # overdue: breached
    clocks["dispatch"].paused_since = now - timedelta(minutes=10)  # waiting for the customer
    session.commit()
    return dict(a=a, b=b, people=people, model=model, unit=unit, codes=codes, part=part, done=done, again=again)


def export_rows(app, client, world) -> dict[str, dict]:
    """The exported rows of outlet A's tickets, by ticket number."""
    response = client.get(f"/admin/ticket/export/csv/?flt0_{filter_arg(app, Ticket.outlet_id)}={world['a'].id}",
                          headers=EN)
    return {row["Ticket no."]: row for row in table(response)}


@pytest.mark.parametrize("role", [Role.CLERK, Role.MANAGER, Role.DEALER])
def test_each_desk_role_exports_codes_verdict_repeat_satisfaction_and_clocks(app, as_user, world, role):
    rows = export_rows(app, as_user(world["people"][role]), world)
    assert set(rows) == {world["done"].number, world["again"].number}
    done, again = rows[world["done"].number], rows[world["again"].number]
    codes = world["codes"]
    assert done["Fault code"] == f"{codes['fault'].code} 点火失败"
    assert done["Cause code"] == f"{codes['cause'].code} 点火针积碳"
    assert done["Remedy code"] == f"{codes['remedy'].code} 清洁点火针"
    assert done["Causal part"] == f"{world['part'].code} 点火针"
    assert done["Satisfaction"] == "4"  # the visit done, not the one planned after it
    assert done["Closed"] == format_local(world["done"].closed_at) != ""
    assert done["Repeat of"] == "" and again["Repeat of"] == world["done"].number  # R-TKT-9
    assert again["Satisfaction"] == "" and again["Closed"] == "" and again["Fault code"] == ""
    for row in (done, again):  # invoiced 60 days ago, 12 months of warranty: repair window
        assert row["Product model"] == world["model"].code
        assert row["Serial no."] == world["unit"].serial
        assert row["Warranty verdict"] == "In warranty (repair)"
    # Walked through at once: every clock of the closed repair met in time; no complaint clock.
    assert [done[f"SLA: {name}"] for name in ("First response", "Technician dispatched", "On site", "Resolution",
                                              "Complaint answered")] == ["met", "met", "met", "met", "—"]
    assert [again[f"SLA: {name}"] for name in ("First response", "Technician dispatched", "On site", "Resolution",
                                               "Complaint answered")] == ["breached", "paused", "open", "open", "—"]


def test_a_dealer_exports_the_model_and_serial_of_a_unit_another_outlet_sold(app, as_user, world):
    """The unit was sold by outlet B; the ticket is outlet A's, so A's dealer reads its unit's
    model and serial (R-ROLE-1: the ticket's scope decides)."""
    rows = export_rows(app, as_user(world["people"][Role.DEALER]), world)
    assert {row["Serial no."] for row in rows.values()} == {world["unit"].serial}


def test_a_dealer_exports_only_its_outlets_tickets(app, as_user, session, world):
    other = f.make_ticket(session, f.make_customer(session, world["b"]))
    session.commit()
    response = as_user(world["people"][Role.DEALER]).get("/admin/ticket/export/csv/", headers=EN)
    numbers = {row["Ticket no."] for row in table(response)}
    assert numbers == {world["done"].number, world["again"].number} and other.number not in numbers


def test_the_xlsx_export_has_the_same_columns_and_keeps_the_score_a_number(app, as_user, world):
    client = as_user(world["people"][Role.MANAGER])
    response = client.get(f"/admin/ticket/export/xlsx/?flt0_{filter_arg(app, Ticket.outlet_id)}={world['a'].id}",
                          headers=EN)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    lines = list(sheet.iter_rows(values_only=True))
    rows = {line[0]: dict(zip(lines[0], line, strict=True)) for line in lines[1:]}
    done = rows[world["done"].number]
    assert done["Satisfaction"] == 4 and done["Repeat of"] is None
    assert rows[world["again"].number]["Repeat of"] == world["done"].number
    assert done["SLA: Resolution"] == "met" and done["Product model"] == world["model"].code


def test_engineers_do_not_export_tickets(as_user, session):
    engineer = f.make_user(session, Role.ENGINEER, outlet=f.make_outlet(session))
    session.commit()
    response = as_user(engineer).get("/admin/ticket/export/csv/")
    assert response.status_code in (302, 403) and not response.get_data().startswith(b"\xef\xbb\xbf")


def test_the_open_queue_lists_the_tickets_not_closed(app, as_user, world):
    view = admin_views(app)["ticket"]
    url = view.queue_url("open")
    for role in (Role.CLERK, Role.DEALER):
        page = as_user(world["people"][role]).get(url, headers=EN).get_data(as_text=True)
        assert world["again"].number in page and world["done"].number not in page, role
        assert "Open tickets" in page  # the filter's value, named in the user's language
