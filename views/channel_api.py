"""JSON API for channel integrations under /api/v1 (R-TKT-1). Token auth, no cookies, no CSRF.

A token reads back only the tickets registered through its own channel, and at most
API_READ_LIMIT reads per window (ticket numbers are sequential: no walking through them).
"""
from datetime import datetime, timedelta

from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from backoffice import channel_tokens, intake, openapi_doc, rate_limit, warranty
from backoffice.access import SYSTEM, set_scope
from backoffice.errors import FieldErrors
from backoffice.timezones import local_to_utc, zone_of
from models import Ticket, db

bp = Blueprint("api", __name__, url_prefix="/api/v1")
API_READ_LIMIT = (120, 1)  # reads per token per minutes: a shop's status page, not a crawler


def error(status: int, code: str, message: str, **extra):
    response = jsonify({"error": code, "message": message, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@bp.before_request
def authenticate():
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    set_scope(SYSTEM)  # a channel acts for the service center (see the OpenAPI description)
    found = channel_tokens.authenticate(db.session, token)
    if found is None:
        db.session.rollback()
        return error(401, "unauthorized", _("A valid bearer token is required."))
    g.api_channel = found.channel
    g.api_token_id = found.id
    g.actor_name = f"api:{found.channel}"
    db.session.commit()  # last_used_at
    return None


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    response = error(exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description or exc.name)
    if getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return response


@bp.errorhandler(500)
def server_error(exc):
    db.session.rollback()
    current_app.logger.exception("unhandled error on %s", request.path)
    return error(500, "server_error", _("The error was logged. Nothing was saved from this request."))


def ticket_json(ticket: Ticket) -> dict:
    zone = zone_of(ticket.outlet)
    verdict = warranty.of_ticket(ticket)
    return {
        "number": ticket.number, "status": ticket.status, "kind": ticket.kind, "channel": ticket.channel,
        "created_at": ticket.created_at.astimezone(zone).isoformat(timespec="seconds"),
        "warranty": {"in_warranty": verdict.in_warranty, "window": verdict.window, "reason": verdict.reason}
        if verdict else {"in_warranty": None, "window": "none", "reason": ""},
        "sla": {c.clock: c.due_at.astimezone(zone).isoformat(timespec="seconds") for c in ticket.clocks},
    }


def _object(body: dict, key: str, problems: dict) -> dict:
    value = body.get(key, {})
    if not isinstance(value, dict):
        problems[key] = _("Must be an object.")
        return {}
    for name, item in value.items():
        if item is not None and not isinstance(item, str):
            problems[f"{key}.{name}"] = _("Must be a string.")
    return value


def _report(body: dict) -> intake.Report:
    problems = {}
    for key in ("kind", "category", "fault", "occurred_at"):
        if body.get(key) is not None and not isinstance(body[key], str):
            problems[key] = _("Must be a string.")
    customer, unit = _object(body, "customer", problems), _object(body, "unit", problems)
    if body.get("consent") is not None and not isinstance(body["consent"], bool):
        problems["consent"] = _("Must be true or false.")
    occurred = None
    if isinstance(body.get("occurred_at"), str):
        try:
            occurred = local_to_utc(datetime.fromisoformat(body["occurred_at"]))
        except (ValueError, OverflowError):  # 0001-01-01T00:00+08:00 is before year 1 in UTC
            problems["occurred_at"] = _("Not an ISO 8601 date-time.")
    if problems:
        raise FieldErrors(problems)
    return intake.Report(kind=body.get("kind") or "", category=body.get("category") or "quality",
                         fault=body.get("fault") or "", channel=g.api_channel, occurred_at=occurred,
                         customer=customer, unit=unit or {"outlet_code": ""},
                         name_choice=intake.NameChoice.CONTACT,  # R-CUS-1: nobody to ask here
                         consent=body.get("consent") is True)  # PIPL (R-NTF-1)


@bp.post("/tickets")
def register_ticket():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "bad_request", _("The body must be a JSON object."))
    try:
        ticket = intake.register_report(db.session, _report(body), None)
        db.session.commit()
    except FieldErrors as exc:
        db.session.rollback()
        return error(422, "validation", _("Some fields need attention."),
                     fields={key: str(message) for key, message in exc.errors.items()})
    response = jsonify(ticket_json(ticket))
    response.status_code = 201
    response.headers["Location"] = url_for(".get_ticket", number=ticket.number)
    return response


@bp.get("/tickets/<number>")
def get_ticket(number):
    limit, minutes = current_app.config.get("API_READ_LIMIT", API_READ_LIMIT)
    allowed = rate_limit.allow(db.session, "api_read", rate_limit.client_key("api_read", str(g.api_token_id)),
                               limit, timedelta(minutes=minutes))
    db.session.commit()
    if not allowed:
        response = error(429, "too_many_requests", _("Too many reads with this token: wait a minute and try again."))
        response.headers["Retry-After"] = str(60 * minutes)
        return response
    # Another channel's ticket is "no such ticket": a token learns nothing about the others.
    ticket = db.session.scalar(db.select(Ticket).where(Ticket.number == number, Ticket.channel == g.api_channel))
    if ticket is None:
        return error(404, "not_found", _("No ticket with this number."))
    return jsonify(ticket_json(ticket))


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_doc.document(url_for(".register_ticket").rsplit("/tickets", 1)[0]))
