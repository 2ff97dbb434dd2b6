"""Journeys through the backoffice, as the service desk and the dealers use it, in Chromium.

Selectors are kept language-independent where the page allows it (URLs, input names, ids,
data-testid, column classes, values read from the database); the default language of the
browser is Chinese, as for the real users.
"""
from __future__ import annotations

import gettext
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.e2e.conftest import login, screenshot
from views.fields import masked_phone

SHANGHAI = ZoneInfo("Asia/Shanghai")
CATALOG = (Path(__file__).resolve().parents[2] / "backoffice" / "translations" / "zh_Hans_CN"
           / "LC_MESSAGES" / "messages.mo")
SEARCH_BOX = "form[role=search] input[name=search]"
ROWS = "table.model-list tbody tr"
FLASH_SUCCESS = ".alert-success"


# --- helpers -------------------------------------------------------------------------------
def search_list(page, text: str) -> None:
    """Type into the list's search box and press Enter, as a person does."""
    page.fill(SEARCH_BOX, text)
    with page.expect_navigation():
        page.press(SEARCH_BOX, "Enter")


def column(page, name: str) -> list[str]:
    """The stripped texts of one column (by its field name) of the list on screen."""
    return [text.strip() for text in page.locator(f"{ROWS} td.col-{name}").all_inner_texts()]


def select2_pick(page, field: str, typed: str, expected: str | None = None) -> None:
    """Open the select2 box of form field `field`, type, and click the result showing `expected`.

    Flask-Admin ships select2 3.x: the open dropdown is moved under <body> as #select2-drop;
    ajax lookups show "searching" rows first, selectable results get .select2-result-selectable.
    """
    page.click(f"#s2id_{field}")
    drop = page.locator("#select2-drop")
    drop.locator("input.select2-input").press_sequentially(typed, delay=15)
    result = drop.locator(".select2-result-selectable", has_text=expected or typed).first
    result.wait_for()
    result.click()
    page.locator("#select2-drop").wait_for(state="hidden")


def option_text(page, select_id: str, value: str) -> str:
    """The label the form shows for an option value, in whatever language the page is in."""
    return page.locator(f"select#{select_id} option[value='{value}']").inner_text().strip()


def local_today_stamp() -> str:
    return datetime.now(SHANGHAI).strftime("%Y%m%d")


# --- journeys ------------------------------------------------------------------------------
def test_clerk_finds_customer_by_phone_and_opens_ticket(page, live_server):
    # A customer whose phone nobody else has, with tickets (the most, so the journey is real).
    customer_id, name, phone = live_server.query(
        "SELECT c.id, c.name, c.phone FROM customer c JOIN ticket t ON t.customer_id = c.id "
        "WHERE (SELECT count(*) FROM customer o WHERE o.phone = c.phone) = 1 "
        "GROUP BY c.id HAVING count(t.id) <= 20 ORDER BY count(t.id) DESC, c.id LIMIT 1")[0]  # one page
    numbers = {n for (n,) in live_server.query("SELECT number FROM ticket WHERE customer_id = ?",
                                                customer_id)}
    assert numbers

    login(page, "clerk")
    page.goto("/admin/customer/")
    search_list(page, phone)
    assert phone in column(page, "phone")
    assert name in column(page, "name")

    page.goto("/admin/ticket/")
    search_list(page, phone)
    shown = column(page, "number")
    assert numbers <= set(shown), f"tickets of {phone} missing from the search: {numbers - set(shown)}"
    number = min(numbers)
    row = page.locator(ROWS).filter(has=page.locator("td.col-number", has_text=number))
    with page.expect_navigation():
        row.locator("td.col-number a").click()  # the number links to the ticket (issue 18)

    assert "/admin/ticket/details/" in page.url
    assert number in page.get_by_test_id("ticket-header").inner_text()
    timeline = page.get_by_test_id("timeline")
    timeline.wait_for()
    assert timeline.locator("li").count() >= 1  # at least the registration line


def test_dealer_sees_only_own_outlet_tickets(page, live_server):
    outlets = dict(live_server.query("SELECT code, name FROM outlet"))
    own = {outlets["GZ-TH"], outlets["GZ-TH-01"]}
    foreign = outlets["FS-SD"]
    own_count = live_server.query(
        "SELECT count(*) FROM ticket t JOIN outlet o ON o.id = t.outlet_id "
        "WHERE o.code IN ('GZ-TH', 'GZ-TH-01')")[0][0]
    foreign_ticket = live_server.query(
        "SELECT t.id FROM ticket t JOIN outlet o ON o.id = t.outlet_id WHERE o.code = 'FS-SD' "
        "ORDER BY t.id LIMIT 1")[0][0]
    foreign_phone = live_server.query(
        "SELECT c.phone FROM customer c JOIN outlet o ON o.id = c.outlet_id WHERE o.code = 'FS-SD' "
        "ORDER BY c.id LIMIT 1")[0][0]

    login(page, "dealer1")
    page.goto("/admin/ticket/?page_size=100")
    screenshot(page, "e2e_dealer_list")
    outlets_shown = column(page, "outlet")
    assert outlets_shown, "dealer1 sees no tickets at all"
    for text in outlets_shown:
        assert any(name in text for name in own), f"row of another outlet: {text}"
        assert foreign not in text
    # The list's total (the "list (N)" tab) is exactly the two own outlets' tickets.
    total = page.locator("ul.nav-tabs .nav-link.active").inner_text()
    assert re.search(rf"\({own_count}\)", total), (total, own_count)
    assert foreign not in page.content()

    # The outlet filter offers only outlets in scope. Its label is the outlet column's header.
    outlet_label = page.locator("th.col-outlet").inner_text().strip()
    page.click("li.dropdown:has(.field-filters) > a.dropdown-toggle")
    page.locator(".field-filters a.filter", has_text=outlet_label).first.click()
    options = page.locator("table.filters select.filter-val option").all_inner_texts()
    assert options, "the outlet filter shows no options"
    assert any(name in text for text in options for name in own), options
    assert not any(foreign in text for text in options), options

    # Another outlet's ticket, opened by URL: not found (its existence is not revealed).
    response = page.goto(f"/admin/ticket/details/?id={foreign_ticket}")
    assert response.status == 404
    assert foreign not in page.content()

    # The registration form's outlet dropdown and customer lookup stay in scope too.
    page.goto("/admin/ticket/new/")
    form_outlets = page.locator("select#outlet option").all_inner_texts()
    assert any(name in text for text in form_outlets for name in own), form_outlets
    assert not any(foreign in text for text in form_outlets), form_outlets
    lookup = page.request.get(f"/admin/ticket/ajax/lookup/?name=customer&query={foreign_phone}")
    assert lookup.ok and lookup.json() == [], lookup.text()


