"""Service-fee claims of the dealer outlets (R-FEE-1, R-FEE-2, R-CMP-3).

A claim is generated for each resolved warranty ticket of a dealer outlet: labour = the
remedy's standard hours × the hourly rate (policy), travel by distance band, parts at the
price list. The outlet states the distance while the claim waits for audit. The center
audits it (approve, adjust with a reason, reject); approved claims are settled per outlet
and month; an overcharge confirmed by a manager who did not audit the claim is charged back
at a multiple (policy, 10×) in the outlet's next settlement. Every amount is a Decimal
rounded to the cent and stays traceable to its ticket.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import FeeBatch, FeeClaim, FeeClaimPart, Outlet, Ticket, TravelBand, User, utcnow
from models.choices import FeeClaimStatus, Role, TicketStatus

from . import policy
from .access import UNSCOPED
from .errors import DomainError, FieldErrors
from .reconciliation import month_bounds

C = FeeClaimStatus
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
CENTER = frozenset({Role.ADMIN, Role.MANAGER, Role.CLERK})
MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
# A ticket is claimable once the service is done: resolved, in return visit, or closed.
DONE = (TicketStatus.RESOLVED.value, TicketStatus.RETURN_VISIT.value, TicketStatus.CLOSED.value)
PAYABLE = (C.APPROVED.value, C.ADJUSTED.value)
MAX_DISTANCE_KM = 2000


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT)


# --- figures (R-FEE-1) -----------------------------------------------------------------------
@dataclass(frozen=True)
class PartLine:
    replaced_part_id: int
    part_id: int
    qty: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Figures:
    remedy_code_id: int | None
    labor_hours: Decimal
    labor_rate: Decimal
    labor_amount: Decimal
    distance_km: int
    band_km: int | None
    travel_amount: Decimal
    parts: tuple[PartLine, ...]
    parts_amount: Decimal

    @property
    def total(self) -> Decimal:
        return self.labor_amount + self.travel_amount + self.parts_amount


def travel_band(session: Session, distance_km: int) -> TravelBand | None:
    """The first band whose limit covers the distance; beyond the last band, the last one."""
    band = session.scalar(select(TravelBand).where(TravelBand.up_to_km >= distance_km)
                          .order_by(TravelBand.up_to_km).limit(1))
    if band is None:
        band = session.scalar(select(TravelBand).order_by(TravelBand.up_to_km.desc()).limit(1))
    return band


def travel_for(session: Session, distance_km: int) -> Decimal:
    band = travel_band(session, distance_km)
    return money(band.amount) if band else ZERO


def compute(session: Session, ticket: Ticket, distance_km: int) -> Figures:
    """What the outlet may claim for the ticket's service (R-FEE-1)."""
    remedy = ticket.remedy_code
    hours = remedy.standard_hours if remedy is not None and remedy.standard_hours is not None \
        else policy.value(session, "fees.default_hours")
    hours = money(hours)
    rate = money(policy.value(session, "fees.labor_rate_per_hour"))
    band = travel_band(session, distance_km)
    parts = tuple(PartLine(p.id, p.part_id, p.qty, money(p.part.unit_price), money(p.part.unit_price * p.qty))
                  for p in ticket.replaced_parts)
    return Figures(
        remedy_code_id=remedy.id if remedy is not None else None, labor_hours=hours, labor_rate=rate,
        labor_amount=money(hours * rate), distance_km=distance_km,
        band_km=band.up_to_km if band else None, travel_amount=money(band.amount) if band else ZERO,
        parts=parts, parts_amount=sum((line.amount for line in parts), ZERO))


def _apply(claim: FeeClaim, figures: Figures) -> None:
    claim.remedy_code_id = figures.remedy_code_id
    claim.labor_hours, claim.labor_rate, claim.labor_amount = (figures.labor_hours, figures.labor_rate,
                                                               figures.labor_amount)
    claim.distance_km, claim.travel_band_km = figures.distance_km, figures.band_km
    claim.travel_amount, claim.parts_amount = figures.travel_amount, figures.parts_amount
    claim.claimed_total = figures.total
    claim.parts = [FeeClaimPart(replaced_part_id=line.replaced_part_id, part_id=line.part_id, qty=line.qty,
                                unit_price=line.unit_price, amount=line.amount) for line in figures.parts]


def claim_number(ticket: Ticket) -> str:
    """FW + the ticket's number without its prefix: SV20261122-0007 → FW20261122-0007."""
    digits = ticket.number[2:] if ticket.number.startswith("SV") else f"-{ticket.number}"
    return f"FW{digits}"


