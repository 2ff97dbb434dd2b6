"""Public doors for customers, no sign-in: report a fault (/report) and track it (/track), and
the customer's own link from their messages (/t/<token>) with the return-visit survey and a
button that stops the service messages.

The forms are rate-limited per client in the database; the report form has a honeypot against
bots. Registration goes through backoffice.intake like every other channel (R-TKT-1/2). The
tracking link carries the ticket's random token (backoffice.notifications.tracking_token): an
unknown, forged or mangled one is "not found".

Issue 18: the report form's lists start at "Please choose" (a list left there is refused with
its message, everything typed kept), required fields are marked, up to 3 photos go with the
report (backoffice.report_photos), and a status page never shows a promise already past
(backoffice.public_status). The page makes phone photos smaller before sending them
(static/js/photo_resize.js); a report still over the request cap comes back (413) with everything
typed kept and the photos' message.
"""
from datetime import timedelta
from functools import wraps

from flask import Blueprint, current_app, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, MultipleFileField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from backoffice import (
    attachments,
    intake,
    letterhead,
    notifications,
    public_status,
    qr,
    rate_limit,
    report_photos,
    return_visits,
    sla,
    warranty,
)
from backoffice.access import SYSTEM, set_scope
from backoffice.errors import FieldErrors
from backoffice.labels import choices, label
from backoffice.timezones import zone_of
from models import Outlet, ProductModel, Ticket, db
from models.choices import Area, Channel, Clock, TicketKind

bp = Blueprint("public", __name__)
# The printouts' letterhead (receipt, statements, settlements: admin/_printout.html), for every
# template of the app; registered here, where the public receipt needs it too.
bp.add_app_template_global(letterhead.current, "letterhead")

PUBLIC_KINDS = (TicketKind.REPAIR, TicketKind.INSTALLATION, TicketKind.CONSULTATION, TicketKind.COMPLAINT)
# Form field -> path used by backoffice.intake's field errors.
FIELD_PATHS = {"name": "customer.name", "phone": "customer.phone", "area": "customer.area",
               "model_code": "unit.model_code", "serial": "unit.serial", "invoice_date": "unit.invoice_date",
               "outlet_code": "unit.outlet_code", "kind": "kind", "fault": "fault"}


# A list starts at "Please choose" (value ""): nothing is chosen for the visitor, and a list left
# there is refused with CHOOSE next to it.
CHOOSE = _l("Choose one of the options.")


def _chosen():
    return [DataRequired(message=CHOOSE)]


class ReportForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=60)])
    phone = StringField(_l("Mobile phone"), validators=[DataRequired(), Length(max=30)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=255)])
    area = SelectField(_l("Urban / suburban"), choices=[], validators=_chosen())
    model_code = SelectField(_l("Product model"), choices=[], validators=_chosen())
    serial = StringField(_l("Serial no. (on the nameplate)"), validators=[DataRequired(), Length(max=60)])
    invoice_date = DateField(_l("Invoice date"), validators=[Optional()])
    outlet_code = SelectField(_l("Where you bought it"), choices=[], validators=_chosen())
    kind = SelectField(_l("What do you need"), choices=[], validators=_chosen())
    fault = TextAreaField(_l("What happened"), validators=[DataRequired(), Length(max=intake.MAX_FAULT)])
    # R-TKT-8: evidence from the customer; checked by backoffice.report_photos, not here.
    photos = MultipleFileField(_l("Photos of the fault (optional)"))
    # PIPL (R-NTF-1): asked, never assumed; the notice under it says what the number is used for.
    consent = BooleanField(_l("Send me messages about this service (SMS/WeChat/e-mail)"))
    website = StringField("Website")  # honeypot: hidden by CSS, people leave it empty

    def fill_choices(self) -> None:
        self.area.choices = _with_placeholder(choices(Area))
        self.kind.choices = _with_placeholder([(k.value, label(TicketKind, k.value)) for k in PUBLIC_KINDS])
        models = db.session.scalars(select(ProductModel).where(ProductModel.active.is_(True))
                                    .order_by(ProductModel.code))
        self.model_code.choices = _with_placeholder([(m.code, f"{m.name} ({m.code})") for m in models])
        outlets = db.session.scalars(select(Outlet).where(Outlet.active.is_(True)).order_by(Outlet.code))
        self.outlet_code.choices = _with_placeholder([(o.code, o.name) for o in outlets])


def _with_placeholder(options: list) -> list:
    return [("", _l("Please choose")), *options]


class TrackForm(FlaskForm):
    number = StringField(_l("Ticket no."), validators=[DataRequired(), Length(max=20)])
    phone = StringField(_l("Mobile phone"), validators=[DataRequired(), Length(max=30)])


