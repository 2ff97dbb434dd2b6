"""The clerk's phone intake (R-TKT-1, R-TKT-2): caller lookup, registration, printable receipt."""
import re
from datetime import timedelta

from sqlalchemy import select

from backoffice.timezones import local_today
from models import Customer, Ticket
from tests import factories as f


def text(response):
    return response.get_data(as_text=True)


def test_typing_a_known_phone_shows_the_customer_units_and_open_tickets(login_as, session):
    customer = next(c for c in session.scalars(select(Customer)) if any(
        t.status != "closed" for t in c.tickets))
    clerk = login_as("clerk")
    panel = text(clerk.get(f"/admin/intake/lookup?phone={customer.phone}"))
    assert customer.name in panel
    assert all(unit.serial in panel for unit in customer.units)
    assert any(t.number in panel for t in customer.tickets if t.status != "closed")


def test_known_caller_registers_a_ticket_and_gets_a_receipt(login_as, session):
    unit = f.unit_of(session, "SC-GZ")
    clerk = login_as("clerk")
    response = clerk.post("/admin/intake/", data={
        "csrf_token": clerk.csrf, "customer.phone": unit.customer.phone,
        "customer_id": str(unit.customer_id), "unit_id": str(unit.id), "kind": "repair",
        "category": "quality", "channel": "hotline", "fault": "热水器开机后风机不转，显示E3",
        "outlet_id": str(unit.outlet_id)})
    assert response.status_code == 302 and "/receipt/" in response.location
    receipt = text(clerk.get(response.location))
    number = re.search(r'data-testid="receipt-number">(SV\d{8}-\d{4})<', receipt).group(1)
    assert 'data-testid="promised-response"' in receipt and 'data-action="print"' in receipt
    ticket = session.scalar(select(Ticket).where(Ticket.number == number))
    assert ticket.channel == "hotline" and ticket.unit_id == unit.id


def test_new_caller_is_created_with_unit_inline(login_as, session):
    clerk = login_as("clerk")
    invoice = (local_today() - timedelta(days=5)).isoformat()
    response = clerk.post("/admin/intake/", data={
        "csrf_token": clerk.csrf, "customer.phone": "13512345678", "customer_id": "",
        "customer.name": "钟丽华", "customer.area": "suburban", "customer.address": "佛山市顺德区勒流镇新城路8号",
        "unit.model_code": "JSQ30-16B", "unit.serial": "JSQ2611NEW01", "unit.invoice_date": invoice,
        "kind": "installation", "category": "other", "channel": "hotline", "fault": "新机安装",
        "outlet_id": str(f.outlet(session, "FS-SD").id)})
    assert response.status_code == 302
    customer = session.scalar(select(Customer).where(Customer.phone == "13512345678"))
    ticket = customer.tickets[0]
    assert ticket.warranty_code == "install_free" and ticket.area == "suburban"  # R-INST-1 (no 三包 window), §4


def test_rejected_intake_keeps_everything_typed(login_as):
    clerk = login_as("clerk")
    response = clerk.post("/admin/intake/", data={
        "csrf_token": clerk.csrf, "customer.phone": "13512345678", "customer_id": "",
        "customer.name": "", "customer.address": "广州市海珠区新港中路1号", "kind": "repair",
        "category": "quality", "channel": "hotline", "fault": "燃气灶左灶打不着"})
    page = text(response)
    assert response.status_code == 200 and "is-invalid" in page
    assert "广州市海珠区新港中路1号" in page and "燃气灶左灶打不着" in page and "13512345678" in page


def test_dealer_intake_cannot_use_another_outlets_customer(login_as, session):
    other = f.customer_of(session, "FS-SD")
    dealer1 = login_as("dealer1")
    assert other.name not in text(dealer1.get(f"/admin/intake/lookup?phone={other.phone}"))
    response = dealer1.post("/admin/intake/", data={
        "csrf_token": dealer1.csrf, "customer.phone": other.phone, "customer_id": str(other.id),
        "kind": "repair", "category": "quality", "channel": "dealer", "fault": "越权",
        "outlet_id": str(f.outlet(session, "GZ-TH").id)})
    assert response.status_code == 200 and "invalid-feedback" in text(response)
    assert session.scalar(select(Ticket).where(Ticket.fault_description == "越权")) is None


def test_receipt_of_another_outlets_ticket_is_404(login_as, session):
    ticket = f.ticket_of(session, "FS-SD")
    assert login_as("dealer1").get(f"/admin/intake/receipt/{ticket.id}").status_code == 404
