"""Parts requests of an outlet: submit → review (on account or purchase) → ship → delivery
confirmed (R-PART-3), gated on last month's reconciliation (R-PART-7).

Who may do what, now: `actions(session, request, user)` answers `{action: Verdict}` — with
`request=None` the collection's "submit", with a request its "review", "reject" (the center
refuses a submitted request with its reason), "withdraw" (the outlet, or the center for it,
takes back a request not yet reviewed), "ship", "confirm" (the delivery check), "resolve" (the
center settles a delivery difference: reship or credit the missing lines) and "picking" (the
printable picking list). The guards below require those verdicts and the screens render their
buttons from them, and the "why not" hints from `permissions.why_not`. The weekly limit is not a
refusal but a question the form asks: `form_hints` says which outlets' batches of this week
are used (`week_taken`) and which of the user's outlets have their supply held.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    ApprovalEvent,
    ApprovalRequest,
    LedgerEntry,
    Outlet,
    Part,
    PartsRequest,
    PartsRequestLine,
    User,
    utcnow,
)
from models.choices import (
    ApprovalGrounds,
    ApprovalKind,
    ApprovalStatus,
    DisputeResolution,
    GasType,
    LedgerKind,
    PartsRequestStatus,
    Settlement,
)

from . import ledger, network_approvals, permissions, policy, recipients, reconciliation
from .access import UNSCOPED
from .errors import DomainError, FieldErrors
from .labels import label
from .ledger_source import MISSING, Source
from .money import ZERO, fits, money
from .permissions import ALLOWED, CENTER, DESK, Verdict, first_refusal, refuse, role_in
from .timezones import to_local

S = PartsRequestStatus
ONLY_CENTER = _l("Only the service center does this.")
STALE = _l("This request is no longer at that step: reload the page.")
NOT_PICKED = _l("The picking list is printed once the request is reviewed.")

# Why a request cannot end this way now (R-PART-10).
NOT_SUBMITTED = _l("Only a request waiting for its review is rejected.")
MANAGER_FIRST = _l("A manager decides this request's approval first.")
REVIEWED_ALREADY = _l("Already reviewed: the request can no longer be withdrawn.")
NOT_DISPUTED = _l("Only a delivery with a reported difference is settled.")
PICKED = {s.value for s in (S.REVIEWED, S.SHIPPED, S.DELIVERED, S.DISPUTED)}
UNREVIEWED = {s.value for s in (S.AWAITING_EXCEPTION, S.AWAITING_INCIDENT, S.SUBMITTED)}
REQUEST_PAGE = "parts_request.details_view"  # views: the request's page, endpoint "parts_request"
ENDED = {S.REJECTED.value, S.WITHDRAWN.value}  # do not count against the week's batches
NEEDED_AHEAD = timedelta(days=7)  # manual 004: parts are requested one week ahead (R-PART-3)


@dataclass
class LineDraft:
    part_id: int | None
    qty: int | None
    gas_type: str | None = None
    urgent: bool = False


def actions(session: Session, request: PartsRequest | None, user: User) -> dict[str, Verdict]:
    """Per action, may `user` take it now, or why not (R-PART-3, R-ROLE-1). The outlets and the
    center request parts; only the center reviews and ships; the outlet (or the center for it)
    checks the delivery."""
    if request is None:
        return {"submit": role_in(user, DESK)}
    center = role_in(user, CENTER, ONLY_CENTER)
    return {
        "review": first_refusal(center, _at(request, S.SUBMITTED)),
        "reject": first_refusal(center, _rejectable(request)),
        "withdraw": first_refusal(role_in(user, DESK), _withdrawable(request)),
        "ship": first_refusal(center, _at(request, S.REVIEWED)),
        "confirm": first_refusal(role_in(user, DESK), _at(request, S.SHIPPED)),
        "resolve": first_refusal(center, ALLOWED if request.status == S.DISPUTED else refuse(NOT_DISPUTED, hint=False)),
        "picking": first_refusal(role_in(user, DESK), ALLOWED if request.status in PICKED else refuse(NOT_PICKED)),
    }


def _rejectable(request: PartsRequest) -> Verdict:
    """Submitted: the center may refuse it. While a manager decides its approval, that decision
    comes first (a refused exception rejects the batch); a hint only then."""
    if request.status == S.SUBMITTED:
        return ALLOWED
    return refuse(MANAGER_FIRST) if request.status in UNREVIEWED else refuse(NOT_SUBMITTED, hint=False)


def _withdrawable(request: PartsRequest) -> Verdict:
    """Not yet reviewed: it may be withdrawn. Just reviewed, the hint says why no longer."""
    if request.status in UNREVIEWED:
        return ALLOWED
    return refuse(REVIEWED_ALREADY, hint=request.status == S.REVIEWED)


def _at(request: PartsRequest, state: S) -> Verdict:
    return ALLOWED if request.status == state.value else refuse(STALE)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def batch_limit(session: Session) -> int:
    return int(policy.value(session, "parts.batches_per_week"))


def batches_used(session: Session, outlet_ids, week: date) -> dict[int, int]:
    """Request batches of `week` per outlet that count against the limit: refused or withdrawn
    ones do not."""
    return dict(session.execute(select(PartsRequest.outlet_id, func.count(PartsRequest.id)).where(
        PartsRequest.outlet_id.in_(list(outlet_ids)), PartsRequest.week_start == week,
        PartsRequest.status.not_in(ENDED)).group_by(PartsRequest.outlet_id)
        .execution_options(**UNSCOPED)).all())


def week_taken(session: Session, outlet_ids, day: date) -> set[int]:
    """Outlets whose request batches of the week of `day` are used (R-PART-3): a further batch
    needs the reason for an exception. A hint for the form; submit() decides under a lock."""
    limit = batch_limit(session)
    return {outlet_id for outlet_id, used in batches_used(session, outlet_ids, week_start(day)).items()
            if used >= limit}


@dataclass(frozen=True)
class FormHints:
    """What the request form says before anything is typed; submit() still decides."""

    own_outlet_id: int | None  # an outlet's staff request for their own outlet first; the center chooses
    full_weeks: frozenset[int]  # this week's batches are used: the form asks for an exception's reason
    held: tuple[Outlet, ...]  # the user's own outlets whose supply is held (R-PART-7)


def form_hints(session: Session, user: User, outlets: list[Outlet], day: date) -> FormHints:
    if user.role in CENTER:  # the center sees every outlet: a held one is refused when sent
        own, held = None, ()
    else:
        own = user.outlet_id
        held = tuple(o for o in outlets if reconciliation.supply_blocked(session, o.id, day))
    return FormHints(own, frozenset(week_taken(session, [o.id for o in outlets], day)), held)


def submit(session: Session, outlet_id: int, actor: User, lines: list[LineDraft], note: str = "",
           exception_reason: str = "", at: datetime | None = None, needed_by: date | None = None) -> PartsRequest:
    """A request batch. Over the weekly limit it waits for a manager to approve the exception
    through an approval request (R-PART-3, R-ROLE-2). Without a needed-by day it is needed one
    week after it is sent; a day in the past is refused."""
    permissions.require(actions(session, None, actor), "submit", DomainError)
    at = at or utcnow()
    errors = _check_lines(session, lines)
    today = to_local(at).date()
    if needed_by is not None and needed_by < today:
        errors["needed_by"] = _l("The day the parts are needed by cannot be in the past.")
    if errors:
        raise FieldErrors(errors)
    ledger.locked_account(session, outlet_id)  # one outlet's submissions one at a time
    if reconciliation.supply_blocked(session, outlet_id, to_local(at).date()):  # R-PART-7
        raise DomainError(_l("Last month's parts account is not confirmed yet: confirm the "
                             "statement before requesting more parts."))
    week = week_start(to_local(at).date())
    used = batches_used(session, [outlet_id], week).get(outlet_id, 0)
    # Refused batches do not count against the limit, but their numbers stay taken.
    taken = session.scalar(select(func.max(PartsRequest.batch_no)).where(
        PartsRequest.outlet_id == outlet_id, PartsRequest.week_start == week)
        .execution_options(**UNSCOPED)) or 0
    limit = batch_limit(session)
    over = used >= limit
    if over and not exception_reason.strip():
        raise FieldErrors({"exception_reason": _l(
            "This week's %(limit)d request batches are used: give the reason for an exception "
            "and a manager decides.", limit=limit)})
    outlet = session.get(Outlet, outlet_id, execution_options=UNSCOPED)
    request = PartsRequest(
        number=f"PJ-{outlet.code}-{week:%G}W{week:%V}-{taken + 1}", outlet_id=outlet_id, week_start=week,
        batch_no=taken + 1, note=note.strip(), exception_reason=exception_reason.strip() if over else "",
        needed_by=needed_by or today + NEEDED_AHEAD,
        status=(S.AWAITING_EXCEPTION if over else S.SUBMITTED).value, requested_by=actor, created_at=at)
    for draft in lines:
        if draft.part_id is None:
            continue
        part = session.get(Part, draft.part_id)
        request.lines.append(PartsRequestLine(part=part, qty=draft.qty, urgent=draft.urgent,
                                              gas_type=draft.gas_type or part.gas_type,
                                              unit_price=part.unit_price))
    session.add(request)
    if over:
        asked = ApprovalRequest(
            kind=ApprovalKind.PARTS_EXTRA_BATCH.value, grounds=ApprovalGrounds.EXTRA_BATCH.value,
            parts_request=request, outlet_id=outlet_id, amount=0, reason=request.exception_reason,
            requested_by=actor, status=ApprovalStatus.PENDING.value, needs_second=False, created_at=at)
        session.add_all([asked, ApprovalEvent(request=asked, actor=actor, at=at, action="approval_requested",
                                              note=request.exception_reason)])
    session.flush()
    if over:
        recipients.tell_deciders(session, asked)  # issue 17: the managers hear it waits
    return request


def _check_lines(session: Session, lines: list[LineDraft]) -> dict:
    errors, filled = {}, [line for line in lines if line.part_id is not None]
    if not filled:
        return {"lines": _l("Add at least one part.")}
    for index, line in enumerate(lines):
        if line.part_id is None:
            continue
        part = session.get(Part, line.part_id)
        if part is None or not part.active:
            errors[f"lines-{index}-part_id"] = _l("Choose a part of the price list.")
        if line.qty is None or not 1 <= line.qty <= 999:
            errors[f"lines-{index}-qty"] = _l("A quantity from 1 to 999.")
        if line.gas_type and line.gas_type not in {g.value for g in GasType}:
            errors[f"lines-{index}-gas_type"] = _l("Choose the gas type.")
        elif line.gas_type and part is not None and part.gas_type and part.gas_type != line.gas_type:
            errors[f"lines-{index}-gas_type"] = _l(  # R-PART-10: a part for another gas is not fitted
                "%(part)s is for %(part_gas)s, not %(gas)s: choose the part for this gas type.",
                part=part.code, part_gas=label(GasType, part.gas_type), gas=label(GasType, line.gas_type))
    return errors


def total(request: PartsRequest) -> Decimal:
    """What the request's lines are worth at the prices they were requested at."""
    return sum((line.amount for line in request.lines), ZERO)


