"""The dealer network: two tiers of outlets (DOMAIN §1)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from models import Outlet

from .errors import ValidationFailed


def validate_outlet(outlet: Outlet) -> None:
    parent = outlet.parent
    if parent is None:
        return
    if parent is outlet or (outlet.id is not None and parent.id == outlet.id):
        raise ValidationFailed(_l("An outlet cannot be its own parent."))
    if parent.parent_id is not None:
        raise ValidationFailed(_l("The network has two tiers: a sub-outlet cannot have sub-outlets."))
    if outlet.children:
        raise ValidationFailed(_l("An outlet with sub-outlets cannot itself become a sub-outlet."))
