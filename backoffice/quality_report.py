"""The monthly quality report (R-RPT-1, manuals 000 and 004 质量信息统计表): fault reports by
product model, fault code, cause code and outlet, month over month; the high-frequency problems
(model × fault); and batch alerts for engineering.

A fault report is a repair or a return/exchange ticket about product quality (R-TKT-3: kind
repair or return_exchange, category quality), counted in the local month it was registered.
Installations, consultations, complaints about service and shoe size/comfort issues are not
product faults.

Batch alert (R-RPT-1 "batch issues flagged to engineering", R-RET-3 batch failures): a model is
flagged when, in the month, it has at least `quality.batch_min_faults` fault reports and
- its fault rate — faults in the month ÷ units sold over the `quality.sales_months` months up to
  the month (its in-warranty population, from ModelSales) — exceeds `quality.batch_rate_percent`;
  the rate needs the network's sales, so it applies only to a network-wide report; or
- its faults reach `quality.batch_trailing_factor` × its average over the
  `quality.trailing_months` months before (a model with no faults before counts as a new problem).

Every figure is an aggregate under the viewer's row scope (backoffice.access): an outlet sees its
own fault reports, the center all. The product model is a dimension of the ticket's unit: it is
read through the unit *table*, so the ticket's scope alone decides which faults count (a dealer's
ticket about a unit another outlet sold still counts, under its model). The counts are read from
monthly summary rows kept with the tickets (models.QualityStat, backoffice.stats), per outlet.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from models import FaultCode, ModelSales, Outlet, ProductModel, QualityStat, Ticket, Unit
from models.choices import IssueCategory, TicketKind

from . import policy
from .months import month_end, previous_month
from .timezones import local_day_bounds

FAULT_KINDS = (TicketKind.REPAIR.value, TicketKind.RETURN_EXCHANGE.value)
FAULT_CATEGORY = IssueCategory.QUALITY.value
TREND_MONTHS = 12  # the report's trend line: a year back
TOP_PROBLEMS = 10  # high-frequency problems listed
UNITS = Unit.__table__  # the unit as a dimension, outside the unit's own row scope (see above)


def fault_report_sql():
    """R-TKT-3: the tickets the quality report counts."""
    return and_(Ticket.kind.in_(FAULT_KINDS), Ticket.category == FAULT_CATEGORY)


def months_back(month: date, count: int) -> list[date]:
    """`month` and the `count - 1` months before it, newest first."""
    found = [month]
    while len(found) < count:
        found.append(previous_month(found[-1]))
    return found


def month_bounds(month: date):
    """The local calendar month as UTC [start, end)."""
    return local_day_bounds(month, month_end(month))


@dataclass(frozen=True)
class Limits:
    """The batch-alert policy (backoffice.policy `quality.*`)."""

    min_faults: int
    rate_percent: Decimal
    trailing_factor: Decimal
    trailing_months: int
    sales_months: int

    @classmethod
    def read(cls, session: Session) -> Limits:
        def number(key):
            return policy.value(session, f"quality.{key}")

        return cls(int(number("batch_min_faults")), number("batch_rate_percent"),
                   number("batch_trailing_factor"), int(number("trailing_months")), int(number("sales_months")))


@dataclass(frozen=True)
class Alert:
    basis: str  # "rate": faults ÷ units sold; "trailing": against the model's trailing average
    figure: Decimal  # the rate in percent, or faults ÷ trailing average
    limit: Decimal


def batch_alert(faults: int, sold: int | None, trailing: list[int], limits: Limits) -> Alert | None:
    """R-RPT-1: whether a model's month is a batch problem; the rate rule first (it names the
    scale of the problem), then the jump against the trailing average."""
    if faults < limits.min_faults:
        return None
    if sold:
        rate = rate_percent(faults, sold)
        if rate > limits.rate_percent:
            return Alert("rate", rate, limits.rate_percent)
    average = trailing_average(trailing)
    if average is None:
        return None
    if average == 0:  # nothing before: a new problem
        return Alert("trailing", Decimal(faults), limits.trailing_factor)
    jump = (Decimal(faults) / average).quantize(Decimal("0.01"))
    return Alert("trailing", jump, limits.trailing_factor) if jump >= limits.trailing_factor else None


def rate_percent(faults: int, sold: int) -> Decimal:
    return (Decimal(faults * 100) / sold).quantize(Decimal("0.01"))


def trailing_average(trailing: list[int]) -> Decimal | None:
    return (Decimal(sum(trailing)) / len(trailing)).quantize(Decimal("0.01")) if trailing else None


def change_percent(now: int, before: int) -> Decimal | None:
    """Month over month, in percent; None when there was nothing before."""
    return (Decimal((now - before) * 100) / before).quantize(Decimal("0.1")) if before else None


@dataclass
class Row:
    """One line of a breakdown: this month's fault reports and the month before."""

    key: int | None
    code: str
    name: str
    faults: int = 0
    previous: int = 0

    @property
    def change(self) -> Decimal | None:
        return change_percent(self.faults, self.previous)


