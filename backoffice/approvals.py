"""Returns, exchanges, refunds, compensation, fee waivers and verdict overrides as requests a
manager approves (DOMAIN §7, R-RET-1…4, R-WAR-5, R-ROLE-2); the dealer network's requests
(extra parts batches, parts beyond the quota, fee charge-backs) are raised in
`network_approvals` and decided here the same way.

`check` applies the policy before a request can be submitted; `submit` records it on the
ticket; `decide` lets a manager approve, reject or ask for more information — never the
requester, and above a threshold two different managers; `_post` moves the money or the stock
exactly once (a UNIQUE request id on the posting, and the request's version counter).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import (ApprovalEvent, ApprovalRequest, FinishedGoodsStock, MoneyPosting, ProductModel, Ticket,
                    TicketEvent, User, utcnow)
from models.choices import ApprovalGrounds as G
from models.choices import ApprovalKind as K
from models.choices import ApprovalStatus, Role, TicketStatus, WarrantyWindow

from . import network_approvals, policy, warranty, workflow
from .access import UNSCOPED
from .errors import DomainError, FieldErrors

MANAGERS = (Role.ADMIN, Role.MANAGER)
MONEY_KINDS = (K.RETURN_REFUND, K.REPAIR_COMPENSATION, K.EXTRA_COMPENSATION, K.FEE_WAIVER)

# Which grounds can support which request (R-WAR-5, R-RET-1…3).
GROUNDS = {
    K.RETURN_REFUND: (G.SANBAO_WINDOW, G.UNREPAIRABLE, G.STILL_FAULTY, G.SIZE, G.UNBOXING_APPEARANCE,
                      G.BATCH_FAILURE),
    K.EXCHANGE: (G.SANBAO_WINDOW, G.UNREPAIRABLE, G.STILL_FAULTY, G.SIZE, G.UNBOXING_APPEARANCE,
                 G.BATCH_FAILURE),
    K.REPAIR_COMPENSATION: (G.QUALITY_REPAIRED,),
    K.EXTRA_COMPENSATION: (G.QUALITY_REPAIRED, G.UNREPAIRABLE, G.STILL_FAULTY, G.GOODWILL),
    K.FEE_WAIVER: (G.GOODWILL, G.QUALITY_REPAIRED, G.STILL_FAULTY),
    K.VERDICT_OVERRIDE: (G.BATCH_FAILURE, G.GOODWILL, G.UNBOXING_APPEARANCE),
}


class ApprovalForbidden(DomainError):
    default_message = _l("You may not decide this request.")


@dataclass
class Draft:
    kind: str
    grounds: str
    reason: str
    amount: Decimal | None = None
    target_model_id: int | None = None
    requested_window: str | None = None


def prefill(ticket: Ticket) -> dict:
    """What the request form starts from: purchase price, window, fault history."""
    unit = ticket.unit
    return {"purchase_price": unit.price if unit else None, "warranty_window": ticket.warranty_window,
            "repeat_repair": workflow.is_repeat_repair(ticket),
            "fees_total": sum((f.amount for f in ticket.fees), Decimal("0.00")),
            "history": unit_history(ticket)}


def unit_history(ticket: Ticket) -> list[Ticket]:
    if ticket.unit is None:
        return []
    return sorted((t for t in ticket.unit_tickets() if t.id != ticket.id), key=lambda t: t.created_at)


def stock_for(session: Session, model_id: int, prefer_outlet: int) -> FinishedGoodsStock | None:
    # The check is the center's, not the requester's view: a dealer's exchange may ship from the
    # center's warehouse even though the dealer cannot list that stock.
    rows = session.scalars(select(FinishedGoodsStock).where(
        FinishedGoodsStock.product_model_id == model_id, FinishedGoodsStock.qty > 0)
        .execution_options(**UNSCOPED)).all()
    rows.sort(key=lambda r: (r.outlet_id != prefer_outlet, r.id))
    return rows[0] if rows else None


def similar_in_stock(session: Session, model: ProductModel) -> list[ProductModel]:
    """R-RET-2: models of the same category with stock, offered when the model is out."""
    stmt = (select(ProductModel).join(FinishedGoodsStock, FinishedGoodsStock.product_model_id == ProductModel.id)
            .where(ProductModel.category == model.category, ProductModel.id != model.id,
                   ProductModel.active.is_(True), FinishedGoodsStock.qty > 0).distinct()
            .execution_options(**UNSCOPED))
    return list(session.scalars(stmt))


def check(session: Session, ticket: Ticket, draft: Draft) -> dict:
    """Field errors of a draft under the policy; empty when it may be submitted."""
    errors = {}
    try:
        kind, grounds = K(draft.kind), G(draft.grounds)
    except ValueError:
        return {"kind": _l("Choose what is requested and on which grounds.")}
    if kind not in GROUNDS:  # parts and fee requests are raised from their own screens
        return {"kind": _l("Choose what is requested and on which grounds.")}
    if grounds == G.INJURY:  # R-RET-1
        return {"grounds": _l("Injury cases go to legal handling, not to an approval request.")}
    if grounds not in GROUNDS[kind]:
        return {"grounds": _l("These grounds do not support this kind of request.")}
    if not (draft.reason or "").strip():
        errors["reason"] = _l("Give the reason.")
    errors.update(_check_grounds(ticket, kind, grounds))
    errors.update(_check_amount(session, ticket, kind, draft.amount))
    if kind == K.EXCHANGE:
        errors.update(_check_stock(session, ticket, draft))
    if kind == K.VERDICT_OVERRIDE and draft.requested_window not in {w.value for w in WarrantyWindow}:
        errors["requested_window"] = _l("Choose the verdict to apply.")
    return errors


def _check_grounds(ticket: Ticket, kind: K, grounds: G) -> dict:
    window = ticket.warranty_window
    if grounds == G.SANBAO_WINDOW:  # R-WAR-5
        allowed = (WarrantyWindow.RETURN,) if kind == K.RETURN_REFUND else (WarrantyWindow.RETURN,
                                                                              WarrantyWindow.EXCHANGE)
        if window not in allowed:
            limit = "7" if kind == K.RETURN_REFUND else "15"
            return {"grounds": _l("The purchase is outside the %(days)s-day window of this ticket's "
                                  "warranty verdict.", days=limit)}
    if grounds == G.STILL_FAULTY and not workflow.is_repeat_repair(ticket):
        return {"grounds": _l("No earlier repair of this fault is on record.")}
    if grounds in (G.UNREPAIRABLE, G.QUALITY_REPAIRED) and ticket.status == TicketStatus.REGISTERED:
        return {"grounds": _l("The ticket must be diagnosed first.")}
    return {}


def _check_amount(session: Session, ticket: Ticket, kind: K, amount: Decimal | None) -> dict:
    if kind not in MONEY_KINDS:
        return {}
    if amount is None or amount <= 0:
        return {"amount": _l("Give the amount.")}
    price = ticket.unit.price if ticket.unit else None
    if kind == K.RETURN_REFUND:
        if price is None:
            return {"amount": _l("The unit has no purchase price on record.")}
        if amount > price:
            return {"amount": _l("A refund is at most the purchase price (¥%(price)s).", price=price)}
    if kind == K.EXTRA_COMPENSATION:  # R-RET-1: capped at X % of the purchase price
        if price is None:
            return {"amount": _l("The unit has no purchase price on record.")}
        cap = (price * policy.value(session, "returns.extra_compensation_rate")).quantize(Decimal("0.01"))
        if amount > cap:
            return {"amount": _l("Extra compensation is capped at ¥%(cap)s.", cap=cap)}
    if kind == K.REPAIR_COMPENSATION:
        cap = policy.value(session, "returns.repair_compensation_max")
        if amount > cap:
            return {"amount": _l("Transport / lost-time compensation is at most ¥%(cap)s.", cap=cap)}
    if kind == K.FEE_WAIVER:
        fees = sum((f.amount for f in ticket.fees), Decimal("0.00"))
        if amount > fees:
            return {"amount": _l("A waiver is at most the fees charged (¥%(fees)s).", fees=fees)}
    return {}


def _check_stock(session: Session, ticket: Ticket, draft: Draft) -> dict:
    model = session.get(ProductModel, draft.target_model_id) if draft.target_model_id else (
        ticket.unit.product_model if ticket.unit else None)
    if model is None:
        return {"target_model_id": _l("Choose the model to exchange for.")}
    draft.target_model_id = model.id
    if stock_for(session, model.id, ticket.outlet_id) is None:
        similar = ", ".join(m.code for m in similar_in_stock(session, model))
        if similar:
            return {"target_model_id": _l("%(model)s is out of stock. In stock: %(similar)s — or "
                                          "request a refund.", model=model.code, similar=similar)}
        return {"target_model_id": _l("%(model)s is out of stock and no similar model is in stock: "
                                      "request a refund instead.", model=model.code)}
    return {}


def submit(session: Session, ticket: Ticket, actor: User, draft: Draft) -> ApprovalRequest:
    errors = check(session, ticket, draft)
    if errors:
        raise FieldErrors(errors)
    threshold = policy.value(session, "approvals.second_manager_above")
    amount = draft.amount if K(draft.kind) in MONEY_KINDS else Decimal("0.00")
    stock = stock_for(session, draft.target_model_id, ticket.outlet_id) if draft.kind == K.EXCHANGE else None
    request = ApprovalRequest(
        ticket=ticket, outlet_id=ticket.outlet_id, kind=draft.kind, grounds=draft.grounds,
        amount=amount, reason=draft.reason.strip(), requested_by=actor,
        purchase_price=ticket.unit.price if ticket.unit else None, warranty_window=ticket.warranty_window,
        target_model_id=draft.target_model_id if draft.kind == K.EXCHANGE else None,
        stock_outlet_id=stock.outlet_id if stock else None, requested_window=draft.requested_window,
        needs_second=amount > threshold, status=ApprovalStatus.PENDING.value)
    session.add(request)
    _log(session, request, actor, "approval_requested", draft.reason.strip())
    return request


def decide(session: Session, request: ApprovalRequest, actor: User, decision: str, note: str) -> str:
    """approve / reject / ask_info. Returns the request's resulting status."""
    note = (note or "").strip()
    if actor.role not in MANAGERS:
        raise ApprovalForbidden(_l("Only a manager decides approval requests."))
    if actor.id == request.requested_by_id:  # R-ROLE-2
        raise ApprovalForbidden(_l("Whoever requested an approval can never approve it."))
    if request.status != ApprovalStatus.PENDING:
        raise ApprovalForbidden(_l("This request is no longer waiting for a decision."))
    if not note:
        raise FieldErrors({"note": _l("Give the reason for your decision.")})
    network = network_approvals.is_network(request)
    if network:
        network_approvals.check_decider(request, actor)
    now = utcnow()
    if decision == "approve":
        _approve(session, request, actor, note, now)
    elif decision == "reject":
        _close(request, actor, note, now, ApprovalStatus.REJECTED)
        if network:
            network_approvals.rejected(session, request, actor, now)
    elif decision == "ask_info":
        request.status = ApprovalStatus.INFO_REQUESTED.value
    else:
        raise FieldErrors({"decision": _l("Choose a decision.")})
    _log(session, request, actor, f"approval_{decision}", note, now)
    return request.status


