"""A ticket's record is coherent before it is kept: when the fault occurred (R-TKT-2)."""
from datetime import UTC, datetime, timedelta

from backoffice import tickets


def test_a_fault_occurred_within_the_years_before_the_report_and_not_after_it(app):
    now = datetime.now(UTC)
    with app.app_context():
        assert tickets.occurrence_problem(now - timedelta(days=3)) is None
        assert tickets.occurrence_problem(now + timedelta(minutes=5)) is None  # the caller's clock
        assert tickets.occurrence_problem(now + timedelta(hours=2))
        assert tickets.occurrence_problem(now - timedelta(days=366 * tickets.OCCURRENCE_YEARS_BACK))
        old_report = now - timedelta(days=400)
        assert tickets.occurrence_problem(old_report - timedelta(days=30), old_report) is None
