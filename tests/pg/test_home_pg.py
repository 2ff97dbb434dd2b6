"""The home page's grouped queries on PostgreSQL: the SLA trend's month buckets (a CASE over the
months' UTC bounds, in SELECT and GROUP BY) and the menu's queue counts (count(*) FILTER), with
the figures of the unit tests (tests/unit/test_dashboard.py) counted by hand."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.unit import test_dashboard as unit


@pytest.fixture
def pg_session(pg_engine):
    with Session(bind=pg_engine) as session:
        yield session
        session.rollback()  # the demo schema is shared by the session's PostgreSQL tests


def test_the_sla_trend_on_postgresql(pg_session):  # R-SLA-1
    unit.test_the_trend_counts_each_months_clocks_due_and_met_in_time(pg_session)
    unit.test_each_month_of_the_trend_equals_clock_compliance_for_that_month(pg_session)


def test_the_queue_counts_on_postgresql(pg_session):
    unit.test_queue_counts_follow_the_lists_rules(pg_session)
