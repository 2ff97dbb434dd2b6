"""Every registered URL rule, with hostile path and query values, as anonymous and as each demo
role: no answer is a 5xx.

The walk is built from app.url_map, so a new screen is walked without touching this file. Each
rule is opened plainly by every client (anonymous and each demo role); the hostile path values
and query strings then go to the clients that reach the rule (a redirect to the login or a 403
comes before any query is read): in `make test` one such client in turn, so the walk stays at a
few thousand requests; with FUZZ_WALK=all (`make fuzz`) every one of them. POST-only rules get an
empty form with a valid CSRF token (and the query strings Flask-Admin actions read). A redirect
to another site (?next=//evil.example) counts as a failure too. All failures of a run are listed
together in one assertion message.
"""
from __future__ import annotations

import os
import re
import time
from urllib.parse import quote, urljoin, urlsplit

import pytest

from backoffice.demo import DEMO_PASSWORD
from tests.conftest import csrf_token

from .conftest import ROLES, ServerError, send, signed_in
from .strategies import FORM, form_body

pytestmark = pytest.mark.fuzz

LONG = "x" * 5000
# Values for a converter; each is quoted as a path segment (so "../" and "<" arrive encoded).
HOSTILE_PATH_VALUES = ["0", "-1", "9" * 25, "\x00", "../../etc/passwd", "<script>alert(1)</script>",
                       LONG, "长城 ☃ \u202e\ufeff"]
# A value that routes to the real handler, for rules where the hostile queries are tried.
PLAIN_PATH_VALUES = {"export_type": "csv", "step_name": "start_work"}
# One hostile thing per query string where it could mask another (a NUL is refused at the door).
HOSTILE_QUERIES = [
    "?id=", "?id=" + "9" * 25, "?id=-1&sort=999&desc=1", "?page=99999999999999999999",
    "?sort=&desc=&page=-1&page_size=99999999999999999999", "?flt0_0=&flt0_1=x&flt1_9=x&flt99_99=",
    "?search=%00", "?search=%ED%A0%80%FF%3Cscript%3E" + "%E9%95%BF" * 400,
    "?url=//evil.example&next=//evil.example",
    "?month=2026-13&from=0001-01-01&to=9999-12-31&phone=" + "9" * 300,
]
# What a POST-only rule (an action, a step) may read from its query string.
POST_QUERIES = ["?id=", "?id=" + "9" * 25, "?id=-1", "?url=//evil.example&next=//evil.example"]
SKIPPED = {"auth.logout"}  # walked last, per role: it ends the session the walk needs


def offsite(location: str) -> str | None:
    """The other host a redirect leads to, as a browser reads it (it treats "\\" as "/")."""
    host = urlsplit(urljoin("http://backoffice.test/", location.replace("\\", "/"))).netloc
    return None if host in ("", "backoffice.test", "localhost") else host


CONVERTER = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


def _path(rule, value: str | None) -> str:
    """The rule's URL with every converter set to value (None: a plain value that routes)."""
    def substitute(match):
        if value is None:
            return PLAIN_PATH_VALUES.get(match.group(1), "1")
        return quote(value.encode("utf-8"), safe="")
    return CONVERTER.sub(substitute, rule.rule)


def _urls(rule) -> list[str]:
    """The plain URL first, then one per hostile value (only digits can route to an int)."""
    if not rule.arguments:
        return [_path(rule, None)]
    ints_only = all(type(c).__name__ == "IntegerConverter" for c in rule._converters.values())
    values = [v for v in HOSTILE_PATH_VALUES if not ints_only or v.isdigit() or v == "-1"]
    return [_path(rule, None)] + [_path(rule, value) for value in values]


def _reached(response) -> bool:
    """Did the request get past sign-in and role checks (so that its query is read)?"""
    if response.status_code in (401, 403, 404, 405):
        return False
    return not (response.status_code == 302 and "/login" in response.headers.get("Location", ""))


