"""A quality incident in Chromium (R-PART-2, R-ROLE-2, R-PART-8): an outlet asks for more parts
than its account holds, the center asks a manager to issue them on account anyway, the manager
approves from the approvals queue, and the outlet reads the credit and the issue on its
statement."""
from __future__ import annotations

from decimal import Decimal

from tests.e2e.conftest import screenshot
from tests.e2e.test_parts_journey import FLASH_SUCCESS, person, submit


def test_center_asks_a_manager_to_issue_beyond_the_quota_and_the_outlet_sees_it(browser, live_server):
    outlet_id, = live_server.query("SELECT id FROM outlet WHERE code = 'FS-SD'")[0]
    part_id, price = live_server.query("SELECT id, unit_price FROM part WHERE code = 'P-HEX-01'")[0]
    balance = Decimal(str(live_server.query("SELECT balance FROM parts_account WHERE outlet_id = ?",
                                            outlet_id)[0][0])).quantize(Decimal("0.01"))
    qty = int(balance / Decimal(str(price))) + 2
    beyond = (Decimal(str(price)) * qty - balance).quantize(Decimal("0.01"))
    contexts = []
    try:
        dealer_context, dealer = person(browser, live_server, "dealer2")
        clerk_context, clerk = person(browser, live_server, "clerk")
        manager_context, manager = person(browser, live_server, "manager")
        contexts += [dealer_context, clerk_context, manager_context]

        dealer.goto("/admin/parts_request/")  # a batch of heat exchangers for a faulty series
        with dealer.expect_navigation():
            dealer.get_by_test_id("new-parts-request").click()
        dealer.select_option("#outlet_id", str(outlet_id))
        dealer.select_option("select[name='part_id-0']", str(part_id))
        dealer.fill("input[name='qty-0']", str(qty))
        submit(dealer, dealer.locator("#parts-request-form"))
        request_url = dealer.url
        number = dealer.get_by_test_id("parts-request").locator("h5").inner_text().split()[0]

        clerk.goto(request_url)  # on account, beyond the balance: the center asks a manager
        review = clerk.get_by_test_id("review")
        review.locator("select").first.select_option("on_account")
        ask = clerk.get_by_test_id("ask-incident")
        ask.locator("summary").click()
        ask.locator("textarea[name=incident_reason]").fill("JSQ24 批次热交换器渗漏，已有三张服务单")
        with clerk.expect_navigation():
            ask.locator("button[formaction]").click()
        assert clerk.locator(FLASH_SUCCESS).count() >= 1
        assert live_server.query("SELECT status FROM parts_request WHERE number = ?", number) == \
            [("awaiting_incident",)]

        manager.goto("/admin/approval/")  # the manager's queue
        row = manager.locator("tr", has_text=number)
        with manager.expect_navigation():
            row.locator("a[href*='/admin/approval/details/']").first.click()
        incident = manager.get_by_test_id("incident")
        assert f"¥{beyond:,.2f}" in incident.inner_text()
        screenshot(manager, "approval-quality-incident", full_page=True)
        decide = manager.get_by_test_id("decide")
        decide.locator("textarea[name=note]").fill("批次质量事故属实，特批挂账")
        with manager.expect_navigation():
            decide.locator("button[value=approve]").click()
        assert manager.locator(FLASH_SUCCESS).count() >= 1
        assert live_server.query("SELECT status FROM parts_request WHERE number = ?", number) == [("reviewed",)]

        account_id, = live_server.query("SELECT id FROM parts_account WHERE outlet_id = ?", outlet_id)[0]
        dealer.goto(f"/admin/parts_account/details/?id={account_id}")  # the outlet reads both movements
        statement = dealer.get_by_test_id("statement")
        credit = statement.locator("tr[data-kind=adjustment]").last
        assert f"+{beyond:,.2f}" in credit.inner_text() and "JSQ24 批次热交换器渗漏" in credit.inner_text()
        issued = statement.locator("tr[data-kind=issue]").last
        assert f"-{Decimal(str(price)) * qty:,.2f}" in issued.inner_text()
        assert dealer.get_by_test_id("closing").inner_text() == "0.00"
        screenshot(dealer, "statement-after-incident", full_page=True)
    finally:
        for context in contexts:
            context.close()
