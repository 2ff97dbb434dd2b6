"""Login and logout. Thin: the rules are in backoffice.accounts and backoffice.login_guard."""
from __future__ import annotations

import math
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from backoffice import accounts, login_guard
from backoffice.access import scope_for, set_scope
from backoffice.i18n import SUPPORTED
from models import db, utcnow

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=60)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


def _throttle_rule() -> login_guard.ThrottleRule:
    cfg = current_app.config
    return login_guard.ThrottleRule(
        failures_before_delay=cfg["LOGIN_FAILURES_BEFORE_DELAY"],
        first_delay=timedelta(minutes=cfg["LOGIN_FIRST_DELAY_MINUTES"]),
        max_delay=timedelta(minutes=cfg["LOGIN_MAX_DELAY_MINUTES"]),
        memory=timedelta(hours=cfg["LOGIN_FAILURE_MEMORY_HOURS"]),
        ip_window=timedelta(minutes=cfg["LOGIN_THROTTLE_WINDOW_MINUTES"]),
        max_per_ip=cfg["LOGIN_MAX_FAILURES_PER_IP"],
    )


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("admin.index")


def _client():
    return {"ip": request.remote_addr or "", "user_agent": request.user_agent.string}


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        response = _attempt_login(form)
        if response is not None:
            return response
    page = render_template("auth/login.html", form=form)
    wait = getattr(form, "throttled", None)
    if wait is not None:  # the client waits (RFC 6585): told when it may try again
        return page, 429, {"Retry-After": str(wait)}
    return page


def _attempt_login(form: LoginForm):
    username = form.username.data.strip()
    refused = login_guard.refusal(db.session, _throttle_rule(), username, request.remote_addr or "")
    if refused is not None:
        # Only this client waits: the same user signs in from a client that has not failed.
        login_guard.record(db.session, login_guard.THROTTLED, username=username, **_client())
        db.session.commit()
        seconds = max(1, math.ceil(refused.wait().total_seconds()))
        flash(_("Too many failed sign-in attempts. Try again in %(minutes)d min.",
                minutes=max(1, math.ceil(seconds / 60))), "error")
        form.throttled = seconds
        return None
    user = accounts.find_by_username(db.session, username)
    if user is None or not accounts.verify_password(user, form.password.data):
        login_guard.note_failure(db.session, _throttle_rule(), username=username, user=user, **_client())
        db.session.commit()
        flash(_("Wrong username or password."), "error")
        return None
    if not accounts.may_sign_in(user):
        login_guard.record(db.session, login_guard.INACTIVE, username=username, user=user, **_client())
        db.session.commit()
        flash(_("This account is disabled. Ask your administrator."), "error")
        return None
    next_url = _safe_next(request.args.get("next"))
    locale = session.get("locale")
    session.clear()  # a fresh session at login: nothing from before survives (fixation)
    login_user(user)
    session.permanent = True
    if locale in SUPPORTED and not user.locale:
        session["locale"] = locale
    set_scope(scope_for(db.session, user))
    user.last_login_at = utcnow()
    login_guard.record(db.session, login_guard.OK, username=username, user=user, **_client())
    db.session.commit()
    return redirect(next_url)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        login_guard.record(db.session, login_guard.LOGOUT, username=current_user.username,
                           user=current_user, **_client())
        # A copy of the session cookie (another tab, another machine, a stolen one) ends too.
        accounts.end_sessions(current_user._get_current_object())
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/locale", methods=["POST"])
def choose_locale():
    """Switch the UI language; remembered on the account when signed in."""
    locale = request.form.get("locale")
    if locale in SUPPORTED:
        session["locale"] = locale
        if current_user.is_authenticated:
            current_user.locale = locale
            db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/")
def home():
    return redirect(url_for("admin.index"))
