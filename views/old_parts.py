"""Old parts owed from warranty repairs and the return lists that bring them back (R-PART-4…6)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload

from backoffice import old_parts, policy
from backoffice.errors import FieldErrors
from backoffice.labels import choices, label
from backoffice.ledger_source import CREDIT, OUTCOMES, Source
from backoffice.money import ZERO
from backoffice.permissions import DESK
from backoffice.timezones import local_today
from models import LedgerEntry, OldPart, PartsAccount, PartsReturn, db
from models.choices import NonCreditable, OldPartState, PartsReturnStatus

from .actions import run_action
from .base import ChoiceFilter, ScopedOptionsFilter, SecureModelView, parse_id
from .fields import LABELS, enum_formatter, time_formatter
from .parts_accounts import dealer_outlet_options

OPS, RS = OldPartState, PartsReturnStatus
RETURN_BADGES = {"shipped": "warning", "received": "info", "inspected": "success"}
EXEMPTIONS = {"consumable": _l("Consumable"), "fragile": _l("Fragile panel")}


def exemption_label(view, context, model, name):
    """Why no physical return is needed (R-PART-6). The "cheap" rule is told with the policy's
    numbers, read once per page, so a policy change cannot make the label lie."""
    if model.exemption != "cheap":
        return EXEMPTIONS.get(model.exemption, "")
    if "scrap_cheap_label" not in g:
        g.scrap_cheap_label = _("Under ¥%(price)s, at most %(qty)d pieces",
                                price=f"{policy.value(db.session, 'parts.scrap_price_below'):,.2f}",
                                qty=int(policy.value(db.session, "parts.scrap_qty_max")))
    return g.scrap_cheap_label


def age_badge(view, context, model, name):
    """Days since the part was taken out; owed parts past the return cycle stand out."""
    if "parts_return_days" not in g:  # read once per page, not per row
        g.parts_return_days = int(policy.value(db.session, "parts.return_cycle_days"))
    days = (local_today() - model.replaced_on).days
    late = model.state == OPS.OWED and days > g.parts_return_days
    return Markup(f'<span class="badge {"badge-danger" if late else "badge-light"}">{days}</span>')


def ticket_link(view, context, model, name):
    href = url_for("ticket.details_view", id=model.ticket_id)
    return Markup(f'<a href="{escape(href)}">{escape(model.ticket.number)}</a>')


def return_link(view, context, model, name):
    if model.return_id is None:
        return ""
    href = url_for("parts_return.details_view", id=model.return_id)
    return Markup(f'<a href="{escape(href)}">RT{model.return_id:06d}</a>')


def overdue_condition():
    """Still owed after the return cycle (policy parts.return_cycle_days), as old_parts.overdue()."""
    days = int(policy.value(db.session, "parts.return_cycle_days"))
    return and_(OldPart.state == OPS.OWED.value, OldPart.replaced_on < local_today() - timedelta(days=days))


class OldPartView(SecureModelView):
    roles = DESK
    export_roles = DESK
    list_template = "admin/old_part_list.html"
    details_template = "admin/old_part_details.html"
    column_list = ("ticket", "outlet", "part", "qty", "value", "replaced_on", "age", "state", "exemption",
                   "parts_return")
    column_labels = dict(LABELS, ticket=_l("Ticket no."), part=_l("Part"), qty=_l("Qty"), value=_l("Amount"),
                         replaced_on=_l("Replaced on"), age=_l("Days"), state=LABELS["status"],
                         exemption=_l("No return needed"), parts_return=_l("Return list"))
    column_formatters = {"ticket": ticket_link, "value": lambda v, c, m, n: f"¥{m.value:,.2f}", "age": age_badge,
                         "state": enum_formatter(OPS), "exemption": exemption_label,
                         "parts_return": return_link}
    column_sortable_list = ("replaced_on",)
    column_default_sort = [("replaced_on", False), ("id", False)]
    column_export_list = ("ticket", "outlet", "part", "qty", "value", "replaced_on", "state")
    column_formatters_export = {"ticket": lambda v, c, m, n: m.ticket.number, "state": enum_formatter(OPS),
                                "value": lambda v, c, m, n: f"{m.value:.2f}"}

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(OldPart.state, LABELS["status"],
                                lambda: [(s.value, str(label(OPS, s.value))) for s in OPS]),
            ScopedOptionsFilter(OldPart.outlet_id, LABELS["outlet"], dealer_outlet_options),
            ChoiceFilter(OldPart.replaced_on, _l("Overdue now"), {"yes": overdue_condition}, {"yes": _l("yes")}))
        super().__init__(*args, **kwargs)

    @expose("/return/", methods=("GET", "POST"))
    def return_view(self):
        """The outlet packs owed old parts into a parcel and lists them (R-PART-4)."""
        owed = db.session.scalars(select(OldPart).where(OldPart.state == OPS.OWED.value)
                                  .order_by(OldPart.outlet_id, OldPart.replaced_on, OldPart.id)).all()
        errors = {}
        if request.method == "POST":
            chosen = {parse_id(v) for v in request.form.getlist("old_part")} - {None}
            picked = [o for o in owed if o.id in chosen]
            outlets = {o.outlet_id for o in picked}
            try:
                if len(outlets) > 1:
                    raise FieldErrors({"old_parts": _l("One return list per outlet: choose parts of one outlet.")})
                parcel = old_parts.create_return(
                    db.session, outlets.pop() if outlets else None, current_user._get_current_object(), picked,
                    request.form.get("courier", ""), request.form.get("tracking_no", ""))
                db.session.commit()
                flash(_("Return list %(number)s sent.", number=str(parcel)), "success")
                return redirect(self.get_url("parts_return.details_view", id=parcel.id))
            except FieldErrors as exc:
                db.session.rollback()
                errors = exc.errors
        return self.render("admin/old_part_return_form.html", owed=owed, errors=errors, typed=request.form,
                           chosen=set(request.form.getlist("old_part")))

    @expose("/verify/", methods=("POST",))
    def verify_view(self):
        confirmed = request.form.get("confirmed") == "yes"
        return run_action(self, lambda found: old_parts.verify_scrapped(
            db.session, found, current_user._get_current_object(), confirmed, request.form.get("note", "")),
            _("Verification recorded."), "verify")

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            kwargs.update(failure=g.get("action_failure") or {}, state_label=lambda v: label(OPS, v),
                          actions=old_parts.actions(db.session, kwargs["model"], current_user._get_current_object()))
        return super().render(template, **kwargs)


def return_badge(view, context, model, name):
    css = RETURN_BADGES.get(model.status, "light")
    return Markup(f'<span class="badge badge-{css}">{escape(label(RS, model.status))}</span>')


class PartsReturnView(SecureModelView):
    roles = DESK
    export_roles = DESK
    details_template = "admin/parts_return_details.html"
    column_list = ("id", "outlet", "status", "lines", "courier", "tracking_no", "created_at", "received_at",
                   "inspected_at")
    column_labels = dict(LABELS, id=_l("Return list"), lines=_l("Lines"), courier=_l("Courier"),
                         tracking_no=_l("Tracking no."), created_at=_l("Sent"), received_at=_l("Counted"),
                         inspected_at=_l("Inspected"))
    column_formatters = {"id": lambda v, c, m, n: str(m), "status": return_badge, "created_at": time_formatter,
                         "lines": lambda v, c, m, n: len(m.old_parts),
                         "received_at": time_formatter, "inspected_at": time_formatter}
    column_default_sort = [("created_at", True), ("id", True)]
    column_export_list = ("id", "outlet", "status", "courier", "tracking_no", "created_at")
    column_formatters_export = {"id": lambda v, c, m, n: str(m), "status": enum_formatter(RS),
                                "created_at": time_formatter}

    def get_query(self):
        return super().get_query().options(selectinload(PartsReturn.old_parts))

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(PartsReturn.status, LABELS["status"],
                                lambda: [(s.value, str(label(RS, s.value))) for s in RS]),
            ScopedOptionsFilter(PartsReturn.outlet_id, LABELS["outlet"], dealer_outlet_options))
        super().__init__(*args, **kwargs)

    @expose("/receive/", methods=("POST",))
    def receive_view(self):
        def receive(found):
            counts = {o.id: _count(request.form.get(f"received-{o.id}", "")) for o in found.old_parts}
            old_parts.receive(db.session, found, current_user._get_current_object(), counts)
        return run_action(self, receive, _("Parcel counted."), "receive")

    @expose("/inspect/", methods=("POST",))
    def inspect_view(self):
        def inspect(found):
            verdicts = {o.id: request.form.get(f"verdict-{o.id}", "") for o in found.old_parts}
            notes = {o.id: request.form.get(f"note-{o.id}", "") for o in found.old_parts}
            old_parts.inspect(db.session, found, current_user._get_current_object(), verdicts, notes)
        return run_action(self, inspect, _("Inspection recorded: credits and charges are on the account."),
                          "inspect")

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            found = kwargs["model"]
            booked = outcomes(found) if found.status == RS.INSPECTED else {}
            kwargs.update(failure=g.get("action_failure") or {}, status_label=lambda v: label(RS, v),
                          state_label=lambda v: label(OPS, v), reason_label=lambda v: label(NonCreditable, v),
                          verdicts=[(old_parts.QUALITY, _("Quality failure: credit in full"))] + [
                              (v, str(t)) for v, t in choices(NonCreditable)],
                          outcomes=booked, outcome_totals={kind: sum((b.get(kind, ZERO) for b in booked.values()), ZERO)
                                                           for kind in ("credit", "charge")},
                          account_id=db.session.scalar(select(PartsAccount.id).where(
                              PartsAccount.outlet_id == found.outlet_id)),
                          actions=old_parts.actions(db.session, found, current_user._get_current_object()))
        return super().render(template, **kwargs)


def _count(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= 6 else None


def outcomes(parcel: PartsReturn) -> dict[int, dict[str, Decimal]]:
    """What the inspection booked per old part: {old_part_id: {"credit": ¥, "charge": ¥}}, read
    from the ledger entries whose source is the old part (R-PART-4, R-PART-8)."""
    sources = {str(Source.old_part(o.id, kind)): (o.id, kind) for o in parcel.old_parts for kind in OUTCOMES}
    found: dict[int, dict[str, Decimal]] = {}
    if not sources:
        return found
    for source, delta, cash in db.session.execute(select(LedgerEntry.source, LedgerEntry.delta, LedgerEntry.cash_amount)
                                                  .where(LedgerEntry.source.in_(list(sources)))):
        old_id, kind = sources[source]
        found.setdefault(old_id, {})[kind] = delta if kind == CREDIT else cash
    return found



