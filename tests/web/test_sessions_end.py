"""Signing out, a new password, deactivation and another role end every session of the user:
a copy of the session cookie taken before stops working at once."""
import pytest

from tests import factories as f
from tests.conftest import csrf_token, login


def signed_in(app, session, role="clerk", **kw):
    """A fresh user of `role`, signed in on one client."""
    user = f.make_user(session, role, **kw)
    session.commit()
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    client.csrf = csrf_token(client, "/admin/")
    return user, client


def copy_of(app, client):
    """A second client holding the same session cookie, as a thief or another tab would."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    other.csrf = client.csrf
    return other


def is_sent_to_login(response) -> bool:
    return response.status_code == 302 and "/login" in response.location


def step(client, ticket, note):
    return client.post(f"/admin/ticket/transition/diagnose/?id={ticket.id}",
                       data={"csrf_token": client.csrf, "loaded_version": ticket.version_id,
                             "note": note, "service_mode": "onsite", "severity": "minor"})


def test_a_copied_cookie_works_while_the_user_is_signed_in(app, session):
    _user, clerk = signed_in(app, session)
    assert copy_of(app, clerk).get("/admin/ticket/").status_code == 200


def test_after_logout_a_copied_cookie_is_sent_to_login_for_pages_and_ticket_steps(app, session):
    ticket = f.ticket_of(session, "SC-GZ", status="registered", kind="repair")
    _user, clerk = signed_in(app, session)
    thief = copy_of(app, clerk)
    assert clerk.post("/logout", data={"csrf_token": clerk.csrf}).status_code == 302

    assert is_sent_to_login(thief.get("/admin/ticket/"))
    assert is_sent_to_login(step(thief, ticket, "登出后用旧cookie"))
    session.expire_all()
    assert session.get(type(ticket), ticket.id).status == "registered"


def test_logout_ends_the_users_other_sessions_too(app, session):
    user, first = signed_in(app, session)
    second = app.test_client()
    assert login(second, user.username).status_code == 302
    first.post("/logout", data={"csrf_token": first.csrf})
    assert is_sent_to_login(second.get("/admin/"))


def test_after_a_password_change_on_the_account_page_a_copied_cookie_is_sent_to_login(app, session):
    _user, clerk = signed_in(app, session)
    thief = copy_of(app, clerk)
    response = clerk.post("/admin/account/", data={
        "pw-current": f.DEMO_PASSWORD, "pw-new": "Qiao-mai-7-fen", "pw-repeat": "Qiao-mai-7-fen",
        "csrf_token": clerk.csrf})
    assert is_sent_to_login(response)
    assert is_sent_to_login(thief.get("/admin/ticket/"))


def admin_edits(admin, user, **changes):
    data = {"username": user.username, "full_name": user.full_name, "phone": user.phone,
            "role": user.role, "outlet": str(user.outlet_id or "__None"), "active": "y",
            "locale": "", "csrf_token": admin.csrf}
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    return admin.post(f"/admin/user/edit/?id={user.id}", data=data)


@pytest.mark.parametrize("change", [
    pytest.param({"active": None}, id="deactivated"),
    pytest.param({"role": "engineer"}, id="role changed"),
    pytest.param({"new_password": "Lv-shui-qiao-42"}, id="password set by an admin"),
])
def test_an_admins_change_of_the_account_ends_its_sessions(app, session, login_as, change):
    user, clerk = signed_in(app, session)
    thief = copy_of(app, clerk)
    response = admin_edits(login_as("admin"), user, **change)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    assert is_sent_to_login(clerk.get("/admin/ticket/"))
    assert is_sent_to_login(thief.get("/admin/ticket/"))


def test_an_edit_that_changes_no_access_keeps_the_session(app, session, login_as):
    user, clerk = signed_in(app, session)
    response = admin_edits(login_as("admin"), user, full_name="王秀英（客服组长）")
    assert response.status_code == 302
    assert clerk.get("/admin/ticket/").status_code == 200
