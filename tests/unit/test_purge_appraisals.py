"""R-APR-4: appraisal and training records are kept for the retention period (policy, 2 years by
default), then purged by a daily job that writes what it removed to the audit trail."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice import retention
from backoffice.errors import DomainError
from models import AppraisalRecord, AuditEntry, db
from tests import factories as f

TODAY = date(2026, 6, 15)  # kept from 2024-06-15


def months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


@pytest.fixture
def records(session, world):
    staff, manager = world["clerk"], world["manager"]
    old = f.make_appraisal(session, staff, period_start=date(2024, 5, 1), scored_by=manager)  # ended 2024-05-31
    boundary = f.make_appraisal(session, staff, period_start=date(2024, 6, 1), scored_by=manager)  # ends 06-30
    recent = f.make_appraisal(session, staff, period_start=date(2026, 5, 1), scored_by=manager)
    year_end = f.make_appraisal(session, staff, period_kind="year_end", period_start=date(2024, 1, 1),
                                scored_by=manager)  # the year 2024 ends after the cut-off: kept
    old_year = f.make_appraisal(session, staff, period_kind="year_end", period_start=date(2023, 1, 1),
                                scored_by=manager)
    deduction = _deduction(session, old)
    session.commit()
    return dict(old=old.id, boundary=boundary.id, recent=recent.id, year_end=year_end.id, old_year=old_year.id,
                deduction=deduction)


def _deduction(session, record):
    try:
        from models import AppraisalDeduction
    except ImportError:
        return None
    row = AppraisalDeduction(record_id=record.id, dimension="diligence", points=Decimal("1"), reason="迟到一次")
    session.add(row)
    session.flush()
    return row.id


def ids(session) -> set[int]:
    return set(session.scalars(select(AppraisalRecord.id)))


def test_records_older_than_two_years_are_removed_newer_kept(session, records):  # R-APR-4
    purged = retention.purge_expired(session, TODAY)
    session.commit()
    assert purged.cutoff == date(2024, 6, 15)
    assert set(purged.removed["appraisal_record"]) >= {records["old"], records["old_year"]}
    left = ids(session)
    assert records["old"] not in left and records["old_year"] not in left
    assert {records["boundary"], records["recent"], records["year_end"]} <= left


def test_each_delete_and_a_summary_go_to_the_audit_trail(session, records):  # R-APR-4
    retention.purge_expired(session, TODAY)
    session.commit()
    deleted = session.scalar(select(AuditEntry).where(
        AuditEntry.action == "delete", AuditEntry.table_name == "appraisal_record",
        AuditEntry.record_id == str(records["old"])))
    old, new = deleted.changes["conduct"]  # what was removed, field by field
    assert (Decimal(old), new) == (Decimal("18"), None)
    [summary] = session.scalars(select(AuditEntry).where(AuditEntry.action == "purge")).all()
    assert summary.changes["kept_from"] == [None, "2024-06-15"]
    assert records["old"] in summary.changes["appraisal_record"][0]
    if records["deduction"] is not None:  # the itemised deductions go with their record
        from models import AppraisalDeduction

        assert session.get(AppraisalDeduction, records["deduction"]) is None


def test_a_second_run_removes_nothing(session, records):  # R-APR-4: safe to run daily
    retention.purge_expired(session, TODAY)
    session.commit()
    before = ids(session), session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "delete"))
    again = retention.purge_expired(session, TODAY)
    session.commit()
    assert again.total == 0
    assert (ids(session), session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "delete"))) == before


def test_the_retention_period_is_a_policy_value(session, records):
    f.make_policy_setting(session, "appraisal.retention_years", "3")
    purged = retention.purge_expired(session, TODAY)
    assert purged.cutoff == date(2023, 6, 15)
    assert records["old"] not in purged.removed["appraisal_record"]


def test_a_retention_under_a_year_is_refused_rather_than_wiping_everything(session, records):
    f.make_policy_setting(session, "appraisal.retention_years", "0")
    with pytest.raises(DomainError):
        retention.purge_expired(session, TODAY)


def test_cutoff_of_29_february():
    assert retention.cutoff_day(None, date(2028, 2, 29)) == date(2026, 2, 28)


def test_training_results_are_purged_unless_a_certificate_is_still_valid(session, world):  # R-APR-4, R-APR-6
    training = pytest.importorskip("models.training")
    course = training.TrainingCourse(code="T-RET-1", name="燃气热水器维修", category="gas_water_heater")
    old_session = training.TrainingSession(course=course, held_on=date(2023, 3, 1))
    recent_session = training.TrainingSession(course=course, held_on=date(2026, 3, 1))
    session.add_all([course, old_session, recent_session])
    session.flush()
    failed = training.TrainingAttendee(session_id=old_session.id, person_id=world["engineer_a"].id,
                                       score=Decimal("40"), passed=False)
    still_valid = training.TrainingAttendee(session_id=old_session.id, person_id=world["engineer_b"].id,
                                            score=Decimal("90"), passed=True, certificate_no="SG-RET-1",
                                            valid_until=TODAY + timedelta(days=30))
    recent = training.TrainingAttendee(session_id=recent_session.id, person_id=world["engineer_a"].id,
                                       score=Decimal("85"), passed=True)
    session.add_all([failed, still_valid, recent])
    session.commit()
    purged = retention.purge_expired(session, TODAY)
    session.commit()
    assert purged.removed["training_attendee"] == [failed.id]
    assert purged.removed["training_session"] == []  # still holds a valid certificate
    assert session.get(training.TrainingAttendee, still_valid.id) is not None


def test_flask_purge_appraisals_command(app, session, world):  # R-APR-4: the scheduler runs it daily
    old = f.make_appraisal(session, world["clerk"], period_start=months_before(date.today(), 30)).id
    session.commit()
    result = app.test_cli_runner().invoke(args=["purge-appraisals"])
    assert result.exit_code == 0, result.output
    assert "removed" in result.output
    with app.app_context():
        assert db.session.get(AppraisalRecord, old) is None
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "purge").order_by(AuditEntry.id.desc()))
        assert entry.actor_name == "purge-appraisals"
    second = app.test_cli_runner().invoke(args=["purge-appraisals"])
    assert second.exit_code == 0 and "removed: 0" in second.output
