"""Staff appraisal records (R-APR-1): weekly and monthly checks, monthly and year-end
appraisals, each on 德 勤 能 绩 with itemised deductions."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Audited, TimestampMixin, UTCDateTime, choice_check, db
from .choices import AppraisalDimension, AppraisalPeriod

# Stored exactly as given: two decimals hold any step a policy may set (0.5, 0.25, 0.05).
Score = sa.Numeric(6, 2)


class AppraisalRecord(Audited, TimestampMixin, db.Model):
    """德/勤/能/绩 scores for one person, kind of record and period. Maxima and the score step
    are policy values enforced by backoffice.appraisal; the database guards negatives and
    keeps one record per person, kind and period."""

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
    # The kind of record (weekly check … year-end appraisal); its period starts on a Monday,
    # the 1st of a month or the 1st of January (backoffice.appraisal.period_of).
    period_kind: Mapped[str] = mapped_column(sa.String(20), index=True)
    period_start: Mapped[date] = mapped_column(sa.Date, index=True)
    conduct: Mapped[Decimal] = mapped_column(Score)  # 德
    diligence: Mapped[Decimal] = mapped_column(Score)  # 勤
    ability: Mapped[Decimal] = mapped_column(Score)  # 能
    results: Mapped[Decimal] = mapped_column(Score)  # 绩
    commendation: Mapped[Decimal] = mapped_column(Score, default=Decimal("0"))  # R-APR-3
    penalty: Mapped[Decimal] = mapped_column(Score, default=Decimal("0"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    # What the service record suggested for 勤 and 绩 when the record was scored (issue 14 point 2).
    diligence_suggested: Mapped[Decimal | None] = mapped_column(Score)
    results_suggested: Mapped[Decimal | None] = mapped_column(Score)
    scored_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    # The person read the record (R-APR-1); an edit of the scores asks again.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff = relationship("User", foreign_keys=[staff_id])
    scored_by = relationship("User", foreign_keys=[scored_by_id])
    deductions = relationship("AppraisalDeduction", back_populates="record", cascade="all, delete-orphan",
                              order_by="AppraisalDeduction.id")

    @property
    def base_score(self) -> Decimal:
        return self.conduct + self.diligence + self.ability + self.results

    @property
    def total(self) -> Decimal:
        """R-APR-3: commendation added after normal scoring, penalty deducted; may pass 100."""
        return self.base_score + (self.commendation or 0) - (self.penalty or 0)


class AppraisalDeduction(Audited, db.Model):
    """One itemised deduction of a record (扣分): which dimension lost how many points, why."""

    __tablename__ = "appraisal_deduction"
    __scope__ = "own_rule"  # with its record (backoffice.access)
    __table_args__ = (
        choice_check("dimension", [d.value for d in AppraisalDimension]),
        sa.CheckConstraint("points > 0", name="points_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("appraisal_record.id", ondelete="CASCADE"), index=True)
    dimension: Mapped[str] = mapped_column(sa.String(20))
    points: Mapped[Decimal] = mapped_column(Score)
    reason: Mapped[str] = mapped_column(sa.String(300))

    record = relationship("AppraisalRecord", back_populates="deductions")
