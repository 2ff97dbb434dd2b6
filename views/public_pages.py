"""Public doors for customers, no sign-in: report a fault (/report) and track it (/track), and
the customer's own link from their messages (/t/<token>) with the return-visit survey and a
button that stops the service messages.

The forms are rate-limited per client in the database; the report form has a honeypot against
bots. Registration goes through backoffice.intake like every other channel (R-TKT-1/2). The
tracking link carries the ticket's random token (backoffice.notifications.tracking_token): an
unknown, forged or mangled one is "not found".
"""
from datetime import timedelta
from functools import wraps

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from backoffice import intake, notifications, rate_limit, return_visits, sla, warranty
from backoffice.access import SYSTEM, set_scope
from backoffice.errors import FieldErrors
from backoffice.labels import choices, label
from backoffice.timezones import format_local, zone_of
from models import Outlet, ProductModel, Ticket, db
from models.choices import Area, Channel, Clock, TicketKind, TicketStatus

bp = Blueprint("public", __name__)

PUBLIC_KINDS = (TicketKind.REPAIR, TicketKind.INSTALLATION, TicketKind.CONSULTATION, TicketKind.COMPLAINT)
# Form field -> path used by backoffice.intake's field errors.
FIELD_PATHS = {"name": "customer.name", "phone": "customer.phone", "area": "customer.area",
               "model_code": "unit.model_code", "serial": "unit.serial", "invoice_date": "unit.invoice_date",
               "outlet_code": "unit.outlet_code", "kind": "kind", "fault": "fault"}


class ReportForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=60)])
    phone = StringField(_l("Mobile phone"), validators=[DataRequired(), Length(max=30)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=255)])
    area = SelectField(_l("Urban / suburban"), choices=[])
    model_code = SelectField(_l("Product model"), choices=[])
    serial = StringField(_l("Serial no. (on the nameplate)"), validators=[DataRequired(), Length(max=60)])
    invoice_date = DateField(_l("Invoice date"), validators=[Optional()])
    outlet_code = SelectField(_l("Where you bought it"), choices=[])
    kind = SelectField(_l("What do you need"), choices=[])
    fault = TextAreaField(_l("What happened"), validators=[DataRequired(), Length(max=intake.MAX_FAULT)])
    # PIPL (R-NTF-1): asked, never assumed; the notice under it says what the number is used for.
    consent = BooleanField(_l("Send me messages about this service (SMS/WeChat/e-mail)"))
    website = StringField("Website")  # honeypot: hidden by CSS, people leave it empty

    def fill_choices(self) -> None:
        self.area.choices = choices(Area)
        self.kind.choices = [(k.value, label(TicketKind, k.value)) for k in PUBLIC_KINDS]
        models = db.session.scalars(select(ProductModel).where(ProductModel.active.is_(True))
                                    .order_by(ProductModel.code))
        self.model_code.choices = [(m.code, f"{m.name} ({m.code})") for m in models]
        outlets = db.session.scalars(select(Outlet).where(Outlet.active.is_(True)).order_by(Outlet.code))
        self.outlet_code.choices = [(o.code, o.name) for o in outlets]


class TrackForm(FlaskForm):
    number = StringField(_l("Ticket no."), validators=[DataRequired(), Length(max=20)])
    phone = StringField(_l("Mobile phone"), validators=[DataRequired(), Length(max=30)])


def _allowed(bucket: str) -> bool:
    """Within the client's allowance for `bucket` (PUBLIC_RATE_LIMITS), counted apart."""
    limit, minutes = current_app.config["PUBLIC_RATE_LIMITS"][bucket]
    key = rate_limit.client_key(bucket, request.remote_addr or "")
    allowed = rate_limit.allow(db.session, bucket, key, limit, timedelta(minutes=minutes))
    db.session.commit()
    return allowed


def _limited(template: str, form):
    return render_template(template, form=form, errors={}, limited=True), 429


@bp.route("/report", methods=["GET", "POST"])
def report():
    set_scope(SYSTEM)  # the form registers for the service center; it shows no one's data
    form = ReportForm()
    form.fill_choices()
    errors = {}
    if request.method == "POST":
        if not _allowed("report"):
            return _limited("public/report.html", form)
        if form.website.data:  # a bot: pretend all went well, keep nothing
            return render_template("public/report_done.html", ticket=None, response=None, verdict=None)
        if form.validate():
            try:
                ticket = intake.register_report(db.session, _report_from(form), None)
                db.session.commit()
            except FieldErrors as exc:
                db.session.rollback()
                errors = {field: exc.errors[path] for field, path in FIELD_PATHS.items() if path in exc.errors}
                errors["_other"] = [m for path, m in exc.errors.items() if path not in FIELD_PATHS.values()]
            else:
                return render_template("public/report_done.html", ticket=ticket,
                                       response=sla.clock_of(ticket, Clock.RESPONSE.value),
                                       verdict=warranty.of_ticket(ticket), zone=zone_of(ticket.outlet))
    return render_template("public/report.html", form=form, errors=errors, limited=False)


