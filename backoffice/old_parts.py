"""Old parts from warranty repairs: the return obligation and its tag, local scrapping, the
return application and its authorisation, the return list, receipt and count, QA inspection,
credit or charge, late returns, and what becomes of a non-creditable part (R-PART-4…6, R-PART-9,
R-WAR-2).

The return follows manual 004 (四、配件退货): the outlet applies (退货申请) listing owed old parts;
the center authorises the list (核准) — it may strike lines with a reason — or refuses the whole
application with a reason; only then the outlet ships the parcel (courier, tracking number) with
the printed return list; the center counts it (and records the freight it paid as receiver),
QA inspects, and each part is credited or charged. A part shipped after the return cycle is
flagged late and credited per policy (parts.late_return_credit_rate). A non-creditable part is
sent back to the outlet or scrapped at the center, as the outlet chooses. The manual has the
outlet fax its application; so the center may also file one for the outlet from the fax
(`on_paper`).

Who may do what, now: `actions(session, record, user)` answers `{action: Verdict}` for either
record of this aggregate — with no record, "apply"; for a return application / list
"authorise", "refuse", "withdraw", "ship", "print", "receive" (count the parcel), "inspect" (QA)
and "choose_disposal"; for an old part "verify_scrapped" (R-PART-6), "settle" (credit or charge
it), "choose_disposal" and "dispose" (the center sends it back or scraps it). The guards below
require those verdicts and the screens render their buttons from them.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import OldPart, PartsReturn, ReplacedPart, Ticket, User, utcnow
from models.choices import (
    LedgerKind,
    NonCreditable,
    OldPartDisposal,
    OldPartState,
    PartsReturnStatus,
    Role,
    Settlement,
)
from models.parts_supply import PartsReturnLine

from . import access, fee_claims, ledger, permissions, policy
from .errors import DomainError, FieldErrors
from .labels import label
from .money import ZERO, money, parse
from .parts_requests import ONLY_CENTER, parcel_errors
from .permissions import ALLOWED, CENTER, DESK, Verdict, first_refusal, refuse, role_in
from .timezones import zone_of

OPS, RS, DISPOSAL = OldPartState, PartsReturnStatus, OldPartDisposal
QUALITY = "quality"  # the inspection's verdict that credits the outlet in full
STALE_RETURN = _l("This return list is no longer at that step: reload the page.")
NOT_COUNTED = _l("Count the parcel before the inspection.")
NOT_SCRAPPED = _l("This old part is not waiting for verification.")
SETTLED = {OPS.CREDITED.value, OPS.CHARGED.value}
STILL_OWED = _l("This old part is still owed: it is settled once it comes back and is inspected.")
ALREADY_SETTLED = _l("This old part is settled already.")
# R-PART-9: the return application and its authorisation.
DECIDED = _l("This return application is decided already.")
NOT_AUTHORISED = _l("The parcel ships once the service center has authorised the return application.")
SHIPPED_ALREADY = _l("Already shipped: the application can no longer be withdrawn.")
NOTHING_TO_CHOOSE = _l("No part of this return waits for a choice.")
NOT_DISPOSABLE = _l("Only a returned part that was not credited is sent back or scrapped.")
CHOSEN_ALREADY = _l("The outlet has chosen already.")
NOT_CHOSEN = _l("The outlet chooses first: send it back or scrap it.")
DISPOSED = _l("Sent back or scrapped already.")
RETURNED_LATE = _l("Returned after the return cycle, credited at %(rate)s%%")
DECIDING = {RS.REQUESTED.value}
BEFORE_SHIPPING = {RS.REQUESTED.value, RS.AUTHORISED.value}
PRINTABLE = {RS.AUTHORISED.value, RS.SHIPPED.value, RS.RECEIVED.value, RS.INSPECTED.value}
ENDED = {RS.REFUSED.value, RS.WITHDRAWN.value}


def actions(session: Session, record: OldPart | PartsReturn | None, user: User) -> dict[str, Verdict]:
    """Per action on an old part or a return application / list, may `user` take it now, or why
    not. The outlet applies, ships, withdraws and chooses (the center may do it for the outlet, from
    its fax or call); only the service center authorises, refuses, counts, inspects, verifies,
    settles and sends back or scraps (R-PART-4, R-PART-6, R-PART-9)."""
    if record is None:
        return {"apply": role_in(user, DESK)}
    center, desk = role_in(user, CENTER, ONLY_CENTER), role_in(user, DESK)
    if isinstance(record, PartsReturn):
        return {"authorise": first_refusal(center, _deciding(record)),
                "refuse": first_refusal(center, _deciding(record)),
                "withdraw": first_refusal(desk, _withdrawable(record)),
                "ship": first_refusal(desk, _shippable(record)),
                "print": first_refusal(desk, ALLOWED if record.status in PRINTABLE else refuse(NOT_AUTHORISED,
                                                                                               hint=False)),
                "receive": first_refusal(center, _return_at(record, RS.SHIPPED, STALE_RETURN)),
                "inspect": first_refusal(center, _return_at(record, RS.RECEIVED, (
                    NOT_COUNTED if record.status == RS.SHIPPED.value else STALE_RETURN))),
                "choose_disposal": first_refusal(desk, ALLOWED if any(map(awaits_choice, record.old_parts))
                                                 else refuse(NOTHING_TO_CHOOSE, hint=False))}
    scrapped = ALLOWED if record.state == OPS.SCRAP_LOCAL.value else refuse(NOT_SCRAPPED)
    return {"verify_scrapped": first_refusal(center, scrapped),
            "settle": first_refusal(center, _settleable(record)),
            "choose_disposal": first_refusal(desk, _choosable(record)),
            "dispose": first_refusal(center, _disposable(record))}


def _return_at(parcel: PartsReturn, state: RS, reason) -> Verdict:
    return ALLOWED if parcel.status == state.value else refuse(reason)


def _deciding(parcel: PartsReturn) -> Verdict:
    return ALLOWED if parcel.status in DECIDING else refuse(DECIDED, hint=False)


def _withdrawable(parcel: PartsReturn) -> Verdict:
    if parcel.status in BEFORE_SHIPPING:
        return ALLOWED
    return refuse(SHIPPED_ALREADY, hint=parcel.status not in ENDED)


def _shippable(parcel: PartsReturn) -> Verdict:
    if parcel.status == RS.AUTHORISED.value:
        return ALLOWED
    return refuse(NOT_AUTHORISED if parcel.status == RS.REQUESTED.value else STALE_RETURN,
                  hint=parcel.status == RS.REQUESTED.value)


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


def disposable(old: OldPart) -> bool:
    """R-PART-9: a part that came back, was inspected and not credited (a verdict other than a
    quality failure) is the outlet's to have sent back or scrapped. Pieces missing from the parcel
    are not there to dispose of."""
    return (old.parts_return is not None and old.parts_return.status == RS.INSPECTED.value
            and old.state == OPS.CHARGED.value and old.non_creditable not in (None, NonCreditable.NOT_RECEIVED.value)
            and (old.received_qty is None or old.received_qty > 0))


def awaits_choice(old: OldPart) -> bool:
    return disposable(old) and old.disposal is None


def _choosable(old: OldPart) -> Verdict:
    if not disposable(old):
        return refuse(NOT_DISPOSABLE, hint=False)
    return ALLOWED if old.disposal is None else refuse(CHOSEN_ALREADY, hint=False)


def _disposable(old: OldPart) -> Verdict:
    if not disposable(old):
        return refuse(NOT_DISPOSABLE, hint=False)
    if old.disposal is None:
        return refuse(NOT_CHOSEN)
    return ALLOWED if old.disposed_at is None else refuse(DISPOSED, hint=False)


def tag_for(ticket_number: str, position: int) -> str:
    """R-PART-9: the tag number of an old part, readable on its label: JT + its ticket's number
    (date and daily sequence, backoffice.numbering) + the line's position on the ticket, e.g.
    JT20261122-0007-2. Unique because the ticket number is (migration 0015 tags old rows alike)."""
    base = ticket_number[2:] if ticket_number.startswith("SV") else f"-{ticket_number}"
    return f"JT{base}-{position}"


def record_replaced(session: Session, ticket: Ticket, replaced: ReplacedPart) -> OldPart | None:
    """Under warranty the old part is owed to the center, unless R-PART-6 exempts it; either way it
    is tagged (R-PART-4, R-PART-9)."""
    if not ticket.in_warranty:
        return None  # out-of-warranty parts are the customer's, paid at the outlet
    if ticket.outlet.is_service_center:
        return None  # the center's own repairs use its own stock
    part = replaced.part
    lines = ticket.replaced_parts
    position = lines.index(replaced) + 1 if replaced in lines else len(lines) + 1
    old = OldPart(replaced_part=replaced, ticket=ticket, outlet_id=ticket.outlet_id, part=part,
                  qty=replaced.qty, unit_price=part.unit_price, replaced_on=replaced.replaced_on,
                  tag=tag_for(ticket.number, position))
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


# --- the return application and its authorisation (R-PART-9: 退货申请 → 核准) ---------------------

def apply(session: Session, outlet_id: int | None, actor: User, old_parts: list[OldPart], note: str = "",
          at: datetime | None = None) -> PartsReturn:
    """The outlet asks to return owed old parts (the center may file the outlet's faxed
    application for it: `on_paper`). The parts stay owed until the parcel ships; a part is on one
    application at a time (claimed by a conditional update, so two applications racing for the
    same part cannot both list it)."""
    permissions.require(actions(session, None, actor), "apply", DomainError)
    errors = {}
    if not old_parts:
        errors["old_parts"] = _l("Choose the old parts to return.")
    elif not _outlet_of(session, actor, outlet_id) or any(
            o.outlet_id != outlet_id or o.state != OPS.OWED.value or o.return_id is not None for o in old_parts):
        errors["old_parts"] = _l("Only old parts of this outlet that are still owed and on no other "
                                 "application can be returned.")
    if len(note or "") > 2000:
        errors["note"] = _l("At most %(max)d characters.", max=2000)
    if errors:
        raise FieldErrors(errors)
    at = at or utcnow()
    parcel = PartsReturn(outlet_id=outlet_id, status=RS.REQUESTED.value, note=(note or "").strip(),
                         on_paper=actor.role in CENTER, created_by=actor, created_at=at)
    session.add(parcel)
    session.flush()
    for old in old_parts:
        claimed = session.execute(
            update(OldPart).where(OldPart.id == old.id, OldPart.return_id.is_(None), OldPart.state == OPS.OWED.value)
            .values(return_id=parcel.id).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            raise FieldErrors({"old_parts": _l("%(tag)s is on another application already: reload the page.",
                                               tag=old.tag)})
        session.expire(old, ["return_id", "parts_return"])
        parcel.lines.append(PartsReturnLine(outlet_id=outlet_id, old_part_id=old.id))
    session.flush()
    session.expire(parcel, ["old_parts"])
    return parcel


def _outlet_of(session: Session, actor: User, outlet_id: int | None) -> bool:
    """A dealer applies for its own outlets only (R-ROLE-1); the center for any outlet."""
    if outlet_id is None:
        return False
    if actor.role == Role.DEALER:
        return actor.outlet_id is not None and outlet_id in access.outlet_subtree(session, actor.outlet_id)
    return True


def authorise(session: Session, parcel: PartsReturn, actor: User, struck: dict[int, str] | None = None,
              at: datetime | None = None) -> None:
    """The center authorises the list (核准), striking lines it will not take back, each with its
    reason; a struck part stays owed (it may be applied for again, or scrapped if R-PART-6 allows).
    The application row is written first: of two center users deciding at once, one wins
    (version_id), the other's whole decision is refused."""
    permissions.require(actions(session, parcel, actor), "authorise", DomainError)
    struck = {old_id: (reason or "").strip() for old_id, reason in (struck or {}).items()}
    listed = {old.id for old in parcel.old_parts}
    errors = {f"strike_reason-{old_id}": _l("Say why this line is struck (the outlet reads it).")
              for old_id, reason in struck.items() if old_id in listed and not reason}
    if listed and listed <= set(struck):
        errors["struck"] = _l("Every line is struck: refuse the application instead, with its reason.")
    if errors:
        raise FieldErrors(errors)
    _decide(session, parcel, actor, RS.AUTHORISED, at)
    for line in parcel.lines:
        if line.old_part_id in struck and line.old_part_id in listed:
            line.struck, line.strike_reason = True, struck[line.old_part_id]
            _release(line.old_part)


