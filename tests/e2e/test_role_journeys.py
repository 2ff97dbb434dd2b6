"""One journey per role that ends by reading back what was saved: a role
that cannot finish its own day fails here.

Clerk: a new caller, a repeat caller, a complaint answered on its ticket, a consultation
answered at intake. Dealer: a walk-in registered, diagnosed, dispatched to its own engineer and
resolved, then an exchange requested. Engineer: a dispatched on-site ticket resolved with a part
and a signature. Manager: a refund approved, the old unit taken back, the refund paid and found
among the money postings.

Every person and record a journey needs is made with tests/factories.py and committed into the
live server's database before the browser starts; nothing depends on what another test left.
Any response >= 500 fails the journey (every page of every person is watched). Statuses are
read through their Chinese labels; brand-new labels that may not be translated yet are accepted
in either language (the compiled catalog decides what the page shows).
"""
from __future__ import annotations

import gettext
import re
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from backoffice import approvals, workflow
from backoffice.timezones import local_today
from models import db
from tests import factories as f
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, login, screenshot
from views.fields import masked_phone

CATALOG = (Path(__file__).resolve().parents[2] / "backoffice" / "translations" / "zh_Hans_CN"
           / "LC_MESSAGES" / "messages.mo")
SEARCH_BOX = "form[role=search] input[name=search]"
ROWS = "table.model-list tbody tr"
FLASH_SUCCESS = ".alert-success"
TICKET_NUMBER = re.compile(r"SV\d{8}-\d{4}")

REGISTERED, DIAGNOSED, RESOLVED, PENDING = "已登记", "已诊断", "已解决", "待审批"


def _catalog():
    if CATALOG.exists():
        with CATALOG.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    return gettext.NullTranslations()


ZH = _catalog()


def shown(msgid: str, **params) -> tuple[str, ...]:
    """What the page may show for a label: its Chinese (if the catalog has it) or the English."""
    texts = {ZH.gettext(msgid), msgid}
    return tuple(t % params if params else t for t in texts)


def assert_shows(text: str, msgid: str, **params) -> None:
    options = shown(msgid, **params)
    assert any(option in text for option in options), f"none of {options} in: {text[:600]}"


