"""Bearer tokens of channel integrations (WeChat, email gateway, web shop …).

A token is shown once at creation; only its SHA-256 hash is stored, with a short prefix so an
admin can tell tokens apart and revoke one.
"""
from __future__ import annotations

import hashlib
import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApiToken, utcnow
from models.choices import Channel

from .errors import ValidationFailed


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Session, channel: str, name: str = "") -> tuple[str, ApiToken]:
    if channel not in {c.value for c in Channel}:
        raise ValidationFailed(_l("Unknown channel %(channel)s.", channel=channel))
    prefix = secrets.token_hex(4)
    token = f"bo_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken(channel=channel, name=name, prefix=prefix, token_hash=_digest(token), active=True)
    session.add(row)
    return token, row


def authenticate(session: Session, token: str) -> ApiToken | None:
    if not token or not token.startswith("bo_"):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or not row.active:
        return None
    row.last_used_at = utcnow()
    return row
