"""Printouts (issue 18): the intake receipt carries the letterhead, the fault, the promised first
response, the tracking link as a QR code and the customer's signature line (R-TKT-2); the parts
statement (R-PART-7) and the fee settlement (R-FEE-2) carry seal lines for both parties and a
button that prints or saves them as PDF."""
import re

import segno
from sqlalchemy import select

from backoffice import fee_claims, months
from backoffice.letterhead import DEFAULTS
from backoffice.timezones import local_today
from models import FeeBatch, Ticket
from tests import factories as f

BASE_URL = "https://service.example.test"  # PUBLIC_BASE_URL in tests (tests/conftest.py)


def text(response):
    return response.get_data(as_text=True)


def between(page: str, testid: str) -> str:
    """The element marked data-testid=`testid` up to the next element's end (enough to read it)."""
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</(?:p|dd|div|section|header)>', page, re.S)
    assert found, f"no {testid} on the page"
    return found.group(1)


def english_clerk(session):
    return f.make_user(session, "clerk", locale="en")


# --- the receipt ---------------------------------------------------------------------------------

def test_the_receipt_shows_number_fault_promise_qr_of_the_tracking_link_and_a_signature_line(
        app, as_user, session):
    outlet = f.make_outlet(session)
    ticket = f.make_ticket(session, f.make_customer(session, outlet), fault_description="开机后显示E1，不出热水")
    clerk = english_clerk(session)
    session.commit()

    page = text(as_user(clerk).get(f"/admin/intake/receipt/{ticket.id}"))

    session.expire_all()
    token = session.get(Ticket, ticket.id).tracking_token  # made for the receipt and committed
    link = f"{BASE_URL}/t/{token}"
    assert token and ticket.number in between(page, "receipt-number")
    assert "开机后显示E1，不出热水" in between(page, "receipt-fault")
    assert 'data-testid="promised-response"' in page
    assert between(page, "tracking-link").strip() == link
    # The QR code is the printed link: segno draws the same modules for it.
    qr = re.search(r'data-testid="receipt-qr">\s*(<svg.*?</svg>)', page, re.S).group(1)
    expected = segno.make(link, error="m", micro=False).svg_inline(scale=4, border=4)
    assert re.search(r' d="([^"]+)"', qr).group(1) == re.search(r' d="([^"]+)"', expected).group(1)
    assert "Customer's signature" in between(page, "signature-line") and "Date" in page
    assert DEFAULTS["COMPANY_NAME"] in between(page, "letterhead") and DEFAULTS["COMPANY_HOTLINE"] in page


def test_the_printed_link_opens_the_tickets_public_status(app, as_user, client, session):
    ticket = f.make_ticket(session, f.make_customer(session, f.make_outlet(session)))
    clerk = english_clerk(session)
    session.commit()
    link = between(text(as_user(clerk).get(f"/admin/intake/receipt/{ticket.id}")), "tracking-link").strip()
    status = client.get(link.removeprefix(BASE_URL))
    assert status.status_code == 200 and ticket.number in between(text(status), "track-result")


def test_the_receipt_keeps_the_token_it_printed(as_user, session):
    """A second print shows the same link: the token is made once."""
    ticket = f.make_ticket(session, f.make_customer(session, f.make_outlet(session)))
    user = english_clerk(session)
    session.commit()
    clerk = as_user(user)
    first = between(text(clerk.get(f"/admin/intake/receipt/{ticket.id}")), "tracking-link")
    assert between(text(clerk.get(f"/admin/intake/receipt/{ticket.id}")), "tracking-link") == first


def test_the_letterhead_comes_from_the_configuration(app, as_user, session):
    app.config.update(COMPANY_NAME="华南家电服务有限公司", COMPANY_ADDRESS="佛山市顺德区大良街道1号",
                      COMPANY_HOTLINE="400-000-8888")
    ticket = f.make_ticket(session, f.make_customer(session, f.make_outlet(session)))
    clerk = english_clerk(session)
    session.commit()
    head = between(text(as_user(clerk).get(f"/admin/intake/receipt/{ticket.id}")), "letterhead")
    assert "华南家电服务有限公司" in head and DEFAULTS["COMPANY_NAME"] not in head


def test_a_dealer_prints_no_receipt_of_another_outlets_ticket(as_user, session):
    mine, other = f.make_outlet(session), f.make_outlet(session)
    ticket = f.make_ticket(session, f.make_customer(session, other))
    dealer = f.make_user(session, "dealer", outlet=mine)
    session.commit()
    assert as_user(dealer).get(f"/admin/intake/receipt/{ticket.id}").status_code == 404
    session.expire_all()
    assert session.get(Ticket, ticket.id).tracking_token is None  # no token made for a refused page


# --- statement and settlement --------------------------------------------------------------------

def assert_both_parties_seal(page: str, outlet_name: str) -> None:
    seals = page.split('data-testid="seal-lines"', 1)[1].split("</section>", 1)[0]
    center, outlet = seals.split('data-testid="seal-center"', 1)[1].split('data-testid="seal-outlet"', 1)
    assert DEFAULTS["COMPANY_NAME"] in center and DEFAULTS["COMPANY_SEAL_TEXT"] in center
    assert outlet_name in outlet
    for block in (center, outlet):
        assert "Seal" in block and "Signature" in block and "Date" in block
    assert 'data-action="print"' in page and "Print / save as PDF" in page


def test_the_parts_statement_has_seal_lines_for_the_center_and_the_outlet(as_user, session):
    outlet = f.make_outlet(session)
    account_id = f.make_parts_account(session, outlet, balance="500.00").id
    dealer = f.make_user(session, "dealer", outlet=outlet, locale="en")
    clerk = english_clerk(session)
    session.commit()
    for user in (clerk, dealer):  # the center prints it, and so does the outlet
        page = text(as_user(user).get(f"/admin/parts_account/details/?id={account_id}"))
        assert 'data-testid="statement"' in page
        assert_both_parties_seal(page, outlet.name)


def test_the_fee_settlement_has_seal_lines_for_the_center_and_the_outlet(as_user, session):
    outlet = f.make_outlet(session)
    dealer = f.make_user(session, "dealer", outlet=outlet, locale="en")
    clerk = english_clerk(session)
    batch = fee_claims.settle_month(session, outlet.id, months.previous_month(local_today()), clerk)
    session.commit()
    assert session.scalar(select(FeeBatch).where(FeeBatch.outlet_id == outlet.id)).id == batch.id
    for user in (clerk, dealer):
        page = text(as_user(user).get(f"/admin/fee_batch/details/?id={batch.id}"))
        assert 'data-testid="fee-batch"' in page
        assert_both_parties_seal(page, outlet.name)


def test_the_printouts_link_their_print_style_and_no_inline_script(as_user, session):
    """The print button works under the CSP: static/js/backoffice.js, no onclick."""
    ticket = f.make_ticket(session, f.make_customer(session, f.make_outlet(session)))
    clerk = english_clerk(session)
    session.commit()
    page = text(as_user(clerk).get(f"/admin/intake/receipt/{ticket.id}"))
    assert "css/print.css" in page and "onclick" not in page and "js/backoffice.js" in page
