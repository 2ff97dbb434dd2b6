"""Both sides sign the monthly statement, in Chromium (R-PART-7): a dealer opens last month's
statement and disputes it; the clerk is told a credit is a manager's and their credit is refused
on its line (R-PART-8); a manager resolves the dispute with the credit (amount and reason), the
statement is reissued, the dealer confirms it and may request parts again.

The test opens an outlet and a dealer of its own on the live server (a quota granted last
month, last month's statement issued by the system), so it depends on no other test."""
from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from backoffice import accounts, ledger, reconciliation
from backoffice.demo import DEMO_PASSWORD
from backoffice.timezones import local_today
from models import Outlet, db
from tests.e2e.conftest import screenshot
from tests.e2e.test_parts_journey import person, submit


def outlet_with_last_month(live_server) -> tuple[str, int, int]:
    """(the dealer's username, the outlet id, its last month's statement id), committed."""
    code = f"E2E-{uuid.uuid4().hex[:6].upper()}"
    username = f"dealer_{code.lower().replace('-', '_')}"
    with live_server.app.app_context():
        outlet = Outlet(code=code, name=f"对账测试网点 {code}", region="测试区",
                        total_purchase_amount=Decimal("1000000.00"))
        db.session.add(outlet)
        db.session.flush()
        accounts.create_user(db.session, username, DEMO_PASSWORD, "dealer", full_name="对账员", outlet=outlet,
                             screened=False)
        last = reconciliation.previous_month(local_today())
        start, _end = reconciliation.month_bounds(last)
        ledger.grant_quota(db.session, outlet, at=start + timedelta(hours=2))
        record = reconciliation.issue(db.session, outlet.id, last)
        db.session.commit()
        return username, outlet.id, record.id


def test_dealer_disputes_center_corrects_statement_reissued_dealer_confirms_supply_resumes(browser, live_server):
    username, outlet_id, record_id = outlet_with_last_month(live_server)
    part_id, = live_server.query("SELECT id FROM part WHERE active ORDER BY id LIMIT 1")[0]
    month_url = f"/admin/parts_month/details/?id={record_id}"
    contexts = []
    try:
        dealer_context, dealer = person(browser, live_server, username)
        clerk_context, clerk = person(browser, live_server, "clerk")
        manager_context, manager = person(browser, live_server, "manager")
        contexts += [dealer_context, clerk_context, manager_context]

        dealer.goto("/admin/parts_request/request/")  # last month is not confirmed: supply held
        assert dealer.get_by_test_id("request-blocked").count() == 1

        dealer.goto("/admin/parts_month/")  # the dealer opens its statement from the list
        with dealer.expect_navigation():
            dealer.locator(f"a[href*='/admin/parts_month/details/?id={record_id}']").first.click()
        assert dealer.get_by_test_id("statement").count() == 1
        actions = dealer.get_by_test_id("reconciliation-actions")
        actions.locator("input[name=dispute_reason]").fill("月初的额度少记了50元")
        with dealer.expect_navigation():
            actions.locator("form:has(input[name=dispute_reason]) button").click()
        assert live_server.query("SELECT status FROM parts_reconciliation WHERE id = ?", record_id) == [("disputed",)]

        clerk.goto(month_url)  # a clerk is told up front that a credit is a manager's …
        resolve = clerk.get_by_test_id("resolve")
        assert clerk.get_by_test_id("credit-why-not").count() == 1
        resolve.locator("input[name=outcome][value=corrections]").check()
        resolve.locator("input[name='correction-0-amount']").fill("50.00")
        resolve.locator("input[name='correction-0-reason']").fill("补记月初额度差额")
        with clerk.expect_navigation():
            resolve.locator("button[type=submit]").click()
        amount = clerk.get_by_test_id("resolve").locator("input[name='correction-0-amount']")
        assert "is-invalid" in amount.get_attribute("class") and amount.input_value() == "50.00"  # kept
        assert live_server.query("SELECT status, revision FROM parts_reconciliation WHERE id = ?",
                                 record_id) == [("disputed", 1)]

        manager.goto(month_url)  # … a manager resolves with the credit and its reason
        resolve = manager.get_by_test_id("resolve")
        assert manager.get_by_test_id("credit-why-not").count() == 0
        resolve.locator("input[name=outcome][value=corrections]").check()
        resolve.locator("input[name='correction-0-amount']").fill("50.00")
        resolve.locator("input[name='correction-0-reason']").fill("补记月初额度差额")
        submit(manager, resolve)
        status, revision, corrections = live_server.query(
            "SELECT status, revision, corrections FROM parts_reconciliation WHERE id = ?", record_id)[0]
        assert (status, revision, Decimal(str(corrections))) == ("open", 2, Decimal("50.00"))

        dealer.goto(month_url)  # reissued: the correction apart, the history, the outlet's turn
        assert dealer.get_by_test_id("revision").count() == 1
        assert "+50.00" in dealer.get_by_test_id("corrections-total").inner_text()
        assert "补记月初额度差额" in dealer.get_by_test_id("dispute-history").inner_text()
        screenshot(dealer, "reconciliation-reissued", full_page=True)
        with dealer.expect_navigation():
            dealer.get_by_test_id("reconciliation-actions").locator(
                "form[action*='/admin/parts_month/confirm/'] button").click()
        assert live_server.query("SELECT status FROM parts_reconciliation WHERE id = ?", record_id) == [("confirmed",)]

        dealer.goto("/admin/parts_request/request/")  # supply resumes
        assert dealer.get_by_test_id("request-blocked").count() == 0
        dealer.select_option("#outlet_id", str(outlet_id))
        dealer.select_option("select[name='part_id-0']", str(part_id))
        dealer.fill("input[name='qty-0']", "1")
        submit(dealer, dealer.locator("#parts-request-form"))
        assert live_server.query("SELECT count(*) FROM parts_request WHERE outlet_id = ?", outlet_id) == [(1,)]
    finally:
        for context in contexts:
            context.close()


