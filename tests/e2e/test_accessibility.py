"""Issue 18 point 6: the key pages pass axe-core with no critical and no serious violation.

axe-core is vendored from its npm package (tests/e2e/vendor/axe-core/, see its README) and
injected by Playwright into each page as the person who uses it sees it: signed in as that role,
in Chinese (the users' language) and, for a few pages, in English. A failure prints each
violation's rule, impact, help, the elements it found and where to read more.

The records the pages show are made with tests/factories.py: a dealer outlet with its dealer,
engineer, parts account and a customer whose repair is dispatched to that engineer.
"""
from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from backoffice import notifications
from models import StaffNotification
from tests import factories as f
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, SCREENSHOT_DIR, login, screenshot
from tests.e2e.test_role_journeys import seeding
from tests.signature_png import data_url

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("critical", "serious")  # the acceptance bar of issue 18
LANG = {"zh-CN": "zh-CN", "en": "en"}  # browser locale -> the <html lang> the page must carry


@pytest.fixture(scope="module")
def world(live_server):
    """Who signs in and which records the pages open (ids and usernames only)."""
    with seeding(live_server) as s:
        outlet = f.make_outlet(s)
        engineer = f.make_user(s, "engineer", outlet=outlet)
        customer = f.make_customer(s, outlet)
        unit = f.make_unit(s, customer)
        ticket = f.make_ticket(s, customer, unit=unit, status="dispatched", engineer=engineer)
        in_service = f.make_ticket(s, customer, unit=unit, status="in_service", engineer=engineer)
        resolve = {"work_done": "更换点火针，试机正常", "tested_ok": "y", "signed_by": customer.name,
                   "signature": data_url()}  # drawn on the pad
        signed = f.make_ticket(s, customer, unit=unit, status="resolved", engineer=engineer,
                               steps={"resolve": resolve})
        token = notifications.tracking_token(ticket)
        account = f.make_parts_account(s, outlet, balance="500.00")
        users = {role: f.make_user(s, role).username for role in ("admin", "manager", "clerk")}
        users.update(engineer=engineer.username, dealer=f.make_user(s, "dealer", outlet=outlet).username)
        return dict(users=users, ticket=ticket.id, customer=customer.id, phone=customer.phone, account=account.id,
                    token=token, in_service=in_service.id, signed=signed.id)


def typed_callers_phone(page, world):
    """The clerk types a known caller's phone: the callers panel shows the customer to pick."""
    page.fill("#phone", world["phone"])
    page.locator("[data-testid=callers] .caller").first.wait_for()


def sent_empty(page, world):
    """The clerk registers with nothing filled in: the form comes back with its messages, each
    tied to its field."""
    with page.expect_navigation():
        page.click("#intake-form [data-testid=register]")
    page.locator(".invalid-feedback").first.wait_for()
    fault = page.locator("#fault")  # its message is read out with it
    assert fault.get_attribute("aria-invalid") == "true"
    assert page.locator(f"#{fault.get_attribute('aria-describedby')}").inner_text().strip()


def opened_resolve(page, world):
    """The engineer opens the resolve step: its form with the signature pad, and the camera."""
    page.click("[data-step-open=resolve]")
    page.locator("form[data-step=resolve] canvas[data-signature-pad]").wait_for()


def opened_queue(page, world):
    """The manager's approvals waiting for a decision: the list with its filter box drawn."""
    page.goto(page.get_attribute("a[href*='mine_to_decide']", "href"))  # a link of the menu
    page.locator("#filter_form table.filters tr").first.wait_for()


# (test id, who signs in (None: nobody), the page, browser locale, what the person does there, marks)
PAGES = [
    ("login", None, "/login", "zh-CN", None, ()),
    ("login-en", None, "/login", "en", None, ()),
    ("home-admin", "admin", "/admin/", "zh-CN", None, ()),
    ("home-admin-en", "admin", "/admin/", "en", None, ()),
    ("home-manager", "manager", "/admin/", "zh-CN", None, ()),
    ("home-clerk", "clerk", "/admin/", "zh-CN", None, ()),
    ("home-engineer", "engineer", "/admin/", "zh-CN", None, ()),
    ("home-dealer", "dealer", "/admin/", "zh-CN", None, ()),
    ("ticket-list", "clerk", "/admin/ticket/", "zh-CN", None, ()),
    ("ticket-list-en", "admin", "/admin/ticket/", "en", None, ()),
    ("ticket-details", "clerk", "/admin/ticket/details/?id={ticket}", "zh-CN", None, ()),
    ("intake", "clerk", "/admin/intake/", "zh-CN", None, ()),
    ("intake-caller-found", "clerk", "/admin/intake/", "zh-CN", typed_callers_phone, ()),
    ("intake-refused", "clerk", "/admin/intake/", "zh-CN", sent_empty, ()),
    ("approvals", "manager", "/admin/approval/", "zh-CN", None, ()),
    ("approvals-filtered", "manager", "/admin/approval/", "zh-CN", opened_queue, ()),
    ("parts-statement", "manager", "/admin/parts_account/details/?id={account}", "zh-CN", None, ()),
    ("ticket-resolve-step", "engineer", "/admin/ticket/details/?id={in_service}", "zh-CN", opened_resolve, ()),
    ("service-report-print", "engineer", "/admin/ticket/service_report/?id={signed}", "zh-CN", None, ()),
    ("customer-list-searched", "clerk", "/admin/customer/?search={phone}", "zh-CN", None, ()),
    ("customer-edit", "clerk", "/admin/customer/edit/?id={customer}", "zh-CN", None, ()),
    ("customer-edit-en", "admin", "/admin/customer/edit/?id={customer}", "en", None, ()),
    ("report", None, "/report", "zh-CN", None, ()),
    ("track", None, "/track", "zh-CN", None, ()),
    ("tracking-link", None, "/t/{token}", "zh-CN", None, ()),
]


