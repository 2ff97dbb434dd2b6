"""The step forms' data: typed values are parsed, and a bad one is a field error, never a crash."""
import pytest

from backoffice import workflow
from backoffice.errors import FieldErrors
from tests import factories as f


@pytest.mark.parametrize("typed", ["1e400", "NaN", "-Infinity"])
def test_a_step_amount_too_large_or_not_a_number_is_a_field_error(session, world, typed):
    """The shared amount parser refused 1e400 with an exception (a 500 on any form using it)."""
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], actor=world["clerk"])
    with pytest.raises(FieldErrors) as refused:
        workflow.perform(session, ticket, "diagnose", world["center_engineer"],
                         {"service_mode": "onsite", "severity": "minor", "estimate": typed, "note": "估价"})
    assert "estimate" in refused.value.errors
