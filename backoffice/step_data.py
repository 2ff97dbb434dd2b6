"""The small forms of workflow steps: field specs, and parsing of what was typed.

Specs are plain data so the ticket page renders them and the service validates them; values
arrive as strings (from a form or an API) and leave as Python values or field errors.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from models.choices import Settlement

from . import money, signatures
from .timezones import local_to_utc

TRUE = {"y", "yes", "on", "1", "true"}
SETTLEMENTS = {s.value for s in Settlement}


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # text, textarea, choice, decimal, datetime, rating, check, fees, engineer, code, part, signature
    label: object
    required: bool = False
    choices: str | None = None  # name of a choice list the view supplies (enum or lookup)


def parse(fields: tuple[Field, ...], raw: dict) -> tuple[dict, dict]:
    """(values, errors) for the step's fields from strings."""
    values, errors = {}, {}
    for spec in fields:
        value = raw.get(spec.name)
        try:
            values[spec.name] = PARSERS[spec.kind](value)
        except ValueError as exc:
            errors[spec.name] = exc.args[0] if exc.args else _l("Not valid.")
            continue
        if spec.required and values[spec.name] in (None, "", [], False):
            errors[spec.name] = _l("Required.")
    return values, errors


def _text(value):
    return (value or "").strip() if isinstance(value, str) else ""


def _decimal(value):
    return money.parse(_text(value))


def _datetime(value):
    text = _text(value)
    if not text:
        return None
    try:
        return local_to_utc(datetime.fromisoformat(text))
    except ValueError:
        raise ValueError(_l("Not a date and time.")) from None


def _rating(value):
    text = _text(value)
    if not text:
        return None
    if text not in {"1", "2", "3", "4", "5"}:
        raise ValueError(_l("Choose 1 to 5."))
    return int(text)


def _digits(text: str) -> bool:
    """Plain ASCII digits a BIGINT holds ("²" is a digit to str.isdigit(), not to int())."""
    return text.isascii() and text.isdecimal() and len(text) <= 18


def _id(value):
    text = _text(value)
    if not text:
        return None
    if not _digits(text):
        raise ValueError(_l("Not valid."))
    return int(text)


def _check(value):
    return _text(value).lower() in TRUE if isinstance(value, str) else bool(value)


def _fees(value):
    """[(item, amount)] from a list of {"item", "amount"} or ("item", "amount") pairs."""
    lines = []
    for entry in value or []:
        item, amount = (entry.get("item"), entry.get("amount")) if isinstance(entry, dict) else entry
        item = _text(item)
        if not item and not _text(amount):
            continue
        if not item:
            raise ValueError(_l("Every fee line needs an item."))
        number = _decimal(amount)
        if number is None:
            raise ValueError(_l("Every fee line needs an amount."))
        lines.append((item[:120], number))
    return lines


def _parts(value):
    """[(part_id, qty, settlement)] from (part, qty[, settlement]) entries; empty lines are
    skipped. The settlement says where the part came from (R-FEE-3): on account unless the
    outlet says it bought it for cash."""
    lines = []
    for entry in value or []:
        fields = (entry.get("part"), entry.get("qty"), entry.get("settlement")) if isinstance(entry, dict) else entry
        part, qty, settlement = (*fields, None)[:3]
        part, qty = _text(str(part or "")), _text(str(qty or ""))
        settlement = _text(str(settlement or "")) or Settlement.ON_ACCOUNT.value
        if not part:
            continue
        if not _digits(part) or settlement not in SETTLEMENTS:
            raise ValueError(_l("Not valid."))
        if qty and (not _digits(qty) or int(qty) < 1 or int(qty) > 99):
            raise ValueError(_l("A quantity from 1 to 99."))
        lines.append((int(part), int(qty or 1), settlement))
    return lines


PARSERS = {"text": _text, "textarea": _text, "choice": _text, "decimal": _decimal,
           "datetime": _datetime, "rating": _rating, "check": _check, "fees": _fees,
           "engineer": _id, "code": _id, "part": _id, "parts": _parts, "signature": signatures.decode}