def reject(session: Session, request: PartsRequest, actor: User, reason: str, at: datetime | None = None) -> None:
    """The center refuses a submitted request; the reason is kept and shown (R-PART-10)."""
    permissions.require(actions(session, request, actor), "reject", DomainError)
    if not (reason or "").strip():
        raise FieldErrors({"rejection_reason": _l("Say why the request is rejected.")})
    request.status, request.rejection_reason = S.REJECTED.value, reason.strip()
    request.reviewed_by, request.reviewed_at = actor, at or utcnow()


def withdraw(session: Session, request: PartsRequest, actor: User, at: datetime | None = None) -> None:
    """The outlet (or the center for it) takes back a request not yet reviewed; the approval
    request it waits for is closed as withdrawn (R-PART-10)."""
    permissions.require(actions(session, request, actor), "withdraw", DomainError)
    at = at or utcnow()
    network_approvals.withdraw_open(session, request, actor, at)
    request.status, request.withdrawn_by, request.withdrawn_at = S.WITHDRAWN.value, actor, at


def suggested_settlements(session: Session, request: PartsRequest) -> dict[int, str]:
    """On account while the balance covers the line, purchase beyond it (R-PART-2)."""
    left = ledger.balance_of(session, request.outlet_id)
    suggestion = {}
    for line in request.lines:
        on_account = line.amount <= left
        left -= line.amount if on_account else 0
        suggestion[line.id] = (Settlement.ON_ACCOUNT if on_account else Settlement.PURCHASE).value
    return suggestion