def refuse_application(session: Session, parcel: PartsReturn, actor: User, reason: str,
                       at: datetime | None = None) -> None:
    """The center refuses the whole application with a reason; its parts stay owed."""
    permissions.require(actions(session, parcel, actor), "refuse", DomainError)
    if not (reason or "").strip():
        raise FieldErrors({"refusal_reason": _l("Say why the application is refused (the outlet reads it).")})
    parcel.refusal_reason = reason.strip()
    _decide(session, parcel, actor, RS.REFUSED, at)
    for old in list(parcel.old_parts):
        _release(old)


def withdraw(session: Session, parcel: PartsReturn, actor: User, at: datetime | None = None) -> None:
    """The outlet withdraws an application not yet shipped; its parts stay owed."""
    permissions.require(actions(session, parcel, actor), "withdraw", DomainError)
    parcel.status, parcel.withdrawn_by_id, parcel.withdrawn_at = RS.WITHDRAWN.value, actor.id, at or utcnow()
    session.flush()  # the version check first: a decision racing the withdrawal loses, or wins, whole
    for old in list(parcel.old_parts):
        _release(old)


def _decide(session: Session, parcel: PartsReturn, actor: User, status: RS, at: datetime | None) -> None:
    parcel.status, parcel.decided_by_id, parcel.decided_at = status.value, actor.id, at or utcnow()
    session.flush()  # UPDATE … WHERE version_id = loaded: the second of two racing decisions fails here


