"""R-ROLE-1: a dealer sees only its own outlet (and sub-outlets) on every kind of endpoint;
another outlet's id answers 404. Proven with dealer1 (GZ-TH + GZ-TH-01) against FS-SD rows."""
import csv
import io
import json
import re

import pytest
from sqlalchemy import func, select

from models import Customer, Outlet, Ticket
from tests import factories as f

OWN = ("GZ-TH", "GZ-TH-01")


@pytest.fixture
def other(session):
    """Rows of dealer2's outlet, which dealer1 must never see."""
    ticket = f.ticket_of(session, "FS-SD")
    return {
        "outlet": f.outlet(session, "FS-SD"),
        "ticket": ticket,
        "customer": f.customer_of(session, "FS-SD"),
        "unit": f.unit_of(session, "FS-SD"),
        "numbers": set(session.scalars(select(Ticket.number).join(Outlet).where(Outlet.code == "FS-SD"))),
        "phones": set(session.scalars(select(Customer.phone).join(Outlet).where(Outlet.code == "FS-SD"))),
    }


@pytest.fixture
def dealer1(login_as):
    return login_as("dealer1")


def text(response):
    return response.get_data(as_text=True)


def listed_ids(response) -> set[int]:
    """Ids of the rows a list page shows (each row links to its details)."""
    return {int(i) for i in re.findall(r"/details/\?id=(\d+)", text(response))}


@pytest.mark.parametrize("endpoint,key", [("ticket", "ticket"), ("customer", "customer"),
                                          ("unit", "unit"), ("outlet", "outlet")])
def test_dealer_cannot_open_other_outlets_record_by_id(dealer1, other, endpoint, key):
    record_id = other[key].id
    for action in ("details", "edit"):
        assert dealer1.get(f"/admin/{endpoint}/{action}/?id={record_id}").status_code == 404
    response = dealer1.post(f"/admin/{endpoint}/delete/", data={"id": record_id, "csrf_token": dealer1.csrf})
    assert response.status_code == 404


def test_dealer_cannot_post_edit_to_other_outlets_ticket(dealer1, other, session):
    before = other["ticket"].fault_description
    response = dealer1.post(f"/admin/ticket/edit/?id={other['ticket'].id}",
                            data={"fault_description": "hijacked", "csrf_token": dealer1.csrf})
    assert response.status_code == 404
    session.expire_all()
    assert session.get(Ticket, other["ticket"].id).fault_description == before


def test_dealer_ticket_list_shows_only_own_outlets(dealer1, other, session):
    page = text(dealer1.get("/admin/ticket/?page_size=100"))
    assert not any(number in page for number in other["numbers"])
    own_numbers = session.scalars(select(Ticket.number).join(Outlet).where(Outlet.code.in_(OWN))
                                  .order_by(Ticket.created_at.desc()).limit(20)).all()
    assert all(number in page for number in own_numbers)


def test_dealer_ticket_count_is_the_scoped_count(dealer1, session):
    own = session.scalar(select(func.count()).select_from(Ticket).join(Outlet).where(Outlet.code.in_(OWN)))
    page = text(dealer1.get("/admin/ticket/"))
    assert f"{own}" in page  # the pager's total


def test_dealer_search_finds_nothing_of_other_outlet(dealer1, other):
    assert listed_ids(dealer1.get(f"/admin/ticket/?search={other['ticket'].number}")) == set()
    assert listed_ids(dealer1.get(f"/admin/customer/?search={other['customer'].phone}")) == set()
    assert listed_ids(dealer1.get(f"/admin/unit/?search={other['unit'].serial}")) == set()


def test_dealer_search_finds_own_records(dealer1, session):
    own = f.ticket_of(session, "GZ-TH")
    assert listed_ids(dealer1.get(f"/admin/ticket/?search={own.number}")) == {own.id}


def test_dealer_filter_by_other_outlet_shows_nothing(dealer1, other):
    # Filter 3 of the ticket list is the outlet filter.
    assert listed_ids(dealer1.get(f"/admin/ticket/?flt0_3={other['outlet'].id}")) == set()


def test_dealer_filter_options_do_not_list_other_outlets(dealer1, other):
    for endpoint in ("ticket", "customer", "unit"):
        assert other["outlet"].name not in text(dealer1.get(f"/admin/{endpoint}/"))


def test_dealer_export_contains_only_own_rows(dealer1, other, session):
    response = dealer1.get("/admin/ticket/export/csv/")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(text(response))))
    numbers = {row[0] for row in rows[1:]}
    own = set(session.scalars(select(Ticket.number).join(Outlet).where(Outlet.code.in_(OWN))))
    assert numbers == own
    assert not numbers & other["numbers"]


