"""Service-fee claims of the dealer outlets (R-FEE-1, R-FEE-2).

A claim is generated for each resolved warranty ticket of a dealer outlet: labour = the
remedy's standard hours × the rate (policy), travel by distance band, parts at the price
list. The center audits it (approve, adjust with a reason, reject); approved claims are
settled per outlet and month; a confirmed overcharge is charged back at 10× (policy) in the
next settlement. Every amount stays traceable to its ticket.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import FeeBatch, FeeClaim, Outlet, Ticket, TravelBand, User, utcnow
from models.choices import FeeClaimStatus, Role, TicketStatus

from . import policy
from .access import UNSCOPED
from .errors import DomainError, FieldErrors
from .reconciliation import month_bounds

C = FeeClaimStatus
CENT = Decimal("0.01")
CENTER = {Role.ADMIN, Role.MANAGER, Role.CLERK}
MANAGERS = {Role.ADMIN, Role.MANAGER}
DONE = (TicketStatus.RESOLVED.value, TicketStatus.RETURN_VISIT.value, TicketStatus.CLOSED.value)
PAYABLE = (C.APPROVED.value, C.ADJUSTED.value)


def travel_for(session: Session, distance_km: int) -> Decimal:
    band = session.scalar(select(TravelBand).where(TravelBand.up_to_km >= distance_km)
                          .order_by(TravelBand.up_to_km).limit(1))
    if band is None:  # beyond the last band: the last band's amount
        band = session.scalar(select(TravelBand).order_by(TravelBand.up_to_km.desc()).limit(1))
    return (band.amount if band else Decimal("0")).quantize(CENT)


def compute(session: Session, claim: FeeClaim, ticket: Ticket) -> None:
    """Fill the claim's figures from its ticket and distance (R-FEE-1)."""
    remedy = ticket.remedy_code
    hours = remedy.standard_hours if remedy and remedy.standard_hours is not None else \
        policy.value(session, "fees.default_hours")
    claim.labor_hours = Decimal(hours)
    claim.labor_rate = policy.value(session, "fees.labor_rate_per_hour").quantize(CENT)
    claim.labor_amount = (claim.labor_hours * claim.labor_rate).quantize(CENT)
    claim.travel_amount = travel_for(session, claim.distance_km or 0)
    claim.parts_amount = sum((p.part.unit_price * p.qty for p in ticket.replaced_parts),
                             Decimal("0")).quantize(CENT)
    claim.claimed_total = claim.labor_amount + claim.travel_amount + claim.parts_amount


def generate(session: Session, outlet_id: int | None = None) -> list[FeeClaim]:
    """Claims for resolved warranty tickets of dealer outlets that have none (idempotent)."""
    stmt = (select(Ticket).join(Outlet, Outlet.id == Ticket.outlet_id)
            .where(Ticket.status.in_(DONE), Ticket.in_warranty.is_(True), Outlet.is_service_center.is_(False),
                   ~select(FeeClaim.id).where(FeeClaim.ticket_id == Ticket.id).exists())
            .order_by(Ticket.id))
    if outlet_id is not None:
        stmt = stmt.where(Ticket.outlet_id == outlet_id)
    created = []
    for ticket in session.scalars(stmt):
        claim = FeeClaim(ticket=ticket, outlet_id=ticket.outlet_id, distance_km=0)
        compute(session, claim, ticket)
        session.add(claim)
        created.append(claim)
    session.flush()
    return created


def set_distance(session: Session, claim: FeeClaim, actor: User, text: str) -> None:
    """The outlet states the distance travelled while the claim waits for audit."""
    _require(claim, C.CLAIMED)
    if actor.role == Role.ENGINEER:
        raise DomainError(_l("Only the outlet or the service center edits a claim."))
    text = (text or "").strip()
    if not text.isdigit() or int(text) > 2000:
        raise FieldErrors({"distance_km": _l("Kilometres as a whole number from 0 to 2000.")})
    claim.distance_km = int(text)
    compute(session, claim, claim.ticket)


