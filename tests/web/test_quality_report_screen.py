"""The monthly quality report screen (R-RPT-1) read back by each role that may open it, with the
figures worked out by hand for a factory-built outlet and model; the tickets behind a batch alert;
the CSV and XLSX exports; dealer scope (R-ROLE-1); bad input gets a message, not an error."""
from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from backoffice import months
from backoffice.timezones import local_today
from models import ModelSales, Ticket
from tests import factories as f
from tests.unit.test_quality_report import World

REPORT = "/admin/quality_report/"
MONTH = months.recent(local_today(), 15)[-1]  # 14 months back: in the month list, before the demo data
ALERT_ROW = re.compile(r'data-testid="alert" data-model="([^"]+)"')


def figure(html: str, testid: str) -> str:
    return re.search(rf'data-testid="{testid}">(?:<a [^>]*>)?([^<]+)<', html).group(1).strip()


def table(html: str, testid: str) -> str:
    return re.search(rf'<table[^>]*data-testid="{testid}".*?</table>', html, re.S).group(0)


@pytest.fixture
def batch(session):
    """An outlet whose model had one fault a month for three months, then six: a batch alert."""
    world = World(session)
    trailing = months.recent(MONTH, 4)[1:]
    for month in trailing:
        world.fault(month, fault=world.noise)
    world.tickets = [world.fault(MONTH, day, fault=world.ignition, cause=world.thermocouple) for day in range(2, 8)]
    world.fault(MONTH, outlet=world.other, model=world.second)  # another outlet's
    session.commit()
    return world


def signed_in(session, as_user, role, **kw):
    user = f.make_user(session, role, **kw)
    session.commit()
    return as_user(user)


def open_report(client, world, **args):
    query = {"month": f"{MONTH:%Y-%m}", "outlet": world.outlet.id, **args}
    response = client.get(REPORT, query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["clerk", "manager", "admin"])
def test_center_reads_an_outlets_month_and_its_batch_alert(session, as_user, batch, role):
    client = signed_in(session, as_user, role)
    html = open_report(client, batch)
    assert figure(html, "total-faults") == "6" and figure(html, "coded") == "6"
    assert figure(html, "alert-count") == "1"
    assert ALERT_ROW.findall(html) == [batch.model.code]
    assert figure(html, "alert-faults") == "6"
    by_model = table(html, "by-model")
    assert batch.model.code in by_model and batch.second.code not in by_model  # the other outlet's model
    assert figure(by_model, "total") == "6"


def test_dealer_reads_its_own_outlets_report(session, as_user, batch):  # R-ROLE-1
    dealer = f.make_user(session, "dealer", outlet=batch.outlet)
    session.commit()
    html = as_user(dealer).get(REPORT, query_string={"month": f"{MONTH:%Y-%m}"}).get_data(as_text=True)
    assert figure(html, "total-faults") == "6"
    assert batch.second.code not in html and batch.other.name not in html
    assert ALERT_ROW.findall(html) == [batch.model.code]


def test_dealer_cannot_pick_another_outlet(session, as_user, batch):  # R-ROLE-1
    dealer = f.make_user(session, "dealer", outlet=batch.outlet, locale="en")
    session.commit()
    client = as_user(dealer)
    html = client.get(REPORT, query_string={"month": f"{MONTH:%Y-%m}", "outlet": batch.other.id}).get_data(as_text=True)
    assert "No such outlet among yours" in html
    assert figure(html, "total-faults") == "6"  # its own, not the other outlet's 1
    assert batch.second.code not in html
    rows = list(csv.reader(io.StringIO(client.get(REPORT, query_string={
        "month": f"{MONTH:%Y-%m}", "outlet": batch.other.id, "export": "csv"}).get_data(as_text=True))))
    assert not any(batch.second.code in cell or batch.other.name in cell for row in rows for cell in row)


def test_engineer_is_refused_the_report(session, as_user):
    response = signed_in(session, as_user, "engineer").get(REPORT)
    assert response.status_code in (302, 403)


def test_the_alerts_tickets_link_lists_exactly_its_tickets(session, as_user, batch):
    client = signed_in(session, as_user, "manager")
    html = open_report(client, batch)
    link = re.search(r'href="([^"]+)"[^>]*data-testid="alert-tickets"', html).group(1).replace("&amp;", "&")
    listed = client.get(link + "&page_size=100").get_data(as_text=True)
    assert all(t.number in listed for t in batch.tickets)
    earlier = session.scalars(select(Ticket.number).where(Ticket.outlet_id == batch.outlet.id,
                                                          Ticket.id.not_in([t.id for t in batch.tickets]))).all()
    assert len(earlier) == 3 and not any(number in listed for number in earlier)  # not the months before


