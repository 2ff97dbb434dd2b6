"""Service-fee claims of the dealer outlets (R-FEE-1, R-FEE-2, R-CMP-3).

A claim is generated for each resolved warranty ticket of a dealer outlet: labour = the
remedy's standard hours × the hourly rate (policy), travel by distance band, and the fitted
parts the outlet bought for cash at the price list (R-FEE-3: a part is paid for once — a part
issued on account is refilled by its old part's credit, not paid here; a part bought for cash
is paid here, and its old part moves no balance; see the README's fee section). The outlet
states the distance while the claim waits for audit. The center audits it with the facts in
view (ticket status, warranty verdict, photos, old parts): approval waits until the ticket is
resolved or closed and every owed old part is back and inspected or verified; adjust and
reject stay open. A reopened ticket's claim goes back to waiting. Approved claims are settled
per outlet and month; an overcharge confirmed by a manager who did not audit the claim is charged back
at a multiple (policy, 10×) in the outlet's next settlement. Every amount is a Decimal
rounded to the cent and stays traceable to its ticket.

Who may do what, now: `actions(session, claim, user)` (R-ROLE-1..3). Without a claim it
answers for the collection — "generate" (claims from resolved warranty tickets) and "settle"
(a finished month's batches); with a claim — "edit_distance", "audit", "charge_back" (report an
overcharge, which asks a manager's approval) and "confirm_overcharge" (that manager's decision,
four eyes); "approve" adds to "audit" what approval waits for (R-FEE-3). The guards below
`require` these verdicts, the screens render them and show the
refusals worth a hint (`permissions.why_not`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Attachment, FeeBatch, FeeClaim, FeeClaimPart, OldPart, Outlet, Ticket, TravelBand, User, utcnow
from models.choices import ClaimPartBasis, FeeClaimStatus, OldPartState, Settlement, TicketStatus

from . import policy, recipients, warranty
from .access import UNSCOPED
from .errors import DomainError, FieldErrors
from .money import ZERO, money
from .money import parse as parse_money
from .months import first_day
from .permissions import ALLOWED, CENTER, DESK, MANAGERS, Verdict, first_refusal, refuse, require, role_in
from .reconciliation import month_bounds

C = FeeClaimStatus
B = ClaimPartBasis
# A ticket is claimable once the service is done: resolved, in return visit, or closed.
DONE = (TicketStatus.RESOLVED.value, TicketStatus.RETURN_VISIT.value, TicketStatus.CLOSED.value)
PAYABLE = (C.APPROVED.value, C.ADJUSTED.value)
# An old part is back once it is credited or charged: inspected after its return, or its local
# scrapping verified (backoffice.old_parts).
OLD_PART_BACK = (OldPartState.CREDITED.value, OldPartState.CHARGED.value)
MAX_DISTANCE_KM = 2000


# --- who may do what, now (R-ROLE-1..3) --------------------------------------------------------
def actions(session: Session, claim: FeeClaim | None, user: User) -> dict[str, Verdict]:
    """Per action, whether `user` may take it now, or why not (see the module docstring). Who
    may act (role, outlet, four eyes) is checked before what the claim allows now; only the
    latter is worth a hint on the page (`permissions.why_not`)."""
    if claim is None:
        return {"generate": role_in(user, CENTER, _l("Only the service center generates claims.")),
                "settle": role_in(user, CENTER, _l("Only the service center settles fees."))}
    return {
        "edit_distance": first_refusal(_outlet_or_center(session, claim, user),
                                       _waiting(claim, _l("The claim has been audited: its distance is final."))),
        "audit": (audit := first_refusal(role_in(user, CENTER, _l("Only the service center audits claims.")),
                                         _waiting(claim, _l("This claim has been audited already.")))),
        "approve": first_refusal(audit, _ticket_done(claim), _old_parts_back(session, claim)),
        "charge_back": first_refusal(role_in(user, CENTER, _l("Only the service center reports an overcharge.")),
                                     _chargeable(claim), _nothing_pending(claim)),
        "confirm_overcharge": first_refusal(role_in(user, MANAGERS, _l("Only a manager confirms an overcharge.")),
                                            not_the_auditor(claim, user), _chargeable(claim)),
    }


def _waiting(claim: FeeClaim, reason) -> Verdict:
    """The outlet's figures and the center's audit happen while the claim waits for audit."""
    return ALLOWED if claim.status == C.CLAIMED else refuse(reason)


def _ticket_done(claim: FeeClaim) -> Verdict:
    """R-FEE-3: a claim is approved only while its ticket is resolved or closed."""
    if claim.ticket.status in DONE:
        return ALLOWED
    return refuse(_l("The ticket is not resolved (it was reopened): approve once it is resolved again; "
                     "adjust or reject stay open."))


def _old_parts_back(session: Session, claim: FeeClaim) -> Verdict:
    """R-FEE-3: ... and every old part it owes is returned and inspected, or verified scrapped."""
    owed = [o for o in old_parts_of(session, claim.ticket_id) if o.state not in OLD_PART_BACK]
    if not owed:
        return ALLOWED
    return refuse(_l("Old part %(part)s is not back yet: approve once it is returned and inspected, or its "
                     "scrapping verified; adjust or reject stay open.", part=owed[0].part))


def old_parts_of(session: Session, ticket_id: int) -> list[OldPart]:
    return list(session.scalars(select(OldPart).where(OldPart.ticket_id == ticket_id).order_by(OldPart.id)
                                .execution_options(**UNSCOPED)))


@dataclass(frozen=True)
class AuditFacts:
    """What the center checks before deciding a claim (R-FEE-1): the ticket, its warranty
    verdict, its photos, and the return of its old parts."""

    ticket: Ticket
    verdict: warranty.Verdict | None
    photos: list[Attachment]
    old_parts: list[OldPart]


def audit_facts(session: Session, claim: FeeClaim) -> AuditFacts:
    photos = session.scalars(select(Attachment).where(Attachment.ticket_id == claim.ticket_id,
                                                      Attachment.content_type.like("image/%"))
                             .order_by(Attachment.id)).all()
    return AuditFacts(claim.ticket, warranty.of_ticket(claim.ticket), list(photos),
                      old_parts_of(session, claim.ticket_id))


def _outlet_or_center(session: Session, claim: FeeClaim, user: User) -> Verdict:
    """The center edits any claim; a dealer its own outlet's (and sub-outlets')."""
    if not (verdict := role_in(user, DESK, _l("Only the outlet or the service center edits a claim."))):
        return verdict
    if user.role in CENTER or _outlet_of(session, user, claim):
        return ALLOWED
    return refuse(_l("This claim belongs to another outlet."), hint=False)


def _outlet_of(session: Session, actor: User, claim: FeeClaim) -> bool:
    from .access import outlet_subtree

    return actor.outlet_id is not None and claim.outlet_id in outlet_subtree(session, actor.outlet_id)


def _chargeable(claim: FeeClaim) -> Verdict:
    """R-FEE-2: an overcharge is charged back once, on a claim that was paid or is to be."""
    if claim.status not in (*PAYABLE, C.SETTLED.value):
        return refuse(_l("Only an approved or settled claim can be charged back."))
    if claim.charge_back > 0:
        return refuse(_l("This claim has been charged back already."))
    return ALLOWED


def _nothing_pending(claim: FeeClaim) -> Verdict:
    from .network_approvals import open_request

    if open_request(claim) is not None:
        return refuse(_l("A charge-back of this claim is already waiting for a decision."))
    return ALLOWED


def not_the_auditor(claim: FeeClaim, user: User) -> Verdict:
    """Four eyes (R-ROLE-2): whoever audited the claim does not confirm its overcharge (nor
    decide the charge-back request that would confirm it: network_approvals)."""
    if claim.audited_by_id is not None and claim.audited_by_id == getattr(user, "id", None):
        return refuse(_l("You audited this claim: another manager decides the charge-back."), hint=False)
    return ALLOWED


# --- figures (R-FEE-1) -----------------------------------------------------------------------
@dataclass(frozen=True)
class PartLine:
    replaced_part_id: int
    part_id: int
    qty: int
    unit_price: Decimal
    amount: Decimal
    basis: str


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


def band_label(session: Session, up_to_km: int | None):
    """How a band reads: "band up to 30 km"; the last band, whose limit only closes the table
    (e.g. 9999), reads from the band below it: "over 60 km"."""
    if up_to_km is None:
        return ""
    higher = session.scalar(select(TravelBand.id).where(TravelBand.up_to_km > up_to_km).limit(1))
    lower = session.scalar(select(TravelBand.up_to_km).where(TravelBand.up_to_km < up_to_km)
                           .order_by(TravelBand.up_to_km.desc()).limit(1))
    if higher is None and lower is not None:
        return _l("over %(km)s km", km=lower)
    return _l("band up to %(km)s km", km=up_to_km)


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
    parts = tuple(_part_line(session, p) for p in ticket.replaced_parts)
    return Figures(
        remedy_code_id=remedy.id if remedy is not None else None, labor_hours=hours, labor_rate=rate,
        labor_amount=money(hours * rate), distance_km=distance_km,
        band_km=band.up_to_km if band else None, travel_amount=money(band.amount) if band else ZERO,
        parts=parts, parts_amount=sum((line.amount for line in parts), ZERO))


def _part_line(session: Session, replaced) -> PartLine:
    """R-FEE-3: a fitted part is paid for once. Issued on account: not paid here (its old part's
    credit refills the account). Bought for cash: paid here at list price, unless its old part
    was found not creditable (R-PART-5), when the outlet bears it."""
    unit = money(replaced.part.unit_price)
    basis = B.ON_ACCOUNT
    if replaced.settlement == Settlement.PURCHASE.value:
        old_state = session.scalar(select(OldPart.state).where(OldPart.replaced_part_id == replaced.id)
                                   .execution_options(**UNSCOPED))
        basis = B.NOT_CREDITABLE if old_state == OldPartState.CHARGED.value else B.PURCHASE
    amount = money(unit * replaced.qty) if basis == B.PURCHASE else ZERO
    return PartLine(replaced.id, replaced.part_id, replaced.qty, unit, amount, basis.value)


def _apply(claim: FeeClaim, figures: Figures) -> None:
    claim.remedy_code_id = figures.remedy_code_id
    claim.labor_hours, claim.labor_rate, claim.labor_amount = (figures.labor_hours, figures.labor_rate,
                                                               figures.labor_amount)
    claim.distance_km, claim.travel_band_km = figures.distance_km, figures.band_km
    claim.travel_amount, claim.parts_amount = figures.travel_amount, figures.parts_amount
    claim.claimed_total = figures.total
    claim.parts = [FeeClaimPart(replaced_part_id=line.replaced_part_id, part_id=line.part_id, qty=line.qty,
                                unit_price=line.unit_price, amount=line.amount, basis=line.basis)
                   for line in figures.parts]


def refresh(session: Session, claim: FeeClaim) -> None:
    """A waiting claim follows its ticket: parts fitted in a rework, an old part's verdict."""
    if claim.status == C.CLAIMED:
        _apply(claim, compute(session, claim.ticket, claim.distance_km))


