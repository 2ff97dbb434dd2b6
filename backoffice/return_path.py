"""The return path of an approved return, exchange or refund (R-RET-5).

On approval the ticket leaves the repair flow: it waits on the return path until the old unit
is picked up or handed in, the exchange unit has been shipped with courier and tracking number,
or the refund has been paid with a reference — then it is resolved and gets its return visit.
The steps themselves are transitions of `workflow`; this module keeps their rules.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from models import ApprovalRequest, ReturnHandling, Ticket, TicketEvent, User
from models.choices import ApprovalKind as K
from models.choices import TicketStatus as S

from .errors import FieldErrors

REMEDY_KINDS = (K.RETURN_REFUND, K.EXCHANGE)
OLD_UNIT_HOW = {"pickup": _l("Picked up from the customer"), "hand_in": _l("Handed in by the customer")}


def start(session: Session, request: ApprovalRequest, actor: User, at: datetime) -> ReturnHandling:
    """The approved remedy puts its ticket on the return path."""
    ticket = request.ticket
    handling = ReturnHandling(ticket=ticket, request=request)
    session.add(handling)
    session.add(TicketEvent(ticket=ticket, actor=actor, at=at, action="status", from_status=ticket.status,
                            to_status=S.RETURNING.value, note=request.decision_note))
    ticket.status, ticket.closed_at = S.RETURNING.value, None
    return handling


def is_exchange(ticket: Ticket) -> bool:
    handling = ticket.return_handling
    return handling is not None and handling.request.kind == K.EXCHANGE


def is_refund(ticket: Ticket) -> bool:
    handling = ticket.return_handling
    return handling is not None and handling.request.kind == K.RETURN_REFUND


def unit_pending(ticket: Ticket) -> bool:
    return ticket.return_handling is not None and ticket.return_handling.old_unit_at is None


def shipment_pending(ticket: Ticket) -> bool:
    return is_exchange(ticket) and ticket.return_handling.shipped_at is None


def payment_pending(ticket: Ticket) -> bool:
    posting = ticket.return_handling.request.posting if is_refund(ticket) else None
    return posting is not None and posting.paid_at is None


def complete(ticket: Ticket) -> bool:
    return not (unit_pending(ticket) or shipment_pending(ticket) or payment_pending(ticket))


def take_back_unit(ticket: Ticket, how: str | None, at: datetime) -> None:
    if how not in OLD_UNIT_HOW:
        raise FieldErrors({"old_unit_how": _l("Say whether the old unit was picked up or handed in.")})
    ticket.return_handling.old_unit_how, ticket.return_handling.old_unit_at = how, at


def ship_exchange(ticket: Ticket, courier: str, tracking_no: str, at: datetime) -> None:
    handling = ticket.return_handling
    handling.courier, handling.tracking_no, handling.shipped_at = courier[:40], tracking_no[:60], at


def pay_refund(ticket: Ticket, reference: str, at: datetime) -> None:
    posting = ticket.return_handling.request.posting
    posting.payment_ref, posting.paid_at = reference[:60], at
