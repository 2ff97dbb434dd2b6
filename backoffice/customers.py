"""Customer archive rules (DOMAIN §2)."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Customer, Unit

from .errors import ValidationFailed

PHONE_RE = re.compile(r"^[0-9+\-() ]{5,30}$")


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
    unit.serial = unit.serial.strip()
