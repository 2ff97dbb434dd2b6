"""Who may be sent to a ticket: the serving outlet's engineers and the center's (R-TKT-4, DOMAIN §1)."""
import pytest

from backoffice import dispatching, workflow
from backoffice.errors import FieldErrors
from models.choices import TicketStatus
from tests import factories as f


def _agreed_onsite(session, world, customer=None, unit=None):
    return f.make_ticket(session, customer or world["customer"], unit=unit or world["unit"], actor=world["clerk"],
                         status="agreed", engineer=world["center_engineer"], desk=world["clerk"],
                         steps={"diagnose": {"service_mode": "onsite", "severity": "major", "note": "需上门"}})


def test_engineers_offered_are_the_serving_outlets_and_the_centers_only(session, world):
    offered = dispatching.eligible_engineers(session, world["a"].id)
    assert world["engineer_a"] in offered and world["center_engineer"] in offered
    assert world["engineer_b"] not in offered


def test_inactive_engineer_is_not_offered(session, world):
    world["engineer_a"].active = False
    assert world["engineer_a"] not in dispatching.eligible_engineers(session, world["a"].id)


def test_dispatching_another_outlets_engineer_is_refused(session, world):
    ticket = _agreed_onsite(session, world)
    with pytest.raises(FieldErrors) as refused:
        workflow.perform(session, ticket, "dispatch", world["clerk"],
                         {"engineer": str(world["engineer_b"].id), "appointment_at": "2026-12-30T10:00"})
    assert "engineer" in refused.value.errors


def test_dealer_dispatches_its_own_engineer(session, world):
    ticket = _agreed_onsite(session, world)
    workflow.perform(session, ticket, "dispatch", world["dealer_a"],
                     {"engineer": str(world["engineer_a"].id), "appointment_at": "2026-12-30T10:00"})
    assert ticket.status == TicketStatus.DISPATCHED and ticket.assigned_engineer is world["engineer_a"]


def test_engineer_label_names_the_outlet(session, world):
    assert world["a"].name in dispatching.engineer_label(world["engineer_a"])
