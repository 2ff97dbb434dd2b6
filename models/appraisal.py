"""Staff appraisal records (R-APR-1)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Audited, TimestampMixin, choice_check, db
from .choices import AppraisalPeriod

Score = sa.Numeric(5, 1)


class AppraisalRecord(Audited, TimestampMixin, db.Model):
    """德/勤/能/绩 scores for one person and period. Maxima are policy values enforced by
    backoffice.appraisal; the database only guards against negatives."""

    __tablename__ = "appraisal_record"
    __scope__ = "own_rule"  # R-ROLE-1: a rule of its own in backoffice.access
    __table_args__ = (
        choice_check("period_kind", [p.value for p in AppraisalPeriod]),
        sa.UniqueConstraint("staff_id", "period_kind", "period_start", name="uq_appraisal_period"),
        sa.CheckConstraint(
            "conduct >= 0 AND diligence >= 0 AND ability >= 0 AND results >= 0",
            name="scores_not_negative",
        ),
        sa.CheckConstraint("commendation >= 0 AND penalty >= 0", name="adjustments_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    period_kind: Mapped[str] = mapped_column(sa.String(10), index=True)
    period_start: Mapped[date] = mapped_column(sa.Date, index=True)
    conduct: Mapped[Decimal] = mapped_column(Score)  # 德
    diligence: Mapped[Decimal] = mapped_column(Score)  # 勤
    ability: Mapped[Decimal] = mapped_column(Score)  # 能
    results: Mapped[Decimal] = mapped_column(Score)  # 绩
    commendation: Mapped[Decimal] = mapped_column(Score, default=Decimal("0"))  # R-APR-3
    penalty: Mapped[Decimal] = mapped_column(Score, default=Decimal("0"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    scored_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)

    staff = relationship("User", foreign_keys=[staff_id])
    scored_by = relationship("User", foreign_keys=[scored_by_id])

    @property
    def total(self) -> Decimal:
        base = self.conduct + self.diligence + self.ability + self.results
        return base + (self.commendation or 0) - (self.penalty or 0)
