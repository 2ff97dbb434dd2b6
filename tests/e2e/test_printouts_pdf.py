"""Printouts in Chromium (issue 18): the clerk opens a receipt and a parts statement, and the
browser's print to PDF (Playwright's page.pdf(), the print media) makes a PDF of each; on paper
the site's navigation and buttons are gone, the letterhead, the QR code, the signature line and
both parties' seal lines are there."""
from __future__ import annotations

from tests import factories as f
from tests.e2e.conftest import login, screenshot
from tests.e2e.test_role_journeys import seeding


def printed(page) -> tuple[bytes, str]:
    """The page as a PDF, and its text as the print media shows it."""
    pdf = page.pdf(format="A4", print_background=True)
    page.emulate_media(media="print")
    return pdf, page.locator("body").inner_text()


def test_the_receipt_and_the_statement_print_to_pdf(live_server, page):
    with seeding(live_server) as s:
        outlet = f.make_outlet(s)
        ticket = f.make_ticket(s, f.make_customer(s, outlet), fault_description="热水器打不着火，有咔咔声")
        account = f.make_parts_account(s, outlet, balance="800.00")
        clerk, number, account_id, outlet_name = f.make_user(s, "clerk"), ticket.number, account.id, outlet.name
        username = clerk.username
    login(page, username)

    page.goto(f"/admin/intake/receipt/{ticket.id}")
    assert page.get_by_test_id("print").is_visible()  # the button, on screen
    screenshot(page, "receipt-screen", full_page=True)
    pdf, text = printed(page)
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
    assert number in text and "热水器打不着火，有咔咔声" in text
    assert "客户签字" in text or "Customer's signature" in text  # English until the catalog is compiled
    assert page.locator("[data-testid=receipt-qr] svg").is_visible()
    link = page.get_by_test_id("tracking-link").inner_text().strip()
    assert link.startswith(f"{live_server.url}/t/") and link in text
    assert not page.locator(".navbar").is_visible() and not page.get_by_test_id("print").is_visible()
    screenshot(page, "receipt-print", full_page=True)

    page.emulate_media(media="screen")
    page.goto(f"/admin/parts_account/details/?id={account_id}")
    assert not page.get_by_test_id("letterhead").is_visible()  # on screen the site's header is enough
    pdf, text = printed(page)
    assert pdf.startswith(b"%PDF")
    assert page.get_by_test_id("letterhead").is_visible() and page.get_by_test_id("seal-lines").is_visible()
    assert outlet_name in page.get_by_test_id("seal-outlet").inner_text()
    assert page.get_by_test_id("statement").is_visible() and outlet_name in text
    assert not page.locator(".navbar").is_visible()
    screenshot(page, "parts-statement-print", full_page=True)
