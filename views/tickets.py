"""Ticket list, details with timeline, registration and edit with optimistic locking."""
import io

from flask import abort, current_app, flash, g, jsonify, redirect, request, send_file
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import inspect, or_, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField

from backoffice import (
    approvals,
    attachments,
    dashboard,
    dispatching,
    notifications,
    policy,
    return_path,
    sla,
    step_data,
    ticket_search,
    warranty,
    workflow,
)
from backoffice import tickets as ticket_service
from backoffice.errors import DomainError, FieldErrors, StaleEdit
from backoffice.labels import CLOCK_STATES, PolicyLabel, choices, label
from backoffice.permissions import ADMINS, DESK, EVERYONE
from backoffice.timezones import format_local
from models import Attachment, Complaint, Part, ProductModel, Ticket, TicketEvent, Unit, User, db, utcnow
from models.choices import (
    Channel,
    Clock,
    ComplaintClass,
    FeeClaimStatus,
    IssueCategory,
    Queue,
    Role,
    ServiceMode,
    Settlement,
    Severity,
    TicketKind,
    TicketStatus,
    WarrantyExclusion,
    WarrantyWindow,
)

from . import ticket_export
from .approvals import request_form_context
from .base import ChoiceFilter, LocalDateBetweenFilter, ScopedOptionsFilter, parse_id
from .customers import OutletOwnedView, outlet_options
from .fields import (
    LABELS,
    enum_formatter,
    masked_phone_formatter,
    person_formatter,
    shortened,
    status_badge,
    time_formatter,
)
from .list_rows import details_link
from .outbox import message_rows
from .service_report import ServiceReportPages
from .ticket_filters import ProductModelFilter, fault_report_filter
from .ticket_tabs import tabs as list_tabs


def sla_badge(view, context, model, name):
    """The most urgent open clock: what a clerk scans for (R-SLA-1)."""
    now = utcnow()
    open_clocks = sla.running_clocks(model)
    if not open_clocks:
        resolved = sla.clock_of(model, Clock.RESOLVE.value)
        if resolved is None or resolved.met_at is None:
            return ""
        open_clocks = [resolved]  # a finished ticket shows whether it was resolved in time
    clock = min(open_clocks, key=lambda c: c.due_at)
    state = sla.state(clock, now, within=due_soon_within())
    return Markup(f'<span class="badge sla-badge sla-{state}" title="{escape(format_local(clock.due_at))}">'
                  f"{escape(label(Clock, clock.clock))} · {escape(CLOCK_STATES[state])}</span>")


def due_soon_within():
    """The policy's "due soon" window, read once per request (the list's badge asks on every row)."""
    return sla.hours(policy.shown("sla.due_soon_hours"))


# R-SLA-1: "breached" and "due soon" in lists, with the predicates of backoffice.sla.
SLA_CONDITIONS = {
    "overdue": lambda: sla.ticket_overdue_sql(utcnow()),
    "due_soon": lambda: sla.ticket_due_soon_sql(utcnow(), due_soon_within()),
    "breached": lambda: or_(sla.ticket_overdue_sql(utcnow()), sla.ticket_has_clock(sla.met_late_sql())),
}
SLA_LABELS = {"overdue": _l("Overdue now"),
              "due_soon": PolicyLabel(_l("Due within %(hours)s h"), hours="sla.due_soon_hours"),
              "breached": _l("Breached (ever)")}

WORK_QUEUES = {  # the rules are backoffice.dashboard's: the home page counts the same rows
    "mine": lambda: dashboard.mine_sql(current_user.id),
    "unassigned": dashboard.unassigned_sql,
    "complaints_awaiting_answer": dashboard.complaints_awaiting_answer_sql,
    "open": lambda: Ticket.status.in_(dashboard.OPEN),  # not closed: the home page's open count
    # The list's tabs (views.ticket_tabs): the desk's "mine", and the clocks paused (R-SLA-3).
    "registered_by_me": lambda: dashboard.registered_by_me_sql(current_user.id),
    "waiting_for_customer": dashboard.waiting_for_customer_sql,
}
WORK_QUEUE_LABELS = {"mine": _l("My tickets"), "unassigned": _l("Unassigned"),
                     "complaints_awaiting_answer": _l("Complaints awaiting answer"), "open": _l("Open tickets"),
                     "registered_by_me": _l("Registered by me"), "waiting_for_customer": _l("Waiting for the customer")}

