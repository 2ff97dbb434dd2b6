"""The service desk through the screens, role by role: every form is posted and its result read back as
the role that must see it. The world is built with factories, not looked up in the demo."""
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice import approvals, workflow
from backoffice.approvals import Draft
from backoffice.timezones import local_today
from models import Customer, MoneyPosting, Ticket, TicketEvent
from models.choices import Role
from tests import factories as f


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def world(session):
    a, b = f.make_outlet(session), f.make_outlet(session)
    w = dict(a=a, b=b, dealer_a=f.make_user(session, Role.DEALER, outlet=a),
             dealer_b=f.make_user(session, Role.DEALER, outlet=b),
             engineer_a=f.make_user(session, Role.ENGINEER, outlet=a),
             engineer_b=f.make_user(session, Role.ENGINEER, outlet=b),
             clerk=f.make_user(session, Role.CLERK), manager=f.make_user(session, Role.MANAGER))
    w["customer"] = f.make_customer(session, a)
    w["unit"] = f.make_unit(session, w["customer"], invoice_date=local_today() - timedelta(days=3))
    session.commit()
    return w


def intake_form(client, outlet=None, **fields):
    data = {"csrf_token": client.csrf, "customer_id": "", "kind": "repair", "category": "quality",
            "channel": "walk_in", "fault": "热水器点火后马上熄火", "customer.area": "urban",
            "outlet_id": str(outlet.id) if outlet else ""}
    data.update(fields)
    return client.post("/admin/intake/", data=data)


def number_on(receipt_page):
    return re.search(r'data-testid="receipt-number">(SV\d{8}-\d{4})<', receipt_page).group(1)


# --- 1. dealers register -------------------------------------------------------------------

def test_dealer_registers_a_walk_in_new_caller_and_finds_it_in_its_list(as_user, world, session):
    dealer = as_user(world["dealer_a"])
    response = intake_form(dealer, world["a"], **{"customer.phone": "13611112222", "customer.name": "司徒敏"})
    assert response.status_code == 302, text(response)[:400]
    number = number_on(text(dealer.get(response.location)))
    assert number in text(dealer.get("/admin/ticket/?search=13611112222"))
    ticket = session.scalar(select(Ticket).where(Ticket.number == number))
    assert ticket.outlet_id == world["a"].id and ticket.channel == "walk_in"


def test_dealer_registers_a_known_caller_of_its_own_outlet(as_user, world, session):
    dealer = as_user(world["dealer_a"])
    customer, unit = world["customer"], world["unit"]
    response = intake_form(dealer, world["a"], **{"customer.phone": customer.phone, "customer_id": str(customer.id),
                                                 "unit_id": str(unit.id), "channel": "dealer"})
    assert response.status_code == 302
    number = number_on(text(dealer.get(response.location)))
    assert session.scalar(select(Ticket.unit_id).where(Ticket.number == number)) == unit.id


def test_dealer_typing_another_outlets_customers_phone_gets_a_message_not_a_500(as_user, world, session):
    other = f.make_customer(session, world["b"], name="诸葛芸")
    session.commit()
    dealer = as_user(world["dealer_a"])
    response = intake_form(dealer, world["a"], **{"customer.phone": other.phone, "customer.name": "张三"})
    page = text(response)
    assert response.status_code == 200 and "诸葛芸" not in page
    assert "热水器点火后马上熄火" in page  # what was typed is kept


# --- 2. dispatch in the network ------------------------------------------------------------

def _agreed(session, world, unit=None):
    ticket = f.make_ticket(session, world["customer"], unit=unit or world["unit"], actor=world["clerk"])
    workflow.perform(session, ticket, "diagnose", world["engineer_a"],
                     {"service_mode": "onsite", "severity": "major", "note": "需上门"})
    workflow.perform(session, ticket, "propose", world["engineer_a"], {"note": "上门检修"})
    workflow.perform(session, ticket, "agree", world["clerk"], {})
    session.commit()
    return ticket


