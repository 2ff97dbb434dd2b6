"""Issue 18: an engineer on a 390×844 phone. His home page, the ticket list and a ticket's page fit
the screen's width (no sideways scroll), each weighs at most 300 KB over the wire with the browser
cache off (pages and static files leave compressed: Flask-Compress), and the home page starts with
today's appointments as cards: the first one has a number to tap and a map link, and opens the
ticket's page.

The demo engineer signs in; an appointment of his today is made here (tests/factories.py): a
ticket of a fresh outlet's customer assigned to him, its appointment now."""
from __future__ import annotations

import pytest

from models import User, utcnow
from tests import factories as f
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, login, screenshot
from tests.e2e.test_role_journeys import seeding

PHONE = {"width": 390, "height": 844}
BUDGET = 300 * 1024  # bytes over the wire for one page and all it loads
ENGINEER = "engineer"  # the demo engineer


@pytest.fixture(scope="module")
def appointment(live_server):
    """An appointment of the demo engineer's today (now: today wherever the outlet is), for a
    customer with a phone and an address: (ticket id, number)."""
    from sqlalchemy import select

    with seeding(live_server) as s:
        engineer = s.scalar(select(User).where(User.username == ENGINEER))
        customer = f.make_customer(s, f.make_outlet(s))
        ticket = f.make_ticket(s, customer, assigned_engineer=engineer, contact_phone=customer.phone,
                               address=customer.address, appointment_at=utcnow())
        return ticket.id, ticket.number


@pytest.fixture
def phone(browser, live_server):
    """A phone-sized browser (a narrow window, so a page too wide scrolls rather than shrinks),
    with the DevTools protocol counting the bytes each page load brings from the live server."""
    context = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport=PHONE, has_touch=True,
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


class Wire:
    """Bytes received per response (Network.loadingFinished's encodedDataLength: compressed body
    and headers) for requests to the live server, with the browser cache off."""

    def __init__(self, page, base_url: str):
        self.base_url = base_url
        self.urls: dict[str, str] = {}
        self.received: dict[str, int] = {}
        cdp = page.context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", lambda e: self.urls.__setitem__(e["requestId"], e["request"]["url"]))
        cdp.on("Network.loadingFinished",
               lambda e: self.received.__setitem__(e["requestId"], int(e["encodedDataLength"])))
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        self.cdp = cdp

    def reset(self) -> None:
        self.urls.clear()
        self.received.clear()

    def ours(self) -> dict[str, int]:
        return {self.urls[rid]: n for rid, n in self.received.items()
                if self.urls.get(rid, "").startswith(self.base_url)}

    def total(self) -> int:
        return sum(self.ours().values())

    def summary(self) -> str:
        rows = sorted(self.ours().items(), key=lambda item: -item[1])
        return "\n".join(f"  {n:>8} {url.removeprefix(self.base_url)}" for url, n in rows)


def load(page, wire: Wire, path: str) -> int:
    """Open `path` with the cache off and wait until nothing more is loading: the bytes it took."""
    wire.reset()
    response = page.goto(path)
    assert response.status == 200, f"{path}: {response.status}"
    page.wait_for_load_state("networkidle")
    return wire.total()


def too_wide(page) -> list[str]:
    """The elements reaching past the right edge of the screen (what makes it scroll sideways)."""
    return page.evaluate("""() => {
        const width = window.innerWidth, found = [];
        for (const el of document.body.querySelectorAll('*')) {
            const box = el.getBoundingClientRect();
            if (box.width && box.right > width + 0.5 && getComputedStyle(el).position !== 'fixed')
                found.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${[...el.classList].join('.')}`
                           + ` right=${Math.round(box.right)}`);
        }
        return found.slice(0, 15);
    }""")


def assert_fits_and_is_light(page, wire: Wire, path: str, name: str) -> None:
    weight = load(page, wire, path)
    screenshot(page, f"phone-{name}", full_page=True)
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[1] == PHONE["width"], width
    assert width[0] <= width[1], f"{path} scrolls sideways at {width[1]} px: {width[0]} px wide; {too_wide(page)}"
    assert weight <= BUDGET, (f"{path} weighs {weight} bytes ({weight / 1024:.1f} KB) over the wire, "
                              f"more than {BUDGET // 1024} KB:\n{wire.summary()}")
    print(f"{name}: {weight / 1024:.1f} KB over the wire\n{wire.summary()}")


def test_engineer_on_a_phone_has_pages_that_fit_the_screen_and_weigh_at_most_300_kb(phone, live_server,
                                                                                      appointment):
    ticket_id, _number = appointment
    login(phone, ENGINEER)
    wire = Wire(phone, live_server.url)
    assert_fits_and_is_light(phone, wire, "/admin/", "home")
    assert_fits_and_is_light(phone, wire, "/admin/ticket/", "ticket-list")
    assert phone.locator("table.model-list thead").is_hidden()  # a row is a card, its cells titled
    view = phone.locator("table.model-list .list-buttons-column a.icon").first.bounding_box()
    assert view["width"] >= 40 and view["height"] >= 40, view  # the row's icon, big enough to tap
    assert_fits_and_is_light(phone, wire, f"/admin/ticket/details/?id={ticket_id}", "ticket")
    busiest = live_server.query(  # the demo engineer's ticket with the longest history: a long page
        "SELECT e.ticket_id FROM ticket_event e JOIN ticket t ON t.id = e.ticket_id JOIN user_account u"
        " ON u.id = t.assigned_engineer_id WHERE u.username = ? GROUP BY e.ticket_id ORDER BY count(*) DESC"
        " LIMIT 1", ENGINEER)[0][0]
    assert_fits_and_is_light(phone, wire, f"/admin/ticket/details/?id={busiest}", "ticket-long")


def test_engineer_on_a_phone_opens_todays_first_appointment_from_its_card(phone, live_server, appointment):
    _ticket_id, number = appointment
    login(phone, ENGINEER)
    phone.goto("/admin/")
    # the cards come first on the page: right under its title, above the figures
    assert phone.locator("main h1 + h2 + [data-testid=appointments]").count() == 1
    cards = phone.locator("[data-testid=appointments] [data-testid=appointment]")
    assert cards.filter(has_text=number).count() == 1  # ours, among the demo's of today
    first = cards.first
    call, navigate = first.locator("a[data-testid=call]"), first.locator("a[data-testid=navigate]")
    opening = first.locator("a[data-testid=appointment-open]")
    assert call.get_attribute("href").startswith("tel:")
    assert navigate.get_attribute("href").startswith("https://uri.amap.com/search?keyword=")
    for link in (call, navigate, opening):
        box = link.bounding_box()
        assert box["height"] >= 40 and box["x"] + box["width"] <= PHONE["width"], box  # a thumb's tap
    first_number = opening.inner_text().strip()
    with phone.expect_navigation():
        opening.click()
    assert "/admin/ticket/details/?id=" in phone.url
    assert phone.locator("#ticket-number").inner_text().strip() == first_number