def refresh_for_ticket(session: Session, ticket_id: int) -> None:
    claim = _claim_of(session, ticket_id)
    if claim is not None:
        refresh(session, claim)


def ticket_reopened(session: Session, ticket: Ticket, at: datetime) -> None:
    """R-FEE-3: an unsatisfied return visit reopened the ticket, so the service is not done: its
    claim, unless paid or rejected already, waits for audit again (the audit trail keeps the
    earlier decision)."""
    claim = _claim_of(session, ticket.id)
    if claim is None or claim.status not in (C.CLAIMED, *PAYABLE):
        return
    claim.status, claim.approved_total, claim.reopened_at = C.CLAIMED.value, None, at
    claim.audit_note, claim.audited_by_id, claim.audited_at = "", None, None


def _claim_of(session: Session, ticket_id: int) -> FeeClaim | None:
    return session.scalar(select(FeeClaim).where(FeeClaim.ticket_id == ticket_id).execution_options(**UNSCOPED))


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
    require(actions(session, None, actor), "generate", error=DomainError)
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
    require(actions(session, claim, actor), "edit_distance", error=DomainError)
    _apply(claim, compute(session, claim.ticket, parse_distance(distance)))


# --- the center's audit ------------------------------------------------------------------------
def parse_amount(text, field: str) -> Decimal | None:
    """A yuan amount typed in a form, or FieldErrors for that field; empty gives None. A minus
    sign is read (the service says which range it takes: a debit is negative)."""
    try:
        return parse_money(text, signed=True)
    except ValueError as exc:
        raise FieldErrors({field: exc.args[0]}) from None


