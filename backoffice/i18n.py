"""Language per user, else per browser; Chinese by default."""
from __future__ import annotations

from flask import has_request_context, request, session
from flask_login import current_user

SUPPORTED = ("zh_Hans_CN", "en")
DEFAULT = "zh_Hans_CN"


def normalise(tag: str | None) -> str | None:
    if not tag:
        return None
    tag = tag.replace("-", "_").lower()
    if tag.startswith("zh"):
        return "zh_Hans_CN"
    if tag.startswith("en"):
        return "en"
    return None


def select_locale() -> str:
    if not has_request_context():  # CLI, jobs: messages of domain errors still render
        return DEFAULT
    if getattr(current_user, "is_authenticated", False) and normalise(current_user.locale):
        return normalise(current_user.locale)
    chosen = normalise(session.get("locale"))
    if chosen:
        return chosen
    for tag, _quality in request.accept_languages:
        found = normalise(tag)
        if found:
            return found
    return DEFAULT


def select_timezone() -> str:
    from .timezones import zone_of

    outlet = getattr(current_user, "outlet", None) if getattr(current_user, "is_authenticated", False) else None
    return zone_of(outlet).key  # the service's zone for none, or for a name tzdata does not know