def _allowed(bucket: str) -> bool:
    """Within the client's allowance for `bucket` (PUBLIC_RATE_LIMITS), counted apart."""
    limit, minutes = current_app.config["PUBLIC_RATE_LIMITS"][bucket]
    key = rate_limit.client_key(bucket, request.remote_addr or "")
    allowed = rate_limit.allow(db.session, bucket, key, limit, timedelta(minutes=minutes))
    db.session.commit()
    if not allowed:
        g.retry_after = 60 * minutes  # at the latest, the window has passed (RFC 6585)
    return allowed


@bp.after_request
def _say_when_to_retry(response):
    if response.status_code == 429 and "retry_after" in g:
        response.headers["Retry-After"] = str(g.retry_after)
    return response


def _limited(template: str, form):
    return render_template(template, form=form, errors={}, limited=True), 429


@bp.url_value_preprocessor
def _read_reports_over_the_cap(endpoint, values):
    """A report over the request cap (photos sent as the phone took them, without the page's
    script that makes them smaller) is still read, up to report_photos.request_bound: the form
    then comes back (413) with everything typed and the photos' message, not a bare error page.
    Set here because URL value preprocessors run before every before_request hook, and the
    app's hooks (input guard, CSRF) read the form."""
    cap = current_app.config.get("MAX_CONTENT_LENGTH")
    if endpoint == "public.report" and request.method == "POST" and cap:
        request.max_content_length = report_photos.request_bound(cap)


def _over_the_cap() -> bool:
    cap = current_app.config.get("MAX_CONTENT_LENGTH")
    return bool(cap) and (request.content_length or 0) > cap


@bp.route("/report", methods=["GET", "POST"])
def report():
    set_scope(SYSTEM)  # the form registers for the service center; it shows no one's data
    form = ReportForm()
    form.fill_choices()
    errors = {}
    if request.method == "POST":
        if not _allowed("report"):
            return _report_page(form, {}, limited=True), 429
        if form.website.data:  # a bot: pretend all went well, keep nothing
            return render_template("public/report_done.html", ticket=None, response=None, verdict=None)
        valid, photos, uploads = form.validate(), None, _uploads()
        try:  # checked with the form, so one answer names every problem
            photos = report_photos.check(uploads, _photo_allowance())
        except FieldErrors as exc:
            errors.update(exc.errors)
        over_cap = _over_the_cap()  # whatever the parts hold, more than a request may carry
        if over_cap:
            photos = None
            errors.setdefault("photos", report_photos.too_large(_photo_allowance()))
        if valid and photos is not None:
            try:
                ticket = intake.register_report(db.session, _report_from(form), None)
                report_photos.attach(db.session, ticket, photos)
                link = notifications.tracking_link(ticket)
                db.session.commit()
            except FieldErrors as exc:
                db.session.rollback()
                errors = {field: exc.errors[path] for field, path in FIELD_PATHS.items() if path in exc.errors}
                errors["_other"] = [m for path, m in exc.errors.items() if path not in FIELD_PATHS.values()]
            else:
                return render_template("public/report_done.html", ticket=ticket,
                                       response=sla.clock_of(ticket, Clock.RESPONSE.value),
                                       verdict=warranty.of_ticket(ticket), zone=zone_of(ticket.outlet),
                                       photos=len(photos), link=link, qr=qr.svg(link, title=_("Tracking link")))
        # A browser cannot refill a file input: the page asks for the photos again.
        return (_report_page(form, errors, reselect=any(name or data for name, data in uploads)),
                413 if over_cap else 200)
    return _report_page(form, errors)


def _report_page(form: ReportForm, errors: dict, limited: bool = False, reselect: bool = False) -> str:
    return render_template("public/report.html", form=form, errors=errors, limited=limited, reselect=reselect,
                           max_photos=report_photos.MAX_PHOTOS, photos_mb=_photo_allowance() // report_photos.MB)


def _uploads() -> list[tuple[str, bytes]]:
    """The files sent as photos (a text field of that name is no file: ignored)."""
    return [(upload.filename or "", upload.read()) for upload in request.files.getlist("photos")]


def _photo_allowance() -> int:
    """Bytes the photos may take together: what a request may carry (MAX_CONTENT_LENGTH, 413
    beyond) less room for the form's text, at most MAX_PHOTOS of the staff's largest file."""
    cap = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    largest = report_photos.MAX_PHOTOS * attachments.MAX_BYTES
    return min(largest, cap - report_photos.MB) if cap else largest


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
                result = public_status.of_ticket(ticket)
    return render_template("public/track.html", form=form, result=result, not_found=not_found, errors={},
                           limited=False)


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
    return render_template("public/link.html", result=public_status.of_ticket(ticket), not_found=False,
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
