"""Returns, exchanges, refunds, compensation, fee waivers and verdict overrides as requests a
manager approves (DOMAIN §7, R-RET-1…4, R-WAR-5, R-ROLE-2); the dealer network's requests
(extra parts batches, parts beyond the quota, fee charge-backs) are raised in
`network_approvals` and decided here the same way.

`actions(session, request, user)` is the one answer to "may this user do this, now?": with no
request, whether the user may raise one ("request"); with a request, whether they may decide it
("decide", and per decision "approve", "reject", "ask_info") or answer what a manager asked
("answer"). The guards below require those verdicts and the request's page renders its forms and
"why not" texts from them.

`check` applies the policy before a request can be submitted; `submit` records it on the
ticket; `decide` lets a manager approve, reject or ask for more information — never the
requester, and above a threshold two different managers; `_post` moves the money or the stock
exactly once (a UNIQUE request id on the posting, and the request's version counter).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    ApprovalEvent,
    ApprovalRequest,
    FinishedGoodsStock,
    MoneyPosting,
    ProductModel,
    Ticket,
    TicketEvent,
    User,
    utcnow,
)
from models.choices import ApprovalGrounds as G
from models.choices import ApprovalKind as K
from models.choices import ApprovalStatus, TicketStatus, WarrantyWindow

from . import network_approvals, permissions, policy, recipients, return_path, warranty, workflow
from .access import UNSCOPED
from .errors import DomainError, FieldErrors
from .labels import label
from .money import ZERO, money
from .permissions import ALLOWED, DESK, MANAGERS, Verdict, first_refusal, refuse, role_in
from .timezones import format_local

# DOMAIN §1: the desk requests approvals — clerks and dealers, managers and admins (everything a
# clerk may); engineers diagnose and service, and ask the desk when a remedy needs approval.
REQUESTERS = DESK
NOT_A_REQUESTER = _l("Your role may not request approvals: ask the service desk (a clerk) to raise the request.")
NO_PRICE = _l("The unit has no purchase price on record.")
DECISIONS = ("approve", "reject", "ask_info")
OPEN_STATUSES = [ApprovalStatus.PENDING.value, ApprovalStatus.INFO_REQUESTED.value]
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


def actions(session: Session, request: ApprovalRequest | None, user: User | None) -> dict[str, Verdict]:
    """May `user` do this now, per action, or why not (R-ROLE-2, R-RET-4, DOMAIN §1).

    Without a request: "request" (raise one from a ticket: the desk, never an engineer). With
    one: "approve", "reject", "ask_info" (a manager, never the requester nor, on a network
    request, whoever audited the claim or asked for the parts; the first approver of an amount
    above the threshold does not approve it again; only while it waits), "decide" (the decision
    form is offered: the user may approve) and "answer" (the requester, once a manager asked)."""
    if request is None:
        return {"request": role_in(user, REQUESTERS, NOT_A_REQUESTER)}
    verdicts = {decision: _decision(request, user, decision) for decision in DECISIONS}
    verdicts["decide"] = verdicts["approve"]
    verdicts["answer"] = _answer(request, user)
    return verdicts


def require(session: Session, request: ApprovalRequest | None, user: User | None, name: str) -> None:
    """The guard: raise ApprovalForbidden, saying why, unless `actions` allows `name`."""
    permissions.require(actions(session, request, user), name, ApprovalForbidden)


def _decision(request: ApprovalRequest, user: User | None, decision: str) -> Verdict:
    return first_refusal(_standing(request, user, decision), _waiting(request))


def _standing(request: ApprovalRequest, user: User | None, decision: str) -> Verdict:
    """The refusals that hold whatever the request's state (how fresh the page is): the role, the
    requester, a network request's own conflicts, the first of two approvers."""
    return first_refusal(role_in(user, MANAGERS, _l("Only a manager decides approval requests.")),
                         _not_the_requester(request, user),
                         _network_conflict(request, user),
                         _first_approver(request, user) if decision == "approve" else ALLOWED)


def _is_requester(request: ApprovalRequest, user: User | None) -> bool:
    return getattr(user, "id", None) == request.requested_by_id


def _not_the_requester(request: ApprovalRequest, user: User | None) -> Verdict:
    """R-ROLE-2; the page says nothing (the requester reads the "answer" verdict instead)."""
    if _is_requester(request, user):
        return refuse(_l("Whoever requested an approval can never approve it."), hint=False)
    return ALLOWED


