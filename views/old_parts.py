"""Old parts owed from warranty repairs, their return applications and the return lists that bring
them back (R-PART-4…6, R-PART-9)."""
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
from backoffice.permissions import DESK, why_not
from backoffice.timezones import local_today
from models import LedgerEntry, OldPart, PartsAccount, PartsReturn, db
from models.choices import NonCreditable, OldPartDisposal, OldPartState, PartsReturnStatus

from .actions import run_action
from .base import ChoiceFilter, ScopedOptionsFilter, SecureModelView, parse_id
from .fields import LABELS, enum_formatter, time_formatter, waiting_badge
from .parts_accounts import dealer_outlet_options

OPS, RS = OldPartState, PartsReturnStatus
RETURN_BADGES = {"requested": "secondary", "authorised": "primary", "shipped": "warning", "received": "info",
                 "inspected": "success", "refused": "danger", "withdrawn": "light"}
# The statuses in the order an application walks them (filters list them so).
RETURN_STEPS = (RS.REQUESTED, RS.AUTHORISED, RS.SHIPPED, RS.RECEIVED, RS.INSPECTED, RS.REFUSED, RS.WITHDRAWN)
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
    return waiting_badge(days, late)  # "12 天": the unit said, as every list's waiting time


def ticket_link(view, context, model, name):
    href = url_for("ticket.details_view", id=model.ticket_id)
    return Markup(f'<a href="{escape(href)}">{escape(model.ticket.number)}</a>')


def return_link(view, context, model, name):
    if model.return_id is None:
        return ""
    href = url_for("parts_return.details_view", id=model.return_id)
    return Markup(f'<a href="{escape(href)}">RT{model.return_id:06d}</a>')


def returned_badge(view, context, model, name):
    """The day the part was shipped back; flagged when after the return cycle (R-PART-9)."""
    if model.returned_on is None:
        return ""
    late = (f' <span class="badge badge-danger" data-testid="late-{model.id}">{escape(_("Late"))}</span>'
            if model.returned_late else "")
    return Markup(f"{model.returned_on.isoformat()}{late}")


def overdue_condition():
    """Still owed after the return cycle (policy parts.return_cycle_days), as old_parts.overdue()."""
    days = int(policy.value(db.session, "parts.return_cycle_days"))
    return and_(OldPart.state == OPS.OWED.value, OldPart.replaced_on < local_today() - timedelta(days=days))


