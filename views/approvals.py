"""Approval requests: raised from the ticket page, decided by managers (R-RET-4, R-ROLE-2)."""
from flask import flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from backoffice import approvals, network_approvals, policy
from backoffice.errors import DomainError, FieldErrors
from backoffice.labels import choices, label
from backoffice.permissions import DESK, EVERYONE
from backoffice.timezones import format_local
from models import ApprovalRequest, PartsAccount, db
from models.choices import ApprovalGrounds, ApprovalKind, ApprovalStatus, Settlement, WarrantyWindow

from .base import ChoiceFilter, ScopedOptionsFilter, SecureModelView
from .customers import outlet_options
from .fields import LABELS, days_since, enum_formatter, money_formatter, staff_name, time_formatter, waiting_badge

# Rows of the details page that only a ticket's request fills in.
TICKET_ONLY = ("purchase_price", "warranty_window", "target_model", "target_size", "stock_outlet",
               "requested_window")
SUBJECT_PAGES = (("ticket_id", "ticket.details_view"), ("parts_request_id", "parts_request.details_view"),
                 ("fee_claim_id", "fee_claim.details_view"), ("parts_account_id", "parts_account.details_view"))


def subject_link(view, context, model, name):
    """The ticket, parts request or fee claim the request is about, linked to its page."""
    for column, endpoint in SUBJECT_PAGES:
        if getattr(model, column) is not None:
            href = url_for(endpoint, id=getattr(model, column))
            return Markup(f'<a href="{escape(href)}">{escape(model.subject_number)}</a>')
    return ""


def amount_formatter(view, context, model, name):
    """The money a request moves; an extra parts batch moves none (R-PART-3)."""
    if model.kind == ApprovalKind.PARTS_EXTRA_BATCH:
        return "—"
    return money_formatter(view, context, model, name)


def status_formatter(view, context, model, name):
    css = {"pending": "warning", "info_requested": "info", "approved": "success", "rejected": "secondary",
           "withdrawn": "secondary"}
    text = label(ApprovalStatus, model.status)
    if model.status == ApprovalStatus.PENDING and model.first_approver_id:
        text += " · " + _("1 of 2 approvals")
    return Markup(f'<span class="badge badge-{css[model.status]}">{escape(text)}</span>')


def age_formatter(view, context, model, name):
    """How long the request has waited, and whether its decision is overdue."""
    if model.status not in (ApprovalStatus.PENDING, ApprovalStatus.INFO_REQUESTED):
        return format_local(model.decided_at)
    days = days_since(model.created_at)  # in days, as every list's waiting time (issue 18)
    limit = policy.value(db.session, "approvals.decide_within_hours")
    return waiting_badge(days, late=days * 24 >= limit)


def _enum_options(enum):
    return lambda: [(value, str(text)) for value, text in choices(enum)]


AWAITING = {"mine_to_decide": lambda: ApprovalRequest.status == ApprovalStatus.PENDING.value,
            "mine": lambda: ApprovalRequest.requested_by_id == current_user.id}
AWAITING_LABELS = {"mine_to_decide": _l("Waiting for a decision"), "mine": _l("Requested by me")}


