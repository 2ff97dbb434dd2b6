"""One secure base for every Flask-Admin screen: roles, row scope, 404s, errors, audit actor.

Row scope itself is applied by backoffice.access for every ORM query; this base only makes
Flask-Admin's own paths honour it (get_one -> 404, per-request filter options, exports
streamed in the request's scope) and turns domain errors into messages in the user's language.
"""
from __future__ import annotations

import logging
from itertools import islice

from flask import Response, abort, current_app, flash, redirect, request, stream_with_context, url_for
from flask_admin import BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, DateBetweenFilter, FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import desc
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from backoffice.errors import DomainError, FieldErrors, StaleEdit
from backoffice.input_guard import BadInput
from backoffice.permissions import CENTER
from backoffice.timezones import format_local, local_day_bounds
from models import db

from . import exports, list_paging
from .fields import LABELS
from .forms import Converter

log = logging.getLogger(__name__)



MAX_ID = 2**63 - 1  # a BIGINT; larger numbers would overflow the driver, not just miss
MAX_PAGE = 1_000_000  # list pages: far beyond any list, and page x page size stays a BIGINT
MAX_SEARCH = 200  # list search: longer than any field it searches (SQLite refuses huge LIKE patterns)


def parse_id(value) -> int | None:
    """A record id typed into a URL or form: plain ASCII digits within the database's integer
    range, else None ("²" passes str.isdigit() but not int(); 10**20 overflows SQLite/PostgreSQL)."""
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdecimal()) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def role_in(roles) -> bool:
    return current_user.is_authenticated and current_user.role in roles


def refuse_page():
    """A page the user may not open: sign in first, or 403 for a role that may not."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    abort(403)


class RolePage(BaseView):
    """A page of the back office that is not a model screen (intake, rankings, evaluations):
    open to `roles`; anyone else is sent to sign in, or refused."""

    roles: frozenset = frozenset()

    def is_accessible(self):
        return role_in(self.roles)

    def inaccessible_callback(self, name, **kwargs):
        return refuse_page()


class ScopedOptionsFilter(FilterEqual):
    """An equality filter whose option list is queried per request, under the user's scope
    (Flask-Admin otherwise builds option lists once, for everybody)."""

    def __init__(self, column, name, options_query, **kwargs):
        self._options_query = options_query
        super().__init__(column, name, options=self._live_options, **kwargs)

    def _live_options(self):
        if not current_user or not current_user.is_authenticated:
            return []
        return [(str(key), str(label)) for key, label in self._options_query()]

    def clean(self, value):
        if self.column.type.python_type is int:  # ids; anything else matches nothing
            found = parse_id(value)
            return -1 if found is None else found
        return value


class ChoiceFilter(BaseSQLAFilter):
    """A filter over a named condition (e.g. "overdue now"): `conditions` maps each option to
    a function returning a SQL expression, evaluated per request."""

    def __init__(self, column, name, conditions: dict, labels: dict):
        self._conditions, self._labels = conditions, labels
        super().__init__(column, name, options=self._live_options)

    def _live_options(self):
        return [(key, str(self._labels[key])) for key in self._conditions]

    def operation(self):
        return lazy_gettext("is")

    def validate(self, value):
        return value in self._conditions

    def apply(self, query, value, alias=None):
        return query.filter(self._conditions[value]())


class LocalDateBetweenFilter(DateBetweenFilter):
    """Date range in the service's local calendar days, compared with UTC timestamps."""

    def apply(self, query, value, alias=None):
        start, end = local_day_bounds(value[0], value[1])
        column = self.get_column(alias)
        return query.filter(column >= start, column < end)


class RoleRight:
    """A Flask-Admin right (`can_edit` …) answered per request from the view's role set of the
    same name (`edit_roles` …)."""

    def __set_name__(self, owner, name: str) -> None:
        self.roles = name.removeprefix("can_") + "_roles"

    def __get__(self, view, owner=None):
        return self if view is None else role_in(getattr(view, self.roles))