@dataclass
class ModelRow(Row):
    category: str | None = None
    trailing: list[int] = field(default_factory=list)  # the trailing months before this one, newest first
    sold: int | None = None  # units sold over the sales months (network-wide reports only)
    alert: Alert | None = None

    @property
    def rate(self) -> Decimal | None:
        return rate_percent(self.faults, self.sold) if self.sold else None

    @property
    def average(self) -> Decimal | None:
        return trailing_average(self.trailing)


@dataclass(frozen=True)
class Problem:
    """A high-frequency problem: a model and its fault code in the month."""

    model_id: int | None
    model: str
    fault_code_id: int | None
    fault: str
    faults: int


@dataclass
class Report:
    month: date
    previous_month: date
    with_sales: bool
    limits: Limits
    total: int = 0
    previous_total: int = 0
    coded: int = 0  # this month's fault reports with a fault code (R-RPT-3 completeness)
    models: list[ModelRow] = field(default_factory=list)
    fault_codes: list[Row] = field(default_factory=list)
    cause_codes: list[Row] = field(default_factory=list)
    outlets: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    trend: list[tuple[date, int]] = field(default_factory=list)  # oldest first

    @property
    def change(self) -> Decimal | None:
        return change_percent(self.total, self.previous_total)

    @property
    def alerts(self) -> list[ModelRow]:
        return [row for row in self.models if row.alert]


def build(session: Session, month: date, *, outlet_id: int | None = None, with_sales: bool = True) -> Report:
    """The report for `month` (its first day) under the session's scope, optionally one outlet's.
    `with_sales`: the report covers the whole network, so faults may be divided by units sold.

    The counts come from the monthly summary rows (models.QualityStat, kept by backoffice.stats
    with the tickets): the same fault reports, months and dimensions as `fault_report_sql` over
    the tickets, a few thousand rows read whatever the number of tickets (issue 16). The rows carry
    the ticket's outlet: the row scope applies to them as to the tickets."""
    limits = Limits.read(session)
    report = Report(month, previous_month(month), with_sales, limits)
    trend = months_back(month, max(TREND_MONTHS, limits.trailing_months + 2))
    counts = {index: n for (_key, index), n in _counted(session, "all", trend, outlet_id).items()}
    report.trend = [(m, counts.get(i, 0)) for i, m in reversed(list(enumerate(trend[:TREND_MONTHS])))]
    report.total, report.previous_total = counts.get(0, 0), counts.get(1, 0)
    report.coded = sum(n for (code, _index), n in _counted(session, "fault", [month], outlet_id).items()
                       if code is not None)
    report.models = _models(session, outlet_id, month, limits, with_sales)
    report.fault_codes = _codes(session, outlet_id, month, "fault")
    report.cause_codes = _codes(session, outlet_id, month, "cause")
    report.outlets = _outlets(session, outlet_id, month)
    report.problems = _problems(session, outlet_id, month)
    return report


DIMENSION_KEYS = {"all": (), "model": (QualityStat.model_id,), "fault": (QualityStat.code_id,),
                  "cause": (QualityStat.code_id,), "model_fault": (QualityStat.model_id, QualityStat.code_id)}


def _none(key: int):
    """A summary row's key: 0 stands for none (no unit, not coded)."""
    return key or None