def _release(old: OldPart) -> None:
    """Off the application: still owed, free for another one."""
    old.parts_return, old.return_id = None, None


def ship(session: Session, parcel: PartsReturn, actor: User, courier: str, tracking_no: str,
         at: datetime | None = None) -> None:
    """The outlet ships the authorised list (the center may record it from the outlet's call).
    Each part's return day is kept; after the return cycle it is flagged late (R-PART-9)."""
    permissions.require(actions(session, parcel, actor), "ship", DomainError)
    errors = parcel_errors(courier, tracking_no)
    if errors:
        raise FieldErrors(errors)
    at = at or utcnow()
    parcel.courier, parcel.tracking_no = courier.strip(), tracking_no.strip()
    parcel.status, parcel.shipped_by_id, parcel.shipped_at = RS.SHIPPED.value, actor.id, at
    day = at.astimezone(zone_of(parcel.outlet)).date()
    cycle = timedelta(days=int(policy.value(session, "parts.return_cycle_days")))
    for old in parcel.old_parts:
        old.state, old.returned_on = OPS.IN_RETURN.value, day
        old.returned_late = day - old.replaced_on > cycle


def late_returns(session: Session, outlet_id: int, start: date, end: date) -> int:
    """R-PART-9: how many old parts (lines) the outlet shipped back after the return cycle between
    `start` and `end` (service-local days, both included) — for the outlet's evaluation."""
    return session.scalar(select(func.count()).select_from(OldPart).where(
        OldPart.outlet_id == outlet_id, OldPart.returned_late.is_(True),
        OldPart.returned_on >= start, OldPart.returned_on <= end)) or 0


