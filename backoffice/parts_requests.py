"""Parts requests of an outlet: submit → review (on account or purchase) → ship → delivery
confirmed (R-PART-3), gated on last month's reconciliation (R-PART-7).

Who may do what, now: `actions(session, request, user)` answers `{action: Verdict}` — with
`request=None` the collection's "submit", with a request its "review", "ship", "confirm"
(the delivery check) and "picking" (the printable picking list). The guards below require
those verdicts and the screens render their buttons from them. The weekly limit is not a
refusal but a question the form asks: `form_hints` says which outlets' batches of this week
are used (`week_taken`) and which of the user's outlets have their supply held.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import ApprovalEvent, ApprovalRequest, Outlet, Part, PartsRequest, PartsRequestLine, User, utcnow
from models.choices import (
    ApprovalGrounds,
    ApprovalKind,
    ApprovalStatus,
    GasType,
    LedgerKind,
    PartsRequestStatus,
    Settlement,
)

from . import ledger, permissions, policy, reconciliation
from .access import UNSCOPED
from .errors import DomainError, FieldErrors
from .permissions import ALLOWED, CENTER, DESK, Verdict, first_refusal, refuse, role_in
from .timezones import to_local

S = PartsRequestStatus
ONLY_CENTER = _l("Only the service center does this.")
STALE = _l("This request is no longer at that step: reload the page.")
NOT_PICKED = _l("The picking list is printed once the request is reviewed.")
PICKED = {s.value for s in (S.REVIEWED, S.SHIPPED, S.DELIVERED, S.DISPUTED)}


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
        "ship": first_refusal(center, _at(request, S.REVIEWED)),
        "confirm": first_refusal(role_in(user, DESK), _at(request, S.SHIPPED)),
        "picking": first_refusal(role_in(user, DESK), ALLOWED if request.status in PICKED else refuse(NOT_PICKED)),
    }


def _at(request: PartsRequest, state: S) -> Verdict:
    return ALLOWED if request.status == state.value else refuse(STALE)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def batch_limit(session: Session) -> int:
    return int(policy.value(session, "parts.batches_per_week"))


def batches_used(session: Session, outlet_ids, week: date) -> dict[int, int]:
    """Request batches of `week` per outlet that count against the limit: refused ones do not."""
    return dict(session.execute(select(PartsRequest.outlet_id, func.count(PartsRequest.id)).where(
        PartsRequest.outlet_id.in_(list(outlet_ids)), PartsRequest.week_start == week,
        PartsRequest.status != S.REJECTED.value).group_by(PartsRequest.outlet_id)
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
           exception_reason: str = "", at: datetime | None = None) -> PartsRequest:
    """A request batch. Over the weekly limit it waits for a manager to approve the exception
    through an approval request (R-PART-3, R-ROLE-2)."""
    permissions.require(actions(session, None, actor), "submit", DomainError)
    at = at or utcnow()
    errors = _check_lines(session, lines)
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
    return errors


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
         at: datetime | None = None) -> None:
    permissions.require(actions(session, request, actor), "ship", DomainError)
    errors = parcel_errors(courier, tracking_no)
    if errors:
        raise FieldErrors(errors)
    request.courier, request.tracking_no = courier.strip(), tracking_no.strip()
    request.status, request.shipped_at = S.SHIPPED.value, at or utcnow()


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
        if at - request.shipped_at > timedelta(days=days):
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

