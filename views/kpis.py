"""The service KPI report (R-RPT-2, R-CMP-4): figures from backoffice.service_kpis for any period
and outlet the viewer may see, charts with their tables, printable, CSV/XLSX with the same figures.
Every query runs under the viewer's row scope: a dealer sees (and exports) its own outlets only."""
from __future__ import annotations

from flask import flash, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from backoffice import service_kpis as kpis
from backoffice.labels import label
from backoffice.months import month_end
from backoffice.permissions import DESK
from backoffice.timezones import format_local, local_today
from models import db
from models.choices import Clock, ComplaintClass, FeeClaimStatus, TicketKind, TicketStatus

from . import charts, exports
from .base import RolePage, parse_id
from .customers import outlet_options
from .home import filter_url

NO_SUCH_OUTLET = _l("No such outlet among yours: showing all the outlets you see.")
TOP_PARTS = 10  # parts in the chart; the table below lists them all


def register(admin, category) -> None:
    admin.add_view(ServiceKpiView(_l("Service KPIs"), category=category, endpoint="kpis", url="/admin/kpis"))


def chosen_period(messages: list) -> kpis.Period:
    period, problem = kpis.parse_period(request.args.get("from"), request.args.get("to"), local_today())
    if problem:
        messages.append(str(problem))
    return period


def chosen_outlet(outlets, messages: list) -> int | None:
    """The outlet picked, if it is one of the viewer's (the scoped outlet list); else None, with the
    same message whether the other outlet exists or not."""
    raw = request.args.get("outlet", "").strip()
    if not raw:
        return None
    found = parse_id(raw)
    if found is None or found not in {row.id for row in outlets}:
        messages.append(str(NO_SUCH_OUTLET))
        return None
    return found


class ServiceKpiView(RolePage):
    roles = DESK

    @expose("/")
    def index(self):
        messages: list[str] = []
        outlets = outlet_options()
        period, outlet_id = chosen_period(messages), chosen_outlet(outlets, messages)
        report = kpis.report(db.session, period, outlet_id)
        outlet_name = next((row.name for row in outlets if row.id == outlet_id), None)
        export_type = request.args.get("export")
        if export_type:
            response = exports.report_response(export_tables(report, outlet_name), export_type,
                                               _("Service KPIs %(first)s to %(last)s", first=period.first.isoformat(),
                                                 last=period.last.isoformat()))
            if response is not None:
                return response
            messages.append(_("Exports are CSV or XLSX."))
        for message in messages:
            flash(message, "error")
        here = {"from": period.first.isoformat(), "to": period.last.isoformat(),
                **({"outlet": outlet_id} if outlet_id else {})}
        return self.render("admin/kpi_report.html", report=report, outlets=outlets, outlet_name=outlet_name,
                           here=here, charts=report_charts(report), links=Links(self, report),
                           clocks=[(c.value, label(Clock, c.value)) for c in Clock],
                           claim_states=[(s, label(FeeClaimStatus, s)) for s in kpis.CLAIM_STATES],
                           class_label=class_label, status_label=lambda v: label(TicketStatus, v),
                           claim_headers=claim_headers(), totals=kpis.column_totals, limit=kpis.LISTED_MAX)


def class_label(value) -> str:
    return label(ComplaintClass, value) if value else _("Not yet investigated")


class Links:
    """The lists behind the figures, within the period and the outlet of the report."""

    def __init__(self, view, report: kpis.Report):
        views = {v.endpoint: v for v in view.admin._views}
        self.tickets, self.claims = views["ticket"], views["fee_claim"]
        self.report = report
        period = report.period
        self.days = f"{period.first:%Y-%m-%d} to {period.last:%Y-%m-%d}"
        # The claim list filters by the month claimed: only a period of one whole month is a list.
        whole_month = period.first.day == 1 and period.last == month_end(period.first)
        self.claim_month = f"{period.first:%Y-%m}" if whole_month else None

    def _outlet(self, outlet_id=None):
        chosen = outlet_id or self.report.outlet_id
        return [("outlet_id", chosen)] if chosen else []

    def registered(self, kind: str, outlet_id=None) -> str:
        """The tickets of `kind` registered in the period (the repairs, the complaints)."""
        return filter_url(self.tickets, ("kind", kind), ("created_at", self.days), *self._outlet(outlet_id))

    def repairs(self, outlet_id=None):
        return self.registered(TicketKind.REPAIR.value, outlet_id)

    def complaints(self, outlet_id=None):
        return self.registered(TicketKind.COMPLAINT.value, outlet_id)

    def ticket(self, ticket_id) -> str:
        return url_for("ticket.details_view", id=ticket_id)

    def claims_of(self, outlet_id, status=None) -> str:
        """The outlet's claims created in the period's month (the period is one whole month)."""
        state = [("status", status)] if status else []
        return filter_url(self.claims, ("outlet_id", outlet_id), *state, ("created_at", self.claim_month))


def report_charts(report: kpis.Report) -> dict:
    dist = report.satisfaction
    top = report.parts_by_part[:TOP_PARTS]
    return {
        "sla": charts.chart("bar", [label(Clock, c.clock) for c in report.compliance],
                            charts.series(_("Met in time"), [c.rate for c in report.compliance]), unit="%"),
        "satisfaction": charts.chart("bar", [*(str(s) for s in dist.counts), _("Unscored")],
                                     charts.series(_("Return visits"), [*dist.counts.values(), dist.unscored])),
        "classes": charts.chart("hbar", [class_label(kind) for kind, _n, _c in report.complaints_by_class],
                                charts.series(_("Complaints"), [n for _k, n, _c in report.complaints_by_class])),
        "parts": charts.chart("hbar", [f"{code} {name}" for _id, code, name, _q, _v in top],
                              charts.series(_("Value (yuan)"), [v for *_rest, v in top])),
    }


