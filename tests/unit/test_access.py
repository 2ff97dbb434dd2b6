"""The row scope (R-ROLE-1): every model tied to an outlet or a ticket declares how it is scoped
(`__scope__` on the class), backoffice.access derives read criteria and the write guard from
those declarations, and the write guard reads the outlet from the relationship too."""
import pytest
from sqlalchemy import inspect

from backoffice import access
from backoffice.errors import OutOfScope
from models import MoneyPosting, Ticket, db

TIED = ("outlet_id", "ticket_id")


def mapped_classes():
    return [mapper.class_ for mapper in db.Model.registry.mappers]


def entities(rules) -> set:
    return {rule.entity.class_ for rule in rules}


def test_every_model_tied_to_an_outlet_or_a_ticket_declares_its_scope():
    forgotten = [cls.__name__ for cls in mapped_classes()
                 if any(column in inspect(cls).columns for column in TIED)
                 and cls.__dict__.get("__scope__") not in access.SCOPE_KINDS
                 and not (cls.__dict__.get("__scope__") == "exempt" and cls.__dict__.get("__scope_reason__"))]
    assert forgotten == [], f"declare __scope__ (or 'exempt' with __scope_reason__) on: {forgotten}"


def test_models_with_a_rule_of_their_own_are_the_ones_access_writes_out():
    assert set(access.declared("own_rule")) == set(access.OWN_RULES)


def test_a_dealer_scope_has_a_rule_for_every_scoped_model():
    dealer = access.Scope(user_id=1, role="dealer", outlet_ids=frozenset({1}))
    scoped = {cls for kind in access.SCOPE_KINDS for cls in access.declared(kind)}
    assert scoped - entities(access.criteria(dealer)) == set()


def test_an_engineer_scope_has_a_rule_for_every_outlet_and_ticket_record_and_the_archive():
    engineer = access.Scope(user_id=1, role="engineer", outlet_ids=None, queue_outlet_ids=frozenset({1}))
    needed = {*access.OUTLET_OWNED, *access.TICKET_OWNED, *[m for m in access.OWN_RULES if m.__name__ in (
        "Customer", "Unit", "Ticket", "AppraisalRecord", "ApprovalRequest", "ApprovalEvent")]}
    assert needed - entities(access.criteria(engineer)) == set()


def test_money_postings_are_scoped_for_reading_and_writing():
    assert MoneyPosting in access.OUTLET_OWNED and access.OUTLET_COLUMN[MoneyPosting] == "outlet_id"


def test_every_scoped_model_with_an_outlet_is_guarded_on_write():
    scoped = {cls for kind in ("outlet", "own_rule") for cls in access.declared(kind)}
    with_outlet = {cls for cls in scoped if "outlet_id" in inspect(cls).columns}
    assert with_outlet <= set(access.OUTLET_COLUMN)


# --- the write guard reads the outlet from the relationship too ---------------------------


def scope_of(session, user):
    return access.scope_for(session, user)


def test_dealer_may_create_a_ticket_on_own_outlet_before_the_flush_sets_outlet_id(session, world):
    ticket = Ticket(outlet=world["a"], customer=world["customer"], kind="repair", channel="walk_in",
                    fault_description="不点火")
    assert ticket.outlet_id is None
    access.check_writable(scope_of(session, world["dealer_a"]), ticket)  # no OutOfScope


def test_dealer_cannot_create_a_ticket_on_another_outlet_through_the_relationship(session, world):
    ticket = Ticket(outlet=world["b"], customer=world["customer"], kind="repair", channel="walk_in",
                    fault_description="不点火")
    with pytest.raises(OutOfScope):
        access.check_writable(scope_of(session, world["dealer_a"]), ticket)


def test_dealer_cannot_move_a_row_by_repointing_its_outlet_relationship(session, world):
    customer = world["customer"]
    customer.outlet = world["b"]  # the column still holds outlet A until the flush
    with pytest.raises(OutOfScope):
        access.check_writable(scope_of(session, world["dealer_a"]), customer)
    session.rollback()


# --- a rule's subquery states its ticket condition once ---------------------------------------

def test_a_dealers_ticket_clocks_are_tied_to_its_tickets_by_one_outlet_condition(app, session, world, statements):
    """The ticket-owned rules read the ticket table: the Ticket rule applied a second time inside
    their subquery doubled the outlet condition, and PostgreSQL's kept plan for it hashed every
    ticket of a dealer to find a page's clocks (issue 16). Scope unchanged: A's clocks only."""
    from flask import g
    from sqlalchemy import select

    from models import TicketClock
    from tests import factories as f

    own = f.make_ticket(session, world["customer"])
    other = f.make_ticket(session, f.make_customer(session, world["b"]))
    session.commit()
    scope = scope_of(session, world["dealer_a"])
    with app.test_request_context():
        g.scope = scope
        statements.clear()
        found = {c.ticket_id for c in db.session.scalars(select(TicketClock).where(
            TicketClock.ticket_id.in_([own.id, other.id])))}
    assert found == {own.id}
    loaded = " ".join(statements[-1].split())
    assert loaded.count("ticket.outlet_id IN") == 1, loaded
