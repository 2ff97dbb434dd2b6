"""Policy values an admin may change (SLA hours, quotas, caps, weights, maxima)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Audited, TimestampMixin, db


class PolicySetting(Audited, TimestampMixin, db.Model):
    """Overrides a default of backoffice.policy.DEFAULTS; absent keys use the default."""

    __tablename__ = "policy_setting"

    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(200))