# --- the people at their browsers ----------------------------------------------------------
class Person:
    """One person at their own browser, signed in; every response >= 500 is recorded."""

    def __init__(self, browser, live_server, username: str, shots: Path):
        self.username, self.shots = username, shots
        self.context = browser.new_context(locale="zh-CN", base_url=live_server.url,
                                           viewport={"width": 1366, "height": 900},
                                           timezone_id="Asia/Shanghai")
        self.context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        self.server_errors: list[str] = []
        self.context.on("response", self._watch)
        self.page = self.context.new_page()
        login(self.page, username)
        self.check()

    def _watch(self, response) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.request.method} {response.url}")

    def check(self) -> None:
        """Fail at once on a server error, with the page's text and a screenshot."""
        if self.server_errors:
            path = self.snapshot("server-error")
            text = self.page.locator("body").inner_text()[:800] if not self.page.is_closed() else ""
            pytest.fail(f"{self.username}: server error(s) {self.server_errors}; screenshot {path}; "
                        f"page: {text}")

    def snapshot(self, name: str) -> Path | None:
        path = self.shots / f"{self.username}-{name}.png"
        try:
            self.page.screenshot(path=str(path), full_page=True)
        except Exception:
            return None
        return path

    def goto(self, url: str):
        response = self.page.goto(url)
        self.check()
        return response

    def submit(self, button) -> None:
        """Click a submit button and wait for the page it leads to."""
        with self.page.expect_navigation():
            button.click()
        self.check()

    def search(self, text: str) -> None:
        self.page.fill(SEARCH_BOX, text)
        with self.page.expect_navigation():
            self.page.press(SEARCH_BOX, "Enter")
        self.check()

    def flash_ok(self) -> None:
        page = self.page
        if page.locator(FLASH_SUCCESS).count() == 0:
            path = self.snapshot("no-success")
            pytest.fail(f"{self.username}: no success message on {page.url}; screenshot {path}; "
                        f"messages: {page.locator('.alert, .invalid-feedback').all_inner_texts()}")

    # -- ticket page ------------------------------------------------------------------------
    def open_ticket(self, ticket_id: int) -> None:
        self.goto(f"/admin/ticket/details/?id={ticket_id}")

    def step_form(self, name: str):
        return self.page.locator(f"form.workflow-step[data-step={name}]")

    def take_step(self, name: str, fields: dict | None = None, checks: tuple = ()) -> None:
        """Fill one workflow step's small form on the ticket page and submit it."""
        form = self.step_form(name)
        if form.count() == 0:
            path = self.snapshot(f"no-step-{name}")
            offered = self.page.locator("form.workflow-step").evaluate_all(
                "fs => fs.map(f => f.dataset.step)")
            pytest.fail(f"{self.username}: step {name!r} not offered on {self.page.url} "
                        f"(offered: {offered}); screenshot {path}")
        if form.is_hidden():  # its button opens it (static/js/ticket_page.js)
            self.page.locator(f"[data-step-open={name}]").click()
        for field, value in (fields or {}).items():
            control = form.locator(f"[name={field}]").first
            if control.evaluate("e => e.tagName") == "SELECT":
                control.select_option(str(value))
            else:
                control.fill(str(value))
        for field in checks:
            form.locator(f"input[name={field}]").check()
        self.submit(form.locator("button[type=submit]"))
        self.flash_ok()

    def details_text(self) -> str:
        """The ticket's own fields (number, status …) as shown at the top of its page."""
        return self.page.get_by_test_id("ticket-header").inner_text()

    def sla_row(self, clock_msgid: str):
        names = shown(clock_msgid)
        rows = self.page.get_by_test_id("sla-clocks").locator("tr")
        for name in names:
            row = rows.filter(has=self.page.locator("td", has_text=name))
            if row.count():
                return row.first
        pytest.fail(f"no SLA row {names}: {self.page.get_by_test_id('sla-clocks').inner_text()}")

    def assert_clocks_stopped(self) -> None:
        """A resolved ticket's page shows no SLA clock still ticking: once resolved, the clocks it
        did not meet no longer run (backoffice.sla.FINISHED; the list's badge says the same)."""
        rows = self.page.get_by_test_id("sla-clocks").locator("tr:has(.sla-badge)").evaluate_all(
            "rs => rs.map(r => [r.innerText.replace(/\\s+/g, ' ').trim(), r.querySelector('.sla-badge').className])")
        assert rows, "no SLA clocks on the page"
        ticking = [text for text, css in rows if re.search(r"\bsla-(running|due_soon)\b", css)]
        if ticking:
            path = self.snapshot("clocks-still-running")
            pytest.fail(f"resolved ticket {self.page.url} shows SLA clocks still running: {ticking} "
                        f"(all clocks: {rows}); screenshot {path}")

    # -- intake screen ----------------------------------------------------------------------
    def type_phone(self, phone: str) -> None:
        """The caller dictates the number; the callers panel follows while it is typed."""
        self.page.locator("#phone").press_sequentially(phone, delay=20)

    def receipt(self) -> str:
        number = self.page.get_by_test_id("receipt-number")
        if number.count() == 0:
            path = self.snapshot("no-receipt")
            pytest.fail(f"{self.username}: no receipt on {self.page.url}; screenshot {path}; errors: "
                        f"{self.page.locator('.alert, .invalid-feedback').all_inner_texts()}")
        text = number.inner_text().strip()
        assert TICKET_NUMBER.fullmatch(text), text
        return text

    def list_row(self, number: str):
        """The ticket list's row of ticket `number` (after a search)."""
        return self.page.locator(ROWS).filter(has=self.page.locator("td.col-number", has_text=number))


@pytest.fixture
def people(browser, live_server, tmp_path):
    """people('clerk-t001') -> a Person signed in; contexts are closed and a screenshot of each
    person's last page is kept under tmp_path (also when the journey failed)."""
    made: list[Person] = []

    def _person(username: str) -> Person:
        person = Person(browser, live_server, username, tmp_path)
        made.append(person)
        return person

    yield _person
    for person in made:
        person.snapshot("last")
        person.context.close()
    print(f"\nscreenshots: {tmp_path}")


def no_server_errors(*persons: Person) -> None:
    for person in persons:
        person.check()