class Walk:
    """All clients (anonymous and each role) walk the rules side by side, so that a hostile query
    can go to the roles that reach the page: to each of them when FUZZ_WALK=all (make fuzz), else
    to one of them in turn (every rule and hostile value still tried, by a rotating role)."""

    def __init__(self, app, everyone: bool):
        self.clients = {"anonymous": signed_in(app, None), **{role: signed_in(app, role) for role in ROLES}}
        self.everyone = everyone
        self.failures: list[str] = []
        self.sent = 0
        self.turn = 0

    def hit(self, who: str, method: str, url: str):
        client = self.clients[who]
        self.sent += 1
        try:
            response = send(client, method, url, data={"csrf_token": client.csrf} if method == "POST" else None)
        except ServerError as exc:
            self.failures.append(f"[{who}] {exc}")
            return None
        location = response.headers.get("Location", "")
        if 300 <= response.status_code < 400 and offsite(location):
            self.failures.append(f"[{who}] {method} {url}: open redirect to {location}")
        return response

    def some_of(self, whos: list[str]) -> list[str]:
        if self.everyone:
            return whos
        self.turn += 1
        return [whos[self.turn % len(whos)]]

    def rule(self, rule) -> None:
        methods = rule.methods - {"HEAD", "OPTIONS"}
        method = "GET" if "GET" in methods else "POST"
        urls = _urls(rule)
        reached = []
        for who in self.clients:
            base = self.hit(who, method, urls[0])
            if base is not None and _reached(base):
                reached.append(who)
        for url in urls[1:]:
            for who in self.some_of(reached or list(self.clients)):
                self.hit(who, method, url)
        if reached:
            for query in HOSTILE_QUERIES if method == "GET" else POST_QUERIES:
                for who in self.some_of(reached):
                    self.hit(who, method, urls[0] + query)

    def finish(self) -> None:
        """Every role is still signed in (else the walk lost its coverage on the way), then logs out."""
        for who, client in self.clients.items():
            if who != "anonymous" and client.get("/admin/").status_code != 200:
                self.failures.append(f"[{who}] was signed out during the walk")
            self.hit(who, "GET", "/logout")
            self.hit(who, "POST", "/logout")


def _static_walk(app, failures: list[str]) -> int:
    client = app.test_client()
    sent = 0
    for prefix in ("/static/", "/admin/static/"):
        for value in ["../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%00", "x" * 5000, "css/%ff%fe"]:
            sent += 1
            try:
                send(client, "GET", prefix + value)
            except ServerError as exc:
                failures.append(f"[anonymous] {exc}")
    return sent


def test_every_url_rule_with_hostile_values_answers_below_500(fuzz_app, record_property):
    started = time.monotonic()
    walk = Walk(fuzz_app, everyone=os.environ.get("FUZZ_WALK") == "all")
    for rule in sorted(fuzz_app.url_map.iter_rules(), key=lambda r: (r.rule, sorted(r.methods))):
        if rule.endpoint not in SKIPPED and not rule.endpoint.endswith("static"):
            walk.rule(rule)
    walk.finish()
    sent = walk.sent + _static_walk(fuzz_app, walk.failures)
    seconds = round(time.monotonic() - started, 1)
    record_property("requests", sent)
    record_property("seconds", seconds)
    print(f"url walk: {sent} requests in {seconds} s")
    unique = list(dict.fromkeys(walk.failures))
    assert not unique, f"{len(unique)} failures in {sent} requests:\n\n" + "\n\n".join(unique)


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "/\\evil.example", "\\\\evil.example",
                                    "http:evil.example", "%2F%2Fevil.example", "/%09/evil.example", "\x00", "9" * 5000])
def test_signing_in_with_a_hostile_next_stays_on_the_site(fuzz_app, target):
    client = fuzz_app.test_client()
    form = form_body({"username": "clerk", "password": DEMO_PASSWORD, "csrf_token": csrf_token(client),
                      "next": target})
    response = send(client, "POST", "/login?" + form_body({"next": target}).decode(), data=form, content_type=FORM)
    assert offsite(response.headers.get("Location", "")) is None, response.headers["Location"]
