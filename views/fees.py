"""Service-fee claims and their monthly settlement (R-FEE-1, R-FEE-2)."""
from __future__ import annotations

from flask import flash, g, redirect, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import distinct, select

from backoffice import fee_claims, reconciliation
from backoffice.errors import FieldErrors
from backoffice.labels import label
from backoffice.timezones import local_today
from models import FeeClaim, db
from models.choices import FeeClaimStatus, Role

from .actions import run_action
from .base import MANAGERS, STAFF, ScopedOptionsFilter, SecureModelView
from .customers import outlet_options
from .fields import LABELS, enum_formatter, money_formatter, time_formatter
from .tickets import parse_amount

C = FeeClaimStatus
BADGES = {"claimed": "info", "approved": "success", "adjusted": "warning", "rejected": "secondary",
          "settled": "dark"}


def status_badge(view, context, model, name):
    text = escape(label(C, model.status))
    charged = escape(_("Charged back"))
    extra = f' <span class="badge badge-danger">{charged}</span>' if model.charge_back else ""
    return Markup(f'<span class="badge badge-{BADGES[model.status]}">{text}</span>{extra}')


def ticket_link(view, context, model, name):
    return Markup(f'<a href="/admin/ticket/details/?id={model.ticket_id}">{escape(model.ticket.number)}</a>')


class FeeClaimView(SecureModelView):
    roles = STAFF | {Role.DEALER}
    export_roles = STAFF | {Role.DEALER}
    list_template = "admin/fee_claim_list.html"
    details_template = "admin/fee_claim_details.html"
    column_list = ("ticket", "outlet", "status", "labor_amount", "travel_amount", "parts_amount",
                   "claimed_total", "approved_total", "audited_at")
    column_labels = dict(LABELS, ticket=_l("Ticket no."), labor_amount=_l("Labour"), travel_amount=_l("Travel"),
                         parts_amount=_l("Parts"), claimed_total=_l("Claimed"), approved_total=_l("Approved"),
                         audited_at=_l("Audited"))
    column_formatters = {"ticket": ticket_link, "status": status_badge, "audited_at": time_formatter,
                         **{k: money_formatter for k in ("labor_amount", "travel_amount", "parts_amount",
                                                         "claimed_total", "approved_total")}}
    column_sortable_list = ("claimed_total", "audited_at")
    column_default_sort = [("id", True)]
    column_export_list = ("ticket", "outlet", "status", "labor_hours", "labor_amount", "distance_km",
                          "travel_amount", "parts_amount", "claimed_total", "approved_total", "audit_note",
                          "charge_back")
    column_formatters_export = {"ticket": lambda v, c, m, n: m.ticket.number, "status": enum_formatter(C)}

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(FeeClaim.status, LABELS["status"], lambda: [(s.value, str(label(C, s.value))) for s in C]),
            ScopedOptionsFilter(FeeClaim.outlet_id, LABELS["outlet"], outlet_options))
        super().__init__(*args, **kwargs)

    @expose("/generate/", methods=("POST",))
    def generate_view(self):
        if current_user.role not in STAFF:
            return self._refuse()
        created = fee_claims.generate(db.session)
        db.session.commit()
        flash(_("%(count)d new claims from resolved warranty tickets.", count=len(created)), "success")
        return redirect(self.get_url(".index_view"))

    @expose("/distance/", methods=("POST",))
    def distance_view(self):
        return run_action(self, lambda found: fee_claims.set_distance(
            db.session, found, current_user._get_current_object(), request.form.get("distance_km", "")),
            _("Distance saved; the claim is recomputed."), "distance")

    @expose("/audit/", methods=("POST",))
    def audit_view(self):
        def audit(found):
            amount, errors = parse_amount(request.form.get("amount", ""))
            if errors and request.form.get("decision") == "adjust":
                raise FieldErrors(errors)
            fee_claims.audit(db.session, found, current_user._get_current_object(), request.form.get("decision", ""),
                             request.form.get("note", ""), amount)
        return run_action(self, audit, _("Audit recorded."), "audit")

    @expose("/overcharge/", methods=("POST",))
    def overcharge_view(self):
        def confirm(found):
            amount, errors = parse_amount(request.form.get("overcharge", ""))
            if errors:
                raise FieldErrors({"overcharge": next(iter(errors.values()))})
            fee_claims.confirm_overcharge(db.session, found, current_user._get_current_object(), amount,
                                          request.form.get("charge_back_note", ""))
        return run_action(self, confirm, _("Overcharge confirmed: the charge-back goes into the next settlement."),
                          "overcharge")

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            found, user = kwargs["model"], current_user
            kwargs.update(
                failure=g.get("action_failure") or {}, status_label=lambda v: label(C, v),
                can_edit_distance=found.status == C.CLAIMED and user.role != Role.ENGINEER,
                can_audit=found.status == C.CLAIMED and user.role in STAFF,
                can_charge_back=(user.role in MANAGERS and found.charge_back == 0 and user.id != found.audited_by_id
                                 and found.status in fee_claims.PAYABLE + (C.SETTLED.value,)))
        if template == self.list_template:
            kwargs["can_generate"] = current_user.role in STAFF
        return super().render(template, **kwargs)


class FeeBatchView(SecureModelView):
    roles = STAFF | {Role.DEALER}
    export_roles = STAFF | {Role.DEALER}
    list_template = "admin/fee_batch_list.html"
    details_template = "admin/fee_batch_details.html"
    column_list = ("outlet", "month", "claims_total", "charge_backs_total", "net", "created_at")
    column_labels = dict(LABELS, month=_l("Month"), claims_total=_l("Claims"), charge_backs_total=_l("Charge-backs"),
                         net=_l("Net payable"), created_at=_l("Settled"))
    column_formatters = {"month": lambda v, c, m, n: f"{m.month:%Y-%m}", "claims_total": money_formatter,
                         "charge_backs_total": money_formatter, "net": money_formatter, "created_at": time_formatter}
    column_default_sort = [("month", True), ("id", True)]
    column_export_list = ("outlet", "month", "claims_total", "charge_backs_total", "net")

    @expose("/settle/", methods=("POST",))
    def settle_view(self):
        """Last month's batch for every outlet with audited claims or charge-backs (idempotent)."""
        if current_user.role not in STAFF:
            return self._refuse()
        month = reconciliation.previous_month(local_today())
        outlets = db.session.scalars(select(distinct(FeeClaim.outlet_id)).where(
            FeeClaim.status.in_(fee_claims.PAYABLE) | (FeeClaim.charge_back > 0))).all()
        for outlet_id in outlets:
            fee_claims.settle_month(db.session, outlet_id, month, current_user._get_current_object())
        db.session.commit()
        flash(_("Service fees of %(month)s settled.", month=f"{month:%Y-%m}"), "success")
        return redirect(self.get_url(".index_view"))

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs["can_settle"] = current_user.role in STAFF
        if template == self.details_template and "model" in kwargs:
            batch = kwargs["model"]
            kwargs["charged"] = db.session.scalars(select(FeeClaim).where(FeeClaim.charge_back_batch_id == batch.id)).all()
        return super().render(template, **kwargs)
