"""Calendar months and days as the users type and read them: YYYY-MM and YYYY-MM-DD within a
sane calendar (years 2000..2100, so UTC bounds never overflow), month ends and the month
before. Months are dates on their first day."""
from __future__ import annotations

import re
from datetime import date, timedelta

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
DAY_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
YEARS = range(2000, 2101)


def parse_month(text: str | None) -> date | None:
    """'2026-11' → 2026-11-01; anything else (or out of YEARS) → None."""
    found = MONTH_RE.match((text or "").strip())
    if not found or int(found.group(1)) not in YEARS or not 1 <= int(found.group(2)) <= 12:
        return None
    return date(int(found.group(1)), int(found.group(2)), 1)


def parse_day(text: str | None) -> date | None:
    found = DAY_RE.match((text or "").strip())
    if not found or int(found.group(1)) not in YEARS:
        return None
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError:  # 2026-02-30
        return None


def first_day(day: date) -> date:
    return day.replace(day=1)


def month_end(month: date) -> date:
    return next_month(month) - timedelta(days=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def recent(today: date, count: int = 12) -> list[date]:
    """This month and the `count - 1` before it, newest first."""
    months = [today.replace(day=1)]
    while len(months) < count:
        months.append(previous_month(months[-1]))
    return months
