"""PostgreSQL suite: every test here runs against a real server, in a schema of its own.

The database (`test` by default) may be shared with other runs, so nothing here touches
anything outside the schemas this session creates: each is named bo_test_<uuid8>[_<n>], put
first (and alone) on the search_path through the connection's `options`, and dropped with
CASCADE when the session ends. The database itself is never dropped.

No server: skipped locally, a failure on CI (see tests.conftest.unavailable).
"""
from __future__ import annotations

import itertools
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from models import db
from tests.conftest import build_demo_database, make_app, postgres_url, unavailable

HERE = Path(__file__).resolve().parent
SCHEMA_PREFIX = "bo_test_"


@pytest.hookimpl(tryfirst=True)  # before `-m` deselection runs, so `-m "not pg"` works
def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.pg)


def _driver_url(raw: str):
    url = make_url(raw)
    if url.drivername in ("postgresql", "postgres"):  # psycopg 3 is the driver we ship
        url = url.set(drivername="postgresql+psycopg")
    return url


def schema_url(base, schema: str) -> str:
    """The server URL with `schema` alone on the search_path, as a string for make_app."""
    query = dict(base.query)
    query["options"] = f"-csearch_path={schema}"
    return base.set(query=query).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_url():
    """The server's URL (sqlalchemy URL object); skip locally / fail on CI without one."""
    raw = postgres_url()
    if raw is None:
        unavailable("pg", "no PostgreSQL: set TEST_DATABASE_URL "
                          "(default postgresql+psycopg://postgres@127.0.0.1:5432/test not reachable)")
    url = _driver_url(raw)
    if not url.drivername.startswith("postgresql"):
        unavailable("pg", f"TEST_DATABASE_URL is not a PostgreSQL URL: {url.drivername}")
    engine = create_engine(url, connect_args={"connect_timeout": 3}, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            _trigram_extension_in_public(connection)
    except Exception as exc:
        cause = getattr(exc, "orig", None) or exc
        detail = (str(cause).strip().splitlines() or [""])[0]
        unavailable("pg", f"cannot connect to {url.render_as_string(hide_password=True)}: "
                          f"{type(cause).__name__}: {detail}")
    finally:
        engine.dispose()
    return url


def _trigram_extension_in_public(connection) -> None:
    """pg_trgm (migration 0023) is database-wide but lives in one schema: left to the migrations it
    would land in the first test schema that ran them, and dropping that schema (CASCADE) would take
    the extension and every other run's trigram indexes with it; a run that was killed would leave
    it in a stray schema a dump then cannot restore. So it lives in public, for every run."""
    where = connection.scalar(text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                                   "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"))
    if where is None:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
    elif where != "public":
        connection.execute(text("ALTER EXTENSION pg_trgm SET SCHEMA public"))
    connection.commit()


class Schemas:
    """Creates this session's schemas and drops every one of them at the end."""

    def __init__(self, url):
        self.url = url
        self.session_id = uuid.uuid4().hex[:8]
        self.counter = itertools.count(1)
        self.created: list[str] = []
        self.engine = create_engine(url, isolation_level="AUTOCOMMIT")

    def create(self, suffix: str = "") -> str:
        name = f"{SCHEMA_PREFIX}{self.session_id}"
        if suffix:
            name = f"{name}_{suffix}{next(self.counter)}"
        with self.engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
        self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        with self.engine.connect() as connection:
            # Never hang the run on a lock some leaked transaction still holds.
            connection.execute(text("SET lock_timeout = '15s'"))
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        self.created.remove(name)

    def drop_all(self) -> None:
        errors = []
        for name in list(self.created):
            try:
                self.drop(name)
            except Exception as exc:
                errors.append(f"{name}: {exc}")
        self.engine.dispose()
        if errors:
            raise RuntimeError("could not drop test schemas: " + "; ".join(errors))


@pytest.fixture(scope="session")
def pg_schemas(pg_url):
    schemas = Schemas(pg_url)
    yield schemas
    schemas.drop_all()


def dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def pg_demo_url(pg_url, pg_schemas):
    """URL of this session's demo schema (migrated from empty, then seeded)."""
    return schema_url(pg_url, pg_schemas.create())


@pytest.fixture(scope="session")
def pg_app(pg_demo_url):
    """The app on PostgreSQL with the demo data, built once per session through Alembic."""
    app = make_app(pg_demo_url)
    build_demo_database(app)
    yield app
    dispose(app)


@pytest.fixture
def pg_engine(pg_app):
    with pg_app.app_context():
        return db.engine


@pytest.fixture
def empty_pg_url(pg_url, pg_schemas):
    """A brand-new empty schema for one test (migration tests); dropped right after it."""
    name = pg_schemas.create("m")
    yield schema_url(pg_url, name)
    pg_schemas.drop(name)


@pytest.fixture
def empty_pg_app(empty_pg_url):
    app = make_app(empty_pg_url)
    yield app
    dispose(app)