def review(session: Session, request: PartsRequest, actor: User, settlements: dict[int, str],
           at: datetime | None = None) -> None:
    """The center settles each line and posts it to the ledger; all lines or none."""
    permissions.require(actions(session, request, actor), "review", DomainError)
    at = at or utcnow()
    errors = settlement_errors(request, settlements)
    if errors:
        raise FieldErrors(errors)
    with session.begin_nested():  # a refused line undoes the lines posted before it
        for line in request.lines:
            line.settlement = settlements[line.id]
            try:
                _post_line(session, request, line, actor, at)
            except ledger.OverQuota as exc:
                errors[f"settlement-{line.id}"] = exc.message
        if errors:
            raise FieldErrors(errors)
    request.status, request.reviewed_by, request.reviewed_at = S.REVIEWED.value, actor, at


def settlement_errors(request: PartsRequest, settlements: dict[int, str]) -> dict:
    valid = {s.value for s in Settlement}
    return {f"settlement-{line.id}": _l("Choose on account or purchase.")
            for line in request.lines if settlements.get(line.id) not in valid}


def _post_line(session, request, line, actor, at) -> None:
    source = ledger.Source.parts_request_line(line.id)
    if line.settlement == Settlement.ON_ACCOUNT:
        ledger.post(session, request.outlet_id, LedgerKind.ISSUE, -line.amount, source=source,
                    actor=actor, part_id=line.part_id, qty=line.qty, at=at, reason=request.number)
    else:
        ledger.post(session, request.outlet_id, LedgerKind.PURCHASE, 0, cash=line.amount, source=source,
                    actor=actor, part_id=line.part_id, qty=line.qty, at=at, reason=request.number)