class SecureModelView(ModelView):
    # Who may open the screen and what each role may do on it.
    roles: frozenset = CENTER
    create_roles: frozenset = frozenset()
    edit_roles: frozenset = frozenset()
    delete_roles: frozenset = frozenset()
    export_roles: frozenset = frozenset()

    can_view_details = True
    can_set_page_size = True
    page_size = 20
    export_types = ["csv", "xlsx"]  # every cell through exports.safe_cell (get_export_value)
    details_modal = False
    column_display_pk = False
    list_template = "admin/model/list.html"
    model_form_converter = Converter

    # After the sort column, rows with the same value keep this order (same direction), so a
    # page is stable and an index on (column, *tiebreak) serves it (issue 16).
    column_sort_tiebreak: tuple[str, ...] = ("id",)

    def __init__(self, model, name=None, **kwargs):
        super().__init__(model, db, name=name, **kwargs)

    # --- counting, sorting and paging (views.list_paging) -------------------------------------
    def get_count_query(self):
        return None  # Flask-Admin's exact COUNT(*) is replaced by the capped count in get_list

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None,
                 count_cap=None):
        _count, query = super().get_list(page, sort_column, sort_desc, search, filters,
                                         execute=False, page_size=page_size)
        if self.simple_list_pager:
            count = None
        elif isinstance(query, list):
            count = len(query)
        else:
            count = list_paging.capped_count(query, count_cap or current_app.config["LIST_COUNT_CAP"])
        return count, (query.all() if execute and not isinstance(query, list) else query)

    def _apply_sorting(self, query, joins, sort_column, sort_desc):
        query, joins = super()._apply_sorting(query, joins, sort_column, sort_desc)
        if sort_column is not None:
            for name in self.column_sort_tiebreak:
                if name != sort_column:
                    column = getattr(self.model, name)
                    query = query.order_by(desc(column) if sort_desc else column)
        return query, joins

    # --- roles: can_create reads create_roles, and so on ------------------------------
    can_create, can_edit, can_delete, can_export = RoleRight(), RoleRight(), RoleRight(), RoleRight()

    def is_accessible(self):
        return role_in(self.roles)

    # Flask-Admin silently redirects when a role lacks a right; say it instead, and keep
    # out-of-scope ids a 404 first so nobody learns whether a record exists (R-ROLE-1).
    def _refuse(self, record_id=None):
        if record_id:
            self.get_one(record_id)
        abort(403)

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        if not self.can_create:
            self._refuse()
        return super().create_view()

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        if not self.can_edit:
            self._refuse(request.args.get("id"))
        return super().edit_view()

    @expose("/delete/", methods=("POST",))
    def delete_view(self):
        if not self.can_delete:
            self._refuse(request.form.get("id"))
        return super().delete_view()

    # --- exports ---------------------------------------------------------------------------
    # CSV streams in batches (up to EXPORT_STREAM_MAX_ROWS), XLSX is written row by row in memory
    # (up to EXPORT_MAX_ROWS). Both run inside the request (stream_with_context), so the session,
    # flask.g and the user's row scope (backoffice.access) stay in force while rows are read.
    # A cap never cuts silently: the file ends with a notice and the response carries
    # X-Export-Truncated: <rows in the file>; the list page says it too (admin/model/layout.html).

    def export_cap(self, export_type: str) -> int:
        key = "EXPORT_STREAM_MAX_ROWS" if export_type == "csv" else "EXPORT_MAX_ROWS"
        return current_app.config[key]

    def export_cut(self, count, export_type: str) -> bool:
        """Whether the list on screen is longer than what an export of this type holds."""
        return list_paging.more_than(count, self.export_cap(export_type))

    @expose("/export/<export_type>/")
    def export(self, export_type):
        """The list as filtered, sorted and searched on screen. The file is named in the user's
        language and the local time; CSV starts with a UTF-8 BOM (Excel on Chinese Windows)."""
        if not self.can_export or export_type not in self.export_types:
            return super().export(export_type)  # Flask-Admin's refusal: a redirect with a message
        count, query = self._export_query(export_type)
        cap = self.export_cap(export_type)
        truncated = list_paging.more_than(count, cap)
        notice = exports.truncation_notice(cap) if truncated else None
        header = [exports.safe_cell(title) for _name, title in self._export_columns]
        rows = self._export_batches(query, cap, export_type)
        if isinstance(query, list):  # rows loaded already: their cells too, before the session closes
            rows = list(rows)
        if export_type == "csv":
            response = Response(stream_with_context(exports.csv_chunks(header, rows, notice)),
                                mimetype="text/csv")  # Werkzeug adds "; charset=utf-8"
        else:
            response = Response(exports.xlsx_bytes(self.name, header, rows, notice),
                                mimetype=exports.XLSX_MIMETYPE)
        if truncated:
            response.headers[exports.TRUNCATED_HEADER] = str(cap)
        stamp = exports.stamp()
        response.headers["Content-Disposition"] = exports.attachment(
            self.get_export_name(export_type, stamp), f"{self.endpoint}_{stamp}.{export_type}")
        return response

    def _export_query(self, export_type):
        """(rows in the list, the unexecuted query) with the list page's filters, search and sort."""
        args = self._get_list_extra_args()
        sort = self._get_column_by_idx(args.sort)
        cap = self.export_cap(export_type)
        count, query = self.get_list(0, sort[0] if sort else None, args.sort_desc, args.search, args.filters,
                                     execute=False, page_size=0, count_cap=cap)
        if count is None:  # a view with simple_list_pager counts nothing: the cap must still be said
            count = len(query) if isinstance(query, list) else list_paging.capped_count(query, cap)
        return count, self.get_export_query(query)

    def get_export_query(self, query):
        """The export's query: a view adds the eager loads its export columns need (no N+1)."""
        return query

    def _export_batches(self, query, cap: int, export_type: str):
        """Rows of cells, one list per batch: the query runs once, read `EXPORT_BATCH_ROWS` rows at
        a time (a view whose get_list always executes hands over a list: it is cut the same way).

        The query runs on the session current when the rows are read: a streamed body is read
        after the view returned and its session was closed; the one opened for the stream is
        closed when the stream ends (the query would otherwise reopen the closed one, whose
        connection nobody returns)."""
        size = current_app.config["EXPORT_BATCH_ROWS"]
        cell = self.get_export_value if export_type == "csv" else self._xlsx_value
        if isinstance(query, list):
            found = iter(query[:cap])
        else:
            found = iter(query.with_session(db.session()).limit(cap).yield_per(size))
        while batch := list(islice(found, size)):
            self.before_export_batch(batch)
            yield [[cell(model, name) for name, _title in self._export_columns] for model in batch]

    def before_export_batch(self, models: list) -> None:
        """Load, in one query per batch, what the export columns need beyond relationships."""

    def _xlsx_value(self, model, name):
        return exports.xlsx_cell(super().get_export_value(model, name))

    def get_export_name(self, export_type="csv", stamp=None):
        """服务单_20261201-1530.csv: the screen's name in the user's language and the local time."""
        return f"{self.name}_{stamp or exports.stamp()}.{export_type}"

    def get_export_value(self, model, name):
        """Every exported cell, whatever the view's formatters: no formulas, no markup."""
        return exports.safe_cell(super().get_export_value(model, name))

    def _get_list_extra_args(self):
        """A page number past any list (or below zero) is a 400 with a message, not an SQL
        overflow."""
        args = super()._get_list_extra_args()
        if not 0 <= (args.page or 0) <= MAX_PAGE:
            raise BadInput(_("There is no such page in this list. Go back to the first page."))
        cap = current_app.config["LIST_COUNT_CAP"]
        if (args.page or 0) * self.get_safe_page_size(args.page_size) >= cap:
            raise BadInput(_("Lists page through their first %(cap)s rows only: add a filter or a search "
                             "to reach the rows further on.", cap=f"{cap:,}"))
        if args.search and len(args.search) > MAX_SEARCH:  # nothing stored is that long
            raise BadInput(_("The search text is too long: at most %(n)d characters.", n=MAX_SEARCH))
        return args

    def _on_model_change(self, form, model, is_created):
        """A rule refusing fields (FieldErrors) marks those fields on the form, which comes back
        with what was typed; handle_view_exception adds the message on top."""
        try:
            super()._on_model_change(form, model, is_created)
        except FieldErrors as exc:
            for key, message in exc.errors.items():
                field = getattr(form, key, None)
                if field is not None and hasattr(field, "errors"):
                    field.errors = [*field.errors, str(message)]  # the template shows str only
            raise

    def inaccessible_callback(self, name, **kwargs):
        return refuse_page()

    # --- scope ---------------------------------------------------------------------------
    def get_one(self, id):
        """Through the scoped session, and 404 for anything out of scope (R-ROLE-1)."""
        pk = self.model.__mapper__.primary_key[0]
        try:
            key = pk.type.python_type(id)
        except (TypeError, ValueError):
            abort(404)
        if isinstance(key, int) and (key := parse_id(id)) is None:  # "²", 10**20: no such row
            abort(404)
        record = self.get_query().filter(pk == key).one_or_none()
        if record is None:
            abort(404)
        return record

    def _get_filter_groups(self):
        """Option lists rebuilt per request so each user sees only options in scope."""
        groups = super()._get_filter_groups()
        if not groups:
            return groups
        for items in groups.values():
            for item in items:
                _index, flt = self._filter_args[item["arg"]]
                if hasattr(flt, "_live_options"):
                    item["options"] = flt._live_options()
        return groups

    # --- errors --------------------------------------------------------------------------
    def handle_view_exception(self, exc):
        if isinstance(exc, (IntegrityError, DataError, StaleDataError)):
            # Flask-Admin rolls back only after this returns; the message's language needs the
            # signed-in user, whom a failed transaction cannot load.
            db.session.rollback()
        if isinstance(exc, StaleEdit):
            flash(self._stale_message(exc), "error")
            return True
        if isinstance(exc, DomainError):
            flash(str(exc.message), "error")
            return True
        if isinstance(exc, StaleDataError):
            flash(_("Someone else changed this record while you were editing it. "
                    "Your entries are kept below; reload to see the other change."), "error")
            return True
        if isinstance(exc, IntegrityError):
            log.info("integrity error: %s", exc.orig)
            flash(_("This would duplicate or break a record that already exists "
                    "(for example a code, number or name that must be unique). "
                    "Nothing was saved; check the values and try again."), "error")
            return True
        if isinstance(exc, DataError):  # a value the database cannot hold (too large, say)
            log.info("database refused a form: %s", exc.orig)
            flash(_("A value is too large or not valid for this record. "
                    "Nothing was saved; check the values and try again."), "error")
            return True
        return super().handle_view_exception(exc)

    def _stale_message(self, exc: StaleEdit):
        """The refusal text plus a table of what the other person changed.

        Every gettext call stays outside the f-strings: on Python 3.11 pybabel reads an
        f-string as one token and would miss any call inside it.
        """
        text = escape(_("Someone else saved this record after you opened it, so your save was "
                        "refused. Your entries are still in the form: compare them with the "
                        "changes below, then reload the record and apply yours again."))
        if not exc.changes:
            return Markup(text)
        headings = (_("Field"), _("Before"), _("Now"), _("Changed by"), _("At"))
        head = "".join(f"<th>{escape(heading)}</th>" for heading in headings)
        rows = "".join(
            "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in (
                LABELS.get(c["field"], c["field"]), c["old"], c["new"], c["by"],
                format_local(c["at"]))) + "</tr>"
            for c in exc.changes
        )
        return Markup(f'{text}<table class="changed-fields mt-2"><tr>{head}</tr>{rows}</table>')
