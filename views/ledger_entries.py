"""Every movement of the dealer parts accounts, as booked: the append-only ledger, read only
(R-PART-8). Who sees which outlets is decided by backoffice.access, not here."""
from __future__ import annotations

from decimal import Decimal

from flask import g, request, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from backoffice import ledger_source
from backoffice.labels import label
from backoffice.permissions import DESK
from backoffice.timezones import to_local
from models import LedgerEntry, PartsRequest, PartsRequestLine, db
from models.choices import LedgerKind
from models.parts_ledger import ReconciliationDispute

from .base import LocalDateBetweenFilter, ScopedOptionsFilter, SecureModelView
from .exports import csv_text
from .fields import LABELS, enum_formatter, money_formatter, staff_name, time_formatter
from .parts_accounts import dealer_outlet_options

COLUMNS = ("at", "outlet", "kind", "part", "qty", "delta", "cash_amount", "balance_after", "reason", "source",
           "actor")


def signed_money(value: Decimal | None) -> str:
    """A change of the balance: +¥1,200.00, -¥35.50, ¥0.00."""
    if value is None:
        return ""
    sign = "+" if value > 0 else "-" if value < 0 else ""
    return f"{sign}¥{abs(value):,.2f}"


def actor_name(entry: LedgerEntry) -> str:
    return staff_name(entry.actor, entry.actor_id)


# --- source documents (backoffice.ledger_source) --------------------------------------------
# A parts-request line links to its request, an old part to the old part, an approval to the
# approval, a quota to the account's statement of that month. Anything else (an adjustment,
# a source written by hand) is shown as plain text.
DETAILS = {ledger_source.OLD_PART: "old_part.details_view", ledger_source.APPROVAL: "approval.details_view",
           ledger_source.PARTS_REQUEST: "parts_request.details_view", ledger_source.RETIREMENT: "outlet.details_view"}


def document_links(entries) -> dict[str, tuple[str, str] | None]:
    """{source: (url, title)} for the entries whose source names a document the user can open,
    {source: None} for the others. One query per kind of document looked up (request lines,
    disputes), whatever the number of entries (no N+1)."""
    links: dict[str, tuple[str, str] | None] = {entry.source: None for entry in entries}
    lookups: dict[str, dict[int, list[str]]] = {ledger_source.PARTS_REQUEST_LINE: {},
                                                ledger_source.RECONCILIATION: {}}
    for entry in entries:
        source = ledger_source.parse(entry.source)
        if source is None:
            continue
        if source.kind in lookups:
            lookups[source.kind].setdefault(source.record_id, []).append(entry.source)
        elif source.kind in DETAILS:
            links[entry.source] = (url_for(DETAILS[source.kind], id=source.record_id), "")
        elif source.kind == ledger_source.QUOTA and source.record_id == entry.account_id:
            month = f"{to_local(entry.at):%Y-%m}"
            links[entry.source] = (url_for("parts_account.details_view", id=entry.account_id, month=month), "")
    _link_request_lines(lookups[ledger_source.PARTS_REQUEST_LINE], links)
    _link_disputes(lookups[ledger_source.RECONCILIATION], links)
    return links


def _link_request_lines(lines: dict[int, list[str]], links: dict) -> None:
    """A parts-request line links to its request, titled with the request's number."""
    if not lines:
        return
    found = db.session.execute(
        select(PartsRequestLine.id, PartsRequest.id, PartsRequest.number)
        .join(PartsRequest, PartsRequestLine.request_id == PartsRequest.id)
        .where(PartsRequestLine.id.in_(sorted(lines)))).all()
    for line_id, request_id, number in found:
        for text in lines[line_id]:
            links[text] = (url_for("parts_request.details_view", id=request_id), number)


