"""Audit trail, optimistic locking and bad input (R-RPT-3)."""
import re

from sqlalchemy import select

from models import AuditEntry, Customer, Ticket
from tests import factories as f


def text(response):
    return response.get_data(as_text=True)


def ticket_form(ticket, **changes):
    data = {
        "customer": str(ticket.customer_id), "unit": str(ticket.unit_id or ""),
        "kind": ticket.kind, "channel": ticket.channel, "category": ticket.category,
        "fault_description": ticket.fault_description, "occurred_at": "",
        "contact_name": ticket.contact_name, "contact_phone": ticket.contact_phone,
        "address": ticket.address, "outlet": str(ticket.outlet_id),
        "assigned_engineer": str(ticket.assigned_engineer_id or "__None"),
        "loaded_version": str(ticket.version_id),
    }
    data.update(changes)
    return data


def loaded_version(client, ticket_id) -> str:
    page = text(client.get(f"/admin/ticket/edit/?id={ticket_id}"))
    return re.search(r'id="loaded_version" name="loaded_version" type="hidden" value="(\d+)"', page).group(1)


def test_creating_a_customer_is_audited_with_actor_and_fields(login_as, session):
    clerk = login_as("clerk")
    outlet = f.outlet(session, "SC-GZ")
    response = clerk.post("/admin/customer/new/", data={
        "name": "周美玲", "phone": "13811112222", "phone2": "", "address": "广州市越秀区东风中路1号",
        "region": "广州市越秀区", "area": "urban", "distance_km": "3", "outlet": str(outlet.id),
        "note": "", "csrf_token": clerk.csrf})
    assert response.status_code == 302
    customer = session.scalar(select(Customer).where(Customer.phone == "13811112222"))
    entry = session.scalar(select(AuditEntry).where(AuditEntry.table_name == "customer",
                                                    AuditEntry.record_id == str(customer.id)))
    assert entry.action == "create" and entry.actor_name == "clerk"
    assert entry.changes["name"] == [None, "周美玲"]


def test_updating_records_old_and_new_values(login_as, session):
    clerk = login_as("clerk")
    customer = f.customer_of(session, "SC-GZ")
    old_name = customer.name
    clerk.post(f"/admin/customer/edit/?id={customer.id}", data={
        "name": "改名后", "phone": customer.phone, "phone2": "", "address": customer.address,
        "region": customer.region, "area": customer.area, "distance_km": str(customer.distance_km),
        "outlet": str(customer.outlet_id), "note": "", "csrf_token": clerk.csrf})
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.table_name == "customer", AuditEntry.record_id == str(customer.id),
        AuditEntry.action == "update")).one()
    assert entry.changes == {"name": [old_name, "改名后"]}


def test_deleting_is_audited(login_as, session):
    manager = login_as("manager")
    customer = Customer(name="临时客户", phone="13700000000", area="urban",
                        outlet_id=f.outlet(session, "SC-GZ").id)
    session.add(customer)
    session.commit()
    response = manager.post("/admin/customer/delete/", data={"id": customer.id, "csrf_token": manager.csrf})
    assert response.status_code == 302
    entry = session.scalar(select(AuditEntry).where(AuditEntry.record_id == str(customer.id),
                                                    AuditEntry.action == "delete"))
    assert entry.actor_name == "manager" and entry.changes["name"] == ["临时客户", None]


def test_password_changes_are_audited_without_the_hash(login_as, session):
    admin = login_as("admin")
    user = f.user(session, "clerk")
    admin.post(f"/admin/user/edit/?id={user.id}", data={
        "username": "clerk", "full_name": user.full_name, "phone": "", "role": "clerk",
        "active": "y", "locale": "", "new_password": "another-pass-1", "csrf_token": admin.csrf})
    entry = session.scalars(select(AuditEntry).where(AuditEntry.table_name == "user_account",
                                                     AuditEntry.action == "update")).first()
    assert entry.changes["password_hash"] == [None, "••••••"]


def test_audit_trail_is_read_only_for_everyone(login_as, session):
    entry_id = session.scalars(select(AuditEntry.id)).first()
    for username in ("admin", "manager"):
        client = login_as(username)
        assert client.get("/admin/audit/").status_code == 200
        assert client.get("/admin/audit/new/").status_code == 403
        assert client.get(f"/admin/audit/edit/?id={entry_id}").status_code == 403
        response = client.post("/admin/audit/delete/", data={"id": entry_id, "csrf_token": client.csrf})
        assert response.status_code == 403
    assert session.get(AuditEntry, entry_id) is not None


def test_audit_trail_filters_by_record(login_as, session):
    customer = f.customer_of(session, "GZ-TH")
    manager = login_as("manager")
    page = text(manager.get(f"/admin/audit/?search={customer.id}"))
    assert "customer" in page


