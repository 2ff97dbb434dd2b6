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
from models.choices import Role


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
