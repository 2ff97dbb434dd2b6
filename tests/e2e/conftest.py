"""Browser suite: the real app served over HTTP, driven through Debian's Chromium by Playwright.

One live server per session, on a copy of the demo database (tests add records to it, so each
test must find its own data rather than rely on what another test left). One browser per
session, a fresh context (cookies, locale) per test.

No Chromium, or Playwright cannot start it: skipped locally, a failure on CI
(see tests.conftest.unavailable). `npx playwright install` is not used: the suite always
launches the system Chromium at CHROMIUM.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from backoffice.demo import DEMO_PASSWORD
from models import db
from tests.conftest import make_app, unavailable

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DEFAULT_TIMEOUT_MS = 10_000
LOGIN_SUBMIT = "form:has(#username) button[type=submit]"  # the login page also has language buttons
# Set E2E_SCREENSHOTS=/some/dir to keep screenshots of the key screens.
SCREENSHOT_DIR = os.environ.get("E2E_SCREENSHOTS")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselection runs, so `-m "not e2e"` works
def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)


class LiveServer:
    """The app on 127.0.0.1:<free port> in a daemon thread, over its own copy of the demo db."""

    def __init__(self, app, db_path: Path):
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):  # no access log lines; errors still logged
            def log_request(self, *args, **kwargs):
                pass

        self.app = app
        self.db_path = db_path
        self.server = make_server("127.0.0.1", 0, app, threaded=True,
                                  request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="e2e-live-server",
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        with self.app.app_context():
            db.engine.dispose()

    def query(self, sql: str, *params):
        """Read the server's database directly (unscoped, as a DBA would): list of rows."""
        connection = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()


@pytest.fixture(scope="session")
def live_server(demo_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("e2e") / "live.db"
    shutil.copy(demo_template, path)
    server = LiveServer(make_app(f"sqlite:///{path}"), path)
    server.app.config["PUBLIC_BASE_URL"] = server.url  # customers' links lead to this server
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        unavailable("e2e", f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable("e2e", f"the playwright package is not installed: {exc}")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
    except Exception as exc:
        playwright.stop()
        detail = (str(exc).strip().splitlines() or [""])[0]
        unavailable("e2e", f"Playwright cannot launch {CHROMIUM}: {type(exc).__name__}: {detail}")
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def context(browser, live_server):
    """A fresh browser profile per test: no cookies, Chinese first (as the users' browsers)."""
    context = browser.new_context(locale="zh-CN", base_url=live_server.url,
                                  viewport={"width": 1366, "height": 900},
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


def login(page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the login form, as a person does; fails the test if it does not work."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click(LOGIN_SUBMIT)
    assert "/login" not in page.url, f"{username} could not sign in: still on {page.url}"


def screenshot(page, name: str, full_page: bool = False) -> None:
    """Keep a screenshot (the viewport unless full_page) when E2E_SCREENSHOTS names a folder."""
    if SCREENSHOT_DIR:
        Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOT_DIR) / f"{name}.png"), full_page=full_page)


def fill_fault_report(page, *, model_code: str, outlet_code: str, serial: str, phone: str, fault: str,
                      name: str = "冯嘉怡") -> None:
    """Fill the public /report form (already open) as a customer does, photos aside."""
    page.fill("#name", name)
    page.fill("#phone", phone)
    page.select_option("#area", "urban")
    page.select_option("#model_code", model_code)
    page.fill("#serial", serial)
    page.select_option("#outlet_code", outlet_code)
    page.select_option("#kind", "repair")
    page.fill("#fault", fault)
