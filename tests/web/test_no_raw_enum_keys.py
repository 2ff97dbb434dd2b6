"""No raw enum key (`human_damage`, `return_exchange` …) reaches a page: every value the
database keeps as a key is shown through its label, in the user's language."""
import html
import re
from enum import StrEnum

import pytest

from models import choices
from tests.web.test_smoke_every_page import ENDPOINTS

# The audit trail is the evidence of what was stored (R-RPT-3): field names and values exactly as
# kept, keys included. Every other screen shows labels.
SCREENS = [endpoint for endpoint in ENDPOINTS if endpoint != "audit"]

KEYS = sorted({member.value for enum in vars(choices).values()
               if isinstance(enum, type) and issubclass(enum, StrEnum) and enum is not StrEnum
               for member in enum if "_" in member.value})
# Scripts, and Flask-Admin's filter definitions (JSON for its script, option keys included), are
# not text a user reads; tags and attributes neither.
HIDDEN = re.compile(r"<(script|style|textarea)\b.*?</\1>|<div id=\"(?:filter-groups|active-filters)-data\".*?</div>"
                    r"|<[^>]+>", re.S)
WORD = re.compile(r"(?<![\w/.-])(" + "|".join(map(re.escape, KEYS)) + r")(?![\w/.-])")


def visible_text(page: str) -> str:
    return html.unescape(HIDDEN.sub(" ", page))


@pytest.mark.parametrize("username", ["clerk", "manager", "dealer1", "engineer"])
def test_no_page_shows_a_raw_enum_key(login_as, app, username):
    client = login_as(username)
    found = {}
    for endpoint in SCREENS:
        listing = client.get(f"/admin/{endpoint}/")
        if listing.status_code != 200:
            continue
        pages = [listing.get_data(as_text=True)]
        detail = re.search(rf'href="(/admin/{endpoint}/details/\?id=\d+)[^"]*"', pages[0])
        if detail:
            pages.append(client.get(html.unescape(detail.group(1))).get_data(as_text=True))
        for page in pages:
            raw = set(WORD.findall(visible_text(page)))
            if raw:
                found[endpoint] = sorted(raw)
    assert not found, found
