"""Parts accounts: statement per outlet (print, CSV), quota, and the monthly reconciliation
(R-PART-2, R-PART-7, R-PART-8)."""
from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import Response, abort, g, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select

from backoffice import fee_claims, ledger, money, network_approvals, reconciliation
from backoffice.errors import FieldErrors
from backoffice.labels import choices, label
from backoffice.months import first_day, month_end, parse_day, parse_month, previous_month
from backoffice.permissions import DESK, why_not
from backoffice.timezones import format_local, local_day_bounds, local_today
from models import ApprovalRequest, Outlet, PartsAccount, PartsReconciliation, db
from models.choices import DisputeOutcome, LedgerKind, ReconciliationStatus

from . import exports
from .actions import run_action
from .base import ScopedOptionsFilter, SecureModelView
from .exports import csv_text  # one rule for every export (views.exports.safe_cell)
from .fields import LABELS, money_formatter, time_formatter
from .service_posts import details_post, list_post

R = ReconciliationStatus


@dataclass(frozen=True)
class Period:
    """The statement's local calendar days first..last; `month` when it is one whole month."""

    first: date
    last: date
    month: date | None = None

    @property
    def title(self) -> str:
        return f"{self.month:%Y-%m}" if self.month else f"{self.first:%Y-%m-%d} – {self.last:%Y-%m-%d}"

    @property
    def args(self) -> dict:
        """The query arguments that show this period again (the CSV link, the print)."""
        if self.month:
            return {"month": f"{self.month:%Y-%m}"}
        return {"from": f"{self.first:%Y-%m-%d}", "to": f"{self.last:%Y-%m-%d}"}

    @property
    def slug(self) -> str:
        return f"{self.month:%Y-%m}" if self.month else f"{self.first:%Y%m%d}-{self.last:%Y%m%d}"


def period_from(args) -> Period:
    """From/to local dates when both are valid, else ?month=YYYY-MM, else this month."""
    first, last = parse_day(args.get("from")), parse_day(args.get("to"))
    if first and last:
        first, last = min(first, last), max(first, last)
        return Period(first, last)
    month = parse_month(args.get("month")) or first_day(local_today())
    return Period(month, month_end(month), month)


@dataclass(frozen=True)
class KindTotal:
    kind: str
    on_account: Decimal
    cash: Decimal


def kind_totals(figures: ledger.Statement) -> list[KindTotal]:
    """The period's movements summed per kind: on account (the balance) and payable in cash.
    Opening + every on-account total = closing, to the cent."""
    return [KindTotal(kind.value, figures.total(kind.value),
                      sum((e.cash_amount for e in figures.entries if e.kind == kind.value), money.ZERO))
            for kind in LedgerKind]


def statement_rows(figures: ledger.Statement) -> list[list[str]]:
    rows = [[_("Date"), _("Movement"), _("Part"), _("Qty"), _("Reason"), _("On account"), _("Cash"),
             _("Balance")],
            ["", _("Opening balance"), "", "", "", "", "", f"{figures.opening:.2f}"]]
    for e in figures.entries:
        rows.append([format_local(e.at), label(LedgerKind, e.kind), csv_text(e.part), str(e.qty or ""),
                     csv_text(e.reason), f"{e.delta:.2f}", f"{e.cash_amount:.2f}", f"{e.balance_after:.2f}"])
    rows.append(["", _("Closing balance"), "", "", "", "", f"{figures.cash_total:.2f}", f"{figures.closing:.2f}"])
    rows.append([])
    for total in kind_totals(figures):
        rows.append(["", label(LedgerKind, total.kind), "", "", "", f"{total.on_account:.2f}", f"{total.cash:.2f}", ""])
    rows.append(["", _("Total"), "", "", "", f"{figures.closing - figures.opening:.2f}", f"{figures.cash_total:.2f}",
                 ""])
    return rows


def held(account: PartsAccount):
    """What the outlet holds on account, from the page's one query (or this account's own)."""
    found = g.get("parts_held") or {}
    if account.outlet_id not in found:
        found = {**found, **ledger.held_on_account(db.session, [account.outlet_id])}
        g.parts_held = found
    return found[account.outlet_id]


def dealer_outlet_options():
    """Outlets that hold a parts account (not the service center), as the user may see them."""
    return db.session.execute(select(Outlet.id, Outlet.name).where(Outlet.is_service_center.is_(False))
                              .order_by(Outlet.code)).all()