def late_credit_rate(session: Session) -> Decimal:
    """The share credited for a late part issued on account, within 0…1."""
    return min(max(Decimal(policy.value(session, "parts.late_return_credit_rate")), ZERO), Decimal(1))


# --- receipt, inspection, credit or charge (R-PART-4, R-PART-5) ----------------------------------

def receive(session: Session, parcel: PartsReturn, actor: User, counts: dict[int, int],
            freight: Decimal | str | None = None) -> None:
    """The center counts the parcel against the list and records the freight it paid: freight is
    paid by the receiver (004), so it moves no balance of the outlet."""
    permissions.require(actions(session, parcel, actor), "receive", DomainError)
    errors = {}
    for old in parcel.old_parts:
        count = counts.get(old.id)
        if count is None or not 0 <= count <= old.qty:
            errors[f"received-{old.id}"] = _l("A count from 0 to %(qty)d.", qty=old.qty)
        else:
            old.received_qty = count
    try:
        paid = freight if isinstance(freight, Decimal) or freight is None else parse(freight)
    except ValueError as exc:
        errors["freight"] = exc.args[0]
    else:
        if paid is not None and paid < 0:
            errors["freight"] = _l("An amount of yuan with at most two decimals.")
        parcel.freight = None if paid is None else money(paid)
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
    of a settled part changes nothing. A part issued on account and returned late is credited at
    the policy's share; the rest is charged (R-PART-9)."""
    if old.state in SETTLED:
        return
    permissions.require(actions(session, old, actor), "settle", DomainError)
    if bought_for_cash(old):
        _settle_cash_part(old, verdict, note)
    else:
        _settle_on_account(session, old, actor, verdict, note, at)
    fee_claims.refresh_for_ticket(session, old.ticket_id)  # R-FEE-3: a waiting claim follows the verdict