def test_xlsx_export_totals_equal_the_screen(session, as_user, batch):
    client = signed_in(session, as_user, "manager", locale="en")
    html = open_report(client, batch)
    response = client.get(REPORT, query_string={"month": f"{MONTH:%Y-%m}", "outlet": batch.outlet.id,
                                                "export": "xlsx"})
    assert response.status_code == 200 and "Quality%20report" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    by_model = list(book["By product model"].iter_rows(values_only=True))
    assert by_model[-1][0] == "Total" and by_model[-1][2] == int(figure(table(html, "by-model"), "total")) == 6
    alerts = list(book["Batch alerts"].iter_rows(values_only=True))
    assert [row[0] for row in alerts[1:]] == [batch.model.code]
    summary = dict(list(book["Summary"].iter_rows(values_only=True))[1:])
    assert summary["Fault reports"] == 6 and summary["Batch alerts"] == 1


def test_csv_export_has_a_bom_and_every_table(session, as_user, batch):
    client = signed_in(session, as_user, "clerk", locale="en")
    response = client.get(REPORT, query_string={"month": f"{MONTH:%Y-%m}", "outlet": batch.outlet.id,
                                                "export": "csv"})
    assert response.data.startswith("\ufeff".encode())
    text = response.get_data(as_text=True)
    for title in ("Summary", "Batch alerts", "By product model", "High-frequency problems", "By fault code",
                  "By cause code", "By outlet", "Trend"):
        assert f"\n{title}\r\n" in "\n" + text.lstrip("\ufeff")


@pytest.mark.parametrize("month", ["2026-13", "abc", "2999-01", "<script>"])
def test_a_bad_month_gets_a_message_and_last_month(session, as_user, month):
    client = signed_in(session, as_user, "manager", locale="en")
    response = client.get(REPORT, query_string={"month": month})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "There is no report for" in html and "<script>" not in html.split("<body", 1)[1].split("</h1>")[0]
    assert f"{months.previous_month(local_today()):%Y-%m}" in html


def test_an_unknown_export_type_gets_a_message(session, as_user):
    client = signed_in(session, as_user, "manager", locale="en")
    response = client.get(REPORT, query_string={"export": "pdf"})
    assert response.status_code == 200 and "Exports are CSV or XLSX." in response.get_data(as_text=True)


def test_manager_records_a_months_sales_and_the_report_divides_by_them(session, as_user, batch):  # R-RPT-1
    client = signed_in(session, as_user, "manager", locale="en")
    day = MONTH.replace(day=17)
    response = client.post("/admin/model_sales/new/", data={
        "csrf_token": client.csrf, "product_model": batch.model.id, "month": f"{day:%Y-%m-%d}", "units": "300"})
    assert response.status_code == 302
    sale = session.scalar(select(ModelSales).where(ModelSales.product_model_id == batch.model.id))
    assert (sale.month, sale.units) == (MONTH, 300)  # the day stands for its month
    html = client.get(REPORT, query_string={"month": f"{MONTH:%Y-%m}"}).get_data(as_text=True)
    row = re.search(rf'<tr data-model="{batch.model.code}".*?</tr>', table(html, "by-model"), re.S).group(0)
    assert ">300<" in row and "2.00 %" in row  # 6 faults ÷ 300 units


def test_a_second_sales_figure_for_the_same_month_is_refused_with_a_message(session, as_user, batch):
    session.add(ModelSales(product_model=batch.model, month=MONTH, units=100))
    client = signed_in(session, as_user, "manager", locale="en")
    response = client.post("/admin/model_sales/new/", data={
        "csrf_token": client.csrf, "product_model": batch.model.id, "month": f"{MONTH:%Y-%m-%d}", "units": "50"})
    assert response.status_code == 200 and "Nothing was saved" in response.get_data(as_text=True)
    assert session.scalars(select(ModelSales.units).where(ModelSales.product_model_id == batch.model.id)).all() == [100]


def test_a_clerk_reads_sales_but_cannot_record_them(session, as_user, batch):
    session.add(ModelSales(product_model=batch.model, month=MONTH, units=120))
    client = signed_in(session, as_user, "clerk")
    listed = client.get("/admin/model_sales/", query_string={"search": batch.model.code})
    assert batch.model.code in listed.get_data(as_text=True)
    response = client.post("/admin/model_sales/new/", data={
        "csrf_token": client.csrf, "product_model": batch.model.id, "month": f"{MONTH:%Y-%m-%d}", "units": "50"})
    assert response.status_code == 403


def test_negative_units_are_refused_with_a_message(session, as_user, batch):
    client = signed_in(session, as_user, "manager", locale="en")
    response = client.post("/admin/model_sales/new/", data={
        "csrf_token": client.csrf, "product_model": batch.model.id, "month": f"{MONTH:%Y-%m-%d}", "units": "-5"})
    assert response.status_code == 200 and 'value="-5"' in response.get_data(as_text=True)
    assert session.scalar(select(ModelSales).where(ModelSales.product_model_id == batch.model.id)) is None
