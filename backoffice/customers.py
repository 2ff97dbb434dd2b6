"""Customer archive rules (DOMAIN §2)."""
from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Customer, Unit
from models.customers import phone_key

from .access import UNSCOPED
from .errors import FieldErrors, ValidationFailed
from .timezones import local_today

PHONE_RE = re.compile(r"^[0-9+\-() ]{5,30}$")
# Plausible invoice dates (R-WAR-1): an invoice dated before 2000 or after today (1900, 2100)
# is a typing error, not a purchase; it would decide the warranty wrongly. Lifetime repair of
# an older unit needs no invoice date at all.
EARLIEST_INVOICE = date(2000, 1, 1)


def invoice_date_problem(invoice_date: date | None):
    """The message for an implausible invoice date, else None."""
    if invoice_date is None:
        return None
    if invoice_date < EARLIEST_INVOICE:
        return _l("The invoice date cannot be before %(date)s.", date=EARLIEST_INVOICE.isoformat())
    if invoice_date > local_today():
        return _l("The date cannot be in the future.")
    return None


def validate_phone(phone: str | None) -> None:
    if phone and not PHONE_RE.match(phone.strip()):
        raise ValidationFailed(_l("%(phone)s is not a phone number.", phone=phone))


def validate_customer(customer: Customer) -> None:
    if not (customer.name or "").strip():
        raise ValidationFailed(_l("The customer's name is required."))
    if not (customer.phone or "").strip():
        raise ValidationFailed(_l("The customer's phone is required: it is the lookup key."))
    validate_phone(customer.phone)
    validate_phone(customer.phone2)
    customer.phone = customer.phone.strip()


def known_caller(session: Session, phone: str | None) -> Customer | None:
    """R-CUS-1: the archive's customer with this normalised phone, whichever outlet serves them
    (the uniqueness is the network's, not the user's scope)."""
    key = phone_key(phone)
    if key is None:
        return None
    return session.scalar(select(Customer).where(Customer.phone_key == key).execution_options(**UNSCOPED))


def visible(session: Session, customer: Customer) -> bool:
    """Whether the user's row scope shows this customer (a dealer: its own outlets' only)."""
    return session.scalar(select(Customer.id).where(Customer.id == customer.id)) is not None


def check_phone_free(session: Session, customer: Customer) -> None:
    """R-CUS-1 on the archive form: a second record for a known phone is refused, naming the
    first one when the user may see it."""
    with session.no_autoflush:  # the new record would flush into the UNIQUE phone key first
        other = known_caller(session, customer.phone)
        shown = other is not None and other is not customer and visible(session, other)
    if other is None or other is customer:
        return
    if shown:
        raise ValidationFailed(_l("The phone %(phone)s is already in the archive as %(name)s: open that "
                                  "customer (or add this person there as a contact) instead of a second record.",
                                  phone=customer.phone, name=other.name))
    raise ValidationFailed(_l("The phone %(phone)s belongs to a customer served by another outlet: ask the "
                              "service center.", phone=customer.phone))


def same_phone(session: Session, customer: Customer) -> list[Customer]:
    """Other archive records (within the user's scope) sharing a phone number."""
    phones = [p for p in (customer.phone, customer.phone2) if p]
    if not phones:
        return []
    session.flush()  # a new record needs its id before it can be excluded
    stmt = select(Customer).where(or_(Customer.phone.in_(phones), Customer.phone2.in_(phones)))
    stmt = stmt.where(Customer.id != customer.id)
    return list(session.scalars(stmt.limit(5)))


def validate_unit(unit: Unit) -> None:
    if not (unit.serial or "").strip():
        raise ValidationFailed(_l("The serial number is required."))
    if unit.price is not None and unit.price < 0:
        raise ValidationFailed(_l("The price cannot be negative."))
    problem = invoice_date_problem(unit.invoice_date)
    if problem:
        raise FieldErrors({"invoice_date": problem})
    unit.serial = unit.serial.strip()