# The list's fault column: this many characters on the row, the whole text on hover (issue 18).
FAULT_CHARS = 14


def number_link(view, context, model, name):
    """The ticket number, linked to the ticket's page (issue 18)."""
    return details_link(context, model.id, model.number)


def parse_amount(text):
    try:
        return step_data.PARSERS["decimal"](text), {}
    except ValueError as exc:
        return None, {"amount": exc.args[0]}


def step_form_data(step_name, form) -> dict:
    """The typed values of a step's fields; fee lines come as parallel lists."""
    data = {key: form.get(key) for key in form}
    # strict=False: a hand-made post with a line missing its amount or quantity loses that line.
    data["fees"] = list(zip(form.getlist("fee_item"), form.getlist("fee_amount"), strict=False))
    # A line without its source is on account (R-FEE-3), as before the source was asked.
    ids, sources = form.getlist("part_id"), form.getlist("part_settlement")
    sources += [""] * (len(ids) - len(sources))
    data["parts"] = list(zip(ids, form.getlist("part_qty"), sources, strict=False))
    return data


def step_choices(ticket) -> dict:
    """Option lists the step forms need, under the user's scope."""
    category = ticket.unit.product_model.category if ticket.unit else None
    options = {name: choices(enum) for name, enum in (
        ("service_mode", ServiceMode), ("severity", Severity), ("exclusion", WarrantyExclusion),
        ("complaint_class", ComplaintClass), ("window", WarrantyWindow))}
    options["settlement"] = [(Settlement.ON_ACCOUNT.value, _("From the parts account")),
                             (Settlement.PURCHASE.value, _("Bought for cash"))]  # R-FEE-3
    options["old_unit_how"] = [(value, str(text)) for value, text in return_path.OLD_UNIT_HOW.items()]
    options["engineer"] = dispatching.engineer_choices(db.session, ticket)  # R-APR-6: uncertified flagged
    if ticket.kind == TicketKind.COMPLAINT:  # R-CMP-3: whom the investigation may name
        options["staff"] = [(u.id, f"{dispatching.engineer_label(u)} · {label(Role, u.role)}")
                            for u in workflow.complaint_staff(db.session, ticket)]
    for kind in ("fault", "cause", "remedy"):
        options[kind] = [(c.id, str(c)) for c in workflow.codes(db.session, kind, category)]
    parts = select(Part.id, Part.code, Part.name).where(Part.active.is_(True)).order_by(Part.code)
    if category:
        parts = parts.where((Part.category == category) | Part.category.is_(None))
    options["part"] = [(pid, f"{code} {name}") for pid, code, name in db.session.execute(parts)]
    return options


def engineers_in_scope():
    """Active engineers the user can see: for a dealer, its own outlets' engineers."""
    return db.session.scalars(select(User).options(selectinload(User.outlet))
                              .where(User.role == Role.ENGINEER, User.active.is_(True))
                              .order_by(User.full_name)).all()


def engineer_options():  # the list filter: inactive engineers too, for their past tickets
    stmt = select(User.id, User.full_name).where(User.role == Role.ENGINEER).order_by(User.full_name)
    return db.session.execute(stmt).all()


def _enum_options(enum):
    return lambda: [(value, str(text)) for value, text in choices(enum)]


def fee_claim_of(ticket: Ticket) -> dict | None:
    """The outlet's service-fee claim for this ticket (R-FEE-2: every amount traceable to its
    ticket), if the user may see it: the row scope leaves engineers none."""
    claim = ticket.fee_claim  # loaded with the ticket, under the same scope
    if claim is None:
        return None
    total = claim.approved_total if claim.approved_total is not None else claim.claimed_total
    return {"id": claim.id, "number": claim.number, "status": label(FeeClaimStatus, claim.status),
            "total": total, "charge_back": claim.charge_back}