def test_dealer_dispatches_its_own_engineer_from_the_ticket_page(as_user, world, session):
    ticket = _agreed(session, world)
    dealer = as_user(world["dealer_a"])
    page = text(dealer.get(f"/admin/ticket/details/?id={ticket.id}"))
    assert world["engineer_a"].full_name in page and world["engineer_b"].full_name not in page
    response = dealer.post(f"/admin/ticket/transition/dispatch/?id={ticket.id}", data={
        "csrf_token": dealer.csrf, "engineer": str(world["engineer_a"].id), "appointment_at": "2026-12-30T10:00",
        "loaded_version": str(ticket.version_id)})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Ticket, ticket.id).assigned_engineer_id == world["engineer_a"].id
    engineer = as_user(world["engineer_a"])
    assert ticket.number in text(engineer.get("/admin/ticket/?search=" + ticket.number))


def test_clerk_sees_engineers_with_their_outlet_and_cannot_send_another_outlets(as_user, world, session):
    ticket = _agreed(session, world)
    clerk = as_user(world["clerk"])
    page = text(clerk.get(f"/admin/ticket/details/?id={ticket.id}"))
    assert f"{world['engineer_a'].full_name} · {world['a'].name}" in page
    assert world["engineer_b"].full_name not in page
    response = clerk.post(f"/admin/ticket/transition/dispatch/?id={ticket.id}", data={
        "csrf_token": clerk.csrf, "engineer": str(world["engineer_b"].id), "appointment_at": "2026-12-30T10:00",
        "loaded_version": str(ticket.version_id)})
    assert response.status_code == 200 and "is-invalid" in text(response)
    session.expire_all()
    assert session.get(Ticket, ticket.id).assigned_engineer_id is None


# --- 4. one customer per caller ------------------------------------------------------------

def test_another_name_on_a_known_phone_is_asked_then_registered_as_a_contact(as_user, world, session):
    clerk = as_user(world["clerk"])
    phone = world["customer"].phone
    asked = intake_form(clerk, world["a"], **{"customer.phone": phone, "customer.name": "上官燕"})
    assert 'data-testid="name-choice"' in text(asked) and world["customer"].name in text(asked)
    response = intake_form(clerk, world["a"], **{"customer.phone": phone, "customer.name": "上官燕",
                                                "name_choice": "contact"})
    assert response.status_code == 302
    number = number_on(text(clerk.get(response.location)))
    ticket = session.scalar(select(Ticket).where(Ticket.number == number))
    assert ticket.customer_id == world["customer"].id and ticket.contact_name == "上官燕"
    assert session.scalar(select(func.count()).select_from(Customer).where(Customer.phone == phone)) == 1