def _log(session: Session, request: ApprovalRequest, actor: User, action: str, note: str, at=None) -> None:
    """Every step is kept on the request (what a manager asked is read there); a ticket's
    request also leaves it on the ticket's timeline."""
    at = at or utcnow()
    session.add(ApprovalEvent(request=request, actor=actor, at=at, action=action, note=note))
    if request.ticket is not None:
        session.add(TicketEvent(ticket=request.ticket, actor=actor, at=at, action=action, note=note))


def answer_info(session: Session, request: ApprovalRequest, actor: User, note: str) -> None:
    """The requester adds what the manager asked for; the request waits again."""
    if actor.id != request.requested_by_id or request.status != ApprovalStatus.INFO_REQUESTED:
        raise ApprovalForbidden()
    if not (note or "").strip():
        raise FieldErrors({"note": _l("Write the information asked for.")})
    request.reason = f"{request.reason}\n— {note.strip()}"
    request.status = ApprovalStatus.PENDING.value
    _log(session, request, actor, "approval_info_given", note.strip())


def _approve(session, request, actor, note, now) -> None:
    if request.needs_second and request.first_approver_id is None:
        request.first_approver, request.first_approved_at = actor, now  # waits for a second manager
        return
    if request.needs_second and request.first_approver_id == actor.id:
        raise ApprovalForbidden(_l("A second, different manager must approve this amount."))
    if request.needs_second:
        request.second_approver = actor
    _close(request, actor, note, now, ApprovalStatus.APPROVED)
    _post(session, request, actor, now)