def ship(session: Session, request: PartsRequest, actor: User, courier: str, tracking_no: str,
         at: datetime | None = None, freight: Decimal | None = None) -> None:
    """The parcel leaves with its courier and tracking number. Its freight is paid by the
    receiver (manual 004, R-PART-7): booked as the outlet's cash movement of the shipping day
    (kind FREIGHT, nothing on account), so the month's statement counts it; 0 or none books
    nothing."""
    permissions.require(actions(session, request, actor), "ship", DomainError)
    errors = parcel_errors(courier, tracking_no)
    freight = money(freight or 0)
    if freight < 0 or not fits(freight):
        errors["freight"] = _l("The freight in yuan, e.g. 25.00 (0 when there is none).")
    if errors:
        raise FieldErrors(errors)
    at = at or utcnow()
    request.courier, request.tracking_no, request.freight = courier.strip(), tracking_no.strip(), freight
    request.status, request.shipped_at = S.SHIPPED.value, at
    if freight:
        ledger.post(session, request.outlet_id, LedgerKind.FREIGHT, ZERO, cash=freight,
                    source=Source.freight(request.id), actor=actor, at=at,
                    reason=f"{request.number} {request.courier} {request.tracking_no}")
    # Issue 17: the outlet's dealers hear that a parcel left, once per parcel (R-PART-3).
    recipients.tell_outlet_of(session, request, "parts_shipped", "", REQUEST_PAGE, number=request.number,
                              courier=request.courier, tracking=request.tracking_no)


def parcel_errors(courier: str, tracking_no: str) -> dict:
    """A parcel is traceable only with its courier and tracking number (both directions)."""
    errors = {}
    if not (courier or "").strip():
        errors["courier"] = _l("Name the courier.")
    if not (tracking_no or "").strip():
        errors["tracking_no"] = _l("Give the tracking number.")
    return errors


def confirm_delivery(session: Session, request: PartsRequest, actor: User, complete: bool,
                     note: str = "", at: datetime | None = None) -> None:
    """The outlet checks the parcel against the list; differences within a week (R-PART-3)."""
    permissions.require(actions(session, request, actor), "confirm", DomainError)
    at = at or utcnow()
    if not complete:
        days = int(policy.value(session, "parts.delivery_check_days"))
        sent = request.resolved_at if request.resolution == DisputeResolution.RESHIP else request.shipped_at
        if at - sent > timedelta(days=days):  # a reshipment is checked from its own shipping
            raise DomainError(_l("Differences are raised within %(days)d days of shipping; this "
                                 "delivery counts as accepted.", days=days))
        if not note.strip():
            raise FieldErrors({"delivery_note": _l("Say what is missing or wrong.")})
    request.status = (S.DELIVERED if complete else S.DISPUTED).value
    request.delivered_at, request.delivery_note = at, note.strip()


def ship_due(session: Session, request: PartsRequest) -> datetime | None:
    """Urgent lines are shipped within 24 h (policy) of the request (R-PART-3)."""
    if not request.urgent:
        return None
    return request.created_at + timedelta(hours=int(policy.value(session, "parts.urgent_ship_hours")))


