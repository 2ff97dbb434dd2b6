"""The ticket list's search, count, sort and paging as issue 16 reshaped them: each search finds
through an index (backoffice.ticket_search), the count stops at LIST_COUNT_CAP, sorts walk an
index with (created_at, id) as the tie-break, and the row scope (R-ROLE-1) holds for all of it."""
import re
from datetime import UTC, datetime, timedelta

import pytest

from backoffice import ticket_search  # noqa: F401  (what these tests prove)
from models import Ticket, TicketEvent
from tests import factories as f


@pytest.fixture
def desk(session):
    """Outlets A and B, a clerk, A's dealer; customers with distinct phones, names and units."""
    world = f.make_service_network(session)
    a, b = world["a"], world["b"]
    world["wang"] = f.make_customer(session, a, name="王秀英", phone="138 0013 8000",
                                    address="广州市天河区测试巷七号院")
    world["li"] = f.make_customer(session, b, name="李建国", phone="13900139000", phone2="020-87654321")
    world["wang_ticket"] = f.make_ticket(session, world["wang"], unit=f.make_unit(session, world["wang"],
                                                                                  serial="JSQ-SN-7788"))
    world["li_ticket"] = f.make_ticket(session, world["li"], contact_phone="+86 186-0000-1111")
    session.commit()
    return world


def numbers_on(response) -> set[str]:
    """The ticket numbers in the list's rows (not the search box echoing what was typed)."""
    return set(re.findall(r">\s*(SV\d{8}-\d{4,})\s*<", response.get_data(as_text=True)))


def search(client, text):
    return client.get("/admin/ticket/", query_string={"search": text}, headers={"Accept-Language": "en"})


@pytest.mark.parametrize("typed", ["13800138000", "138-0013-8000", "+86 138 0013 8000", "1380013"])
def test_clerk_finds_a_ticket_by_the_customers_phone_however_typed(as_user, desk, typed):
    found = numbers_on(search(as_user(desk["clerk"]), typed))
    assert found == {desk["wang_ticket"].number}


def test_clerk_finds_a_ticket_by_the_last_digits_of_the_customers_phone(as_user, desk):
    assert desk["wang_ticket"].number in numbers_on(search(as_user(desk["clerk"]), "0013 8000"))


def test_clerk_finds_a_ticket_by_its_contact_phone_and_the_customers_second_phone(as_user, desk):
    clerk = as_user(desk["clerk"])
    assert numbers_on(search(clerk, "18600001111")) == {desk["li_ticket"].number}
    assert numbers_on(search(clerk, "020-87654321")) == {desk["li_ticket"].number}


def test_clerk_finds_a_ticket_by_number_typed_without_prefix_dash_or_zeros(as_user, desk):
    number = desk["li_ticket"].number  # SV20261202-0012
    day, seq = number[2:10], int(number.split("-")[1])
    clerk = as_user(desk["clerk"])
    for typed in (number, number.lower(), f"{day}-{seq}", f"{day}{seq:04d}"):
        assert desk["li_ticket"].number in numbers_on(search(clerk, typed)), typed


def test_clerk_finds_a_ticket_by_serial_name_prefix_and_address_part(as_user, desk):
    clerk = as_user(desk["clerk"])
    wang = desk["wang_ticket"].number
    assert numbers_on(search(clerk, "JSQ-SN-7788")) == {wang}
    assert numbers_on(search(clerk, "王秀")) == {wang}  # two characters: the name's start
    assert numbers_on(search(clerk, "秀英")) == set()  # ...not its middle: that takes three
    assert numbers_on(search(clerk, "测试巷七号")) == {wang}  # three or more: name or address containing it


def test_a_search_finding_nothing_is_an_empty_list_not_an_error(as_user, desk):
    clerk = as_user(desk["clerk"])
    for typed in ("王", "%", "_", "1", "SV", "'; drop table ticket; --", "１３８"):
        response = search(clerk, typed)
        assert response.status_code == 200, typed
        assert numbers_on(response) <= {desk["wang_ticket"].number, desk["li_ticket"].number}


def test_dealer_cannot_find_another_outlets_ticket_by_its_phone_or_number(as_user, desk):
    dealer_a = as_user(desk["dealer_a"])
    assert numbers_on(search(dealer_a, "13900139000")) == set()
    assert numbers_on(search(dealer_a, desk["li_ticket"].number)) == set()
    assert numbers_on(search(dealer_a, "13800138000")) == {desk["wang_ticket"].number}


def test_a_search_asks_the_database_a_bounded_number_of_statements(as_user, desk, statements):
    clerk = as_user(desk["clerk"])
    statements.clear()
    search(clerk, "13800138000")
    ticket_selects = [s for s in statements if "FROM ticket" in s and "ticket_clock" not in s]
    assert len(ticket_selects) <= 3, ticket_selects  # the page, its capped count, no per-row queries
    # not Flask-Admin's wildcard over every searchable column (CAST(ticket.number AS VARCHAR) LIKE …)
    assert not any(re.search(r"CAST\(\w+\.\w+ AS \w+\) I?LIKE", s, re.IGNORECASE) for s in statements)


# --- the count stops at the cap; pages go as far as it --------------------------------------

