"""Counting and paging lists at a million rows (issue 16).

Flask-Admin counts every list exactly (`COUNT(*)` over the filtered table, 83 ms at 1M tickets,
on every page). A list here counts at most `LIST_COUNT_CAP` rows: enough to page through, and
what a person pages through; past the cap the count reads "10,000+" and a filter or search
narrows the list. The count runs on the list's own query (its filters, search and the user's
row scope), limited, so its cost stops growing with the table.
"""
from __future__ import annotations

from sqlalchemy import func, inspect, select

from backoffice.capped import Capped


def capped_count(query, cap: int) -> int:
    """Rows of an (unexecuted) list query, counting no further than `cap` + 1. Only the primary
    key is read, so an index answers without the table's rows (1.3 ms, not 3-4, at 1M tickets)."""
    rows = query.limit(None).offset(None).order_by(None)
    entity = query.column_descriptions[0]["entity"] if query.column_descriptions else None
    if entity is not None:  # the key as the entity's attribute: a table column would drop its row scope
        mapper = inspect(entity)
        rows = rows.with_entities(*(mapper.get_property_by_column(c).class_attribute for c in mapper.primary_key))
    rows = rows.limit(cap + 1).subquery()
    found = query.session.scalar(select(func.count()).select_from(rows))
    return Capped(cap) if found > cap else found


def more_than(count: int | None, cap: int) -> bool:
    """Whether a (possibly capped) count says the list holds more than `cap` rows."""
    if count is None:
        return False
    return count > cap or (isinstance(count, Capped) and count >= cap)
