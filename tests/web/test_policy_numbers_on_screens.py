"""Texts that name a policy number show the policy's value: change the policy and the screens
change with it (R-WAR-5 windows, R-SLA-1 "due soon")."""
import re
from datetime import timedelta

from backoffice.timezones import local_today
from models import utcnow
from tests import factories as f


def english_clerk(session):
    return f.make_user(session, "clerk", locale="en")


def fresh_ticket(session, *, bought_days_ago=3, response_due_in=None):
    customer = f.make_customer(session, f.make_outlet(session))
    unit = f.make_unit(session, customer, invoice_date=local_today() - timedelta(days=bought_days_ago))
    ticket = f.make_ticket(session, customer, unit=unit)
    if response_due_in is not None:
        for clock in ticket.clocks:
            clock.due_at = utcnow() + (response_due_in if clock.clock == "response" else timedelta(days=4))
    return ticket


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_home_says_due_within_the_policy_hours(login_as, session):  # R-SLA-1
    clerk = english_clerk(session)
    f.make_policy_setting(session, "sla.due_soon_hours", "3")
    session.commit()
    home = page(login_as(clerk.username), "/admin/")
    assert "Due within 3 h:" in home and "Due within 1 h" not in home
    assert "Registered in 7 days" in home


def test_ticket_list_filter_says_due_within_the_policy_hours(login_as, session):  # R-SLA-1
    clerk = english_clerk(session)
    f.make_policy_setting(session, "sla.due_soon_hours", "3")
    session.commit()
    assert "Due within 3 h" in page(login_as(clerk.username), "/admin/ticket/")


def test_a_clock_inside_the_policy_hours_shows_due_soon_on_the_ticket(login_as, session):  # R-SLA-1
    clerk = english_clerk(session)
    ticket = fresh_ticket(session, response_due_in=timedelta(minutes=90))
    session.commit()
    client = login_as(clerk.username)
    url = f"/admin/ticket/details/?id={ticket.id}"
    clocks = page(client, url).split('data-testid="sla-clocks"')[1].split("</table>")[0]
    assert "sla-due_soon" not in clocks
    f.make_policy_setting(session, "sla.due_soon_hours", "2")
    session.commit()
    clocks = page(client, url).split('data-testid="sla-clocks"')[1].split("</table>")[0]
    assert re.search(r'sla-due_soon">due within 2 h<', clocks)


def test_the_list_badge_counts_the_policy_hours(login_as, session):  # R-SLA-1
    clerk = english_clerk(session)
    ticket = fresh_ticket(session, response_due_in=timedelta(minutes=90))
    f.make_policy_setting(session, "sla.due_soon_hours", "2")
    session.commit()
    listing = page(login_as(clerk.username), f"/admin/ticket/?search={ticket.number}")
    assert re.search(r'sla-badge sla-due_soon"[^>]*>First response · due within 2 h<', listing)


def test_approval_form_on_the_ticket_names_the_policy_windows(login_as, session):  # R-WAR-5, R-RET-4
    clerk = english_clerk(session)
    ticket = fresh_ticket(session)
    f.make_policy_setting(session, "warranty.return_days", "10")
    f.make_policy_setting(session, "warranty.exchange_days", "20")
    session.commit()
    form = page(login_as(clerk.username), f"/admin/ticket/details/?id={ticket.id}")
    form = form.split('data-testid="approval-request"')[1].split("</form>")[0]
    assert "Inside the 10 / 20-day window" in form
    assert ">10-day return window<" in form and ">20-day exchange window<" in form
    assert "7-day" not in form and "15-day" not in form
