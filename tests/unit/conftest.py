"""Fixtures shared by the unit tests."""
import pytest

from tests import factories as f


@pytest.fixture
def world(session):
    """Dealer outlets A and B, a service center, their staff, and a customer of A with a new unit
    (`factories.make_service_network`); a test module may define a `world` of its own."""
    w = f.make_service_network(session)
    session.commit()
    return w
