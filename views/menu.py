"""The main menu: its queue links with their counts, drawn once per role, language and page.

Flask-Admin draws the menu on every page: sixty links, each asking whether the user may open it,
its address and its translated name, through template macros. What it draws depends only on the
user's role, the language and the page it is on, so it is drawn once for each of those and kept
(`main_menu`; a few hundred variants at most, each a few kilobytes). The counts beside the queue
links are the only per-user part: drawn as slots, filled in on every page (`fill_counts`) from
one statement (backoffice.dashboard.menu_counts) under the user's row scope (issue 15, 16).
"""
from __future__ import annotations

import re

from flask import Flask, g
from flask_admin import Admin
from flask_admin.menu import MenuLink
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup

from backoffice import dashboard
from backoffice.permissions import DESK, EMPLOYEES, EVERYONE, MANAGERS
from models import db

from .base import role_in

APPROVALS = "approvals_to_decide"  # the managers' link into the approvals waiting for a decision
UNREAD = dashboard.UNREAD  # everyone's link into their notifications (issue 17)

# Work queues of the service desk: links into the ticket list's filters.
QUEUE_LINKS = (
    ("mine", _l("My tickets"), EMPLOYEES),
    ("unassigned", _l("Unassigned"), EVERYONE),
    ("overdue", _l("Overdue now"), EVERYONE),
    ("complaints_awaiting_answer", _l("Complaints awaiting answer"), DESK),
)
SLOT = re.compile(r"<!--menu-count:([a-z_]+)-->")
KEPT_MAX = 1024  # menus kept per worker: roles x languages x pages, with room to spare
_kept: dict[tuple, str] = {}


def visible_queues() -> list[str]:
    """The work queues whose menu links the signed-in user sees."""
    return [key for key, _name, roles in QUEUE_LINKS if role_in(roles)]


def menu_count(key: str) -> int:
    """The rows behind a queue link for the signed-in user, under the row scope, by the rule of
    the list it opens. Every count the user's menu shows is read at the first one asked (the
    menu, or the home page's figure of approvals), in one statement, once per request."""
    if "menu_counts" not in g:
        queues, approvals = dashboard.menu_counts(db.session, current_user.id, visible_queues(),
                                                  with_approvals=role_in(MANAGERS), with_unread=role_in(EVERYONE))
        g.menu_counts = {**queues, APPROVALS: approvals}
    return g.menu_counts[key]


def count_badge(key: str) -> Markup:
    """The count beside a link: the number shown, and said in words to a screen reader."""
    n = menu_count(key)
    if key == UNREAD:
        return unread_badge(n)
    return Markup('<span class="badge badge-pill badge-secondary ml-1" aria-hidden="true"'
                  ' data-testid="menu-count-{}">{}</span><span class="sr-only">{}</span>').format(
        key, n, _("(%(n)s in this queue)", n=n))


def unread_badge(n: int) -> Markup:
    """The user's unread notifications: nothing when there are none, a red pill otherwise."""
    if not n:
        return Markup('<span class="d-none" data-testid="unread-count">0</span>')
    return Markup('<span class="badge badge-pill badge-danger ml-1" aria-hidden="true"'
                  ' data-testid="unread-count">{}</span><span class="sr-only">{}</span>').format(
        n, _("(%(n)s unread)", n=n))


def fill_counts(html: str) -> Markup:
    return Markup(SLOT.sub(lambda found: count_badge(found.group(1)), html))


class RoleMenuLink(MenuLink):
    """A menu link only the given roles see. With `count` (a queue's key), its name carries the
    slot of its count (`fill_counts`)."""

    def __init__(self, name, roles, count=None, **kwargs):
        self.count = count
        super().__init__(name, **kwargs)
        self.roles = roles

    @property
    def name(self):  # Flask-Admin's menu macro prints `name`: the slot rides along, no macro copied
        return self._name if self.count is None else Markup("{} <!--menu-count:{}-->").format(self._name, self.count)

    @name.setter
    def name(self, value):
        self._name = value

    def is_accessible(self):
        return role_in(self.roles)


@pass_context
def main_menu(context, draw) -> Markup:
    """The menu `draw()` makes (Flask-Admin's `layout.menu` macro), kept per role, language and
    page; its counts filled in for this user. What a menu shows depends on nothing else: every
    view and link here is open to roles (views.base.role_in), never to a particular user."""
    view = context.resolve("admin_view")
    key = (current_user.role if current_user.is_authenticated else None, str(get_locale()), view.endpoint)
    html = _kept.get(key)
    if html is None:
        html = str(draw())
        if len(_kept) < KEPT_MAX:
            _kept[key] = html
    return fill_counts(html)


def add_queue_links(app: Flask, admin: Admin, tickets, category) -> None:
    """The work queues' links under the ticket list, each with its count."""
    for key, name, roles in QUEUE_LINKS:
        admin.add_menu_item(RoleMenuLink(name, roles, count=key, url=tickets.queue_url(key)),
                            target_category=category)
    app.jinja_env.globals["queue_urls"] = {key: tickets.queue_url(key) for key, _n, _r in QUEUE_LINKS}
    app.jinja_env.globals["main_menu"] = main_menu


def add_notifications_link(admin: Admin, notifications) -> None:
    """Everyone's "Notifications" link, its badge the user's unread ones (issue 17)."""
    admin.add_menu_item(RoleMenuLink(_l("Notifications"), EVERYONE, count=UNREAD,
                                     url=f"{notifications.url}/"))
