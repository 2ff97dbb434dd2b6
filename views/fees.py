"""Service fees of the outlets: claims, audit, charge-backs, monthly settlement, travel bands
(R-FEE-1, R-FEE-2, R-CMP-3). Dealers see their own outlet's claims and batches only (the row
scope of backoffice.access), engineers none."""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import false
from wtforms.validators import NumberRange

from backoffice import fee_claims, months, network_approvals, policy, reconciliation
from backoffice.labels import label
from backoffice.permissions import ADMINS, CENTER, DESK, why_not
from backoffice.timezones import format_local, local_today
from models import FeeBatch, FeeClaim, TravelBand, db
from models.choices import ClaimPartBasis, FeeClaimStatus, OldPartState, TicketStatus

from .actions import run_action
from .base import ScopedOptionsFilter, SecureModelView
from .customers import outlet_options
from .fields import LABELS, days_since, enum_formatter, money_formatter, time_formatter, waiting_badge
from .service_posts import details_post, list_post

C = FeeClaimStatus
BADGES = {"claimed": "info", "approved": "success", "adjusted": "warning", "rejected": "secondary",
          "settled": "dark"}


def yuan(value) -> str:
    """¥1,234.50; a negative amount as −¥1,234.50."""
    if value is None:
        return ""
    return f"−¥{-value:,.2f}" if value < 0 else f"¥{value:,.2f}"


def claim_status_badge(view, context, model, name):
    text = escape(label(C, model.status))
    badge = f'<span class="badge badge-{BADGES.get(model.status, "light")}">{text}</span>'
    if model.charge_back:
        charged = escape(_("Charged back"))
        badge += f' <span class="badge badge-danger">{charged}</span>'
    return Markup(badge)


def ticket_link(view, context, model, name):
    href = url_for("ticket.details_view", id=model.ticket_id)
    return Markup(f'<a href="{escape(href)}">{escape(model.ticket.number)}</a>')


def number_link(view, context, model, name):
    href = url_for("fee_claim.details_view", id=model.id)
    return Markup(f'<a href="{escape(href)}">{escape(model.number)}</a>')


def age_formatter(view, context, model, name):
    """Days since the claim was generated; still waiting for audit is highlighted after the
    policy's days (fees.audit_within_days)."""
    days = days_since(model.created_at)
    late = model.status == C.CLAIMED and days >= policy.shown("fees.audit_within_days")
    return waiting_badge(days, late, late_class="badge-warning")


def net_formatter(view, context, model, name):
    value = getattr(model, name)
    if value is not None and value < 0:
        owes = escape(_("the outlet owes"))
        return Markup(f'<span class="text-danger font-weight-bold">{escape(yuan(value))}</span> '
                      f'<span class="small text-danger">({owes})</span>')
    return yuan(value)


class MonthFilter(BaseSQLAFilter):
    """A local calendar month (YYYY-MM) of a UTC timestamp column; the last 12 months offered."""

    def __init__(self, column, name):
        super().__init__(column, name, options=self._live_options)

    def _live_options(self):
        return [(f"{m:%Y-%m}", f"{m:%Y-%m}") for m in months.recent(local_today())]

    def operation(self):
        return admin_lazy_gettext("equals")

    def validate(self, value):
        return months.parse_month(value) is not None

    def clean(self, value):
        return value.strip()

    def apply(self, query, value, alias=None):
        month = months.parse_month(value)
        if month is None:
            return query.filter(false())
        start, end = reconciliation.month_bounds(month)
        column = self.get_column(alias)
        return query.filter(column >= start, column < end)


class FeeView(SecureModelView):
    """The center and the dealer outlets (a dealer its own outlets' rows: backoffice.access);
    the list pages' buttons and their guards come from `fee_claims.actions`. Each screen's
    templates are named after its endpoint: admin/<endpoint>_list.html and _details.html."""

    roles = export_roles = DESK

    @property
    def list_template(self):
        return f"admin/{self.endpoint}_list.html"

    @property
    def details_template(self):
        return f"admin/{self.endpoint}_details.html"

    def _user(self):
        return current_user._get_current_object()

    def _collection_actions(self):
        return fee_claims.actions(db.session, None, self._user())

    def _require(self, name: str) -> None:
        """A list-page POST the user's role may not send at all is forbidden (403)."""
        if not self._collection_actions()[name]:
            abort(403)

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs["list_actions"] = self._collection_actions()  # `actions` are the list's bulk actions
        return super().render(template, **kwargs)