def test_api_with_another_name_on_a_known_phone_keeps_one_customer(app, world, session):
    result = app.test_cli_runner().invoke(args=["create-api-token", "--channel", "wechat", "--name", "公众号"])
    token = result.output.strip().splitlines()[-1]
    body = {"kind": "repair", "fault": "不出热水", "customer": {"name": "另一个人", "phone": world["customer"].phone},
            "unit": {"outlet_code": world["a"].code}}
    response = app.test_client().post("/api/v1/tickets", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_json()
    ticket = session.scalar(select(Ticket).where(Ticket.number == response.get_json()["number"]))
    assert ticket.customer_id == world["customer"].id and ticket.contact_name == "另一个人"


def test_customer_form_refuses_a_second_record_for_a_known_phone(as_user, world, session):
    clerk = as_user(world["clerk"])
    response = clerk.post("/admin/customer/new/", data={
        "csrf_token": clerk.csrf, "name": "重复的人", "phone": world["customer"].phone, "phone2": "", "address": "",
        "region": "", "area": "urban", "distance_km": "", "outlet": str(world["a"].id), "note": ""})
    assert response.status_code == 200 and world["customer"].name in text(response)
    assert session.scalar(select(func.count()).select_from(Customer).where(Customer.name == "重复的人")) == 0


# --- 7. intake ergonomics ------------------------------------------------------------------

def test_missing_outlet_for_a_new_caller_says_so_and_keeps_the_typing(as_user, world):
    clerk = as_user(world["clerk"])
    response = intake_form(clerk, None, **{"customer.phone": "13655556666", "customer.name": "慕容雪"})
    page = text(response)
    assert response.status_code == 200 and "慕容雪" in page and "热水器点火后马上熄火" in page
    assert re.search(r'id="outlet_id" name="outlet_id" class="form-control is-invalid"', page)
    assert 'class="invalid-feedback d-block"' in page.split('id="outlet_id"')[1][:3000]


def test_known_caller_without_a_chosen_outlet_is_served_by_theirs(as_user, world, session):
    clerk = as_user(world["clerk"])
    customer = world["customer"]
    response = intake_form(clerk, None, **{"customer.phone": customer.phone, "customer_id": str(customer.id)})
    assert response.status_code == 302
    number = number_on(text(clerk.get(response.location)))
    assert session.scalar(select(Ticket.outlet_id).where(Ticket.number == number)) == world["a"].id


def test_intake_keeps_purchase_price_and_channel(as_user, world, session):
    clerk = as_user(world["clerk"])
    response = intake_form(clerk, world["a"], **{
        "customer.phone": "13677778888", "customer.name": "东方晴", "unit.model_code": "JSQ30-16B",
        "unit.serial": "SN-WEB-PRICE-01", "unit.invoice_date": local_today().isoformat(),
        "unit.price": "3299", "unit.purchase_channel": "online"})
    assert response.status_code == 302
    number = number_on(text(clerk.get(response.location)))
    ticket = session.scalar(select(Ticket).where(Ticket.number == number))
    assert ticket.unit.price == Decimal("3299.00") and ticket.unit.purchase_channel == "online"


def test_bad_purchase_price_is_a_message_not_a_500(as_user, world):
    clerk = as_user(world["clerk"])
    response = intake_form(clerk, world["a"], **{
        "customer.phone": "13677779999", "customer.name": "东方晴", "unit.model_code": "JSQ30-16B",
        "unit.serial": "SN-WEB-PRICE-02", "unit.price": "1e400"})
    assert response.status_code == 200 and "东方晴" in text(response)


def test_caller_with_an_open_ticket_is_offered_and_added_to_it(as_user, world, session):
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], actor=world["clerk"])
    session.commit()
    dealer = as_user(world["dealer_a"])
    panel = text(dealer.get(f"/admin/intake/lookup?phone={world['customer'].phone}"))
    assert f"/admin/intake/add/{ticket.id}" in panel
    response = dealer.post(f"/admin/intake/add/{ticket.id}", data={
        "csrf_token": dealer.csrf, "customer.phone": world["customer"].phone, "fault": "今天又熄火三次",
        "channel": "hotline", "kind": "repair", "category": "quality"})
    assert response.status_code == 302
    assert "今天又熄火三次" in text(dealer.get(f"/admin/ticket/details/?id={ticket.id}"))
    tickets = select(func.count()).select_from(Ticket).where(Ticket.customer_id == world["customer"].id)
    assert session.scalar(tickets) == 1


def test_dealer_cannot_add_to_another_outlets_ticket(as_user, world, session):
    other = f.make_customer(session, world["b"])
    ticket = f.make_ticket(session, other, actor=world["clerk"])
    session.commit()
    dealer = as_user(world["dealer_a"])
    response = dealer.post(f"/admin/intake/add/{ticket.id}", data={"csrf_token": dealer.csrf, "fault": "试探"})
    assert response.status_code == 404
    assert session.scalar(select(func.count()).select_from(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.action == "caller_called")) == 0


# --- 8. after approval: the return path and the money postings -----------------------------

def _approved_refund(session, world):
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], kind="return_exchange",
                           actor=world["dealer_a"])
    request = approvals.submit(session, ticket, world["dealer_a"], Draft(
        kind="return_refund", grounds="sanbao_window", reason="7天内故障退货", amount=Decimal("2599.00")))
    session.commit()
    return ticket, request


