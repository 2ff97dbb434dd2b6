"""The row scope cannot forget a model (issue 11 finding 2, R-ROLE-1).

A model tied to an outlet or a ticket declares how it is scoped (`__scope__` on the class);
backoffice.access derives its read criteria and its write guard from those declarations.
"""
from sqlalchemy import inspect

from backoffice import access
from models import MoneyPosting, db

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