def _network_conflict(request: ApprovalRequest, user: User | None) -> Verdict:
    if not network_approvals.is_network(request):
        return ALLOWED
    verdict = network_approvals.decider_conflict(request, user)
    return verdict or refuse(verdict.reason, hint=request.status == ApprovalStatus.PENDING)


def _first_approver(request: ApprovalRequest, user: User | None) -> Verdict:
    """R-RET-4: above the threshold two different managers approve."""
    if request.needs_second and request.status == ApprovalStatus.PENDING \
            and request.first_approver_id == getattr(user, "id", None):
        return refuse(_l("A second, different manager must approve this amount."))
    return ALLOWED


def _waiting(request: ApprovalRequest) -> Verdict:
    if request.status == ApprovalStatus.PENDING:
        return ALLOWED
    return refuse(_l("This request is no longer waiting for a decision."), hint=False)


def _answer(request: ApprovalRequest, user: User | None) -> Verdict:
    if not _is_requester(request, user):
        return refuse(_l("Only whoever made the request answers what the manager asked."), hint=False)
    if request.status == ApprovalStatus.PENDING:
        return refuse(_l("You requested this: another person decides it."))
    if request.status != ApprovalStatus.INFO_REQUESTED:
        return refuse(_l("No information is asked for on this request."), hint=False)
    return ALLOWED


@dataclass
class Draft:
    kind: str
    grounds: str
    reason: str
    amount: Decimal | None = None
    target_model_id: int | None = None
    requested_window: str | None = None
    target_size: str | None = None  # exchanges: asked for a size problem, else the unit's own (R-RET-2)


def prefill(ticket: Ticket) -> dict:
    """What the request form starts from: purchase price, window, fault history."""
    unit = ticket.unit
    return {"purchase_price": unit.price if unit else None, "warranty_window": ticket.warranty_window,
            "repeat_repair": workflow.is_repeat_repair(ticket),
            "fees_total": _fees(ticket),
            "history": unit_history(ticket)}


def unit_history(ticket: Ticket) -> list[Ticket]:
    if ticket.unit is None:
        return []
    return sorted((t for t in ticket.unit_tickets() if t.id != ticket.id), key=lambda t: t.created_at)


def stock_for(session: Session, model_id: int, prefer_outlet: int, size: str = "") -> FinishedGoodsStock | None:
    # The check is the center's, not the requester's view: a dealer's exchange may ship from the
    # center's warehouse even though the dealer cannot list that stock. Shoes are stocked per
    # size (R-RET-2): the model AND the size must be on hand; other products have size "".
    rows = session.scalars(select(FinishedGoodsStock).where(
        FinishedGoodsStock.product_model_id == model_id, FinishedGoodsStock.size == (size or ""),
        FinishedGoodsStock.qty > 0)
        .execution_options(**UNSCOPED)).all()
    rows.sort(key=lambda r: (r.outlet_id != prefer_outlet, r.id))
    return rows[0] if rows else None


def similar_in_stock(session: Session, model: ProductModel, size: str | None = None) -> list[ProductModel]:
    """R-RET-2: models of the same category with stock (in `size`, when given), offered when the
    model is out."""
    stmt = (select(ProductModel).join(FinishedGoodsStock, FinishedGoodsStock.product_model_id == ProductModel.id)
            .where(ProductModel.category == model.category, ProductModel.id != model.id,
                   ProductModel.active.is_(True), FinishedGoodsStock.qty > 0).distinct()
            .execution_options(**UNSCOPED))
    if size is not None:
        stmt = stmt.where(FinishedGoodsStock.size == size)
    return list(session.scalars(stmt.order_by(ProductModel.code)))


def sizes_in_stock(session: Session, model: ProductModel, other_than: str = "") -> list[str]:
    """R-RET-2 (003 五.1): the model's other sizes on hand, offered when the size asked is out."""
    stmt = (select(FinishedGoodsStock.size).where(
        FinishedGoodsStock.product_model_id == model.id, FinishedGoodsStock.qty > 0,
        FinishedGoodsStock.size != "", FinishedGoodsStock.size != other_than).distinct()
        .execution_options(**UNSCOPED))
    return sorted(session.scalars(stmt), key=lambda s: (len(s), s))


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
    if kind in return_path.REMEDY_KINDS:
        errors.update(_check_one_remedy(session, ticket))
    errors.update(_check_grounds(session, ticket, kind, grounds))
    errors.update(_check_amount(session, ticket, kind, draft.amount))
    if kind == K.EXCHANGE:
        errors.update(_check_stock(session, ticket, draft))
    if kind == K.VERDICT_OVERRIDE and draft.requested_window not in {w.value for w in WarrantyWindow}:
        errors["requested_window"] = _l("Choose the verdict to apply.")
    return errors


