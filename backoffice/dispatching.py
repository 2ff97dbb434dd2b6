"""Who may be sent to a ticket (R-TKT-4 dispatch, DOMAIN §1).

A ticket is served by its outlet: the engineers offered are the active engineers of that outlet
and of the service center, each labelled with their outlet. Anyone else is refused on the
server, since dispatching another outlet's engineer would hand that outlet the ticket. The row
scope narrows this further: a dealer sees, and so dispatches, only its own engineers.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session, joinedload

from models import Outlet, Ticket, User
from models.choices import ProductCategory, Role, TicketStatus

from . import training
from .labels import label
from .timezones import local_today


def eligible_engineers(session: Session, outlet_id: int | None) -> list[User]:
    """Active engineers of the serving outlet (or of the dealer it is a sub-outlet of) and of the
    service center (staff without an outlet are the center's), center last."""
    parent = select(Outlet.parent_id).where(Outlet.id == outlet_id).scalar_subquery()
    serving = or_(User.outlet_id == outlet_id, User.outlet_id == parent) if outlet_id is not None else false()
    center = or_(User.outlet_id.is_(None),
                 User.outlet_id.in_(select(Outlet.id).where(Outlet.is_service_center.is_(True))))
    stmt = (select(User).outerjoin(User.outlet).options(joinedload(User.outlet))
            .where(User.role == Role.ENGINEER, User.active.is_(True), or_(serving, center))
            .order_by(User.outlet_id.is_(None), Outlet.is_service_center, Outlet.code, User.full_name, User.id))
    return list(session.scalars(stmt))


def may_serve(session: Session, engineer: User | None, ticket: Ticket) -> bool:
    outlet_id = ticket.outlet.id if ticket.outlet is not None else ticket.outlet_id
    return engineer is not None and any(e.id == engineer.id for e in eligible_engineers(session, outlet_id))


def engineer_label(engineer: User) -> str:
    """"王建国 · 天河美居电器服务部": whose engineer is sent matters to the clerk."""
    name = engineer.full_name or engineer.username
    return f"{name} · {engineer.outlet.name if engineer.outlet is not None else _('Service center')}"


# R-APR-6, manual 001 4.4.4 (上岗培训必须经考核合格后方可上岗): an engineer without a valid certificate
# for the ticket's product category is flagged where the ticket is dispatched, not refused (issue 14:
# "flagged at dispatch"); the desk decides, e.g. when no certified engineer is free.
def ticket_category(ticket: Ticket) -> str | None:
    unit = ticket.unit
    return unit.product_model.category if unit is not None and unit.product_model is not None else None


def uncertified(session: Session, ticket: Ticket, engineers: list[User]) -> set[int]:
    """The ids of `engineers` without a certificate for the ticket's product category valid today
    (none when the category asks for no certificate: no active course qualifies for it)."""
    category = ticket_category(ticket)
    if not engineers or not training.requires_certificate(session, category):
        return set()
    ids = {e.id for e in engineers}
    return ids - training.certified_among(session, ids, category, local_today())


def category_label(ticket: Ticket) -> str:
    return label(ProductCategory, ticket_category(ticket))


def missing_certificate_text(ticket: Ticket) -> str:
    return _("(no %(category)s certificate)", category=category_label(ticket))


def engineer_choices(session: Session, ticket: Ticket) -> list[tuple[int, str]]:
    """The dispatch select's options: each eligible engineer, flagged when uncertified."""
    engineers = eligible_engineers(session, ticket.outlet_id)
    flagged = uncertified(session, ticket, engineers)
    flag = missing_certificate_text(ticket) if flagged else ""
    return [(e.id, engineer_label(e) + (flag if e.id in flagged else "")) for e in engineers]


def certificate_warning(session: Session, ticket: Ticket) -> str | None:
    """The ticket page's warning while the assigned engineer is on the job (dispatched or in
    service) without the category's certificate."""
    engineer = ticket.assigned_engineer
    on_the_job = ticket.status in (TicketStatus.DISPATCHED, TicketStatus.IN_SERVICE)
    if engineer is None or not on_the_job or not uncertified(session, ticket, [engineer]):
        return None
    return _("%(name)s holds no valid %(category)s certificate: engineers start work on a product only after "
             "passing its training (manual 001, 4.4.4).",
             name=engineer.full_name or engineer.username, category=category_label(ticket))
