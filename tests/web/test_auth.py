"""Sign-in, sessions and CSRF."""
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import AuthEvent, Customer, User
from tests.conftest import csrf_token, login, make_app


def test_every_demo_user_can_sign_in(app):
    for username in ("admin", "manager", "clerk", "engineer", "dealer1", "dealer2"):
        client = app.test_client()
        response = login(client, username)
        assert response.status_code == 302 and response.location.endswith("/admin/")
        assert client.get("/admin/").status_code == 200


def test_wrong_password_is_refused_with_a_message(client):
    response = login(client, "clerk", "wrong-password")
    assert response.status_code == 200
    assert "Wrong username or password" in response.get_data(as_text=True) or \
        "用户名或密码" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_pages_need_a_login(client):
    response = client.get("/admin/ticket/")
    assert response.status_code == 302 and "/login" in response.location


def test_inactive_user_cannot_sign_in(app, client, session):
    session.scalar(select(User).where(User.username == "clerk")).active = False
    session.commit()
    response = login(client, "clerk")
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_deactivated_user_loses_the_open_session(login_as, session):
    clerk = login_as("clerk")
    assert clerk.get("/admin/ticket/").status_code == 200
    admin = login_as("admin")
    user = session.scalar(select(User).where(User.username == "clerk"))
    response = admin.post(f"/admin/user/edit/?id={user.id}", data={
        "username": "clerk", "full_name": user.full_name, "phone": "", "role": "clerk",
        "locale": "", "csrf_token": admin.csrf})  # 'active' unticked
    assert response.status_code == 302
    assert clerk.get("/admin/ticket/").status_code == 302


def test_password_change_ends_other_sessions(login_as, session):
    from backoffice import accounts

    clerk = login_as("clerk")
    user = session.scalar(select(User).where(User.username == "clerk"))
    accounts.set_password(user, "new-password-1")
    session.commit()
    assert clerk.get("/admin/").status_code == 302


def test_session_is_renewed_at_login(client):
    with client.session_transaction() as sess:
        sess["planted"] = "by-attacker"
    login(client, "clerk")
    with client.session_transaction() as sess:
        assert "planted" not in sess


def test_session_cookie_is_httponly_and_samesite_lax(client):
    response = login(client, "clerk")
    cookie = response.headers.get("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_cookies_are_secure_in_production(monkeypatch, tmp_path):
    monkeypatch.setenv("BACKOFFICE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("BACKOFFICE_ALLOW_SQLITE", "1")
    app = make_app(f"sqlite:///{tmp_path}/p.db", SECRET_KEY=None)
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_idle_session_expires(app, client, monkeypatch):
    import itsdangerous.timed as timed

    login(client, "clerk")
    assert client.get("/admin/").status_code == 200
    idle = app.config["PERMANENT_SESSION_LIFETIME"] + timedelta(minutes=1)
    real = timed.time.time
    monkeypatch.setattr(timed.time, "time", lambda: real() + idle.total_seconds())
    assert client.get("/admin/").status_code == 302


def test_logout_is_post_only_and_ends_the_session(login_as):
    clerk = login_as("clerk")
    assert clerk.get("/logout").status_code == 405
    assert clerk.get("/admin/").status_code == 200
    assert clerk.post("/logout", data={"csrf_token": clerk.csrf}).status_code == 302
    assert clerk.get("/admin/").status_code == 302


def test_login_redirect_never_leaves_the_site(client):
    token = csrf_token(client)
    response = client.post("/login?next=//evil.example/x", data={
        "username": "clerk", "password": "demo1234", "csrf_token": token})
    assert response.location.endswith("/admin/")


def test_repeated_failures_throttle_the_username_on_that_client(app, client, session):
    limit = app.config["LOGIN_FAILURES_BEFORE_DELAY"]
    for _ in range(limit):
        login(client, "manager", "bad")
    response = login(client, "manager")  # even the right password now waits
    assert response.status_code == 429
    body = response.get_data(as_text=True)
    assert "Too many" in body or "次数过多" in body
    assert client.get("/admin/").status_code == 302
    events = session.scalars(select(AuthEvent.event).where(AuthEvent.username == "manager")).all()
    assert events.count("login_failed") == limit and "login_throttled" in events
    assert events.count("login_locked") == 1


def test_throttling_is_per_username(app, client):
    for _ in range(app.config["LOGIN_FAILURES_BEFORE_DELAY"]):
        login(client, "manager", "bad")
    assert login(client, "clerk").status_code == 302


def test_repeated_failures_throttle_the_ip(demo_template, tmp_path):
    import shutil

    shutil.copy(demo_template, tmp_path / "ip.db")
    app = make_app(f"sqlite:///{tmp_path}/ip.db", LOGIN_MAX_FAILURES_PER_IP=3)
    client = app.test_client()
    for name in ("nobody1", "nobody2", "nobody3"):
        login(client, name, "bad")
    assert login(client, "clerk").status_code == 429


def test_auth_events_never_store_the_password(client, session, caplog):
    caplog.set_level("INFO")
    login(client, "clerk", "S3cret-typo!")
    login(client, "clerk")
    rows = session.scalars(select(AuthEvent)).all()
    assert {"login_failed", "login_ok"} <= {r.event for r in rows}
    dump = " ".join(f"{r.username} {r.ip} {r.user_agent} {r.event}" for r in rows)
    assert "S3cret-typo!" not in dump and "S3cret-typo!" not in caplog.text


def test_login_without_csrf_token_is_refused(client):
    response = client.post("/login", data={"username": "clerk", "password": "demo1234"})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize("url,data", [
    ("/admin/customer/new/", {"name": "无令牌", "phone": "13800000000", "area": "urban"}),
    ("/admin/customer/delete/", {"id": "1"}),
    ("/admin/customer/action/", {"action": "delete", "rowid": ["1"]}),
    ("/logout", {}),
    ("/locale", {"locale": "en"}),
])
def test_state_changing_post_without_csrf_changes_nothing(login_as, session, url, data):
    manager = login_as("manager")
    before = session.query(Customer).count()
    response = manager.post(url, data=data)
    assert response.status_code == 400
    session.expire_all()
    assert session.query(Customer).count() == before
    assert manager.get("/admin/").status_code == 200  # still signed in: logout did not happen


def test_every_admin_form_carries_a_csrf_token(login_as):
    manager = login_as("manager")
    for url in ("/admin/customer/new/", "/admin/ticket/new/", "/admin/unit/new/",
                "/admin/customer/", "/admin/account/"):
        assert 'name="csrf_token"' in manager.get(url).get_data(as_text=True), url
