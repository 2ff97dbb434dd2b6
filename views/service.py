"""Return visits, fault taxonomy and SLA policies."""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy.orm import joinedload
from wtforms import SelectField
from wtforms.validators import NumberRange, Optional

from backoffice import dashboard, reference_checks, return_visits
from backoffice.labels import choices, label
from backoffice.permissions import ADMINS, DESK, EVERYONE, MANAGERS
from backoffice.timezones import local_day_bounds, local_today
from models import ReturnVisit, Ticket, utcnow
from models.choices import Area, Clock, CodeKind, ProductCategory, TicketKind, VisitKind

from .base import ChoiceFilter, LocalDateBetweenFilter, SecureModelView
from .fields import LABELS, enum_formatter, time_formatter


def ticket_link(view, context, model, name):
    ticket = model.ticket
    return Markup(f'<a href="/admin/ticket/details/?id={ticket.id}">{escape(ticket.number)}</a>')


VISIT_STATES = {
    "due": lambda: dashboard.visits_due_sql(utcnow()),  # as the home page counts them
    "open": lambda: ReturnVisit.done_at.is_(None),
    "done": lambda: ReturnVisit.done_at.is_not(None),
}
VISIT_STATE_LABELS = {"due": _l("Due by tomorrow"), "open": _l("Not yet made"), "done": _l("Made")}


# The list's second coverage figure: a rolling window, a screen choice rather than a rule.
COVERAGE_DAYS = 30


class ReturnVisitView(SecureModelView):
    """Clerks' call-back list; the visit itself is recorded on the ticket page."""

    roles = export_roles = DESK
    list_template = "admin/return_visit_list.html"
    can_view_details = False
    column_list = ("ticket", "ticket.customer", "ticket.contact_phone", "kind", "due_at", "done_at",
                   "satisfaction", "comment", "visitor")
    # The search box's placeholder names the searchable columns by these labels too.
    column_labels = dict(LABELS, **{"ticket": _l("Ticket no."), "ticket.number": _l("Ticket no."),
                                    "ticket.customer": _l("Customer"),
                                    "ticket.contact_phone": _l("Contact phone"), "kind": _l("After"),
                                    "due_at": _l("Due"), "done_at": _l("Made"),
                                    "satisfaction": _l("Satisfaction"), "comment": _l("Customer's words"),
                                    "visitor": _l("By")})
    column_formatters = {"ticket": ticket_link, "kind": enum_formatter(VisitKind),
                         "due_at": time_formatter, "done_at": time_formatter,
                         "ticket.customer": lambda v, c, m, n: m.ticket.customer.name}
    column_sortable_list = ("due_at", "done_at", "satisfaction")
    column_searchable_list = ("ticket.number", "ticket.contact_phone")  # the caller on the line
    column_default_sort = [("due_at", False), ("id", False)]
    column_export_list = column_list
    column_formatters_export = {"ticket": lambda v, c, m, n: m.ticket.number,
                                "ticket.customer": lambda v, c, m, n: m.ticket.customer.name,
                                "kind": enum_formatter(VisitKind), "due_at": time_formatter,
                                "done_at": time_formatter}

    def __init__(self, *args, **kwargs):
        self.column_filters = (ChoiceFilter(ReturnVisit.id, _l("State"), VISIT_STATES, VISIT_STATE_LABELS),
                               LocalDateBetweenFilter(ReturnVisit.due_at, _l("Due")))
        super().__init__(*args, **kwargs)

    def get_query(self):  # each row's customer with the rows, not one statement per row
        return super().get_query().options(joinedload(ReturnVisit.ticket).joinedload(Ticket.customer))

    def render(self, template, **kwargs):
        if template == self.list_template:
            today = local_today()
            month_start = today.replace(day=1)
            kwargs["coverage_periods"] = [
                (_l("This month"), return_visits.coverage(db_session(), *local_day_bounds(month_start, today))),
                (_l("Last %(days)s days", days=COVERAGE_DAYS), return_visits.coverage(
                    db_session(), *local_day_bounds(today - timedelta(days=COVERAGE_DAYS - 1), today))),
            ]
            kwargs["visit_kind_label"] = lambda value: label(VisitKind, value)
        return super().render(template, **kwargs)


