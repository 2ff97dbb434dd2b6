"""Installation tickets: free or charged, and what the customer pays (R-INST-1, R-INST-2).

004 第五章二 产品安装规定: free on-site installation for the eligible products, special-price
models excepted (特价机除外); beyond 20 km the user pays the visit's travel fee (其上门路费由
用户承担); installation materials — pipes, valves, tees — are the user's; a repeat
installation caused by the user is charged as agreed with the user (酌情收取安装费用).

An installation needs no diagnosis: the `schedule_installation` step quotes the charges on the
ticket's fee lines (installation fee, travel fee, materials typed). With charges the customer
agrees first and the clock waits for them, as for a proposal (R-SLA-3); a free installation is
agreed at once. Then dispatch → start service → resolve on site, as a repair. Every number is a
policy value (backoffice.policy); every amount a Decimal to the cent.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Customer, Ticket, TicketEvent, TicketFee, Unit
from models.choices import FeeKind, ServiceMode, TicketKind, TicketStatus, WarrantyWindow

from . import policy, sla
from .access import UNSCOPED
from .errors import DomainError, FieldErrors
from .money import money
from .warranty import Verdict, apply

MAX_DISTANCE_KM = 2000
# An earlier installation of the unit counts once it was done (R-INST-2).
DONE = (TicketStatus.RESOLVED.value, TicketStatus.RETURN_VISIT.value, TicketStatus.CLOSED.value)


class NoUnit(DomainError):
    default_message = _l("Choose the unit first: whether the installation is free depends on its model.")


@dataclass(frozen=True)
class Charge:
    kind: str  # FeeKind
    item: str  # what the line is for: the model, the distance, the material typed
    amount: Decimal


def earlier_installation(session: Session, unit: Unit | None, exclude_id: int | None = None) -> Ticket | None:
    """The unit's last installation ticket that was done, if any (the center's view: any outlet)."""
    if unit is None or unit.id is None:
        return None
    stmt = select(Ticket).where(Ticket.unit_id == unit.id, Ticket.kind == TicketKind.INSTALLATION.value,
                                Ticket.status.in_(DONE))
    if exclude_id is not None:
        stmt = stmt.where(Ticket.id != exclude_id)
    return session.scalar(stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(1)
                          .execution_options(**UNSCOPED))


def verdict(session: Session, unit: Unit | None, exclude_id: int | None = None) -> Verdict:
    """Free or charged installation, and why; never a 三包 window (R-WAR-5 is for faults).
    `in_warranty` says who bears the installation: True the company, False the customer."""
    none = WarrantyWindow.NONE.value
    if unit is None or unit.product_model is None:
        return Verdict(None, none, "install_no_unit")
    model = unit.product_model
    earlier = earlier_installation(session, unit, exclude_id)
    if earlier is not None:  # R-INST-2: a repeat installation is charged
        return Verdict(False, none, "install_repeat", {"ticket": earlier.number})
    if model.special_price:  # R-INST-1: 特价机除外
        return Verdict(False, none, "install_special", {"model": model.code})
    if not model.free_installation:  # R-INST-1: only the eligible models are installed free
        return Verdict(False, none, "install_not_free", {"model": model.code})
    return Verdict(True, none, "install_free", {"model": model.code})


def travel_charge(session: Session, distance_km: Decimal | None) -> Charge | None:
    """R-INST-2: beyond the free distance the user pays the visit's travel fee, per km of the
    whole distance (the manual puts the visit's 上门路费 on the user, not only the part beyond)."""
    if distance_km is None:
        return None
    km = Decimal(distance_km)
    if km <= policy.value(session, "installation.free_distance_km"):
        return None
    rate = policy.value(session, "installation.travel_fee_per_km")
    amount = money(km * rate)
    if amount <= 0:
        return None
    return Charge(FeeKind.TRAVEL.value, f"{km} km × ¥{money(rate)}/km", amount)


def quote(session: Session, ticket: Ticket, materials=(), distance_km: Decimal | None = None) -> list[Charge]:
    """The charges of an installation ticket, as the customer reads them: the installation fee
    unless it is free (the verdict says why), the travel fee beyond the free distance (the
    customer's archived distance unless `distance_km` is given), then the materials typed
    as (item, amount) pairs (R-INST-1/2)."""
    charges = []
    if ticket.in_warranty is not True:  # charged installation (R-INST-1) or a repeat (R-INST-2)
        fee = money(policy.value(session, "installation.fee"))
        if fee > 0:
            model = ticket.unit.product_model.code if ticket.unit is not None else ""
            charges.append(Charge(FeeKind.INSTALLATION.value, model, fee))
    if distance_km is None and ticket.customer is not None:
        distance_km = ticket.customer.distance_km
    travel = travel_charge(session, distance_km)
    if travel is not None:
        charges.append(travel)
    charges.extend(Charge(FeeKind.MATERIAL.value, item, money(amount))
                   for item, amount in materials)  # R-INST-2: materials are the user's
    return charges


def _distance(ticket: Ticket, typed: Decimal | None) -> Decimal:
    """The distance the travel fee is computed from: typed (kept in the archive), else archived."""
    customer: Customer = ticket.customer
    if typed is not None:
        if typed > MAX_DISTANCE_KM:
            raise FieldErrors({"distance_km": _l("A distance in km from 0 to %(max)d.", max=MAX_DISTANCE_KM)})
        customer.distance_km = typed.quantize(Decimal("0.1"))  # audited, like any archive edit
    if customer.distance_km is None:
        raise FieldErrors({"distance_km": _l("The customer's distance is not on record: give it in km.")})
    return customer.distance_km


# --- workflow effects (backoffice.workflow's table names them) ------------------------------
def schedule(session: Session, ticket: Ticket, values: dict, actor, at):
    """Step `schedule_installation`: on-site service, the verdict checked again (unless a
    manager set it), the charges quoted on the fee lines; with charges the ticket waits for
    the customer's agreement (solution proposed, clock paused), a free one is agreed at once."""
    if ticket.unit is None:
        raise NoUnit()
    distance = _distance(ticket, values.get("distance_km"))
    ticket.service_mode = ServiceMode.ONSITE.value  # dispatch, start and resolve on site
    if ticket.warranty_code != "override":  # a manager's verdict stands (R-WAR-5)
        apply(ticket, verdict(session, ticket.unit, ticket.id))
    charges = quote(session, ticket, values.get("fees") or (), distance)
    for charge in charges:
        ticket.fees.append(TicketFee(kind=charge.kind, item=charge.item, amount=charge.amount))
    if not charges:
        return TicketStatus.AGREED
    sla.pause(ticket, at)  # R-SLA-3: waiting for the customer's consent
    session.add(TicketEvent(ticket=ticket, actor=actor, at=at, action="paused"))
    return None


def add_materials(session: Session, ticket: Ticket, values: dict, actor, at):
    """Action `installation_materials`: materials used on site, the user's (R-INST-2)."""
    for item, amount in values["fees"]:
        ticket.fees.append(TicketFee(kind=FeeKind.MATERIAL.value, item=item, amount=amount))