def audit(session: Session, claim: FeeClaim, actor: User, decision: str, note: str = "",
          approved_total: Decimal | None = None, at: datetime | None = None) -> None:
    """The center checks ticket, verdict, photos and parts return (`audit_facts`), then approves
    (R-FEE-3: once the ticket is done and its old parts are back), adjusts with a reason
    (0 ≤ amount ≤ claimed), or rejects with a reason (R-FEE-1)."""
    require(actions(session, claim, actor), "audit", error=DomainError)
    refresh(session, claim)
    note = (note or "").strip()
    if decision == "approve":
        require(actions(session, claim, actor), "approve", error=DomainError)
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
    recipients.tell_outlet_of(session, claim, AUDITED[status], claim.audited_at.isoformat(), CLAIM_PAGE,
                              number=claim.number, amount=f"{approved:,.2f}", claimed=f"{claim.claimed_total:,.2f}")


# Issue 17: what the outlet's dealers are told of an audit, by its outcome (STAFF_TEXTS), once per
# event (R-FEE-2); the amounts as shown, in yuan.
AUDITED = {C.APPROVED: "claim_approved", C.ADJUSTED: "claim_adjusted", C.REJECTED: "claim_rejected"}
CLAIM_PAGE = "fee_claim.details_view"  # views: the claim's breakdown, endpoint "fee_claim"


