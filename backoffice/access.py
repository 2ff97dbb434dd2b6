"""Who sees which rows (R-ROLE-1). The one place that decides it.

A `Scope` is computed once per request from the logged-in user. A `do_orm_execute`
listener adds its criteria to every ORM SELECT (lists, counts, details via session.get,
relation dropdowns, ajax lookups, exports, bulk actions, reports), and a `before_flush`
listener refuses writes that would put a row into an outlet outside the scope. Views never
filter by outlet by hand.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from flask import g, has_request_context
from sqlalchemy import and_, event, false, inspect, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from models import (
    AppraisalDeduction,
    AppraisalRecord,
    ApprovalEvent,
    ApprovalRequest,
    Customer,
    FeeClaim,
    FeeClaimPart,
    FinishedGoodsStock,
    JobRun,
    Outlet,
    PartsRequest,
    PartsRequestLine,
    StaffNotification,
    Ticket,
    TrainingAttendee,
    Unit,
    User,
    db,
)
from models.choices import Role

from .errors import OutOfScope
from .permissions import CENTER, MANAGERS

# Execution option that bypasses the scope: login, the user loader, and scope computation
# itself must see rows before a scope exists.
UNSCOPED = {"unscoped": True}

# How a model is scoped is declared on the model (`__scope__`), so a new model cannot be
# forgotten here (tests/unit/test_access.py fails on a model that declares nothing):
#   "outlet"   the dealer network's parts, fee and money records, tied to an outlet by
#              `outlet_id` (R-PART-*, R-FEE-*, R-RET-4): dealers see their outlets', engineers none;
#   "ticket"   rows that belong to a ticket: visible with their ticket;
#   "own_rule" a rule of its own, written out in `criteria` below (OWN_RULES lists them).
SCOPE_KINDS = ("outlet", "ticket", "own_rule")
OWN_RULES = (Outlet, Customer, Unit, Ticket, User, FinishedGoodsStock, ApprovalRequest, ApprovalEvent,
             PartsRequestLine, FeeClaimPart, AppraisalRecord, AppraisalDeduction,
             TrainingAttendee, StaffNotification, JobRun)


def declared(kind: str) -> tuple:
    """The mapped classes that declare `__scope__ = kind`, in a stable order."""
    classes = (mapper.class_ for mapper in db.Model.registry.mappers)
    return tuple(sorted((c for c in classes if c.__dict__.get("__scope__") == kind), key=lambda c: c.__name__))


OUTLET_OWNED = declared("outlet")
TICKET_OWNED = declared("ticket")


@dataclass(frozen=True)
class Scope:
    user_id: int | None
    role: str | None
    outlet_ids: frozenset[int] | None  # None: every outlet
    # Engineers: tickets assigned to them, plus unassigned ones in their queue outlets.
    queue_outlet_ids: frozenset[int] | None = None

    @property
    def unrestricted(self) -> bool:
        return self.role in CENTER or self.role == "system"


NOBODY = Scope(user_id=None, role=None, outlet_ids=frozenset())
# Channel integrations and the public report form act for the service center as a whole;
# what they may do is limited by the endpoint, not by rows.
SYSTEM = Scope(user_id=None, role="system", outlet_ids=None)


def outlet_subtree(session: Session, outlet_id: int) -> frozenset[int]:
    """The outlet and its sub-outlets (the network has two tiers, DOMAIN §1)."""
    children = session.scalars(
        select(Outlet.id).where(Outlet.parent_id == outlet_id).execution_options(**UNSCOPED)
    ).all()
    return frozenset([outlet_id, *children])


def scope_for(session: Session, user) -> Scope:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOBODY
    if user.role in CENTER:
        return Scope(user.id, user.role, None)
    if user.role == Role.DEALER:
        return Scope(user.id, user.role, outlet_subtree(session, user.outlet_id))
    if user.role == Role.ENGINEER:
        queue = outlet_subtree(session, user.outlet_id) if user.outlet_id else None
        return Scope(user.id, user.role, None, queue_outlet_ids=queue)
    return NOBODY


def current_scope() -> Scope | None:
    """The request's scope; None outside a request (CLI, jobs) means unrestricted."""
    if not has_request_context():
        return None
    return g.get("scope", NOBODY)


