"""Spreadsheet exports: cells a spreadsheet will not run, files Excel on Chinese Windows opens.

Every Flask-Admin export goes through SecureModelView (views/base.py), which passes each cell
through `safe_cell`; the parts statement CSV uses the same function and `attachment` header.

- Formula injection (OWASP "CSV injection"): a text cell starting with = + - @ TAB CR or LF is
  written with a leading apostrophe, so Excel / WPS / LibreOffice show it as text. Plain numbers
  ("2599.00", "-35.50": a minus followed only by digits and a decimal point) stay numbers: they
  cannot be formulas, and money columns must stay summable.
- Markup (a list formatter's link or badge used for export) becomes its plain text.
- Control characters other than TAB/LF/CR are dropped: XLSX cannot hold them.
- CSV files start with a UTF-8 byte-order mark; file names carry the screen's name in the
  user's language and the local time, with an ASCII fallback (RFC 6266 / RFC 5987).
"""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

from markupsafe import Markup

from backoffice.timezones import service_zone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?\Z")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")
BOM = "\ufeff"


def safe_cell(value) -> str:
    """The text of one exported cell, safe to open in a spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
        return str(value)
    text = value.striptags() if isinstance(value, Markup) else str(value)
    text = CONTROL_CHARS.sub("", text)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


csv_text = safe_cell  # the name the statement and ledger exports have used


def stamp(now: datetime | None = None) -> str:
    """Local time for a file name: 20261201-1530."""
    return (now or datetime.now(service_zone())).astimezone(service_zone()).strftime("%Y%m%d-%H%M")


def ascii_name(name: str) -> str:
    """A file name any browser and mail gateway keeps: letters, digits, dot, dash, underscore."""
    return UNSAFE_IN_NAME.sub("_", name).strip("._") or "export"


def attachment(filename: str, fallback: str | None = None) -> str:
    """Content-Disposition for a download named `filename` (any language): a quoted ASCII name
    for old clients, and filename* in UTF-8 for the others (RFC 6266, RFC 5987)."""
    filename = CONTROL_CHARS.sub("", filename).replace("\r", "").replace("\n", "")
    plain = ascii_name(fallback or filename)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
