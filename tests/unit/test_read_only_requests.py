"""A request that wrote nothing ends with COMMIT, so psycopg keeps the plans it prepared; one that
wrote, failed or left changes unsaved still ends with a rollback and saves nothing
(backoffice.read_only, issue 16)."""
import shutil

import pytest
from flask import abort
from sqlalchemy import event, select

from models import PolicySetting, db
from tests.conftest import make_app

KEY = "probe.read_only"


@pytest.fixture
def probe(demo_template, tmp_path):
    """An app of its own (routes must come before its first request) recording how each
    transaction ended."""
    path = tmp_path / "probe.db"
    shutil.copy(demo_template, path)
    app = make_app(f"sqlite:///{path}")

    @app.get("/probe/read")
    def read():
        return str(len(db.session.scalars(select(PolicySetting)).all()))

    @app.get("/probe/flushed")
    def flushed():  # written to the database, never committed
        db.session.add(PolicySetting(key=KEY, value="1"))
        db.session.flush()
        return "ok"

    @app.get("/probe/pending")
    def pending():  # added to the session, not even flushed
        db.session.scalars(select(PolicySetting)).all()
        db.session.add(PolicySetting(key=KEY, value="1"))
        return "ok"

    @app.get("/probe/fails")
    def fails():
        db.session.scalars(select(PolicySetting)).all()
        abort(500)

    ends = []
    with app.app_context():
        event.listen(db.engine, "commit", lambda conn: ends.append("commit"))
        event.listen(db.engine, "rollback", lambda conn: ends.append("rollback"))
    app.ends = ends
    yield app
    with app.app_context():
        db.engine.dispose()


def saved(app) -> bool:
    with app.app_context():
        return db.session.get(PolicySetting, KEY) is not None


def test_a_request_that_only_read_ends_with_commit(probe):
    assert probe.test_client().get("/probe/read").status_code == 200
    assert probe.ends == ["commit"]


def test_a_request_that_flushed_without_committing_is_rolled_back(probe):
    probe.test_client().get("/probe/flushed")
    assert "commit" not in probe.ends
    assert not saved(probe)


def test_changes_left_pending_in_the_session_are_never_saved_at_teardown(probe):
    probe.test_client().get("/probe/pending")
    assert "commit" not in probe.ends
    assert not saved(probe)


def test_a_failed_request_is_rolled_back(probe):
    assert probe.test_client().get("/probe/fails").status_code == 500
    assert "commit" not in probe.ends