# --- records in the live server's database -------------------------------------------------
@contextmanager
def seeding(live_server):
    """A plain ORM session on the live server's database (no request: unscoped, like a job);
    committed when the block ends, before the browser acts."""
    with live_server.app.app_context():
        engine = db.engine
    with Session(bind=engine, expire_on_commit=False) as session:
        yield session
        session.commit()


def fresh_phone(live_server) -> str:
    """A mobile number nobody in the archive has."""
    while True:
        phone = "135" + str(uuid.uuid4().int)[:8]
        if not live_server.query("SELECT 1 FROM customer WHERE phone = ? OR phone2 = ?", phone, phone):
            return phone


def link_to(endpoint: str, record_id: int) -> str:
    """A CSS selector for links to one record's page (``?id=5`` must not match ``?id=50``)."""
    base = f"/admin/{endpoint}/details/?id={record_id}"
    return f"a[href$='{base}'], a[href*='{base}&']"


def serial() -> str:
    return "E2E" + uuid.uuid4().hex[:10].upper()


def local_input(moment: datetime) -> str:
    """A value for <input type=datetime-local> (the browser runs in Shanghai time)."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def tomorrow_at(hour: int) -> str:
    return f"{local_today() + timedelta(days=1):%Y-%m-%d}T{hour:02d}:00"


def ticket_row(live_server, number: str):
    rows = live_server.query("SELECT id, status, customer_id, unit_id, kind, channel, outlet_id "
                             "FROM ticket WHERE number = ?", number)
    assert len(rows) == 1, rows
    return rows[0]


# --- 1. clerk ------------------------------------------------------------------------------
def test_clerk_registers_a_new_caller_by_phone_and_finds_the_ticket_in_the_list(people, live_server):
    with seeding(live_server) as s:
        clerk = f.make_user(s, "clerk")
        outlet = f.make_outlet(s)
        model = f.product_model(s, "JSQ30-16B")
        names = {"clerk": clerk.username, "outlet_id": outlet.id, "outlet_name": outlet.name,
                 "model_code": model.code}
    phone, unit_serial = fresh_phone(live_server), serial()
    name, address = "邝志远", "广州市白云区新市街机场路88号3栋502房"
    invoice_date = local_today() - timedelta(days=40)
    fault = f"热水器开机后点不着火，有咔咔声 {unit_serial[-4:]}"

    clerk = people(names["clerk"])
    page = clerk.page
    clerk.goto("/admin/intake/")
    clerk.type_phone(phone)
    page.get_by_test_id("callers").locator(".alert-info").wait_for()  # nobody with this phone yet
    page.check("input[name=customer_id][value='']")
    page.fill("input[name='customer.name']", name)
    page.select_option("select[name='customer.area']", "urban")
    page.fill("input[name='customer.address']", address)
    page.fill("input[name='customer.region']", "广州市白云区")
    page.select_option("select[name='unit.model_code']", names["model_code"])
    page.fill("input[name='unit.serial']", unit_serial)
    page.fill("input[name='unit.invoice_date']", f"{invoice_date:%Y-%m-%d}")
    page.fill("input[name='unit.price']", "2899.00")
    page.select_option("select[name='unit.purchase_channel']", "store")
    page.select_option("#kind", "repair")
    page.select_option("#category", "quality")
    page.select_option("#channel", "hotline")
    page.fill("#fault", fault)
    page.select_option("#outlet_id", str(names["outlet_id"]))
    clerk.submit(page.locator("#intake-form [data-testid=register]"))

    number = clerk.receipt()
    receipt = page.get_by_test_id("receipt").inner_text()
    assert name in receipt and phone in receipt and unit_serial in receipt, receipt
    promised = page.get_by_test_id("promised-response").inner_text().strip()
    ticket_id, status, customer_id, unit_id, kind, channel, outlet_id = ticket_row(live_server, number)
    due = live_server.query("SELECT due_at FROM ticket_clock WHERE ticket_id = ? AND clock = 'response'",
                            ticket_id)[0][0]
    due_local = datetime.fromisoformat(due[:19]) + timedelta(hours=8)
    assert due_local.strftime("%Y-%m-%d %H:%M") == promised, (promised, due)
    screenshot(page, "role-clerk-new-caller-receipt")

    # What was saved: the customer, the unit with its purchase data, the ticket.
    assert (status, kind, channel, outlet_id) == ("registered", "repair", "hotline", names["outlet_id"])
    assert live_server.query("SELECT name, phone, area, address FROM customer WHERE id = ?", customer_id) == [
        (name, phone, "urban", address)]
    assert live_server.query("SELECT serial, invoice_date, price, purchase_channel, customer_id FROM unit "
                             "WHERE id = ?", unit_id) == [
        (unit_serial, f"{invoice_date:%Y-%m-%d}", 2899, "store", customer_id)]

    clerk.goto("/admin/ticket/")  # the clerk's list, searched by the caller's phone
    clerk.search(phone)
    row = clerk.list_row(number)
    assert row.count() == 1, page.locator(ROWS).all_inner_texts()
    assert row.locator("td.col-status").inner_text().strip() == REGISTERED
    assert row.locator("td.col-contact_phone").inner_text().strip() == masked_phone(phone)  # whole on its page
    badge = row.locator("td.col-sla .sla-badge")
    assert badge.count() == 1, row.inner_text()
    assert_shows(badge.inner_text(), "First response")
    assert "sla-breached" not in badge.get_attribute("class")
    screenshot(page, "role-clerk-new-caller-list")
    no_server_errors(clerk)


def caller_with_open_ticket(live_server) -> dict:
    """A clerk, and a customer of a fresh outlet with a unit and an open ticket on it."""
    with seeding(live_server) as s:
        clerk = f.make_user(s, "clerk")
        customer = f.make_customer(s, f.make_outlet(s))
        unit = f.make_unit(s, customer)
        ticket = f.make_ticket(s, customer, unit=unit, actor=clerk)
        return {"clerk": clerk.username, "phone": customer.phone, "name": customer.name, "serial": unit.serial,
                "number": ticket.number, "ticket_id": ticket.id, "customer_id": customer.id}


def test_clerk_adds_a_repeat_callers_words_to_the_open_ticket(people, live_server):
    names = caller_with_open_ticket(live_server)
    words = f"用户再次来电：今天早上又打不着火了，家里老人等着用热水 {uuid.uuid4().hex[:4]}"

    clerk = people(names["clerk"])
    page = clerk.page
    clerk.goto("/admin/intake/")
    clerk.type_phone(names["phone"])
    caller = page.get_by_test_id("callers").locator(".caller", has_text=names["name"])
    caller.wait_for()  # found while typing, without leaving the page
    assert "/admin/intake" in page.url and names["phone"] in caller.inner_text()
    assert names["serial"] in caller.inner_text()
    assert caller.locator(f"a:text-is('{names['number']}')").count() == 1  # the open ticket
    add = caller.get_by_test_id("add-to-ticket")
    assert add.count() == 1
    assert_shows(add.inner_text(), "Add to ticket %(number)s", number=names["number"])
    screenshot(page, "role-clerk-repeat-caller")
    page.fill("#fault", words)
    clerk.submit(add)

    clerk.flash_ok()
    assert f"/admin/ticket/details/?id={names['ticket_id']}" in page.url, page.url
    assert words in page.get_by_test_id("timeline").inner_text()
    assert names["number"] in clerk.details_text()
    # No second ticket for this customer: the words went on the open one.
    assert live_server.query("SELECT count(*) FROM ticket WHERE customer_id = ?", names["customer_id"]) == [(1,)]
    clerk.goto("/admin/ticket/")
    clerk.search(names["phone"])
    assert [t.strip() for t in page.locator(f"{ROWS} td.col-number").all_inner_texts()] == [names["number"]]
    no_server_errors(clerk)


def test_enter_in_the_intake_form_registers_and_never_adds_to_the_open_ticket(people, live_server):
    """The callers panel holds "add to ticket" buttons; Enter must still mean "register"."""
    names = caller_with_open_ticket(live_server)
    clerk = people(names["clerk"])
    page = clerk.page
    clerk.goto("/admin/intake/")
    clerk.type_phone(names["phone"])
    page.get_by_test_id("callers").get_by_test_id("add-to-ticket").wait_for()
    page.fill("#fault", "另一台油烟机也不转了")
    with page.expect_navigation():
        page.press("#phone", "Enter")
    clerk.check()
    number = clerk.receipt()
    assert number != names["number"]
    assert live_server.query("SELECT count(*) FROM ticket WHERE customer_id = ?", names["customer_id"]) == [(2,)]
    no_server_errors(clerk)


def register_known_caller(clerk: Person, live_server, names: dict, kind: str, fault: str) -> str:
    """At the intake screen: the known caller's phone, their unit, the kind and what they say."""
    page = clerk.page
    clerk.goto("/admin/intake/")
    clerk.type_phone(names["phone"])
    caller = page.get_by_test_id("callers").locator(".caller", has_text=names["name"])
    caller.wait_for()
    assert caller.locator(f"input[name=customer_id][value='{names['customer_id']}']").is_checked()
    caller.locator(f"input[name=unit_id][value='{names['unit_id']}']").check()
    page.select_option("#kind", kind)
    page.select_option("#channel", "hotline")
    page.fill("#fault", fault)
    page.select_option("#outlet_id", str(names["outlet_id"]))
    clerk.submit(page.locator("#intake-form [data-testid=register]"))
    number = clerk.receipt()
    ticket_id, status, customer_id, unit_id, saved_kind, _channel, _outlet = ticket_row(live_server, number)
    assert (status, customer_id, unit_id, saved_kind) == ("registered", names["customer_id"], names["unit_id"], kind)
    clerk.submit(page.locator(link_to("ticket", ticket_id)).first)  # "Open the ticket"
    assert number in clerk.details_text()
    return number