class OldPartView(SecureModelView):
    roles = DESK
    export_roles = DESK
    list_template = "admin/old_part_list.html"
    details_template = "admin/old_part_details.html"
    column_list = ("tag", "ticket", "outlet", "part", "qty", "value", "replaced_on", "age", "state", "exemption",
                   "parts_return", "returned_on")
    column_labels = dict(LABELS, tag=_l("Tag no."), ticket=_l("Ticket no."), part=_l("Part"), qty=_l("Qty"),
                         value=_l("Amount"), replaced_on=_l("Replaced on"), age=_l("Days"), state=LABELS["status"],
                         exemption=_l("No return needed"), parts_return=_l("Return list"),
                         returned_on=_l("Shipped back"))
    column_formatters = {"ticket": ticket_link, "value": lambda v, c, m, n: f"¥{m.value:,.2f}", "age": age_badge,
                         "state": enum_formatter(OPS), "exemption": exemption_label,
                         "parts_return": return_link, "returned_on": returned_badge,
                         "disposal": enum_formatter(OldPartDisposal), "non_creditable": enum_formatter(NonCreditable)}
    column_searchable_list = ("tag",)
    column_sortable_list = ("replaced_on", "tag")
    column_default_sort = [("replaced_on", False), ("id", False)]
    column_export_list = ("tag", "ticket", "outlet", "part", "qty", "value", "replaced_on", "state", "returned_on",
                          "returned_late")
    column_formatters_export = {"ticket": lambda v, c, m, n: m.ticket.number, "state": enum_formatter(OPS),
                                "value": lambda v, c, m, n: f"{m.value:.2f}",
                                "returned_late": lambda v, c, m, n: _("yes") if m.returned_late else ""}

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(OldPart.state, LABELS["status"],
                                lambda: [(s.value, str(label(OPS, s.value))) for s in OPS]),
            ScopedOptionsFilter(OldPart.outlet_id, LABELS["outlet"], dealer_outlet_options),
            ChoiceFilter(OldPart.replaced_on, _l("Overdue now"), {"yes": overdue_condition}, {"yes": _l("yes")}),
            ChoiceFilter(OldPart.returned_late, _l("Returned late"), {"yes": lambda: OldPart.returned_late.is_(True)},
                         {"yes": _l("yes")}))
        super().__init__(*args, **kwargs)

    @expose("/return/", methods=("GET", "POST"))
    def return_view(self):
        """The outlet's return application (退货申请, R-PART-9): owed old parts it wants to send,
        on no other application. The center may file an outlet's faxed application for it."""
        user = current_user._get_current_object()
        if not old_parts.actions(db.session, None, user)["apply"]:
            return self._refuse()
        owed = db.session.scalars(select(OldPart).where(OldPart.state == OPS.OWED.value, OldPart.return_id.is_(None))
                                  .order_by(OldPart.outlet_id, OldPart.replaced_on, OldPart.id)).all()
        errors = {}
        if request.method == "POST":
            chosen = {parse_id(v) for v in request.form.getlist("old_part")} - {None}
            picked = [o for o in owed if o.id in chosen]
            outlets = {o.outlet_id for o in picked}
            try:
                if len(outlets) > 1:
                    raise FieldErrors({"old_parts": _l("One return list per outlet: choose parts of one outlet.")})
                parcel = old_parts.apply(db.session, outlets.pop() if outlets else None, user, picked,
                                         request.form.get("note", ""))
                db.session.commit()
                flash(_("Return application %(number)s sent: the service center authorises it before the "
                        "parcel ships.", number=str(parcel)), "success")
                return redirect(self.get_url("parts_return.details_view", id=parcel.id))
            except FieldErrors as exc:
                db.session.rollback()
                errors = exc.errors
        return self.render("admin/old_part_return_form.html", owed=owed, errors=errors, typed=request.form,
                           chosen=set(request.form.getlist("old_part")))

    @expose("/dispose/", methods=("POST",))
    def dispose_view(self):
        """R-PART-9: the center sends a non-creditable part back (courier, tracking no.) or scraps it."""
        return run_action(self, lambda found: old_parts.dispose(
            db.session, found, current_user._get_current_object(), request.form.get("courier", ""),
            request.form.get("tracking_no", "")), _("Recorded."), "dispose")

    @expose("/verify/", methods=("POST",))
    def verify_view(self):
        confirmed = request.form.get("confirmed") == "yes"
        return run_action(self, lambda found: old_parts.verify_scrapped(
            db.session, found, current_user._get_current_object(), confirmed, request.form.get("note", "")),
            _("Verification recorded."), "verify")

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            found = kwargs["model"]
            verdicts = old_parts.actions(db.session, found, current_user._get_current_object())
            kwargs.update(failure=g.get("action_failure") or {}, state_label=lambda v: label(OPS, v),
                          reason_label=lambda v: label(NonCreditable, v),
                          disposal_label=lambda v: label(OldPartDisposal, v),
                          awaits_choice=old_parts.awaits_choice(found), actions=verdicts, why_not=why_not(verdicts))
        return super().render(template, **kwargs)


def return_badge(view, context, model, name):
    css = RETURN_BADGES.get(model.status, "light")
    return Markup(f'<span class="badge badge-{css}">{escape(label(RS, model.status))}</span>')


