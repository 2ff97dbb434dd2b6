"""Whether a dealer outlet may still be awarded this year (R-APR-5): an outlet penalised for
overcharging loses its eligibility for the annual award (R-CMP-3). The charge-back of a
confirmed overcharge (backoffice.network_approvals) is the penalty; the year is the service
time zone's calendar year of its approval.

The rest of the annual evaluation of outlets (SLA, complaints, satisfaction, parts discipline),
the ranking and the awards are in backoffice.outlet_evaluation, which asks this module for the
bar: an outlet with penalties in the year is shown as not eligible and refused an award. Reads go through the row
scope like every other query: a dealer sees its own outlets' penalties only.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import FeeClaim

from .timezones import local_day_bounds, local_today


@dataclass(frozen=True)
class Penalty:
    claim_id: int
    claim_number: str
    charge_back: Decimal
    at: datetime


def penalties(session: Session, year: int | None = None, outlet_id: int | None = None) -> dict[int, list[Penalty]]:
    """{outlet id: the year's charge-backs, oldest first} for the outlets that have any (one
    query for a whole list of outlets)."""
    year = year or local_today().year
    start, end = local_day_bounds(date(year, 1, 1), date(year, 12, 31))
    stmt = (select(FeeClaim.outlet_id, FeeClaim.id, FeeClaim.number, FeeClaim.charge_back, FeeClaim.charge_back_at)
            .where(FeeClaim.charge_back > 0, FeeClaim.charge_back_at >= start, FeeClaim.charge_back_at < end)
            .order_by(FeeClaim.charge_back_at, FeeClaim.id))
    if outlet_id is not None:
        stmt = stmt.where(FeeClaim.outlet_id == outlet_id)
    rows = session.execute(stmt).all()
    found: dict[int, list[Penalty]] = {}
    for owner, claim_id, number, charge_back, at in rows:
        found.setdefault(owner, []).append(Penalty(claim_id, number, charge_back, at))
    return found


def eligible(session: Session, outlet_id: int, year: int | None = None) -> bool:
    return not penalties(session, year, outlet_id)
