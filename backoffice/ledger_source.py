"""The source document of a ledger entry (R-PART-8), built and read in one place.

A ledger entry's `source` is UNIQUE: it names the document (and line) that booked it, so a
retried or double-clicked posting books once. It is stored as text,
"<kind>:<record id>[:<detail>]":

    quota:<account id>:<instant, ISO 8601>      the quota brought in line with the purchases
    adjustment:<outlet id>:<form token>          a manager's debit, once per form
    old_part:<old part id>:credit|charge         an old part credited back or charged
    parts_request_line:<line id>                 a line issued on account or bought
    parts_request_line:<line id>:missing         the one credit of a line's missing parts
    approval:<approval request id>               a credit another manager approved
    retirement:<outlet id>                       the quota withdrawn when the outlet retired
    parts_request:<request id>:freight           the freight of a shipment, paid by the outlet
    reconciliation:<dispute id>:<line n>         a correction resolving a disputed statement

The text of every source ever stored must stay the same (existing entries are matched by it),
so `str(Source.approval(7))` is "approval:7", exactly as it always was.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

QUOTA = "quota"
ADJUSTMENT = "adjustment"
OLD_PART = "old_part"
PARTS_REQUEST_LINE = "parts_request_line"
APPROVAL = "approval"
RETIREMENT = "retirement"
PARTS_REQUEST = "parts_request"
RECONCILIATION = "reconciliation"
KINDS = (QUOTA, ADJUSTMENT, OLD_PART, PARTS_REQUEST_LINE, APPROVAL, RETIREMENT, PARTS_REQUEST, RECONCILIATION)

FREIGHT = "freight"  # a request's shipment: its freight, paid by the receiving outlet
MISSING = "missing"  # a request line's missing parts, credited once (R-PART-10)

# What became of an old part: credited back to the account, or charged in cash.
CREDIT = "credit"
CHARGE = "charge"
OUTCOMES = (CREDIT, CHARGE)

MAX_ID = 2**63 - 1  # a BIGINT


@dataclass(frozen=True)
class Source:
    kind: str
    record_id: int
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.record_id}:{self.detail}" if self.detail else f"{self.kind}:{self.record_id}"

    @classmethod
    def quota(cls, account_id: int, at: datetime) -> Source:
        return cls(QUOTA, account_id, at.isoformat())

    @classmethod
    def adjustment(cls, outlet_id: int, token: str) -> Source:
        return cls(ADJUSTMENT, outlet_id, token)

    @classmethod
    def old_part(cls, old_part_id: int, outcome: str) -> Source:
        if outcome not in OUTCOMES:
            raise ValueError(f"an old part is credited or charged, not {outcome!r}")
        return cls(OLD_PART, old_part_id, outcome)

    @classmethod
    def parts_request_line(cls, line_id: int, detail: str = "") -> Source:
        if detail not in ("", MISSING):
            raise ValueError(f"a request line is issued, bought or its missing parts credited, not {detail!r}")
        return cls(PARTS_REQUEST_LINE, line_id, detail)

    @classmethod
    def freight(cls, request_id: int) -> Source:
        return cls(PARTS_REQUEST, request_id, FREIGHT)

    @classmethod
    def correction(cls, dispute_id: int, line_no: int) -> Source:
        return cls(RECONCILIATION, dispute_id, str(line_no))

    @classmethod
    def approval(cls, approval_id: int) -> Source:
        return cls(APPROVAL, approval_id)

    @classmethod
    def retirement(cls, outlet_id: int) -> Source:
        return cls(RETIREMENT, outlet_id)


def parse(text: str | None) -> Source | None:
    """The document a stored source names, or None when it names none: an unknown kind (a
    source written by hand or by a test), or no record id. The detail is kept as written."""
    kind, _sep, rest = (text or "").partition(":")
    number, _sep, detail = rest.partition(":")
    record_id = _record_id(number)
    if kind not in KINDS or record_id is None:
        return None
    return Source(kind, record_id, detail)


def _record_id(text: str) -> int | None:
    if not (text.isascii() and text.isdecimal()) or len(text) > 19 or text.startswith("0"):
        return None
    number = int(text)
    return number if number <= MAX_ID else None
