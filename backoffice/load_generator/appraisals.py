"""The engineers' appraisal records (R-APR-1) and the models' monthly sales (R-RPT-1)."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa

from models import db

from .. import demo
from .base import ZERO, local_day, month_after, utc_at

if TYPE_CHECKING:
    import random

    from .base import Ids
    from .run import Run

DEDUCTIONS = demo.DEDUCTION_REASONS
MAXIMA = demo.MAXIMA
APPRAISAL_SALES_COLUMNS = {
    "model_sales": ("id", "product_model_id", "month", "units", "created_at", "updated_at"),
    "appraisal_record": ("id", "staff_id", "period_kind", "period_start", "conduct", "diligence", "ability", "results",
                         "commendation", "penalty", "note", "scored_by_id", "acknowledged_at", "created_at",
                         "updated_at"),
    "appraisal_deduction": ("id", "record_id", "dimension", "points", "reason"),
}


class AppraisalsAndSales:
    """Books' appraisal and sales side."""

    run: Run
    rng: random.Random
    ids: Ids
    now: datetime
    rows: dict[str, list]
    sales: Counter
    manager: int

    def _sales(self) -> None:
        """R-RPT-1: units sold per model and month network-wide, the quality report's base: many
        more than the units that come to service; months already on record are left as they are."""
        sales = db.metadata.tables["model_sales"]
        have = set(self.run.connection.execute(sa.select(sales.c.product_model_id, sales.c.month)).all())
        this_month = local_day(self.now).replace(day=1)
        for (model_id, month), count in sorted(self.sales.items()):
            if month <= this_month and (model_id, month) not in have:
                at = utc_at(month_after(month), 9)
                at = min(at, self.now)
                self.rows["model_sales"].append((self.ids.take("model_sales"), model_id, month,
                                                 count * 12 + self.rng.randint(0, 40), at, at))

    def _appraisals(self) -> None:
        """R-APR-1: each engineer's monthly appraisal of every month gone by, and the year-end
        appraisal of every year gone by, scored by the center's manager (德 勤 能 绩)."""
        run = self.run
        first = local_day(run.start).replace(day=1)
        this_month = local_day(self.now).replace(day=1)
        months = []
        while first < this_month:
            months.append(first)
            first = month_after(first)
        years = sorted({m.year for m in months if date(m.year, 12, 1) in months})
        for engineer in sorted(run.network.engineer_outlet):
            for month in months:
                self._appraisal(engineer, "monthly", month, month_after(month), "月度考核")
            for year in years:
                self._appraisal(engineer, "year_end", date(year, 1, 1), date(year + 1, 1, 1), "年终考核")

    def _appraisal(self, staff: int, kind: str, start: date, end: date, note: str) -> None:
        rng = self.rng
        record_id = self.ids.take("appraisal_record")
        scores = []
        for name, maximum in MAXIMA.items():
            lost = Decimal(rng.choice((0, 0, 0, 0, 0.5, 1, 1.5, 2, 3)))
            scores.append(Decimal(maximum) - lost)
            if lost:
                self.rows["appraisal_deduction"].append((self.ids.take("appraisal_deduction"), record_id, name, lost,
                                                         DEDUCTIONS[name]))
        commendation = Decimal(rng.choice((0, 0, 0, 0, 2)))
        scored = min(utc_at(end, 10 + rng.uniform(0, 72)), self.now)
        acknowledged = scored + timedelta(days=rng.uniform(1, 10))
        self.rows["appraisal_record"].append((
            record_id, staff, kind, start, *scores, commendation, ZERO,
            note + ("；用户来信表扬，嘉奖加分" if commendation else ""), self.manager,
            acknowledged if acknowledged <= self.now else None, scored, scored))