def known_caller(s) -> dict:
    clerk = f.make_user(s, "clerk")
    outlet = f.make_outlet(s)
    customer = f.make_customer(s, outlet)
    unit = f.make_unit(s, customer)
    return {"clerk": clerk.username, "phone": customer.phone, "name": customer.name, "customer_id": customer.id,
            "unit_id": unit.id, "outlet_id": outlet.id}


def test_clerk_registers_a_complaint_and_answers_it_on_the_ticket(people, live_server):
    with seeding(live_server) as s:
        names = known_caller(s)
    facts = "核实：师傅上门迟到两小时且未提前电话告知"
    promise = "网点负责人当面致歉，并赠送一次免费清洗保养"
    promised_at = tomorrow_at(18)

    clerk = people(names["clerk"])
    page = clerk.page
    number = register_known_caller(clerk, live_server, names, "complaint", "投诉上门师傅迟到两小时，态度差")
    assert REGISTERED in clerk.details_text()
    clerk.take_step("investigate", {"complaint_class": "service_quality", "investigation": facts,
                                    "promised_result": promise, "promised_at": promised_at})

    assert DIAGNOSED in clerk.details_text()
    complaint = page.get_by_test_id("complaint").inner_text()
    assert facts in complaint and promise in complaint and promised_at.replace("T", " ") in complaint
    answered = clerk.sla_row("Complaint answered")
    badge = answered.locator(".sla-badge")
    assert "sla-met" in badge.get_attribute("class"), answered.inner_text()
    assert_shows(badge.inner_text(), "met")
    screenshot(page, "role-clerk-complaint-answered", full_page=True)
    ticket_id = ticket_row(live_server, number)[0]
    assert live_server.query("SELECT status FROM ticket WHERE id = ?", ticket_id) == [("diagnosed",)]
    assert live_server.query("SELECT met_at IS NOT NULL AND met_at <= due_at FROM ticket_clock "
                             "WHERE ticket_id = ? AND clock = 'answer'", ticket_id) == [(1,)]
    no_server_errors(clerk)


