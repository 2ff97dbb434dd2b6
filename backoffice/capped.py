"""Counts whose cost stops growing with the table (issue 16).

A home page's count of open work ("overdue now", "unassigned", a menu badge) is read on every
page view; counted exactly, its cost grows with the backlog (35,000 overdue tickets at a million:
0.2 s). A capped count reads at most `cap` + 1 rows of the same query — under the same row scope —
and says "1,000+" past it: the list behind the figure shows the rows (views.list_paging caps its
own count the same way).
"""
from __future__ import annotations

from sqlalchemy import func, select


class Capped(int):
    """A count that stopped at its cap: the number is the cap, the text says "or more"."""

    capped = True

    def __str__(self) -> str:
        return f"{int(self):,}+"

    def __format__(self, spec: str) -> str:
        return f"{int(self):{spec}}+"


def capped_sql(rows, cap: int):
    """A scalar subquery: the rows `rows` (a SELECT) returns, counting no further than `cap` + 1."""
    return select(func.count()).select_from(rows.limit(cap + 1).subquery()).scalar_subquery()


def read(found: int | None, cap: int) -> int:
    """The number a capped count found: itself, or `Capped(cap)` past the cap."""
    found = found or 0
    return Capped(cap) if found > cap else found