def test_dealer_customer_export_has_no_other_outlet(dealer1, other):
    body = text(dealer1.get("/admin/customer/export/csv/"))
    assert not any(phone in body for phone in other["phones"])


def test_dealer_ajax_lookup_finds_no_other_outlets_customer(dealer1, other):
    phone = other["customer"].phone
    response = dealer1.get(f"/admin/ticket/ajax/lookup/?name=customer&query={phone}")
    assert response.status_code == 200
    assert json.loads(text(response)) == []
    serial = other["unit"].serial
    response = dealer1.get(f"/admin/ticket/ajax/lookup/?name=unit&query={serial}")
    assert json.loads(text(response)) == []


def test_dealer_relation_dropdowns_offer_only_own_outlets(dealer1, other, session):
    for endpoint in ("ticket", "customer", "unit"):
        page = text(dealer1.get(f"/admin/{endpoint}/new/"))
        assert other["outlet"].name not in page
        assert f.outlet(session, "GZ-TH").name in page


def test_dealer_cannot_create_customer_in_other_outlet(dealer1, other, session):
    before = session.scalar(select(func.count()).select_from(Customer))
    response = dealer1.post("/admin/customer/new/", data={
        "name": "越权客户", "phone": "13900001111", "area": "urban",
        "outlet": str(other["outlet"].id), "csrf_token": dealer1.csrf})
    assert response.status_code == 200  # the form comes back with its message
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Customer)) == before
    assert "越权客户" in text(response)  # what was typed is kept


def test_dealer_cannot_move_own_customer_to_other_outlet(dealer1, other, session):
    own = f.customer_of(session, "GZ-TH")
    response = dealer1.post(f"/admin/customer/edit/?id={own.id}", data={
        "name": own.name, "phone": own.phone, "area": own.area,
        "outlet": str(other["outlet"].id), "csrf_token": dealer1.csrf})
    assert response.status_code == 200
    session.expire_all()
    assert session.get(Customer, own.id).outlet.code == "GZ-TH"


def test_dealer_bulk_delete_action_cannot_touch_other_outlet(dealer1, other, session):
    response = dealer1.post("/admin/customer/action/", data={
        "action": "delete", "rowid": [str(other["customer"].id)], "csrf_token": dealer1.csrf})
    assert response.status_code in (302, 403, 404)
    session.expire_all()
    assert session.get(Customer, other["customer"].id) is not None


def test_dealer_dashboard_shows_only_own_tickets(dealer1, other):
    page = text(dealer1.get("/admin/"))
    assert not any(number in page for number in other["numbers"])


def test_dealer_sees_own_outlet_and_sub_outlet_only(dealer1, session):
    page = text(dealer1.get("/admin/outlet/"))
    assert f.outlet(session, "GZ-TH").name in page
    assert f.outlet(session, "GZ-TH-01").name in page
    assert f.outlet(session, "FS-SD").name not in page
    assert f.outlet(session, "SC-GZ").name not in page


def test_dealer_outlet_details_lists_only_own_staff(dealer1, session):
    page = text(dealer1.get(f"/admin/outlet/details/?id={f.outlet(session, 'GZ-TH').id}"))
    assert "dealer1" in page and "dealer2" not in page


def test_dealer_has_no_user_management_or_audit(dealer1):
    for url in ("/admin/user/", "/admin/audit/", "/admin/auth_event/", "/admin/policy/",
                "/admin/appraisal/"):
        assert dealer1.get(url).status_code == 403


def test_dealer_menu_shows_only_usable_screens(dealer1):
    page = text(dealer1.get("/admin/"))
    for hidden in ("/admin/user/", "/admin/audit/", "/admin/policy/", "/admin/auth_event/"):
        assert hidden not in page
    assert "/admin/ticket/" in page


def test_dealer2_symmetrically_cannot_see_dealer1(login_as, session):
    dealer2 = login_as("dealer2")
    ticket = f.ticket_of(session, "GZ-TH-01") or f.ticket_of(session, "GZ-TH")
    assert dealer2.get(f"/admin/ticket/details/?id={ticket.id}").status_code == 404
    assert ticket.number not in text(dealer2.get("/admin/ticket/?page_size=100"))