def run_axe(page) -> list[dict]:
    """axe-core over the whole document: its violations (every impact)."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate("() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)")


def keep(page, name: str, violations: list[dict]) -> None:
    """With E2E_SCREENSHOTS set: the page's screenshot and axe's full answer beside it."""
    screenshot(page, f"a11y-{name}", full_page=True)
    if SCREENSHOT_DIR:
        (Path(SCREENSHOT_DIR) / f"a11y-{name}.json").write_text(json.dumps(violations, indent=1))


def summary(url: str, violations: list[dict]) -> str:
    lines = [f"{url}: {len(violations)} rule(s) violated"]
    for v in violations:
        lines.append(f"- {v['id']} [{v['impact']}] {v['help']} ({len(v['nodes'])} element(s)) {v['helpUrl']}")
        for node in v["nodes"][:8]:
            lines.append(f"    {' > '.join(map(str, node['target']))}: {node.get('failureSummary', '')!r}"[:400])
        if len(v["nodes"]) > 8:
            lines.append(f"    ... and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


@pytest.mark.parametrize(("who", "path", "locale", "action"), [
    pytest.param(who, path, locale, action, id=name, marks=marks) for name, who, path, locale, action, marks in PAGES])
def test_the_page_has_no_critical_or_serious_accessibility_violation(browser, live_server, world, who, path,
                                                                     locale, action, request):
    context = browser.new_context(locale=locale, base_url=live_server.url, bypass_csp=True,  # the injected axe
                                  viewport={"width": 1366, "height": 900}, timezone_id="Asia/Shanghai")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = context.new_page()
        if who:
            login(page, world["users"][who])
        url = path.format(**world)
        response = page.goto(url)
        assert response.status == 200, f"{url}: {response.status}"
        if action:
            action(page, world)
        page.wait_for_load_state("networkidle")
        assert page.get_attribute("html", "lang") == LANG[locale]
        violations = run_axe(page)
        keep(page, request.node.callspec.id, violations)
        print(summary(url, violations))
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        assert not blocking, summary(url, blocking)
        # axe asks for these only as "moderate"; issue 18 asks for them outright.
        assert page.locator("main").count() == 1, f"{url}: {page.locator('main').count()} <main>"
        headings = page.locator("h1").all_inner_texts()
        assert len(headings) == 1, f"{url}: <h1> {headings}"
    finally:
        context.close()


def test_the_english_menu_fits_on_one_line_at_1366px(browser, live_server):
    """Issue 18 point 7: an administrator (who sees every menu) in English, on a 1366 px laptop,
    with a long name and a two-digit count of unread notifications: the brand, every menu, the
    user box, the language buttons and Sign out on one line."""
    with seeding(live_server) as s:
        admin = f.make_user(s, "admin", full_name="欧阳诸葛慕容司马")
        s.add_all(StaffNotification(user_id=admin.id, dedupe_key=f"a11y:{admin.id}:{n}",
                                    kind=next(iter(notifications.STAFF_TEXTS))) for n in range(12))
    context = browser.new_context(locale="en", base_url=live_server.url, viewport={"width": 1366, "height": 900},
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = context.new_page()
        login(page, admin.username)
        page.goto("/admin/")
        assert page.get_by_test_id("unread-count").inner_text() == "12"
        bar = page.locator("nav.navbar")
        screenshot(page, "navbar-admin-en-1366")
        items = page.locator("#admin-navbar-collapse .navbar-brand, #admin-navbar-collapse .navbar-nav > li, "
                             "#admin-navbar-collapse [data-testid=current-user], "
                             "#admin-navbar-collapse button[type=submit]")
        boxes = [box for box in (items.nth(i).bounding_box() for i in range(items.count())) if box]
        middles = {round(box["y"] + box["height"] / 2) for box in boxes}
        assert max(middles) - min(middles) <= 4, f"the menu wraps: item middles at {sorted(middles)}"
        boxes.sort(key=lambda box: box["x"])
        overlaps = [(a, b) for a, b in pairwise(boxes) if a["x"] + a["width"] > b["x"] + 1]
        assert not overlaps and boxes[-1]["x"] + boxes[-1]["width"] <= 1366, overlaps or boxes[-1]
        assert bar.bounding_box()["height"] < 60, bar.bounding_box()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 1366
    finally:
        context.close()
