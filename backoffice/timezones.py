"""Times are stored in UTC and shown in the outlet's (or the service's) time zone."""
from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from flask import current_app, has_app_context

DEFAULT_TZ = "Asia/Shanghai"
log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def zone_names() -> frozenset[str]:
    """The names of the time-zone database (tzdata), e.g. Asia/Shanghai, Asia/Urumqi."""
    return frozenset(available_timezones())


def is_zone_name(name) -> bool:
    return isinstance(name, str) and name in zone_names()


def service_zone() -> ZoneInfo:
    name = current_app.config["BACKOFFICE_TIMEZONE"] if has_app_context() else DEFAULT_TZ
    return ZoneInfo(name)


def zone_of(outlet=None) -> ZoneInfo:
    """The outlet's zone; the service's for none, or for a stored name the time-zone database
    does not know (an old row saved before the outlet form checked it): no page breaks on it."""
    name = getattr(outlet, "timezone", None) if outlet is not None else None
    if name:
        if is_zone_name(name):
            return ZoneInfo(name)
        log.warning("outlet %s has an unknown time zone %r: using the service's", getattr(outlet, "code", "?"), name)
    return service_zone()


def to_local(value: datetime | None, zone: ZoneInfo | None = None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone or service_zone())


def format_local(value: datetime | None, zone: ZoneInfo | None = None) -> str:
    local = to_local(value, zone)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


def local_today(zone: ZoneInfo | None = None) -> date:
    return datetime.now(zone or service_zone()).date()


def local_day_bounds(first: date, last: date, zone: ZoneInfo | None = None):
    """UTC [start, end) covering local calendar days first..last inclusive."""
    zone = zone or service_zone()
    start = datetime.combine(first, time.min, zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, zone).astimezone(UTC)
    return start, end


def local_to_utc(value: datetime, zone: ZoneInfo | None = None) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone or service_zone())
    return value.astimezone(UTC)
