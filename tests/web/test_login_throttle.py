"""Nobody can lock another person out: failures count per (username, client
address) with growing waits, a client address has its own limit across usernames, lockouts are
logged and shown to admins, and the client address comes through trusted proxies only."""
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select

from backoffice import login_guard
from models import AuthEvent
from models.base import utcnow
from tests import factories as f
from tests.conftest import csrf_token, make_app

ATTACKER, OFFICE = "10.0.0.9", "10.0.0.1"


def client_at(app, address, **headers):
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": address, **headers})
    return client


def sign_in(client, username, password=f.DEMO_PASSWORD, headers=None):
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       headers=headers or {})


def events(session, **where):
    stmt = select(AuthEvent.event).order_by(AuthEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuthEvent, key) == value)
    return session.scalars(stmt).all()


def test_a_strangers_failures_do_not_lock_the_admin_out(app, session):
    attacker = client_at(app, ATTACKER)
    for _ in range(20):
        sign_in(attacker, "admin", "guess-guess")
    assert sign_in(attacker, "admin").status_code == 429  # the attacker's client waits, right password or not

    response = sign_in(client_at(app, OFFICE), "admin")
    assert response.status_code == 302 and response.location.endswith("/admin/")


@pytest.mark.parametrize("language,message", [
    ("en", "Too many failed sign-in attempts. Try again in 1 min."),
    ("zh-CN", "登录失败次数过多，请 1 分钟后再试。"),
])
def test_the_waiting_client_is_told_in_its_language(app, language, message):
    attacker = client_at(app, ATTACKER, HTTP_ACCEPT_LANGUAGE=language)
    for _ in range(app.config["LOGIN_FAILURES_BEFORE_DELAY"]):
        sign_in(attacker, "manager", "wrong-one")
    response = sign_in(attacker, "manager")
    assert response.status_code == 429
    assert message in response.get_data(as_text=True)
    assert 0 < int(response.headers["Retry-After"]) <= 60  # and a program is told when to retry


def test_the_lockout_is_logged_once_and_refused_attempts_as_throttled(app, session):
    attacker = client_at(app, ATTACKER)
    threshold = app.config["LOGIN_FAILURES_BEFORE_DELAY"]
    for _ in range(threshold + 3):
        sign_in(attacker, "manager", "wrong-one")
    logged = events(session, username="manager", ip=ATTACKER)
    assert logged.count("login_failed") == threshold
    assert logged.count("login_locked") == 1
    assert logged.count("login_throttled") == 3


def test_one_client_has_a_limit_across_usernames(demo_template, tmp_path):
    shutil.copy(demo_template, tmp_path / "spray.db")
    app = make_app(f"sqlite:///{tmp_path}/spray.db", LOGIN_MAX_FAILURES_PER_IP=6)
    sprayer = client_at(app, ATTACKER)
    for n in range(6):  # one guess per username: no (username, client) pair reaches its threshold
        assert sign_in(sprayer, f"staff{n}", "123456").status_code == 200
    assert sign_in(sprayer, "clerk").status_code == 429
    assert sign_in(client_at(app, OFFICE), "clerk").status_code == 302


def test_the_user_who_then_types_the_right_password_starts_afresh(app):
    office = client_at(app, OFFICE)
    for _ in range(app.config["LOGIN_FAILURES_BEFORE_DELAY"] - 1):
        sign_in(office, "clerk", "typo-typo")
    assert sign_in(office, "clerk").status_code == 302
    office.post("/logout", data={"csrf_token": csrf_token(office, "/admin/")})
    sign_in(office, "clerk", "typo-typo")
    assert sign_in(office, "clerk").status_code == 302


def rule(**kw):
    values = {"failures_before_delay": 5, "first_delay": timedelta(minutes=1), "max_delay": timedelta(minutes=8),
              "memory": timedelta(hours=24), "ip_window": timedelta(minutes=15), "max_per_ip": 1000}
    values.update(kw)
    return login_guard.ThrottleRule(**values)


def test_each_failure_after_the_threshold_doubles_the_wait_up_to_the_cap(session):
    r = rule()
    now = utcnow() - timedelta(hours=2)
    waits = []
    for _ in range(9):
        refused = login_guard.refusal(session, r, "admin", ATTACKER, now)
        if refused is not None:  # the attacker waits it out and tries again
            now = refused.until
        refused = login_guard.note_failure(session, r, username="admin", ip=ATTACKER, now=now)
        waits.append(refused.wait(now) if refused else None)
    minutes = [w and int(w.total_seconds() // 60) for w in waits]
    assert minutes == [None, None, None, None, 1, 2, 4, 8, 8]
    assert login_guard.refusal(session, r, "admin", OFFICE, now) is None  # another client: no wait


def test_failures_are_forgotten_after_the_memory_window(session):
    r = rule(memory=timedelta(hours=24))
    then = utcnow() - timedelta(days=2)
    for _ in range(r.failures_before_delay):
        login_guard.note_failure(session, r, username="admin", ip=ATTACKER, now=then)
    assert login_guard.refusal(session, r, "admin", ATTACKER, then) is not None
    assert login_guard.refusal(session, r, "admin", ATTACKER) is None


def test_admins_see_lockouts_marked_on_the_sign_in_log(app, session, login_as):
    attacker = client_at(app, ATTACKER)
    for _ in range(app.config["LOGIN_FAILURES_BEFORE_DELAY"] + 1):
        sign_in(attacker, "admin", "guess-guess")
    page = login_as("admin").get("/admin/auth_event/").get_data(as_text=True)
    assert page.count('data-testid="lockout"') >= 2  # the lockout and the refused attempt
    assert ATTACKER in page
    filtered = login_as("admin").get("/admin/auth_event/?flt0_0=login_locked").get_data(as_text=True)
    assert filtered.count('data-testid="lockout"') == 1


def logged_address(app, session, **headers):
    client = client_at(app, "192.0.2.10")  # the proxy, as the app sees the connection
    sign_in(client, "nobody-here", "x-x-x-x-x", headers=headers)
    return session.scalars(select(AuthEvent.ip).where(AuthEvent.username == "nobody-here")
                           .order_by(AuthEvent.id.desc())).first()


def test_x_forwarded_for_is_ignored_without_trusted_proxies(app, session):
    assert app.config["TRUSTED_PROXIES"] == 0
    assert logged_address(app, session, **{"X-Forwarded-For": ATTACKER}) == "192.0.2.10"


def test_x_forwarded_for_names_the_client_behind_one_trusted_proxy(demo_template, tmp_path):
    shutil.copy(demo_template, tmp_path / "proxy.db")
    app = make_app(f"sqlite:///{tmp_path}/proxy.db", TRUSTED_PROXIES=1)
    from sqlalchemy.orm import Session

    from models import db

    with app.app_context():
        engine = db.engine
    with Session(bind=engine) as session:
        # A client's own X-Forwarded-For entry before the proxy's is not believed: only the last hop.
        assert logged_address(app, session, **{"X-Forwarded-For": f"6.6.6.6, {ATTACKER}"}) == ATTACKER


def test_the_sign_in_log_export_keeps_plain_event_codes(app, login_as):
    attacker = client_at(app, ATTACKER)
    for _ in range(app.config["LOGIN_FAILURES_BEFORE_DELAY"]):
        sign_in(attacker, "admin", "guess-guess")
    csv = login_as("admin").get("/admin/auth_event/export/csv/").get_data(as_text=True)
    assert "login_locked" in csv and "<span" not in csv
