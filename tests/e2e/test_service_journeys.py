"""A repair from the hotline call to the return visit, and an exchange approved by a manager.

The journeys of the ticket-lifecycle issue (R-TKT-1, R-TKT-4, R-TKT-5, R-TKT-7, R-SLA-1) and of
the approvals issue (R-RET-2, R-RET-4, R-ROLE-2), in Chromium, as the people at the service desk
do them. Each test finds or makes its own data on the shared live server.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, login, screenshot

FLASH_SUCCESS = ".alert-success"


def new_context(browser, live_server):
    """A second person at their own browser (the `page` fixture is one person)."""
    context = browser.new_context(locale="zh-CN", base_url=live_server.url, timezone_id="Asia/Shanghai")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return context


def step_form(page, name: str):
    return page.locator(f"form.workflow-step[data-step={name}]")


def take_step(page, name: str, fields: dict | None = None, checks: tuple = ()) -> None:
    """Fill one workflow step's small form on the ticket page and submit it."""
    form = step_form(page, name)
    if form.is_hidden():  # its button opens it (static/js/ticket_page.js)
        page.locator(f"[data-step-open={name}]").click()
    for field, value in (fields or {}).items():
        control = form.locator(f"[name={field}]").first
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    for field in checks:
        form.locator(f"input[name={field}]").check()
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator(FLASH_SUCCESS).count() >= 1, page.locator(".alert, .invalid-feedback").all_inner_texts()


def first_option(form, field: str) -> str:
    """The first real option of a select in a step form (the codes depend on the category)."""
    values = form.locator(f"select[name={field}] option").evaluate_all("os => os.map(o => o.value)")
    return next(v for v in values if v)


def status_of(live_server, ticket_id: int) -> str:
    return live_server.query("SELECT status FROM ticket WHERE id = ?", ticket_id)[0][0]


def open_ticket(page, ticket_id: int) -> None:
    page.goto(f"/admin/ticket/details/?id={ticket_id}")


def caller_with_heater_in_warranty(live_server):
    """A customer whose phone is unique, with a gas water heater bought 100 days ago or less."""
    return live_server.query(
        "SELECT c.id, c.name, c.phone, u.id, u.serial, o.id FROM customer c "
        "JOIN unit u ON u.customer_id = c.id JOIN product_model m ON m.id = u.product_model_id "
        "JOIN outlet o ON o.id = c.outlet_id "
        "WHERE m.category = 'gas_water_heater' AND u.invoice_date >= date('now', '-100 days') "
        "AND (SELECT count(*) FROM customer d WHERE d.phone = c.phone) = 1 "
        "AND (SELECT count(*) FROM unit v WHERE v.customer_id = c.id) = 1 "
        "ORDER BY c.id DESC LIMIT 1")[0]


def register_by_phone(page, live_server, fault: str) -> tuple[int, str]:
    """The clerk takes a call at the intake screen: (ticket id, number) from the receipt."""
    customer_id, name, phone, unit_id, _serial, outlet_id = caller_with_heater_in_warranty(live_server)
    page.goto("/admin/intake/")
    page.locator("#phone").press_sequentially(phone, delay=20)  # the caller dictates the number
    caller = page.locator("#callers .caller", has_text=name)
    caller.wait_for()
    assert caller.locator(f"input[name=customer_id][value='{customer_id}']").is_checked()
    caller.locator(f"input[name=unit_id][value='{unit_id}']").check()
    page.select_option("select[name=kind]", "repair")
    page.select_option("select[name=category]", "quality")
    page.select_option("select[name=channel]", "hotline")
    page.fill("textarea[name=fault]", fault)
    page.select_option("select[name=outlet_id]", str(outlet_id))
    with page.expect_navigation():
        page.click("#intake-form [data-testid=register]")
    number = page.get_by_test_id("receipt-number").inner_text().strip()
    rows = live_server.query("SELECT id, customer_id, unit_id, channel, status FROM ticket "
                             "WHERE number = ?", number)
    assert len(rows) == 1 and rows[0][1:] == (customer_id, unit_id, "hotline", "registered"), rows
    return rows[0][0], number


