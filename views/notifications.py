"""My notifications (issue 17): each member of staff reads their own in-app notifications, newest
first, in their language, and marks them read. Rows are personal: backoffice.access shows every
role only its own (a manager's included), so another user's id is a 404 here."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.helpers import get_redirect_target
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from werkzeug.routing import BuildError

from backoffice import notifications
from backoffice.permissions import EVERYONE
from backoffice.timezones import format_local
from models import StaffNotification, db

from .base import ChoiceFilter, SecureModelView

READ_STATES = {"unread": lambda: StaffNotification.read_at.is_(None),
               "read": lambda: StaffNotification.read_at.is_not(None)}
READ_STATE_LABELS = {"unread": _l("Unread"), "read": _l("Read")}


def target_url(row: StaffNotification) -> str | None:
    """Where the notification points: the record it is about (its endpoint, with its id), else its
    ticket (an SLA alert), else nowhere. An approval about a ticket opens the approval."""
    if (url := record_url(row)) is not None:
        return url
    return url_for("ticket.details_view", id=row.ticket_id) if row.ticket_id is not None else None


def record_url(row: StaffNotification) -> str | None:
    if not row.link:
        return None
    record_id = (row.params or {}).get("id")
    try:  # an endpoint name, never an address: a link leads inside the back office only
        return url_for(row.link, **({"id": record_id} if record_id is not None else {}))
    except (BuildError, ValueError):  # an endpoint renamed since the row was written
        return None


def text_formatter(view, context, model, name):
    text = escape(notifications.staff_text(model))
    return Markup("<strong>{}</strong>").format(text) if model.read_at is None else text


def link_formatter(view, context, model, name):
    url = target_url(model)
    return Markup('<a href="{}">{}</a>').format(url, _("Open the record")) if url else ""


def read_formatter(view, context, model, name):
    """Read when; or a "New" mark and the button that marks it read."""
    if model.read_at is not None:
        return format_local(model.read_at)
    return Markup(
        '<span class="badge badge-danger mr-2" data-testid="unread">{new}</span>'
        '<form method="post" action="{action}" class="d-inline">'
        '<input type="hidden" name="csrf_token" value="{csrf}"><input type="hidden" name="id" value="{id}">'
        '<input type="hidden" name="url" value="{back}">'
        '<button class="btn btn-sm btn-outline-secondary" type="submit">{label}</button></form>').format(
        new=_("New"), action=view.get_url(".read_view"), csrf=generate_csrf(), id=model.id,
        back=context.resolve("return_url") or "", label=_("Mark read"))


class NotificationView(SecureModelView):
    roles = EVERYONE
    can_set_page_size = True
    page_size = 50
    list_template = "admin/notifications_list.html"
    column_list = ("created_at", "text", "link", "read_at")
    column_details_list = column_list
    column_labels = {"created_at": _l("Time"), "text": _l("Notification"), "link": _l("Record"),
                     "read_at": _l("Read at")}
    column_formatters = {"created_at": lambda v, c, m, n: format_local(m.created_at), "text": text_formatter,
                         "link": link_formatter, "read_at": read_formatter}
    column_sortable_list = ("created_at",)
    column_default_sort = [("created_at", True), ("id", True)]

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ChoiceFilter(StaffNotification.id, _l("Read or unread"), READ_STATES, READ_STATE_LABELS),)
        super().__init__(*args, **kwargs)

    def is_visible(self):
        return False  # the menu's "Notifications" link, with its unread badge, stands for this page

    def get_empty_list_message(self):
        return _("No notifications.")

    def _back(self):
        return get_redirect_target() or self.get_url(".index_view")

    @expose("/read/", methods=("POST",))
    def read_view(self):
        """Mark one notification read; another user's is a 404 (the row scope hides it)."""
        found = self.get_one(request.form.get("id", ""))
        notifications.mark_read(db.session, current_user, [found.id])
        db.session.commit()
        return redirect(self._back())

    @expose("/read_all/", methods=("POST",))
    def read_all_view(self):
        marked = notifications.mark_read(db.session, current_user)
        db.session.commit()
        flash(_("%(n)s notifications marked read.", n=marked), "success")
        return redirect(self._back())
