"""Shared fixtures: a demo-seeded database built once through the migrations, copied per test."""
from __future__ import annotations

import os
import re
import shutil

import pytest

# Set, not defaulted: a developer's shell may hold production-like values. The task queue keeps
# what tests enqueue in memory (backoffice/tasks.py reads this at import); customers' links point
# to an https address (production refuses to start without one).
os.environ["TASK_QUEUE_URL"] = "memory://"
os.environ["PUBLIC_BASE_URL"] = "https://service.example.test"

from backoffice import create_app
from backoffice.demo import DEMO_PASSWORD, seed
from models import db

FAST_HASH = "pbkdf2:sha256:1000"  # tests only; production uses scrypt
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def make_app(database_url: str, **overrides):
    config = {"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url,
              "PASSWORD_HASH_METHOD": FAST_HASH}
    config.update(overrides)
    return create_app(config)


def build_demo_database(app) -> None:
    """Schema through Alembic (as production does), then the demo data."""
    from flask import g
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        g.actor_name = "seed-demo"
        seed(db.session)
        db.session.commit()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "demo.db"
    build_demo_database(make_app(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def _shared_app(demo_template, tmp_path_factory):
    """One app for the session's tests (building one costs a quarter of a second); each test
    gets a fresh copy of the demo database under it and the configuration it started with."""
    path = tmp_path_factory.mktemp("shared") / "test.db"
    app = make_app(f"sqlite:///{path}")
    return app, path, dict(app.config)


@pytest.fixture
def app(_shared_app, demo_template):
    app, path, config = _shared_app
    shutil.copy(demo_template, path)
    app.config.clear()
    app.config.update(config)  # a test may change a setting: the next one starts from the original
    yield app
    with app.app_context():
        db.engine.dispose()  # no connection outlives the test: the next one copies the file anew


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(client, url="/login") -> str:
    response = client.get(url)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def login(client, username, password=DEMO_PASSWORD):
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


@pytest.fixture
def login_as(app):
    """login_as('dealer1') -> a test client signed in as that demo user."""
    def _login(username):
        client = app.test_client()
        response = login(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        client.csrf = csrf_token(client, "/admin/")
        return client
    return _login


@pytest.fixture
def as_user(app):
    """as_user(user) -> a test client signed in as that user (made by the factories)."""
    def _login(user):
        client = app.test_client()
        assert login(client, user.username).status_code == 302
        client.csrf = csrf_token(client, "/admin/")
        return client
    return _login


@pytest.fixture
def statements(app):
    """The SQL statements the app runs during the test, in order (query-count tests)."""
    from sqlalchemy import event

    seen = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def session(app):
    """A plain ORM session outside any request or app context: unrestricted, like a job.

    It pushes no app context, so test-client requests get their own (with their own user
    and scope), exactly as in production."""
    from sqlalchemy.orm import Session

    with app.app_context():
        engine = db.engine
    with Session(bind=engine) as plain:
        yield plain


# --- optional suites: PostgreSQL and the browser -------------------------------------------

ON_CI = os.environ.get("CI") == "true"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SKIPPED_SUITES: dict[str, str] = {}


def unavailable(suite: str, reason: str):
    """On CI a missing service fails the run; elsewhere the suite is skipped, and said so."""
    if ON_CI:
        pytest.fail(f"{suite} suite cannot run on CI: {reason}", pytrace=False)
    SKIPPED_SUITES[suite] = reason
    pytest.skip(f"{suite} suite skipped: {reason}")


def postgres_url() -> str | None:
    """TEST_DATABASE_URL, else the local default server if it answers within a second."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    try:
        import psycopg

        psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=1).close()
    except Exception:
        return None
    return DEFAULT_PG


def pytest_terminal_summary(terminalreporter):
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            parts = getattr(report, "nodeid", "").split("/")
            suite = parts[1] if len(parts) > 2 and parts[0] == "tests" else "other"
            counts.setdefault(suite, {}).setdefault(outcome, 0)
            counts[suite][outcome] += 1
    terminalreporter.write_sep("=", "suites")
    for suite in ("unit", "web", "pg", "e2e", "fuzz"):
        found = counts.get(suite, {})
        line = ", ".join(f"{n} {k}" for k, n in sorted(found.items())) or "no tests"
        terminalreporter.write_line(f"{suite:>5}: {line}")
    for suite, reason in SKIPPED_SUITES.items():
        terminalreporter.write_line(f"SKIPPED SUITE {suite}: {reason}")