def test_clerk_answers_a_consultation_at_intake(people, live_server):
    with seeding(live_server) as s:
        names = known_caller(s)
    answer = "已电话指导用户打开进水阀并更换电池，试机正常"

    clerk = people(names["clerk"])
    page = clerk.page
    number = register_known_caller(clerk, live_server, names, "consultation", "咨询：冬天出水温度不够高怎么调")
    clerk.take_step("answer_at_intake", {"note": answer})

    assert RESOLVED in clerk.details_text()
    assert answer in page.get_by_test_id("timeline").inner_text()
    response = clerk.sla_row("First response")
    badge = response.locator(".sla-badge")
    assert "sla-met" in badge.get_attribute("class"), response.inner_text()
    assert "sla-breached" not in badge.get_attribute("class")
    assert_shows(badge.inner_text(), "met")
    clerk.assert_clocks_stopped()
    screenshot(page, "role-clerk-consultation-answered", full_page=True)
    ticket_id = ticket_row(live_server, number)[0]
    assert live_server.query("SELECT status FROM ticket WHERE id = ?", ticket_id) == [("resolved",)]
    assert live_server.query("SELECT met_at IS NOT NULL AND met_at <= due_at FROM ticket_clock "
                             "WHERE ticket_id = ? AND clock = 'response'", ticket_id) == [(1,)]
    no_server_errors(clerk)


