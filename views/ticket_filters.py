"""Ticket-list filters the reports link into (R-RPT-1): the quality report's "fault reports" and a
product model (through the ticket's unit). Their option lists are queried per request, under the
user's scope."""
from __future__ import annotations

from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from backoffice import quality_report
from models import ProductModel, Ticket, db

from .base import ChoiceFilter, parse_id

FAULT_REPORTS = {"fault_reports": quality_report.fault_report_sql}
FAULT_REPORT_LABELS = {"fault_reports": _l("Fault reports (quality report)")}


def fault_report_filter():
    return ChoiceFilter(Ticket.id, _l("Quality report"), FAULT_REPORTS, FAULT_REPORT_LABELS)


class ProductModelFilter(BaseSQLAFilter):
    """Tickets about a unit of one product model. The model is a dimension of the unit: matched
    through the unit table, so the ticket's own scope decides what is listed."""

    def __init__(self):
        super().__init__(Ticket.unit_id, _l("Product model"), options=self._options)

    def _options(self):
        if not current_user or not current_user.is_authenticated:
            return []
        rows = db.session.execute(select(ProductModel.id, ProductModel.code, ProductModel.name)
                                  .order_by(ProductModel.code))
        return [(str(key), f"{code} {name}") for key, code, name in rows]

    def clean(self, value):
        found = parse_id(value)
        return -1 if found is None else found

    def apply(self, query, value, alias=None):
        units = quality_report.UNITS
        return query.filter(Ticket.unit_id.in_(select(units.c.id).where(units.c.product_model_id == value)))

    def operation(self):
        return _l("equals")
