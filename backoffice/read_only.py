"""A request that wrote nothing ends its transaction with COMMIT instead of ROLLBACK (issue 16).

psycopg 3 prepares a statement the fifth time a connection runs it, and PostgreSQL then keeps its
plan. But a ROLLBACK makes psycopg drop every statement the connection prepared (it cannot know
what the transaction changed), and Flask-SQLAlchemy ends every request with one: no plan was ever
kept. The ticket page's statement of 18 joins spent 16 ms planning for 0.2 ms of work, on every
view. For a transaction that wrote nothing COMMIT and ROLLBACK are the same thing; any statement
but a SELECT, a database error or changes still pending in the session keep the rollback.
"""
from __future__ import annotations

import logging

from flask import Flask, g, has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

WROTE = "db_may_have_written"  # flask.g: the request ran something other than a plain SELECT


def _note(statement: str) -> None:
    if has_app_context() and statement.lstrip()[:6].upper() != "SELECT":
        setattr(g, WROTE, True)


@event.listens_for(Engine, "before_cursor_execute")
def _before_execute(conn, cursor, statement, parameters, context, executemany):
    _note(statement)


@event.listens_for(Engine, "handle_error")
def _on_error(context):
    if has_app_context():
        setattr(g, WROTE, True)  # the transaction may be aborted: only a rollback ends it


def init_app(app: Flask, db) -> None:
    """Registered after Flask-SQLAlchemy, so this runs first at teardown (Flask runs teardown
    functions in reverse order), before its session.remove() rolls back."""

    @app.teardown_appcontext
    def _commit_if_read_only(exc):
        session = db.session()  # the request's own Session (the scoped proxy lacks in_transaction)
        if exc is not None or g.get(WROTE) or not session.in_transaction():
            return
        if session.new or session.dirty or session.deleted:
            return  # never flush at teardown what a view left unsaved
        try:
            session.commit()
        except Exception:
            log.exception("ending a read-only request's transaction")
            session.rollback()