def test_clerk_registers_a_ticket_through_the_form(page, live_server):
    customer_id, name, phone = live_server.query(
        "SELECT c.id, c.name, c.phone FROM customer c JOIN outlet o ON o.id = c.outlet_id "
        "WHERE o.code = 'GZ-TH' AND (SELECT count(*) FROM customer d WHERE d.phone = c.phone) = 1 "
        "ORDER BY c.id LIMIT 1")[0]
    outlet_id, outlet_code = live_server.query("SELECT id, code FROM outlet WHERE code = 'GZ-TH'")[0]
    last_id = live_server.query("SELECT coalesce(max(id), 0) FROM ticket")[0][0]
    description = f"E2E 热水器点火后熄火 {datetime.now():%H%M%S%f}"

    login(page, "clerk")
    page.goto("/admin/ticket/new/")
    day_before = local_today_stamp()
    select2_pick(page, "customer", phone[-7:], expected=phone)
    assert page.locator("input#customer").input_value() == str(customer_id)
    select2_pick(page, "kind", option_text(page, "kind", "installation"))
    select2_pick(page, "channel", option_text(page, "channel", "wechat"))
    page.fill("#fault_description", description)
    select2_pick(page, "outlet", outlet_code, expected=f"({outlet_code})")
    assert page.locator("select#outlet").input_value() == str(outlet_id)
    with page.expect_navigation():
        page.click("form.admin-form input[type=submit].btn-primary")
    day_after = local_today_stamp()

    assert page.locator(FLASH_SUCCESS).count() >= 1, page.locator(".alert").all_inner_texts()
    rows = live_server.query("SELECT number, kind, channel, outlet_id, customer_id, status "
                             "FROM ticket WHERE id > ? AND fault_description = ?", last_id, description)
    assert len(rows) == 1, rows
    number, kind, channel, saved_outlet, saved_customer, status = rows[0]
    assert (kind, channel, saved_outlet, saved_customer, status) == (
        "installation", "wechat", outlet_id, customer_id, "registered")
    assert re.fullmatch(rf"SV({day_before}|{day_after})-\d{{4}}", number), number

    page.goto("/admin/ticket/")  # newest first
    assert column(page, "number")[0] == number
    search_list(page, number)
    assert column(page, "number") == [number]
    assert column(page, "customer") == [name]
    assert column(page, "contact_phone") == [masked_phone(phone)]  # the customer's, masked on a list


def test_logout_is_a_post_and_ends_session(page):
    login(page, "engineer")
    # A plain link (GET) cannot sign anybody out: only the navbar's form does.
    response = page.goto("/logout")
    assert response.status == 405
    page.goto("/admin/")
    assert page.url.rstrip("/").endswith("/admin")

    with page.expect_navigation():
        page.click("form[action$='/logout'] button[type=submit]")
    assert "/login" in page.url

    page.goto("/admin/")
    assert re.search(r"/login(\?|$)", page.url), page.url
    assert page.locator("#username").is_visible()


def test_language_switch_to_english_and_back(page):
    # The choice is remembered on the account: "manager" is used by no other journey,
    # and the test ends by switching back to Chinese.
    login(page, "manager")
    tickets_link = page.locator("nav a[href='/admin/ticket/']").first

    with page.expect_navigation():
        page.click("form.language-switch button[value=en]")
    # (Flask-Admin's pages carry no <html lang>; the switch marks the active language.)
    assert page.locator("form.language-switch button[value=en]").get_attribute("aria-pressed") == "true"
    assert tickets_link.inner_text().strip() == "Tickets"
    assert "/admin" in page.url  # back on the page it was switched on

    with page.expect_navigation():
        page.click("form.language-switch button[value=zh_Hans_CN]")
    if CATALOG.exists():
        with CATALOG.open("rb") as handle:
            chinese = gettext.GNUTranslations(handle).gettext("Tickets")
        assert chinese != "Tickets", "the zh catalog has no translation for 'Tickets'"
        assert tickets_link.inner_text().strip() == chinese
        assert page.locator("form.language-switch button[value=zh_Hans_CN]").get_attribute(
            "aria-pressed") == "true"
    # Without a compiled catalog the UI stays English; switching English worked, checked above.