class PartsReturnView(SecureModelView):
    roles = DESK
    export_roles = DESK
    details_template = "admin/parts_return_details.html"
    column_list = ("id", "outlet", "status", "lines", "created_at", "decided_at", "courier", "tracking_no",
                   "shipped_at", "received_at", "freight", "inspected_at")
    column_labels = dict(LABELS, id=_l("Return list"), lines=_l("Lines"), courier=_l("Courier"),
                         tracking_no=_l("Tracking no."), created_at=_l("Applied"), decided_at=_l("Decided"),
                         shipped_at=_l("Sent"), received_at=_l("Counted"), freight=_l("Freight"),
                         inspected_at=_l("Inspected"))
    column_formatters = {"id": lambda v, c, m, n: str(m), "status": return_badge, "created_at": time_formatter,
                         "lines": lambda v, c, m, n: len(m.old_parts), "decided_at": time_formatter,
                         "shipped_at": time_formatter, "received_at": time_formatter, "inspected_at": time_formatter,
                         "freight": lambda v, c, m, n: "" if m.freight is None else f"¥{m.freight:,.2f}"}
    column_default_sort = [("created_at", True), ("id", True)]
    column_export_list = ("id", "outlet", "status", "courier", "tracking_no", "created_at", "shipped_at", "freight")
    column_formatters_export = {"id": lambda v, c, m, n: str(m), "status": enum_formatter(RS),
                                "created_at": time_formatter, "shipped_at": time_formatter,
                                "freight": lambda v, c, m, n: "" if m.freight is None else f"{m.freight:.2f}"}

    def get_query(self):
        return super().get_query().options(selectinload(PartsReturn.old_parts))

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(PartsReturn.status, LABELS["status"],
                                lambda: [(s.value, str(label(RS, s.value))) for s in RETURN_STEPS]),
            ScopedOptionsFilter(PartsReturn.outlet_id, LABELS["outlet"], dealer_outlet_options))
        super().__init__(*args, **kwargs)

    @expose("/authorise/", methods=("POST",))
    def authorise_view(self):
        """R-PART-9 (核准): the center authorises the list; ticked lines are struck, each with a reason."""
        def authorise(found):
            struck = {o.id: request.form.get(f"strike_reason-{o.id}", "") for o in found.old_parts
                      if request.form.get(f"strike-{o.id}") == "yes"}
            old_parts.authorise(db.session, found, current_user._get_current_object(), struck)
        return run_action(self, authorise, _("Return authorised: the outlet may ship the parcel."), "authorise")

    @expose("/refuse/", methods=("POST",))
    def refuse_view(self):
        return run_action(self, lambda found: old_parts.refuse_application(
            db.session, found, current_user._get_current_object(), request.form.get("refusal_reason", "")),
            _("Return application refused."), "refuse")

    @expose("/withdraw/", methods=("POST",))
    def withdraw_view(self):
        return run_action(self, lambda found: old_parts.withdraw(
            db.session, found, current_user._get_current_object()), _("Return application withdrawn."), "withdraw")

    @expose("/ship/", methods=("POST",))
    def ship_view(self):
        return run_action(self, lambda found: old_parts.ship(
            db.session, found, current_user._get_current_object(), request.form.get("courier", ""),
            request.form.get("tracking_no", "")), _("Parcel shipped."), "ship")

    @expose("/print/")
    def print_view(self):
        """The printable return list that travels with the parcel: tags, parts, quantities."""
        found = self.get_one(request.args.get("id", ""))
        if not old_parts.actions(db.session, found, current_user._get_current_object())["print"]:
            flash(_("The return list is printed once the service center has authorised the application."), "error")
            return redirect(self.get_url(".details_view", id=found.id))
        return self.render("admin/parts_return_print.html", model=found, status_label=lambda v: label(RS, v))

    @expose("/receive/", methods=("POST",))
    def receive_view(self):
        def receive(found):
            counts = {o.id: _count(request.form.get(f"received-{o.id}", "")) for o in found.old_parts}
            old_parts.receive(db.session, found, current_user._get_current_object(), counts,
                              request.form.get("freight", ""))
        return run_action(self, receive, _("Parcel counted."), "receive")

    @expose("/inspect/", methods=("POST",))
    def inspect_view(self):
        def inspect(found):
            verdicts = {o.id: request.form.get(f"verdict-{o.id}", "") for o in found.old_parts}
            notes = {o.id: request.form.get(f"note-{o.id}", "") for o in found.old_parts}
            old_parts.inspect(db.session, found, current_user._get_current_object(), verdicts, notes)
        return run_action(self, inspect, _("Inspection recorded: credits and charges are on the account."),
                          "inspect")

    @expose("/choose/", methods=("POST",))
    def choose_view(self):
        """R-PART-9: the outlet chooses, per non-creditable part, send back or scrap."""
        def choose(found):
            chosen = {o.id: request.form.get(f"disposal-{o.id}", "") for o in found.old_parts}
            old_parts.choose_disposal(db.session, found, current_user._get_current_object(), chosen)
        return run_action(self, choose, _("Choice recorded: the service center sends back or scraps the parts."),
                          "choose")

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            found = kwargs["model"]
            user = current_user._get_current_object()
            booked = outcomes(found) if found.status == RS.INSPECTED else {}
            verdicts = old_parts.actions(db.session, found, user)
            kwargs.update(failure=g.get("action_failure") or {}, status_label=lambda v: label(RS, v),
                          state_label=lambda v: label(OPS, v), reason_label=lambda v: label(NonCreditable, v),
                          disposal_label=lambda v: label(OldPartDisposal, v), disposals=choices(OldPartDisposal),
                          verdicts=[(old_parts.QUALITY, _("Quality failure: credit in full"))] + [
                              (v, str(t)) for v, t in choices(NonCreditable)],
                          listed=listed_lines(found), awaits_choice=old_parts.awaits_choice,
                          part_actions={o.id: old_parts.actions(db.session, o, user) for o in found.old_parts},
                          outcomes=booked, outcome_totals={kind: sum((b.get(kind, ZERO) for b in booked.values()), ZERO)
                                                           for kind in ("credit", "charge")},
                          account_id=db.session.scalar(select(PartsAccount.id).where(
                              PartsAccount.outlet_id == found.outlet_id)),
                          actions=verdicts, why_not=why_not(verdicts))
        return super().render(template, **kwargs)


def listed_lines(parcel: PartsReturn) -> list[tuple[object, OldPart]]:
    """Every line the application listed, with its old part: struck lines kept (with the reason),
    parts of a return made before applications existed included."""
    rows = [(line, line.old_part) for line in parcel.lines]
    seen = {old.id for _, old in rows}
    return rows + [(None, old) for old in parcel.old_parts if old.id not in seen]


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



