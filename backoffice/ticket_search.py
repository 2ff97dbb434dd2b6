"""The ticket list's search box at a million tickets (issue 16).

A clerk types a phone, a ticket number, a serial or a name. What the text looks like decides
where to look, and every place is an index lookup instead of a wildcard scan over joins:

- a ticket number (SV20261122-0007, also typed without "SV", the dash or the leading zeros):
  the unique index on ticket.number;
- four digits or more (a phone as the caller says it, with spaces, dashes or +86): the
  normalised phone (models.customers.phone_key) of the customer containing them (its last
  four digits too), the ticket's contact phone starting with them, the second phone as typed;
- a serial as scanned or typed: unit.serial;
- any other text of two characters or more: the customer's name starting with it, and from
  three characters on, a name or address containing it (a pg_trgm GIN index on PostgreSQL,
  migration 0023; LIKE on SQLite, whose embedded databases are small).

The places' ticket ids are united, so the database answers each from its own index and the
list's order and page apply to the few tickets found. The row scope (backoffice.access) applies
to every branch as to any query.
"""
from __future__ import annotations

import re

from sqlalchemy import ColumnElement, false, or_, select, union
from sqlalchemy.orm import Session

from models import Customer, Ticket, Unit
from models.customers import phone_key

from .numbering import PREFIX as TICKET_NUMBER_PREFIX

NUMBER_RE = re.compile(rf"^(?:{TICKET_NUMBER_PREFIX})?(\d{{8}})-?(\d{{1,6}})$", re.IGNORECASE)
PHONE_RE = re.compile(r"^\+?[\d\s\-()（）]+$")
SERIAL_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z\-_/.]*$")
MIN_PHONE_DIGITS = 4
MIN_NAME_CHARS = 2
MIN_CONTAINS_CHARS = 3  # a trigram index needs three characters to narrow anything


def ticket_number(text: str) -> str | None:
    """The stored form of a typed ticket number: sv20261122-7 -> SV20261122-0007."""
    found = NUMBER_RE.match(text)
    if not found:
        return None
    day, seq = found.groups()
    return f"{TICKET_NUMBER_PREFIX}{day}-{int(seq):04d}"


def digits_prefix(column, digits: str) -> ColumnElement[bool]:
    """`column` starts with `digits`, as a range an ordinary B-tree index answers in any
    collation: digit strings between "1389" and "1390" are exactly those starting with "1389"."""
    upper = str(int(digits) + 1).zfill(len(digits))
    if len(upper) > len(digits):  # "999" has no successor of its length: everything above
        return column >= digits
    return (column >= digits) & (column < upper)


def condition(session: Session, text: str) -> ColumnElement[bool]:
    """The list's search as a WHERE condition on Ticket. Several places to look are united as
    ticket ids, each answered from its own index; one place is its own condition, so a broad
    name ("天河区" in thousands of addresses) lets the list stop at its page and count cap."""
    text = " ".join((text or "").split())
    branches = [*_number_branch(text), *_contact_phone_branch(text), *_serial_branch(text),
                *_customer_branch(text, session.get_bind().dialect.name)]
    if not branches:
        return false()
    if len(branches) == 1:
        return branches[0]
    return Ticket.id.in_(union(*(select(Ticket.id).where(found) for found in branches)).scalar_subquery())


def _number_branch(text: str) -> list[ColumnElement[bool]]:
    number = ticket_number(text)
    return [] if number is None else [Ticket.number == number]


def customer_condition(text: str, dialect: str) -> ColumnElement[bool] | None:
    """The customers a typed text finds (the archive's search; the ticket search's customer part):
    digits in the normalised phone (its last four, say: a pg_trgm index on PostgreSQL) or the
    second phone as typed; otherwise the name from its start, or name or address containing
    the text from three characters on. None when the text finds no one."""
    text = " ".join((text or "").split())
    if PHONE_RE.match(text):
        key = phone_key(text)
        if key is None or len(key) < MIN_PHONE_DIGITS:
            return None
        return or_(Customer.phone_key.contains(key, autoescape=True), Customer.phone2 == text)
    if len(text) < MIN_NAME_CHARS:
        return None
    if len(text) < MIN_CONTAINS_CHARS:
        return Customer.name.startswith(text, autoescape=True)
    like = "icontains" if dialect == "postgresql" else "contains"  # SQLite's LIKE ignores case already
    return or_(getattr(Customer.name, like)(text, autoescape=True),
               getattr(Customer.address, like)(text, autoescape=True))


def _customer_branch(text: str, dialect: str) -> list[ColumnElement[bool]]:
    found = customer_condition(text, dialect)
    return [] if found is None else [Ticket.customer_id.in_(select(Customer.id).where(found))]


def _contact_phone_branch(text: str) -> list[ColumnElement[bool]]:
    """The ticket's contact phone as typed from its start, through its B-tree index."""
    key = phone_key(text) if PHONE_RE.match(text) else None
    return [] if key is None or len(key) < MIN_PHONE_DIGITS else [digits_prefix(Ticket.contact_phone_key, key)]


def _serial_branch(text: str) -> list[ColumnElement[bool]]:
    if not SERIAL_RE.match(text) or len(text) > 60:
        return []
    serials = {text, text.upper()}
    return [Ticket.unit_id.in_(select(Unit.id).where(Unit.serial.in_(serials)))]