def set_scope(scope: Scope) -> None:
    g.scope = scope


def _in(column, ids: frozenset[int]):
    return column.in_(sorted(ids)) if ids else false()


# Subqueries of the rules read the ticket TABLE: the Ticket entity there would get its own rule
# added a second time (`outlet_id IN (…) AND outlet_id IN (…)`), and PostgreSQL, estimating that
# doubled condition as squared, chose a generic plan hashing all 170,000 tickets of a dealer to
# find the clocks of 20 (issue 16).
TICKETS = Ticket.__table__.c


def _engineer_tickets(scope: Scope, t=Ticket):
    mine = t.assigned_engineer_id == scope.user_id
    unassigned = t.assigned_engineer_id.is_(None)
    if scope.queue_outlet_ids is not None:
        unassigned = and_(unassigned, _in(t.outlet_id, scope.queue_outlet_ids))
    return or_(mine, unassigned)


def _engineer_archive(scope: Scope) -> list:
    """R-ROLE-3: engineers see the customers and units of the tickets they may see, no others."""
    tickets = select(TICKETS.customer_id, TICKETS.unit_id).where(_engineer_tickets(scope, TICKETS)).subquery()
    return [with_loader_criteria(Customer, Customer.id.in_(select(tickets.c.customer_id))),
            with_loader_criteria(Unit, Unit.id.in_(select(tickets.c.unit_id)))]


def _own_appraisals(scope: Scope) -> list:
    """R-APR-1: staff read their own appraisal records and deductions, nothing of colleagues'."""
    own = select(AppraisalRecord.id).where(AppraisalRecord.staff_id == scope.user_id).scalar_subquery()
    return [with_loader_criteria(AppraisalRecord, AppraisalRecord.staff_id == scope.user_id),
            with_loader_criteria(AppraisalDeduction, AppraisalDeduction.record_id.in_(own))]


def _own_training(scope: Scope):
    """R-APR-6: an engineer reads their own training records; the center's staff read all."""
    return with_loader_criteria(TrainingAttendee, TrainingAttendee.person_id == scope.user_id)


def _outlet_training(ids: frozenset[int]):
    """R-APR-6: a dealer reads the training records of its outlets' people (their engineers are
    trained by the center too), by the person's outlet today: a certificate goes with its holder."""
    people = select(User.id).where(_in(User.outlet_id, ids)).scalar_subquery()
    return with_loader_criteria(TrainingAttendee, TrainingAttendee.person_id.in_(people))


def _ticket_predicate(scope: Scope, t=Ticket):
    if scope.role == Role.ENGINEER:
        return _engineer_tickets(scope, t)
    return _in(t.outlet_id, scope.outlet_ids or frozenset())


def _ticket_owned(scope: Scope) -> list:
    """Rows that belong to a ticket follow the ticket's scope. Approval requests about a parts
    request or a fee claim (no ticket) follow the outlet, like the parts records."""
    visible = select(TICKETS.id).where(_ticket_predicate(scope, TICKETS)).scalar_subquery()
    network = and_(ApprovalRequest.ticket_id.is_(None), _in(ApprovalRequest.outlet_id, scope.outlet_ids or frozenset()))
    approval_rule = or_(ApprovalRequest.ticket_id.in_(visible), network)
    approvals = select(ApprovalRequest.id).where(approval_rule).scalar_subquery()
    return [*(with_loader_criteria(model, model.ticket_id.in_(visible)) for model in TICKET_OWNED),
            with_loader_criteria(ApprovalRequest, approval_rule),
            with_loader_criteria(ApprovalEvent, ApprovalEvent.request_id.in_(approvals))]


@lru_cache(maxsize=1024)
def criteria(scope: Scope) -> tuple:
    """Loader criteria for a restricted scope, one per scoped entity. The same scope gets the same
    (immutable) criteria: built once, not for every statement (3.4 ms each for a big dealer)."""
    return tuple(_criteria(scope))


def _criteria(scope: Scope) -> list:
    if scope.role == SYSTEM.role:
        return []
    # Issue 17: in-app notifications are personal, a manager's included.
    return [with_loader_criteria(StaffNotification, StaffNotification.user_id == scope.user_id),
            *_role_criteria(scope)]