class TicketView(ServiceReportPages, OutletOwnedView):
    roles = EVERYONE
    create_roles = edit_roles = DESK
    delete_roles = ADMINS  # tickets are kept for statistics (R-RPT-3)
    export_roles = DESK
    details_template = "admin/ticket_details.html"

    # Issue 18: the appointment and the fault on the row, one line each (views.fields); added last,
    # so the sort links' column numbers (?sort=5: status) keep their meaning.
    column_list = ("number", "created_at", "customer", "contact_phone", "kind", "status", "sla",
                   "outlet", "assigned_engineer", "appointment_at", "fault_description")
    column_details_list = ("number", "status", "kind", "channel", "category", "customer",
                           "contact_name", "contact_phone", "address", "unit", "fault_description",
                           "occurred_at", "outlet", "assigned_engineer", "registered_by",
                           "created_at", "updated_at", "closed_at")
    column_searchable_list = ("number", "contact_phone", "customer.phone", "customer.name",
                              "unit.serial")
    # Sorted only where an index gives the order (issue 16): the outlet by its id (rows of an
    # outlet together, no join); the customer's name would sort a million joined rows per page.
    # (The outlet's id as a one-item tuple: Flask-Admin would rename a plain same-table column.)
    column_sortable_list = ("number", "created_at", "status", "kind", ("outlet", ("outlet_id",)))
    column_sort_tiebreak = ("created_at", "id")
    column_default_sort = [("created_at", True), ("id", True)]
    column_labels = {**LABELS, **ticket_export.LABELS, "appointment_at": _l("Appointment")}
    # The ticket's page shows the ticket as it is; the list masks phones (a screen many people
    # glance at: 138****8000), links the number and cuts the fault short.
    column_formatters_detail = {
        "status": status_badge(TicketStatus), "kind": enum_formatter(TicketKind),
        "channel": enum_formatter(Channel), "category": enum_formatter(IssueCategory),
        "created_at": time_formatter, "updated_at": time_formatter, "closed_at": time_formatter,
        "occurred_at": time_formatter, "appointment_at": time_formatter, "sla": sla_badge,
        "customer": lambda view, context, model, name: model.customer.name if model.customer else "",
        "assigned_engineer": person_formatter, "registered_by": person_formatter,
    }
    column_formatters = {**column_formatters_detail, "number": number_link,
                         "contact_phone": masked_phone_formatter, "fault_description": shortened(FAULT_CHARS)}
    column_export_list = ("number", "created_at", "status", "kind", "channel", "category",
                          "customer", "contact_phone", "address", "unit", "fault_description",
                          "outlet", "assigned_engineer", *ticket_export.COLUMNS)
    column_formatters_export = {"created_at": time_formatter,
                                "status": enum_formatter(TicketStatus),
                                "kind": enum_formatter(TicketKind),
                                "channel": enum_formatter(Channel),
                                "category": enum_formatter(IssueCategory),
                                **ticket_export.FORMATTERS}
    form_columns = ("customer", "unit", "kind", "channel", "category", "fault_description",
                    "occurred_at", "contact_name", "contact_phone", "address", "outlet",
                    "assigned_engineer", "loaded_version")
    form_choices = {"kind": choices(TicketKind), "channel": choices(Channel),
                    "category": choices(IssueCategory)}
    form_ajax_refs = {
        "customer": {"fields": ("phone", "name"), "page_size": 10, "placeholder": LABELS["customer"]},
        "unit": {"fields": ("serial", "invoice_no"), "page_size": 10, "placeholder": LABELS["unit"]},
    }
    form_args = {
        # The edit form narrows this to the ticket's outlet (edit_form); the server checks it again.
        "assigned_engineer": {"query_factory": engineers_in_scope,
                              "get_label": dispatching.engineer_label, "allow_blank": True, "blank_text": "—"},
        # Staff choose the outlet on purpose; dealers get theirs preselected (OutletOwnedView).
        "outlet": {"allow_blank": True, "blank_text": "—"},
    }
    form_extra_fields = {"loaded_version": HiddenField()}
    form_widget_args = {"fault_description": {"rows": 4}}

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(Ticket.status, LABELS["status"], _enum_options(TicketStatus)),
            ScopedOptionsFilter(Ticket.kind, LABELS["kind"], _enum_options(TicketKind)),
            ScopedOptionsFilter(Ticket.channel, LABELS["channel"], _enum_options(Channel)),
            ScopedOptionsFilter(Ticket.outlet_id, LABELS["outlet"], outlet_options),
            ScopedOptionsFilter(Ticket.assigned_engineer_id, LABELS["assigned_engineer"], engineer_options),
            LocalDateBetweenFilter(Ticket.created_at, LABELS["created_at"]),
            ChoiceFilter(Ticket.id, LABELS["sla"], SLA_CONDITIONS, SLA_LABELS),
            ChoiceFilter(Ticket.id, _l("Work queue"), WORK_QUEUES, WORK_QUEUE_LABELS),
            ScopedOptionsFilter(Ticket.queue, _l("Routed to"), _enum_options(Queue)),
            ProductModelFilter(), fault_report_filter(),  # the quality report's links (R-RPT-1)
        )
        super().__init__(*args, **kwargs)

    # What a row shows, in one IN query per relation: joined eager loading would join every row
    # an OFFSET skips (a deep page joined 10,000 rows three times).
    column_auto_select_related = False

    def get_query(self):
        if g.get("loading_one_ticket"):
            return self._one_ticket_query(super().get_query())
        if request.endpoint == f"{self.endpoint}.export":  # its own loads: views.ticket_export
            return super().get_query().options(*ticket_export.EAGER)
        return super().get_query().options(
            selectinload(Ticket.clocks), selectinload(Ticket.customer), selectinload(Ticket.outlet),
            selectinload(Ticket.assigned_engineer))

    def get_one(self, id):
        """One ticket with what its page shows, in a few statements (issue 16): what it refers to
        joined in, each list of rows in one IN query; the base's get_one keeps scope and 404s."""
        g.loading_one_ticket = True  # per request: the view object is shared by every thread
        try:
            return super().get_one(id)
        finally:
            g.loading_one_ticket = False

    def _one_ticket_query(self, query):
        unit = joinedload(Ticket.unit)
        return query.options(
            *(joinedload(relation) for relation in (
                Ticket.customer, Ticket.outlet, Ticket.assigned_engineer, Ticket.registered_by,
                Ticket.fault_code, Ticket.cause_code, Ticket.remedy_code, Ticket.causal_part, Ticket.repeat_of,
                Ticket.report, Ticket.mail_in, Ticket.return_handling)),
            unit.joinedload(Unit.product_model), unit.joinedload(Unit.customer),
            joinedload(Ticket.complaint).joinedload(Complaint.against_staff), joinedload(Ticket.fee_claim),
            # Lists in IN queries: joined too, they made 8 statements instead of 13 but the one
            # statement of ~25 joins cost 30 ms to plan on PostgreSQL (issue 16 measurements).
            selectinload(Ticket.clocks), selectinload(Ticket.fees), selectinload(Ticket.return_visits),
            selectinload(Ticket.attachments).joinedload(Attachment.uploaded_by), selectinload(Ticket.approvals),
            selectinload(Ticket.events).joinedload(TicketEvent.actor))

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """Phone, number, serial or name, each through its index (backoffice.ticket_search)."""
        found = ticket_search.condition(db.session, search)
        return query.filter(found), count_query, joins, count_joins

    def before_export_batch(self, models):
        ticket_export.load_units(models)

    def _export_batches(self, query, cap, export_type):
        """The CSV from plain columns, the list's query (filters, search, sort, scope) kept
        (views.ticket_export.csv_batches, issue 16); the XLSX (capped lower) as before."""
        if export_type == "csv" and not isinstance(query, list):
            names = [name for name, _title in self._export_columns]
            batches = ticket_export.csv_batches(query, names, cap, current_app.config["EXPORT_BATCH_ROWS"])
            if batches is not None:
                return batches
        return super()._export_batches(query, cap, export_type)

    def list_tabs(self):
        """The saved filters above the list, with their counts (admin/model/list.html)."""
        return list_tabs(self)

    def queue_url(self, key: str) -> str:
        """The list filtered to a work queue or SLA state, for menu links."""
        for index, flt in enumerate(self.column_filters):
            if key in getattr(flt, "_conditions", {}):
                return f"{self.url}/?flt0_{index}={key}"
        raise KeyError(key)

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if obj is not None:
            form.assigned_engineer.query_factory = lambda: dispatching.eligible_engineers(db.session, obj.outlet_id)
        if request.method == "GET" and obj is not None:
            form.loaded_version.data = obj.version_id
        return form

    def update_model(self, form, model):
        try:
            ticket_service.check_not_stale(db.session, model, form.loaded_version.data)
        except StaleEdit as exc:
            self.handle_view_exception(exc)
            return False
        return super().update_model(form, model)

    def on_model_change(self, form, model, is_created):
        if is_created:
            ticket_service.register_ticket(db.session, model, current_user._get_current_object())
            return
        ticket_service.validate_ticket(model, db.session)
        state = inspect(model)
        changed = [a.key for a in state.mapper.column_attrs if state.attrs[a.key].history.has_changes()
                   and a.key not in Ticket.__audit_exclude__]
        ticket_service.record_edit(db.session, model, current_user._get_current_object(), changed)

    @expose("/transition/<step_name>/", methods=("POST",))
    def transition_view(self, step_name):
        """One workflow step from the ticket page (R-TKT-5); the rules are in backoffice.workflow."""
        ticket = self.get_one(request.args.get("id", ""))
        try:
            workflow.refuse_other_roles(step_name, current_user)  # before the page's age is judged
            ticket_service.check_not_stale(db.session, ticket, request.form.get("loaded_version"))
            step = workflow.perform(db.session, ticket, step_name, current_user._get_current_object(),
                                    step_form_data(step_name, request.form))
            db.session.commit()
        except FieldErrors as exc:
            db.session.rollback()
            flash(_("The step was not saved: check the marked fields."), "error")
            g.step_failure = {"step": step_name, "values": request.form, "errors": exc.errors}
            return self.details_view()  # the same page, with what was typed and what is wrong
        except (DomainError, StaleDataError) as exc:
            db.session.rollback()
            self.handle_view_exception(exc)
            return redirect(self.get_url(".details_view", id=ticket.id))
        flash(_("%(step)s: done.", step=step.label), "success")
        return redirect(self.get_url(".details_view", id=ticket.id))

    @expose("/request_approval/", methods=("POST",))
    def request_approval_view(self):
        """Raise an approval request from the ticket (R-RET-4); the policy is checked first."""
        ticket = self.get_one(request.args.get("id", ""))
        form = request.form
        amount, errors = parse_amount(form.get("amount", ""))
        target = form.get("target_model_id", "")
        draft = approvals.Draft(kind=form.get("kind", ""), grounds=form.get("grounds", ""),
                                reason=form.get("reason", ""), amount=amount,
                                target_model_id=parse_id(target),
                                requested_window=form.get("requested_window") or None,
                                target_size=form.get("target_size") or None)
        try:
            approvals.require(db.session, None, current_user, "request")  # DOMAIN §1: engineers do not
            if errors:
                raise FieldErrors(errors)
            created = approvals.submit(db.session, ticket, current_user._get_current_object(), draft)
            db.session.commit()
        except FieldErrors as exc:
            db.session.rollback()
            flash(_("The request was not submitted: check the marked fields."), "error")
            g.approval_failure = {"values": form, "errors": exc.errors}
            return self.details_view()
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return redirect(self.get_url(".details_view", id=ticket.id))
        flash(_("Approval requested."), "success")
        return redirect(self.get_url("approval.details_view", id=created.id))

    @expose("/attach/", methods=("POST",))
    def attach_view(self):
        """Upload evidence to a ticket (R-TKT-8)."""
        ticket = self.get_one(request.args.get("id", ""))
        upload = request.files.get("file")
        # The phone's camera sends in place (JSON) while a step form is being filled in: a page
        # load would lose what was typed and the customer's signature (static/js/photo_resize.js).
        in_place = request.accept_mimetypes.best == "application/json"
        try:
            added = attachments.add(db.session, ticket, upload.filename if upload else "",
                                    upload.read() if upload else b"", current_user._get_current_object(),
                                    current_app.config["ATTACHMENT_MAX_BYTES"])
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            if in_place:
                return jsonify(ok=False, message=str(exc.message)), 422
            flash(str(exc.message), "error")
        else:
            if in_place:
                return jsonify(ok=True, message=_("File attached: %(name)s", name=added.filename))
            flash(_("File attached."), "success")
        return redirect(self.get_url(".details_view", id=ticket.id))

    @expose("/attachment/<int:attachment_id>")
    def attachment_view(self, attachment_id):
        found = db.session.get(Attachment, attachment_id)  # scoped through its ticket
        if found is None:
            abort(404)
        return send_file(io.BytesIO(found.data), mimetype=found.content_type, as_attachment=True,
                         download_name=found.filename)

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            ticket = kwargs["model"]
            kwargs["events"] = ticket.events
            kwargs["verdict"] = warranty.of_ticket(ticket)
            kwargs["clocks"] = [(c, label(Clock, c.clock), state)
                                for c, state in sla.states(ticket, within=due_soon_within())]
            kwargs["steps"] = workflow.available(ticket, current_user)
            kwargs["may_attach"] = attachments.may_attach(current_user)
            kwargs["step_choices"] = step_choices(ticket) if kwargs["steps"] else {}
            kwargs["step_failure"] = g.get("step_failure") or {}
            kwargs["repeat_repair"] = workflow.is_repeat_repair(ticket)
            kwargs["fee_claim"] = fee_claim_of(ticket)
            kwargs["customer_messages"] = message_rows(notifications.messages_about(db.session, ticket))  # R-NTF-1
            kwargs["customer_may_be_told"] = notifications.may_tell(ticket.customer)
            kwargs["certificate_warning"] = dispatching.certificate_warning(db.session, ticket)  # R-APR-6
            kwargs.update(request_form_context(ticket))
            kwargs["can_request_approval"] = approvals.actions(db.session, None, current_user)["request"]
            kwargs["models"] = db.session.scalars(select(ProductModel).where(ProductModel.active.is_(True))
                                                  .order_by(ProductModel.code)).all()
            kwargs["header"] = ticket_header(ticket)
            kwargs["details_columns"] = [(name, title) for name, title in kwargs.get("details_columns", [])
                                         if name not in IN_HEADER]  # said once, at the top
        return super().render(template, **kwargs)


