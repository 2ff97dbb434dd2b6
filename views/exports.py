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


# --- list exports: rows arrive in batches, the file says when a cap cut it --------------------------

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TRUNCATED_HEADER = "X-Export-Truncated"  # its value: how many rows the file holds


def truncation_notice(cap: int) -> str:
    """The last line of a file a cap cut short, in the user's language."""
    from flask_babel import gettext

    return gettext("Only the first %(n)d rows were exported; narrow the filter.", n=cap)


def csv_chunks(header, batches, notice: str | None = None):
    """A CSV file as UTF-8 chunks: the BOM and the header first (Excel on Chinese Windows needs
    the BOM to read UTF-8), then one chunk per batch of rows, then the notice if a cap applied.
    Cells must already be safe (`safe_cell`)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def take() -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text.encode()

    buffer.write(BOM)
    writer.writerow(header)
    yield take()
    for batch in batches:
        writer.writerows(batch)
        yield take()
    if notice:
        writer.writerow([safe_cell(notice)])
        yield take()


def sheet_title(name: str) -> str:
    """An XLSX sheet name: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", " ", str(name))[:31].strip() or "Sheet1"


def xlsx_bytes(title: str, header, batches, notice: str | None = None) -> bytes:
    """An XLSX file written row by row (openpyxl write-only: the rows are not kept in memory);
    a bold header, the notice in the last row if a cap applied. Row cells come ready (`xlsx_cell`)."""
    import io

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title(title))
    bold = Font(bold=True)
    sheet.append([_bold(sheet, safe_cell(h), bold, WriteOnlyCell) for h in header])
    for batch in batches:
        for row in batch:
            sheet.append(row)
    if notice:
        sheet.append([_bold(sheet, safe_cell(notice), bold, WriteOnlyCell)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _bold(sheet, value, font, cell_class):
    cell = cell_class(sheet, value=value)
    cell.font = font
    return cell


def xlsx_cell(value):
    """One XLSX cell: numbers (int, Decimal) stay numbers so a column can be summed; anything
    else is the text `safe_cell` makes of it."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return value
    return safe_cell(value)


# --- reports: several titled tables in one file --------------------------------------------------

class Table:
    """One table of a report as exported: a title, a header row and rows of cells. Numbers
    (int, Decimal) stay numbers in XLSX so a column can be summed; text goes through safe_cell."""

    def __init__(self, title, header, rows):
        self.title, self.header, self.rows = str(title), [str(h) for h in header], [list(r) for r in rows]


def report_csv(tables: list[Table]) -> bytes:
    """CSV with a UTF-8 BOM: each table under its title, a blank line between tables."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for index, table in enumerate(tables):
        if index:
            writer.writerow([])
        writer.writerow([safe_cell(table.title)])
        writer.writerow([safe_cell(h) for h in table.header])
        writer.writerows([safe_cell(c) for c in row] for row in table.rows)
    return (BOM + buffer.getvalue()).encode()


def report_xlsx(tables: list[Table]) -> bytes:
    """XLSX with one sheet per table (sheet names unique, at most 31 characters)."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for index, table in enumerate(tables, start=1):
        name = sheet_title(table.title)[:28]
        while name in used:
            name = f"{name[:25]}_{index}"
        used.add(name)
        sheet = book.create_sheet(name)
        sheet.append([safe_cell(h) for h in table.header])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([xlsx_cell(c) for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def report_response(tables: list[Table], export_type: str, name: str):
    """The report as a download named `name`_<local time>.<csv|xlsx>; None for another type."""
    from flask import Response

    if export_type == "csv":
        body, mimetype = report_csv(tables), "text/csv"
    elif export_type == "xlsx":
        body, mimetype = report_xlsx(tables), XLSX_MIMETYPE
    else:
        return None
    now = stamp()
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": attachment(f"{name}_{now}.{export_type}", f"report_{now}.{export_type}")})
