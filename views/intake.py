"""The clerk's phone intake: type the caller's phone, see who they are, register the fault,
hand out the receipt (R-TKT-1, R-TKT-2). Rules live in backoffice.intake."""
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from backoffice import intake, notifications, qr, sla, warranty
from backoffice.errors import FieldErrors
from backoffice.labels import choices, label
from backoffice.permissions import DESK
from backoffice.timezones import local_to_utc, zone_of
from models import Outlet, ProductModel, Ticket, db
from models.choices import Area, Channel, Clock, IssueCategory, PurchaseChannel, TicketKind, TicketStatus

from .base import RolePage, parse_id

# Error keys shown next to a field of the intake form; others are flashed on top.
FORM_KEYS = {"customer.phone", "customer.name", "customer.area", "customer_id", "unit_id", "unit.model_code",
             "unit.serial", "unit.invoice_date", "unit.price", "unit.purchase_channel", "unit.size", "kind",
             "category", "channel", "fault", "occurred_at", "outlet_id", "name_choice"}
UNIT_KEYS = ("model_code", "serial", "invoice_no", "invoice_date", "price", "purchase_channel", "size")


def _report_from(form) -> intake.Report:
    def number(key):
        return parse_id(form.get(key, ""))  # "²" or 25 digits: no such record

    occurred = form.get("occurred_at", "").strip()
    report = intake.Report(
        kind=form.get("kind", ""), category=form.get("category", ""), channel=form.get("channel", ""),
        fault=form.get("fault", ""), customer_id=number("customer_id"), unit_id=number("unit_id"),
        outlet_id=number("outlet_id"), name_choice=form.get("name_choice") or None,
        consent=form.get("consent") == "y",  # PIPL: the clerk asked and the caller agreed (R-NTF-1)
        customer={key: form.get(f"customer.{key}", "") for key in ("name", "phone", "address", "area", "region")},
        unit={key: form.get(f"unit.{key}", "") for key in UNIT_KEYS},
    )
    if occurred:
        try:
            report.occurred_at = local_to_utc(datetime.fromisoformat(occurred))
        except (ValueError, OverflowError):  # 0001-01-01T00:00 local is before year 1 in UTC
            raise FieldErrors({"occurred_at": _l("Not a date and time.")}) from None
    if not any(report.unit.values()):
        report.unit = {}
    return report


class IntakeView(RolePage):
    roles = DESK

    def _options(self):
        outlets = db.session.scalars(select(Outlet).where(Outlet.active.is_(True)).order_by(Outlet.code)).all()
        models = db.session.scalars(select(ProductModel).where(ProductModel.active.is_(True))
                                    .order_by(ProductModel.code)).all()
        return {"outlets": outlets, "models": models, "kinds": choices(TicketKind),
                "categories": choices(IssueCategory), "channels": choices(Channel), "areas": choices(Area),
                "purchase_channels": choices(PurchaseChannel)}

    @expose("/", methods=("GET", "POST"))
    def index(self):
        phone = (request.values.get("phone") or request.form.get("customer.phone") or "").strip()
        typed, errors = request.form, {}
        if request.method == "POST":
            try:
                ticket = intake.register_report(db.session, _report_from(request.form),
                                                current_user._get_current_object())
                db.session.commit()
                return redirect(url_for(".receipt", ticket_id=ticket.id))
            except FieldErrors as exc:
                db.session.rollback()
                errors = exc.errors
                for message in (m for key, m in errors.items() if key not in FORM_KEYS):
                    flash(str(message), "error")
        return self._page(phone, typed, errors)

    def _page(self, phone, typed, errors):
        lookup = intake.lookup_phone(db.session, phone)
        # A dealer serves its own callers; a single known caller is served where they were before.
        known = lookup.customers[0].outlet_id if len(lookup.customers) == 1 else None
        default_outlet = current_user.outlet_id or known
        return self.render("admin/intake.html", phone=phone, lookup=lookup, typed=typed, errors=errors,
                           default_outlet=default_outlet, open_tickets=intake.open_tickets,
                           status_label=lambda v: label(TicketStatus, v), may_tell=notifications.may_tell,
                           **self._options())

    @expose("/add/<int:ticket_id>", methods=("POST",))
    def add_to_ticket(self, ticket_id):
        """The caller has an open ticket: what they say now goes on it, not on a duplicate."""
        ticket = db.session.get(Ticket, ticket_id)  # scoped: another outlet's ticket is None
        if ticket is None:
            abort(404)
        try:
            intake.add_to_ticket(db.session, ticket, _report_from(request.form), current_user._get_current_object())
            db.session.commit()
        except FieldErrors as exc:
            db.session.rollback()
            phone = (request.form.get("customer.phone") or "").strip()
            return self._page(phone, request.form, exc.errors)
        flash(_("Added to ticket %(number)s.", number=ticket.number), "success")
        return redirect(url_for("ticket.details_view", id=ticket.id))

    @expose("/lookup")
    def lookup(self):
        """The caller panel only, fetched while the clerk types the phone."""
        lookup = intake.lookup_phone(db.session, request.args.get("phone", ""))
        return render_template("admin/intake_callers.html", lookup=lookup, open_tickets=intake.open_tickets,
                               status_label=lambda v: label(TicketStatus, v), typed={},
                               may_tell=notifications.may_tell)

    @expose("/receipt/<int:ticket_id>")
    def receipt(self, ticket_id):
        ticket = db.session.get(Ticket, ticket_id)  # scoped: another outlet's ticket is None
        if ticket is None:
            abort(404)
        response = sla.clock_of(ticket, Clock.RESPONSE.value)
        zone = zone_of(ticket.outlet)
        link = notifications.tracking_link(ticket)  # the ticket's token is made on its first link
        db.session.commit()
        return self.render("admin/receipt.html", ticket=ticket, response=response, zone=zone,
                           verdict=warranty.of_ticket(ticket), kind_label=label(TicketKind, ticket.kind),
                           link=link, qr=qr.svg(link, title=_("Tracking link")))
