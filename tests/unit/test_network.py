"""The dealer network: outlets and their sub-outlets, two tiers only, and outlet codes (DOMAIN §1)."""
import pytest

from backoffice import network
from backoffice.errors import FieldErrors, ValidationFailed
from backoffice.timezones import DEFAULT_TZ
from models import Outlet
from tests import factories as f


def test_sub_outlet_cannot_have_sub_outlets(session):
    sub = f.make_outlet(session, parent=f.make_outlet(session))
    with pytest.raises(ValidationFailed):
        network.validate_outlet(Outlet(code="X", name="三级", parent=sub))


def test_outlet_with_children_cannot_become_a_sub_outlet(session):
    parent = f.make_outlet(session)
    f.make_outlet(session, parent=parent)
    parent.parent = f.make_outlet(session)
    with pytest.raises(ValidationFailed):
        network.validate_outlet(parent)
    session.rollback()


@pytest.mark.parametrize("code", ["GZ-TH", "SC-GZ", "GZ-TH-01", "T001-AB12", "9X"])
def test_outlet_codes_of_capitals_digits_and_dashes_pass(code):
    network.check_outlet_fields(Outlet(code=code, timezone=DEFAULT_TZ))


@pytest.mark.parametrize("code", ["GZ TH", "GZ\r\nTH", "<b>", "gz-th", "-GZ", "A", "X" * 21, ""])
def test_outlet_codes_outside_the_pattern_are_a_field_error(code):
    with pytest.raises(FieldErrors) as refused:
        network.check_outlet_fields(Outlet(code=code, timezone=DEFAULT_TZ))
    assert set(refused.value.errors) == {"code"}
