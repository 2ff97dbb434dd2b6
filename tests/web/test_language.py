"""UI language per user, else per browser."""
from tests import factories as f


def test_language_choice_is_kept_on_the_account(login_as, session):
    clerk = login_as("clerk")
    response = clerk.post("/locale", data={"locale": "en", "next": "/admin/ticket/",
                                           "csrf_token": clerk.csrf})
    assert response.status_code == 302 and response.location.endswith("/admin/ticket/")
    session.expire_all()
    assert f.user(session, "clerk").locale == "en"
    assert "Tickets" in clerk.get("/admin/ticket/").get_data(as_text=True)


def test_unknown_language_is_ignored(login_as, session):
    clerk = login_as("clerk")
    clerk.post("/locale", data={"locale": "xx", "csrf_token": clerk.csrf})
    session.expire_all()
    assert f.user(session, "clerk").locale is None


def test_language_switch_never_redirects_off_site(login_as):
    clerk = login_as("clerk")
    response = clerk.post("/locale", data={"locale": "en", "next": "https://evil.example/",
                                           "csrf_token": clerk.csrf})
    assert response.location.endswith("/admin/")


def test_browser_language_is_used_before_sign_in(client):
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert 'lang="en"' in english.get_data(as_text=True)
    chinese = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert 'lang="zh-CN"' in chinese.get_data(as_text=True)
