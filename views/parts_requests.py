"""Parts requests of the outlets (R-PART-3): request form, review, picking list, shipping, delivery."""
from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select

from backoffice import ledger, parts_requests
from backoffice.errors import DomainError, FieldErrors
from backoffice.labels import choices, label
from backoffice.timezones import format_local
from models import Outlet, Part, PartsRequest, db, utcnow
from models.choices import GasType, PartsRequestStatus, Role

from .actions import run_action
from .base import STAFF, ScopedOptionsFilter, SecureModelView
from .customers import outlet_options
from .fields import LABELS, enum_formatter, time_formatter

LINES = 8
S = PartsRequestStatus
BADGES = {"awaiting_exception": "warning", "submitted": "info", "reviewed": "primary", "shipped": "primary",
          "delivered": "success", "disputed": "danger", "rejected": "secondary"}


def status_badge(view, context, model, name):
    css = BADGES.get(model.status, "light")
    return Markup(f'<span class="badge badge-{css}">{escape(label(S, model.status))}</span>')


def ship_by(view, context, model, name):
    """Urgent requests show when they must ship (R-PART-3) and whether that has passed."""
    due = parts_requests.ship_due(db.session, model)
    if due is None:
        return ""
    late = (model.shipped_at or utcnow()) > due
    css = "badge-danger" if late else "badge-warning"
    return Markup(f'<span class="badge {css}">{escape(_("Urgent"))} · {escape(format_local(due))}</span>')


def part_options():
    return db.session.execute(select(Part.id, Part.code, Part.name, Part.unit_price)
                              .where(Part.active.is_(True)).order_by(Part.code)).all()


def outlet_choices():
    """Outlets that hold a parts account: every dealer outlet the user may see."""
    return db.session.scalars(select(Outlet).where(Outlet.is_service_center.is_(False),
                                                   Outlet.active.is_(True)).order_by(Outlet.code)).all()


def read_lines(form) -> tuple[list[parts_requests.LineDraft], dict]:
    """The form's line rows as drafts (empty rows kept, so error keys match row numbers)."""
    drafts, errors = [], {}
    for i in range(LINES):
        part, qty = form.get(f"part_id-{i}", "").strip(), form.get(f"qty-{i}", "").strip()
        if not part:
            drafts.append(parts_requests.LineDraft(None, None))
            continue
        if not part.isdigit():
            errors[f"lines-{i}-part_id"] = _l("Choose a part of the price list.")
        if not qty.isdigit():
            errors[f"lines-{i}-qty"] = _l("A quantity from 1 to 999.")
        drafts.append(parts_requests.LineDraft(int(part) if part.isdigit() else None,
                                               int(qty) if qty.isdigit() else None,
                                               form.get(f"gas_type-{i}") or None,
                                               bool(form.get(f"urgent-{i}"))))
    return drafts, errors