def claimable(outlet_id: int | None = None):
    """Resolved or closed in-warranty tickets of dealer outlets that have no claim yet."""
    stmt = (select(Ticket).join(Outlet, Outlet.id == Ticket.outlet_id)
            .where(Ticket.status.in_(DONE), Ticket.in_warranty.is_(True), Outlet.is_service_center.is_(False),
                   ~select(FeeClaim.id).where(FeeClaim.ticket_id == Ticket.id).exists())
            .order_by(Ticket.id))
    if outlet_id is not None:
        stmt = stmt.where(Ticket.outlet_id == outlet_id)
    return stmt


def generate(session: Session, outlet_id: int | None, actor: User) -> list[FeeClaim]:
    """Claims for the claimable tickets (idempotent; the UNIQUE ticket_id is the second wall:
    a ticket claimed meanwhile by a concurrent run is skipped, not claimed twice)."""
    if actor.role not in CENTER:
        raise DomainError(_l("Only the service center generates claims."))
    created = []
    for ticket in session.scalars(claimable(outlet_id)).all():
        claim = FeeClaim(ticket=ticket, outlet_id=ticket.outlet_id, number=claim_number(ticket),
                         status=C.CLAIMED.value)
        _apply(claim, compute(session, ticket, 0))
        try:
            with session.begin_nested():
                session.add(claim)
                session.flush()
        except IntegrityError:
            if session.scalar(select(FeeClaim.id).where(FeeClaim.ticket_id == ticket.id)
                              .execution_options(**UNSCOPED)) is None:
                raise
            continue
        created.append(claim)
    return created


# --- the outlet's part ------------------------------------------------------------------------
def parse_distance(text) -> int:
    text = str(text if text is not None else "").strip()
    if not text.isdecimal() or not text.isascii() or int(text) > MAX_DISTANCE_KM:
        raise FieldErrors({"distance_km": _l("Kilometres as a whole number from 0 to %(max)d.",
                                             max=MAX_DISTANCE_KM)})
    return int(text)


def set_distance(session: Session, claim: FeeClaim, actor: User, distance) -> None:
    """The outlet (or the center) states the distance travelled while the claim waits for
    audit; the claim is recomputed."""
    _require(claim, C.CLAIMED)
    if actor.role not in CENTER and not (actor.role == Role.DEALER and _outlet_of(session, actor, claim)):
        raise DomainError(_l("Only the outlet or the service center edits a claim."))
    _apply(claim, compute(session, claim.ticket, parse_distance(distance)))


def _outlet_of(session: Session, actor: User, claim: FeeClaim) -> bool:
    from .access import outlet_subtree

    return actor.outlet_id is not None and claim.outlet_id in outlet_subtree(session, actor.outlet_id)


