"""What the dealer network asks a manager to approve (DOMAIN §6, §6b, R-ROLE-2):

- a parts batch over the weekly limit (R-PART-3), asked by `parts_requests.submit`;
- parts on account beyond the quota for a special quality incident (R-PART-2), asked by the
  center while reviewing a request;
- the charge-back of a confirmed overcharge on a fee claim (R-FEE-2, R-CMP-3);
- a credit to a parts account, the correction in the outlet's favour (R-PART-8); a debit is
  posted at once (`correct_account`).

They are approval requests like the ticket ones: `approvals.decide` enforces four eyes and two
managers above the threshold, then calls `approved` / `rejected` here to apply the decision.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import ApprovalEvent, ApprovalRequest, FeeClaim, LedgerEntry, PartsAccount, PartsRequest, User, utcnow
from models.approvals import NETWORK_KINDS
from models.choices import ApprovalGrounds as G
from models.choices import ApprovalKind as K
from models.choices import ApprovalStatus, LedgerKind, Settlement
from models.choices import PartsRequestStatus as S

from . import fee_claims, ledger, parts_requests, permissions, policy, recipients
from .errors import DomainError, FieldErrors
from .money import ZERO, money
from .permissions import ALLOWED, Verdict, refuse

OPEN = (ApprovalStatus.PENDING.value, ApprovalStatus.INFO_REQUESTED.value)


def is_network(approval: ApprovalRequest) -> bool:
    return approval.kind in {k.value for k in NETWORK_KINDS}


def open_request(subject: PartsRequest | FeeClaim | PartsAccount) -> ApprovalRequest | None:
    """The request about this parts request, fee claim or account still waiting for a decision."""
    return next((a for a in subject.approvals if a.status in OPEN), None)


def on_account_total(request: PartsRequest) -> Decimal:
    return sum((line.amount for line in request.lines if line.settlement == Settlement.ON_ACCOUNT), ZERO)


def ask_incident(session: Session, request: PartsRequest, actor: User, settlements: dict[int, str],
                 reason: str, at: datetime | None = None) -> ApprovalRequest:
    """R-PART-2: the center proposes the lines' settlements and asks a manager to issue on
    account what the balance does not cover, for a special quality incident."""
    permissions.require(parts_requests.actions(session, request, actor), "review", DomainError)  # as a review
    errors = parts_requests.settlement_errors(request, settlements)
    if not (reason or "").strip():
        errors["incident_reason"] = _l("Describe the quality incident.")
    if errors:
        raise FieldErrors(errors)
    for line in request.lines:
        line.settlement = settlements[line.id]
    shortfall = on_account_total(request) - ledger.balance_of(session, request.outlet_id)
    if shortfall <= 0:
        raise FieldErrors({"incident_reason": _l(
            "The parts account covers these lines: review the request, no approval is needed.")})
    request.status = S.AWAITING_INCIDENT.value
    return _add(session, kind=K.PARTS_INCIDENT.value, grounds=G.QUALITY_INCIDENT.value, parts_request=request,
                outlet_id=request.outlet_id, amount=shortfall, reason=reason.strip(), requested_by=actor,
                created_at=at or utcnow())


def ask_chargeback(session: Session, claim: FeeClaim, actor: User, overcharge: Decimal | None,
                   note: str, at: datetime | None = None) -> ApprovalRequest:
    """R-FEE-2 / R-CMP-3: the center reports an overcharge; a manager confirms the charge-back."""
    permissions.require(fee_claims.actions(session, claim, actor), "charge_back", DomainError)
    fee_claims.check_overcharge(claim, overcharge, note)
    return _add(session, kind=K.FEE_CHARGEBACK.value, grounds=G.OVERCHARGE.value, fee_claim=claim,
                outlet_id=claim.outlet_id, amount=money(overcharge), reason=note.strip(), requested_by=actor,
                created_at=at or utcnow(), weight=fee_claims.charge_back_for(session, overcharge))


def correct_account(session: Session, account: PartsAccount, actor: User, delta: Decimal | None, reason: str,
                    token: str) -> LedgerEntry | ApprovalRequest:
    """R-PART-8: a manager's correction of a parts account. A debit is posted at once (once per
    form); a credit gives the outlet company parts on account, so another manager approves it
    (R-ROLE-2), like parts beyond the quota; the same form sent twice asks once."""
    if delta is not None and delta < 0:
        return ledger.adjust(session, account.outlet_id, actor, delta, reason, token)
    asked = session.scalar(select(ApprovalRequest).where(ApprovalRequest.form_token == token)) if token else None
    if asked is not None:
        if asked.parts_account_id == account.id and asked.amount == delta and asked.reason == (reason or "").strip():
            return asked
        raise FieldErrors({"adjust_amount": ledger.FORM_USED})
    ledger.check_correction(session, account.outlet_id, actor, delta, reason, token)
    if open_request(account) is not None:
        raise FieldErrors({"adjust_amount": _l(
            "A credit to this account is already waiting for a decision: it is decided first.")})
    return _add(session, kind=K.PARTS_CREDIT.value, grounds=G.CORRECTION.value, parts_account=account,
                outlet_id=account.outlet_id, amount=money(delta), reason=reason.strip(), requested_by=actor,
                created_at=utcnow(), form_token=token)


def _add(session: Session, weight: Decimal | None = None, **fields) -> ApprovalRequest:
    """A pending request; two managers when the money it moves (`weight`, else its amount) is
    above the policy threshold (R-RET-4)."""
    moved = fields["amount"] if weight is None else weight
    needs_second = moved > policy.value(session, "approvals.second_manager_above")
    try:
        with session.begin_nested():  # the partial UNIQUE index: one open request per subject
            approval = ApprovalRequest(status=ApprovalStatus.PENDING.value, needs_second=needs_second, **fields)
            session.add(approval)
            session.add(ApprovalEvent(request=approval, actor=fields["requested_by"], at=fields["created_at"],
                                      action="approval_requested", note=fields["reason"]))
            session.flush()
    except IntegrityError:
        raise DomainError(_l("A request about this is already waiting for a decision.")) from None
    recipients.tell_deciders(session, approval)  # issue 17: the managers hear it waits
    return approval


def decider_conflict(approval: ApprovalRequest, actor: User) -> Verdict:
    """Four eyes beyond the requester (R-ROLE-2): whoever audited a claim does not confirm its
    charge-back; whoever requested the parts does not allow their own extra batch. Part of
    `approvals.actions` (the "decide" verdicts) for a network request."""
    if approval.kind == K.FEE_CHARGEBACK:
        return fee_claims.not_the_auditor(approval.fee_claim, actor)
    if approval.parts_request is not None and approval.parts_request.requested_by_id == getattr(actor, "id", None):
        return refuse(_l("You requested these parts: another manager decides."))
    return ALLOWED


def figures(session: Session, approval: ApprovalRequest) -> dict:
    """What a manager decides a network request on: for a quality incident the lines' amount on
    account, the balance left and what lies beyond the quota (R-PART-2); for a credit the balance
    before and after (R-PART-8); for a charge-back the multiple and what it costs the outlet
    (R-FEE-2). Empty for any other request."""
    kind = K(approval.kind)
    if kind == K.PARTS_INCIDENT and approval.parts_request is not None:
        on_account = on_account_total(approval.parts_request)
        balance = ledger.balance_of(session, approval.parts_request.outlet_id)
        return {"incident": {"request": approval.parts_request, "on_account": on_account, "balance": balance,
                             "beyond_quota": max(on_account - balance, ZERO)}}
    if kind == K.PARTS_CREDIT and approval.parts_account is not None:
        balance = ledger.balance_of(session, approval.outlet_id)
        return {"credit": {"account": approval.parts_account, "balance": balance, "after": balance + approval.amount}}
    if kind == K.FEE_CHARGEBACK and approval.fee_claim is not None:
        return {"chargeback": {"claim": approval.fee_claim,
                               "multiple": policy.value(session, "fees.overcharge_multiple"),
                               "charge_back": fee_claims.charge_back_for(session, approval.amount)}}
    return {}


def approved(session: Session, approval: ApprovalRequest, actor: User, now: datetime) -> None:
    kind = K(approval.kind)
    if kind == K.PARTS_EXTRA_BATCH:
        parts_requests.require(approval.parts_request, S.AWAITING_EXCEPTION)
        approval.parts_request.status = S.SUBMITTED.value
    elif kind == K.PARTS_INCIDENT:
        _issue_beyond_quota(session, approval, actor, now)
    elif kind == K.FEE_CHARGEBACK:
        fee_claims.confirm_overcharge(session, approval.fee_claim, actor, approval.amount, approval.reason, at=now)
    elif kind == K.PARTS_CREDIT:
        ledger.check_headroom(session, approval.outlet_id, approval.amount)
        ledger.post(session, approval.outlet_id, LedgerKind.ADJUSTMENT, approval.amount,
                    source=ledger.Source.approval(approval.id), actor=actor, at=now,
                    reason=f"#{approval.id}: {approval.reason}")


def _issue_beyond_quota(session: Session, approval: ApprovalRequest, actor: User, now: datetime) -> None:
    """Credit the account with what the balance lacks now, never more than was asked and
    approved, then issue the lines as proposed: the balance ends at or above zero and both
    movements trace to this approval."""
    request = approval.parts_request
    parts_requests.require(request, S.AWAITING_INCIDENT)
    ledger.locked_account(session, request.outlet_id)
    lacking = on_account_total(request) - ledger.balance_of(session, request.outlet_id)
    if lacking > approval.amount:  # the account was drawn on meanwhile: decide on the new figure
        raise DomainError(_l("The parts account has been drawn on since this was asked: ¥%(lacking)s is lacking "
                             "now, more than the ¥%(asked)s asked. Reject it; the center asks again.",
                             lacking=money(lacking), asked=approval.amount))
    if lacking > 0:
        ledger.post(session, request.outlet_id, LedgerKind.ADJUSTMENT, lacking,
                    source=ledger.Source.approval(approval.id), actor=actor, at=now,
                    reason=f"{request.number} #{approval.id}: {approval.reason}")
    request.status = S.SUBMITTED.value
    parts_requests.review(session, request, actor, {line.id: line.settlement for line in request.lines}, at=now)


def withdraw_open(session: Session, request: PartsRequest, actor: User, at: datetime) -> ApprovalRequest | None:
    """The parts request is withdrawn (R-PART-10): the approval request it waits for, if any, is
    closed as withdrawn with its event; nobody decides it any more. A decision taken meanwhile
    wins: the version check refuses the withdrawal then."""
    approval = open_request(request)
    if approval is None:
        return None
    approval.status = ApprovalStatus.WITHDRAWN.value
    session.add(ApprovalEvent(request=approval, actor=actor, at=at, action="approval_withdrawn",
                              note=request.number))
    return approval


def rejected(session: Session, approval: ApprovalRequest, actor: User, now: datetime) -> None:
    request = approval.parts_request
    if approval.kind == K.PARTS_EXTRA_BATCH and request.status == S.AWAITING_EXCEPTION:
        request.status, request.reviewed_by, request.reviewed_at = S.REJECTED.value, actor, now
    elif approval.kind == K.PARTS_INCIDENT and request.status == S.AWAITING_INCIDENT:
        request.status = S.SUBMITTED.value  # back to review: the center buys what is beyond the quota
