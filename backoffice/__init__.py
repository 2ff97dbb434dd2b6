"""The after-sales service backoffice: application factory."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader
from sqlalchemy.orm import joinedload
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    accounts,
    audit,  # noqa: F401  (registers the audit listener)
    csp,
    input_guard,
    logs,
    metrics,
    read_only,
    stats,  # noqa: F401  (registers the summary rows' listener)
)
from .access import UNSCOPED, scope_for, set_scope
from .config import load_config
from .extensions import babel, compress, csrf, db, login_manager, migrate
from .i18n import select_locale, select_timezone

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        static_folder=str(ROOT / "static"),
        template_folder=str(ROOT / "views" / "templates"),
    )
    app.config.update(load_config(app.instance_path, overrides))
    # Our few overrides of Flask-Admin templates import the stock ones under this prefix and
    # replace only the macros they change, so an upgrade of Flask-Admin reaches the rest.
    app.jinja_loader = ChoiceLoader([app.jinja_loader, PrefixLoader(
        {"flask_admin_stock": PackageLoader("flask_admin", "templates/bootstrap4")})])
    if app.config["TRUSTED_PROXIES"]:
        # The client address (throttling, rate limits, the sign-in log) comes from X-Forwarded-For
        # as set by this many proxies in front of the app; with 0 nobody's header is believed.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    logs.init_app(app)  # first: every later hook's lines carry the request id
    metrics.init_app(app)  # request latency by endpoint (signals: every hook is timed)

    db.init_app(app)
    read_only.init_app(app, db)  # after Flask-SQLAlchemy: its teardown rolls back after ours
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True,
                     include_object=_in_models)
    csrf.init_app(app)
    compress.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    if app.config["BENCH"]:  # bench/bench.py only: timing headers, counted from the first hook on
        from . import bench_timing

        bench_timing.init_app(app)
    _init_login(app)
    _init_request_scope(app)
    _init_errors(app)

    from views import init_views

    init_views(app)

    from .cli import register_cli

    register_cli(app)
    return app


def _in_models(obj, name, type_, reflected, compare_to) -> bool:
    """What Alembic compares with the models: all but the PostgreSQL-only trigram indexes that
    migration 0023 makes for partial name/address search (SQLite has no such index)."""
    return not (type_ == "index" and reflected and (name or "").startswith("trgm_"))


def _init_login(app: Flask) -> None:
    from models import User

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(cookie_id: str):
        user_id, _sep, nonce = cookie_id.partition(":")
        if not user_id.isdigit():
            return None
        # With the outlet may_sign_in reads (one statement, not two, on every request).
        user = db.session.get(User, int(user_id), options=[joinedload(User.outlet)], execution_options=UNSCOPED)
        # A deactivated user, a retired outlet's staff or a rotated nonce (password change) lose
        # the session at once.
        if user is None or not accounts.may_sign_in(user) or user.session_nonce != nonce:
            return None
        return user


def _init_request_scope(app: Flask) -> None:
    @app.before_request
    def _scope():
        user = current_user if current_user.is_authenticated else None
        g.actor = user
        set_scope(scope_for(db.session, user))

    @app.context_processor
    def _globals():
        return {"current_locale": str(get_locale()), "current_user": current_user}

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", csp.policy())
        return response


def _error_page(code: int, title: str, message: str):
    if request.path.startswith("/api/"):  # the channel API answers JSON, whatever went wrong
        return {"error": _API_ERRORS.get(code, "error"), "message": message}, code
    return render_template("errors/error.html", code=code, title=title, message=message), code


_API_ERRORS = {400: "bad_request", 413: "too_large", 500: "server_error"}


def _init_errors(app: Flask) -> None:
    input_guard.init_app(app)  # NUL bytes, surrogates, deep JSON, huge ids: 4xx before any view

    @app.errorhandler(400)
    def _bad_request(error):
        db.session.rollback()
        message = getattr(error, "message", None) or _(
            "The request could not be understood. Nothing was changed; go back and try again.")
        return _error_page(400, _("The request could not be accepted"), str(message))

    @app.errorhandler(CSRFError)
    def _csrf(error):
        db.session.rollback()
        if request.endpoint == "ticket.transition_view" and current_user.is_authenticated:
            # A step from a page of an earlier sign-in (another user's, say) or an expired one: back
            # to the ticket, which shows the steps open to this user now.
            flash(_("Nothing was changed: the step was sent from a page that had expired or was opened "
                    "before you signed in. Here is the ticket as it is now, with the steps open to you."), "error")
            return redirect(url_for("ticket.details_view", id=request.args.get("id", "")))
        return _error_page(400, _("The form could not be accepted"),
                           _("The form was sent without a valid security token (it may have "
                             "expired). Nothing was changed. Go back, reload the page and try again."))

    _init_http_errors(app)


def _init_http_errors(app: Flask) -> None:
    """Plain HTTP errors: a page in the user's language, or JSON on the API."""

    @app.errorhandler(403)
    def _forbidden(error):
        return _error_page(403, _("Not allowed"), _("Your role does not allow this page."))

    @app.errorhandler(404)
    def _not_found(error):
        if request.path.startswith("/api/"):
            return {"error": "not_found", "message": _("No such address in the API.")}, 404
        return _error_page(404, _("Not found"), _("The page or record does not exist."))

    @app.errorhandler(405)
    def _not_allowed(error):
        methods = getattr(error, "valid_methods", None) or []
        allow = {"Allow": ", ".join(sorted(methods))} if methods else {}  # RFC 9110: a 405 names them
        if request.path.startswith("/api/"):
            return ({"error": "method_not_allowed", "message": _("This address does not accept that method.")},
                    405, allow)
        return (*_error_page(405, _("Not allowed"), _("This address does not accept that request.")), allow)

    @app.errorhandler(413)
    def _too_large(error):
        if request.path.startswith("/api/"):
            return _error_page(413, "", _("The request body is too large."))
        return _error_page(413, _("The file is too large"),
                           _("Files up to 5 MB can be attached. Nothing was saved; go back and choose a smaller file."))

    @app.errorhandler(500)
    def _server_error(error):
        db.session.rollback()
        app.logger.exception("unhandled error on %s", request.path)
        return _error_page(500, _("Something went wrong"),
                           _("The error was logged. Nothing was saved from this request."))