def test_engineer_sees_assigned_and_unassigned_but_not_others_assigned(login_as, session):
    engineer = login_as("engineer")
    theirs = session.scalars(select(Ticket).join(Ticket.assigned_engineer)
                             .where(Ticket.assigned_engineer_id == f.user(session, "engineer2").id)).first()
    mine = session.scalars(select(Ticket).where(
        Ticket.assigned_engineer_id == f.user(session, "engineer").id)).first()
    unassigned = session.scalars(select(Ticket).where(Ticket.assigned_engineer_id.is_(None))).first()
    assert engineer.get(f"/admin/ticket/details/?id={theirs.id}").status_code == 404
    assert engineer.get(f"/admin/ticket/details/?id={mine.id}").status_code == 200
    assert engineer.get(f"/admin/ticket/details/?id={unassigned.id}").status_code == 200


def test_engineer_of_an_outlet_queues_only_its_unassigned_tickets(login_as, session):
    engineer2 = login_as("engineer2")
    foreign = session.scalars(select(Ticket).join(Outlet).where(
        Outlet.code == "GZ-TH", Ticket.assigned_engineer_id.is_(None))).first()
    assert engineer2.get(f"/admin/ticket/details/?id={foreign.id}").status_code == 404


def test_staff_see_every_outlet(login_as, other):
    clerk = login_as("clerk")
    assert clerk.get(f"/admin/ticket/details/?id={other['ticket'].id}").status_code == 200


def test_malformed_id_is_404_not_500(dealer1):
    assert dealer1.get("/admin/ticket/details/?id=abc").status_code == 404


def test_dealer_cannot_register_a_ticket_for_other_outlets_customer(dealer1, other, session):
    before = session.scalar(select(func.count()).select_from(Ticket))
    response = dealer1.post("/admin/ticket/new/", data={
        "customer": str(other["customer"].id), "unit": str(other["unit"].id), "kind": "repair",
        "channel": "dealer", "category": "quality", "fault_description": "越权报修",
        "outlet": str(f.outlet(session, "GZ-TH").id), "assigned_engineer": "__None",
        "csrf_token": dealer1.csrf})
    assert response.status_code == 200 and "越权报修" in text(response)
    assert session.scalar(select(func.count()).select_from(Ticket)) == before


def test_dealer_registers_own_ticket_defaulting_to_own_outlet(dealer1, session):
    page = text(dealer1.get("/admin/ticket/new/"))
    own = f.outlet(session, "GZ-TH")
    assert f'value="{own.id}" selected' in page or f'selected value="{own.id}"' in page


def test_customer_details_list_their_units_and_tickets(dealer1, session):
    customer = f.customer_of(session, "GZ-TH")
    page = text(dealer1.get(f"/admin/customer/details/?id={customer.id}"))
    for unit in customer.units:
        assert unit.serial in page
    for ticket in customer.tickets:
        assert ticket.number in page


def test_staff_read_only_their_own_appraisals(login_as, session):
    from models import AppraisalRecord

    clerk = login_as("clerk")
    own = session.scalars(select(AppraisalRecord.id).where(
        AppraisalRecord.staff_id == f.user(session, "clerk").id)).all()
    others = session.scalars(select(AppraisalRecord.id).where(
        AppraisalRecord.staff_id != f.user(session, "clerk").id)).all()
    assert listed_ids(clerk.get("/admin/appraisal/?page_size=100")) == set(own)
    assert clerk.get(f"/admin/appraisal/details/?id={others[0]}").status_code == 404
    assert clerk.get(f"/admin/appraisal/edit/?id={own[0]}").status_code == 403


def test_dealer_return_visit_list_and_export_show_only_own_tickets(dealer1, other, session):
    from models import ReturnVisit

    own = set(session.scalars(select(Ticket.number).join(Outlet).where(Outlet.code.in_(OWN))))
    visits = session.scalars(select(ReturnVisit)).all()
    assert visits  # the demo has return visits of both dealers
    page = text(dealer1.get("/admin/return_visit/?page_size=100"))
    export = text(dealer1.get("/admin/return_visit/export/csv/"))
    for number in other["numbers"]:
        assert number not in page and number not in export
    assert any(number in export for number in own)


def test_dealer_sees_only_own_outlets_stock(dealer1, other, session):
    from models import FinishedGoodsStock

    theirs = session.scalars(select(FinishedGoodsStock).where(
        FinishedGoodsStock.outlet_id == other["outlet"].id)).first()
    assert dealer1.get(f"/admin/stock/details/?id={theirs.id}").status_code == 404
    assert other["outlet"].name not in text(dealer1.get("/admin/stock/?page_size=100"))