# --- the ticket page's header (issue 18) -------------------------------------------------------
# The fields the header shows: the table of the other fields below it leaves them out.
IN_HEADER = frozenset({"number", "status", "kind", "customer", "contact_name", "contact_phone", "address",
                       "unit", "fault_description", "outlet", "assigned_engineer"})
MAP_SEARCH = "https://uri.amap.com/search"  # AMap's public search page: no key; a phone opens its app


def ticket_header(ticket, now=None) -> dict:
    """What the header shows beyond the ticket's columns: each number to call, the address with
    its map link, the appointment and the next deadline, in the serving outlet's time zone."""
    from backoffice.timezones import zone_of

    address = visit_address(ticket)
    zone = zone_of(ticket.outlet)
    return {"phones": [(phone, tel_href(phone)) for phone in call_numbers(ticket)], "address": address,
            "map_url": map_href(address),
            "appointment": outlet_time(ticket.appointment_at, zone),
            "deadline": next_deadline(ticket, now or utcnow(), zone)}


def call_numbers(ticket) -> list[str]:
    """The numbers to call for a ticket, the contact's first, each once."""
    customer = ticket.customer
    numbers = (ticket.contact_phone, customer.phone, customer.phone2) if customer else (ticket.contact_phone,)
    return [phone for phone in dict.fromkeys((n or "").strip() for n in numbers) if phone]


