"""Spare-parts price list (R-PART-1)."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Audited, Money, TimestampMixin, choice_check, db
from .choices import GasType, ProductCategory


class Part(Audited, TimestampMixin, db.Model):
    __tablename__ = "part"
    __table_args__ = (
        sa.CheckConstraint("unit_price >= 0", name="price_not_negative"),
        choice_check("gas_type", [g.value for g in GasType]),
        choice_check("category", [c.value for c in ProductCategory]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), index=True)
    category: Mapped[str | None] = mapped_column(sa.String(30), index=True)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    gas_type: Mapped[str | None] = mapped_column(sa.String(20))
    consumable: Mapped[bool] = mapped_column(default=False)
    fragile: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    # R-WAR-6: a key component (e.g. a heat exchanger) may be covered longer than the unit.
    warranty_months: Mapped[int | None] = mapped_column()

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