def test_clerk_registers_a_phone_report_and_prints_the_receipt(page, live_server):  # R-TKT-1, R-SLA-1
    page.add_init_script("window.__printed = 0; window.print = () => { window.__printed += 1; };")
    login(page, "clerk")
    before = datetime.utcnow().replace(microsecond=0)
    ticket_id, number = register_by_phone(page, live_server, "热水器打不着火，显示E1")
    after = datetime.utcnow() + timedelta(seconds=1)

    receipt = page.get_by_test_id("receipt")
    assert number in receipt.inner_text()
    promised = page.get_by_test_id("promised-response").inner_text().strip()
    due = live_server.query("SELECT due_at FROM ticket_clock WHERE ticket_id = ? AND clock = 'response'",
                            ticket_id)[0][0]
    due_utc = datetime.fromisoformat(due[:19])
    assert before + timedelta(hours=2) <= due_utc <= after + timedelta(hours=2)  # urban, in warranty
    assert (due_utc + timedelta(hours=8)).strftime("%H:%M") in promised  # shown in Shanghai time
    screenshot(page, "receipt")

    page.locator(".no-print button[data-action=print]").click()
    assert page.evaluate("window.__printed") == 1
    page.emulate_media(media="print")
    assert not page.locator("nav").first.is_visible()  # the printout is the receipt alone
    assert receipt.is_visible()


def test_engineer_diagnoses_is_dispatched_and_resolves_with_a_signed_report(browser, live_server):
    desk, field = new_context(browser, live_server), new_context(browser, live_server)
    try:
        clerk, engineer = desk.new_page(), field.new_page()
        login(clerk, "clerk")
        ticket_id, number = register_by_phone(clerk, live_server, "热水器出水忽冷忽热")

        login(engineer, "engineer")  # an unassigned ticket is in the engineers' queue
        engineer.goto("/admin/ticket/")
        engineer.fill("form[role=search] input[name=search]", number)
        with engineer.expect_navigation():
            engineer.press("form[role=search] input[name=search]", "Enter")
        with engineer.expect_navigation():
            engineer.locator(f"table.model-list td.col-number a:text-is('{number}')").click()  # the number links
        diagnose = step_form(engineer, "diagnose")
        take_step(engineer, "diagnose", {
            "service_mode": "onsite", "severity": "major",
            "fault_code": first_option(diagnose, "fault_code"),
            "note": "判断为比例阀故障，需上门更换"})
        assert status_of(live_server, ticket_id) == "diagnosed"
        take_step(engineer, "propose", {"note": "保修期内免费更换比例阀"})
        assert status_of(live_server, ticket_id) == "solution_proposed"

        open_ticket(clerk, ticket_id)  # the customer agrees on the phone; the desk dispatches
        take_step(clerk, "agree", {"note": "客户同意周六上门"})
        appointment = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%dT10:00")
        engineer_id = live_server.query("SELECT id FROM user_account WHERE username = 'engineer'")[0][0]
        take_step(clerk, "dispatch", {"engineer": str(engineer_id), "appointment_at": appointment})
        assert live_server.query("SELECT status, assigned_engineer_id FROM ticket WHERE id = ?",
                                 ticket_id)[0] == ("dispatched", engineer_id)

        open_ticket(engineer, ticket_id)  # on site
        take_step(engineer, "start_service")
        resolve = step_form(engineer, "resolve")
        part = first_option(resolve, "part_id")
        take_step(engineer, "resolve", {"work_done": "更换比例阀，试机正常", "part_id": part,
                                        "signed_by": "用户本人签字"}, checks=("tested_ok",))
        screenshot(engineer, "resolved", full_page=True)

        assert status_of(live_server, ticket_id) == "resolved"
        report = live_server.query("SELECT work_done, signed_by, tested_ok FROM service_report "
                                   "WHERE ticket_id = ?", ticket_id)
        assert report == [("更换比例阀，试机正常", "用户本人签字", 1)], report
        assert live_server.query("SELECT count(*) FROM replaced_part WHERE ticket_id = ?",
                                 ticket_id)[0][0] == 1
        assert live_server.query("SELECT count(*) FROM return_visit WHERE ticket_id = ? "
                                 "AND done_at IS NULL", ticket_id)[0][0] == 1  # scheduled
        signed = engineer.get_by_test_id("service-report").inner_text()
        assert "更换比例阀，试机正常" in signed and "用户本人签字" in signed
        assert step_form(engineer, "resolve").count() == 0  # done once, not offered again
        assert step_form(engineer, "return_visit").count() == 0  # the desk's call, not the engineer's
    finally:
        desk.close()
        field.close()