def visit_address(ticket) -> str:
    """Where to go: the ticket's address, else the customer's."""
    return ticket.address or (ticket.customer.address if ticket.customer else "")


def map_href(address: str | None) -> str:
    """The address searched on the map (MAP_SEARCH): the ticket page's header and the engineer's
    appointments on his home page link it; "" for no address."""
    from urllib.parse import urlencode

    return f"{MAP_SEARCH}?{urlencode({'keyword': address})}" if address else ""


def outlet_time(value, zone) -> str:
    """A time in the serving outlet's zone, named when it is not the service's own."""
    from backoffice.timezones import service_zone

    shown = format_local(value, zone)
    return f"{shown} ({zone.key})" if shown and zone.key != service_zone().key else shown


def tel_href(phone: str) -> str:
    """tel:13800001234 from "138 0000 1234"; tel:02086001234 from "020-8600 1234 转 8" (an extension
    is dialled by hand)."""
    import re

    dialled = re.match(r"[\d\s()+-]*", phone).group(0)
    return "tel:" + re.sub(r"[^\d+]", "", dialled)


def next_deadline(ticket, now, zone) -> dict | None:
    """The ticking clock that runs out first (R-SLA-1), or that the clocks are paused while the
    customer is waited for (R-SLA-3); none once the ticket is resolved."""
    running = sla.running_clocks(ticket)
    ticking = [c for c in running if c.paused_since is None]
    if not ticking:
        return {"clock": label(Clock, running[0].clock), "state": "paused"} if running else None
    clock = min(ticking, key=lambda c: c.due_at)
    return {"clock": label(Clock, clock.clock), "state": sla.state(clock, now, within=due_soon_within()),
            "due_at": clock.due_at.isoformat(timespec="seconds"), "due_local": outlet_time(clock.due_at, zone),
            "soon_seconds": int(due_soon_within().total_seconds()),
            "text": countdown_text(clock.due_at - now), "phrases": countdown_phrases("{h}", "{m}")}


