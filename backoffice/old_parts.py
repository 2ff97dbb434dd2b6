"""Old parts from warranty repairs: the return obligation, local scrapping, the return list,
receipt and count, QA inspection, credit or charge (R-PART-4…6, R-WAR-2).

Who may do what, now: `actions(session, record, user)` answers `{action: Verdict}` for either
record of this aggregate — for an old part "verify_scrapped" (R-PART-6) and "settle" (credit
or charge it), for a return list "receive" (count the parcel) and "inspect" (QA). The guards
below require those verdicts and the screens render their buttons from them.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import OldPart, PartsReturn, ReplacedPart, Ticket, User, utcnow
from models.choices import LedgerKind, NonCreditable, OldPartState, PartsReturnStatus

from . import ledger, permissions, policy
from .errors import DomainError, FieldErrors
from .labels import label
from .money import ZERO, money
from .parts_requests import ONLY_CENTER, parcel_errors
from .permissions import ALLOWED, CENTER, Verdict, first_refusal, refuse, role_in

OPS, RS = OldPartState, PartsReturnStatus
QUALITY = "quality"  # the inspection's verdict that credits the outlet in full
STALE_RETURN = _l("This return list is no longer at that step: reload the page.")
NOT_COUNTED = _l("Count the parcel before the inspection.")
NOT_SCRAPPED = _l("This old part is not waiting for verification.")
SETTLED = {OPS.CREDITED.value, OPS.CHARGED.value}
STILL_OWED = _l("This old part is still owed: it is settled once it comes back and is inspected.")
ALREADY_SETTLED = _l("This old part is settled already.")


def actions(session: Session, record: OldPart | PartsReturn, user: User) -> dict[str, Verdict]:
    """Per action on an old part or a return list, may `user` take it now, or why not. Only the
    service center counts, inspects, verifies and settles (R-PART-4, R-PART-6)."""
    center = role_in(user, CENTER, ONLY_CENTER)
    if isinstance(record, PartsReturn):
        return {"receive": first_refusal(center, _return_at(record, RS.SHIPPED, STALE_RETURN)),
                "inspect": first_refusal(center, _return_at(record, RS.RECEIVED, (
                    NOT_COUNTED if record.status == RS.SHIPPED.value else STALE_RETURN)))}
    scrapped = ALLOWED if record.state == OPS.SCRAP_LOCAL.value else refuse(NOT_SCRAPPED)
    return {"verify_scrapped": first_refusal(center, scrapped),
            "settle": first_refusal(center, _settleable(record))}


def _return_at(parcel: PartsReturn, state: RS, reason) -> Verdict:
    return ALLOWED if parcel.status == state.value else refuse(reason)


def _settleable(old: OldPart) -> Verdict:
    """Credited or charged once: after the verification of a local scrap, or the inspection of
    the counted parcel it came back in."""
    if old.state == OPS.SCRAP_LOCAL.value:
        return ALLOWED
    if old.state in SETTLED:
        return refuse(ALREADY_SETTLED)
    if old.state == OPS.OWED.value:
        return refuse(STILL_OWED)
    return _return_at(old.parts_return, RS.RECEIVED, NOT_COUNTED)


def record_replaced(session: Session, ticket: Ticket, replaced: ReplacedPart) -> OldPart | None:
    """Under warranty the old part is owed to the center, unless R-PART-6 exempts it."""
    if not ticket.in_warranty:
        return None  # out-of-warranty parts are the customer's, paid at the outlet
    if ticket.outlet.is_service_center:
        return None  # the center's own repairs use its own stock
    part = replaced.part
    old = OldPart(replaced_part=replaced, ticket=ticket, outlet_id=ticket.outlet_id, part=part,
                  qty=replaced.qty, unit_price=part.unit_price, replaced_on=replaced.replaced_on)
    old.exemption = exemption(session, part, replaced.qty)
    if old.exemption:
        old.state = OPS.SCRAP_LOCAL.value
        old.needs_verification = True  # listed, verified by the center's return visit, then credited
    session.add(old)
    return old


def exemption(session: Session, part, qty: int) -> str:
    """R-PART-6: why no physical return is needed ("" when it is)."""
    if part.unit_price < policy.value(session, "parts.scrap_price_below") and \
            qty <= policy.value(session, "parts.scrap_qty_max"):
        return "cheap"
    if part.consumable:
        return "consumable"
    if part.fragile:
        return "fragile"
    return ""


def create_return(session: Session, outlet_id: int, actor: User, old_parts: list[OldPart],
                  courier: str, tracking_no: str) -> PartsReturn:
    """The outlet's return list: owed parts go in the parcel (R-PART-4)."""
    errors = {}
    if not old_parts:
        errors["old_parts"] = _l("Choose the old parts in the parcel.")
    elif any(o.outlet_id != outlet_id or o.state != OPS.OWED.value for o in old_parts):
        errors["old_parts"] = _l("Only old parts of this outlet that are still owed can be returned.")
    errors.update(parcel_errors(courier, tracking_no))
    if errors:
        raise FieldErrors(errors)
    parcel = PartsReturn(outlet_id=outlet_id, courier=courier.strip(), tracking_no=tracking_no.strip(),
                         created_by=actor)
    session.add(parcel)
    for old in old_parts:
        old.parts_return, old.state = parcel, OPS.IN_RETURN.value
    session.flush()
    return parcel


