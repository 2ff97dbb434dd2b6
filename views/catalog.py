"""Spare-parts price list (R-PART-1)."""
from flask_babel import lazy_gettext as _l

from backoffice.labels import choices
from backoffice.permissions import EVERYONE, MANAGERS
from models.choices import GasType, ProductCategory

from .base import SecureModelView
from .fields import LABELS, enum_formatter, money_formatter


class PartView(SecureModelView):
    roles = export_roles = EVERYONE
    create_roles = edit_roles = delete_roles = MANAGERS
    column_list = ("code", "name", "category", "unit_price", "gas_type", "consumable", "fragile",
                   "active")
    column_searchable_list = ("code", "name")
    column_default_sort = "code"
    column_labels = LABELS
    column_formatters = {"unit_price": money_formatter, "category": enum_formatter(ProductCategory),
                         "gas_type": enum_formatter(GasType)}
    column_filters = ("category", "gas_type", "consumable", "fragile", "active")
    form_columns = ("code", "name", "category", "unit_price", "gas_type", "consumable", "fragile",
                    "warranty_months", "active")
    form_args = {"warranty_months": {"description": _l(
        "Key components only (R-WAR-6): months of cover from the invoice date, when longer than the unit's.")}}
    form_choices = {"category": choices(ProductCategory), "gas_type": choices(GasType)}
    column_export_list = column_list
