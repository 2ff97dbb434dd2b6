"""The product models, parts, fault codes and policies the rows follow, read once (and the demo's
catalogue added when missing)."""
from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from models import db

from .. import demo, policy, sla
from .base import LoadError, money


class Reference:
    """Product models, parts and fault codes (the demo's tables, added when missing) and the
    policies the rows follow, read once."""

    def __init__(self, connection: Connection, now: datetime):
        self.connection = connection
        self.added: set[str] = set()  # catalogue tables the demo's rows were added to
        self._ensure(now)
        self.models = [dict(row._mapping) for row in connection.execute(sa.text(
            "SELECT id, code, category, warranty_months, free_installation, special_price FROM product_model "
            "WHERE active AND category <> 'shoes' ORDER BY id"))]
        if not self.models:
            raise LoadError("no appliance product model to sell")
        parts = [dict(row._mapping) for row in connection.execute(sa.text(
            "SELECT id, code, name, category, unit_price, gas_type, consumable, fragile, warranty_months "
            "FROM part WHERE active ORDER BY id"))]
        self.parts_by_category = defaultdict(list)
        for part in parts:
            part["unit_price"] = money(part["unit_price"])
            self.parts_by_category[part["category"]].append(part)
        self.parts = {part["id"]: part for part in parts}
        self.codes = defaultdict(list)
        self.standard_hours = {}
        for row in connection.execute(sa.text(
                "SELECT id, kind, category, standard_hours FROM fault_code WHERE active ORDER BY id")):
            self.codes[row.kind, row.category].append(row.id)
            if row.standard_hours is not None:
                self.standard_hours[row.id] = money(row.standard_hours)
        self.bands = [(row.up_to_km, money(row.amount)) for row in connection.execute(sa.text(
            "SELECT up_to_km, amount FROM travel_band ORDER BY up_to_km"))]
        with Session(bind=connection) as session:
            self.policy = {key: policy.value(session, key) for key in policy.DEFAULTS}
            self.rules = sla.rules(session)
        self._hours: dict = {}

    def codes_for(self, kind: str, category: str) -> list[int]:
        return self.codes[kind, category] + self.codes[kind, None]

    def hours(self, clock: str, kind: str, in_warranty, area: str):
        """sla.hours_for without a query per ticket (the same rules, read once)."""
        key = (clock, kind, in_warranty, area)
        if key not in self._hours:
            candidates = [r for r in self.rules if r.clock == clock and r.matches(kind, in_warranty, area)]
            best = max(candidates, key=lambda r: r.specificity).hours if candidates else None
            self._hours[key] = None if best is None else sla.hours(best)
        return self._hours[key]

    def travel(self, km: int):
        """fee_claims.travel_band: the first band covering the distance, else the last one."""
        for limit, amount in self.bands:
            if limit >= km:
                return limit, amount
        return self.bands[-1] if self.bands else (None, Decimal("0.00"))

    def _ensure(self, now: datetime) -> None:
        """The demo's models, price list and fault taxonomy, for whatever is not there yet."""
        connection = self.connection
        have = set(connection.execute(sa.text("SELECT code FROM product_model")).scalars())
        rows = [dict(code=code, name=name, category=category, warranty_months=months, free_installation=free,
                     special_price=False, gas_type=gas, active=True, created_at=now, updated_at=now)
                for code, name, category, months, free, gas in demo.MODELS if code not in have]
        if rows:
            _insert_plain(connection, "product_model", rows)
            self.added.add("product_model")
        have = set(connection.execute(sa.text("SELECT code FROM part")).scalars())
        rows = [dict(code=r["code"], name=r["name"], category=r["category"], unit_price=Decimal(r["unit_price"]),
                     gas_type=r["gas_type"] or None, consumable=r["consumable"] == "yes",
                     fragile=r["fragile"] == "yes", active=True, warranty_months=demo.KEY_COMPONENTS.get(r["code"]),
                     created_at=now, updated_at=now)
                for r in _demo_table("parts") if r["code"] not in have]
        if rows:
            _insert_plain(connection, "part", rows)
            self.added.add("part")
        have = set(connection.execute(sa.text("SELECT kind || ':' || code FROM fault_code")).scalars())
        rows = [dict(kind=r["kind"], code=r["code"], name=r["name"], category=r["category"] or None, active=True,
                     standard_hours=Decimal(demo.STANDARD_HOURS[r["code"]]) if r["code"] in demo.STANDARD_HOURS
                     else None, created_at=now, updated_at=now)
                for r in _demo_table("fault_codes") if f"{r['kind']}:{r['code']}" not in have]
        if rows:
            _insert_plain(connection, "fault_code", rows)
            self.added.add("fault_code")


def _demo_table(name: str) -> list[dict]:
    with (demo.DATA / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _insert_plain(connection: Connection, table: str, rows: list[dict]) -> None:
    for row in rows:
        for key in ("created_at", "updated_at"):
            row[key] = row[key].replace(tzinfo=UTC)
    connection.execute(db.metadata.tables[table].insert(), rows)