def receive(session: Session, parcel: PartsReturn, actor: User, counts: dict[int, int]) -> None:
    """The center counts the parcel against the list."""
    permissions.require(actions(session, parcel, actor), "receive", DomainError)
    errors = {}
    for old in parcel.old_parts:
        count = counts.get(old.id)
        if count is None or not 0 <= count <= old.qty:
            errors[f"received-{old.id}"] = _l("A count from 0 to %(qty)d.", qty=old.qty)
        else:
            old.received_qty = count
    if errors:
        raise FieldErrors(errors)
    parcel.status, parcel.received_by_id, parcel.received_at = RS.RECEIVED.value, actor.id, utcnow()


def inspect(session: Session, parcel: PartsReturn, actor: User, verdicts: dict[int, str],
            notes: dict[int, str] | None = None, at: datetime | None = None) -> None:
    """QA decides responsibility per line: quality failures credited in full, the rest charged
    with an R-PART-5 reason (R-PART-4). Missing pieces are charged as not received."""
    permissions.require(actions(session, parcel, actor), "inspect", DomainError)
    allowed = {QUALITY} | {r.value for r in NonCreditable}
    errors = {f"verdict-{o.id}": _l("Choose the inspection result.")
              for o in parcel.old_parts if verdicts.get(o.id) not in allowed}
    if errors:
        raise FieldErrors(errors)
    at = at or utcnow()
    for old in parcel.old_parts:
        settle(session, old, actor, verdicts[old.id], (notes or {}).get(old.id, ""), at)
    parcel.status, parcel.inspected_by_id, parcel.inspected_at = RS.INSPECTED.value, actor.id, at


def settle(session: Session, old: OldPart, actor: User, verdict: str, note: str = "",
           at: datetime | None = None) -> None:
    """Credit or charge one old part, exactly once (the ledger source is the old part): a retry
    of a settled part changes nothing."""
    if old.state in SETTLED:
        return
    permissions.require(actions(session, old, actor), "settle", DomainError)
    unit = old.unit_price
    received = old.qty if old.received_qty is None else old.received_qty
    credited = money(unit * received) if verdict == QUALITY else ZERO
    charged = old.value - credited
    if credited:
        ledger.post(session, old.outlet_id, LedgerKind.RETURN_CREDIT, credited, actor=actor, at=at,
                    source=ledger.Source.old_part(old.id, "credit"), part_id=old.part_id, qty=received,
                    reason=f"{old.ticket.number} {note}".strip())
    if charged:
        reason = verdict if verdict != QUALITY else NonCreditable.NOT_RECEIVED.value
        ledger.post(session, old.outlet_id, LedgerKind.CHARGE, charged, cash=charged, actor=actor, at=at,
                    source=ledger.Source.old_part(old.id, "charge"), part_id=old.part_id,
                    qty=old.qty - (received if credited else 0),
                    reason=f"{old.ticket.number} {label(NonCreditable, reason)} {note}".strip())
        old.non_creditable = reason
    old.state = (OPS.CREDITED if credited else OPS.CHARGED).value
    old.decision_note = note.strip()


def verify_scrapped(session: Session, old: OldPart, actor: User, confirmed: bool, note: str = "") -> None:
    """R-PART-6: a part scrapped locally is credited once the center has verified it."""
    permissions.require(actions(session, old, actor), "verify_scrapped", DomainError)
    if not confirmed and not note.strip():
        raise FieldErrors({"note": _l("Say what the verification found.")})
    settle(session, old, actor, QUALITY if confirmed else NonCreditable.NO_FAULT_FOUND.value, note)


def overdue(session: Session, today: date) -> list[OldPart]:
    """Old parts still owed after the return cycle (a week), oldest first (they age in a list)."""
    days = int(policy.value(session, "parts.return_cycle_days"))
    return list(session.scalars(select(OldPart).where(
        OldPart.state == OPS.OWED.value, OldPart.replaced_on < today - timedelta(days=days))
        .order_by(OldPart.replaced_on, OldPart.id)))
