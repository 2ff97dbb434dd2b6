"""The ticket list's saved filters, as tabs above it (issue 18): mine, unassigned, overdue now and
waiting for the customer. Each tab is one option of the list's own filters (its "Work queue" or
SLA filter, views.tickets), linked as the menu's and the home pages' queue links are
(`TicketView.queue_url`), so its rows are the filter's; the counts are the same conditions
(backoffice.dashboard.QUEUES), all four in one statement under the user's row scope, each capped
at FIGURE_CAP ("1,000+"): a list page pays for a few index probes, not a count of the backlog.

What "mine" means depends on the role: an engineer's tickets are those assigned to him (the
menu's "My tickets"); the desk's — a clerk's, a dealer's, a manager's — those the user registered.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import request
from flask_login import current_user

from backoffice import dashboard
from models import db
from models.choices import Role

TAB_KEYS = ("unassigned", "overdue", "waiting_for_customer")  # after "mine"


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    count: int
    url: str
    active: bool


def mine_key(role) -> str:
    """The queue an engineer or the desk calls "mine" (see the module's docstring)."""
    return "mine" if role == Role.ENGINEER else "registered_by_me"


def tabs(view) -> list[Tab]:
    """The tabs for the signed-in user, the one whose filter the list shows (alone) marked active."""
    keys = (mine_key(current_user.role), *TAB_KEYS)
    counts = dashboard.queue_counts(db.session, current_user.id, keys, cap=dashboard.FIGURE_CAP)
    asked = filters_asked()
    found = []
    for key in keys:
        index, flt = filter_of(view, key)
        found.append(Tab(key, str(flt._labels[key]), counts[key], view.queue_url(key),
                         asked == {(str(index), key)}))
    return found


def filter_of(view, key: str):
    """(index, filter) of the list's named-condition filter offering `key`."""
    return next((index, flt) for index, flt in enumerate(view.column_filters)
                if key in getattr(flt, "_conditions", {}))


def filters_asked() -> set[tuple[str, str]]:
    """The list filters in the request's URL, as {(filter index, value)}: flt0_7=mine -> ("7", "mine")."""
    return {(arg.split("_", 1)[1], value) for arg, value in request.args.items(multi=True)
            if arg.startswith("flt") and "_" in arg}