def _role_criteria(scope: Scope) -> list:
    if scope.role in MANAGERS:
        return []
    if scope.role == Role.CLERK:  # every outlet, but only their own appraisal records
        return _own_appraisals(scope)
    # The periodic jobs' runs are the service center's business.
    center_only = with_loader_criteria(JobRun, false())
    if scope.role == Role.ENGINEER:  # accounts are the outlets' and the center's business
        return [center_only, with_loader_criteria(Ticket, _engineer_tickets(scope)), *_engineer_archive(scope),
                *_own_appraisals(scope), _own_training(scope), *_ticket_owned(scope), *_parts_owned(frozenset())]
    ids = scope.outlet_ids or frozenset()
    rules = [
        with_loader_criteria(Outlet, _in(Outlet.id, ids)),
        with_loader_criteria(Customer, _in(Customer.outlet_id, ids)),
        with_loader_criteria(Unit, _in(Unit.outlet_id, ids)),
        with_loader_criteria(Ticket, _in(Ticket.outlet_id, ids)),
        with_loader_criteria(User, _in(User.outlet_id, ids)),
        with_loader_criteria(FinishedGoodsStock, _in(FinishedGoodsStock.outlet_id, ids)),
        # Dealers keep no appraisal records here; staff appraisals are the center's.
        with_loader_criteria(AppraisalRecord, false()),
        with_loader_criteria(AppraisalDeduction, false()),
        center_only,
        _outlet_training(ids),
        *_ticket_owned(scope),
        *_parts_owned(ids),
    ]
    return rules


def _parts_owned(ids: frozenset[int]) -> list:
    rules = [with_loader_criteria(model, _in(model.outlet_id, ids)) for model in OUTLET_OWNED]
    visible = select(PartsRequest.id).where(_in(PartsRequest.outlet_id, ids)).scalar_subquery()
    claims = select(FeeClaim.id).where(_in(FeeClaim.outlet_id, ids)).scalar_subquery()
    return [*rules, with_loader_criteria(PartsRequestLine, PartsRequestLine.request_id.in_(visible)),
            with_loader_criteria(FeeClaimPart, FeeClaimPart.claim_id.in_(claims))]


@event.listens_for(Session, "do_orm_execute")
def _apply_scope(state: ORMExecuteState) -> None:
    if not state.is_select or state.execution_options.get("unscoped"):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # the options propagate to these loads already
    scope = current_scope()
    if scope is None:
        return
    rules = criteria(scope)
    if rules:
        state.statement = state.statement.options(*rules)


# Which attribute of each scoped model ties it to an outlet, for the write check: every scoped
# model with an `outlet_id`, and an outlet itself by its id.
OUTLET_COLUMN = {Outlet: "id", **{model: "outlet_id" for model in (*OUTLET_OWNED, *OWN_RULES)
                                  if "outlet_id" in inspect(model).columns}}


def outlet_ids_of(obj, attr: str) -> set:
    """The outlet a row belongs to, read from the column and from the related outlet: before the
    flush only one of them may hold it (`Ticket(outlet=outlet)` has `outlet_id` None until then,
    and a re-pointed relationship still has the old id in the column). Both must be in scope."""
    found = {getattr(obj, attr)}
    if attr != "id":
        column = inspect(type(obj)).columns[attr]
        for rel in inspect(type(obj)).relationships:
            if rel.direction.name == "MANYTOONE" and column in rel.local_columns and rel.key in obj.__dict__:
                related = obj.__dict__[rel.key]
                found.add(related.id if related is not None else None)
    real = found - {None}
    return real or {None}


def check_writable(scope: Scope, obj) -> None:
    """Refuse to create or move a row into an outlet outside the user's scope."""
    attr = OUTLET_COLUMN.get(type(obj))
    if attr is None or scope.outlet_ids is None:
        return
    outlet_ids = outlet_ids_of(obj, attr)
    if attr == "id" and outlet_ids == {None}:  # a dealer may not create outlets at all
        raise OutOfScope()
    if not outlet_ids <= scope.outlet_ids:
        raise OutOfScope()


@event.listens_for(Session, "before_flush")
def _guard_writes(session: Session, flush_context, instances) -> None:
    scope = current_scope()
    if scope is None or scope.unrestricted:
        return
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        check_writable(scope, obj)
