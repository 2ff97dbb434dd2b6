"""Registering a fault report from any channel (R-TKT-1, R-TKT-2).

The clerk's intake screen, the public web form and the channel API all come through
`register_report`: it validates field by field, finds or creates the customer (phone is the
lookup key) and the unit (model + serial), and registers the ticket with its number,
warranty verdict and SLA clocks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from models import Customer, Outlet, ProductModel, Ticket, TicketEvent, Unit, User
from models.choices import Area, Channel, IssueCategory, PurchaseChannel, TicketKind, TicketStatus
from models.customers import phone_key

from . import customers, notifications, step_data, tickets
from .access import UNSCOPED
from .customers import PHONE_RE
from .errors import FieldErrors, ValidationFailed
from .labels import label

MAX_FAULT = 2000
PHONE_MAX = 30  # the phone columns' length
LOOKUP_MIN_DIGITS = 4  # fewer digits would list half the archive
MAX_SERIAL = 60  # unit.serial is VARCHAR(60)
OPEN = [s.value for s in TicketStatus if s != TicketStatus.CLOSED]


class NameChoice(StrEnum):
    CONTACT = "contact"  # the caller is another contact of the known customer
    CORRECT = "correct"  # the archive's name was wrong: correct it


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
    # Another name on a known phone (R-CUS-1): None asks the clerk; integrations and the public
    # form take the caller as another contact of the known customer.
    name_choice: str | None = None
    contact_name: str = ""
    # PIPL (R-NTF-1): the caller agreed to service messages; recorded with the channel it came by.
    consent: bool = False


@dataclass
class PhoneLookup:
    phone: str
    customers: list


def lookup_phone(session: Session, phone: str) -> PhoneLookup:
    """Customers with this phone (within the caller's scope), with units and open tickets."""
    phone = (phone or "").strip()
    key = phone_key(phone) if len(phone) <= PHONE_MAX else None  # longer than any stored phone
    if key is None or len(key) < LOOKUP_MIN_DIGITS:
        return PhoneLookup(phone, [])
    # Digits anywhere in the normalised phone ("尾号" too): a pg_trgm index answers on PostgreSQL
    # (migration 0023); the second phone as typed, through its own index.
    stmt = (select(Customer)
            .where(or_(Customer.phone_key.contains(key, autoescape=True), Customer.phone2 == phone))
            .options(selectinload(Customer.outlet),
                     selectinload(Customer.units).selectinload(Unit.product_model),
                     selectinload(Customer.tickets))
            .order_by(Customer.name).limit(10))
    return PhoneLookup(phone, list(session.scalars(stmt)))


def open_tickets(customer: Customer) -> list[Ticket]:
    return [t for t in customer.tickets if t.status in OPEN]


def _text(value, limit=None) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    return text[:limit] if limit else text


def _bounded(data: dict, key: str, limit: int, errors: dict, prefix: str) -> str:
    """A text field that is refused, not cut, when it is longer than its column."""
    text = _text(data.get(key))
    if len(text) > limit:
        errors[f"{prefix}.{key}"] = _l("At most %(n)d characters.", n=limit)
    return text[:limit]


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
    problem = customers.invoice_date_problem(parsed)  # 2000-01-01 .. today
    if problem:
        errors[key] = problem
    return parsed


def _money(value, errors: dict, key: str) -> Decimal | None:
    """An amount typed on a form or sent by the API (a JSON number too), as the step forms read it."""
    try:
        return step_data.PARSERS["decimal"](value if value is None or isinstance(value, str) else str(value))
    except ValueError as exc:
        errors[key] = exc.args[0]
        return None


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
    name, phone, address, region, area = _caller_fields(data, errors)
    if errors or outlet is None:
        return None
    known = customers.known_caller(session, phone)
    if known is not None:
        return _known_caller(session, known, name, report, errors)
    customer = Customer(name=name, phone=phone, address=address, region=region, area=area, outlet=outlet)
    try:
        with session.begin_nested():  # R-CUS-1: a caller registered at the same moment wins
            session.add(customer)
            session.flush([customer])
    except IntegrityError:
        known = customers.known_caller(session, phone)
        if known is None:
            raise
        return _known_caller(session, known, name, report, errors)
    return customer


def _caller_fields(data: dict, errors: dict) -> tuple:
    """A new caller's name, phone, address, region and area, checked (R-TKT-2)."""
    name, phone = _bounded(data, "name", 60, errors, "customer"), _bounded(data, "phone", PHONE_MAX, errors, "customer")
    address = _bounded(data, "address", 255, errors, "customer")
    region = _bounded(data, "region", 60, errors, "customer")
    area = data.get("area") or Area.URBAN.value
    if not name:
        errors["customer.name"] = _l("The customer's name is required.")
    if not phone:
        errors["customer.phone"] = _l("The customer's phone is required: it is the lookup key.")
    elif not PHONE_RE.match(phone):
        errors.setdefault("customer.phone", _l("%(phone)s is not a phone number.", phone=phone))
    if area not in {a.value for a in Area}:
        errors["customer.area"] = _l("Choose urban or suburban.")
    return name, phone, address, region, area


def _known_caller(session: Session, known: Customer, name: str, report: Report, errors: dict) -> Customer | None:
    """R-CUS-1: the phone is in the archive. The same name is that customer; another name is put
    to the clerk: another contact of this customer, or a corrected name — never a second record."""
    if not customers.visible(session, known):
        errors["customer.phone"] = _l("This phone belongs to a customer served by another outlet: ask the "
                                      "service center to register the report.")
        return None
    if name == known.name:
        return known
    if report.name_choice == NameChoice.CONTACT:
        report.contact_name = name
        return known
    if report.name_choice == NameChoice.CORRECT:
        known.name = name  # audited: old and new name stay in the trail
        return known
    errors["customer.name"] = _l("The phone %(phone)s is %(known)s's in the archive. Is %(name)s another "
                                 "contact of this customer, or is the archive's name wrong?",
                                 phone=known.phone, known=known.name, name=name)
    errors["name_choice"] = errors["customer.name"]
    return None


def _outlet(session: Session, report: Report, errors: dict) -> Outlet | None:
    """The serving outlet: chosen, or named by code (API), else the known customer's (R-CUS-1: a
    repeat caller is served where they were served before)."""
    code = _text((report.unit or {}).get("outlet_code"))
    if report.outlet_id is not None:
        outlet, key = session.get(Outlet, report.outlet_id), "outlet_id"
    elif code:
        outlet, key = session.scalar(select(Outlet).where(Outlet.code == code)), "unit.outlet_code"
    else:
        outlet, key = _known_outlet(session, report), "outlet_id"
        if outlet is None:
            errors[key] = _l("Choose the serving outlet.")
            return None
    if outlet is None or not outlet.active:
        errors[key] = _l("Unknown outlet.")
        return None
    return outlet


def _known_outlet(session: Session, report: Report) -> Outlet | None:
    if report.customer_id is not None:
        customer = session.get(Customer, report.customer_id)
    else:
        customer = customers.known_caller(session, (report.customer or {}).get("phone"))
        customer = customer if customer is not None and customers.visible(session, customer) else None
    if customer is not None:
        return customer.outlet
    unit = session.get(Unit, report.unit_id) if report.unit_id is not None else None
    return unit.outlet if unit is not None else None


def _model_and_serial(session: Session, data: dict, errors: dict) -> tuple[ProductModel | None, str]:
    model = session.scalar(select(ProductModel).where(ProductModel.code == _text(data.get("model_code"))))
    if model is None or not model.active:
        errors["unit.model_code"] = _l("Unknown product model.")
    serial = _text(data.get("serial"))
    if not serial:
        errors["unit.serial"] = _l("The serial number is required.")
    elif len(serial) > MAX_SERIAL:  # refused, never cut: a cut serial is another unit's
        errors["unit.serial"] = _l("At most %(n)d characters.", n=MAX_SERIAL)
    return model, serial


def _unit(session: Session, report: Report, customer: Customer | None, outlet: Outlet | None,
          errors: dict) -> Unit | None:
    if report.unit_id is not None:
        unit = session.get(Unit, report.unit_id)
        if unit is None:
            errors["unit_id"] = _l("No such unit.")
        return unit
    data = report.unit or {}
    if not any(value for key, value in data.items() if key != "outlet_code"):  # no unit named
        return None
    model, serial = _model_and_serial(session, data, errors)
    invoice_date = _date(data.get("invoice_date"), errors, "unit.invoice_date")
    invoice_no = _bounded(data, "invoice_no", 60, errors, "unit")
    price = _money(data.get("price"), errors, "unit.price")
    purchase_channel = _text(data.get("purchase_channel")) or None
    if purchase_channel not in (None, *[c.value for c in PurchaseChannel]):
        errors["unit.purchase_channel"] = _l("Unknown purchase channel.")
    if errors or customer is None:
        return None
    unit = session.scalar(select(Unit).where(Unit.product_model_id == model.id, Unit.serial == serial)
                          .execution_options(**UNSCOPED))  # the serial is unique network-wide
    if unit is not None:
        if unit.customer_id is not None and unit.customer_id != customer.id:
            errors["unit.serial"] = _l("This serial number is registered to another customer.")
        return unit
    # R-TKT-2: the purchase data; the price is what a refund is measured against (R-RET-1).
    unit = Unit(product_model=model, serial=serial, customer=customer, outlet=outlet,
                invoice_no=invoice_no, invoice_date=invoice_date,
                price=price, purchase_channel=purchase_channel)
    unit.size = _text(data.get("size"), 10)  # shoes: the size bought (003)
    session.add(unit)
    return unit


def add_to_ticket(session: Session, ticket: Ticket, report: Report, actor: User | None) -> TicketEvent:
    """A caller with an open ticket calls again: what they say goes on that ticket's timeline
    instead of a duplicate ticket (R-CUS-1)."""
    if ticket.status not in OPEN:
        raise FieldErrors({"fault": _l("Ticket %(number)s is closed: register a new report.", number=ticket.number)})
    fault = _text(report.fault)
    if not fault:
        raise FieldErrors({"fault": _l("Describe what the caller says.")})
    if len(fault) > MAX_FAULT:
        raise FieldErrors({"fault": _l("At most %(n)d characters.", n=MAX_FAULT)})
    channel = label(Channel, report.channel) if report.channel in {c.value for c in Channel} else ""
    event = TicketEvent(ticket=ticket, actor=actor, action="caller_called",
                        note=f"{channel}: {fault}" if channel else fault)
    session.add(event)
    return event


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
                    customer=customer, unit=unit, outlet=outlet, area=customer.area,
                    contact_name=report.contact_name)
    session.add(ticket)
    try:
        tickets.register_ticket(session, ticket, actor)
    except FieldErrors:
        raise
    except ValidationFailed as exc:  # a rule of the ticket itself: report it like a field error
        session.rollback()
        raise FieldErrors({"ticket": exc.message}) from None
    _receipt(session, ticket, report, actor)
    return ticket


def _receipt(session: Session, ticket: Ticket, report: Report, actor: User | None) -> None:
    """R-NTF-1: the receipt with the tracking link, to a customer who agreed now or before.
    An unticked box changes nothing: it is no opt-out.

    PIPL: a consent staff took (an actor: the clerk's intake) is the customer's word. The
    anonymous doors (the public form, the channel API: no actor) cannot tell who typed a known
    phone, so their consent never undoes an opt-out (notifications.record_consent), and a caller
    who is only another contact of the phone's customer cannot agree for that customer."""
    verified = actor is not None
    if report.consent is True and (verified or not report.contact_name):
        notifications.record_consent(ticket.customer, source=report.channel, verified=verified)
    notifications.tell_customer(session, ticket, "receipt")
