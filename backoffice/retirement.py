"""Retiring an outlet from the service network (DOMAIN §1, R-PART-7, R-ROLE-1).

A manager retires an outlet after seeing what it leaves behind (`preview`): open tickets, old
parts still owed, its parts account, claims waiting for audit, its active staff. `retire` then,
in one transaction:

- hands every ticket not yet closed, and the customer archive, to a successor outlet, each
  ticket with a line on its timeline (who, when, from where, why) — the audit trail keeps the
  rest;
- ends its staff's access at once: accounts deactivated and their login nonce rotated, so an
  open session dies on its next request;
- settles its parts account: the unused quota is withdrawn by one ledger entry (source
  "retirement:<outlet>", so a retry books once) and the month's final statement is issued now,
  with the withdrawal on it. Parts it holds on account and old parts it still owes stay listed on
  that statement and on the outlet's page until they come back or are charged.

Who may, now: `actions(session, outlet, user)` → {"retire": Verdict}.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import Customer, FeeClaim, OldPart, Outlet, PartsReconciliation, Ticket, TicketEvent, User, utcnow
from models.choices import FeeClaimStatus, LedgerKind, OldPartState, TicketStatus

from . import accounts, ledger, reconciliation
from .access import UNSCOPED
from .errors import DomainError, FieldErrors
from .ledger_source import Source
from .money import ZERO, money
from .months import first_day
from .permissions import ALLOWED, MANAGERS, Verdict, first_refusal, refuse, require, role_in
from .timezones import to_local

HANDED_OVER = "handed_over"  # the timeline line of a ticket moved to another outlet
OWED = (OldPartState.OWED.value, OldPartState.IN_RETURN.value, OldPartState.SCRAP_LOCAL.value)


@dataclass(frozen=True)
class Preview:
    """What retiring the outlet leaves behind: the manager reads it before deciding."""

    open_tickets: int
    customers: int
    owed_old_parts: int
    owed_value: Decimal
    balance: Decimal
    held_on_account: Decimal
    waiting_claims: int
    active_staff: int

    @property
    def needs_successor(self) -> bool:
        return bool(self.open_tickets or self.customers)


def actions(session: Session, outlet: Outlet, user) -> dict[str, Verdict]:
    """"retire": a manager; an active dealer outlet whose sub-outlets are retired first."""
    return {"retire": first_refusal(role_in(user, MANAGERS, _l("Only a manager retires an outlet.")),
                                    _retirable(session, outlet))}


def _retirable(session: Session, outlet: Outlet) -> Verdict:
    if not outlet.active:
        return refuse(_l("This outlet is retired already."), hint=False)
    if outlet.is_service_center:
        return refuse(_l("The service center itself is not retired."))
    active_children = session.scalar(select(func.count(Outlet.id)).where(
        Outlet.parent_id == outlet.id, Outlet.active.is_(True)).execution_options(**UNSCOPED))
    if active_children:
        return refuse(_l("Retire its %(count)d sub-outlets first, or move them to another outlet.",
                         count=active_children))
    return ALLOWED


def preview(session: Session, outlet: Outlet) -> Preview:
    def count(stmt) -> int:
        return session.scalar(stmt.execution_options(**UNSCOPED)) or 0

    owed = select(func.count(OldPart.id), func.coalesce(func.sum(OldPart.unit_price * OldPart.qty), 0)).where(
        OldPart.outlet_id == outlet.id, OldPart.state.in_(OWED))
    owed_count, owed_value = session.execute(owed.execution_options(**UNSCOPED)).one()
    return Preview(
        open_tickets=count(_open_tickets(outlet.id).with_only_columns(func.count(Ticket.id))),
        customers=count(select(func.count(Customer.id)).where(Customer.outlet_id == outlet.id)),
        owed_old_parts=owed_count, owed_value=money(owed_value),
        balance=ledger.balance_of(session, outlet.id),
        held_on_account=ledger.held_on_account(session, [outlet.id])[outlet.id],
        waiting_claims=count(select(func.count(FeeClaim.id)).where(
            FeeClaim.outlet_id == outlet.id, FeeClaim.status == FeeClaimStatus.CLAIMED.value)),
        active_staff=count(select(func.count(User.id)).where(User.outlet_id == outlet.id, User.active.is_(True))))


def _open_tickets(outlet_id: int):
    return select(Ticket).where(Ticket.outlet_id == outlet_id, Ticket.status != TicketStatus.CLOSED.value) \
        .order_by(Ticket.id)


def retire(session: Session, outlet: Outlet, actor: User, successor: Outlet | None, reason: str,
           at: datetime | None = None) -> PartsReconciliation | None:
    """Retire `outlet` (see the module docstring); returns its final statement, if it has an
    account in use. Nothing is done unless everything can be."""
    require(actions(session, outlet, actor), "retire", error=DomainError)
    facts = preview(session, outlet)
    _check(outlet, successor, reason, facts)
    at, reason = at or utcnow(), reason.strip()
    outlet.active = False
    outlet.retired_at, outlet.retired_by_id, outlet.retirement_reason = at, actor.id, reason
    outlet.successor_id = successor.id if successor is not None else None
    if successor is not None:
        _hand_over(session, outlet, successor, actor, reason, at)
    _end_access(session, outlet)
    return _settle_account(session, outlet, actor, at)


def _check(outlet: Outlet, successor: Outlet | None, reason: str, facts: Preview) -> None:
    errors = {}
    if not (reason or "").strip():
        errors["reason"] = _l("Say why the outlet leaves the network.")
    if successor is None and facts.needs_successor:
        errors["successor_id"] = _l("Choose the outlet that takes over its %(tickets)d open tickets and "
                                    "%(customers)d customers.", tickets=facts.open_tickets, customers=facts.customers)
    elif successor is not None and (successor.id == outlet.id or not successor.active
                                    or successor.parent_id == outlet.id):
        errors["successor_id"] = _l("Choose another active outlet.")
    if errors:
        raise FieldErrors(errors)


def _hand_over(session: Session, outlet: Outlet, successor: Outlet, actor: User, reason: str,
               at: datetime) -> None:
    """Open tickets and the customer archive move to the successor; an engineer of the retired
    outlet no longer holds its tickets (the successor dispatches its own)."""
    note = f"{outlet} → {successor}: {reason}"
    for ticket in session.scalars(_open_tickets(outlet.id).execution_options(**UNSCOPED)):
        ticket.outlet_id = successor.id
        if ticket.assigned_engineer is not None and ticket.assigned_engineer.outlet_id == outlet.id:
            ticket.assigned_engineer = None
        session.add(TicketEvent(ticket=ticket, actor=actor, at=at, action=HANDED_OVER, note=note))
    for customer in session.scalars(select(Customer).where(Customer.outlet_id == outlet.id)
                                    .execution_options(**UNSCOPED)):
        customer.outlet_id = successor.id


def _end_access(session: Session, outlet: Outlet) -> None:
    """Its staff lose access at once: deactivated, and the login nonce rotated so that any
    session still open is refused on its next request (backoffice's user loader)."""
    for user in session.scalars(select(User).where(User.outlet_id == outlet.id, User.active.is_(True))
                                .execution_options(**UNSCOPED)):
        user.active = False
        accounts.end_sessions(user)


def _settle_account(session: Session, outlet: Outlet, actor: User, at: datetime) -> PartsReconciliation | None:
    """The unused quota goes back to the company; the month's statement is issued now, final."""
    if not ledger.entries_before(session, outlet.id, at) and not ledger.balance_of(session, outlet.id):
        return None
    account = ledger.locked_account(session, outlet.id)
    if account.balance > ZERO:
        ledger.post(session, outlet.id, LedgerKind.QUOTA, -account.balance, source=Source.retirement(outlet.id),
                    actor=actor, at=at, reason=str(_l("Outlet retired: unused quota withdrawn")))
    session.execute(update(type(account)).where(type(account).id == account.id).values(quota=ZERO)
                    .execution_options(synchronize_session=False))
    session.expire(account, ["quota"])
    return reconciliation.issue(session, outlet.id, first_day(to_local(at).date()))
