"""The customers' outbox (issue 17): what was queued to whom, and what became of it. Read-only for
the service center's staff; failed messages can be queued again ("Retry now",
backoffice.outbox.requeue). Dealers and engineers have no access."""
from __future__ import annotations

from flask import flash, url_for
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from backoffice import outbox
from backoffice.labels import choices, label
from backoffice.notifications import CUSTOMER_TEMPLATES
from backoffice.permissions import CENTER
from models import OutboxMessage, db
from models.choices import NotifyChannel, OutboxStatus

from .base import LocalDateBetweenFilter, ScopedOptionsFilter, SecureModelView, parse_id
from .fields import enum_formatter, status_badge, time_formatter


def template_label(value: str) -> str:
    """The message's kind as staff name it (backoffice.notifications.CUSTOMER_TEMPLATES)."""
    template = CUSTOMER_TEMPLATES.get(value)
    return str(template.label) if template is not None else value


def ticket_link(view, context, model, name):
    ticket = model.ticket
    if ticket is None:
        return ""
    return Markup('<a href="{}">{}</a>').format(url_for("ticket.details_view", id=ticket.id), ticket.number)


def message_rows(messages) -> list[dict]:
    """The ticket page's list of what its customer was sent, with labels in the reader's language."""
    return [{"at": m.created_at, "sent_at": m.sent_at, "channel": label(NotifyChannel, m.channel),
             "what": template_label(m.template), "to": m.recipient, "status": m.status,
             "status_label": label(OutboxStatus, m.status), "body": m.body, "error": m.last_error}
            for m in messages]


def body_formatter(view, context, model, name):
    return Markup('<div style="white-space: pre-wrap" data-testid="outbox-body">{}</div>').format(escape(model.body))


class OutboxView(SecureModelView):
    roles = export_roles = CENTER
    column_list = ("created_at", "channel", "recipient", "template", "ticket", "status", "attempts",
                   "next_attempt_at", "last_error", "sent_at")
    column_details_list = ("created_at", "channel", "recipient", "template", "ticket", "customer", "status",
                           "attempts", "next_attempt_at", "last_error", "sent_at", "gateway", "provider_id",
                           "subject", "body")
    column_export_list = column_list
    column_labels = {"created_at": _l("Created"), "channel": _l("Sent by"), "recipient": _l("Recipient"),
                     "template": _l("Message"), "ticket": _l("Ticket no."), "ticket.number": _l("Ticket no."),
                     "customer": _l("Customer"), "status": _l("Status"), "attempts": _l("Attempts"),
                     "next_attempt_at": _l("Next attempt"), "last_error": _l("Last error"),
                     "sent_at": _l("Sent at"), "gateway": _l("Gateway"), "provider_id": _l("Provider's message id"),
                     "subject": _l("Subject"), "body": _l("Message text")}
    column_formatters = {
        "created_at": time_formatter, "next_attempt_at": time_formatter, "sent_at": time_formatter,
        "channel": enum_formatter(NotifyChannel), "status": status_badge(OutboxStatus),
        "template": lambda v, c, m, n: template_label(m.template), "ticket": ticket_link, "body": body_formatter,
        "customer": lambda v, c, m, n: m.customer.name if m.customer is not None else "",
    }
    column_formatters_export = {
        "created_at": time_formatter, "next_attempt_at": time_formatter, "sent_at": time_formatter,
        "channel": enum_formatter(NotifyChannel), "status": enum_formatter(OutboxStatus),
        "template": lambda v, c, m, n: template_label(m.template),
        "ticket": lambda v, c, m, n: m.ticket.number if m.ticket is not None else ""}
    column_searchable_list = ("recipient", "ticket.number")
    column_sortable_list = ("created_at", "next_attempt_at", "sent_at", "attempts")
    column_default_sort = [("created_at", True), ("id", True)]

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(OutboxMessage.status, _l("Status"),
                                lambda: [(v, str(t)) for v, t in choices(OutboxStatus)]),
            ScopedOptionsFilter(OutboxMessage.channel, _l("Sent by"),
                                lambda: [(v, str(t)) for v, t in choices(NotifyChannel)]),
            ScopedOptionsFilter(OutboxMessage.template, _l("Message"),
                                lambda: [(k, str(t.label)) for k, t in CUSTOMER_TEMPLATES.items()]),
            LocalDateBetweenFilter(OutboxMessage.created_at, _l("Created")),
        )
        super().__init__(*args, **kwargs)

    def is_action_allowed(self, name):
        return name == "retry" and self.is_accessible()

    @action("retry", _l("Retry now"), _l("Send the selected failed messages again now?"))
    def action_retry(self, ids):
        """Failed messages are queued again with fresh attempts; the others are left as they are."""
        found = [n for n in (parse_id(i) for i in ids) if n is not None]
        queued = outbox.requeue(db.session, found)
        db.session.commit()
        skipped = len(ids) - queued
        flash(_("%(n)s messages queued again.", n=queued), "success")
        if skipped:
            flash(_("%(n)s selected messages had not failed and were left as they are.", n=skipped), "warning")
