"""Issue 17, in Chromium: a clerk registers a ticket for a caller who agrees to service messages;
the receipt SMS with its tracking link waits in the outbox; the customer opens the link on their
phone (no sign-in) and sees their ticket."""
from __future__ import annotations

import re
from datetime import timedelta

from backoffice.timezones import local_today
from tests import factories as f
from tests.e2e.conftest import screenshot
from tests.e2e.test_role_journeys import fresh_phone, people, seeding, serial, ticket_row  # noqa: F401

LINK = re.compile(r"https?://\S+/t/[\w.-]+")


def test_a_receipt_sms_with_its_tracking_link_reaches_the_outbox_and_the_link_shows_the_ticket(
        people, live_server, browser):  # noqa: F811
    with seeding(live_server) as s:
        clerk_name, outlet_id = f.make_user(s, "clerk").username, f.make_outlet(s).id
    phone = fresh_phone(live_server)

    clerk = people(clerk_name)
    page = clerk.page
    clerk.goto("/admin/intake/")
    clerk.type_phone(phone)
    page.get_by_test_id("callers").locator(".alert-info").wait_for()  # a new caller
    page.check("input[name=customer_id][value='']")
    page.fill("input[name='customer.name']", "邝志远")
    page.select_option("select[name='customer.area']", "urban")
    page.fill("input[name='customer.address']", "广州市白云区新市街机场路88号3栋502房")
    page.select_option("select[name='unit.model_code']", "JSQ30-16B")
    page.fill("input[name='unit.serial']", serial())
    page.fill("input[name='unit.invoice_date']", f"{local_today() - timedelta(days=40):%Y-%m-%d}")
    page.select_option("#kind", "repair")
    page.select_option("#category", "quality")
    page.select_option("#channel", "hotline")
    page.fill("#fault", "热水器开机后点不着火，有咔咔声")
    page.select_option("#outlet_id", str(outlet_id))
    page.check("#consent")  # the caller agrees to service messages (PIPL)
    clerk.submit(page.locator("#intake-form [data-testid=register]"))
    number = clerk.receipt()
    ticket_id = ticket_row(live_server, number)[0]

    # The outbox, as the clerk sees it: the receipt SMS to the caller's phone.
    clerk.goto("/admin/outbox/")
    clerk.search(phone)
    rows = page.locator("table.model-list tbody tr")
    assert rows.count() == 1, rows.all_inner_texts()
    assert number in rows.first.inner_text()
    with page.expect_navigation():
        rows.first.locator("a[href*='/admin/outbox/details/']").first.click()
    clerk.check()
    body = page.locator("body").inner_text()
    assert number in body and phone in body, body[:800]
    link = LINK.search(body).group(0)
    screenshot(page, "outbox-receipt-sms")
    stored = live_server.query("SELECT channel, recipient, template, body FROM outbox_message WHERE ticket_id = ?",
                               ticket_id)
    assert [(c, r, t) for c, r, t, _ in stored] == [("sms", phone, "receipt")]
    assert link in stored[0][3]

    # The customer's phone: no sign-in, the link alone.
    customer = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    try:
        phone_page = customer.new_page()
        response = phone_page.goto(link)
        assert response.status == 200
        shown = phone_page.locator("body").inner_text()
        assert number in shown, shown[:500]
        assert "邝志远" not in shown and phone not in shown  # the link tells the status, not who
        screenshot(phone_page, "tracking-link-on-phone")
    finally:
        customer.close()
