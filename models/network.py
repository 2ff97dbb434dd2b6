"""The dealer service network: outlets in two tiers."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Audited, Money, TimestampMixin, db


class Outlet(Audited, TimestampMixin, db.Model):
    """A dealer / service outlet (经销商 / 服务网点); a sub-outlet has a parent."""

    __tablename__ = "outlet"
    __scope__ = "own_rule"  # R-ROLE-1: a rule of its own in backoffice.access
    __table_args__ = (
        sa.CheckConstraint("total_purchase_amount >= 0", name="purchase_not_negative"),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), index=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    region: Mapped[str] = mapped_column(sa.String(60), default="", index=True)
    address: Mapped[str] = mapped_column(sa.String(255), default="")
    service_phone: Mapped[str] = mapped_column(sa.String(30), default="")
    duty_phone: Mapped[str] = mapped_column(sa.String(30), default="")  # 24 h duty line
    total_purchase_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    timezone: Mapped[str] = mapped_column(sa.String(40), default="Asia/Shanghai")
    # The company's own service center: no parts account, no old-part returns to itself.
    is_service_center: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    active: Mapped[bool] = mapped_column(default=True, index=True)

    parent: Mapped[Outlet | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Outlet]] = relationship(back_populates="parent")
    users = relationship("User", back_populates="outlet", order_by="User.username")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