def db_session():
    from models import db

    return db.session


class FaultCodeView(SecureModelView):
    roles = export_roles = EVERYONE
    create_roles = edit_roles = delete_roles = MANAGERS
    column_list = ("kind", "code", "name", "category", "standard_hours", "active")
    column_labels = dict(LABELS, kind=_l("Code kind"), standard_hours=_l("Standard hours (remedies)"))
    column_formatters = {"kind": enum_formatter(CodeKind), "category": enum_formatter(ProductCategory)}
    column_searchable_list = ("code", "name")
    column_filters = ("kind", "category", "active")
    column_default_sort = [("kind", False), ("code", False)]
    form_columns = ("kind", "code", "name", "category", "standard_hours", "active")
    form_choices = {"kind": choices(CodeKind), "category": choices(ProductCategory)}
    # R-FEE-1: the labour a remedy is paid for (Numeric(4, 2)); empty: the default hours policy.
    form_args = {"standard_hours": {"validators": [Optional(), NumberRange(min=0, max=99.99)]}}

    def on_model_change(self, form, model, is_created):
        model.code = (model.code or "").strip()
        reference_checks.check_fault_code(db_session(), model)  # a duplicate is marked on the form


def warranty_answer(value):
    """The SLA form's warranty choice: "" any (NULL), "1" in warranty, "0" out of warranty."""
    if value in (None, "", "None"):
        return None
    return value in (True, "1", "True", "y")


class SlaPolicyView(SecureModelView):
    """Overrides of the default SLA table of backoffice.sla (DOMAIN §4)."""

    roles = MANAGERS
    create_roles = edit_roles = delete_roles = ADMINS
    column_list = ("clock", "kind", "in_warranty", "area", "hours", "updated_at")
    column_labels = dict(LABELS, clock=_l("Clock"), hours=_l("Hours"), in_warranty=_l("In warranty"))
    column_formatters = {"clock": enum_formatter(Clock), "kind": enum_formatter(TicketKind),
                         "area": enum_formatter(Area), "updated_at": time_formatter}
    form_columns = ("clock", "kind", "in_warranty", "area", "hours")
    form_choices = {"clock": choices(Clock), "kind": choices(TicketKind), "area": choices(Area)}
    # Three answers, not a checkbox: "any" (NULL) must stay expressible and survive an edit.
    form_overrides = {"in_warranty": SelectField}
    form_args = {"hours": {"description": _l("Calendar hours from registration (R-SLA-2). Leave kind, "
                                             "warranty or area empty to match any.")},
                 "in_warranty": {"choices": [("", _l("Any")), ("1", _l("In warranty")), ("0", _l("Out of warranty"))],
                                  "coerce": warranty_answer, "validators": [Optional()]}}


class StockView(SecureModelView):
    """Finished goods on hand per outlet, for exchanges (R-RET-2)."""

    roles = export_roles = DESK
    create_roles = edit_roles = delete_roles = MANAGERS
    column_list = ("outlet", "product_model", "size", "qty", "updated_at")
    column_labels = dict(LABELS, qty=_l("On hand"))
    column_formatters = {"updated_at": time_formatter}
    column_sortable_list = ("qty", ("outlet", "outlet.code"), ("product_model", "product_model.code"))
    column_default_sort = [("id", False)]
    form_columns = ("outlet", "product_model", "size", "qty")

    def on_model_change(self, form, model, is_created):
        model.size = (model.size or "").strip()
        reference_checks.check_stock(db_session(), model)  # one row per outlet, model, size; qty >= 0
