"""Parts requests of the outlets (R-PART-3): request form, review, picking list, shipping, delivery."""
from __future__ import annotations

from datetime import timedelta

from flask import flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backoffice import ledger, money, network_approvals, parts_requests, policy
from backoffice.errors import DomainError, FieldErrors
from backoffice.labels import choices, label
from backoffice.months import parse_day
from backoffice.permissions import DESK, why_not
from backoffice.timezones import format_local, local_today
from models import Outlet, Part, PartsRequest, db, utcnow
from models.choices import DisputeResolution, GasType, PartsRequestStatus, Settlement

from .actions import run_action
from .base import LocalDateBetweenFilter, ScopedOptionsFilter, SecureModelView, parse_id
from .fields import LABELS, enum_formatter, time_formatter
from .parts_accounts import dealer_outlet_options

LINES = 8
S = PartsRequestStatus
BADGES = {"awaiting_exception": "warning", "awaiting_incident": "warning", "submitted": "info", "reviewed": "primary",
          "shipped": "primary", "delivered": "success", "disputed": "danger", "rejected": "secondary",
          "withdrawn": "secondary"}
OPEN = (S.AWAITING_EXCEPTION, S.AWAITING_INCIDENT, S.SUBMITTED, S.REVIEWED)  # not shipped yet


def status_badge(view, context, model, name):
    css = BADGES.get(model.status, "light")
    badge = Markup(f'<span class="badge badge-{css}">{escape(label(S, model.status))}</span>')
    if model.rejection_reason:  # R-PART-10: a rejection's reason goes with its status
        return badge + Markup(f'<div class="small text-muted" data-testid="rejection-reason">'
                              f'{escape(model.rejection_reason)}</div>')
    return badge


def ship_state(request: PartsRequest, due) -> str:
    """'late' when an urgent request was (or still is not) shipped by its due time, else 'on_time'."""
    if due is None or request.status in (S.REJECTED, S.WITHDRAWN):
        return ""
    shipped = request.shipped_at if request.status not in OPEN else None
    return "late" if (shipped or utcnow()) > due else "on_time"


def list_ship_due(model: PartsRequest):
    """parts_requests.ship_due() for a list row, with the policy read once per page."""
    if "parts_ship_hours" not in g:
        g.parts_ship_hours = int(policy.value(db.session, "parts.urgent_ship_hours"))
    return model.created_at + timedelta(hours=g.parts_ship_hours) if model.urgent else None


def ship_by(view, context, model, name):
    """Urgent requests show when they must ship (R-PART-3) and whether that has passed."""
    due = list_ship_due(model)
    state = ship_state(model, due)
    if not state:
        return ""
    css = "badge-danger" if state == "late" else ("badge-warning" if model.status in OPEN else "badge-light")
    parts = [_("Urgent"), _("ship by") + " " + format_local(due)] + ([_("Late")] if state == "late" else [])
    text = " · ".join(parts)
    return Markup(f'<span class="badge {css}" data-ship="{state}">{escape(text)}</span>')


def chosen_settlements(found: PartsRequest) -> dict[int, str]:
    return {line.id: request.form.get(f"settlement-{line.id}", "") for line in found.lines}


def gas_label(value) -> str:
    return label(GasType, value) if value else ""


def part_options():
    return db.session.execute(select(Part.id, Part.code, Part.name, Part.unit_price)
                              .where(Part.active.is_(True)).order_by(Part.code)).all()


def outlet_choices():
    """Outlets that hold a parts account: every dealer outlet the user may see."""
    return db.session.scalars(select(Outlet).where(Outlet.is_service_center.is_(False),
                                                   Outlet.active.is_(True)).order_by(Outlet.code)).all()


