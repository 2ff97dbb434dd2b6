"""The dealer network: two tiers of outlets (DOMAIN §1)."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from models import Outlet

from .errors import FieldErrors, ValidationFailed
from .timezones import is_zone_name

# Outlet codes go into ticket screens, file names and statements: capitals, digits and dashes.
CODE_RE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,19}\Z")


def check_outlet_fields(outlet: Outlet) -> None:
    """The code pattern and a time zone of the time-zone database."""
    errors = {}
    if not CODE_RE.match(outlet.code or ""):
        errors["code"] = _l("Use 2 to 20 capital letters, digits and dashes, starting with a letter or "
                            "digit (e.g. GZ-TH).")
    if outlet.timezone is not None and not is_zone_name(outlet.timezone):  # None: the default zone
        errors["timezone"] = _l("Not a time zone of the time-zone database: use a name like Asia/Shanghai.")
    if errors:
        raise FieldErrors(errors)


def validate_outlet(outlet: Outlet) -> None:
    _check_parent(outlet)
    check_outlet_fields(outlet)


def _check_parent(outlet: Outlet) -> None:
    parent = outlet.parent
    if parent is None:
        return
    if parent is outlet or (outlet.id is not None and parent.id == outlet.id):
        raise ValidationFailed(_l("An outlet cannot be its own parent."))
    if parent.parent_id is not None:
        raise ValidationFailed(_l("The network has two tiers: a sub-outlet cannot have sub-outlets."))
    if outlet.children:
        raise ValidationFailed(_l("An outlet with sub-outlets cannot itself become a sub-outlet."))