def remedies_of_unit(session: Session, unit_id: int | None) -> tuple[ApprovalRequest | None, ApprovalRequest | None]:
    """(granted, waiting): the unit's approved return/exchange/refund and one still waiting, seen
    network-wide (R-RET-5), whoever asks."""
    if unit_id is None:
        return None, None
    kinds = [k.value for k in return_path.REMEDY_KINDS]
    rows = session.scalars(select(ApprovalRequest).join(Ticket, ApprovalRequest.ticket_id == Ticket.id)
                           .where(Ticket.unit_id == unit_id, ApprovalRequest.kind.in_(kinds),
                                  ApprovalRequest.status.in_([*OPEN_STATUSES, ApprovalStatus.APPROVED.value]))
                           .order_by(ApprovalRequest.id).execution_options(**UNSCOPED)).all()
    granted = next((r for r in rows if r.status == ApprovalStatus.APPROVED), None)
    waiting = next((r for r in rows if r.status != ApprovalStatus.APPROVED), None)
    return granted, waiting


def _check_one_remedy(session: Session, ticket: Ticket) -> dict:
    """R-RET-5: one approved return, exchange or refund per purchased unit; the second request
    is told what was already granted (or is already waiting)."""
    granted, waiting = remedies_of_unit(session, ticket.unit_id)
    if granted is not None:
        return {"kind": already_granted(granted)}
    if waiting is not None:
        return {"kind": _l("A %(kind)s for this unit is already waiting for a decision (request #%(id)s, "
                           "ticket %(ticket)s).", kind=label(K, waiting.kind), id=waiting.id,
                           ticket=waiting.ticket.number)}
    return {}


def already_granted(granted: ApprovalRequest):
    return _l("Already granted for this unit: %(kind)s, approved %(on)s (request #%(id)s, ticket %(ticket)s). "
              "One return, exchange or refund per purchase.", kind=label(K, granted.kind),
              on=format_local(granted.decided_at)[:10], id=granted.id, ticket=granted.ticket.number)


def _check_grounds(session: Session, ticket: Ticket, kind: K, grounds: G) -> dict:
    window = ticket.warranty_window
    if grounds == G.SANBAO_WINDOW:  # R-WAR-5
        allowed = (WarrantyWindow.RETURN,) if kind == K.RETURN_REFUND else (WarrantyWindow.RETURN,
                                                                              WarrantyWindow.EXCHANGE)
        if window not in allowed:
            key = "warranty.return_days" if kind == K.RETURN_REFUND else "warranty.exchange_days"
            return {"grounds": _l("The purchase is outside the %(days)s-day window of this ticket's "
                                  "warranty verdict.", days=int(policy.value(session, key)))}
    if grounds == G.STILL_FAULTY and not workflow.is_repeat_repair(ticket):
        return {"grounds": _l("No earlier repair of this fault is on record.")}
    if grounds in (G.UNREPAIRABLE, G.QUALITY_REPAIRED) and ticket.status == TicketStatus.REGISTERED:
        return {"grounds": _l("The ticket must be diagnosed first.")}
    return {}


def _check_amount(session: Session, ticket: Ticket, kind: K, amount: Decimal | None) -> dict:
    """R-RET-1: each kind of money request has its ceiling."""
    if kind not in MONEY_KINDS:
        return {}
    if amount is None or amount <= 0:
        return {"amount": _l("Give the amount.")}
    refused = AMOUNT_CEILINGS[kind](session, ticket, amount)
    return {"amount": refused} if refused else {}


def _price(ticket: Ticket) -> Decimal | None:
    return ticket.unit.price if ticket.unit else None


def _fees(ticket: Ticket) -> Decimal:
    return sum((f.amount for f in ticket.fees), ZERO)


