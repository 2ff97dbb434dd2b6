"""The monthly quality report's grouped queries on PostgreSQL (R-RPT-1): month buckets computed
by CASE in SQL, grouped with the model / code / outlet, give the figures counted by hand."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from backoffice import quality_report
from models import ModelSales
from tests.unit.test_quality_report import MONTH, World, row_of


@pytest.fixture
def pg_session(pg_engine):
    with Session(bind=pg_engine) as session:
        yield session
        session.rollback()  # the demo schema is shared by the session's PostgreSQL tests


def test_quality_report_figures_on_postgresql(pg_session):
    world = World(pg_session)
    for month in quality_report.months_back(MONTH, 12):
        pg_session.add(ModelSales(product_model=world.model, month=month, units=40))
    for day in range(1, 7):
        world.fault(MONTH, day, fault=world.ignition, cause=world.thermocouple)
    world.fault(quality_report.previous_month(MONTH), outlet=world.other)
    report = quality_report.build(pg_session, MONTH)
    row = row_of(report.models, world.model.id)
    assert (row.faults, row.previous, row.sold, row.rate) == (6, 1, 480, Decimal("1.25"))
    assert row.alert.basis == "rate"
    assert row_of(report.fault_codes, world.ignition.id).faults == 6
    assert (row_of(report.outlets, world.outlet.id).faults, row_of(report.outlets, world.other.id).previous) == (6, 1)
    assert report.problems[0].faults == 6 and report.trend[-1] == (MONTH, 6)
