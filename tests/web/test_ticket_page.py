"""Issue 18, point 1: the ticket page starts with the ticket — number, status, whom to call and
where to go, the unit and its verdict, who serves it and the next deadline counting down — and
details pages show no leftover filter box or List/Create tabs, nor fields that hold nothing."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from models import Ticket, utcnow
from tests import factories as f
from views.tickets import countdown_text

EN = {"Accept-Language": "en"}


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def section(page: str, testid: str, end: str) -> str:
    """The part of the page from the element with this data-testid to the first `end` after it."""
    return page.split(f'data-testid="{testid}"', 1)[1].split(end, 1)[0]


def header_of(page: str) -> str:
    return section(page, "ticket-header", "</section>")


def ticket_page(client, ticket, **kw) -> str:
    return text(client.get(f"/admin/ticket/details/?id={ticket.id}", **kw))


@pytest.fixture
def world(session):
    """Outlets A and B, a customer of A with a repair dispatched to A's engineer."""
    world = f.make_service_network(session)
    world["ticket"] = f.make_ticket(session, world["customer"], unit=world["unit"], status="dispatched",
                                    engineer=world["engineer_a"], desk=world["clerk"])
    session.commit()
    return world


@pytest.mark.parametrize("who", ["clerk", "dealer_a", "engineer_a"])
def test_the_header_says_number_status_and_whom_to_call(world, as_user, who):
    ticket, customer = world["ticket"], world["customer"]
    header = header_of(ticket_page(as_user(world[who]), ticket))
    assert ticket.number in header
    assert 'data-testid="ticket-status"' in header and "badge-status-dispatched" in header
    assert customer.name in header
    assert f'href="tel:{customer.phone}"' in header  # tap to call
    assert "https://uri.amap.com/search?keyword=" in header and customer.address in header  # the way there
    assert str(ticket.unit.serial) in header and 'data-testid="warranty-badge"' in header
    assert world["a"].name in header and world["engineer_a"].full_name in header
    assert 'data-testid="sla-countdown"' in header


def test_another_outlets_dealer_gets_no_page(world, as_user):
    response = as_user(world["dealer_b"]).get(f"/admin/ticket/details/?id={world['ticket'].id}")
    assert response.status_code == 404


def test_the_steps_forms_are_all_on_the_page_and_their_buttons_wait_for_the_script(world, as_user):
    page = ticket_page(as_user(world["engineer_a"]), world["ticket"])
    steps = section(page, "workflow-steps", "</section>")
    assert re.search(r'<div class="mb-1" data-step-buttons hidden>', steps)  # shown by static/js/ticket_page.js
    assert 'data-step-open="start_service"' in steps
    assert re.search(r'<form [^>]*data-step="start_service"', steps)  # without the script: the form itself
    assert "js/ticket_page.js" in page


def test_a_phone_number_with_an_extension_dials_the_number(session, world, as_user):
    ticket = world["ticket"]
    ticket.contact_phone = "020-8600 1234 转 8"
    session.commit()
    header = header_of(ticket_page(as_user(world["clerk"]), ticket))
    assert 'href="tel:02086001234"' in header and 'href="tel:' + world["customer"].phone + '"' in header


def details_pages(session, world) -> list[tuple[str, bool]]:
    """Three details pages the clerk opens, and whether the clerk may edit the record."""
    refund = f.make_refund_request(session, world)
    session.commit()
    return [(f"/admin/ticket/details/?id={world['ticket'].id}", True),
            (f"/admin/approval/details/?id={refund.id}", False),  # decided, never edited
            (f"/admin/customer/details/?id={world['customer'].id}", True)]


def test_details_pages_have_no_filter_box_and_no_list_or_create_tabs(session, world, as_user):
    clerk = as_user(world["clerk"])
    for url, editable in details_pages(session, world):
        page = text(clerk.get(url))  # in Chinese, as the users read it
        assert "筛选器" not in page and 'id="fa_filter"' not in page, url
        create = url.replace("/details/", "/new/").split("?")[0]
        assert "nav-tabs" not in page and f'href="{create}' not in page, url  # no List / Create tabs
        assert 'data-testid="back-to-list"' in page, url
        assert ('data-testid="edit-record"' in page) == editable, url


def test_who_may_not_edit_gets_no_edit_button(world, as_user):
    page = ticket_page(as_user(world["engineer_a"]), world["ticket"])
    assert 'data-testid="back-to-list"' in page and 'data-testid="edit-record"' not in page
    assert "/admin/ticket/edit/" not in page


def test_empty_fields_are_not_listed(session, world, as_user):
    world["clerk"].locale = "en"
    refund = f.make_refund_request(session, world)
    session.commit()
    clerk = as_user(world["clerk"])
    fields = section(ticket_page(clerk, world["ticket"]), "details-fields", "</table>")
    assert ">Created<" in fields and ">Closed<" not in fields  # the ticket is not closed
    assert ">Ticket no.<" not in fields  # said once, in the header
    fields = section(text(clerk.get(f"/admin/approval/details/?id={refund.id}")), "details-fields", "</table>")
    assert ">Reason<" in fields and ">Decided by<" not in fields and ">Decision<" not in fields  # not decided yet


def set_next_clock(session, ticket, due):
    """The ticket's first running clock falls due at `due`; the others a day later."""
    ticket = session.get(Ticket, ticket.id)
    running = [c for c in ticket.clocks if c.met_at is None and c.superseded_at is None]
    for clock in running:
        clock.due_at, clock.paused_since = utcnow() + timedelta(days=1), None
    running[0].due_at = due
    session.commit()


def test_an_overdue_clock_counts_the_minutes_past_its_due_time(session, world, as_user):
    world["clerk"].locale = "en"
    set_next_clock(session, world["ticket"], utcnow() - timedelta(minutes=35, seconds=10))
    page = ticket_page(as_user(world["clerk"]), world["ticket"])
    countdown = section(page, "sla-countdown", "</span>")
    assert countdown.endswith(">overdue 35 min") and "sla-breached" in header_of(page)


def test_a_clock_due_soon_counts_the_minutes_left(session, world, as_user):
    world["clerk"].locale = "en"
    set_next_clock(session, world["ticket"], utcnow() + timedelta(minutes=40, seconds=30))
    page = ticket_page(as_user(world["clerk"]), world["ticket"])
    countdown = section(page, "sla-countdown", "</span>")
    assert countdown.endswith(">in 40 min") and "sla-due_soon" in header_of(page)  # within the policy's hour
    assert 'data-in-hm="in {h} h {m} min"' in countdown  # the wording the script fills in


def test_the_countdown_says_hours_and_minutes(app):
    with app.test_request_context(headers=EN):
        assert countdown_text(timedelta(hours=2, minutes=5, seconds=30)) == "in 2 h 05 min"
        assert countdown_text(timedelta(minutes=-35, seconds=-10)) == "overdue 35 min"
        assert countdown_text(timedelta(hours=-26, minutes=-1)) == "overdue 26 h 01 min"
        assert countdown_text(timedelta(hours=-1334, minutes=-56)) == "overdue 55 d 14 h"  # not 1334 h
        assert countdown_text(timedelta(days=3, hours=2)) == "in 3 d 2 h"