def _settle_on_account(session: Session, old: OldPart, actor: User, verdict: str, note: str,
                       at: datetime | None) -> None:
    unit = old.unit_price
    received = old.qty if old.received_qty is None else old.received_qty
    rate = late_credit_rate(session) if old.returned_late else Decimal(1)
    credited = money(unit * received * rate) if verdict == QUALITY else ZERO
    charged = old.value - credited
    if credited:
        ledger.post(session, old.outlet_id, LedgerKind.RETURN_CREDIT, credited, actor=actor, at=at,
                    source=ledger.Source.old_part(old.id, "credit"), part_id=old.part_id, qty=received,
                    reason=f"{old.ticket.number} {note}".strip())
    if charged:
        reason = verdict if verdict != QUALITY else (
            NonCreditable.NOT_RECEIVED.value if received < old.qty else None)
        why = [label(NonCreditable, reason)] if reason else []
        if verdict == QUALITY and old.returned_late and rate < 1:
            why.append(str(RETURNED_LATE % {"rate": f"{(rate * 100).normalize():f}"}))
        ledger.post(session, old.outlet_id, LedgerKind.CHARGE, charged, cash=charged, actor=actor, at=at,
                    source=ledger.Source.old_part(old.id, "charge"), part_id=old.part_id,
                    qty=old.qty - (received if credited else 0),
                    reason=" ".join([old.ticket.number, *why, note.strip()]).strip())
        old.non_creditable = reason
    old.state = (OPS.CREDITED if credited else OPS.CHARGED).value
    old.decision_note = note.strip()


def bought_for_cash(old: OldPart) -> bool:
    """The outlet bought the fitted part for cash: it never drew on the account (R-FEE-3)."""
    return old.replaced_part is not None and old.replaced_part.settlement == Settlement.PURCHASE.value


def _settle_cash_part(old: OldPart, verdict: str, note: str) -> None:
    """R-FEE-3: a part bought for cash is reimbursed by the fee claim, never also by an account
    credit; so its old part moves no balance. A quality failure marks it creditable (the claim
    then pays it at list price); any other verdict leaves the cost with the outlet, which paid
    it already: nothing more is charged."""
    if verdict != QUALITY:
        old.non_creditable = verdict
    old.state = (OPS.CREDITED if verdict == QUALITY else OPS.CHARGED).value
    old.decision_note = note.strip()


def verify_scrapped(session: Session, old: OldPart, actor: User, confirmed: bool, note: str = "") -> None:
    """R-PART-6: a part scrapped locally is credited once the center has verified it."""
    permissions.require(actions(session, old, actor), "verify_scrapped", DomainError)
    if not confirmed and not note.strip():
        raise FieldErrors({"note": _l("Say what the verification found.")})
    settle(session, old, actor, QUALITY if confirmed else NonCreditable.NO_FAULT_FOUND.value, note)


# --- a non-creditable part: sent back or scrapped, as the outlet chooses (R-PART-9) ---------------

def choose_disposal(session: Session, parcel: PartsReturn, actor: User, chosen: dict[int, str],
                    at: datetime | None = None) -> list[OldPart]:
    """The outlet chooses, per non-creditable line of an inspected return, send back or scrap
    (004: 经退货单位同意可选择原件退回或报废处理). Lines left without a choice wait."""
    permissions.require(actions(session, parcel, actor), "choose_disposal", DomainError)
    waiting = [old for old in parcel.old_parts if awaits_choice(old)]
    values = {d.value for d in DISPOSAL}
    errors = {f"disposal-{old.id}": _l("Choose: send back or scrap.")
              for old in waiting if chosen.get(old.id) and chosen[old.id] not in values}
    picked = [old for old in waiting if chosen.get(old.id) in values]
    if not picked and not errors:
        errors["disposal"] = _l("Choose, for at least one part, to have it sent back or scrapped.")
    if errors:
        raise FieldErrors(errors)
    at = at or utcnow()
    for old in picked:
        permissions.require(actions(session, old, actor), "choose_disposal", DomainError)
        old.disposal, old.disposal_chosen_by_id, old.disposal_chosen_at = chosen[old.id], actor.id, at
    return picked


def dispose(session: Session, old: OldPart, actor: User, courier: str = "", tracking_no: str = "",
            at: datetime | None = None) -> None:
    """The center carries out the outlet's choice: ships the part back (courier and tracking
    number, the outlet as receiver pays the freight) or scraps it."""
    permissions.require(actions(session, old, actor), "dispose", DomainError)
    if old.disposal == DISPOSAL.SEND_BACK.value:
        errors = parcel_errors(courier, tracking_no)
        if errors:
            raise FieldErrors(errors)
        old.send_back_courier, old.send_back_tracking_no = courier.strip(), tracking_no.strip()
    old.disposed_by_id, old.disposed_at = actor.id, at or utcnow()


def overdue(session: Session, today: date) -> list[OldPart]:
    """Old parts still owed after the return cycle (a week), oldest first (they age in a list)."""
    days = int(policy.value(session, "parts.return_cycle_days"))
    return list(session.scalars(select(OldPart).where(
        OldPart.state == OPS.OWED.value, OldPart.replaced_on < today - timedelta(days=days))
        .order_by(OldPart.replaced_on, OldPart.id)))