# --- 2. dealer -----------------------------------------------------------------------------
def test_dealer_registers_a_walk_in_dispatches_its_own_engineer_and_requests_an_exchange(
        people, live_server):
    with seeding(live_server) as s:
        outlet = f.make_outlet(s)
        dealer = f.make_user(s, "dealer", outlet=outlet)
        engineer = f.make_user(s, "engineer", outlet=outlet)
        # A second ticket: a heater bought 3 days ago (三包), its model in stock at the center.
        model = f.make_product_model(s)
        f.make_stock(s, f.outlet(s, "SC-GZ"), model, qty=3)
        customer = f.make_customer(s, outlet)
        unit = f.make_unit(s, customer, model_code=model.code, invoice_date=local_today() - timedelta(days=3),
                           price=Decimal("3299.00"))
        fresh = f.make_ticket(s, customer, unit=unit, actor=dealer)
        names = {"dealer": dealer.username, "engineer": engineer.username, "engineer_id": engineer.id,
                 "engineer_name": engineer.full_name, "outlet_id": outlet.id, "outlet_name": outlet.name,
                 "exchange_ticket": fresh.id, "exchange_number": fresh.number, "model_id": model.id}
    others = [i for (i,) in live_server.query(  # the center's and the other outlets' engineers
        "SELECT id FROM user_account WHERE role = 'engineer' AND active "
        "AND (outlet_id IS NULL OR outlet_id != ?)", names["outlet_id"])]
    assert others  # there are engineers the dealer must not be offered
    phone, unit_serial = fresh_phone(live_server), serial()
    name = "霍嘉欣"
    work = "更换点火针，清理燃烧器积碳，试机正常"

    dealer = people(names["dealer"])
    page = dealer.page
    dealer.goto("/admin/intake/")  # the customer walks into the shop
    dealer.type_phone(phone)
    page.get_by_test_id("callers").locator(".alert-info").wait_for()
    page.check("input[name=customer_id][value='']")
    page.fill("input[name='customer.name']", name)
    page.select_option("select[name='customer.area']", "urban")
    page.fill("input[name='customer.address']", "佛山市南海区桂城街道南海大道北66号")
    page.select_option("select[name='unit.model_code']", "JSQ30-16B")
    page.fill("input[name='unit.serial']", unit_serial)
    page.fill("input[name='unit.invoice_date']", f"{local_today() - timedelta(days=90):%Y-%m-%d}")
    page.fill("input[name='unit.price']", "2599")
    page.select_option("select[name='unit.purchase_channel']", "dealer")
    page.select_option("#kind", "repair")
    page.select_option("#channel", "walk_in")
    page.fill("#fault", "热水器打火后三秒熄火，显示E1")
    outlet_options = page.locator("#outlet_id option").evaluate_all("os => os.map(o => o.value)")
    assert outlet_options == [str(names["outlet_id"])], outlet_options  # its own outlet only
    dealer.submit(page.locator("#intake-form [data-testid=register]"))
    number = dealer.receipt()
    ticket_id, status, *_rest, channel, outlet_id = ticket_row(live_server, number)
    assert (status, channel, outlet_id) == ("registered", "walk_in", names["outlet_id"])

    dealer.goto("/admin/ticket/")  # in its own list
    dealer.search(phone)
    row = dealer.list_row(number)
    assert row.count() == 1 and row.locator("td.col-status").inner_text().strip() == REGISTERED

    dealer.open_ticket(ticket_id)  # diagnosed on site, proposed, agreed, dispatched
    dealer.take_step("diagnose", {"service_mode": "onsite", "severity": "minor",
                                  "note": "点火针积碳，需上门更换"})
    dealer.take_step("propose", {"note": "保修期内免费更换点火针"})
    dealer.take_step("agree", {"note": "客户同意明天上午上门"})
    choices = dealer.step_form("dispatch").locator("select[name=engineer] option").evaluate_all(
        "os => os.filter(o => o.value).map(o => [o.value, o.textContent.trim()])")
    assert [int(v) for v, _t in choices] == [names["engineer_id"]], choices  # none of `others`
    assert names["engineer_name"] in choices[0][1] and names["outlet_name"] in choices[0][1], choices
    dealer.take_step("dispatch", {"engineer": names["engineer_id"], "appointment_at": tomorrow_at(10)})
    assert live_server.query("SELECT status, assigned_engineer_id FROM ticket WHERE id = ?", ticket_id) == [
        ("dispatched", names["engineer_id"])]

    engineer = people(names["engineer"])  # on site
    engineer.open_ticket(ticket_id)
    engineer.take_step("start_service")
    engineer.take_step("resolve", {"work_done": work, "signed_by": "霍嘉欣（本人）"}, checks=("tested_ok",))
    assert work in engineer.page.get_by_test_id("service-report").inner_text()
    assert RESOLVED in engineer.details_text()
    engineer.assert_clocks_stopped()

    dealer.goto("/admin/ticket/")  # resolved, in the dealer's list
    dealer.search(phone)
    assert dealer.list_row(number).locator("td.col-status").inner_text().strip() == RESOLVED

    dealer.open_ticket(names["exchange_ticket"])  # the 3-day-old heater: an exchange
    form = page.get_by_test_id("approval-request")
    form.locator("select[name=kind]").select_option("exchange")
    form.locator("select[name=grounds]").select_option("sanbao_window")
    form.locator("textarea[name=reason]").fill("购买第三天热交换器漏水，三包期内申请同型号换机")
    dealer.submit(form.locator("button[type=submit]"))
    dealer.flash_ok()
    assert "/admin/approval/details" in page.url, page.locator(".invalid-feedback").all_inner_texts()
    request_id = int(re.search(r"id=(\d+)", page.url).group(1))
    assert live_server.query("SELECT kind, status, target_model_id, requested_by_id FROM approval_request "
                             "WHERE id = ?", request_id)[0][:3] == ("exchange", "pending", names["model_id"])

    dealer.goto("/admin/approval/")  # pending, in the dealer's approvals list
    row = page.locator(ROWS).filter(has=page.locator(link_to("approval", request_id)))
    assert row.count() == 1, page.locator(ROWS).all_inner_texts()
    assert names["exchange_number"] in row.inner_text()
    assert row.locator("td.col-status").inner_text().strip() == PENDING
    screenshot(page, "role-dealer-exchange-pending")
    no_server_errors(dealer, engineer)