def charge_back_for(session: Session, overcharge: Decimal) -> Decimal:
    """What a confirmed overcharge costs the outlet: the policy multiple of it (R-CMP-3)."""
    return money(overcharge * policy.value(session, "fees.overcharge_multiple"))


def check_overcharge(claim: FeeClaim, overcharge: Decimal | None, note: str) -> None:
    """The overcharge typed: above zero, at most what was approved, with what was overcharged
    (R-FEE-2). Whether the claim may be charged back at all is `actions`' "charge_back"."""
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
    require(actions(session, claim, actor), "confirm_overcharge", error=DomainError)
    check_overcharge(claim, overcharge, note)
    claim.overcharge = money(overcharge)
    claim.charge_back = charge_back_for(session, claim.overcharge)
    claim.charge_back_note, claim.charge_back_by_id, claim.charge_back_at = note.strip(), actor.id, at or utcnow()
    recipients.tell_outlet_of(session, claim, "claim_charged_back", "charge_back", CLAIM_PAGE, number=claim.number,
                              overcharge=f"{claim.overcharge:,.2f}", charge_back=f"{claim.charge_back:,.2f}")


# --- monthly settlement (R-FEE-2) ---------------------------------------------------------------
def settle_month(session: Session, outlet_id: int, month: date, actor: User,
                 now: datetime | None = None) -> FeeBatch:
    """The outlet's batch of a finished month: every approved or adjusted claim not yet
    settled and audited before the month's end, less every charge-back confirmed by then and
    not yet deducted. The net is negative when the charge-backs exceed the claims (the outlet
    owes). Idempotent per outlet and month (UNIQUE outlet+month is the second wall)."""
    require(actions(session, None, actor), "settle", error=DomainError)
    month = first_day(month)
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
    require(actions(session, None, actor), "settle", error=DomainError)
    _, end = month_bounds(first_day(month))
    outlets = session.scalars(select(FeeClaim.outlet_id).where(
        (FeeClaim.status.in_(PAYABLE) & FeeClaim.batch_id.is_(None) & (FeeClaim.audited_at < end))
        | ((FeeClaim.charge_back > 0) & FeeClaim.charge_back_batch_id.is_(None) & (FeeClaim.charge_back_at < end))
    ).distinct()).all()
    return [settle_month(session, outlet_id, month, actor, now=now) for outlet_id in sorted(outlets)]


def _batch(session: Session, outlet_id: int, month: date) -> FeeBatch | None:
    return session.scalar(select(FeeBatch).where(FeeBatch.outlet_id == outlet_id, FeeBatch.month == month)
                          .execution_options(**UNSCOPED))