@pytest.fixture
def small_cap(app):
    app.config["LIST_COUNT_CAP"] = 100
    yield 100
    app.config["LIST_COUNT_CAP"] = 10_000


def test_list_counts_up_to_the_cap_and_says_more(as_user, desk, session, small_cap):
    customer = desk["customer"]
    for _ in range(3):
        f.make_ticket(session, customer)
    session.commit()
    shown = as_user(desk["clerk"]).get("/admin/ticket/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    total = session.query(Ticket).count()
    if total > small_cap:
        assert "(100+)" in shown
    else:
        assert f"({total})" in shown


def test_list_past_the_cap_shows_capped_count_and_refuses_pages_beyond_it(as_user, session, app):
    world = f.make_service_network(session)
    for _ in range(6):
        f.make_ticket(session, world["customer"])
    session.commit()
    app.config["LIST_COUNT_CAP"] = 100
    try:
        dealer = as_user(world["dealer_a"])
        page = dealer.get("/admin/ticket/?page_size=20", headers={"Accept-Language": "en"})
        assert "List (6)" in page.get_data(as_text=True)  # A's six: the scope counts, not the table
        clerk = as_user(world["clerk"])
        listed = clerk.get("/admin/ticket/", headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "List (100+)" in listed or session.query(Ticket).count() <= 100
        assert clerk.get("/admin/ticket/?page=5").status_code == 400  # row 100 on: past the cap
        assert clerk.get("/admin/ticket/?page=4").status_code == 200
    finally:
        app.config["LIST_COUNT_CAP"] = 10_000


# --- sorting ---------------------------------------------------------------------------------

def test_the_list_sorts_only_by_columns_an_index_orders(as_user, session):
    world = f.make_service_network(session)
    session.commit()
    html = as_user(world["clerk"]).get("/admin/ticket/").get_data(as_text=True)
    # number, created, kind, status, outlet (by its id): not the customer's name (a join per page)
    assert {int(i) for i in re.findall(r"[?&]sort=(\d+)", html)} == {0, 1, 4, 5, 7}


def test_sorting_by_status_keeps_newest_first_within_a_status(as_user, session):
    world = f.make_service_network(session)
    now = datetime.now(UTC)
    made = [f.make_ticket(session, world["customer"]) for _ in range(3)]
    for age, ticket in enumerate(made):
        ticket.created_at = now - timedelta(days=age)
    session.commit()
    dealer = as_user(world["dealer_a"])
    html = dealer.get("/admin/ticket/?sort=5&desc=1").get_data(as_text=True)  # column 5: status, descending
    order = list(dict.fromkeys(re.findall(r">\s*(SV\d{8}-\d{4,})\s*<", html)))
    expected = [t.number for t in sorted(made, key=lambda t: (t.status, t.created_at, t.id), reverse=True)]
    assert [n for n in order if n in expected] == expected


# --- the customer archive searches the same way ------------------------------------------------

def customers_on(client, typed) -> str:
    return client.get("/admin/customer/", query_string={"search": typed}).get_data(as_text=True)


def test_clerk_finds_a_customer_by_phone_tail_name_start_or_address(as_user, desk):
    clerk = as_user(desk["clerk"])
    for typed in ("13800138000", "138 0013 8000", "38000", "王秀", "测试巷七号"):
        assert "王秀英" in customers_on(clerk, typed), typed
    assert "李建国" in customers_on(clerk, "020-87654321")  # the second phone, as typed


def test_dealer_cannot_find_another_outlets_customer_in_the_archive(as_user, desk):
    dealer_a = as_user(desk["dealer_a"])
    assert "李建国" not in customers_on(dealer_a, "13900139000")
    assert "王秀英" in customers_on(dealer_a, "13800138000")


# --- statements stay bounded -------------------------------------------------------------------

def test_ticket_page_asks_the_same_statements_whatever_its_history(as_user, session, statements):
    world = f.make_service_network(session)
    short, long = (f.make_ticket(session, world["customer"], status="closed", engineer=world["engineer_a"],
                                 desk=world["clerk"]) for _ in range(2))
    for n in range(12):  # twelve more timeline lines by as many people
        someone = f.make_user(session, "clerk")
        session.add(TicketEvent(ticket=long, actor=someone, action="edited", note=f"第{n}次补充说明"))
    session.commit()
    clerk = as_user(world["clerk"])
    counts = []
    for ticket in (short, long):
        clerk.get(f"/admin/ticket/details/?id={ticket.id}")  # warm: the same page twice
        statements.clear()
        assert clerk.get(f"/admin/ticket/details/?id={ticket.id}").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts  # a long timeline, fees, visits: no query per row
    assert counts[1] <= 14, statements


def test_ticket_list_asks_the_same_statements_for_3_or_30_rows(as_user, session, statements):
    world = f.make_service_network(session)
    dealer = world["dealer_a"]
    counts = []
    for wanted in (3, 30):
        while session.query(Ticket).filter(Ticket.outlet_id == world["a"].id).count() < wanted:
            f.make_ticket(session, world["customer"], assigned_engineer=world["engineer_a"])
        session.commit()
        client = as_user(dealer)
        client.get("/admin/ticket/?page_size=50")
        statements.clear()
        client.get("/admin/ticket/?page_size=50")
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