def _close(request, actor, note, now, status) -> None:
    request.status, request.decided_by, request.decided_at, request.decision_note = status.value, actor, now, note


def _post(session: Session, request: ApprovalRequest, actor: User, now) -> None:
    """Move money or stock exactly once (R-RET-4)."""
    kind = K(request.kind)
    if kind in MONEY_KINDS:
        session.add(MoneyPosting(request=request, kind=request.kind, amount=request.amount,
                                 customer_id=request.ticket.customer_id, outlet_id=request.outlet_id,
                                 posted_at=now, posted_by_id=actor.id))
    elif kind == K.EXCHANGE:
        taken = session.execute(
            update(FinishedGoodsStock)
            .where(FinishedGoodsStock.outlet_id == request.stock_outlet_id,
                   FinishedGoodsStock.product_model_id == request.target_model_id, FinishedGoodsStock.qty >= 1)
            .values(qty=FinishedGoodsStock.qty - 1).execution_options(synchronize_session=False))
        if taken.rowcount != 1:
            raise FieldErrors({"decision": _l("The exchange unit is no longer in stock.")})
    elif kind == K.VERDICT_OVERRIDE:
        warranty.override(request.ticket, request.requested_window, request.reason,
                          actor.full_name or actor.username)
    else:
        network_approvals.approved(session, request, actor, now)
