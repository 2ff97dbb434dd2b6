"""The monthly quality report screen (R-RPT-1): figures from backoffice.quality_report under the
viewer's row scope, charts with their tables, printable, CSV/XLSX. An outlet sees its own fault
reports; the center all, or one outlet it picks."""
from __future__ import annotations

from datetime import date

from flask import flash, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from backoffice import access, months, quality_report
from backoffice.labels import label
from backoffice.permissions import DESK
from backoffice.timezones import local_today
from models import Outlet, db
from models.choices import ProductCategory

from . import charts, exports
from .base import RolePage, parse_id
from .home import filter_url

BASIS = {"rate": _l("Fault rate over units sold"), "trailing": _l("Jump over the trailing average")}


def chosen_month() -> date:
    """The month asked for (YYYY-MM); by default the last finished month. A typo or a month to
    come is said in a message, and the default shown."""
    default = months.previous_month(local_today())
    raw = request.args.get("month", "")
    if not raw:
        return default
    found = months.parse_month(raw)
    if found is None or found > local_today():
        flash(_("There is no report for “%(month)s”: showing %(default)s.", month=raw[:20],
                default=f"{default:%Y-%m}"), "error")
        return default
    return found


def chosen_outlet() -> Outlet | None:
    """The outlet asked for, if the user may see it (the row scope decides): otherwise all the
    outlets the user sees, said in a message — never whether the other outlet exists."""
    raw = request.args.get("outlet", "")
    if not raw:
        return None
    found = parse_id(raw)
    outlet = db.session.get(Outlet, found) if found else None
    if outlet is None:
        flash(_("No such outlet among yours: showing all the outlets you see."), "error")
    return outlet


class QualityReportView(RolePage):
    roles = DESK

    @expose("/")
    def index(self):
        month, outlet = chosen_month(), chosen_outlet()
        scope = access.current_scope()
        network_wide = outlet is None and (scope is None or scope.unrestricted)
        report = quality_report.build(db.session, month, outlet_id=outlet.id if outlet else None,
                                      with_sales=network_wide)
        export_type = request.args.get("export")
        if export_type:
            response = exports.report_response(tables(report), export_type,
                                               _("Quality report %(month)s", month=f"{month:%Y-%m}"))
            if response is not None:
                return response
            flash(_("Exports are CSV or XLSX."), "error")
        return self.render("admin/quality_report.html", report=report, outlet=outlet,
                           outlets=db.session.execute(select(Outlet.id, Outlet.code, Outlet.name)
                                                      .order_by(Outlet.code)).all(),
                           months=months.recent(local_today(), 24), basis=BASIS,
                           category_label=lambda v: label(ProductCategory, v) if v else "",
                           charts=report_charts(report), links=Links(self, report, outlet),
                           here=dict(month=f"{month:%Y-%m}", **({"outlet": outlet.id} if outlet else {})))


class Links:
    """Ticket-list addresses behind the report's figures: the month's fault reports, of a model
    or of an outlet (views.ticket_filters), within the outlet the report is for."""

    def __init__(self, view, report, outlet):
        self.tickets = next(v for v in view.admin._views if v.endpoint == "ticket")
        self.report, self.outlet = report, outlet

    def faults(self, *more, month=None):
        month = month or self.report.month
        days = f"{month:%Y-%m-%d} to {months.month_end(month):%Y-%m-%d}"
        outlet = [("outlet_id", self.outlet.id)] if self.outlet else []
        return filter_url(self.tickets, ("created_at", days), ("id", "fault_reports"), *outlet, *more)

    def model(self, model_id, month=None):
        return self.faults(("unit_id", model_id), month=month) if model_id else None

    def outlet_faults(self, outlet_id):
        return self.faults() if self.outlet else self.faults(("outlet_id", outlet_id))


def report_charts(report) -> dict:
    top = report.models[:10]
    codes = report.fault_codes[:10]
    return {
        "trend": charts.chart("line", [f"{m:%Y-%m}" for m, _n in report.trend],
                              charts.series(_("Fault reports"), [n for _m, n in report.trend])),
        "models": charts.chart("bar", [r.code or _("No unit") for r in top],
                               charts.series(f"{report.month:%Y-%m}", [r.faults for r in top]),
                               charts.series(f"{report.previous_month:%Y-%m}", [r.previous for r in top])),
        "codes": charts.chart("hbar", [r.name or _("Not coded") for r in codes],
                              charts.series(_("Fault reports"), [r.faults for r in codes])),
        "outlets": charts.chart("bar", [r.name for r in report.outlets[:15]],
                                charts.series(f"{report.month:%Y-%m}", [r.faults for r in report.outlets[:15]]),
                                charts.series(f"{report.previous_month:%Y-%m}",
                                              [r.previous for r in report.outlets[:15]])),
    }


def _change(value):
    return "" if value is None else value


def tables(report) -> list[exports.Table]:
    """The report as exported: the same figures, tables and totals as the screen."""
    this, before = f"{report.month:%Y-%m}", f"{report.previous_month:%Y-%m}"
    breakdown = [this, before, _("Change %")]
    sales = _("Sales (%(n)s months)", n=report.limits.sales_months)

    def rows(found):
        lines = [[r.code, r.name, r.faults, r.previous, _change(r.change)] for r in found]
        return [*lines, [_("Total"), "", sum(r.faults for r in found), sum(r.previous for r in found), ""]]

    return [
        exports.Table(_("Summary"), [_("Figure"), _("Value")], [
            [_("Month"), this], [_("Fault reports"), report.total], [_("Previous month"), report.previous_total],
            [_("Change %"), _change(report.change)], [_("With a fault code"), report.coded],
            [_("Batch alerts"), len(report.alerts)]]),
        exports.Table(_("Batch alerts"), [_("Model"), _("Name"), this, before, _("Trailing average"), sales,
                                          _("Fault rate %"), _("Rule"), _("Figure"), _("Limit")],
                      [[r.code, r.name, r.faults, r.previous, _change(r.average), r.sold or "", _change(r.rate),
                        str(BASIS[r.alert.basis]), r.alert.figure, r.alert.limit] for r in report.alerts]),
        exports.Table(_("By product model"), [_("Model"), _("Name"), *breakdown], rows(report.models)),
        exports.Table(_("High-frequency problems"), [_("Model"), _("Fault code"), _("Fault reports")],
                      [[p.model, p.fault, p.faults] for p in report.problems]),
        exports.Table(_("By fault code"), [_("Code"), _("Name"), *breakdown], rows(report.fault_codes)),
        exports.Table(_("By cause code"), [_("Code"), _("Name"), *breakdown], rows(report.cause_codes)),
        exports.Table(_("By outlet"), [_("Code"), _("Name"), *breakdown], rows(report.outlets)),
        exports.Table(_("Trend"), [_("Month"), _("Fault reports")], [[f"{m:%Y-%m}", n] for m, n in report.trend]),
    ]


def register(admin, category) -> None:
    admin.add_view(QualityReportView(_l("Monthly quality report"), category=category, endpoint="quality_report",
                                     url="/admin/quality_report"))

