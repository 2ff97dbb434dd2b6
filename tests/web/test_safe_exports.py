"""Exports are safe to open in a spreadsheet.

A cell starting with = + - @ TAB or CR is written as text (a leading apostrophe, OWASP), numbers
stay numbers, every CSV starts with a UTF-8 byte-order mark, and the file is named after the
screen in the user's language and the local time. Every SecureModelView exports this way.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from backoffice import ledger
from backoffice.timezones import local_today, service_zone
from models import LedgerEntry, PartsAccount, Ticket
from models.choices import LedgerKind
from tests import factories as f
from tests.conftest import csrf_token
from tests.web.test_channel_api import auth, body, token  # noqa: F401  (the token fixture)
from tests.web.test_forms_per_role import admin_views
from views.exports import safe_cell

EN = {"Accept-Language": "en"}
FORMULA = '=HYPERLINK("http://x","y")'


def text(response) -> str:
    return response.get_data(as_text=True)


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))


def cells(response) -> list[str]:
    return [cell for row in rows(response) for cell in row]


def runnable(cell: str) -> bool:
    """What a spreadsheet would run (or treat as a formula) when it opens the cell."""
    return cell[:1] in ("=", "+", "@", "\t", "\r") or (cell[:1] == "-" and not re.fullmatch(r"-\d+(\.\d+)?", cell))


def report_form(client, **changes) -> dict:
    data = {"csrf_token": csrf_token(client, "/report"), "name": "何美玲", "phone": "13711112222",
            "address": "广州市海珠区新港中路99号", "area": "urban", "model_code": "JSQ30-16B",
            "serial": "JSQ-WEB-0001", "invoice_date": (local_today() - timedelta(days=40)).isoformat(),
            "outlet_code": "SC-GZ", "kind": "repair", "fault": "热水器打不着火，显示E1", "website": ""}
    return {**data, **changes}


# --- the rule itself -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["=1+1", "+SUM(1)", "-2+3", "@cmd", "\t=1", "\r=1", FORMULA])
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["-35.50", "2599.00", "-3", "0"])
def test_plain_numbers_stay_numbers(value):
    assert safe_cell(value) == value


def test_markup_and_control_characters_are_dropped_from_a_cell():
    from markupsafe import Markup

    assert safe_cell(Markup('<a href="/x">SV20261201-0001</a>')) == "SV20261201-0001"
    assert safe_cell("A\x01B\x0bC") == "ABC"


# --- through the real doors ------------------------------------------------------------------------

def test_a_formula_typed_into_the_public_report_form_arrives_neutralised_in_the_staff_csv(app, client, login_as):
    response = client.post("/report", data=report_form(client, name=FORMULA, phone="13711119999"))
    assert response.status_code == 200 and 'data-testid="receipt-number"' in text(response)
    clerk = login_as("clerk")
    for url in ("/admin/customer/export/csv/", "/admin/ticket/export/csv/", "/admin/return_visit/export/csv/"):
        exported = clerk.get(url)
        assert exported.status_code == 200, url
        found = cells(exported)
        assert not [cell for cell in found if runnable(cell)], url
    assert "'" + FORMULA in cells(clerk.get("/admin/customer/export/csv/"))
    assert any(cell.startswith("'" + FORMULA) for cell in cells(clerk.get("/admin/ticket/export/csv/")))


def test_a_serial_and_invoice_number_sent_through_the_api_arrive_neutralised(client, token, login_as):  # noqa: F811
    response = client.post("/api/v1/tickets", headers=auth(token),
                           json=body(**{"unit.serial": "+SUM(1)", "unit.invoice_no": "@cmd"}))
    assert response.status_code == 201, response.json
    exported = cells(login_as("clerk").get("/admin/unit/export/csv/"))
    assert "'+SUM(1)" in exported and "'@cmd" in exported
    assert not [cell for cell in exported if runnable(cell)]


def test_every_export_of_every_screen_has_no_runnable_cell(app, session, login_as):
    """The base view does it, so no screen can forget: a formula in every kind of text the
    admin exports reaches (customer, ledger reason, payment reference …) comes out as text."""
    customer = f.make_customer(session, f.outlet(session, "GZ-TH"), name="@SUM(A1)")
    f.make_ticket(session, customer, fault_description="=cmd|' /C calc'!A0")
    account = session.scalar(select(PartsAccount).where(PartsAccount.outlet_id == customer.outlet_id))
    ledger.post(session, account.outlet_id, LedgerKind.ADJUSTMENT, Decimal("0.00"), source="test:formula",
                reason="+1+1")
    session.commit()
    admin = login_as("admin")
    for endpoint, view in admin_views(app).items():
        if "admin" not in view.export_roles:
            continue
        response = admin.get(f"/admin/{endpoint}/export/csv/")
        assert response.status_code == 200, endpoint
        assert response.get_data().startswith("\ufeff".encode()), f"{endpoint}: no BOM"
        assert not [cell for cell in cells(response) if runnable(cell)], endpoint


def test_money_columns_stay_numbers_in_the_export(login_as, session):
    exported = rows(login_as("clerk").get("/admin/ledger_entry/export/csv/", headers=EN))
    column = exported[0].index("On account")
    amounts = [row[column] for row in exported[1:]]
    assert any(a.startswith("-") for a in amounts) and all(re.fullmatch(r"-?\d+\.\d{2}", a) for a in amounts)


def test_the_csv_carries_a_bom_and_a_local_time_file_name_in_the_users_language(login_as, session):
    clerk = login_as("clerk")
    before = datetime.now(service_zone())
    response = clerk.get("/admin/ticket/export/csv/")  # the demo clerk reads Chinese
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.get_data().startswith(b"\xef\xbb\xbf")
    disposition = response.headers["Content-Disposition"]
    plain = re.search(r'filename="(ticket_(\d{8}-\d{4})\.csv)"', disposition)
    assert plain, disposition
    stamp = datetime.strptime(plain.group(2), "%Y%m%d-%H%M").replace(tzinfo=service_zone())
    assert before - timedelta(minutes=1) <= stamp <= before + timedelta(minutes=2)
    utf8 = re.search(r"filename\*=UTF-8''(\S+)", disposition)
    assert utf8 and unquote(utf8.group(1)) == f"服务单_{plain.group(2)}.csv"  # "Tickets"


def test_the_english_file_name_is_in_english(login_as, session):
    f.user(session, "clerk").locale = "en"
    session.commit()
    disposition = login_as("clerk").get("/admin/ticket/export/csv/").headers["Content-Disposition"]
    assert re.search(r"filename\*=UTF-8''Tickets_\d{8}-\d{4}\.csv", disposition), disposition


def test_tickets_export_as_xlsx_with_formulas_as_text(app, client, login_as):
    client.post("/report", data=report_form(client, name=FORMULA, phone="13711118888"))
    response = login_as("clerk").get("/admin/ticket/export/xlsx/")
    assert response.status_code == 200, response.status_code
    assert re.search(r'filename="ticket_\d{8}-\d{4}\.xlsx"', response.headers["Content-Disposition"])
    book = zipfile.ZipFile(io.BytesIO(response.get_data()))
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    strings = book.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in book.namelist() else ""
    assert "<f>" not in sheet  # no cell is a formula
    assert "&apos;=HYPERLINK" in sheet + strings or "'=HYPERLINK" in sheet + strings


def test_the_statement_csv_quotes_a_file_name_with_an_odd_outlet_code(login_as, session):
    """A code saved before the outlet form checked it (CR/LF, quotes) cannot break the header."""
    outlet = f.make_outlet(session, code='OLD"\r\nX')
    session.add(PartsAccount(outlet=outlet))
    session.commit()
    found = session.scalar(select(PartsAccount).where(PartsAccount.outlet_id == outlet.id))
    response = login_as("clerk").get(f"/admin/parts_account/statement.csv?id={found.id}")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and disposition.count('"') == 2
    assert response.get_data().startswith(b"\xef\xbb\xbf")


def test_the_audit_csv_is_plain_text(login_as, session):
    ticket = session.scalars(select(Ticket).order_by(Ticket.id)).first()
    ticket.contact_name = "<b>王芳</b>"
    session.commit()
    exported = text(login_as("manager").get("/admin/audit/export/csv/"))
    assert "<table" not in exported and "<td" not in exported and "<tr" not in exported
    assert "contact_name" in exported and "<b>王芳</b>" in exported  # the typed text itself, as text


def test_ledger_entries_written_by_hand_are_exported_as_text(login_as, session):
    entry = session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).first()
    ledger.post(session, entry.outlet_id, LedgerKind.ADJUSTMENT, Decimal("0.00"), source="test:formula2",
                reason="@SUM(1)")
    session.commit()
    assert "'@SUM(1)" in cells(login_as("clerk").get("/admin/ledger_entry/export/csv/"))