# --- the center's audit ------------------------------------------------------------------------
def parse_amount(text, field: str) -> Decimal | None:
    """A yuan amount typed in a form, or FieldErrors for that field; empty gives None."""
    text = str(text if text is not None else "").strip().replace(",", "").replace("¥", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or abs(value) >= Decimal("1e10") or value != value.quantize(CENT):
        raise FieldErrors({field: _l("An amount in yuan, e.g. 120.50.")})
    return money(value)


def audit(session: Session, claim: FeeClaim, actor: User, decision: str, note: str = "",
          approved_total: Decimal | None = None, at: datetime | None = None) -> None:
    """The center checks ticket, verdict, photos and parts return, then approves, adjusts
    with a reason (0 ≤ amount ≤ claimed), or rejects with a reason (R-FEE-1)."""
    if actor.role not in CENTER:
        raise DomainError(_l("Only the service center audits claims."))
    _require(claim, C.CLAIMED)
    note = (note or "").strip()
    if decision == "approve":
        approved = claim.claimed_total
        status = C.APPROVED
    elif decision == "adjust":
        errors = {}
        if approved_total is None or approved_total < 0 or approved_total > claim.claimed_total:
            errors["approved_total"] = _l("An amount from 0 to the claimed ¥%(total)s.",
                                          total=f"{claim.claimed_total:,.2f}")
        if not note:
            errors["note"] = _l("Give the reason for the adjustment.")
        if errors:
            raise FieldErrors(errors)
        approved, status = money(approved_total), C.ADJUSTED
    elif decision == "reject":
        if not note:
            raise FieldErrors({"note": _l("Give the reason for the rejection.")})
        approved, status = ZERO, C.REJECTED
    else:
        raise FieldErrors({"decision": _l("Choose a decision.")})
    claim.status, claim.approved_total = status.value, approved
    claim.audit_note, claim.audited_by_id, claim.audited_at = note, actor.id, at or utcnow()


def charge_back_for(session: Session, overcharge: Decimal) -> Decimal:
    """What a confirmed overcharge costs the outlet: the policy multiple of it (R-CMP-3)."""
    return money(overcharge * policy.value(session, "fees.overcharge_multiple"))


def check_overcharge(claim: FeeClaim, overcharge: Decimal | None, note: str) -> None:
    """An overcharge is charged back once, on an approved or settled claim, and is at most what
    was approved (R-FEE-2)."""
    if claim.status not in (*PAYABLE, C.SETTLED.value) or claim.charge_back > 0:
        raise DomainError(_l("Only an approved or settled claim without a charge-back can be charged back."))
    errors = {}
    if overcharge is None or overcharge <= 0 or overcharge > claim.approved_total:
        errors["overcharge"] = _l("An amount above 0 and at most the approved ¥%(total)s.",
                                  total=f"{claim.approved_total:,.2f}")
    if not (note or "").strip():
        errors["charge_back_note"] = _l("Say what was overcharged.")
    if errors:
        raise FieldErrors(errors)


def confirm_overcharge(session: Session, claim: FeeClaim, actor: User, overcharge: Decimal | None,
                       note: str, at: datetime | None = None) -> None:
    """R-FEE-2 / R-CMP-3: a manager who did not audit the claim (four eyes, R-ROLE-2)
    confirms an overcharge; the multiple of it is deducted in the next settlement. Reached
    through the approval of a charge-back request (backoffice.network_approvals)."""
    if actor.role not in MANAGERS:
        raise DomainError(_l("Only a manager confirms an overcharge."))
    if claim.audited_by_id == actor.id:
        raise DomainError(_l("You audited this claim: another manager confirms the overcharge."))
    check_overcharge(claim, overcharge, note)
    claim.overcharge = money(overcharge)
    claim.charge_back = charge_back_for(session, claim.overcharge)
    claim.charge_back_note, claim.charge_back_by_id, claim.charge_back_at = note.strip(), actor.id, at or utcnow()


# --- monthly settlement (R-FEE-2) ---------------------------------------------------------------
def settle_month(session: Session, outlet_id: int, month: date, actor: User,
                 now: datetime | None = None) -> FeeBatch:
    """The outlet's batch of a finished month: every approved or adjusted claim not yet
    settled and audited before the month's end, less every charge-back confirmed by then and
    not yet deducted. The net is negative when the charge-backs exceed the claims (the outlet
    owes). Idempotent per outlet and month (UNIQUE outlet+month is the second wall)."""
    if actor.role not in CENTER:
        raise DomainError(_l("Only the service center settles fees."))
    month = month.replace(day=1)
    found = _batch(session, outlet_id, month)
    if found is not None:
        return found
    _, end = month_bounds(month)
    if end > (now or utcnow()):
        raise DomainError(_l("A month is settled once it is over."))
    claims = session.scalars(select(FeeClaim).where(
        FeeClaim.outlet_id == outlet_id, FeeClaim.status.in_(PAYABLE), FeeClaim.batch_id.is_(None),
        FeeClaim.audited_at < end).order_by(FeeClaim.id)).all()
    charged = session.scalars(select(FeeClaim).where(
        FeeClaim.outlet_id == outlet_id, FeeClaim.charge_back > 0, FeeClaim.charge_back_batch_id.is_(None),
        FeeClaim.charge_back_at < end).order_by(FeeClaim.id)).all()
    claims_total = sum((c.approved_total for c in claims), ZERO)
    charge_backs = sum((c.charge_back for c in charged), ZERO)
    try:
        with session.begin_nested():
            batch = FeeBatch(outlet_id=outlet_id, month=month, claims_total=claims_total,
                             charge_backs_total=charge_backs, net=claims_total - charge_backs,
                             created_by_id=actor.id)
            session.add(batch)
            session.flush()
            for claim in claims:
                claim.batch_id, claim.status = batch.id, C.SETTLED.value
            for claim in charged:
                claim.charge_back_batch_id = batch.id
            session.flush()
    except IntegrityError:  # settled at the same moment by someone else
        found = _batch(session, outlet_id, month)
        if found is None:
            raise
        return found
    return batch


def settle_all(session: Session, month: date, actor: User, now: datetime | None = None) -> list[FeeBatch]:
    """The month's batch of every outlet with something to settle or deduct."""
    _, end = month_bounds(month.replace(day=1))
    outlets = session.scalars(select(FeeClaim.outlet_id).where(
        (FeeClaim.status.in_(PAYABLE) & FeeClaim.batch_id.is_(None) & (FeeClaim.audited_at < end))
        | ((FeeClaim.charge_back > 0) & FeeClaim.charge_back_batch_id.is_(None) & (FeeClaim.charge_back_at < end))
    ).distinct()).all()
    return [settle_month(session, outlet_id, month, actor, now=now) for outlet_id in sorted(outlets)]


def _batch(session: Session, outlet_id: int, month: date) -> FeeBatch | None:
    return session.scalar(select(FeeBatch).where(FeeBatch.outlet_id == outlet_id, FeeBatch.month == month)
                          .execution_options(**UNSCOPED))


def _require(claim: FeeClaim, *states: C) -> None:
    if claim.status not in {s.value for s in states}:
        raise DomainError(_l("This claim is no longer at that step: reload the page."))