class FeeClaimView(FeeView):
    """Claims list (filters, scoped CSV), the breakdown, and the actions each role may take."""

    column_list = ("number", "ticket", "outlet", "status", "claimed_total", "approved_total", "age")
    column_labels = dict(LABELS, number=_l("Claim no."), ticket=_l("Ticket no."), remedy_code=_l("Remedy"),
                         labor_hours=_l("Standard hours"), labor_rate=_l("Rate per hour"), labor_amount=_l("Labour"),
                         travel_band_km=_l("Band up to (km)"), travel_amount=_l("Travel"),
                         parts_amount=_l("Parts"), claimed_total=_l("Claimed"), approved_total=_l("Approved"),
                         audit_note=_l("Audit note"), audited_by=_l("Audited by"), audited_at=_l("Audited"),
                         overcharge=_l("Overcharge"), charge_back=_l("Charge-back"), batch=_l("Settlement"),
                         age=_l("Age"))
    column_formatters = {"number": number_link, "ticket": ticket_link, "status": claim_status_badge,
                         "claimed_total": money_formatter, "approved_total": money_formatter, "age": age_formatter}
    column_sortable_list = ("number", "claimed_total", "approved_total", ("age", "created_at"))
    column_default_sort = [("created_at", True), ("id", True)]
    column_searchable_list = ("number",)
    column_export_list = ("number", "ticket", "outlet", "status", "created_at", "remedy_code", "labor_hours",
                          "labor_rate", "labor_amount", "distance_km", "travel_band_km", "travel_amount",
                          "parts_amount", "claimed_total", "approved_total", "audit_note", "audited_at",
                          "overcharge", "charge_back", "batch")
    column_formatters_export = {
        "ticket": lambda v, c, m, n: m.ticket.number, "outlet": lambda v, c, m, n: m.outlet.code,
        "status": enum_formatter(C), "created_at": time_formatter, "audited_at": time_formatter,
        "remedy_code": lambda v, c, m, n: m.remedy_code.code if m.remedy_code else "",
        "batch": lambda v, c, m, n: f"{m.batch.month:%Y-%m}" if m.batch else "",
    }

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(FeeClaim.status, LABELS["status"], lambda: [(s.value, label(C, s.value)) for s in C]),
            ScopedOptionsFilter(FeeClaim.outlet_id, LABELS["outlet"], outlet_options),
            MonthFilter(FeeClaim.created_at, _l("Month claimed")),
            # R-FEE-2: a month's settlement takes the claims audited in it, whenever claimed.
            MonthFilter(FeeClaim.audited_at, _l("Month audited")),
        )
        super().__init__(*args, **kwargs)

    @expose("/generate/", methods=("POST",))
    def generate_view(self):
        self._require("generate")
        return list_post(self, lambda: fee_claims.generate(db.session, None, self._user()),
                         lambda created: _("%(count)d new claims from resolved warranty tickets.",
                                           count=len(created)))

    @expose("/distance/", methods=("POST",))
    def distance_view(self):
        return details_post(self, fee_claims.set_distance, _("Distance saved; the claim is recomputed."),
                            "distance", "distance_km")

    @expose("/audit/", methods=("POST",))
    def audit_view(self):
        def audit(found):
            decision = request.form.get("decision", "")
            amount = None
            if decision == "adjust":
                amount = fee_claims.parse_amount(request.form.get("approved_total"), "approved_total")
            fee_claims.audit(db.session, found, self._user(), decision, request.form.get("note", ""), amount)
        return run_action(self, audit, _("Audit recorded."), "audit")

    @expose("/overcharge/", methods=("POST",))
    def overcharge_view(self):
        """R-FEE-2 / R-CMP-3: the center reports an overcharge; a manager approves the charge-back."""
        def report(found):
            amount = fee_claims.parse_amount(request.form.get("overcharge"), "overcharge")
            network_approvals.ask_chargeback(db.session, found, self._user(), amount,
                                             request.form.get("charge_back_note", ""))
        return run_action(self, report, _("Sent to a manager: once approved, the charge-back goes into the next "
                                          "settlement."), "overcharge")

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            found, user = kwargs["model"], self._user()
            kwargs.update(
                failure=g.get("action_failure") or {}, claim_status_label=lambda v: label(C, v),
                badge=BADGES.get(found.status, "light"), yuan=yuan, localtime=format_local,
                multiple=policy.value(db.session, "fees.overcharge_multiple"), approvals=found.approvals,
                actions=(actions := fee_claims.actions(db.session, found, user)), why_not=why_not(actions),
                band=fee_claims.band_label(db.session, found.travel_band_km),
                facts=fee_claims.audit_facts(db.session, found), basis_label=lambda v: label(ClaimPartBasis, v),
                ticket_status_label=lambda v: label(TicketStatus, v),
                old_part_state_label=lambda v: label(OldPartState, v))
        return super().render(template, **kwargs)