def _refund_ceiling(session: Session, ticket: Ticket, amount: Decimal):
    price = _price(ticket)
    if price is None:
        return NO_PRICE
    if amount > price:
        return _l("A refund is at most the purchase price (¥%(price)s).", price=price)
    return None


def _extra_compensation_ceiling(session: Session, ticket: Ticket, amount: Decimal):
    """Capped at a policy share of the purchase price."""
    price = _price(ticket)
    if price is None:
        return NO_PRICE
    cap = money(price * policy.value(session, "returns.extra_compensation_rate"))
    if amount > cap:
        return _l("Extra compensation is capped at ¥%(cap)s.", cap=cap)
    return None


def _repair_compensation_ceiling(session: Session, ticket: Ticket, amount: Decimal):
    cap = policy.value(session, "returns.repair_compensation_max")
    if amount > cap:
        return _l("Transport / lost-time compensation is at most ¥%(cap)s.", cap=cap)
    return None


def _fee_waiver_ceiling(session: Session, ticket: Ticket, amount: Decimal):
    fees = _fees(ticket)
    if amount > fees:
        return _l("A waiver is at most the fees charged (¥%(fees)s).", fees=fees)
    return None


# What is wrong with the amount of each money request, or None (R-RET-1).
AMOUNT_CEILINGS: dict[K, Callable[[Session, Ticket, Decimal], object]] = {
    K.RETURN_REFUND: _refund_ceiling, K.EXTRA_COMPENSATION: _extra_compensation_ceiling,
    K.REPAIR_COMPENSATION: _repair_compensation_ceiling, K.FEE_WAIVER: _fee_waiver_ceiling,
}


def _check_stock(session: Session, ticket: Ticket, draft: Draft) -> dict:
    model = session.get(ProductModel, draft.target_model_id) if draft.target_model_id else (
        ticket.unit.product_model if ticket.unit else None)
    if model is None:
        return {"target_model_id": _l("Choose the model to exchange for.")}
    draft.target_model_id = model.id
    own = ticket.unit.size if ticket.unit is not None else ""
    if G(draft.grounds) == G.SIZE:  # R-RET-2: a size problem is exchanged for the size asked
        size = (draft.target_size or "").strip()[:10]
        if not size:
            return {"target_size": _l("Give the size to exchange for.")}
        if size == own and ticket.unit is not None and model.id == ticket.unit.product_model_id:
            return {"target_size": _l("That is the unit's own size: give the size to exchange for.")}
    else:  # any other exchange ships the unit's own size
        size = own or ""
    draft.target_size = size
    if stock_for(session, model.id, ticket.outlet_id, size) is None:
        named = lambda code, s: str(_l("%(model)s size %(size)s", model=code, size=s)) if s else code  # noqa: E731
        offers = [named(model.code, s) for s in sizes_in_stock(session, model, size)] if size else []
        offers += [named(m.code, size) for m in similar_in_stock(session, model, size)]
        similar = ", ".join(offers)
        if similar:
            return {"target_model_id": _l("%(model)s is out of stock. In stock: %(similar)s — or "
                                          "request a refund.", model=named(model.code, size), similar=similar)}
        return {"target_model_id": _l("%(model)s is out of stock and no similar model is in stock: "
                                      "request a refund instead.", model=named(model.code, size))}
    return {}


def submit(session: Session, ticket: Ticket, actor: User, draft: Draft) -> ApprovalRequest:
    require(session, None, actor, "request")
    errors = check(session, ticket, draft)
    if errors:
        raise FieldErrors(errors)
    threshold = policy.value(session, "approvals.second_manager_above")
    amount = draft.amount if K(draft.kind) in MONEY_KINDS else ZERO
    stock = stock_for(session, draft.target_model_id, ticket.outlet_id,
                      draft.target_size or "") if draft.kind == K.EXCHANGE else None  # R-RET-2: model and size
    request = ApprovalRequest(
        ticket=ticket, outlet_id=ticket.outlet_id, kind=draft.kind, grounds=draft.grounds,
        amount=amount, reason=draft.reason.strip(), requested_by=actor,
        purchase_price=ticket.unit.price if ticket.unit else None, warranty_window=ticket.warranty_window,
        target_model_id=draft.target_model_id if draft.kind == K.EXCHANGE else None,
        target_size=draft.target_size if draft.kind == K.EXCHANGE else None,
        stock_outlet_id=stock.outlet_id if stock else None, requested_window=draft.requested_window,
        needs_second=amount > threshold, status=ApprovalStatus.PENDING.value)
    session.add(request)
    _log(session, request, actor, "approval_requested", draft.reason.strip())
    recipients.tell_deciders(session, request)  # issue 17: the managers hear it waits
    return request