def countdown_phrases(hours, minutes, days="{d}") -> dict:
    """The countdown's six wordings; static/js/ticket_page.js fills in {d}, {h} and {m}."""
    return {"in-dh": _("in %(days)s d %(hours)s h", days=days, hours=hours),
            "in-hm": _("in %(hours)s h %(minutes)s min", hours=hours, minutes=minutes),
            "in-m": _("in %(minutes)s min", minutes=minutes),
            "over-dh": _("overdue %(days)s d %(hours)s h", days=days, hours=hours),
            "over-hm": _("overdue %(hours)s h %(minutes)s min", hours=hours, minutes=minutes),
            "over-m": _("overdue %(minutes)s min", minutes=minutes)}


# From two days on, a countdown counts days and hours: "overdue 1334 h" is not read at a glance.
DAYS_FROM_HOURS = 48


def countdown_text(left) -> str:
    """"in 2 h 05 min", "overdue 35 min" or "overdue 55 d 14 h": whole minutes, as the page's
    script counts them."""
    hours, minutes = divmod(int(abs(left.total_seconds()) // 60), 60)
    key = "over" if left.total_seconds() < 0 else "in"
    if hours >= DAYS_FROM_HOURS:
        days, hours = divmod(hours, 24)
        return countdown_phrases(hours, minutes, days)[key + "-dh"]
    return countdown_phrases(hours, f"{minutes:02d}" if hours else minutes)[key + ("-hm" if hours else "-m")]
