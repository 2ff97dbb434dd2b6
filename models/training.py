"""Training records (R-APR-6; manuals 000 §六, 001 4.4.4, 003 §八.4): courses, sessions, attendees,
exam scores, certificates with their validity, and retraining after a failed exam.

Who sees an attendance is a rule of its own in backoffice.access (`__scope__ = "own_rule"`):
the center's staff every record, an engineer their own, a dealer its outlets' people.
Courses and sessions are a plain catalogue (names, dates, places): not scoped.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Audited, TimestampMixin, UTCDateTime, choice_check, db
from .choices import ProductCategory

ExamScore = sa.Numeric(4, 1)  # 0–100, one decimal place at most, stored exactly


class TrainingCourse(Audited, TimestampMixin, db.Model):
    """A course; one that qualifies for a product category gives the 上岗证 for it (001 4.4.4).
    A general course (服务礼仪 …) qualifies for none."""

    __tablename__ = "training_course"
    __table_args__ = (
        choice_check("category", [c.value for c in ProductCategory]),  # NULL: a general course
        sa.CheckConstraint("validity_months > 0", name="validity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    category: Mapped[str | None] = mapped_column(sa.String(30), index=True)
    validity_months: Mapped[int] = mapped_column(default=24)  # a certificate's validity
    active: Mapped[bool] = mapped_column(default=True, index=True)
    note: Mapped[str] = mapped_column(sa.Text, default="")

    sessions = relationship("TrainingSession", back_populates="course", order_by="TrainingSession.held_on")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class TrainingSession(Audited, TimestampMixin, db.Model):
    """One sitting of a course: date, place, trainer; its attendees sit the exam."""

    __tablename__ = "training_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("training_course.id"), index=True)
    held_on: Mapped[date] = mapped_column(sa.Date, index=True)
    place: Mapped[str] = mapped_column(sa.String(100), default="")
    trainer: Mapped[str] = mapped_column(sa.String(60), default="")
    note: Mapped[str] = mapped_column(sa.Text, default="")
    results_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    results_recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    version_id: Mapped[int] = mapped_column(default=1)  # two people typing results: the later is refused

    __mapper_args__ = {"version_id_col": version_id}

    course = relationship("TrainingCourse", back_populates="sessions")
    results_recorded_by = relationship("User", foreign_keys=[results_recorded_by_id])
    attendees = relationship("TrainingAttendee", back_populates="session", order_by="TrainingAttendee.id",
                             foreign_keys="TrainingAttendee.session_id")

    def __str__(self) -> str:
        course = self.course.name if self.course is not None else ""
        return f"{self.held_on.isoformat() if self.held_on else ''} {course}".strip()


class TrainingAttendee(Audited, TimestampMixin, db.Model):
    """A person at a session: the exam score, passed or not (the pass mark is the policy
    `training.pass_mark`), the certificate and its last valid day when passed, the later
    session they retrain at when failed (003 §八.4: 补考或重新培训)."""

    __tablename__ = "training_attendee"
    __scope__ = "own_rule"  # R-ROLE-1: a rule of its own in backoffice.access
    __table_args__ = (
        sa.UniqueConstraint("session_id", "person_id", name="uq_training_attendee_person"),
        sa.CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"),
        sa.CheckConstraint("certificate_no IS NULL OR passed", name="certificate_when_passed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("training_session.id"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    score: Mapped[Decimal | None] = mapped_column(ExamScore)
    passed: Mapped[bool | None] = mapped_column()  # None: not examined yet
    certificate_no: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    valid_until: Mapped[date | None] = mapped_column(sa.Date, index=True)  # the last day it is valid
    retraining_session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("training_session.id"), index=True)
    scored_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)

    session = relationship("TrainingSession", back_populates="attendees", foreign_keys=[session_id])
    retraining_session = relationship("TrainingSession", foreign_keys=[retraining_session_id])
    person = relationship("User", foreign_keys=[person_id])
    scored_by = relationship("User", foreign_keys=[scored_by_id])

    def __str__(self) -> str:
        return f"{self.person} · {self.session}"