class PartsAccountView(SecureModelView):
    roles = export_roles = DESK
    details_template = "admin/parts_statement.html"
    column_list = ("outlet", "quota", "balance", "drawn", "updated_at")
    column_labels = dict(LABELS, quota=_l("Quota"), balance=_l("Left on account"), drawn=_l("Held on account"),
                         updated_at=_l("Last movement"))
    column_formatters = {"quota": money_formatter, "balance": money_formatter, "updated_at": time_formatter,
                         "drawn": lambda v, c, m, n: f"¥{held(m):,.2f}"}
    column_export_list = ("outlet", "quota", "balance")
    column_default_sort = "outlet_id"

    def __init__(self, *args, **kwargs):
        self.column_filters = (ScopedOptionsFilter(PartsAccount.outlet_id, LABELS["outlet"], dealer_outlet_options),)
        super().__init__(*args, **kwargs)

    def get_list(self, *args, **kwargs):
        """The page's accounts, and what each outlet holds on account in one more query."""
        count, rows = super().get_list(*args, **kwargs)
        rows = list(rows)
        g.parts_held = ledger.held_on_account(db.session, [row.outlet_id for row in rows])
        return count, rows

    def _figures(self, found) -> tuple[Period, ledger.Statement]:
        period = period_from(request.args)
        return period, ledger.statement(db.session, found.outlet_id, *local_day_bounds(period.first, period.last))

    @expose("/statement.csv")
    def statement_csv(self):
        """The statement on screen as a spreadsheet: same account (same scope), same period."""
        found = self.get_one(request.args.get("id", ""))
        period, figures = self._figures(found)
        out = io.StringIO()
        csv.writer(out).writerows(statement_rows(figures))
        name = f"parts-statement-{found.outlet.code}-{period.slug}.csv"
        return Response(exports.BOM + out.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": exports.attachment(name)})

    @expose("/statement.xlsx")
    def statement_xlsx(self):
        """The same statement as an Excel workbook; amounts stay numbers (summable)."""
        found = self.get_one(request.args.get("id", ""))
        period, figures = self._figures(found)
        rows = [[Decimal(cell) if index >= 5 and cell and exports.PLAIN_NUMBER.match(cell) else cell
                 for index, cell in enumerate(row)] for row in statement_rows(figures)]
        title = _("Parts statement %(outlet)s %(period)s", outlet=found.outlet.code, period=period.slug)
        return exports.report_response([exports.Table(title, rows[0], rows[1:])], "xlsx", title)

    @expose("/quota/", methods=("POST",))
    def quota_view(self):
        """R-PART-2: quota = policy rate × the outlet's purchases; the difference is posted."""
        verdict = ledger.actions(db.session, self.get_one(request.args.get("id", "")), current_user)["grant_quota"]
        if verdict.for_role:  # never the user's button
            abort(403)
        return run_action(self, lambda found: ledger.grant_quota(
            db.session, found.outlet, current_user._get_current_object()), _("Quota brought in line with purchases."),
            "quota")

    @expose("/adjust/", methods=("POST",))
    def adjust_view(self):
        """R-PART-8: a manager corrects the account with the reason, once per form; a credit
        waits for another manager's approval."""
        def adjust(found):
            amount = fee_claims.parse_amount(request.form.get("adjust_amount"), "adjust_amount")
            return network_approvals.correct_account(
                db.session, found, current_user._get_current_object(), amount,
                request.form.get("adjust_reason", ""), request.form.get("adjust_token", ""))

        def done(result):
            if isinstance(result, ApprovalRequest):
                return _("The credit is sent to another manager for approval.")
            return _("Adjustment posted to the account.")
        return run_action(self, adjust, done, "adjust")

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            found = kwargs["model"]
            period, figures = self._figures(found)
            actions = ledger.actions(db.session, found, current_user)
            # A fresh one-time key each time the form is shown: a refused form booked nothing.
            kwargs.update(actions=actions, why_not=why_not(actions),
                          adjust_failure=_failure(), adjust_token=uuid.uuid4().hex)
            kwargs.update(period=period, figures=figures, held=held(found), totals=kind_totals(figures),
                          kind_label=lambda v: label(LedgerKind, v),
                          csv_url=url_for(".statement_csv", id=found.id, **period.args),
                          xlsx_url=url_for(".statement_xlsx", id=found.id, **period.args),
                          target_quota=ledger.quota_for(db.session, found.outlet))
        return super().render(template, **kwargs)


def month_badge(view, context, model, name):
    css = {"open": "warning", "confirmed": "info", "disputed": "danger", "closed": "success"}.get(model.status, "light")
    badge = Markup(f'<span class="badge badge-{css}">{escape(label(R, model.status))}</span>')
    if model.revision > 1:  # R-PART-7: reissued after a resolved dispute
        badge += Markup(f' <span class="badge badge-light" data-testid="revision">'
                        f'{escape(_("Reissued, revision %(n)d", n=model.revision))}</span>')
    return badge


def read_corrections(form) -> list[reconciliation.CorrectionDraft]:
    """The resolve form's correction rows (empty rows kept, so error keys match row numbers)."""
    drafts, errors = [], {}
    for n in range(reconciliation.CORRECTION_LINES):
        try:
            amount = money.parse(form.get(f"correction-{n}-amount", ""), signed=True)
        except ValueError as exc:
            errors[f"correction-{n}-amount"], amount = exc.args[0], None
        drafts.append(reconciliation.CorrectionDraft(amount, form.get(f"correction-{n}-reason", "")))
    if errors:
        raise FieldErrors(errors)
    return drafts


class ReconciliationView(SecureModelView):
    roles = export_roles = DESK
    list_template = "admin/parts_month_list.html"
    details_template = "admin/parts_month_details.html"
    column_list = ("outlet", "month", "opening", "closing", "cash_total", "status", "confirmed_at", "closed_at")
    column_labels = dict(LABELS, month=_l("Period"), opening=_l("Opening balance"), closing=_l("Closing balance"),
                         cash_total=_l("Cash"), confirmed_at=_l("Confirmed"), closed_at=_l("Closed"),
                         revision=_l("Revision"), corrections=_l("Corrections"))
    column_formatters = {"opening": money_formatter, "closing": money_formatter, "cash_total": money_formatter,
                         "status": month_badge, "confirmed_at": time_formatter, "closed_at": time_formatter,
                         "month": lambda v, c, m, n: f"{m.month:%Y-%m}"}
    column_default_sort = [("month", True), ("id", True)]
    column_export_list = ("outlet", "month", "opening", "corrections", "closing", "cash_total", "status", "revision")
    column_formatters_export = {"month": lambda v, c, m, n: f"{m.month:%Y-%m}",
                                "status": lambda v, c, m, n: label(R, m.status)}

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(PartsReconciliation.outlet_id, LABELS["outlet"], dealer_outlet_options),
            ScopedOptionsFilter(PartsReconciliation.status, LABELS["status"],
                                lambda: [(s.value, str(label(R, s.value))) for s in R]))
        super().__init__(*args, **kwargs)

    @expose("/issue/", methods=("POST",))
    def issue_view(self):
        """Last month's statements for every outlet with an account (idempotent)."""
        if not reconciliation.actions(db.session, None, current_user)["issue"]:
            return self._refuse()
        month = previous_month(local_today())
        return list_post(self, lambda: reconciliation.issue_all(db.session, month, current_user._get_current_object()),
                         lambda _issued: _("Statements of %(month)s issued.", month=f"{month:%Y-%m}"))

    @expose("/confirm/", methods=("POST",))
    def confirm_view(self):
        return details_post(self, reconciliation.confirm, _("Statement confirmed."), "confirm")

    @expose("/dispute/", methods=("POST",))
    def dispute_view(self):
        return details_post(self, reconciliation.dispute, _("Dispute recorded."), "dispute", "dispute_reason")

    @expose("/resolve/", methods=("POST",))
    def resolve_view(self):
        """R-PART-7: the center resolves the outlet's dispute (corrections or no change, with the
        reasons) and the statement is reissued for the outlet to confirm; a credit (+) is a
        manager's (R-PART-8), the service refuses it on the amount line for a clerk."""
        def resolve(found):
            return reconciliation.resolve(
                db.session, found, current_user._get_current_object(), request.form.get("outcome", ""),
                read_corrections(request.form), request.form.get("resolution_note", ""))
        return run_action(self, resolve, lambda done: _("Dispute resolved: revision %(n)d issued to the outlet.",
                                                         n=done.reconciliation.revision), "resolve")

    @expose("/close/", methods=("POST",))
    def close_view(self):
        return details_post(self, reconciliation.close, _("Month closed."), "close")

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            found = kwargs["model"]
            month = reconciliation.month_figures(db.session, found)
            figures = month.statement
            actions = reconciliation.actions(db.session, found, current_user)
            kwargs.update(figures=figures, totals=kind_totals(figures), month=month,
                          corrections=reconciliation.corrections_of(db.session, found),
                          outcome_label=lambda v: label(DisputeOutcome, v), outcomes=choices(DisputeOutcome),
                          correction_rows=range(reconciliation.CORRECTION_LINES),
                          kind_label=lambda v: label(LedgerKind, v), failure=_failure(),
                          status_label=lambda v: label(R, v),
                          actions=actions, why_not=why_not(actions),
                          account_id=db.session.scalar(select(PartsAccount.id).where(
                              PartsAccount.outlet_id == found.outlet_id)))
        if template == self.list_template:  # Flask-Admin's own `actions` are the list's bulk actions
            kwargs["month_actions"] = reconciliation.actions(db.session, None, current_user)
        return super().render(template, **kwargs)


def _failure():
    return g.get("action_failure") or {}
