"""The two shapes of a screen's POST that calls one service as the signed-in user.

- `details_post`: an action on the record of a details page (?id=), its fields typed in the
  page's form; through `views.actions.run_action` (field errors re-render the page with what
  was typed, a stale page is refused).
- `list_post`: an action on a whole list (generate claims, settle a month, issue statements):
  call, commit, back to the list with the outcome or the refusal flashed.

The service guards itself (its `actions(...)` verdicts); these only carry the request to it.
"""
from __future__ import annotations

from flask import flash, redirect, request
from flask_login import current_user

from backoffice.errors import DomainError
from models import db

from .actions import run_action


def details_post(view, service, done_message, step: str, *fields: str):
    """`service(session, record, user, *the typed fields)` on the page's record."""
    user = current_user._get_current_object()
    return run_action(view, lambda found: service(db.session, found, user, *(request.form.get(name, "")
                                                                             for name in fields)),
                      done_message, step)


def list_post(view, service_call, done_message):
    """`service_call()` for the list page; `done_message(result)` is flashed once committed."""
    try:
        result = service_call()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        view.handle_view_exception(exc)
    else:
        flash(done_message(result), "success")
    return redirect(view.get_url(".index_view"))
