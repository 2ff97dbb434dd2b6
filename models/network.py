"""The dealer service network: outlets in two tiers."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Audited, Money, TimestampMixin, UTCDateTime, db


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
    # Retired from the network (backoffice.retirement): when, by whom, why, and who took over.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", use_alter=True), index=True)
    retirement_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    successor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outlet.id"), index=True)

    parent: Mapped[Outlet | None] = relationship(remote_side=[id], back_populates="children",
                                                 foreign_keys=[parent_id])
    successor: Mapped[Outlet | None] = relationship(remote_side=[id], foreign_keys=[successor_id])
    retired_by = relationship("User", foreign_keys=[retired_by_id])
    children: Mapped[list[Outlet]] = relationship(back_populates="parent", foreign_keys=[parent_id])
    users = relationship("User", back_populates="outlet", order_by="User.username",
                         foreign_keys="User.outlet_id")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
