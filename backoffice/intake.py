"""Registering a fault report from any channel (R-TKT-1, R-TKT-2).

The clerk's intake screen, the public web form and the channel API all come through
`register_report`: it validates field by field, finds or creates the customer (phone is the
lookup key) and the unit (model + serial), and registers the ticket with its number,
warranty verdict and SLA clocks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from models import Customer, Outlet, ProductModel, Ticket, Unit, User
from models.choices import Area, Channel, IssueCategory, TicketKind, TicketStatus

from . import tickets
from .customers import PHONE_RE
from .errors import FieldErrors, ValidationFailed
from .timezones import local_today

MAX_FAULT = 2000
OPEN = [s.value for s in TicketStatus if s != TicketStatus.CLOSED]


@dataclass
class Report:
    """What a caller, a web visitor or an integration tells us."""

    kind: str = TicketKind.REPAIR.value
    category: str = IssueCategory.QUALITY.value
    fault: str = ""
    channel: str = Channel.HOTLINE.value
    occurred_at: datetime | None = None
    customer: dict = field(default_factory=dict)  # name, phone, address, area, region
    unit: dict = field(default_factory=dict)  # model_code, serial, invoice_no, invoice_date, outlet_code
    customer_id: int | None = None  # intake screen: an archive record chosen by the clerk
    unit_id: int | None = None
    outlet_id: int | None = None


@dataclass
class PhoneLookup:
    phone: str
    customers: list


def lookup_phone(session: Session, phone: str) -> PhoneLookup:
    """Customers with this phone (within the caller's scope), with units and open tickets."""
    phone = (phone or "").strip()
    if len(phone) < 4:
        return PhoneLookup(phone, [])
    stmt = (select(Customer)
            .where(or_(Customer.phone.contains(phone), Customer.phone2.contains(phone)))
            .options(selectinload(Customer.units).selectinload(Unit.product_model),
                     selectinload(Customer.tickets))
            .order_by(Customer.name).limit(10))
    return PhoneLookup(phone, list(session.scalars(stmt)))


def open_tickets(customer: Customer) -> list[Ticket]:
    return [t for t in customer.tickets if t.status in OPEN]


def _text(value, limit=None) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    return text[:limit] if limit else text


def _date(value, errors: dict, key: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        parsed = value
    else:
        try:
            parsed = date.fromisoformat(str(value))
        except ValueError:
            errors[key] = _l("Not a date: use YYYY-MM-DD.")
            return None
    if parsed > local_today():
        errors[key] = _l("The date cannot be in the future.")
    return parsed


def _check_ticket_fields(report: Report, errors: dict) -> None:
    if report.kind not in {k.value for k in TicketKind}:
        errors["kind"] = _l("Unknown kind of ticket.")
    if report.category not in {c.value for c in IssueCategory}:
        errors["category"] = _l("Unknown category.")
    if report.channel not in {c.value for c in Channel}:
        errors["channel"] = _l("Unknown channel.")
    fault = _text(report.fault)
    if not fault:
        errors["fault"] = _l("Describe the fault.")
    elif len(fault) > MAX_FAULT:
        errors["fault"] = _l("At most %(n)d characters.", n=MAX_FAULT)


def _customer(session: Session, report: Report, outlet: Outlet | None, errors: dict) -> Customer | None:
    if report.customer_id is not None:
        found = session.get(Customer, report.customer_id)  # scoped: None when out of scope
        if found is None:
            errors["customer_id"] = _l("No such customer.")
        return found
    data = report.customer or {}
    name, phone = _text(data.get("name"), 60), _text(data.get("phone"), 30)
    area = data.get("area") or Area.URBAN.value
    if not name:
        errors["customer.name"] = _l("The customer's name is required.")
    if not phone:
        errors["customer.phone"] = _l("The customer's phone is required: it is the lookup key.")
    elif not PHONE_RE.match(phone):
        errors["customer.phone"] = _l("%(phone)s is not a phone number.", phone=phone)
    if area not in {a.value for a in Area}:
        errors["customer.area"] = _l("Choose urban or suburban.")
    if errors or outlet is None:
        return None
    existing = session.scalars(select(Customer).where(
        Customer.phone == phone, Customer.name == name).order_by(Customer.id)).first()
    if existing is not None:
        return existing
    customer = Customer(name=name, phone=phone, address=_text(data.get("address"), 255),
                        region=_text(data.get("region"), 60), area=area, outlet=outlet)
    session.add(customer)
    return customer


def _outlet(session: Session, report: Report, errors: dict) -> Outlet | None:
    if report.outlet_id is not None:
        outlet = session.get(Outlet, report.outlet_id)
        key = "outlet_id"
    else:
        code = _text((report.unit or {}).get("outlet_code"))
        outlet = session.scalar(select(Outlet).where(Outlet.code == code)) if code else None
        key = "unit.outlet_code"
    if outlet is None or not outlet.active:
        errors[key] = _l("Unknown outlet.")
        return None
    return outlet


def _unit(session: Session, report: Report, customer: Customer | None, outlet: Outlet | None,
          errors: dict) -> Unit | None:
    if report.unit_id is not None:
        unit = session.get(Unit, report.unit_id)
        if unit is None:
            errors["unit_id"] = _l("No such unit.")
        return unit
    data = report.unit or {}
    if not data:
        return None
    model = session.scalar(select(ProductModel).where(ProductModel.code == _text(data.get("model_code"))))
    if model is None or not model.active:
        errors["unit.model_code"] = _l("Unknown product model.")
    serial = _text(data.get("serial"), 60)
    if not serial:
        errors["unit.serial"] = _l("The serial number is required.")
    invoice_date = _date(data.get("invoice_date"), errors, "unit.invoice_date")
    if errors or customer is None:
        return None
    unit = session.scalar(select(Unit).where(Unit.product_model_id == model.id, Unit.serial == serial))
    if unit is not None:
        if unit.customer_id is not None and unit.customer_id != customer.id:
            errors["unit.serial"] = _l("This serial number is registered to another customer.")
        return unit
    unit = Unit(product_model=model, serial=serial, customer=customer, outlet=outlet,
                invoice_no=_text(data.get("invoice_no"), 60), invoice_date=invoice_date)
    session.add(unit)
    return unit


def register_report(session: Session, report: Report, actor: User | None) -> Ticket:
    """Validate everything first, then create what is missing and register the ticket."""
    errors: dict = {}
    _check_ticket_fields(report, errors)
    session.flush()  # look-ups below must see earlier work of this transaction
    with session.no_autoflush:
        outlet = _outlet(session, report, errors)
        customer = _customer(session, report, outlet, errors)
        unit = _unit(session, report, customer, outlet, errors)
        if unit is not None and customer is not None and report.unit_id is not None \
                and unit.customer_id != customer.id:
            errors["unit_id"] = _l("The unit does not belong to the selected customer.")
    if errors:
        session.rollback()
        raise FieldErrors(errors)
    ticket = Ticket(kind=report.kind, channel=report.channel, category=report.category,
                    fault_description=_text(report.fault), occurred_at=report.occurred_at,
                    customer=customer, unit=unit, outlet=outlet, area=customer.area)
    session.add(ticket)
    try:
        return tickets.register_ticket(session, ticket, actor)
    except FieldErrors:
        raise
    except ValidationFailed as exc:  # a rule of the ticket itself: report it like a field error
        session.rollback()
        raise FieldErrors({"ticket": exc.message}) from None
