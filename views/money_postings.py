"""Money postings (资金记录): refunds, compensation and fee waivers that approved requests moved
(R-RET-4), and whether a refund has been paid (R-RET-5). Read only: postings come from approvals
and the return path; who sees which outlets is decided by backoffice.access."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import and_
from sqlalchemy.orm import joinedload

from backoffice.approvals import MONEY_KINDS
from backoffice.labels import label
from backoffice.permissions import DESK
from models import ApprovalRequest, MoneyPosting
from models.choices import ApprovalKind

from .base import ChoiceFilter, LocalDateBetweenFilter, ScopedOptionsFilter, SecureModelView
from .customers import outlet_options
from .exports import csv_text
from .fields import LABELS, money_formatter, staff_name, time_formatter

COLUMNS = ("posted_at", "kind", "amount", "ticket", "customer", "outlet", "paid_at", "payment_ref", "posted_by")
PAID_STATES = {"paid": lambda: MoneyPosting.paid_at.is_not(None),
               "unpaid": lambda: and_(MoneyPosting.paid_at.is_(None),
                                      MoneyPosting.kind == ApprovalKind.RETURN_REFUND.value)}
PAID_LABELS = {"paid": _l("Paid"), "unpaid": _l("Refund not yet paid")}


def ticket_number(posting: MoneyPosting) -> str:
    ticket = posting.request.ticket if posting.request is not None else None
    return ticket.number if ticket is not None else ""


def ticket_link(view, context, model, name):
    ticket = model.request.ticket if model.request is not None else None
    if ticket is None:
        return ""
    return Markup(f'<a href="/admin/ticket/details/?id={ticket.id}">{escape(ticket.number)}</a>')


def kind_label(view, context, model, name):
    return str(label(ApprovalKind, model.kind))


class MoneyPostingView(SecureModelView):
    roles = export_roles = DESK
    create_roles = edit_roles = delete_roles = frozenset()
    can_view_details = False

    column_list = COLUMNS
    column_export_list = COLUMNS
    column_labels = dict(LABELS, posted_at=_l("Posted"), kind=_l("Kind"), amount=_l("Amount"), ticket=_l("Ticket no."),
                         paid_at=_l("Paid"), payment_ref=_l("Payment reference"), posted_by=_l("Approved by"))
    column_formatters = {"posted_at": time_formatter, "paid_at": time_formatter, "kind": kind_label,
                         "amount": money_formatter, "ticket": ticket_link,
                         "customer": lambda v, c, m, n: m.customer.name if m.customer else "",
                         "posted_by": lambda v, c, m, n: staff_name(m.posted_by, m.posted_by_id)}
    column_formatters_export = {
        "posted_at": time_formatter, "paid_at": time_formatter, "kind": kind_label,
        "amount": lambda v, c, m, n: f"{m.amount:.2f}", "ticket": lambda v, c, m, n: ticket_number(m),
        "customer": lambda v, c, m, n: csv_text(m.customer.name if m.customer else ""),
        "outlet": lambda v, c, m, n: csv_text(m.outlet), "payment_ref": lambda v, c, m, n: csv_text(m.payment_ref),
        "posted_by": lambda v, c, m, n: csv_text(staff_name(m.posted_by, m.posted_by_id))}
    column_searchable_list = ("payment_ref",)
    column_sortable_list = ("posted_at", "amount", "paid_at", "kind")
    column_default_sort = [("posted_at", True), ("id", True)]

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(MoneyPosting.kind, _l("Kind"),
                                lambda: [(k.value, str(label(ApprovalKind, k.value))) for k in MONEY_KINDS]),
            ScopedOptionsFilter(MoneyPosting.outlet_id, LABELS["outlet"], outlet_options),
            ChoiceFilter(MoneyPosting.id, _l("Paid"), PAID_STATES, PAID_LABELS),
            LocalDateBetweenFilter(MoneyPosting.posted_at, _l("Posted")),
        )
        super().__init__(*args, **kwargs)

    def get_query(self):
        return super().get_query().options(
            joinedload(MoneyPosting.request).joinedload(ApprovalRequest.ticket),
            joinedload(MoneyPosting.customer), joinedload(MoneyPosting.outlet), joinedload(MoneyPosting.posted_by))
