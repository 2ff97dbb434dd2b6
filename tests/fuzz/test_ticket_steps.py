"""Every workflow step of the ticket page, posted with an empty form, a hostile loaded_version and
generated field values, as the staff roles that take steps: no answer is a 5xx, and no stored value breaks
the page. Half of the generated forms carry the ticket's real version, so the step's fields are
parsed and, when they pass, the step is taken and the ticket page opened again.
"""
from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from backoffice.workflow import BY_NAME

from .conftest import fuzz_settings, send, signed_in
from .strategies import FORM, form_body, hostile_text, odd_datetimes, odd_numbers

pytestmark = pytest.mark.fuzz

STEP_ROLES = ("clerk", "engineer", "manager", "dealer1")
HOSTILE_VERSIONS = ["", "abc", "1.5", "-1", "0", "9" * 25, "1e309", " 1 ", "\x00", "١"]
DETAILS_ID = re.compile(r"/admin/ticket/details/\?id=(\d+)")
VERSION = re.compile(r'name="loaded_version" value="(\d+)"')


def values_for(kind: str) -> st.SearchStrategy:
    """What a field of this kind may receive: plausible and hostile strings (lists for fees/parts)."""
    pair = st.tuples(hostile_text(20), odd_numbers())
    return {
        "decimal": st.one_of(st.sampled_from(["12.50", "0", "9999999999.99"]), odd_numbers()),
        "rating": st.one_of(st.sampled_from(["1", "5"]), odd_numbers()),
        "datetime": odd_datetimes(),
        "check": st.sampled_from(["y", "", "on", "0", "\x00", "yes" * 100]),
        "engineer": st.one_of(st.sampled_from(["1", "2", "3"]), odd_numbers()),
        "code": st.one_of(st.sampled_from(["1", "2", "3"]), odd_numbers()),
        "part": st.one_of(st.sampled_from(["1", "2"]), odd_numbers()),
        "fees": st.lists(pair, max_size=3),
        "parts": st.lists(st.tuples(st.one_of(st.sampled_from(["1", "2"]), odd_numbers()), odd_numbers()), max_size=3),
    }.get(kind, hostile_text(120))


@st.composite
def step_forms(draw, step_name: str) -> list[tuple[str, str]]:
    """The step's fields, each present or not, as (name, value) pairs (fees and parts repeat)."""
    pairs = []
    for spec in BY_NAME[step_name].fields:
        if not draw(st.booleans()):
            continue
        value = draw(values_for(spec.kind))
        if spec.kind == "fees":
            pairs += [p for item, amount in value for p in (("fee_item", item), ("fee_amount", amount))]
        elif spec.kind == "parts":
            pairs += [p for part, qty in value for p in (("part_id", part), ("part_qty", qty))]
        else:
            pairs.append((spec.name, value))
    return pairs


def encode(pairs: list[tuple[str, str]]) -> bytes:
    return b"&".join(form_body({key: value}) for key, value in pairs) if pairs else b""


def visible_tickets(client) -> list[str]:
    ids = DETAILS_ID.findall(client.get("/admin/ticket/").get_data(as_text=True))
    return list(dict.fromkeys(ids))[:5]


@pytest.mark.parametrize("username", STEP_ROLES)
def test_every_step_with_hostile_input_answers_below_500(fuzz_app, username):
    client, seen = signed_in(fuzz_app, username), Counter()
    tickets = visible_tickets(client)
    assert tickets, f"{username} sees no ticket to take steps on"

    @fuzz_settings(0.5)
    @given(data=st.data(), step_name=st.sampled_from(sorted(BY_NAME)), ticket_id=st.sampled_from(tickets),
           version=st.one_of(st.none(), st.sampled_from(HOSTILE_VERSIONS)))
    def check(data, step_name, ticket_id, version):
        details = f"/admin/ticket/details/?id={ticket_id}"
        if version is None:  # the real one, so that the fields are read
            found = VERSION.search(send(client, "GET", details).get_data(as_text=True))
            version = found.group(1) if found else ""
        fields = data.draw(step_forms(step_name), label="fields") if data is not None else []
        body = encode([("csrf_token", client.csrf), ("loaded_version", version), *fields])
        response = send(client, "POST", f"/admin/ticket/transition/{step_name}/?id={ticket_id}", data=body,
                        content_type=FORM)
        seen[response.status_code] += 1
        if response.status_code == 302:
            assert "/login" not in response.headers["Location"], "signed out by a step"
            send(client, "GET", details)  # whatever the step stored, the page still opens

    # Every step with an empty form and a hostile version ("", "abc", "1.5" in turn), every run.
    shift = STEP_ROLES.index(username)
    for index, step_name in enumerate(sorted(BY_NAME)):
        version = HOSTILE_VERSIONS[(index + shift) % 3]
        check = example(data=None, step_name=step_name, ticket_id=tickets[0], version=version)(check)
    check()
    print(f"steps as {username}: HTTP {dict(sorted(seen.items()))}")