class PartsRequestView(SecureModelView):
    roles = STAFF | {Role.DEALER}
    export_roles = STAFF | {Role.DEALER}
    list_template = "admin/parts_request_list.html"
    details_template = "admin/parts_request_details.html"
    column_list = ("number", "outlet", "status", "ship_by", "lines", "requested_by", "created_at")
    column_labels = dict(LABELS, number=_l("Request no."), ship_by=_l("Ship by"), lines=_l("Lines"),
                         requested_by=_l("Requested by"), created_at=_l("Requested"))
    column_formatters = {"status": status_badge, "ship_by": ship_by, "created_at": time_formatter,
                         "lines": lambda v, c, m, n: len(m.lines)}
    column_searchable_list = ("number",)
    column_sortable_list = ("number", "created_at")
    column_default_sort = [("created_at", True), ("id", True)]
    column_export_list = ("number", "outlet", "status", "created_at", "courier", "tracking_no")
    column_formatters_export = {"status": enum_formatter(S), "created_at": time_formatter}

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(PartsRequest.status, LABELS["status"],
                                lambda: [(v, str(t)) for v, t in choices(S)]),
            ScopedOptionsFilter(PartsRequest.outlet_id, LABELS["outlet"], outlet_options),
        )
        super().__init__(*args, **kwargs)

    @expose("/request/", methods=("GET", "POST"))
    def request_view(self):
        """The outlet's request form: lines from the price list, urgent flags, note."""
        if current_user.role not in (Role.DEALER, *STAFF):
            return self._refuse()
        errors, notice = {}, None
        if request.method == "POST":
            drafts, errors = read_lines(request.form)
            outlet_id = request.form.get("outlet_id", "")
            if not outlet_id.isdigit() or db.session.get(Outlet, int(outlet_id)) is None:
                errors["outlet_id"] = _l("Choose the outlet.")
            if not errors:
                try:
                    created = parts_requests.submit(
                        db.session, int(outlet_id), current_user._get_current_object(), drafts,
                        request.form.get("note", ""), request.form.get("exception_reason", ""))
                    db.session.commit()
                    flash(_("Request %(number)s sent.", number=created.number), "success")
                    return redirect(self.get_url(".details_view", id=created.id))
                except FieldErrors as exc:
                    errors = exc.errors
                except DomainError as exc:
                    notice = exc.message
                db.session.rollback()
        return self.render("admin/parts_request_form.html", errors=errors, notice=notice,
                           typed=request.form, lines=range(LINES), parts=part_options(),
                           outlets=outlet_choices(), gas_types=choices(GasType),
                           reconciliation_url=url_for("parts_month.index_view"))

    @expose("/picking/")
    def picking_view(self):
        found = self.get_one(request.args.get("id", ""))
        return self.render("admin/parts_picking_list.html", model=found)

    @expose("/exception/", methods=("POST",))
    def exception_view(self):
        approve = request.form.get("decision") == "approve"
        return run_action(self, lambda found: parts_requests.decide_exception(
            db.session, found, current_user._get_current_object(), approve, request.form.get("note", "")),
            _("Decision recorded."), "exception")

    @expose("/review/", methods=("POST",))
    def review_view(self):
        def review(found):
            chosen = {line.id: request.form.get(f"settlement-{line.id}", "") for line in found.lines}
            parts_requests.review(db.session, found, current_user._get_current_object(), chosen)
        return run_action(self, review, _("Reviewed: print the picking list."), "review")

    @expose("/ship/", methods=("POST",))
    def ship_view(self):
        return run_action(self, lambda found: parts_requests.ship(
            db.session, found, current_user._get_current_object(), request.form.get("courier", ""),
            request.form.get("tracking_no", "")), _("Shipped."), "ship")

    @expose("/delivery/", methods=("POST",))
    def delivery_view(self):
        complete = request.form.get("complete") == "yes"
        return run_action(self, lambda found: parts_requests.confirm_delivery(
            db.session, found, current_user._get_current_object(), complete,
            request.form.get("delivery_note", "")), _("Delivery recorded."), "delivery")

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            found, user = kwargs["model"], current_user
            staff = user.role in STAFF
            kwargs.update(
                failure=g.get("action_failure") or {}, status_label=lambda v: label(S, v),
                settlement_choices=choices(parts_requests.Settlement),
                can_decide=(found.status == S.AWAITING_EXCEPTION and user.role in (Role.ADMIN, Role.MANAGER)
                            and user.id != found.requested_by_id),
                can_review=found.status == S.SUBMITTED and staff,
                can_ship=found.status == S.REVIEWED and staff,
                can_confirm=found.status == S.SHIPPED,
                ship_due=parts_requests.ship_due(db.session, found))
            if kwargs["can_review"]:
                kwargs["suggested"] = parts_requests.suggested_settlements(db.session, found)
                kwargs["balance"] = ledger.balance_of(db.session, found.outlet_id)
        return super().render(template, **kwargs)
