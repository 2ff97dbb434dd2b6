"""Fixtures and helpers shared by the web tests (Flask's test client); tests/conftest.py has the
app, the session and the signed-in clients. A module that needs a world of its own defines its
own `world` fixture, which takes precedence over this one."""
import re
from datetime import timedelta

import pytest

from models import utcnow
from tests import factories as f

LIST_COUNT_RE = re.compile(r'class="nav-link active">[^<(]*\((\d+)\)')  # the list's "List (N)" tab


@pytest.fixture
def world(app, session):
    """A small service network of its own (tests.factories.make_service_network), committed."""
    world = f.make_service_network(session)
    session.commit()
    return world


def overdue(ticket) -> None:
    """The ticket's first clock fell due an hour ago (R-SLA-1): overdue now."""
    ticket.clocks[0].due_at = utcnow() - timedelta(hours=1)


def listed(client, url: str) -> int:
    """The rows of the list behind a link ("List (N)"; no number when it is empty)."""
    match = LIST_COUNT_RE.search(client.get(url).get_data(as_text=True))
    return int(match.group(1)) if match else 0
