"""Column and form labels shared by every screen, and value formatters."""
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from markupsafe import Markup, escape

from backoffice.labels import label
from backoffice.timezones import format_local
from models import utcnow
from models.customers import phone_key

LABELS = {
    "name": _l("Name"), "phone": _l("Phone"), "phone2": _l("Second phone"), "address": _l("Address"),
    "region": _l("Region"), "area": _l("Urban / suburban"), "distance_km": _l("Distance (km)"),
    "outlet": _l("Outlet"), "note": _l("Note"), "created_at": _l("Created"), "updated_at": _l("Updated"),
    "code": _l("Code"), "category": _l("Category"), "warranty_months": _l("Warranty (months)"),
    "free_installation": _l("Free installation"), "special_price": _l("Special-price model"),
    "gas_type": _l("Gas type"), "active": _l("Active"), "serial": _l("Serial no."), "size": _l("Size"),
    "product_model": _l("Product model"), "customer": _l("Customer"), "invoice_no": _l("Invoice no."),
    "invoice_date": _l("Invoice date"), "price": _l("Price"), "number": _l("Ticket no."),
    "kind": _l("Kind"), "channel": _l("Channel"), "status": _l("Status"),
    "fault_description": _l("Fault description"), "occurred_at": _l("Fault occurred at"),
    "contact_name": _l("Contact"), "contact_phone": _l("Contact phone"), "unit": _l("Unit"),
    "assigned_engineer": _l("Engineer"), "registered_by": _l("Registered by"),
    "closed_at": _l("Closed"), "parent": _l("Parent outlet"), "service_phone": _l("Service phone"),
    "duty_phone": _l("24 h duty phone"), "total_purchase_amount": _l("Total purchases (¥)"),
    "is_service_center": _l("Service center (own stock, no parts account)"),
    "timezone": _l("Time zone"), "username": _l("Username"), "full_name": _l("Full name"),
    "role": _l("Role"), "locale": _l("Language"), "last_login_at": _l("Last sign-in"),
    "unit_price": _l("Unit price (¥)"), "consumable": _l("Consumable"), "fragile": _l("Fragile"),
    "staff": _l("Staff"), "period_kind": lazy_pgettext("appraisal", "Period"), "period_start": _l("Period start"),
    "conduct": _l("Conduct (德)"), "diligence": _l("Diligence (勤)"), "ability": _l("Ability (能)"),
    "results": _l("Results (绩)"), "commendation": _l("Commendation"), "penalty": _l("Penalty"),
    "total": lazy_pgettext("appraisal", "Total"), "scored_by": _l("Scored by"), "at": _l("Time"),
    "actor_name": _l("User"),
    "action": _l("Action"), "table_name": _l("Record type"), "record_id": _l("Record id"),
    "changes": _l("Changes"), "event": _l("Event"), "ip": _l("IP address"),
    "user_agent": _l("Browser"), "key": _l("Policy"), "value": _l("Value"), "units": _l("Units"),
    "tickets": _l("Tickets"), "users": _l("Users"), "children": _l("Sub-outlets"),
    "new_password": _l("New password"), "customer.phone": _l("Customer phone"),
    "unit.serial": _l("Serial no."), "customer.name": _l("Customer"), "sla": _l("SLA"),
    "staff.username": _l("Username"), "staff.full_name": _l("Full name"),  # appraisal search box
}


def staff_name(actor, actor_id) -> str:
    """Who took a step; a dealer does not see the center's staff (the row scope hides them), only
    that the center did it."""
    if actor is not None:
        return actor.full_name or actor.username
    return _("Service center") if actor_id else _("system")


def enum_formatter(enum):
    def fmt(view, context, model, name):
        return label(enum, getattr(model, name))
    return fmt


def time_formatter(view, context, model, name):
    return format_local(getattr(model, name))


def money_formatter(view, context, model, name):
    value = getattr(model, name)
    return "" if value is None else f"¥{value:,.2f}"


def status_badge(enum):
    def fmt(view, context, model, name):
        value = getattr(model, name)
        return Markup(f'<span class="badge badge-status badge-status-{escape(value)}">'
                      f"{escape(label(enum, value))}</span>")
    return fmt


def person_formatter(view, context, model, name):
    """A person by name alone: a user's __str__ adds the username in brackets ("李静 (clerk)")."""
    person = getattr(model, name)
    return "" if person is None else (person.full_name or person.username)


# --- lists: what a row shows in one line (issue 18) ---------------------------------------------

MASK = "****"


def masked_phone(phone: str | None) -> str:
    """138****8000: a list shows the first three and the last four digits of a phone; the record's
    page and the desk's export show it whole. Seven digits or fewer keep only the last four."""
    digits = phone_key(phone) or ""
    if len(digits) <= 4:
        return MASK if digits else ""
    head = digits[:3] if len(digits) > 7 else ""
    return f"{head}{MASK}{digits[-4:]}"


def masked_phone_formatter(view, context, model, name):
    return masked_phone(getattr(model, name))


def shortened(limit: int):
    """The text's first `limit` characters on one line; the whole text on hover (title)."""
    def fmt(view, context, model, name):
        text = " ".join((getattr(model, name) or "").split())
        if len(text) <= limit:
            return text
        return Markup('<span title="{}">{}…</span>').format(text, text[:limit])
    return fmt


def days_since(at: datetime, now: datetime | None = None) -> float:
    """Days from `at` until now: waiting times are said in one unit, days (issue 18)."""
    return max(((now or utcnow()) - at).total_seconds(), 0) / 86400


def waiting_badge(days: float, late: bool, late_class: str = "badge-danger") -> Markup:
    """How long something has waited, in days: one decimal under ten days ("0.4 天"), whole
    days from ten on; highlighted once it is late by the rule of its list."""
    shown = f"{days:.1f}" if days < 10 else f"{int(days)}"
    css = late_class if late else "badge-light"
    return Markup('<span class="badge {}">{}</span>').format(css, _("%(days)s d", days=shown))