def _counted(session, dim: str, months: list[date], outlet_id: int | None, by_outlet: bool = False) -> dict:
    """{(key, month index): fault reports} of one dimension over `months` (newest first): the key
    is the model or code id (None: none), the outlet with `by_outlet`, else None."""
    keys = (QualityStat.outlet_id,) if by_outlet else DIMENSION_KEYS[dim]
    total = func.sum(QualityStat.n)
    stmt = (select(QualityStat.month, *keys, total)
            .where(QualityStat.dim == dim, QualityStat.month.in_(months))
            .group_by(QualityStat.month, *keys).having(total > 0))
    if outlet_id is not None:
        stmt = stmt.where(QualityStat.outlet_id == outlet_id)
    index = {m: i for i, m in enumerate(months)}
    found = {}
    for month, *key, n in session.execute(stmt):
        value = (key[0] if by_outlet else _none(key[0])) if key else None
        found[(value, index[month])] = int(n)
    return found


def _models(session, outlet_id, month, limits, with_sales) -> list[ModelRow]:
    months = months_back(month, limits.trailing_months + 1)  # this month and the trailing ones
    counts = _counted(session, "model", months, outlet_id)
    ids = {key for key, _index in counts}
    names = {m.id: m for m in session.scalars(select(ProductModel).where(ProductModel.id.in_(ids - {None})))}
    sold = _sold(session, month, limits.sales_months) if with_sales else {}
    rows = []
    for model_id in ids:
        model = names.get(model_id)
        row = ModelRow(model_id, model.code if model else "", model.name if model else "",
                       category=model.category if model else None,
                       faults=counts.get((model_id, 0), 0), previous=counts.get((model_id, 1), 0),
                       trailing=[counts.get((model_id, i), 0) for i in range(1, limits.trailing_months + 1)],
                       sold=sold.get(model_id))
        row.alert = batch_alert(row.faults, row.sold, row.trailing, limits) if model else None
        rows.append(row)
    return sorted((r for r in rows if r.faults or r.previous), key=lambda r: (-r.faults, -r.previous, r.code))


def _sold(session, month, count) -> dict[int, int]:
    """Units sold per model over the `count` months up to `month` (R-RPT-1 fault rate base)."""
    first = months_back(month, count)[-1]
    stmt = (select(ModelSales.product_model_id, func.sum(ModelSales.units))
            .where(ModelSales.month >= first, ModelSales.month <= month).group_by(ModelSales.product_model_id))
    return {model_id: int(units) for model_id, units in session.execute(stmt) if units}


def _codes(session, outlet_id, month, dim: str) -> list[Row]:
    counts = _counted(session, dim, [month, previous_month(month)], outlet_id)
    ids = {key for key, _index in counts} - {None}
    codes = {c.id: c for c in session.scalars(select(FaultCode).where(FaultCode.id.in_(ids)))}
    return _rows(counts, lambda key: (codes[key].code, codes[key].name) if key in codes else ("", ""))


def _outlets(session, outlet_id, month) -> list[Row]:
    counts = _counted(session, "all", [month, previous_month(month)], outlet_id, by_outlet=True)
    outlets = {row.id: (row.code, row.name) for row in session.execute(
        select(Outlet.id, Outlet.code, Outlet.name).where(Outlet.id.in_({k for k, _i in counts})))}
    return _rows(counts, lambda key: outlets.get(key, ("", "")))


def _rows(counts, describe) -> list[Row]:
    rows = []
    for key in {key for key, _index in counts}:
        code, name = describe(key)
        rows.append(Row(key, code, name, counts.get((key, 0), 0), counts.get((key, 1), 0)))
    return sorted(rows, key=lambda r: (-r.faults, -r.previous, r.key is None, r.code))


def _problems(session, outlet_id, month) -> list[Problem]:
    model, fault = func.nullif(QualityStat.model_id, 0), func.nullif(QualityStat.code_id, 0)
    total = func.sum(QualityStat.n)
    stmt = (select(model, fault, total).where(QualityStat.dim == "model_fault", QualityStat.month == month)
            .group_by(QualityStat.model_id, QualityStat.code_id).having(total > 0)
            .order_by(total.desc(), model, fault).limit(TOP_PROBLEMS))
    if outlet_id is not None:
        stmt = stmt.where(QualityStat.outlet_id == outlet_id)
    found = [(m, f, int(n)) for m, f, n in session.execute(stmt)]
    models = {m.id: m for m in session.scalars(select(ProductModel).where(
        ProductModel.id.in_({m for m, _f, _n in found} - {None})))}
    codes = {c.id: c for c in session.scalars(select(FaultCode).where(
        FaultCode.id.in_({f for _m, f, _n in found} - {None})))}
    return [Problem(m, str(models[m]) if m in models else "", f, str(codes[f]) if f in codes else "", n)
            for m, f, n in found]