# --- 3. engineer ---------------------------------------------------------------------------
def test_engineer_resolves_a_ticket_dispatched_to_them_with_a_part_and_a_signature(people, live_server):
    with seeding(live_server) as s:
        clerk = f.make_user(s, "clerk")
        engineer = f.make_user(s, "engineer")  # the service center's (no outlet)
        customer = f.make_customer(s, f.make_outlet(s))
        ticket = f.make_ticket(s, customer, unit=f.make_unit(s, customer), actor=clerk)
        for step, data in (("diagnose", {"service_mode": "onsite", "severity": "major",
                                         "note": "比例阀故障，需上门更换"}),
                           ("propose", {"note": "保修期内免费更换比例阀"}),
                           ("agree", {"note": "客户同意"}),
                           ("dispatch", {"engineer": str(engineer.id), "appointment_at": tomorrow_at(9)})):
            workflow.perform(s, ticket, step, clerk, data)
        s.flush()
        names = {"engineer": engineer.username, "ticket_id": ticket.id, "number": ticket.number}
    assert live_server.query("SELECT status FROM ticket WHERE id = ?", names["ticket_id"]) == [("dispatched",)]
    work = "更换比例阀，调整二次压力，试机出水恒温"

    engineer = people(names["engineer"])
    page = engineer.page
    label = re.compile("|".join(re.escape(text) for text in shown("My tickets")))
    mine = page.locator("nav a.dropdown-item", has_text=label).first
    page.locator("nav li.dropdown", has=page.locator("a.dropdown-item", has_text=label)).locator(
        "a.dropdown-toggle").first.click()  # the "Service" menu
    engineer.submit(mine)
    row = engineer.list_row(names["number"])
    assert row.count() == 1, page.locator(ROWS).all_inner_texts()
    engineer.submit(row.locator("a[href*='/admin/ticket/details/']").first)

    engineer.take_step("start_service", {"note": "已到达用户家"})
    parts = engineer.step_form("resolve").locator("select[name=part_id]").first.locator("option").evaluate_all(
        "os => os.filter(o => o.value).map(o => [o.value, o.textContent.trim()])")
    assert parts, "the parts select offers no parts"
    part_id, part_text = parts[0]
    engineer.take_step("resolve", {"work_done": work, "part_id": part_id, "signed_by": "用户本人签字"},
                       checks=("tested_ok",))

    assert RESOLVED in engineer.details_text()
    report = page.get_by_test_id("service-report").inner_text()
    assert work in report and "用户本人签字" in report and part_text in report, (report, part_text)
    engineer.assert_clocks_stopped()
    screenshot(page, "role-engineer-resolved", full_page=True)
    assert live_server.query("SELECT part_id, qty FROM replaced_part WHERE ticket_id = ?",
                             names["ticket_id"]) == [(int(part_id), 1)]
    assert live_server.query("SELECT status FROM ticket WHERE id = ?", names["ticket_id"]) == [("resolved",)]
    no_server_errors(engineer)