def require(request: PartsRequest, *states: S) -> None:
    """For the approvals around a request (network_approvals): it still stands at one of `states`."""
    if request.status not in {s.value for s in states}:
        raise DomainError(STALE)


def resolve_dispute(session: Session, request: PartsRequest, actor: User, how: str, missing: dict[int, int | None],
                    note: str, courier: str = "", tracking_no: str = "", at: datetime | None = None) -> None:
    """The center settles a delivery difference (R-PART-10): `missing` gives per line id the
    quantity found missing. Reshipped, the missing lines go out in a parcel of their own and the
    outlet checks that delivery again; credited, each line's value goes back the way it was
    paid — a line issued on account is credited to the parts account (ADJUSTMENT), a line bought
    for cash is refunded in cash (CASH_REFUND) — once per line: a line credited already is
    refused, not credited twice. The request then ends delivered. Either way the difference and
    the reason stay on the request."""
    permissions.require(actions(session, request, actor), "resolve", DomainError)
    at = at or utcnow()
    errors = _resolution_errors(request, how, missing, note)
    if how == DisputeResolution.RESHIP:
        errors.update({f"reship_{key}": text for key, text in parcel_errors(courier, tracking_no).items()})
    elif how == DisputeResolution.CREDIT:
        done = credited_lines(session, request)
        errors.update({f"missing-{line.id}": ALREADY_CREDITED for line in request.lines
                       if missing.get(line.id) and line.id in done})
    if errors:
        raise FieldErrors(errors)
    for line in request.lines:
        line.missing_qty = missing.get(line.id) or None
    short = [line for line in request.lines if line.missing_qty]
    request.missing_value = money(sum((line.unit_price * line.missing_qty for line in short), ZERO))
    request.resolution, request.resolution_note = how, note.strip()
    request.resolved_by, request.resolved_at = actor, at
    if how == DisputeResolution.RESHIP:
        request.reship_courier, request.reship_tracking_no = courier.strip(), tracking_no.strip()
        request.status = S.SHIPPED.value
        recipients.tell_outlet_of(session, request, "parts_reshipped", at.isoformat(), REQUEST_PAGE,
                                  number=request.number, courier=request.reship_courier,
                                  tracking=request.reship_tracking_no)  # a parcel of its own (R-PART-10)
        return
    on_account = [line for line in short if line.settlement != Settlement.PURCHASE]
    ledger.check_headroom(session, request.outlet_id,
                          sum((line.unit_price * line.missing_qty for line in on_account), ZERO))
    for line in short:
        value = money(line.unit_price * line.missing_qty)
        kind, delta, cash = ((LedgerKind.CASH_REFUND, ZERO, -value) if line.settlement == Settlement.PURCHASE
                             else (LedgerKind.ADJUSTMENT, value, ZERO))
        ledger.post(session, request.outlet_id, kind, delta, cash=cash, source=missing_source(line), actor=actor,
                    part_id=line.part_id, qty=line.missing_qty, at=at, reason=f"{request.number}: {note.strip()}")
    request.status = S.DELIVERED.value


ALREADY_CREDITED = _l("This line's missing parts were credited already: they are not credited twice.")


def missing_source(line: PartsRequestLine) -> Source:
    """The one credit (or refund) of a line's missing parts."""
    return Source.parts_request_line(line.id, MISSING)


def credited_lines(session: Session, request: PartsRequest) -> dict[int, LedgerEntry]:
    """{line id: the entry that credited (or refunded) its missing parts}, for the request's lines."""
    sources = {str(missing_source(line)): line.id for line in request.lines}
    if not sources:
        return {}
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.source.in_(sources))
                              .execution_options(**UNSCOPED)).all()
    return {sources[entry.source]: entry for entry in entries}


def _resolution_errors(request: PartsRequest, how: str, missing: dict[int, int | None], note: str) -> dict:
    errors = {}
    if how not in {r.value for r in DisputeResolution}:
        errors["resolution"] = _l("Choose: reship or credit the missing parts.")
    for line in request.lines:
        qty = missing.get(line.id)
        if qty is not None and not 0 <= qty <= line.qty:
            errors[f"missing-{line.id}"] = _l("From 0 to the %(qty)d requested.", qty=line.qty)
    if not errors and not any(missing.get(line.id) for line in request.lines):
        errors["missing"] = _l("Say how many of which part are missing.")
    if not (note or "").strip():
        errors["resolution_note"] = _l("Say how the difference was settled and why.")
    return errors