def test_clerk_return_visit_unsatisfied_customer_reopens_the_ticket(page, live_server):  # R-TKT-4
    ticket_id, number = live_server.query(
        "SELECT t.id, t.number FROM ticket t JOIN return_visit v ON v.ticket_id = t.id "
        "WHERE t.status = 'resolved' AND t.kind = 'repair' AND v.done_at IS NULL "
        "ORDER BY t.id LIMIT 1")[0]
    login(page, "clerk")
    page.goto("/admin/return_visit/")
    page.fill("form[role=search] input[name=search]", number)
    with page.expect_navigation():
        page.press("form[role=search] input[name=search]", "Enter")
    with page.expect_navigation():
        page.locator("table.model-list td.col-ticket a", has_text=number).first.click()
    assert step_form(page, "return_visit").count() == 1
    take_step(page, "return_visit", {"satisfaction": "2", "comment": "修完两天又不出热水"})

    assert status_of(live_server, ticket_id) == "diagnosed"  # back to work, not closed
    assert page.get_by_test_id("repeat-repair").is_visible()
    assert "修完两天又不出热水" in page.get_by_test_id("timeline").inner_text()
    assert live_server.query("SELECT satisfaction FROM return_visit WHERE ticket_id = ? "
                             "AND done_at IS NOT NULL", ticket_id) == [(2,)]
    assert step_form(page, "propose").count() == 1  # the next step is offered again


def test_dealer_requests_an_exchange_for_an_unrepairable_heater_and_the_manager_approves(
        browser, live_server):  # R-RET-2, R-RET-4, R-ROLE-2
    ticket_id, _number, model_id = live_server.query(
        "SELECT t.id, t.number, u.product_model_id FROM ticket t JOIN unit u ON u.id = t.unit_id "
        "JOIN product_model m ON m.id = u.product_model_id JOIN outlet o ON o.id = t.outlet_id "
        "WHERE o.code IN ('GZ-TH', 'GZ-TH-01') AND t.status = 'diagnosed' "
        "AND m.category = 'gas_water_heater' AND NOT EXISTS "
        "(SELECT 1 FROM approval_request a WHERE a.ticket_id = t.id) AND EXISTS "
        "(SELECT 1 FROM finished_goods_stock s WHERE s.product_model_id = m.id AND s.qty > 0 "
        ") ORDER BY t.id LIMIT 1")[0]
    dealer_context, manager_context = new_context(browser, live_server), new_context(browser, live_server)
    try:
        dealer, manager = dealer_context.new_page(), manager_context.new_page()
        login(dealer, "dealer1")
        open_ticket(dealer, ticket_id)
        form = dealer.get_by_test_id("approval-request")
        form.locator("select[name=kind]").select_option("exchange")
        form.locator("select[name=grounds]").select_option("unrepairable")
        form.locator("textarea[name=reason]").fill("热交换器烧穿，无法修复，申请同型号换机")
        with dealer.expect_navigation():
            form.locator("button[type=submit]").click()
        assert "/admin/approval/details" in dealer.url, dealer.locator(".invalid-feedback").all_inner_texts()
        request_id = int(dealer.url.split("id=")[1].split("&")[0])
        assert dealer.get_by_test_id("decide").count() == 0  # never their own (R-ROLE-2)
        row = live_server.query("SELECT kind, status, target_model_id FROM approval_request "
                                "WHERE id = ?", request_id)[0]
        assert row == ("exchange", "pending", model_id)

        login(manager, "manager")
        manager.goto("/admin/approval/")
        with manager.expect_navigation():
            manager.locator(f"table.model-list a[href*='id={request_id}']").first.click()
        decide = manager.get_by_test_id("decide")
        decide.locator("textarea[name=note]").fill("同意换机，从网点库存出货")
        with manager.expect_navigation():
            decide.locator("button[name=decision][value=approve]").click()
        assert live_server.query("SELECT status FROM approval_request WHERE id = ?",
                                 request_id)[0][0] == "approved"

        open_ticket(dealer, ticket_id)  # the dealer sees the decision on the ticket
        requests = dealer.get_by_test_id("approval-request").inner_text()
        assert f"#{request_id}" in requests and "同意换机，从网点库存出货" in requests
        assert "同意换机，从网点库存出货" in dealer.get_by_test_id("timeline").inner_text()
        screenshot(dealer, "exchange-approved", full_page=True)
    finally:
        dealer_context.close()
        manager_context.close()