# --- 4. manager ----------------------------------------------------------------------------
def test_manager_approves_a_refund_takes_the_unit_back_pays_it_and_finds_the_posting(people, live_server):
    with seeding(live_server) as s:
        clerk = f.make_user(s, "clerk")
        manager = f.make_user(s, "manager")
        customer = f.make_customer(s, f.make_outlet(s))
        unit = f.make_unit(s, customer, invoice_date=local_today() - timedelta(days=3), price=Decimal("1899.00"))
        ticket = f.make_ticket(s, customer, unit=unit, actor=clerk)
        request = approvals.submit(s, ticket, clerk, approvals.Draft(
            kind="return_refund", grounds="sanbao_window", amount=Decimal("1899.00"),
            reason="购买第三天即漏水，用户要求退货退款"))
        s.flush()
        names = {"manager": manager.username, "ticket_id": ticket.id, "number": ticket.number, "request_id": request.id,
                 "customer": customer.name}
    reference = f"WX{datetime.now():%Y%m%d}{uuid.uuid4().hex[:8].upper()}"
    note = "三包期内质量问题，同意全额退款"

    manager = people(names["manager"])
    page = manager.page
    manager.goto("/admin/approval/")  # the queue
    manager.submit(page.locator("table.model-list").locator(link_to("approval", names["request_id"])).first)
    decide = page.get_by_test_id("decide")
    decide.locator("textarea[name=note]").fill(note)
    manager.submit(decide.locator("button[name=decision][value=approve]"))
    manager.flash_ok()
    assert live_server.query("SELECT status FROM approval_request WHERE id = ?", names["request_id"]) == [
        ("approved",)]

    manager.open_ticket(names["ticket_id"])
    assert_shows(manager.details_text(), "Return / exchange under way")
    path = page.get_by_test_id("return-path")
    assert path.is_visible()
    assert "1,899.00" in path.inner_text()
    manager.take_step("take_back_unit", {"old_unit_how": "hand_in", "note": "用户送回门店"})
    assert_shows(page.get_by_test_id("return-path").inner_text(), "Handed in by the customer")
    manager.take_step("pay_refund", {"payment_ref": reference})

    assert RESOLVED in manager.details_text()
    assert reference in page.get_by_test_id("return-path").inner_text()
    screenshot(page, "role-manager-refund-paid", full_page=True)
    assert live_server.query("SELECT status FROM ticket WHERE id = ?", names["ticket_id"]) == [("resolved",)]

    manager.goto("/admin/money_posting/")  # the money postings list the paid refund
    manager.search(reference)
    rows = page.locator(ROWS)
    assert rows.count() == 1, rows.all_inner_texts()
    text = rows.first.inner_text()
    assert reference in text and names["number"] in text and "1,899.00" in text and names["customer"] in text, text
    assert rows.first.locator("td.col-paid_at").inner_text().strip(), text  # paid, with its time

    # Last: the resolved refund's SLA clocks. It never needed a technician, so its dispatch and
    # on-site clocks were never met; resolved, they must not read as still running.
    manager.open_ticket(names["ticket_id"])
    manager.assert_clocks_stopped()
    no_server_errors(manager)
