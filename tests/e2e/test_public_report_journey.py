"""A customer reports a fault on their phone, in Chromium (issue 18): the lists start at "请选择",
the form refuses a fourth photo and keeps what was typed, three photos go with the report and
are stored with the new ticket; the receipt page carries the tracking link."""
from __future__ import annotations

from tests import factories as f
from tests.e2e.conftest import fill_fault_report, screenshot
from tests.e2e.test_role_journeys import seeding

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8


def photos(n: int) -> list[dict]:
    return [{"name": f"故障照片{i}.jpg", "mimeType": "image/jpeg", "buffer": JPEG} for i in range(1, n + 1)]


def test_a_customer_reports_a_fault_with_three_photos(live_server, browser):
    with seeding(live_server) as s:
        outlet_code, model_code = f.make_outlet(s).code, f.make_product_model(s).code
    context = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto("/report")
        for name in ("area", "model_code", "outlet_code", "kind"):
            assert page.locator(f"#{name}").input_value() == ""  # nothing chosen for the visitor
        serial = f"E2E-PHOTO-{f.next_number():05d}"
        fill_fault_report(page, model_code=model_code, outlet_code=outlet_code, serial=serial,
                          phone=f"1351234{f.next_number():04d}", fault="油烟机开机后异响，照片见附件")
        page.set_input_files("#photos", photos(4))
        with page.expect_navigation():
            page.click("form[data-testid=report-form] button[type=submit]")
        assert page.get_by_test_id("error-photos").is_visible()  # a fourth photo: refused, said why
        assert page.locator("#name").input_value() == "冯嘉怡" and page.locator("#serial").input_value() == serial
        assert page.locator("#model_code").input_value() == model_code
        screenshot(page, "report-four-photos-refused", full_page=True)

        page.set_input_files("#photos", photos(3))
        with page.expect_navigation():
            page.click("form[data-testid=report-form] button[type=submit]")
        number = page.get_by_test_id("receipt-number").inner_text().strip()
        assert page.get_by_test_id("tracking-link").inner_text().startswith(f"{live_server.url}/t/")
        screenshot(page, "report-receipt-on-phone", full_page=True)
    finally:
        context.close()
    stored = live_server.query("SELECT a.filename, a.content_type, a.size FROM attachment a "
                               "JOIN ticket t ON t.id = a.ticket_id WHERE t.number = ? ORDER BY a.id", number)
    assert stored == [(f"故障照片{i}.jpg", "image/jpeg", len(JPEG)) for i in (1, 2, 3)]
