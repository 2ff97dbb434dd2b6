"""The dealer network's annual evaluation (R-APR-5, manual 004 年度检查考核): awards to the best
outlets and people, and each outlet's qualification records (licence, annual inspection).

The score itself is computed from service data each time it is shown
(backoffice.outlet_evaluation); only what a manager decides or records is kept here."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Audited, TimestampMixin, choice_check, db
from .choices import InspectionResult


class OutletAward(Audited, TimestampMixin, db.Model):
    """An annual award (评选年度先进服务网点和个人): to an outlet, or to a person (`staff_id`),
    whose outlet at the time is kept in `outlet_id` so the outlet sees its people's awards."""

    __tablename__ = "outlet_award"
    __scope__ = "outlet"  # R-ROLE-1: dealers see their outlets' rows, engineers none (backoffice.access)
    __table_args__ = (
        sa.CheckConstraint("outlet_id IS NOT NULL OR staff_id IS NOT NULL", name="has_recipient"),
        sa.CheckConstraint("year >= 2000", name="year_plausible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    outlet_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(60))  # 年度先进服务网点, 年度优秀服务工程师 …
    note: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)

    outlet = relationship("Outlet")
    staff = relationship("User", foreign_keys=[staff_id])
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])

    @property
    def for_person(self) -> bool:
        return self.staff_id is not None

    def __str__(self) -> str:
        return f"{self.year} {self.title}"


class OutletQualification(Audited, TimestampMixin, db.Model):
    """The outlet's business licence on file (资质): one row per outlet, updated in place (the
    audit trail keeps earlier numbers)."""

    __tablename__ = "outlet_qualification"
    __scope__ = "outlet"  # R-ROLE-1: dealers see their outlets' rows, engineers none (backoffice.access)

    id: Mapped[int] = mapped_column(primary_key=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), unique=True)
    licence_number: Mapped[str] = mapped_column(sa.String(60), default="")
    licence_valid_until: Mapped[date | None] = mapped_column(sa.Date)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)

    outlet = relationship("Outlet")
    recorded_by = relationship("User")


class OutletInspection(Audited, TimestampMixin, db.Model):
    """The annual inspection of an outlet (年度检查) by the service center: one per outlet and year."""

    __tablename__ = "outlet_inspection"
    __scope__ = "outlet"  # R-ROLE-1: dealers see their outlets' rows, engineers none (backoffice.access)
    __table_args__ = (
        choice_check("result", [r.value for r in InspectionResult]),
        sa.UniqueConstraint("outlet_id", "year", name="uq_outlet_inspection_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    year: Mapped[int] = mapped_column(index=True)
    result: Mapped[str] = mapped_column(sa.String(10))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    inspected_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)

    outlet = relationship("Outlet")
    inspected_by = relationship("User")
