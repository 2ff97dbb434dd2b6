"""Parts accounts: statement per outlet (print, CSV), quota, and the monthly reconciliation
(R-PART-2, R-PART-7, R-PART-8)."""
from __future__ import annotations

import csv
import io
from datetime import date

from flask import Response, flash, g, redirect, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select

from backoffice import ledger, reconciliation
from backoffice.labels import label
from backoffice.timezones import format_local, local_today
from models import PartsAccount, PartsReconciliation, db
from models.choices import LedgerKind, ReconciliationStatus, Role

from .actions import run_action
from .base import STAFF, ScopedOptionsFilter, SecureModelView
from .customers import outlet_options
from .fields import LABELS, money_formatter, time_formatter

R = ReconciliationStatus


def parse_month(text: str | None) -> date:
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return local_today().replace(day=1)


def statement_rows(figures: ledger.Statement) -> list[list[str]]:
    rows = [[_("Date"), _("Movement"), _("Part"), _("Qty"), _("Reason"), _("On account"), _("Cash"),
             _("Balance")],
            ["", _("Opening balance"), "", "", "", "", "", f"{figures.opening:.2f}"]]
    for e in figures.entries:
        rows.append([format_local(e.at), label(LedgerKind, e.kind), str(e.part or ""), str(e.qty or ""),
                     e.reason, f"{e.delta:.2f}", f"{e.cash_amount:.2f}", f"{e.balance_after:.2f}"])
    rows.append(["", _("Closing balance"), "", "", "", "", f"{figures.cash_total:.2f}", f"{figures.closing:.2f}"])
    return rows


class PartsAccountView(SecureModelView):
    roles = STAFF | {Role.DEALER}
    export_roles = STAFF | {Role.DEALER}
    details_template = "admin/parts_statement.html"
    column_list = ("outlet", "quota", "balance", "drawn", "updated_at")
    column_labels = dict(LABELS, quota=_l("Quota"), balance=_l("Left on account"), drawn=_l("Held on account"),
                         updated_at=_l("Last movement"))
    column_formatters = {"quota": money_formatter, "balance": money_formatter, "updated_at": time_formatter,
                         "drawn": lambda v, c, m, n: f"¥{m.quota - m.balance:,.2f}"}
    column_export_list = ("outlet", "quota", "balance")
    column_default_sort = "outlet_id"

    def __init__(self, *args, **kwargs):
        self.column_filters = (ScopedOptionsFilter(PartsAccount.outlet_id, LABELS["outlet"], outlet_options),)
        super().__init__(*args, **kwargs)

    def _figures(self, found):
        month = parse_month(request.args.get("month"))
        return month, reconciliation.month_statement(db.session, found.outlet_id, month)

    @expose("/statement.csv")
    def statement_csv(self):
        found = self.get_one(request.args.get("id", ""))
        month, figures = self._figures(found)
        out = io.StringIO()
        csv.writer(out).writerows(statement_rows(figures))
        name = f"parts-statement-{found.outlet.code}-{month:%Y-%m}.csv"
        return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}"})

    @expose("/quota/", methods=("POST",))
    def quota_view(self):
        if current_user.role not in STAFF:
            return self._refuse()
        return run_action(self, lambda found: ledger.grant_quota(
            db.session, found.outlet, current_user._get_current_object()), _("Quota brought in line with purchases."),
            "quota")

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            month, figures = self._figures(kwargs["model"])
            kwargs.update(month=month, figures=figures, kind_label=lambda v: label(LedgerKind, v),
                          target_quota=ledger.quota_for(db.session, kwargs["model"].outlet),
                          can_grant=current_user.role in STAFF)
        return super().render(template, **kwargs)


def month_badge(view, context, model, name):
    css = {"open": "warning", "confirmed": "info", "disputed": "danger", "closed": "success"}[model.status]
    return Markup(f'<span class="badge badge-{css}">{escape(label(R, model.status))}</span>')


class ReconciliationView(SecureModelView):
    roles = STAFF | {Role.DEALER}
    export_roles = STAFF | {Role.DEALER}
    list_template = "admin/parts_month_list.html"
    details_template = "admin/parts_month_details.html"
    column_list = ("outlet", "month", "opening", "closing", "cash_total", "status", "confirmed_at", "closed_at")
    column_labels = dict(LABELS, month=_l("Month"), opening=_l("Opening balance"), closing=_l("Closing balance"),
                         cash_total=_l("Cash"), confirmed_at=_l("Confirmed"), closed_at=_l("Closed"))
    column_formatters = {"opening": money_formatter, "closing": money_formatter, "cash_total": money_formatter,
                         "status": month_badge, "confirmed_at": time_formatter, "closed_at": time_formatter,
                         "month": lambda v, c, m, n: f"{m.month:%Y-%m}"}
    column_default_sort = [("month", True), ("id", True)]
    column_export_list = ("outlet", "month", "opening", "closing", "cash_total", "status")

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(PartsReconciliation.outlet_id, LABELS["outlet"], outlet_options),
            ScopedOptionsFilter(PartsReconciliation.status, LABELS["status"],
                                lambda: [(s.value, str(label(R, s.value))) for s in R]))
        super().__init__(*args, **kwargs)

    @expose("/issue/", methods=("POST",))
    def issue_view(self):
        """Last month's statements for every outlet with an account (idempotent)."""
        if current_user.role not in STAFF:
            return self._refuse()
        month = reconciliation.previous_month(local_today())
        outlets = db.session.scalars(select(PartsAccount.outlet_id)).all()
        for outlet_id in outlets:
            reconciliation.issue(db.session, outlet_id, month)
        db.session.commit()
        flash(_("Statements of %(month)s issued.", month=f"{month:%Y-%m}"), "success")
        return redirect(self.get_url(".index_view"))

    @expose("/confirm/", methods=("POST",))
    def confirm_view(self):
        return run_action(self, lambda found: reconciliation.confirm(
            db.session, found, current_user._get_current_object()), _("Statement confirmed."), "confirm")

    @expose("/dispute/", methods=("POST",))
    def dispute_view(self):
        return run_action(self, lambda found: reconciliation.dispute(
            db.session, found, current_user._get_current_object(), request.form.get("dispute_reason", "")),
            _("Dispute recorded."), "dispute")

    @expose("/close/", methods=("POST",))
    def close_view(self):
        return run_action(self, lambda found: reconciliation.close(
            db.session, found, current_user._get_current_object()), _("Month closed."), "close")

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            found = kwargs["model"]
            kwargs.update(figures=reconciliation.month_statement(db.session, found.outlet_id, found.month),
                          kind_label=lambda v: label(LedgerKind, v), failure=_failure(),
                          can_confirm=found.status in (R.OPEN, R.DISPUTED) and current_user.role != Role.ENGINEER,
                          can_dispute=found.status == R.OPEN,
                          can_close=found.status == R.CONFIRMED and current_user.role in STAFF,
                          account_id=db.session.scalar(select(PartsAccount.id).where(
                              PartsAccount.outlet_id == found.outlet_id)))
        if template == self.list_template:
            kwargs["can_issue"] = current_user.role in STAFF
        return super().render(template, **kwargs)


def _failure():
    return g.get("action_failure") or {}
