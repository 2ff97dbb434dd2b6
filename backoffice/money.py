"""Money: yuan amounts as Decimal with two places, the `Numeric(12, 2)` range, and one parser
for every amount typed on a form or sent by the API."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# The largest amount a Numeric(12, 2) column holds.
MAX_AMOUNT = Decimal("9999999999.99")
NOT_AN_AMOUNT = _l("Not an amount.")
AMOUNT_FORMAT = _l("An amount of yuan with at most two decimals.")


def money(value) -> Decimal:
    """Quantise to cents (half-even, the Decimal default)."""
    return Decimal(value).quantize(CENT)


def parse(value, *, signed: bool = False) -> Decimal | None:
    """An amount as typed ("1,234.50", "¥120") or a JSON number; empty gives None.

    Raises ValueError with a message in the user's language. NaN, infinities and anything
    beyond the column's range are refused before quantising (1e400 would overflow)."""
    text = str(value if value is not None else "").strip().replace(",", "").replace("¥", "")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(NOT_AN_AMOUNT) from None
    if not number.is_finite():
        raise ValueError(NOT_AN_AMOUNT)
    if (number < 0 and not signed) or abs(number) > MAX_AMOUNT or number != number.quantize(CENT):
        raise ValueError(AMOUNT_FORMAT)
    return money(number)


def fits(value: Decimal) -> bool:
    """Whether an amount (a balance, a total) still fits its Numeric(12, 2) column."""
    return abs(value) <= MAX_AMOUNT