def check_decider(request: ApprovalRequest, actor: User, decision: str) -> None:
    """Whether `actor` may ever take `decision` on this request, whatever its state (R-ROLE-2):
    refusals that hold however fresh the page, so a screen checks them first and says why."""
    permissions.require({decision: _standing(request, actor, decision)}, decision, ApprovalForbidden)


def decide(session: Session, request: ApprovalRequest, actor: User, decision: str, note: str) -> str:
    """approve / reject / ask_info. Returns the request's resulting status."""
    note = (note or "").strip()
    # An unknown decision is refused as a field below, once the actor may decide at all.
    require(session, request, actor, decision if decision in DECISIONS else "reject")
    if not note:
        raise FieldErrors({"note": _l("Give the reason for your decision.")})
    network = network_approvals.is_network(request)
    if decision not in DECISIONS:
        raise FieldErrors({"decision": _l("Choose a decision.")})
    now = utcnow()
    # The decision is written first: what it sets off (a return path) follows it on the timeline.
    _log(session, request, actor, f"approval_{decision}", note, now)
    if decision == "approve":
        _approve(session, request, actor, note, now)
    elif decision == "reject":
        _close(request, actor, note, now, ApprovalStatus.REJECTED)
        if network:
            network_approvals.rejected(session, request, actor, now)
    else:
        request.status = ApprovalStatus.INFO_REQUESTED.value
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
    require(session, request, actor, "answer")
    if not (note or "").strip():
        raise FieldErrors({"note": _l("Write the information asked for.")})
    request.reason = f"{request.reason}\n— {note.strip()}"
    request.status = ApprovalStatus.PENDING.value
    _log(session, request, actor, "approval_info_given", note.strip())
    answers = sum(event.action == "approval_info_given" for event in request.events)
    recipients.tell_deciders(session, request, "approval_answered", f"answer{answers}")


def _approve(session, request, actor, note, now) -> None:
    if request.needs_second and request.first_approver_id is None:
        request.first_approver, request.first_approved_at = actor, now  # waits for a second manager
        recipients.tell_deciders(session, request, "approval_second", "second")
        return
    if request.needs_second:  # a different manager: check_decider refused the first one
        request.second_approver = actor
    _close(request, actor, note, now, ApprovalStatus.APPROVED)
    if K(request.kind) in return_path.REMEDY_KINDS:
        _grant_on_unit(session, request)
    _post(session, request, actor, now)


def _grant_on_unit(session: Session, request: ApprovalRequest) -> None:
    """R-RET-5: the UNIQUE granted unit decides a race between two managers approving two
    remedies of one unit: the second is refused, naming the first."""
    unit_id = request.ticket.unit_id
    if unit_id is None:
        return
    granted, _ = remedies_of_unit(session, unit_id)
    if granted is not None and granted.id != request.id:
        raise ApprovalForbidden(already_granted(granted))
    try:
        with session.begin_nested():  # (opening it flushes what is pending: set the unit inside)
            request.granted_unit_id = unit_id
            session.flush()
    except IntegrityError:
        with session.no_autoflush:  # the refused change is still pending: name the winner only
            granted, _ = remedies_of_unit(session, unit_id)
        raise ApprovalForbidden(already_granted(granted) if granted else
                                _l("Another return, exchange or refund was granted for this unit meanwhile.")) from None


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
                   FinishedGoodsStock.product_model_id == request.target_model_id,
                   FinishedGoodsStock.size == (request.target_size or ""), FinishedGoodsStock.qty >= 1)
            .values(qty=FinishedGoodsStock.qty - 1).execution_options(synchronize_session=False))
        if taken.rowcount != 1:
            raise FieldErrors({"decision": _l("The exchange unit is no longer in stock.")})
    elif kind == K.VERDICT_OVERRIDE:
        warranty.override(request.ticket, request.requested_window, request.reason,
                          actor.full_name or actor.username)
    else:
        network_approvals.approved(session, request, actor, now)
    if kind in return_path.REMEDY_KINDS:
        return_path.start(session, request, actor, now)  # R-RET-5: the ticket moves on
