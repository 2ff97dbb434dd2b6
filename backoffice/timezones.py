"""Times are stored in UTC and shown in the outlet's (or the service's) time zone."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TZ = "Asia/Shanghai"


def service_zone() -> ZoneInfo:
    name = current_app.config["BACKOFFICE_TIMEZONE"] if has_app_context() else DEFAULT_TZ
    return ZoneInfo(name)


def zone_of(outlet=None) -> ZoneInfo:
    if outlet is not None and getattr(outlet, "timezone", None):
        return ZoneInfo(outlet.timezone)
    return service_zone()


def to_local(value: datetime | None, zone: ZoneInfo | None = None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(zone or service_zone())


def format_local(value: datetime | None, zone: ZoneInfo | None = None) -> str:
    local = to_local(value, zone)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


def local_today(zone: ZoneInfo | None = None) -> date:
    return datetime.now(zone or service_zone()).date()


def local_day_bounds(first: date, last: date, zone: ZoneInfo | None = None):
    """UTC [start, end) covering local calendar days first..last inclusive."""
    zone = zone or service_zone()
    start = datetime.combine(first, time.min, zone).astimezone(timezone.utc)
    end = datetime.combine(last + timedelta(days=1), time.min, zone).astimezone(timezone.utc)
    return start, end


def local_to_utc(value: datetime, zone: ZoneInfo | None = None) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone or service_zone())
    return value.astimezone(timezone.utc)
