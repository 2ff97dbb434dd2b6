"""Audit trail: who changed which record, when, each field old -> new.

Written by an `after_flush` listener with plain INSERTs on the flush's own connection, so an
entry commits or rolls back together with the change it describes.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import g, has_app_context, has_request_context
from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from models import Audited, AuditEntry, utcnow

SECRET = "••••••"  # a secret field changed; its values are never written down


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _columns(obj):
    mapper = inspect(obj).mapper
    return [attr for attr in mapper.column_attrs if attr.key not in obj.__audit_exclude__]


def _record_id(obj) -> str:
    # New rows get their identity key only after after_flush; read the primary key instead.
    return ",".join(str(v) for v in inspect(obj).mapper.primary_key_from_instance(obj))


def _changes(obj, action: str) -> dict:
    state = inspect(obj)
    changes = {}
    for attr in _columns(obj):
        hist = state.attrs[attr.key].history
        if action == "update" and not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else (hist.unchanged[0] if hist.unchanged else None)
        if action == "create":
            old = None
        if action == "delete":
            old, new = (hist.unchanged or hist.deleted or [None])[0], None
        if action == "update" and _plain(old) == _plain(new):
            continue
        if attr.key in obj.__audit_secret__:
            changes[attr.key] = [None, SECRET] if action != "delete" else [SECRET, None]
        else:
            changes[attr.key] = [_plain(old), _plain(new)]
    _note_version(obj, action, changes)
    return changes


def _note_version(obj, action: str, changes: dict) -> None:
    """The version counter is bumped inside the UPDATE, so its history is empty here; record
    old -> new explicitly so a stale editor can be shown what changed since their version."""
    mapper = inspect(obj).mapper
    if action != "update" or mapper.version_id_col is None or not changes:
        return
    key = mapper.get_property_by_column(mapper.version_id_col).key
    new = getattr(obj, key)
    changes[key] = [new - 1, new]


def current_actor() -> tuple[int | None, str]:
    """The user behind the change: the request's user, or a name the CLI sets in g."""
    if not has_app_context():
        return None, "system"
    user = g.get("actor")
    if user is not None:
        return user.id, user.username
    return None, g.get("actor_name", "anonymous" if has_request_context() else "system")


@event.listens_for(Session, "after_flush")
def _write_audit(session: Session, flush_context) -> None:
    rows = []
    for action, objs in (("create", session.new), ("update", session.dirty),
                         ("delete", session.deleted)):
        for obj in objs:
            if not isinstance(obj, Audited):
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            changes = _changes(obj, action)
            if action == "update" and not changes:
                continue
            rows.append({"action": action, "table_name": obj.__tablename__,
                         "record_id": _record_id(obj), "changes": changes})
    if not rows:
        return
    actor_id, actor_name = current_actor()
    now = utcnow()
    for row in rows:
        row.update(actor_id=actor_id, actor_name=actor_name, at=now)
    session.connection().execute(insert(AuditEntry), rows)
