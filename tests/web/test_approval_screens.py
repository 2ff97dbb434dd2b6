"""Approval requests through the screens, for each role (R-RET-4, R-ROLE-2, R-ROLE-1)."""
import re
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from backoffice import intake
from backoffice.timezones import local_today
from models import ApprovalRequest, FinishedGoodsStock, MoneyPosting, Outlet, Ticket
from tests import factories as f


def text(response):
    return response.get_data(as_text=True)


def fresh_ticket(session, outlet="GZ-TH", days_old=3):
    unit = f.unit_of(session, outlet)
    unit.invoice_date = local_today() - timedelta(days=days_old)
    unit.price = Decimal("2599.00")
    ticket = intake.register_report(session, intake.Report(
        kind="return_exchange", fault="新机漏水", customer_id=unit.customer_id, unit_id=unit.id,
        outlet_id=unit.outlet_id), None)
    session.commit()
    return ticket


def request_refund(client, ticket, **changes):
    data = {"csrf_token": client.csrf, "kind": "return_refund", "grounds": "sanbao_window",
            "amount": "2599.00", "reason": "7天内质量问题，用户要求退货", **changes}
    return client.post(f"/admin/ticket/request_approval/?id={ticket.id}", data=data)


def decide(client, request_id, decision, note="同意"):
    page = text(client.get(f"/admin/approval/details/?id={request_id}"))
    version = re.search(r'name="loaded_version" value="(\d+)"', page)
    return client.post(f"/admin/approval/decide/?id={request_id}", data={
        "csrf_token": client.csrf, "decision": decision, "note": note,
        "loaded_version": version.group(1) if version else ""})


def test_dealer_requests_a_refund_and_a_manager_approves_it(login_as, session):
    ticket = fresh_ticket(session)
    dealer, manager = login_as("dealer1"), login_as("manager")
    response = request_refund(dealer, ticket)
    assert response.status_code == 302
    created = session.scalar(select(ApprovalRequest).where(ApprovalRequest.ticket_id == ticket.id))
    assert 'data-testid="decide"' not in text(dealer.get(f"/admin/approval/details/?id={created.id}"))
    assert decide(manager, created.id, "approve", "符合三包退货").status_code == 302
    session.expire_all()
    assert session.get(ApprovalRequest, created.id).status == "approved"
    assert session.scalar(select(MoneyPosting).where(MoneyPosting.request_id == created.id)) is not None
    assert "approval_approve" in [e.action for e in session.get(Ticket, ticket.id).events]
    assert "符合三包退货" in text(dealer.get(f"/admin/ticket/details/?id={ticket.id}"))


def test_policy_refusal_keeps_the_typed_request(login_as, session):  # R-WAR-5
    ticket = fresh_ticket(session, days_old=30)
    clerk = login_as("clerk")
    response = request_refund(clerk, ticket, reason="用户坚持退货，已超7天")
    page = text(response)
    assert response.status_code == 200 and "用户坚持退货，已超7天" in page and "invalid-feedback" in page
    assert session.scalar(select(ApprovalRequest).where(ApprovalRequest.ticket_id == ticket.id)) is None


def test_manager_cannot_approve_own_request_through_the_screen(login_as, session):  # R-ROLE-2
    ticket = fresh_ticket(session, outlet="SC-GZ")
    manager = login_as("manager")
    request_refund(manager, ticket)
    created = session.scalar(select(ApprovalRequest).where(ApprovalRequest.ticket_id == ticket.id))
    assert 'data-testid="decide"' not in text(manager.get(f"/admin/approval/details/?id={created.id}"))
    decide(manager, created.id, "approve")
    session.expire_all()
    assert session.get(ApprovalRequest, created.id).status == "pending"


def test_clerk_cannot_decide(login_as, session):
    ticket = fresh_ticket(session, outlet="SC-GZ")
    request_refund(login_as("manager"), ticket)
    created = session.scalar(select(ApprovalRequest).where(ApprovalRequest.ticket_id == ticket.id))
    decide(login_as("clerk"), created.id, "approve")
    session.expire_all()
    assert session.get(ApprovalRequest, created.id).status == "pending"


def test_dealer_sees_only_own_outlets_requests(login_as, session):  # R-ROLE-1
    own, other = fresh_ticket(session, "GZ-TH"), fresh_ticket(session, "FS-SD")
    request_refund(login_as("dealer1"), own)
    request_refund(login_as("dealer2"), other)
    other_request = session.scalar(select(ApprovalRequest).where(ApprovalRequest.ticket_id == other.id))
    dealer1 = login_as("dealer1")
    assert dealer1.get(f"/admin/approval/details/?id={other_request.id}").status_code == 404
    assert other.number not in text(dealer1.get("/admin/approval/"))
    assert other.number not in text(dealer1.get("/admin/approval/export/csv/"))
    assert own.number in text(dealer1.get("/admin/approval/"))


def test_dealer_cannot_raise_a_request_on_another_outlets_ticket(login_as, session):
    other = fresh_ticket(session, "FS-SD")
    assert request_refund(login_as("dealer1"), other).status_code == 404


