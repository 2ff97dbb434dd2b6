"""Every form where a password is chosen refuses a common one, with a message."""
from sqlalchemy import select

from backoffice import accounts
from models import User
from tests import factories as f

MESSAGES = ("This password is too common", "密码过于常见")


def says_too_common(response) -> bool:
    page = response.get_data(as_text=True)
    return any(message in page for message in MESSAGES)


def test_an_admin_cannot_create_an_account_with_a_common_password(login_as, session):
    admin = login_as("admin")
    response = admin.post("/admin/user/new/", data={
        "username": "clerk-pw", "full_name": "黄丽华", "phone": "", "role": "clerk", "active": "y",
        "locale": "", "new_password": "password", "csrf_token": admin.csrf}, follow_redirects=True)
    assert says_too_common(response)
    assert session.scalar(select(User).where(User.username == "clerk-pw")) is None


def test_an_admin_cannot_give_an_account_a_common_password(login_as, session):
    clerk = f.make_user(session, "clerk")
    session.commit()
    before = clerk.password_hash
    admin = login_as("admin")
    response = admin.post(f"/admin/user/edit/?id={clerk.id}", data={
        "username": clerk.username, "full_name": clerk.full_name, "phone": clerk.phone, "role": "clerk",
        "active": "y", "locale": "", "new_password": "woaini1314", "csrf_token": admin.csrf},
        follow_redirects=True)
    assert says_too_common(response)
    session.expire_all()
    assert session.get(User, clerk.id).password_hash == before


def test_the_account_page_refuses_a_common_new_password_and_the_demo_password(app, login_as, session):
    clerk = f.make_user(session, "clerk", password="Ming-yue-wan-88")
    session.commit()
    client = app.test_client()
    from tests.conftest import csrf_token, login

    assert login(client, clerk.username, "Ming-yue-wan-88").status_code == 302
    token = csrf_token(client, "/admin/account/")
    for common in ("qwerty123", f.DEMO_PASSWORD):
        response = client.post("/admin/account/", data={
            "pw-current": "Ming-yue-wan-88", "pw-new": common, "pw-repeat": common, "csrf_token": token})
        assert response.status_code == 200 and says_too_common(response), common
    session.expire_all()
    assert accounts.verify_password(session.get(User, clerk.id), "Ming-yue-wan-88")
    assert client.get("/admin/").status_code == 200  # still signed in: nothing changed


def test_the_demo_users_still_sign_in_with_the_demo_password(login_as):
    assert login_as("dealer1").get("/admin/").status_code == 200


def test_create_user_on_the_command_line_refuses_a_common_password(app):
    result = app.test_cli_runner().invoke(args=["create-user", "--username", "boss2", "--role", "admin",
                                                "--full-name", "老板"], input="admin123\nadmin123\n")
    assert result.exit_code != 0 and any(message in result.output for message in MESSAGES)