def quantity(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= 6 else None


def read_lines(form) -> tuple[list[parts_requests.LineDraft], dict]:
    """The form's line rows as drafts (empty rows kept, so error keys match row numbers)."""
    drafts, errors = [], {}
    for i in range(LINES):
        part, qty = form.get(f"part_id-{i}", "").strip(), form.get(f"qty-{i}", "").strip()
        if not part:
            drafts.append(parts_requests.LineDraft(None, None))
            continue
        part_id, count = parse_id(part), quantity(qty)
        if part_id is None:
            errors[f"lines-{i}-part_id"] = _l("Choose a part of the price list.")
        if count is None:
            errors[f"lines-{i}-qty"] = _l("A quantity from 1 to 999.")
        drafts.append(parts_requests.LineDraft(part_id, count, form.get(f"gas_type-{i}") or None,
                                               bool(form.get(f"urgent-{i}"))))
    return drafts, errors


def read_needed_by(form, errors: dict):
    """The optional needed-by day; a day that is not one is a field error."""
    text = form.get("needed_by", "").strip()
    day = parse_day(text) if text else None
    if text and day is None:
        errors["needed_by"] = _l("Give the day as YYYY-MM-DD.")
    return day


class PartsRequestView(SecureModelView):
    roles = export_roles = DESK
    list_template = "admin/parts_request_list.html"
    details_template = "admin/parts_request_details.html"
    column_list = ("number", "outlet", "status", "ship_by", "needed_by", "lines", "requested_by", "created_at")
    column_labels = dict(LABELS, number=_l("Request no."), ship_by=_l("Ship by"), lines=_l("Lines"),
                         requested_by=_l("Requested by"), created_at=_l("Requested"), needed_by=_l("Needed by"),
                         courier=_l("Courier"), tracking_no=_l("Tracking no."), freight=_l("Freight"),
                         rejection_reason=_l("Reason for rejection"))
    column_formatters = {"status": status_badge, "ship_by": ship_by, "created_at": time_formatter,
                         "lines": lambda v, c, m, n: len(m.lines)}
    column_searchable_list = ("number",)
    column_sortable_list = ("number", "needed_by", "created_at")
    column_default_sort = [("created_at", True), ("id", True)]
    column_export_list = ("number", "outlet", "status", "created_at", "needed_by", "courier", "tracking_no",
                          "freight", "rejection_reason")
    column_formatters_export = {"status": enum_formatter(S), "created_at": time_formatter,
                                "needed_by": lambda v, c, m, n: m.needed_by.isoformat() if m.needed_by else "",
                                "freight": lambda v, c, m, n: f"{m.freight:.2f}" if m.freight is not None else ""}

    def get_query(self):
        return super().get_query().options(selectinload(PartsRequest.lines))

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(PartsRequest.status, LABELS["status"],
                                lambda: [(v, str(t)) for v, t in choices(S)]),
            ScopedOptionsFilter(PartsRequest.outlet_id, LABELS["outlet"], dealer_outlet_options),
            LocalDateBetweenFilter(PartsRequest.created_at, _l("Requested")),
        )
        super().__init__(*args, **kwargs)

    @expose("/request/", methods=("GET", "POST"))
    def request_view(self):
        """The outlet's request form: lines from the price list, urgent flags, note."""
        user = current_user._get_current_object()
        if not parts_requests.actions(db.session, None, user)["submit"]:
            return self._refuse()
        outlets = outlet_choices()
        errors, notice = {}, None
        if request.method == "POST":
            drafts, errors = read_lines(request.form)
            needed_by = read_needed_by(request.form, errors)
            outlet_id = parse_id(request.form.get("outlet_id"))
            if outlet_id not in {o.id for o in outlets}:
                errors["outlet_id"] = _l("Choose the outlet.")
            if not errors:
                try:
                    created = parts_requests.submit(
                        db.session, outlet_id, user, drafts,
                        request.form.get("note", ""), request.form.get("exception_reason", ""),
                        needed_by=needed_by)
                    db.session.commit()
                    flash(_("Request %(number)s sent.", number=created.number), "success")
                    return redirect(self.get_url(".details_view", id=created.id))
                except FieldErrors as exc:
                    errors = exc.errors
                except DomainError as exc:
                    notice = exc.message
                db.session.rollback()
        hints = parts_requests.form_hints(db.session, user, outlets, local_today())
        selected = request.form.get("outlet_id") if request.method == "POST" else None
        if selected is None and hints.own_outlet_id is not None:
            selected = str(hints.own_outlet_id)
        if hints.held and notice is None:  # R-PART-7: say so before the outlet types anything
            notice = _("Last month's parts account is not confirmed yet: confirm the statement before "
                       "requesting more parts.")
        return self.render("admin/parts_request_form.html", errors=errors, notice=notice, blocked=hints.held,
                           typed=request.form, selected=selected, lines=range(LINES), parts=part_options(),
                           outlets=outlets, full_weeks=hints.full_weeks,
                           gas_types=choices(GasType), needed_by_default=local_today() + parts_requests.NEEDED_AHEAD,
                           reconciliation_url=url_for("parts_month.index_view"))

    @expose("/picking/")
    def picking_view(self):
        """The printable picking list: number, outlet and address, lines, courier blanks."""
        found = self.get_one(request.args.get("id", ""))
        return self.render("admin/parts_picking_list.html", model=found, gas_label=gas_label,
                           settlement_label=lambda v: label(Settlement, v))

    @expose("/review/", methods=("POST",))
    def review_view(self):
        def review(found):
            parts_requests.review(db.session, found, current_user._get_current_object(), chosen_settlements(found))
        return run_action(self, review, _("Reviewed: print the picking list."), "review")

    @expose("/incident/", methods=("POST",))
    def incident_view(self):
        """R-PART-2: ask a manager to issue on account beyond the quota (quality incident)."""
        def ask(found):
            network_approvals.ask_incident(db.session, found, current_user._get_current_object(),
                                           chosen_settlements(found), request.form.get("incident_reason", ""))
        return run_action(self, ask, _("Sent to a manager for approval."), "review")

    @expose("/reject/", methods=("POST",))
    def reject_view(self):
        return run_action(self, lambda found: parts_requests.reject(
            db.session, found, current_user._get_current_object(), request.form.get("rejection_reason", "")),
            _("Request rejected."), "reject")

    @expose("/withdraw/", methods=("POST",))
    def withdraw_view(self):
        return run_action(self, lambda found: parts_requests.withdraw(
            db.session, found, current_user._get_current_object()), _("Request withdrawn."), "withdraw")

    @expose("/resolve/", methods=("POST",))
    def resolve_view(self):
        """R-PART-10: the center settles a delivery difference by reshipping or crediting."""
        def resolve(found):
            missing = {line.id: quantity(request.form.get(f"missing-{line.id}", "") or "0") for line in found.lines}
            bad = {f"missing-{line.id}": _l("From 0 to the %(qty)d requested.", qty=line.qty)
                   for line in found.lines if missing[line.id] is None}
            if bad:
                raise FieldErrors(bad)
            parts_requests.resolve_dispute(
                db.session, found, current_user._get_current_object(), request.form.get("resolution", ""), missing,
                request.form.get("resolution_note", ""), request.form.get("reship_courier", ""),
                request.form.get("reship_tracking_no", ""))
        return run_action(self, resolve, _("Delivery difference settled."), "resolve")

    @expose("/ship/", methods=("POST",))
    def ship_view(self):
        """R-PART-3: the parcel with its courier and tracking number, and its freight, paid by
        the receiver (manual 004)."""
        def ship(found):
            try:
                freight = money.parse(request.form.get("freight", ""))
            except ValueError as exc:
                raise FieldErrors({"freight": exc.args[0]}) from None
            parts_requests.ship(db.session, found, current_user._get_current_object(), request.form.get("courier", ""),
                                request.form.get("tracking_no", ""), freight=freight)
        return run_action(self, ship, _("Shipped."), "ship")

    @expose("/delivery/", methods=("POST",))
    def delivery_view(self):
        complete = request.form.get("complete") == "yes"
        return run_action(self, lambda found: parts_requests.confirm_delivery(
            db.session, found, current_user._get_current_object(), complete,
            request.form.get("delivery_note", "")), _("Delivery recorded."), "delivery")

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            found = kwargs["model"]
            actions = parts_requests.actions(db.session, found, current_user._get_current_object())
            due = parts_requests.ship_due(db.session, found)
            kwargs.update(
                failure=g.get("action_failure") or {}, status_label=lambda v: label(S, v), gas_label=gas_label,
                settlement_choices=choices(Settlement), ship_state=ship_state(found, due),
                approval=network_approvals.open_request(found), approvals=found.approvals,
                actions=actions, why_not=why_not(actions), resolutions=choices(DisputeResolution),
                resolution_label=lambda v: label(DisputeResolution, v), ship_due=due, total=parts_requests.total(found),
                credited=parts_requests.credited_lines(db.session, found))
            if actions["review"]:
                kwargs["suggested"] = parts_requests.suggested_settlements(db.session, found)
                kwargs["balance"] = ledger.balance_of(db.session, found.outlet_id)
        return super().render(template, **kwargs)