def test_stale_decision_page_is_refused(login_as, session):
    ticket = fresh_ticket(session, outlet="SC-GZ")
    request_refund(login_as("clerk"), ticket)
    created = session.scalar(select(ApprovalRequest).where(ApprovalRequest.ticket_id == ticket.id))
    manager, admin = login_as("manager"), login_as("admin")
    page = text(admin.get(f"/admin/approval/details/?id={created.id}"))
    old_version = re.search(r'name="loaded_version" value="(\d+)"', page).group(1)
    decide(manager, created.id, "reject", "不符合")
    admin.post(f"/admin/approval/decide/?id={created.id}", data={
        "csrf_token": admin.csrf, "decision": "approve", "note": "同意", "loaded_version": old_version})
    session.expire_all()
    assert session.get(ApprovalRequest, created.id).status == "rejected"
    assert session.scalar(select(MoneyPosting).where(MoneyPosting.request_id == created.id)) is None


def test_dealer_exchange_may_draw_on_the_centers_stock(login_as, session):  # R-RET-2
    """The dealer cannot list the center's warehouse, yet the exchange may ship from it."""
    ticket = fresh_ticket(session, outlet="FS-SD")
    model = ticket.unit.product_model
    stocks = session.scalars(select(FinishedGoodsStock).where(
        FinishedGoodsStock.product_model_id == model.id)).all()
    center = session.scalar(select(Outlet).where(Outlet.code == "SC-GZ"))
    for stock in stocks:
        stock.qty = 0
    center_stock = next((s for s in stocks if s.outlet_id == center.id), None)
    if center_stock is None:
        center_stock = FinishedGoodsStock(outlet=center, product_model=model)
        session.add(center_stock)
    center_stock.qty = 2
    session.commit()
    dealer = login_as("dealer2")
    assert "SC-GZ" not in text(dealer.get("/admin/stock/"))
    response = dealer.post(f"/admin/ticket/request_approval/?id={ticket.id}", data={
        "csrf_token": dealer.csrf, "kind": "exchange", "grounds": "sanbao_window",
        "reason": "3天内出现质量问题，用户要求换机"})
    assert response.status_code == 302, text(response)
    created = session.scalar(select(ApprovalRequest).where(ApprovalRequest.ticket_id == ticket.id))
    assert created.kind == "exchange" and created.target_model_id == model.id


# --- the dealer network's requests (no ticket): scoped by their outlet (R-ROLE-1) -----------------
def network_requests(session, code):
    outlet = f.outlet(session, code)
    return session.scalars(select(ApprovalRequest).where(ApprovalRequest.ticket_id.is_(None))
                           .where(ApprovalRequest.outlet_id.in_(
                               select(Outlet.id).where((Outlet.id == outlet.id) | (Outlet.parent_id == outlet.id))))
                           .order_by(ApprovalRequest.id)).all()


def test_dealer_sees_own_network_requests_and_not_another_outlets(login_as, session):  # R-ROLE-1
    own = network_requests(session, "GZ-TH")  # demo: extra batch, quality incident, charge-back
    assert {r.kind for r in own} == {"parts_extra_batch", "parts_incident", "fee_chargeback"}
    dealer1, dealer2 = login_as("dealer1"), login_as("dealer2")
    listed = text(dealer1.get("/admin/approval/"))
    for found in own:
        assert found.subject_number in listed
        assert dealer1.get(f"/admin/approval/details/?id={found.id}").status_code == 200
        assert dealer2.get(f"/admin/approval/details/?id={found.id}").status_code == 404
    foreign = text(dealer2.get("/admin/approval/")) + text(dealer2.get("/admin/approval/export/csv/"))
    assert not any(found.subject_number in foreign for found in own)
    assert own[0].subject_number in text(dealer1.get("/admin/approval/export/csv/"))


def test_engineer_sees_no_network_requests(login_as, session):  # R-ROLE-1
    engineer = login_as("engineer")
    for found in network_requests(session, "GZ-TH"):
        assert engineer.get(f"/admin/approval/details/?id={found.id}").status_code in (403, 404)


def test_dealer_cannot_decide_another_outlets_network_request(login_as, session):  # R-ROLE-1, R-ROLE-2
    waiting = next(r for r in network_requests(session, "GZ-TH") if r.status == "pending")
    dealer2 = login_as("dealer2")
    response = dealer2.post(f"/admin/approval/decide/?id={waiting.id}", data={
        "csrf_token": dealer2.csrf, "decision": "approve", "note": "同意", "loaded_version": "1"})
    assert response.status_code == 404
    session.expire_all()
    assert session.get(ApprovalRequest, waiting.id).status == "pending"


def test_ticket_request_form_offers_only_ticket_kinds(login_as, session):  # R-RET-4
    ticket = fresh_ticket(session)
    page = text(login_as("clerk").get(f"/admin/ticket/details/?id={ticket.id}"))
    assert 'value="return_refund"' in page
    assert 'value="parts_incident"' not in page and 'value="fee_chargeback"' not in page
