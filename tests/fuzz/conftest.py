"""Fuzz suite: shared app, budget and "no 5xx" helpers.

The budget comes from the environment, so that `make test` stays quick and `make fuzz` goes deep:

- FUZZ_EXAMPLES: examples per hypothesis/schemathesis test (default 50: the suite takes about a
  minute in `make test`; `make fuzz` uses 500);
- FUZZ_RANDOM=1: a fresh random seed each run, with shrinking (default: derandomized, the same
  examples every run, so that CI is reproducible; `make fuzz` sets it to look further);
- FUZZ_WALK=all: the URL walk sends every hostile value as every role that reaches the rule
  (default: as one of them in turn; `make fuzz` sets it).

Known-dangerous inputs are explicit examples (hypothesis @example), so every run tries them.

The app is built once per module from the demo template of tests/conftest.py, with the public
and API rate limits widened (PUBLIC_RATE_LIMITS, API_READ_LIMIT) so that hundreds of reports from
one client are not 429s.
With TESTING on, an unhandled exception propagates out of the test client instead of becoming a
500 page: `send()` turns both into one failure line with the traceback's last frames.
"""
from __future__ import annotations

import os
import shutil
import sys
import traceback

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import core as hypothesis_core
from hypothesis.vendor import pretty

from models import db
from tests.conftest import csrf_token, login, make_app

# Schemathesis' pytest plugin swaps Hypothesis' printer for one that prints nothing (a speed-up
# for its own runs), which leaves "Failing test case: check(fields=,)" in our reports. Put the
# real one back; schemathesis patches only once per process, so it stays.
hypothesis_core.RepresentationPrinter = pretty.RepresentationPrinter

ROLES = ("admin", "manager", "clerk", "engineer", "dealer1", "dealer2")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
RANDOM = os.environ.get("FUZZ_RANDOM", "") == "1"
WIDE_LIMITS = {"report": (10**9, 60), "track": (10**9, 10)}
WIDE = {"PUBLIC_RATE_LIMITS": WIDE_LIMITS, "API_READ_LIMIT": (10**9, 1)}


def fuzz_settings(factor: float = 1.0) -> settings:
    """Hypothesis settings of this suite: FUZZ_EXAMPLES (times factor), no deadline (SQLite on a
    busy machine), no example database (.hypothesis/ keeps no failures). Unless FUZZ_RANDOM=1,
    derandomized and without shrinking: the same examples every run, and a failure reported as
    found (shrinking a request-per-example test can take minutes; the failure message carries
    the request already)."""
    phases = list(Phase) if RANDOM else [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
    return settings(max_examples=max(1, int(EXAMPLES * factor)), deadline=None, database=None,
                    derandomize=not RANDOM, print_blob=True, phases=phases,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])


@pytest.fixture(scope="module")
def fuzz_app(demo_template, tmp_path_factory):
    """One demo-seeded app per module: fuzzing needs many requests, not a fresh database each."""
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    shutil.copy(demo_template, path)
    app = make_app(f"sqlite:///{path}", **WIDE)
    yield app
    with app.app_context():
        db.engine.dispose()


def signed_in(app, username: str | None):
    """A test client signed in as that demo user (None: anonymous), with .csrf set."""
    client = app.test_client()
    if username is None:
        client.csrf = csrf_token(client, "/login")
        return client
    response = login(client, username)
    assert response.status_code == 302, f"{username} cannot sign in: {response.status_code}"
    client.csrf = csrf_token(client, "/admin/")
    return client


def short(text: str, limit: int = 300) -> str:
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def last_frames(limit: int = 3) -> str:
    """Where it broke: the last frames in the project's own code (not in .venv), then the error."""
    exc = sys.exc_info()[1]
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "site-packages" not in f.filename
              and "/tests/" not in f.filename]
    lines = [f"  {f.filename}:{f.lineno} in {f.name}: {short(f.line or '', 160)}" for f in frames[-limit:]]
    return "\n".join([*lines, short(f"{type(exc).__name__}: {exc}".splitlines()[0], 300)])


class ServerError(AssertionError):
    pass


def send(client, method: str, url: str, **kwargs):
    """One request; an exception escaping the app, or a 5xx, raises ServerError with the input."""
    data = kwargs.get("data")
    if isinstance(data, bytes):
        data = data.decode("utf-8", "backslashreplace")
    sent = f"{method} {short(url)}" + (f" body={short(data, 600)}" if isinstance(data, str) else "")
    try:
        response = client.open(url, method=method, **kwargs)
        response.get_data()
    except Exception:
        raise ServerError(f"{sent}\n{last_frames()}") from None
    if response.status_code >= 500:
        raise ServerError(f"{sent}: HTTP {response.status_code}")
    return response