class FeeBatchView(FeeView):
    """Monthly settlement per outlet: list, printable details, settle a finished month (the center)."""

    column_list = ("outlet", "month", "claims_total", "charge_backs_total", "net", "created_by", "created_at")
    column_labels = dict(LABELS, month=_l("Month"), claims_total=_l("Claims"), charge_backs_total=_l("Charge-backs"),
                         net=_l("Net payable"), created_by=_l("Settled by"), created_at=_l("Settled"))
    column_formatters = {"month": lambda v, c, m, n: f"{m.month:%Y-%m}", "claims_total": money_formatter,
                         "charge_backs_total": money_formatter, "net": net_formatter, "created_at": time_formatter}
    column_sortable_list = ("month", "net", ("outlet", "outlet.code"))
    column_default_sort = [("month", True), ("id", True)]
    column_export_list = ("outlet", "month", "claims_total", "charge_backs_total", "net", "created_at")
    column_formatters_export = {"outlet": lambda v, c, m, n: m.outlet.code,
                                "month": lambda v, c, m, n: f"{m.month:%Y-%m}", "created_at": time_formatter}

    def __init__(self, *args, **kwargs):
        self.column_filters = (ScopedOptionsFilter(FeeBatch.outlet_id, LABELS["outlet"], outlet_options),)
        super().__init__(*args, **kwargs)

    @expose("/settle/", methods=("POST",))
    def settle_view(self):
        """The month's batch (last month unless another finished month is given) for every
        outlet with approved claims or charge-backs to settle; settling again changes nothing."""
        self._require("settle")
        typed = request.form.get("month", "").strip()
        month = months.parse_month(typed) if typed else months.previous_month(local_today())
        if month is None:
            flash(_("Give the month as YYYY-MM."), "error")
            return redirect(self.get_url(".index_view"))
        return list_post(self, lambda: fee_claims.settle_all(db.session, month, self._user()),
                         lambda batches: _("Service fees of %(month)s settled: %(count)d outlet batches.",
                                           month=f"{month:%Y-%m}", count=len(batches)))

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs["last_month"] = f"{months.previous_month(local_today()):%Y-%m}"
        if template == self.details_template and "model" in kwargs:
            kwargs.update(yuan=yuan, localtime=format_local)
        return super().render(template, **kwargs)


class TravelBandView(SecureModelView):
    """Travel paid to outlets by distance band (R-FEE-1): the first band covering the distance,
    the last band beyond. Admins edit them; the center reads them."""

    roles = CENTER
    create_roles = edit_roles = delete_roles = ADMINS
    column_list = ("up_to_km", "amount")
    column_labels = dict(LABELS, up_to_km=_l("Up to (km)"), amount=_l("Travel fee (¥)"))
    column_formatters = {"amount": money_formatter}
    column_default_sort = "up_to_km"
    form_columns = ("up_to_km", "amount")
    form_args = {"up_to_km": {"validators": [NumberRange(min=1, max=100000)]},
                 "amount": {"validators": [NumberRange(min=0, max=100000)]}}


def register(admin) -> None:
    """The 'Service fees' menu: claims, settlements, travel bands."""
    fees = _l("Service fees")
    admin.add_view(FeeClaimView(FeeClaim, _l("Fee claims"), category=fees, endpoint="fee_claim"))
    admin.add_view(FeeBatchView(FeeBatch, _l("Fee settlements"), category=fees, endpoint="fee_batch"))
    admin.add_view(TravelBandView(TravelBand, _l("Travel bands"), category=fees, endpoint="travel_band"))

