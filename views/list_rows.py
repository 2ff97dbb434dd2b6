"""The list rows' view and edit links, made from one URL per page (issue 16).

Flask-Admin draws each row's links through three template macros and a `url_for` per link: a
page of 20 tickets spent more time there than in its SQL. The same links come from one URL per
action and page, with the row's id put in; the HTML is Flask-Admin's `row_actions.link`. Any
other action (an administrator's delete form) is drawn by its own macro as before. A column that
links its row to the row's page (`details_link`: the ticket number, issue 18) uses the same URL.
"""
from urllib.parse import quote

from flask import g
from flask_admin.model.template import EditRowAction, ViewRowAction
from jinja2 import pass_context
from markupsafe import Markup, escape

LINKS = {ViewRowAction: (".details_view", "fa fa-eye glyphicon glyphicon-eye-open"),
         EditRowAction: (".edit_view", "fa fa-pencil glyphicon glyphicon-pencil")}
MARK = "0row0"  # stands for the row's id in the page's URL: digits and letters, never escaped


@pass_context
def row_actions(context, actions, row_id, row) -> Markup:
    """The links and forms of one row, in the order of `actions`."""
    return Markup("").join(_action(context, action, row_id, row) for action in actions)


def _action(context, action, row_id, row):
    found = LINKS.get(type(action))
    if found is None:
        return action.render(context, row_id, row)
    endpoint, icon = found
    before, after = _url_around_id(context, endpoint)
    # The icon is decoration: a screen reader reads the action's name (issue 18, accessibility).
    return Markup('<a class="icon" href="{}{}{}" title="{}"><span class="{}" aria-hidden="true"></span>'
                  '<span class="sr-only">{}</span></a>').format(
        before, quote(str(row_id), safe=""), after, action.title or "", icon, action.title or "")


def details_link(context, row_id, text) -> Markup:
    """The row's `text` linked to its details page, with the page's return URL."""
    before, after = _url_around_id(context, ".details_view")
    return Markup('<a href="{}{}{}">{}</a>').format(before, quote(str(row_id), safe=""), after, text)


def _url_around_id(context, endpoint: str) -> tuple[Markup, Markup]:
    """The action's URL for this page (its return URL kept) before and after the row's id."""
    return_url = context.resolve("return_url")
    made = g.setdefault("list_row_urls", {})
    key = (context.resolve("admin_view").endpoint, endpoint, return_url)
    if key not in made:
        url = context.resolve("get_url")(endpoint, id=MARK, url=return_url)
        before, _mark, after = url.partition(MARK)
        made[key] = (escape(before), escape(after))
    return made[key]
