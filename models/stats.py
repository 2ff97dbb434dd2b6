"""Summary rows kept with the tickets (issue 16): the counts the reports add up over months, so a
report reads a few hundred rows instead of a million tickets. Written only by backoffice.stats, in
the transaction that changes the rows they count; rebuilt from the tickets by `flask rebuild-stats`.

A zero in a key column stands for "none" (no unit, no fault code): key columns are never NULL, so
one row holds each combination on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import db


class ClockStat(db.Model):
    """The current round's SLA clocks falling due on a local calendar day (span "day") or in a
    local calendar month (span "month", `day` its first day), per outlet and clock (the ticket's
    outlet), and how many of them were met by their due time (R-SLA-1). A month's row spares a
    report over months the month's days (200 outlets × 5 clocks × 30 days)."""

    __tablename__ = "clock_stat"
    __scope__ = "outlet"  # R-ROLE-1: an outlet's clocks are its tickets' (backoffice.access)
    __table_args__ = (
        # What a report reads, read from the index alone.
        sa.Index("ix_clock_stat_read", "span", "day", "clock", "outlet_id", "due", "met"),
    )

    span: Mapped[str] = mapped_column(sa.String(5), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), primary_key=True, index=True)
    clock: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    due: Mapped[int] = mapped_column(default=0)
    met: Mapped[int] = mapped_column(default=0)


class QualityStat(db.Model):
    """Fault reports (backoffice.quality_report.fault_report_sql) registered in a local calendar
    month, per outlet, counted along one dimension (R-RPT-1):

    - "all": every fault report (model_id = code_id = 0);
    - "model": per product model of the ticket's unit (model_id; 0: no unit);
    - "fault" / "cause": per fault / cause code (code_id; 0: not coded);
    - "model_fault": per model and fault code (the high-frequency problems)."""

    __tablename__ = "quality_stat"
    __scope__ = "outlet"  # R-ROLE-1: an outlet's fault reports are its tickets' (backoffice.access)
    __table_args__ = (
        # What the report reads, read from the index alone.
        sa.Index("ix_quality_stat_read", "dim", "month", "outlet_id", "model_id", "code_id", "n"),
    )

    dim: Mapped[str] = mapped_column(sa.String(12), primary_key=True)  # first: a report reads one dimension
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)  # the local month's first day
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), primary_key=True, index=True)
    model_id: Mapped[int] = mapped_column(primary_key=True, default=0)
    code_id: Mapped[int] = mapped_column(primary_key=True, default=0)
    n: Mapped[int] = mapped_column(default=0)
