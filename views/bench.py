"""The two references the benchmark measures our ticket list against (issue 16), mounted only in
bench mode (app.config["BENCH"], BACKOFFICE_BENCH=1; never in production):

- a stock Flask-Admin `ModelView` of the tickets (/admin/stock_ticket/) configured like our list
  (same columns, searchable and sortable columns, status/outlet filters, CSV export, 20 a page)
  with nothing of ours: what "out of the box" costs on the same data;
- a lean hand-written keyset page (/bench/lean/tickets): one select with joins, a seek on
  (created_at desc, id desc), a bare table: what the page could cost at least.

Both run under the same login and the same scoped session as our list (backoffice.access adds
the row scope to their queries), so a dealer sees only its outlets' rows on them too: the
comparison is made at the same scope.
"""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Flask, abort, render_template, request
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import literal, select, tuple_, union_all
from sqlalchemy.orm import aliased

from models import Customer, Outlet, Ticket, User, db

from .base import parse_id, refuse_page
from .fields import LABELS

PAGE_SIZE = 20
LEAN_COLUMNS = ("number", "created_at", "customer", "contact_phone", "kind", "status", "outlet",
                "assigned_engineer")


class StockTicketView(ModelView):
    """Flask-Admin as shipped, set up like our ticket list; only access is ours (any signed-in user)."""

    column_list = LEAN_COLUMNS
    column_searchable_list = ("number", "contact_phone", "customer.phone", "customer.name", "unit.serial")
    column_sortable_list = ("number", "created_at", "contact_phone", "kind", "status",
                            ("customer", "customer.name"), ("outlet", "outlet.code"))
    column_default_sort = ("created_at", True)
    column_filters = ("status", "outlet.name")
    can_create = can_edit = can_delete = False
    can_view_details = True
    can_export = True
    export_types = ["csv"]
    page_size = PAGE_SIZE

    def is_accessible(self):
        return current_user.is_authenticated

    def is_visible(self):  # reached by URL only: our pages' menus stay as they are in production
        return False

    def inaccessible_callback(self, name, **kwargs):
        return refuse_page()

    # Mounted on our Admin, the stock list.html imports our admin/model/layout.html, which asks
    # the view about export caps (views/base.py); stock Flask-Admin has none to state.
    def export_cap(self, export_type: str) -> int:
        return self.export_max_rows

    def export_cut(self, count, export_type: str) -> bool:
        return False


bp = Blueprint("bench", __name__, url_prefix="/bench")


def parse_after(text: str) -> tuple[datetime, int] | None:
    """The keyset cursor `<created_at ISO>,<id>` of the last row shown, or None (first page)."""
    stamp, _sep, raw_id = (text or "").rpartition(",")
    ticket_id = parse_id(raw_id)
    if not stamp or ticket_id is None:
        return None
    try:
        at = datetime.fromisoformat(stamp)
        return (at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)), ticket_id  # times are UTC
    except (ValueError, OverflowError):  # not a time, or one past the calendar's end in UTC
        return None


def lean_query(after, status: str, phone: str):
    """One select: the page's columns through outer joins (the row scope adds its criteria to
    each entity), newest first, seeking past `after` instead of an OFFSET."""
    engineer = aliased(User)
    stmt = (select(Ticket.id, Ticket.number, Ticket.created_at, Customer.name.label("customer"),
                   Ticket.contact_phone, Ticket.kind, Ticket.status, Outlet.code.label("outlet"),
                   engineer.full_name.label("assigned_engineer"))
            .outerjoin(Customer, Customer.id == Ticket.customer_id)
            .outerjoin(Outlet, Outlet.id == Ticket.outlet_id)
            .outerjoin(engineer, engineer.id == Ticket.assigned_engineer_id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(PAGE_SIZE))
    if after:
        # Bound as the column's type (naive UTC), so PostgreSQL compares within the index.
        stmt = stmt.where(tuple_(Ticket.created_at, Ticket.id) < tuple_(literal(after[0], Ticket.created_at.type),
                                                                         literal(after[1])))
    if status:
        stmt = stmt.where(Ticket.status == status)
    if phone:  # exact, as two index lookups (an OR would walk the date index looking for them)
        owners = select(Customer.id).where(Customer.phone == phone)
        by_contact, by_owner = aliased(Ticket), aliased(Ticket)
        found = union_all(select(by_contact.id).where(by_contact.contact_phone == phone),
                          select(by_owner.id).where(by_owner.customer_id.in_(owners)))
        stmt = stmt.where(Ticket.id.in_(found))
    return stmt


@bp.route("/lean/tickets")
@login_required
def lean_tickets():
    args = request.args
    if len(args.get("phone", "")) > 30 or len(args.get("status", "")) > 20:
        abort(400)
    after = parse_after(args.get("after", ""))
    rows = db.session.execute(lean_query(after, args.get("status", ""), args.get("phone", ""))).all()
    last = rows[-1] if len(rows) == PAGE_SIZE else None
    cursor = f"{last.created_at.isoformat()},{last.id}" if last else None
    return render_template("bench/lean_tickets.html", rows=rows, columns=LEAN_COLUMNS, labels=LABELS,
                           next_after=cursor, status=args.get("status", ""), phone=args.get("phone", ""))


def register(app: Flask, admin: Admin) -> None:
    """Mount the references; called by init_views in bench mode only."""
    stock = StockTicketView(Ticket, db, name=_l("Tickets (stock Flask-Admin)"), category=_l("Benchmark"),
                            endpoint="stock_ticket")
    stock.export_max_rows = app.config["EXPORT_STREAM_MAX_ROWS"]  # the same cap as our CSV (stock: none)
    admin.add_view(stock)
    app.register_blueprint(bp)
