"""An installation ticket taken through its steps on the ticket page (R-INST-1, R-INST-2), and
the shoe screens: size on units, stock and the exchange request (R-RET-2)."""
import re
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from backoffice import policy
from backoffice.timezones import local_today
from models import ApprovalRequest, FinishedGoodsStock, Ticket
from tests import factories as f


def text(response):
    return response.get_data(as_text=True)


def step(client, session, ticket_id, name, **data):
    """Post one step from the ticket page with the version the page showed."""
    session.expire_all()
    version = session.get(Ticket, ticket_id).version_id
    response = client.post(f"/admin/ticket/transition/{name}/?id={ticket_id}",
                           data={"csrf_token": client.csrf, "loaded_version": version, **data})
    assert response.status_code == 302, text(response)[:2000]
    session.expire_all()
    return session.get(Ticket, ticket_id)


def test_clerk_takes_a_charged_installation_through_its_steps_and_reads_the_charges(login_as, session):
    """Special-price model 32 km away: installation fee and travel fee from the policy, materials
    typed; the customer agrees, then dispatch → start → resolve as a repair (R-INST-1/2)."""
    owner = f.make_customer(session, f.outlet(session, "SC-GZ"), distance_km=Decimal("32.0"))
    model = f.make_product_model(session, special_price=True)
    unit = f.make_unit(session, owner, model_code=model.code)
    ticket = f.make_ticket(session, owner, unit=unit, kind="installation", category="other",
                           fault_description="新机上门安装")
    fee = policy.value(session, "installation.fee").quantize(Decimal("0.01"))
    travel = (Decimal("32.0") * policy.value(session, "installation.travel_fee_per_km")).quantize(Decimal("0.01"))
    engineer = f.user(session, "engineer")
    session.commit()
    clerk = login_as("clerk")

    page = text(clerk.get(f"/admin/ticket/details/?id={ticket.id}"))
    assert 'data-step="schedule_installation"' in page and 'data-step="diagnose"' not in page
    assert model.code in page  # the verdict names the model: special price, charged

    ticket = step(clerk, session, ticket.id, "schedule_installation", fee_item=["不锈钢波纹管 1.5米", "燃气角阀", ""],
                  fee_amount=["45", "28.50", ""], note="约周六上午")
    assert ticket.status == "solution_proposed" and ticket.service_mode == "onsite"
    ticket = step(clerk, session, ticket.id, "agree", note="用户同意收费")
    appointment = (local_today() + timedelta(days=1)).isoformat() + "T09:30"
    ticket = step(clerk, session, ticket.id, "dispatch", engineer=str(engineer.id), appointment_at=appointment)
    ticket = step(clerk, session, ticket.id, "start_service")
    ticket = step(clerk, session, ticket.id, "installation_materials", fee_item=["三通", "", ""],
                  fee_amount=["12", "", ""])
    ticket = step(clerk, session, ticket.id, "resolve", work_done="安装完成，检漏合格", tested_ok="y",
                  signed_by=owner.name)
    assert ticket.status == "resolved"

    page = text(clerk.get(f"/admin/ticket/details/?id={ticket.id}"))
    fees = page.split('data-testid="fees"', 1)[1].split("</table>", 1)[0]
    amounts = [Decimal(a.replace(",", "")) for a in re.findall(r'class="text-right">¥([\d,]+\.\d\d)<', fees)]
    total = fee + travel + Decimal("45.00") + Decimal("28.50") + Decimal("12.00")
    assert amounts == [fee, travel, Decimal("45.00"), Decimal("28.50"), Decimal("12.00"), total]
    assert "32.0 km" in fees and "燃气角阀" in fees and model.code in fees


def test_shoe_size_is_on_units_and_stock_and_a_size_exchange_asks_for_it(login_as, session):  # R-RET-2
    owner = f.make_customer(session, f.outlet(session, "SC-GZ"))
    unit = f.make_unit(session, owner, model_code="XZ-M2601", size="42", price=Decimal("599.00"),
                       invoice_date=local_today() - timedelta(days=9))
    ticket = f.make_ticket(session, owner, unit=unit, kind="return_exchange", category="size",
                           fault_description="42码偏大")
    stock = session.scalar(select(FinishedGoodsStock).where(
        FinishedGoodsStock.product_model_id == unit.product_model_id, FinishedGoodsStock.size == "41"))
    if stock is None:
        stock = FinishedGoodsStock(outlet=f.outlet(session, "SC-GZ"), product_model=unit.product_model, size="41")
        session.add(stock)
    stock.qty = 2
    session.commit()
    clerk = login_as("clerk")

    assert 'name="size"' in text(clerk.get("/admin/unit/new/"))
    assert unit.serial in text(clerk.get(f"/admin/unit/?search={unit.serial}"))
    page = text(clerk.get(f"/admin/ticket/details/?id={ticket.id}"))
    assert 'name="target_size"' in page
    manager = login_as("manager")
    assert 'name="size"' in text(manager.get("/admin/stock/new/"))

    asked = clerk.post(f"/admin/ticket/request_approval/?id={ticket.id}", data={
        "csrf_token": clerk.csrf, "kind": "exchange", "grounds": "size", "reason": "偏大一码，换41码",
        "target_size": "41"})
    assert asked.status_code == 302, text(asked)[:2000]
    request = session.scalar(select(ApprovalRequest).where(ApprovalRequest.ticket_id == ticket.id))
    assert request.target_size == "41" and request.stock_outlet_id == stock.outlet_id
    assert "41" in text(manager.get(f"/admin/approval/details/?id={request.id}"))
