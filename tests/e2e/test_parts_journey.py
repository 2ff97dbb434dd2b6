"""The spare-parts cycle of an outlet in Chromium (R-PART-2…4, R-PART-8): a dealer requests
parts, the center issues them on account and ships, the dealer confirms the delivery, sends an
old part back, the center credits it, and the dealer sees the credit on its statement."""
from __future__ import annotations

from decimal import Decimal

from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, login, screenshot

FLASH_SUCCESS = ".alert-success"


def person(browser, live_server, username):
    context = browser.new_context(locale="zh-CN", base_url=live_server.url, timezone_id="Asia/Shanghai")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    login(page, username)
    return context, page


def submit(page, form) -> None:
    with page.expect_navigation():
        form.locator("button[type=submit], button:not([type])").first.click()
    assert page.locator(FLASH_SUCCESS).count() >= 1, page.locator(".alert, .invalid-feedback").all_inner_texts()


def test_dealer_requests_parts_confirms_delivery_returns_an_old_part_and_sees_the_credit(browser, live_server):
    outlet_id, = live_server.query("SELECT id FROM outlet WHERE code = 'GZ-TH'")[0]
    part_id, price = live_server.query("SELECT id, unit_price FROM part WHERE active AND unit_price >= 20 "
                                       "ORDER BY id LIMIT 1")[0]
    old_id, old_value = live_server.query(
        "SELECT o.id, o.unit_price * o.qty FROM old_part o WHERE o.state = 'owed' AND o.return_id IS NULL "
        "AND o.outlet_id = ? "
        "ORDER BY o.id LIMIT 1", outlet_id)[0]
    contexts = []
    try:
        dealer_context, dealer = person(browser, live_server, "dealer1")
        clerk_context, clerk = person(browser, live_server, "clerk")
        contexts += [dealer_context, clerk_context]
        start_balance = Decimal(str(live_server.query(
            "SELECT balance FROM parts_account WHERE outlet_id = ?", outlet_id)[0][0]))

        dealer.goto("/admin/parts_request/")  # the dealer asks for two pieces
        with dealer.expect_navigation():
            dealer.get_by_test_id("new-parts-request").click()
        dealer.select_option("#outlet_id", str(outlet_id))
        dealer.select_option("select[name='part_id-0']", str(part_id))
        dealer.fill("input[name='qty-0']", "2")
        dealer.check("input[name='urgent-0']")
        submit(dealer, dealer.locator("#parts-request-form"))
        request_url = dealer.url
        number = dealer.get_by_test_id("parts-request").locator("h5").inner_text().split()[0]

        clerk.goto(request_url)  # the center issues on account, picks and ships
        review = clerk.get_by_test_id("review")
        assert review.locator("select").first.input_value() == "on_account"
        submit(clerk, review)
        ship = clerk.get_by_test_id("ship")
        ship.locator("input[name=courier]").fill("顺丰速运")
        ship.locator("input[name=tracking_no]").fill("SF1029384756")
        submit(clerk, ship)

        dealer.goto(request_url)  # the parcel is checked against the list
        with dealer.expect_navigation():
            dealer.get_by_test_id("confirm-delivery").locator("button[value=yes]").click()
        assert live_server.query("SELECT status FROM parts_request WHERE number = ?", number) == [("delivered",)]

        dealer.goto("/admin/old_part/")  # the dealer applies to return an old part (R-PART-9)
        with dealer.expect_navigation():
            dealer.get_by_test_id("new-return-list").click()
        form = dealer.get_by_test_id("return-form")
        form.locator(f"#old-{old_id}").check()
        submit(dealer, form)
        return_url = dealer.url

        clerk.goto(return_url)  # the center authorises the list (核准)
        submit(clerk, clerk.get_by_test_id("authorise"))

        dealer.goto(return_url)  # only then the parcel ships
        ship = dealer.get_by_test_id("ship")
        ship.locator("input[name=courier]").fill("德邦物流")
        ship.locator("input[name=tracking_no]").fill("DB7788990011")
        submit(dealer, ship)

        clerk.goto(return_url)  # counted, then inspected: a quality failure, credited in full
        submit(clerk, clerk.get_by_test_id("return-lines"))
        clerk.get_by_test_id("return-lines").locator(f"select[name='verdict-{old_id}']").select_option("quality")
        submit(clerk, clerk.get_by_test_id("return-lines"))

        account_id, balance = live_server.query(
            "SELECT id, balance FROM parts_account WHERE outlet_id = ?", outlet_id)[0]
        expected = start_balance - Decimal(str(price)) * 2 + Decimal(str(old_value))
        assert Decimal(str(balance)).quantize(Decimal("0.01")) == expected.quantize(Decimal("0.01"))

        dealer.goto("/admin/parts_account/")  # the dealer reads it on its statement
        with dealer.expect_navigation():
            dealer.locator(f"a[href*='/admin/parts_account/details/?id={account_id}']").first.click()
        statement = dealer.get_by_test_id("statement")
        credit = statement.locator("tr[data-kind=return_credit]").last
        assert f"+{Decimal(str(old_value)):,.2f}" in credit.inner_text()
        issued = statement.locator("tr[data-kind=issue]").last
        assert f"-{Decimal(str(price)) * 2:,.2f}" in issued.inner_text()
        assert dealer.get_by_test_id("closing").inner_text() == f"{expected:,.2f}"
        screenshot(dealer, "parts-statement", full_page=True)
    finally:
        for context in contexts:
            context.close()
