"""Chart specs for static/js/charts.js (drawn by the vendored Apache ECharts). A spec carries
only labels and numbers; the template shows the same figures as a table below the chart."""
from __future__ import annotations

from decimal import Decimal


def _number(value):
    """JSON has no Decimal; None stays a gap in a line."""
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal) else value


def series(name, values, stack: str | None = None) -> dict:
    found = {"name": str(name), "data": [_number(v) for v in values]}
    if stack:
        found["stack"] = stack
    return found


def chart(kind: str, categories, *series_list, unit: str = "", threshold=None) -> dict:
    """kind: bar | hbar | line | pie. threshold: (value, label) drawn as a dashed line."""
    spec = {"kind": kind, "categories": [str(c) for c in categories], "series": list(series_list)}
    if unit:
        spec["unit"] = unit
    if threshold is not None:
        spec["threshold"] = {"value": _number(threshold[0]), "label": str(threshold[1])}
    return spec