class ApprovalView(SecureModelView):
    roles = EVERYONE
    export_roles = DESK
    details_template = "admin/approval_details.html"
    column_list = ("id", "created_at", "subject", "kind", "grounds", "amount", "outlet", "requested_by",
                   "status", "age")
    column_details_list = ("id", "subject", "kind", "grounds", "amount", "purchase_price", "warranty_window",
                           "target_model", "target_size", "stock_outlet", "requested_window", "reason", "outlet",
                           "requested_by", "created_at", "status", "first_approver", "decided_by",
                           "decided_at", "decision_note")
    column_labels = dict(LABELS, id=_l("No."), kind=_l("Request"), subject=_l("Concerns"), grounds=_l("Grounds"),
                         amount=_l("Amount"), age=_l("Waiting"), requested_by=_l("Requested by"),
                         purchase_price=_l("Purchase price"),
                         warranty_window=_l("Warranty window"), target_model=_l("Exchange for"), target_size=_l("Size"),
                         stock_outlet=_l("From stock of"), requested_window=_l("Verdict requested"),
                         reason=_l("Reason"), first_approver=_l("First approval"),
                         decided_by=_l("Decided by"), decided_at=_l("Decided"), decision_note=_l("Decision"))
    column_formatters = {"subject": subject_link, "kind": enum_formatter(ApprovalKind),
                         "grounds": enum_formatter(ApprovalGrounds), "amount": amount_formatter,
                         "purchase_price": money_formatter, "status": status_formatter,
                         "warranty_window": enum_formatter(WarrantyWindow),
                         "requested_window": enum_formatter(WarrantyWindow),
                         "age": age_formatter, "created_at": time_formatter, "decided_at": time_formatter}
    column_sortable_list = ("id", "created_at", "amount", "status")
    column_default_sort = [("created_at", True), ("id", True)]
    column_export_list = ("id", "created_at", "subject", "kind", "grounds", "amount", "outlet",
                          "requested_by", "status", "decided_at", "decision_note")
    column_formatters_export = {"subject": lambda v, c, m, n: m.subject_number, "kind": enum_formatter(ApprovalKind),
                                "grounds": enum_formatter(ApprovalGrounds), "created_at": time_formatter,
                                "decided_at": time_formatter,
                                "status": enum_formatter(ApprovalStatus)}

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(ApprovalRequest.status, LABELS["status"], _enum_options(ApprovalStatus)),
            ScopedOptionsFilter(ApprovalRequest.kind, LABELS["kind"], _enum_options(ApprovalKind)),
            ScopedOptionsFilter(ApprovalRequest.outlet_id, LABELS["outlet"], outlet_options),
            ChoiceFilter(ApprovalRequest.id, _l("Queue"), AWAITING, AWAITING_LABELS),
        )
        super().__init__(*args, **kwargs)

    def queue_url(self, key):
        index = next(i for i, flt in enumerate(self.column_filters) if key in getattr(flt, "_conditions", {}))
        return f"{self.url}/?flt0_{index}={key}"

    def get_query(self):
        # outlet and requested_by are joined by Flask-Admin itself (they are list columns)
        return super().get_query().options(*(selectinload(getattr(ApprovalRequest, name)) for name in (
            "ticket", "parts_request", "fee_claim")), selectinload(ApprovalRequest.parts_account).joinedload(
                PartsAccount.outlet))

    @expose("/decide/", methods=("POST",))
    def decide_view(self):
        found = self.get_one(request.args.get("id", ""))
        back = self.get_url(".details_view", id=found.id)
        decision = request.form.get("decision", "")
        try:
            if decision != "answer_info":  # who may never decide it is told why, stale page or not
                approvals.check_decider(found, current_user._get_current_object(), decision)
            if str(found.version_id) != request.form.get("loaded_version"):
                raise StaleDataError()
            if decision == "answer_info":
                approvals.answer_info(db.session, found, current_user._get_current_object(),
                                      request.form.get("note", ""))
            else:
                approvals.decide(db.session, found, current_user._get_current_object(), decision,
                                 request.form.get("note", ""))
            db.session.commit()
        except FieldErrors as exc:
            db.session.rollback()
            flash("; ".join(str(m) for m in exc.errors.values()), "error")
            return redirect(back)
        except (DomainError, StaleDataError) as exc:
            db.session.rollback()
            if isinstance(exc, StaleDataError):
                flash(_("Someone decided this request meanwhile; here is its current state."), "error")
            else:
                self.handle_view_exception(exc)
            return redirect(back)
        flash(_("Decision recorded."), "success")
        return redirect(back)

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            found = kwargs["model"]
            kwargs["actions"] = approvals.actions(db.session, found, current_user)
            if network_approvals.is_network(found):  # no ticket: the ticket-only rows would stay empty
                kwargs["details_columns"] = [(name, title) for name, title in kwargs.get("details_columns", [])
                                             if name not in TICKET_ONLY]
            kwargs.update(network_approvals.figures(db.session, found),
                          settlement_label=lambda value: label(Settlement, value),
                          history=[(event, staff_name(event.actor, event.actor_id)) for event in found.events])
        return super().render(template, **kwargs)


def request_form_context(ticket):
    """What the ticket page needs for its 'request approval' form: the ticket kinds only."""
    ticket_kinds = {kind.value for kind in approvals.GROUNDS}
    ticket_grounds = {grounds.value for kinds in approvals.GROUNDS.values() for grounds in kinds}
    ticket_grounds.add(ApprovalGrounds.INJURY.value)  # offered, to be told it goes to legal handling
    return {"approval_prefill": approvals.prefill(ticket),
            "approval_kinds": [(v, t) for v, t in choices(ApprovalKind) if v in ticket_kinds],
            "approval_grounds": [(v, t) for v, t in choices(ApprovalGrounds) if v in ticket_grounds],
            "approval_failure": g.get("approval_failure") or {}}
