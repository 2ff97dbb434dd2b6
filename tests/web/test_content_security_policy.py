"""Every page is sent with a Content-Security-Policy that it passes: scripts from this site or
with the request's nonce, no inline event handlers. An injected <script>
or onclick="…" would therefore not run, even where escaping failed."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import PartsAccount, Ticket
from tests.web.test_forms_per_role import admin_views

INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
SCRIPT = re.compile(r"<script\b([^>]*)>", re.I)


def policy_of(response) -> dict:
    header = response.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def passes_policy(response) -> None:
    policy = policy_of(response)
    assert policy, "no Content-Security-Policy header"
    scripts = policy["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert policy["object-src"] == ["'none'"] and "frame-ancestors" in policy
    nonce = next(s[len("'nonce-"):-1] for s in scripts if s.startswith("'nonce-"))
    html = response.get_data(as_text=True)
    for attributes in SCRIPT.findall(html):
        assert "src=" in attributes or f'nonce="{nonce}"' in attributes, \
            f"inline script without the nonce: {attributes}"
    handlers = INLINE_HANDLER.findall(html)
    assert not handlers, handlers[:3]


def pages(app, session) -> list[str]:
    ticket = session.scalars(select(Ticket).order_by(Ticket.id)).first()
    account = session.scalars(select(PartsAccount).order_by(PartsAccount.id)).first()
    found = ["/admin/", "/admin/intake/", f"/admin/intake/receipt/{ticket.id}",
             f"/admin/ticket/details/?id={ticket.id}",
             f"/admin/ticket/edit/?id={ticket.id}", f"/admin/parts_account/details/?id={account.id}",
             "/admin/account/"]
    for endpoint, view in admin_views(app).items():
        if "admin" in view.roles:
            found.append(f"/admin/{endpoint}/")
        if "admin" in view.create_roles:
            found.append(f"/admin/{endpoint}/new/")
    return found


def test_every_admin_page_passes_its_content_security_policy(app, session, login_as):
    admin = login_as("admin")
    for url in pages(app, session):
        response = admin.get(url)
        assert response.status_code == 200, (url, response.status_code)
        passes_policy(response)


def test_the_dealers_parts_request_form_keeps_its_script_under_the_nonce(login_as):
    response = login_as("dealer1").get("/admin/parts_request/request/")
    assert response.status_code == 200 and "exception-group" in response.get_data(as_text=True)
    passes_policy(response)


@pytest.mark.parametrize("url", ["/login", "/report", "/track"])
def test_public_pages_pass_their_content_security_policy(client, url):
    passes_policy(client.get(url))


def test_each_request_has_its_own_nonce(client):
    first, second = policy_of(client.get("/login"))["script-src"], policy_of(client.get("/login"))["script-src"]
    assert first != second


def test_print_buttons_work_without_inline_script(login_as, session):
    ticket = session.scalars(select(Ticket).order_by(Ticket.id)).first()
    receipt = login_as("clerk").get(f"/admin/intake/receipt/{ticket.id}").get_data(as_text=True)
    assert 'data-action="print"' in receipt and "js/backoffice.js" in receipt