def test_second_save_of_a_stale_ticket_is_refused_and_shows_what_changed(login_as, session):
    ticket = f.ticket_of(session, "SC-GZ")
    clerk, manager = login_as("clerk"), login_as("manager")
    clerk_version = loaded_version(clerk, ticket.id)
    manager_version = loaded_version(manager, ticket.id)
    response = manager.post(f"/admin/ticket/edit/?id={ticket.id}", data={
        **ticket_form(ticket, fault_description="经理先改：点火针积碳", loaded_version=manager_version),
        "csrf_token": manager.csrf})
    assert response.status_code == 302
    response = clerk.post(f"/admin/ticket/edit/?id={ticket.id}", data={
        **ticket_form(ticket, fault_description="客服后改：水压不足", loaded_version=clerk_version),
        "csrf_token": clerk.csrf})
    page = text(response)
    assert response.status_code == 200
    assert "经理先改：点火针积碳" in page  # what the other person changed is shown
    assert "客服后改：水压不足" in page  # and what this user typed is kept
    session.expire_all()
    assert session.get(Ticket, ticket.id).fault_description == "经理先改：点火针积碳"


def test_editing_a_ticket_adds_a_timeline_line(login_as, session):
    ticket = f.ticket_of(session, "SC-GZ")
    clerk = login_as("clerk")
    version = loaded_version(clerk, ticket.id)
    clerk.post(f"/admin/ticket/edit/?id={ticket.id}", data={
        **ticket_form(ticket, contact_phone="13600001234", loaded_version=version), "csrf_token": clerk.csrf})
    page = text(clerk.get(f"/admin/ticket/details/?id={ticket.id}"))
    assert 'data-testid="timeline"' in page and "13600001234" in page


def test_registering_a_ticket_numbers_it_and_starts_the_timeline(login_as, session):
    clerk = login_as("clerk")
    unit = f.unit_of(session, "SC-GZ")
    response = clerk.post("/admin/ticket/new/", data={
        "customer": str(unit.customer_id), "unit": str(unit.id), "kind": "repair",
        "channel": "hotline", "category": "quality", "fault_description": "热水器点火后熄火",
        "occurred_at": "", "contact_name": "", "contact_phone": "", "address": "",
        "outlet": str(unit.outlet_id), "assigned_engineer": "__None", "csrf_token": clerk.csrf})
    assert response.status_code == 302
    ticket = session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
    assert re.fullmatch(r"SV\d{8}-\d{4}", ticket.number)  # R-TKT-1
    assert ticket.contact_phone == unit.customer.phone  # R-TKT-2 defaults from the archive
    assert [e.action for e in ticket.events] == ["registered"]


def test_bad_phone_gets_a_clear_message_and_keeps_the_input(login_as, session):
    clerk = login_as("clerk")
    response = clerk.post("/admin/customer/new/", data={
        "name": "郑文静", "phone": "not-a-phone!", "area": "urban",
        "outlet": str(f.outlet(session, "SC-GZ").id), "address": "广州市海珠区江南大道中5号",
        "csrf_token": clerk.csrf})
    page = text(response)
    assert response.status_code == 200
    assert "not-a-phone!" in page and "郑文静" in page and "广州市海珠区江南大道中5号" in page
    assert "alert-danger" in page or "alert-error" in page


def test_missing_required_fields_are_named_not_500(login_as):
    clerk = login_as("clerk")
    response = clerk.post("/admin/ticket/new/", data={"kind": "repair", "csrf_token": clerk.csrf})
    assert response.status_code == 200
    assert "is-invalid" in text(response) or "has-error" in text(response)


def test_unit_of_another_customer_is_refused(login_as, session):
    clerk = login_as("clerk")
    customers = session.scalars(select(Customer).order_by(Customer.id).limit(2)).all()
    unit = customers[1].units[0]
    response = clerk.post("/admin/ticket/new/", data={
        "customer": str(customers[0].id), "unit": str(unit.id), "kind": "repair",
        "channel": "hotline", "category": "quality", "fault_description": "不出热水",
        "outlet": str(customers[0].outlet_id), "assigned_engineer": "__None", "csrf_token": clerk.csrf})
    assert response.status_code == 200
    assert "不出热水" in text(response)
    assert session.scalar(select(Ticket).where(Ticket.fault_description == "不出热水")) is None


def test_score_above_its_maximum_is_refused(login_as, session):
    manager = login_as("manager")
    response = manager.post("/admin/appraisal/new/", data={
        "staff": str(f.user(session, "clerk").id), "period_kind": "weekly",
        "period_start": "2026-11-16", "conduct": "25", "diligence": "18", "ability": "25",
        "results": "25", "commendation": "0", "penalty": "0", "note": "", "csrf_token": manager.csrf})
    page = text(response)
    assert response.status_code == 200
    assert "20" in page and "25" in page  # the limit is named, the typed value kept


def test_outlet_network_has_two_tiers(login_as, session):
    manager = login_as("manager")
    sub = f.outlet(session, "GZ-TH-01")
    response = manager.post("/admin/outlet/new/", data={
        "code": "GZ-TH-01-A", "name": "三级网点", "parent": str(sub.id), "region": "", "address": "",
        "service_phone": "", "duty_phone": "", "total_purchase_amount": "0",
        "timezone": "Asia/Shanghai", "active": "y", "csrf_token": manager.csrf})
    assert response.status_code == 200
    assert "三级网点" in text(response)