def _report_from(form: ReportForm) -> intake.Report:
    return intake.Report(
        kind=form.kind.data, category="quality", fault=form.fault.data, channel=Channel.WEB.value,
        name_choice=intake.NameChoice.CONTACT,  # R-CUS-1: a known phone keeps its customer
        customer={"name": form.name.data, "phone": form.phone.data, "address": form.address.data or "",
                  "area": form.area.data},
        unit={"model_code": form.model_code.data, "serial": form.serial.data,
              "invoice_date": form.invoice_date.data.isoformat() if form.invoice_date.data else "",
              "outlet_code": form.outlet_code.data},
        consent=bool(form.consent.data))


@bp.route("/track", methods=["GET", "POST"])
def track():
    """Ticket number + phone -> status and the next promised time; nothing else about anyone."""
    set_scope(SYSTEM)
    form = TrackForm()
    result, not_found = None, False
    if request.method == "POST":
        if not _allowed("track"):
            return _limited("public/track.html", form)
        if form.validate():
            ticket = db.session.scalar(select(Ticket).where(Ticket.number == form.number.data.strip().upper()))
            phone = form.phone.data.strip()
            if ticket is None or phone not in (ticket.contact_phone, ticket.customer.phone):
                not_found = True  # the same answer whether the number exists or not
            else:
                result = _public_status(ticket)
    return render_template("public/track.html", form=form, result=result, not_found=not_found, errors={},
                           limited=False)


def _public_status(ticket: Ticket) -> dict:
    zone = zone_of(ticket.outlet)
    upcoming = [c for c in ticket.clocks if c.met_at is None]
    next_clock = min(upcoming, key=lambda c: c.due_at) if upcoming else None
    return {"number": ticket.number, "status": label(TicketStatus, ticket.status),
            "next_label": label(Clock, next_clock.clock) if next_clock else None,
            "next_due": format_local(next_clock.due_at, zone) if next_clock else None,
            "done": ticket.status in (TicketStatus.RESOLVED, TicketStatus.RETURN_VISIT, TicketStatus.CLOSED)}


# --- the customer's link: /t/<token> (the receipt and every later message carry it) ------------

SATISFACTION = ((5, _l("Very satisfied")), (4, _l("Satisfied")), (3, _l("Fair")), (2, _l("Unsatisfied")),
                (1, _l("Very unsatisfied")))


class SurveyForm(FlaskForm):
    # The service checks the rating (backoffice.return_visits): a bad one gets its message there.
    satisfaction = RadioField(_l("How satisfied are you with our service?"), validate_choice=False,
                              choices=[(str(n), text) for n, text in SATISFACTION])
    comment = TextAreaField(_l("Anything you want to tell us (optional)"))


def of_link(view):
    """A page of the customer's link: the view gets the token's ticket, or the visitor gets "not
    found" (404) for an unknown, forged or mangled token. No sign-in: the link is the key, and
    the page shows that ticket only."""
    @wraps(view)
    def wrapper(token):
        set_scope(SYSTEM)
        ticket = notifications.ticket_of_token(db.session, token)
        if ticket is None:
            return render_template("public/link.html", result=None, not_found=True), 404
        return view(token, ticket)
    return wrapper


def _link_page(token: str, ticket: Ticket, stopped: bool = False, limited: bool = False):
    """The ticket's public status, as /track shows it, with the survey while a visit waits for it
    and the button that stops the messages while the customer gets them."""
    survey = return_visits.survey_state(ticket) is None
    return render_template("public/link.html", result=_public_status(ticket), not_found=False,
                           survey_url=url_for(".survey", token=token) if survey else None,
                           stop_url=url_for(".stop_messages", token=token)
                           if notifications.may_tell(ticket.customer) else None, stopped=stopped,
                           limited=limited, form=FlaskForm())


@bp.route("/t/<token>")
@of_link
def track_link(token, ticket):
    """The ticket's public status, as /track shows it; nothing about anyone else."""
    return _link_page(token, ticket)


@bp.post("/t/<token>/stop")
@of_link
def stop_messages(token, ticket):
    """PIPL (R-NTF-1): withdrawing is as easy as agreeing — one button on the link's page stops
    the customer's service messages, those queued too. CSRF-checked (CSRFProtect), rate-limited."""
    if not _allowed("stop"):
        return _link_page(token, ticket, limited=True), 429
    if notifications.may_tell(ticket.customer):
        notifications.record_opt_out(db.session, ticket.customer)
        db.session.commit()
    return _link_page(token, ticket, stopped=True)


@bp.route("/t/<token>/survey", methods=["GET", "POST"])
@of_link
def survey(token, ticket):
    """The return-visit survey (R-TKT-4, R-NTF-1): the customer rates the service once."""
    form, errors, number = SurveyForm(), {}, ticket.number
    state = return_visits.survey_state(ticket)
    if request.method == "POST" and state is None:  # CSRF checked before (CSRFProtect)
        if not _allowed("survey"):
            return render_template("public/survey.html", form=form, number=number, state=None, errors={},
                                   limited=True), 429
        try:
            state = return_visits.record_survey(db.session, ticket, form.satisfaction.data, form.comment.data)
            db.session.commit()
        except FieldErrors as exc:
            db.session.rollback()
            errors = exc.errors
    return render_template("public/survey.html", form=form, number=number, state=state, errors=errors,
                           limited=False)
