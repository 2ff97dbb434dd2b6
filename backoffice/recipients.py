"""Who hears of an event in the app (issue 17): the managers who may decide an approval request,
and the dealers of an outlet. Active users only.

Read unscoped: the event is often set off by someone who may not list the people told (a
dealer's parts request over the weekly limit reaches the center's managers; the center's audit
reaches the outlet's dealers). The notification rows are each reader's own (backoffice.access).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApprovalRequest, Outlet, User
from models.choices import Role

from .access import UNSCOPED
from .notifications import tell_staff
from .permissions import MANAGERS

APPROVAL_PAGE = "approval.details_view"  # views: ApprovalView, endpoint "approval"


def active(session: Session, *roles: str) -> list[User]:
    """The active users of these roles, whoever is asking."""
    return list(session.scalars(select(User).where(User.role.in_(sorted(roles)), User.active.is_(True))
                                .order_by(User.id).execution_options(**UNSCOPED)))


def managers(session: Session) -> list[User]:
    """Everyone who decides approval requests (R-RET-4): managers and admins."""
    return active(session, *MANAGERS)


def deciders(session: Session, request: ApprovalRequest) -> list[User]:
    """The managers who may approve the request now, by the approvals' own verdict: never the
    requester, nor on a network request whoever audited the claim or asked for the parts, nor
    the first approver when a second manager is needed (R-ROLE-2, R-RET-4)."""
    from . import approvals  # approvals → network_approvals → parts_requests → here

    return [user for user in managers(session) if approvals.actions(session, request, user)["approve"]]


def dealers_of(session: Session, outlet_id: int) -> list[User]:
    """The outlet's dealers and its parent outlet's: a dealer acts for its outlet and the
    sub-outlets (R-ROLE-1, access.outlet_subtree), so both sign and follow a sub-outlet's
    statements, claims and parts."""
    parent_id = session.scalar(select(Outlet.parent_id).where(Outlet.id == outlet_id)
                               .execution_options(**UNSCOPED))
    outlets = [outlet_id] if parent_id is None else [outlet_id, parent_id]
    return list(session.scalars(select(User).where(
        User.role == Role.DEALER.value, User.outlet_id.in_(outlets), User.active.is_(True))
        .order_by(User.id).execution_options(**UNSCOPED)))


def tell_deciders(session: Session, request: ApprovalRequest, kind: str = "approval_waiting", stage: str = "") -> int:
    """The request waits for a decision: its deciders are told once per `stage` (created, a
    second manager needed, information given)."""
    if request.id is None:
        session.flush()  # its id
    return tell_staff(session, deciders(session, request), kind, f"{request.id}:{stage}" if stage else str(request.id),
                      link=APPROVAL_PAGE, ticket=request.ticket, number=f"#{request.id}", id=request.id)


def tell_dealers(session: Session, outlet_id: int, kind: str, key: str, *, link: str, **params) -> int:
    """The outlet's dealers are told once per `key`; `params` are plain values (stored as JSON)."""
    return tell_staff(session, dealers_of(session, outlet_id), kind, key, link=link, **params)


def tell_outlet_of(session: Session, record, kind: str, key: str, link: str, **params) -> int:
    """The dealers of the record's outlet hear of an event on it (a statement, a fee claim, a
    parts parcel), once per record and `key` ("" when the record has one such event). The
    notification opens the record: `link` is its details endpoint, `id` its id."""
    if record.id is None:
        session.flush()  # its id
    event = f"{record.id}:{key}" if key else str(record.id)
    return tell_dealers(session, record.outlet_id, kind, event, link=link, id=record.id, **params)