def audit(session: Session, claim: FeeClaim, actor: User, decision: str, note: str = "",
          amount: Decimal | None = None, at: datetime | None = None) -> None:
    """The center checks ticket, verdict, photos and parts return, then decides (R-FEE-1)."""
    _require(claim, C.CLAIMED)
    if actor.role not in CENTER:
        raise DomainError(_l("Only the service center audits claims."))
    note = (note or "").strip()
    if decision == "approve":
        claim.status, claim.approved_total = C.APPROVED.value, claim.claimed_total
    elif decision == "adjust":
        errors = {}
        if amount is None or amount < 0 or amount > claim.claimed_total:
            errors["amount"] = _l("An amount from 0 to the claimed ¥%(total)s.", total=claim.claimed_total)
        if not note:
            errors["note"] = _l("Give the reason for the adjustment.")
        if errors:
            raise FieldErrors(errors)
        claim.status, claim.approved_total = C.ADJUSTED.value, amount.quantize(CENT)
    elif decision == "reject":
        if not note:
            raise FieldErrors({"note": _l("Give the reason for the rejection.")})
        claim.status, claim.approved_total = C.REJECTED.value, Decimal("0.00")
    else:
        raise FieldErrors({"decision": _l("Choose a decision.")})
    claim.audit_note, claim.audited_by_id, claim.audited_at = note, actor.id, at or utcnow()


def confirm_overcharge(session: Session, claim: FeeClaim, actor: User, overcharge: Decimal | None,
                       note: str, at: datetime | None = None) -> None:
    """R-FEE-2 / R-CMP-3: a manager, not the auditor of the claim, confirms an overcharge."""
    if actor.role not in MANAGERS:
        raise DomainError(_l("Only a manager confirms an overcharge."))
    if claim.audited_by_id == actor.id:
        raise DomainError(_l("You audited this claim: another manager confirms the overcharge."))
    if claim.status not in (*PAYABLE, C.SETTLED.value) or claim.charge_back > 0:
        raise DomainError(_l("Only a paid or approved claim without a charge-back can be charged back."))
    errors = {}
    if overcharge is None or overcharge <= 0 or overcharge > (claim.approved_total or 0):
        errors["overcharge"] = _l("An amount above 0 and at most the approved ¥%(total)s.",
                                  total=claim.approved_total)
    if not (note or "").strip():
        errors["charge_back_note"] = _l("Say what was overcharged.")
    if errors:
        raise FieldErrors(errors)
    claim.overcharge = overcharge.quantize(CENT)
    claim.charge_back = (claim.overcharge * policy.value(session, "fees.overcharge_multiple")).quantize(CENT)
    claim.charge_back_note, claim.charge_back_by_id, claim.charge_back_at = note.strip(), actor.id, at or utcnow()


def settle_month(session: Session, outlet_id: int, month: date, actor: User) -> FeeBatch:
    """One batch per outlet and month: approved claims audited by the month's end, less the
    charge-backs confirmed by then and not yet deducted. Idempotent (R-FEE-2)."""
    if actor.role not in CENTER:
        raise DomainError(_l("Only the service center settles fees."))
    found = session.scalar(select(FeeBatch).where(FeeBatch.outlet_id == outlet_id, FeeBatch.month == month)
                           .execution_options(**UNSCOPED))
    if found is not None:
        return found
    _, end = month_bounds(month)
    claims = session.scalars(select(FeeClaim).where(
        FeeClaim.outlet_id == outlet_id, FeeClaim.status.in_(PAYABLE), FeeClaim.audited_at < end)
        .order_by(FeeClaim.id)).all()
    charged = session.scalars(select(FeeClaim).where(
        FeeClaim.outlet_id == outlet_id, FeeClaim.charge_back > 0, FeeClaim.charge_back_batch_id.is_(None),
        FeeClaim.charge_back_at < end)).all()
    claims_total = sum((c.approved_total for c in claims), Decimal("0.00"))
    charge_backs = sum((c.charge_back for c in charged), Decimal("0.00"))
    batch = FeeBatch(outlet_id=outlet_id, month=month, claims_total=claims_total,
                     charge_backs_total=charge_backs, net=claims_total - charge_backs, created_by_id=actor.id)
    session.add(batch)
    session.flush()
    for claim in claims:
        claim.batch_id, claim.status = batch.id, C.SETTLED.value
    for claim in charged:
        claim.charge_back_batch_id = batch.id
    return batch


def _require(claim: FeeClaim, *states: C) -> None:
    if claim.status not in {s.value for s in states}:
        raise DomainError(_l("This claim is no longer at that step: reload the page."))