def export_tables(report: kpis.Report, outlet_name: str | None) -> list[exports.Table]:
    """One table per section of the page, the same figures (numbers stay numbers)."""
    period = report.period
    chosen = outlet_name or _("All your outlets")
    tables = [exports.Table(_("Report period"), [_("From"), _("To"), _("Outlet")],
                            [[period.first.isoformat(), period.last.isoformat(), chosen]]),
              _summary(report),
              exports.Table(_("SLA compliance per clock"), [_("Clock"), _("Fell due"), _("Met in time"), _("Rate (%)")],
                            [[label(Clock, c.clock), c.due, c.met, c.rate] for c in report.compliance]),
              _sla_by_outlet(report), _satisfaction(report)]
    tables += _complaint_tables(report)
    tables += _parts_tables(report)
    tables.append(_claims_table(report))
    return tables


def _summary(report: kpis.Report) -> exports.Table:
    dist = report.satisfaction
    rows = [[_("First-time fix"), report.first_time_fix.part, report.first_time_fix.whole, report.first_time_fix.rate],
            [_("Repeat repairs"), report.repeats.part, report.repeats.whole, report.repeats.rate],
            [_("Return-visit coverage"), report.coverage.part, report.coverage.whole, report.coverage.rate],
            [_("Complaint return-visit coverage"), report.complaint_coverage.part, report.complaint_coverage.whole,
             report.complaint_coverage.rate],
            [_("Mean satisfaction (1-5)"), dist.mean, dist.scored, None]]
    return exports.Table(_("Summary"), [_("Figure"), _("Count"), _("Of"), _("Rate (%)")], rows)


def _sla_by_outlet(report: kpis.Report) -> exports.Table:
    header = [_("Code"), _("Outlet")]
    for clock in Clock:
        name = label(Clock, clock.value)
        header += [f"{name}: {_('Fell due')}", f"{name}: {_('Met in time')}", f"{name}: {_('Rate (%)')}"]
    rows = [[row.code, row.name, *(x for c in row.values for x in (c.due, c.met, c.rate))]
            for row in report.compliance_by_outlet]
    return exports.Table(_("SLA compliance by outlet"), header, rows)


def _satisfaction(report: kpis.Report) -> exports.Table:
    dist = report.satisfaction
    rows = [[str(score), n] for score, n in dist.counts.items()]
    rows += [[_("Unscored"), dist.unscored], [_("Total"), dist.total]]
    return exports.Table(_("Satisfaction"), [_("Score"), _("Return visits")], rows)


def _complaint_tables(report: kpis.Report) -> list[exports.Table]:
    by_class = [[class_label(kind), n, yes] for kind, n, yes in report.complaints_by_class]
    by_class.append([_("Total"), report.complaints_total, sum(r[2] for r in report.complaints_by_class)])
    rows = report.complaints_by_outlet
    by_outlet = [[r.code, r.name, *r.values] for r in rows]
    by_outlet.append(["", _("Total"), *kpis.column_totals(rows)])
    lines = [[c.number, format_local(c.registered_at), c.outlet, class_label(c.complaint_class),
              label(TicketStatus, c.status), c.investigation, c.promised_result, c.resolution,
              _("yes") if c.substantiated else _("no")] for c in report.complaints]
    lacking = [[c.number, c.outlet] for c in report.lacking_visit]
    for listed in (lines, lacking):
        if len(listed) >= kpis.LISTED_MAX:
            listed.append([_("The first %(n)s are listed.", n=kpis.LISTED_MAX)])
    return [exports.Table(_("Complaints by class"), [_("Complaint class"), _("Complaints"), _("Confirmed")], by_class),
            exports.Table(_("Complaints by outlet"), [_("Code"), _("Outlet"), _("Complaints"), _("Confirmed")],
                          by_outlet),
            exports.Table(_("Complaint analysis"), [
                _("Ticket"), _("Registered on"), _("Outlet"), _("Complaint class"), _("Status"), _("Facts found"),
                _("Result promised"), _("Measures taken"), _("Confirmed")], lines),
            exports.Table(_("Complaints lacking a visit"), [_("Ticket"), _("Outlet")], lacking)]


def _parts_tables(report: kpis.Report) -> list[exports.Table]:
    rows = report.parts_by_outlet
    by_outlet = [[r.code, r.name, *r.values] for r in rows]
    by_outlet.append(["", _("Total"), *kpis.column_totals(rows)])
    by_part = [[code, name, qty, value] for _id, code, name, qty, value in report.parts_by_part]
    return [exports.Table(_("Parts by outlet"), [_("Code"), _("Outlet"), _("Quantity"), _("Value (yuan)")], by_outlet),
            exports.Table(_("Parts by part"), [_("Code"), _("Part"), _("Quantity"), _("Value (yuan)")], by_part)]


CLAIM_HEADERS = (_l("Claimed total"), _l("Approved total"), _l("Adjusted"), _l("Cut by adjustments"),
                 _l("Charged back"))


def claim_headers() -> list[str]:
    """The fee-claim table's value columns, in kpis.fee_claims_by_outlet's order."""
    states = [label(FeeClaimStatus, s) for s in kpis.CLAIM_STATES]
    return [_("Number of claims"), *states, *(str(h) for h in CLAIM_HEADERS)]


def _claims_table(report: kpis.Report) -> exports.Table:
    rows = report.claims_by_outlet
    lines = [[r.code, r.name, *r.values] for r in rows]
    if rows:
        lines.append(["", _("Total"), *kpis.column_totals(rows)])
    return exports.Table(_("Fee claims by outlet"), [_("Code"), _("Outlet"), *claim_headers()], lines)
