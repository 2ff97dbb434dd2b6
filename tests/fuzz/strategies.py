"""Hypothesis strategies for hostile form and JSON input, and a form encoder that sends them
byte for byte (Werkzeug's test client refuses to encode a lone surrogate itself)."""
from __future__ import annotations

from urllib.parse import quote_from_bytes

from hypothesis import strategies as st

# Characters that have broken apps before: NUL and controls, lone surrogates, bidi and BOM,
# HTML/SQL/CSV/format metacharacters, CJK, emoji, combining marks, line and paragraph separators.
SPECIAL = ["\x00", "\x01", "\x1b", "\x7f", "\ud800", "\udfff", "\ud83d", "\u202e", "\ufeff", "\u2028",
           "\r\n", "\r", "\t", "<", ">", "&", "'", '"', "%", "%00", "\\", "{{", "}}", "%s", "=", "+", "-",
           "@", "长", "☃", "😀", "\u0301", "\U0010ffff"]
PIECES = st.one_of(st.characters(), st.characters(), st.sampled_from(SPECIAL))
HUGE_SIZES = (255, 256, 2000, 2001, 65_536, 300_000)
URL_SIZES = (255, 256, 1000, 2000)  # a request line beyond a few KB never reaches the app (gunicorn: 4094)


class Huge(str):
    """A long repeated string that prints short in hypothesis' falsifying examples."""

    def _repr_pretty_(self, printer, cycle):
        printer.text(f"{self[:1]!r} * {len(self)}")


def hostile_text(max_size: int = 80, huge=HUGE_SIZES) -> st.SearchStrategy[str]:
    """Any unicode (NUL and lone surrogates included), CSV formulas, or a huge string."""
    return st.one_of(
        st.lists(PIECES, max_size=max_size).map("".join),
        st.sampled_from(["", " ", "\x00", "\ud800", "=HYPERLINK(\"http://evil\")", "+1", "-1", "@SUM(A1)",
                         "<script>alert(1)</script>", "' OR 1=1 --", "${7*7}", "{{7*7}}", "null", "None"]),
        st.builds(lambda ch, n: Huge(ch * n), st.sampled_from(["x", "长", "\x00", "😀"]), st.sampled_from(huge)),
    )


def odd_numbers() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers().map(str),
        st.sampled_from(["0", "-0", "-1", "1.5", "1e309", "NaN", "inf", "9" * 25, "-" + "9" * 25, "0x10",
                         "١٢٣", "１２３", " 1", "1 ", "", "1,000.00", "2599.005", "99999999999.99"]),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
    )


def odd_dates() -> st.SearchStrategy[str]:
    return st.one_of(
        st.dates().map(lambda d: d.isoformat()),
        st.sampled_from(["0001-01-01", "9999-12-31", "1900-01-01", "2100-01-01", "2026-02-30", "2026-13-01",
                         "2026-00-00", "20260101", "2026/01/01", "01/02/2026", "-1", "0", "today", "",
                         "2026-01-01T25:61", "९९९९-०१-०१", "2026-01-01\x00", "10000-01-01"]),
    )


def odd_datetimes() -> st.SearchStrategy[str]:
    return st.one_of(
        st.datetimes().map(lambda d: d.isoformat()),
        st.sampled_from(["0001-01-01T00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00",
                         "9999-12-31T23:59", "2026-02-30T10:00", "2026-01-01T24:00", "2026-01-01T10:00Z",
                         "2026-01-01 10:00:00.1234567", "1970-01-01T00:00:00+25:00", "T", "", "now"]),
    )


def phones(huge=HUGE_SIZES) -> st.SearchStrategy[str]:
    """Plausible mobile numbers (so that some reports get through) and hostile ones."""
    return st.one_of(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
                     st.from_regex(r"\+?86[ -]?1[3-9][0-9]{9}", fullmatch=True), hostile_text(40, huge))


def form_body(fields: dict[str, str]) -> bytes:
    """application/x-www-form-urlencoded as a hostile client sends it: UTF-8, lone surrogates
    passed through as their (invalid) 3-byte sequences."""
    return b"&".join(quote_from_bytes(key.encode()).encode() + b"="
                     + quote_from_bytes(value.encode("utf-8", "surrogatepass"), safe=b"").encode()
                     for key, value in fields.items())


FORM = "application/x-www-form-urlencoded"


def kept_as_typed(value: str) -> bool:
    """Should a re-rendered form show this value as typed? Not when the server could not even
    decode it (lone surrogates arrive as U+FFFD)."""
    return not any("\ud800" <= ch <= "\udfff" for ch in value)