def _link_disputes(disputes: dict[int, list[str]], links: dict) -> None:
    """A correction links to the monthly statement whose dispute it resolved (R-PART-7)."""
    if not disputes:
        return
    found = db.session.execute(select(ReconciliationDispute.id, ReconciliationDispute.reconciliation_id)
                               .where(ReconciliationDispute.id.in_(sorted(disputes)))).all()
    for dispute_id, record_id in found:
        for text in disputes[dispute_id]:
            links[text] = (url_for("parts_month.details_view", id=record_id), "")


def source_link(view, context, model, name):
    links = g.get("ledger_source_links")
    if links is None or model.source not in links:  # not listed first (the details page): this one
        links = {**(links or {}), **document_links([model])}
        g.ledger_source_links = links
    found = links.get(model.source)
    if found is None:
        return model.source
    href, title = found
    title_attr = f' title="{escape(title)}"' if title else ""
    return Markup(f'<a href="{escape(href)}"{title_attr} data-testid="ledger-source">{escape(model.source)}</a>')


def kind_options():
    return [(k.value, label(LedgerKind, k.value)) for k in LedgerKind]


class LedgerEntryView(SecureModelView):
    """配件台账流水: list, details, CSV. Entries are never created, changed or deleted here
    (the ORM and the database refuse UPDATE/DELETE; postings come from the documents)."""

    roles = DESK
    export_roles = DESK
    create_roles = edit_roles = delete_roles = frozenset()  # can_create/can_edit/can_delete: False

    column_list = COLUMNS
    column_details_list = COLUMNS
    column_export_list = COLUMNS
    column_labels = dict(LABELS, kind=_l("Movement"), part=_l("Part"), qty=_l("Qty"), delta=_l("On account"),
                         cash_amount=_l("Cash"), balance_after=_l("Balance"), reason=_l("Reason"),
                         source=_l("Source document"), actor=_l("Posted by"))
    column_formatters = {"at": time_formatter, "kind": enum_formatter(LedgerKind),
                         "delta": lambda v, c, m, n: signed_money(m.delta),
                         "cash_amount": money_formatter, "balance_after": money_formatter,
                         "source": source_link, "actor": lambda v, c, m, n: actor_name(m)}
    column_formatters_export = {
        "at": time_formatter, "outlet": lambda v, c, m, n: csv_text(m.outlet),
        "kind": enum_formatter(LedgerKind), "part": lambda v, c, m, n: csv_text(m.part or ""),
        "qty": lambda v, c, m, n: "" if m.qty is None else str(m.qty),
        "delta": lambda v, c, m, n: f"{m.delta:.2f}", "cash_amount": lambda v, c, m, n: f"{m.cash_amount:.2f}",
        "balance_after": lambda v, c, m, n: f"{m.balance_after:.2f}",
        "reason": lambda v, c, m, n: csv_text(m.reason), "source": lambda v, c, m, n: csv_text(m.source),
        "actor": lambda v, c, m, n: csv_text(actor_name(m))}
    column_searchable_list = ("reason", "source")
    column_sortable_list = ("at", "kind", "delta", "cash_amount", "balance_after")
    column_default_sort = [("at", True), ("id", True)]

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(LedgerEntry.outlet_id, LABELS["outlet"], dealer_outlet_options),
            ScopedOptionsFilter(LedgerEntry.kind, _l("Movement"), kind_options),
            LocalDateBetweenFilter(LedgerEntry.at, LABELS["at"]),
        )
        super().__init__(*args, **kwargs)

    def get_query(self):
        return super().get_query().options(joinedload(LedgerEntry.outlet), joinedload(LedgerEntry.part),
                                           joinedload(LedgerEntry.actor))

    def get_list(self, *args, **kwargs):
        """The page's rows, and the links of their source documents in one more query (not for
        the CSV export: it shows sources as text, and may hold thousands of rows)."""
        count, rows = super().get_list(*args, **kwargs)
        if isinstance(rows, list) and request.endpoint != f"{self.endpoint}.export":
            g.ledger_source_links = document_links(rows)
        return count, rows
