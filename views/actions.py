"""POST actions on a details page: load through the scope, call a service, commit, tell the user."""
from __future__ import annotations

from flask import flash, g, redirect, request
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from backoffice.errors import DomainError, FieldErrors
from models import db


def run_action(view, service_call, done_message: str, failed_step: str):
    """One action of a details page. `service_call(found)` does the work with the loaded row;
    `done_message` is a text, or a function of what the call returned.

    Field errors re-render the same page with what was typed; other refusals are flashed.
    A stale page (the row changed meanwhile: version_id) is refused, never overwritten."""
    found = view.get_one(request.args.get("id", ""))
    back = view.get_url(".details_view", id=found.id)
    try:
        loaded = request.form.get("loaded_version")
        if loaded is not None and hasattr(found, "version_id") and str(found.version_id) != loaded:
            raise StaleDataError()
        result = service_call(found)
        db.session.commit()
    except FieldErrors as exc:
        db.session.rollback()
        flash(_("Not saved: check the marked fields."), "error")
        g.action_failure = {"step": failed_step, "values": request.form, "errors": exc.errors}
        return view.details_view()
    except (DomainError, StaleDataError) as exc:
        db.session.rollback()
        view.handle_view_exception(exc)
        return redirect(back)
    flash(done_message(result) if callable(done_message) else done_message, "success")
    return redirect(back)
