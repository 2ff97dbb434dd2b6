"""The source document of a ledger entry (R-PART-8): backoffice/ledger_source.py. Sources are
UNIQUE and matched as text, so every kind must build exactly the text stored before."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backoffice import ledger_source
from backoffice.ledger_source import Source

AT = datetime(2031, 3, 12, 2, 0, tzinfo=UTC)
TOKEN = "0123456789abcdef0123456789abcdef"

# Every kind, built, next to the text it has always been stored as.
BUILT = [
    (Source.quota(12, AT), "quota:12:2031-03-12T02:00:00+00:00"),
    (Source.adjustment(7, TOKEN), f"adjustment:7:{TOKEN}"),
    (Source.old_part(301, ledger_source.CREDIT), "old_part:301:credit"),
    (Source.old_part(301, ledger_source.CHARGE), "old_part:301:charge"),
    (Source.parts_request_line(88), "parts_request_line:88"),
    (Source.approval(5), "approval:5"),
    (Source.parts_request_line(88, ledger_source.MISSING), "parts_request_line:88:missing"),
    (Source.freight(41), "parts_request:41:freight"),
    (Source.correction(9, 2), "reconciliation:9:2"),
    (Source.retirement(17), "retirement:17"),
]


@pytest.mark.parametrize("source, stored", BUILT, ids=[text for _, text in BUILT])
def test_each_kind_builds_the_text_stored_before_and_parses_back(source, stored):
    assert str(source) == stored
    assert ledger_source.parse(stored) == source


def test_every_kind_has_a_builder():
    assert {source.kind for source, _ in BUILT} == set(ledger_source.KINDS)


def test_the_parsed_parts_name_the_document():
    found = ledger_source.parse("quota:12:2031-03-12T02:00:00+00:00")
    assert (found.kind, found.record_id, found.detail) == (ledger_source.QUOTA, 12, "2031-03-12T02:00:00+00:00")
    assert ledger_source.parse("parts_request_line:88:again3") == Source(ledger_source.PARTS_REQUEST_LINE, 88,
                                                                         "again3")


@pytest.mark.parametrize("text", [
    None, "", ":", "quota", "approval:", "approval:x", "approval:-5", "approval:0", "approval:007",
    "approval:1.5", "approval:²", "approval:１", "approval: 5", f"approval:{2**63}", "approval:" + "9" * 20,
    "legacy:<b>2025</b>", "test-quota:T-LEDGER", "test:month:3", "APPROVAL:5", "invoice:5",
])
def test_garbage_names_no_document(text):
    assert ledger_source.parse(text) is None


def test_an_old_part_is_credited_or_charged_nothing_else():
    with pytest.raises(ValueError):
        Source.old_part(301, "refund")


def test_a_source_is_a_value():
    assert Source.approval(5) == Source.approval(5) and len({Source.approval(5), Source.approval(5)}) == 1
    with pytest.raises(AttributeError):
        Source.approval(5).record_id = 6
