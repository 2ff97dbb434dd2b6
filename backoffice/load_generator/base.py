"""What every part of the generator shares: limits, the summary, ids, money, local days and the
weighted draws."""
from __future__ import annotations

import random
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

Row = tuple
LOCAL = timedelta(hours=8)  # the generated outlets' zone, Asia/Shanghai: UTC+8, no daylight saving
MAX_TICKETS = 50_000_000
MAX_OUTLETS = 9_999
MAX_YEARS = 4  # a time of occurrence more than five years back is refused by the app (R-TKT-2)
DEFAULT_CHUNK = 50_000
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
COURIERS = ("顺丰速运", "德邦物流", "中通快递", "圆通速递")


class LoadError(Exception):
    """Bad input or a database the generator cannot fill; the message says which (English)."""


@dataclass
class Summary:
    """What a run added: rows per table, seconds, and what a benchmark needs to know."""

    run: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    biggest_outlet: str = ""
    biggest_share: float = 0.0
    first_day: date | None = None
    last_day: date | None = None
    manager: str = ""
    dealer_of_biggest: str = ""
    statistics: str = ""  # the statement that refreshed the statistics: VACUUM ANALYZE (PostgreSQL) or ANALYZE
    statistics_tables: tuple[str, ...] = ()
    statistics_seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def validate(tickets, outlets, years, chunk=DEFAULT_CHUNK) -> None:
    """LoadError unless the numbers make a data set."""
    checks = ((tickets, "--tickets", 1, MAX_TICKETS), (outlets, "--outlets", 1, MAX_OUTLETS),
              (years, "--years", 1, MAX_YEARS), (chunk, "chunk size", 100, 10_000_000))
    for value, name, low, high in checks:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise LoadError(f"{name} must be a whole number from {low:,} to {high:,} (got {value!r})")


def local_day(at: datetime) -> date:
    return (at + LOCAL).date()


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT)


@dataclass
class Ids:
    """The next free id of each table (the table's maximum + 1 when the run starts)."""

    next: dict[str, int]

    def take(self, table: str, count: int = 1) -> int:
        first = self.next[table]
        self.next[table] = first + count
        return first


ID_TABLES = ("outlet", "user_account", "customer", "unit", "ticket", "ticket_event", "ticket_clock",
             "ticket_fee", "return_visit", "service_report", "mail_in", "complaint", "replaced_part",
             "old_part", "parts_return", "parts_return_line", "parts_account", "parts_request",
             "parts_request_line", "ledger_entry", "fee_claim",
             "fee_claim_part", "fee_batch", "appraisal_record", "appraisal_deduction", "model_sales")


def utc_at(day: date, hour: float) -> datetime:
    """A service-local day and hour as naive UTC."""
    return datetime.combine(day, datetime.min.time()) + timedelta(hours=hour) - LOCAL


def month_after(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def shares_of(pairs):
    values, weights = zip(*pairs, strict=True)
    cumulative, total = [], 0
    for weight in weights:
        total += weight
        cumulative.append(total)
    return values, cumulative


def draw_share(rng: random.Random, shares) -> str:
    values, cumulative = shares
    return values[bisect_left(cumulative, rng.random() * cumulative[-1])]

