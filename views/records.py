"""Read-only trails (audit, sign-ins) and the policy settings."""
import json
from decimal import Decimal, InvalidOperation

from flask import flash
from flask_admin.form import BaseForm
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from backoffice import channel_tokens, login_guard, policy
from backoffice.errors import DomainError, ValidationFailed
from backoffice.labels import choices, label
from backoffice.permissions import ADMINS, MANAGERS
from models import AuditEntry, AuthEvent, db
from models.choices import Channel

from .base import LocalDateBetweenFilter, SecureModelView
from .fields import LABELS, enum_formatter, time_formatter


def changes_formatter(view, context, model, name):
    rows = "".join(
        f"<tr><td>{escape(field)}</td><td>{escape(json.dumps(old, ensure_ascii=False))}</td>"
        f"<td>{escape(json.dumps(new, ensure_ascii=False))}</td></tr>"
        for field, (old, new) in (model.changes or {}).items()
    )
    return Markup(f'<table class="changed-fields">{rows}</table>')


def changes_text(view, context, model, name):
    """The audit CSV: one line per changed field, plain text (exports.safe_cell does the rest)."""
    return "\n".join(f"{field}: {json.dumps(old, ensure_ascii=False)} → {json.dumps(new, ensure_ascii=False)}"
                     for field, (old, new) in (model.changes or {}).items())


class ReadOnlyView(SecureModelView):
    """Nobody edits or deletes these rows in the UI, whatever their role."""

    create_roles = edit_roles = delete_roles = frozenset()
    column_labels = LABELS
    column_default_sort = [("at", True), ("id", True)]
    column_formatters = {"at": time_formatter}


class AuditView(ReadOnlyView):
    roles = export_roles = MANAGERS
    column_list = ("at", "actor_name", "action", "table_name", "record_id", "changes")
    column_formatters = {"at": time_formatter, "changes": changes_formatter}
    column_searchable_list = ("record_id", "actor_name")
    column_export_list = ("at", "actor_name", "action", "table_name", "record_id", "changes")
    column_formatters_export = {"at": time_formatter, "changes": changes_text}  # no HTML table

    def __init__(self, *args, **kwargs):
        self.column_filters = ("table_name", "record_id", "actor_name", "action",
                               LocalDateBetweenFilter(AuditEntry.at, LABELS["at"]))
        super().__init__(*args, **kwargs)


LOCKOUT_LABELS = {
    login_guard.LOCKED: _l("Locked out: this username from this address"),
    login_guard.IP_LOCKED: _l("Locked out: this address"),
    login_guard.THROTTLED: _l("Refused while locked out"),
}


def auth_event_formatter(view, context, model, name):
    """Lockouts stand out on the sign-in log (no one locks another person out); the code stays for filtering."""
    label = LOCKOUT_LABELS.get(model.event)
    if label is None:
        return model.event
    return Markup(f'<span class="badge badge-danger" data-testid="lockout" title="{escape(model.event)}">'
                  f"{escape(label)}</span> <small>{escape(model.event)}</small>")


class AuthEventView(ReadOnlyView):
    roles = export_roles = ADMINS
    column_list = ("at", "event", "username", "ip", "user_agent")
    column_formatters = {"at": time_formatter, "event": auth_event_formatter}
    column_formatters_export = {"at": time_formatter}  # the CSV keeps the plain event code
    column_searchable_list = ("username", "ip")

    def __init__(self, *args, **kwargs):
        self.column_filters = ("event", "username", "ip",
                               LocalDateBetweenFilter(AuthEvent.at, LABELS["at"]))
        super().__init__(*args, **kwargs)


def default_formatter(view, context, model, name):
    default, description = policy.DEFAULTS.get(model.key, (None, ""))
    return f"{default} — {description}" if default is not None else ""


class PolicySettingView(SecureModelView):
    roles = MANAGERS
    create_roles = edit_roles = delete_roles = ADMINS
    column_list = ("key", "value", "default", "updated_at")
    column_labels = dict(LABELS, default=_l("Default"))
    column_formatters = {"default": default_formatter, "updated_at": time_formatter}
    column_default_sort = "key"
    form_columns = ("key", "value")
    form_overrides = {"key": SelectField}
    form_args = {"key": {"choices": sorted((k, f"{k} ({d[1]})") for k, d in policy.DEFAULTS.items())}}

    def on_model_change(self, form, model, is_created):
        try:
            number = Decimal(model.value.strip())
        except (InvalidOperation, AttributeError):
            raise ValidationFailed(_l("The value must be a number.")) from None
        if number < 0:
            raise ValidationFailed(_l("The value cannot be negative."))
        model.value = str(number)


class ApiTokenForm(BaseForm):
    """A new channel token: for which channel, and who will use it."""
    channel = SelectField(_l("Channel"), choices=[], validators=[DataRequired()])
    name = StringField(_l("Used by"), validators=[Optional(), Length(max=60)],
                       description=_l("E.g. the WeChat service account or the web shop."))


class ApiTokenView(SecureModelView):
    """Channel tokens: an admin creates one here (or with `flask create-api-token`); its secret is
    shown once, on the page after it is made, and stored only as a hash. Admins rename or revoke
    tokens here too."""

    roles = edit_roles = create_roles = ADMINS
    delete_roles = frozenset()
    column_list = ("channel", "name", "prefix", "active", "created_at", "last_used_at")
    column_labels = dict(LABELS, prefix=_l("Token prefix"), last_used_at=_l("Last used"))
    column_formatters = {"created_at": time_formatter, "last_used_at": time_formatter,
                         "channel": enum_formatter(Channel)}
    column_default_sort = [("created_at", True)]
    form_columns = ("name", "active")

    def get_create_form(self):
        return ApiTokenForm

    def create_form(self, obj=None):
        form = super().create_form(obj)
        form.channel.choices = choices(Channel)
        return form

    def create_model(self, form):
        """backoffice.channel_tokens makes the token; the secret goes to the next page only."""
        try:
            token, row = channel_tokens.create(db.session, form.channel.data, (form.name.data or "").strip())
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return False
        flash(_("Token for %(channel)s (prefix %(prefix)s) — copy it now, it is not shown again: %(token)s",
                channel=label(Channel, row.channel), prefix=row.prefix, token=token), "success")
        return row