def test_manager_approves_a_refund_and_the_dealer_walks_the_return_path(as_user, world, session):
    ticket, request = _approved_refund(session, world)
    manager, dealer = as_user(world["manager"]), as_user(world["dealer_a"])
    page = text(manager.get(f"/admin/approval/details/?id={request.id}"))
    version = re.search(r'name="loaded_version" value="(\d+)"', page)
    response = manager.post(f"/admin/approval/decide/?id={request.id}", data={
        "csrf_token": manager.csrf, "decision": "approve", "note": "同意退款",
        "loaded_version": version.group(1) if version else ""})
    assert response.status_code == 302
    details = text(dealer.get(f"/admin/ticket/details/?id={ticket.id}"))
    assert 'data-testid="return-path"' in details and "/transition/take_back_unit/" in details
    steps = (("take_back_unit", {"old_unit_how": "hand_in"}), ("pay_refund", {"payment_ref": "ZFB2026120100001"}))
    for step, data in steps:
        session.expire_all()
        version = session.get(Ticket, ticket.id).version_id
        response = dealer.post(f"/admin/ticket/transition/{step}/?id={ticket.id}",
                               data={"csrf_token": dealer.csrf, "loaded_version": str(version), **data})
        assert response.status_code == 302, step
    session.expire_all()
    assert session.get(Ticket, ticket.id).status == "resolved"
    postings = text(dealer.get("/admin/money_posting/"))
    assert ticket.number in postings and "ZFB2026120100001" in postings
    assert ticket.number not in text(as_user(world["dealer_b"]).get("/admin/money_posting/"))
    csv = text(manager.get("/admin/money_posting/export/csv/"))
    assert ticket.number in csv and "2599.00" in csv


def test_engineer_cannot_open_money_postings(as_user, world):
    engineer = as_user(world["engineer_a"])
    assert engineer.get("/admin/money_posting/").status_code in (302, 403)


def test_second_remedy_request_on_the_ticket_page_says_what_was_granted(as_user, world, session):
    _ticket, request = _approved_refund(session, world)
    approvals.decide(session, request, world["manager"], "approve", "同意")
    session.commit()
    again = f.make_ticket(session, world["customer"], unit=world["unit"], kind="return_exchange", actor=world["clerk"])
    session.commit()
    clerk = as_user(world["clerk"])
    response = clerk.post(f"/admin/ticket/request_approval/?id={again.id}", data={
        "csrf_token": clerk.csrf, "kind": "return_refund", "grounds": "sanbao_window", "amount": "100",
        "reason": "再退一次"})
    assert response.status_code == 200 and f"#{request.id}" in text(response)
    assert session.scalar(select(func.count()).select_from(MoneyPosting).where(
        MoneyPosting.customer_id == world["customer"].id)) == 1


def test_intake_tab_order_follows_the_call(as_user, world):
    """Phone, then the kind and category, then the fault right after the caller: the fields a
    clerk fills for every call come before those of a new customer or unit."""
    page = text(as_user(world["clerk"]).get("/admin/intake/"))
    order = [page.index(f'name="{name}"') for name in
             ("customer.phone", "kind", "category", "fault", "customer.name", "unit.model_code", "outlet_id")]
    assert order == sorted(order)


def test_an_edit_that_would_duplicate_a_row_is_a_message_not_a_500(as_user, world, session):
    """form_smoke found it: the IntegrityError's message was built on a failed transaction."""
    model = f.make_product_model(session, category="shoes")
    f.make_stock(session, world["a"], model, size="41")
    other = f.make_stock(session, world["a"], model, size="42")
    session.commit()
    manager = as_user(world["manager"])
    response = manager.post(f"/admin/stock/edit/?id={other.id}", data={
        "csrf_token": manager.csrf, "outlet": str(world["a"].id), "product_model": str(model.id),
        "size": "41", "qty": "3"})
    assert response.status_code == 200 and "alert-danger" in text(response)
    session.expire_all()
    assert session.get(type(other), other.id).size == "42"


def test_a_phone_longer_than_any_stored_one_finds_nobody_instead_of_a_500(as_user, world):
    clerk = as_user(world["clerk"])
    response = intake_form(clerk, world["a"], **{"customer.phone": "1" * 65536, "customer.name": "长号码"})
    assert response.status_code == 200 and "长号码" in text(response)
    assert clerk.get("/admin/intake/lookup?phone=" + "1" * 2000).status_code == 200


def test_a_search_longer_than_any_field_is_a_message_not_a_500(as_user, world):
    response = as_user(world["clerk"]).get("/admin/customer/?search=" + "x" * 60000)
    assert response.status_code == 400
