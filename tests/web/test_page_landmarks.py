"""Issue 18 (accessibility): every backoffice screen is one <main> with exactly one <h1>. The
layout (views/templates/backoffice_base.html) makes the view's name the <h1> unless the page draws
its own, so a page with none or with two is a template that drew a second one."""
import re

import pytest

from tests.web.test_smoke_every_page import ENDPOINTS, PAGES

H1 = re.compile(r"<h1[\s>]")
MAIN = re.compile(r"<main[\s>]")


def _screens():
    urls = ["/admin/", "/admin/account/", "/admin/intake/", *PAGES]
    for endpoint in ENDPOINTS:
        urls += [f"/admin/{endpoint}/", f"/admin/{endpoint}/new/", f"/admin/{endpoint}/details/?id=1",
                 f"/admin/{endpoint}/edit/?id=1"]
    return urls


@pytest.mark.parametrize("username", ["admin", "clerk", "dealer1"])
def test_every_screen_has_one_main_and_one_h1(login_as, username):
    client = login_as(username)
    wrong = []
    for url in _screens():
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        page = response.get_data(as_text=True)
        mains, headings = len(MAIN.findall(page)), len(H1.findall(page))
        if (mains, headings) != (1, 1):
            wrong.append(f"{url}: {mains} <main>, {headings} <h1>")
    assert not wrong, "\n".join(wrong)
