"""Look-ups of demo rows for tests (the demo world is the fixture: see tests/conftest.py)."""
from sqlalchemy import select

from models import Customer, Outlet, Ticket, Unit, User


def outlet(session, code) -> Outlet:
    return session.scalar(select(Outlet).where(Outlet.code == code))


def user(session, username) -> User:
    return session.scalar(select(User).where(User.username == username))


def ticket_of(session, code, **where) -> Ticket:
    stmt = select(Ticket).join(Outlet).where(Outlet.code == code).order_by(Ticket.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(Ticket, key) == value)
    return session.scalars(stmt).first()


def customer_of(session, code) -> Customer:
    return session.scalars(select(Customer).join(Outlet).where(Outlet.code == code)
                           .order_by(Customer.id)).first()


def unit_of(session, code) -> Unit:
    return session.scalars(select(Unit).join(Outlet).where(Outlet.code == code).order_by(Unit.id)).first()
