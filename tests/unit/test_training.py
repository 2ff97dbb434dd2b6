"""Training (R-APR-6; manuals 001 4.4.4, 003 §八.4): the pass mark decides, a pass issues the
certificate for the course's validity (the exam's day through the day before the same date N months
on), a failure is retrained at a later session of the same course, and an engineer without a valid
certificate for the ticket's product category is flagged at dispatch, not refused."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from backoffice import dispatching, training, workflow
from backoffice.errors import FieldErrors
from backoffice.permissions import NotAllowed
from backoffice.timezones import local_today
from models import TrainingAttendee, TrainingCourse, TrainingSession
from models.choices import TicketStatus
from tests import factories as f

TODAY = local_today()


# --- helpers of this module ------------------------------------------------------------------

def make_course(session, *, category="gas_water_heater", months=24, name="燃气热水器维修上岗培训") -> TrainingCourse:
    course = TrainingCourse(code=f"T{f.next_number():04d}", name=name, category=category, validity_months=months)
    session.add(course)
    session.flush()
    return course


def make_sitting(session, course, held_on, place="广州售后服务中心培训室", trainer="周国栋") -> TrainingSession:
    sitting = TrainingSession(course=course, held_on=held_on, place=place, trainer=trainer)
    session.add(sitting)
    session.flush()
    return sitting


def sat(session, sitting, manager, *people) -> list[TrainingAttendee]:
    return [training.enrol(session, sitting, manager, str(person.id)) for person in people]


def examined(session, world, score, *, held_on=None, category="gas_water_heater", months=24, person=None):
    """`person` (engineer A) sat one session of a fresh course on `held_on` and scored `score`."""
    sitting = make_sitting(session, make_course(session, category=category, months=months),
                           held_on or TODAY - timedelta(days=10))
    (attendee,) = sat(session, sitting, world["manager"], person or world["engineer_a"])
    training.record_results(session, sitting, world["manager"], {attendee.id: score})
    return attendee


def agreed_ticket(session, world, **kw):
    return f.make_ticket(session, world["customer"], unit=world["unit"], actor=world["clerk"], desk=world["clerk"],
                         engineer=world["center_engineer"],
                         steps={"diagnose": {"service_mode": "onsite", "severity": "major", "note": "需上门"}}, **kw)


# --- the pass mark -----------------------------------------------------------------------------

def test_a_score_at_the_pass_mark_passes_and_just_below_fails(session, world):
    assert examined(session, world, "60").passed is True
    below = examined(session, world, "59.9")
    assert below.passed is False and below.certificate_no is None and below.valid_until is None


def test_the_pass_mark_is_a_policy_value(session, world):
    f.make_policy_setting(session, "training.pass_mark", "70")
    assert examined(session, world, "69.5").passed is False
    assert examined(session, world, "70").passed is True


def test_a_score_is_stored_exactly(session, world):
    attendee = examined(session, world, "91.5")
    session.commit()
    session.expire_all()
    assert session.get(TrainingAttendee, attendee.id).score == Decimal("91.5")


@pytest.mark.parametrize("typed", ["-1", "101", "abc", "1e400", "NaN", "Infinity", "59.55", "100.01", "9" * 40])
def test_a_hostile_score_is_a_field_message_and_nothing_is_kept(session, world, typed):
    sitting = make_sitting(session, make_course(session), TODAY - timedelta(days=3))
    good, bad = sat(session, sitting, world["manager"], world["engineer_a"], world["engineer_b"])
    with pytest.raises(FieldErrors) as refused:
        training.record_results(session, sitting, world["manager"], {good.id: "88", bad.id: typed})
    assert set(refused.value.errors) == {f"score-{bad.id}"}
    assert good.score is None and good.passed is None  # every score is checked before any is kept


def test_a_blank_score_leaves_the_attendee_unexamined(session, world):
    sitting = make_sitting(session, make_course(session), TODAY - timedelta(days=3))
    absent, present = sat(session, sitting, world["manager"], world["engineer_a"], world["engineer_b"])
    done = training.record_results(session, sitting, world["clerk"], {absent.id: "  ", present.id: "75"})
    assert done == [present] and absent.passed is None and present.passed is True


# --- who may record ------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["engineer_a", "dealer_a"])
def test_only_the_centers_managers_and_clerks_record_results(session, world, who):
    sitting = make_sitting(session, make_course(session), TODAY - timedelta(days=3))
    (attendee,) = sat(session, sitting, world["clerk"], world["engineer_a"])
    with pytest.raises(NotAllowed):
        training.record_results(session, sitting, world[who], {attendee.id: "80"})
    with pytest.raises(NotAllowed):
        training.enrol(session, sitting, world[who], str(world["engineer_b"].id))


def test_results_wait_for_the_session_to_take_place(session, world):
    sitting = make_sitting(session, make_course(session), TODAY + timedelta(days=1))
    (attendee,) = sat(session, sitting, world["manager"], world["engineer_a"])
    verdict = training.actions(session, sitting, world["manager"])["record"]
    assert not verdict and verdict.reason == training.NOT_HELD_YET
    with pytest.raises(NotAllowed):
        training.record_results(session, sitting, world["manager"], {attendee.id: "80"})


def test_a_dealers_account_is_not_enrolled_nor_anybody_twice(session, world):
    sitting = make_sitting(session, make_course(session), TODAY)
    sat(session, sitting, world["manager"], world["engineer_a"])
    for person in (world["dealer_a"], world["engineer_a"]):
        with pytest.raises(FieldErrors) as refused:
            training.enrol(session, sitting, world["manager"], str(person.id))
        assert "person" in refused.value.errors


# --- certificates --------------------------------------------------------------------------------

def test_a_pass_issues_a_certificate_valid_for_the_courses_months(session, world):
    held = TODAY - timedelta(days=30)
    attendee = examined(session, world, "82", held_on=held, months=12)
    course = attendee.session.course
    assert attendee.certificate_no == f"{course.code}-{held:%Y%m%d}-{attendee.id:04d}"
    assert attendee.valid_until == training.add_months(held, 12) - timedelta(days=1)


def test_validity_worked_examples():
    assert training.valid_until(date(2026, 3, 15), 12) == date(2027, 3, 14)
    assert training.valid_until(date(2023, 8, 31), 6) == date(2024, 2, 28)  # 31 Aug + 6 months = 29 Feb
    assert training.valid_until(date(2026, 1, 31), 1) == date(2026, 2, 27)


def test_a_corrected_failing_score_withdraws_the_certificate(session, world):
    attendee = examined(session, world, "75")
    assert attendee.certificate_no
    training.record_results(session, attendee.session, world["manager"], {attendee.id: "45"})
    assert attendee.passed is False and attendee.certificate_no is None and attendee.valid_until is None


def test_certified_from_the_exam_day_through_the_last_valid_day(session, world):
    held = TODAY - timedelta(days=400)
    attendee = examined(session, world, "80", held_on=held, months=12)
    engineer = world["engineer_a"].id
    last = attendee.valid_until
    assert not training.certified(session, engineer, "gas_water_heater", held - timedelta(days=1))
    assert training.certified(session, engineer, "gas_water_heater", held)
    assert training.certified(session, engineer, "gas_water_heater", last)
    assert not training.certified(session, engineer, "gas_water_heater", last + timedelta(days=1))


def test_certified_only_for_the_courses_product_category(session, world):
    general = examined(session, world, "90", category=None)
    assert general.passed and not training.certified(session, world["engineer_a"].id, "gas_water_heater", TODAY)
    examined(session, world, "90", category="range_hood")
    assert training.certified(session, world["engineer_a"].id, "range_hood", TODAY)
    assert not training.certified(session, world["engineer_a"].id, "gas_water_heater", TODAY)
    assert not training.certified(session, world["engineer_b"].id, "range_hood", TODAY)


def test_a_failed_exam_certifies_nothing(session, world):
    examined(session, world, "30")
    assert not training.certified(session, world["engineer_a"].id, "gas_water_heater", TODAY)


# --- retraining ---------------------------------------------------------------------------------

def test_a_failed_attendee_is_scheduled_for_retraining_at_a_later_session(session, world):
    failed = examined(session, world, "52")
    later = make_sitting(session, failed.session.course, TODAY + timedelta(days=14))
    training.schedule_retraining(session, failed, world["clerk"], str(later.id))
    assert failed.retraining_session is later
    assert [a.person for a in later.attendees] == [world["engineer_a"]]
    assert not training.actions(session, failed, world["clerk"])["schedule_retraining"]  # once


def test_retraining_is_at_a_later_session_of_the_same_course(session, world):
    failed = examined(session, world, "52")
    earlier = make_sitting(session, failed.session.course, failed.session.held_on - timedelta(days=1))
    other = make_sitting(session, make_course(session), TODAY + timedelta(days=5))
    for sitting_id in (str(earlier.id), str(other.id), "abc", "", str(failed.session.id)):
        with pytest.raises(FieldErrors) as refused:
            training.schedule_retraining(session, failed, world["manager"], sitting_id)
        assert set(refused.value.errors) == {f"retraining-{failed.id}"}
    assert failed.retraining_session is None


def test_a_passed_attendee_is_not_scheduled_for_retraining(session, world):
    passed = examined(session, world, "88")
    later = make_sitting(session, passed.session.course, TODAY + timedelta(days=14))
    with pytest.raises(NotAllowed):
        training.schedule_retraining(session, passed, world["manager"], str(later.id))


def _reasons(session, person):
    return {(d.record.session.course_id, d.reason) for d in training.due_for_retraining(session, TODAY)
            if d.record.person_id == person.id}


def test_due_for_retraining_lists_failures_and_certificates_expired_or_expiring(session, world):
    failed = examined(session, world, "40")
    expiring = examined(session, world, "80", held_on=training.add_months(TODAY + timedelta(days=30), -12), months=12)
    expired = examined(session, world, "80", held_on=training.add_months(TODAY, -12), months=12)
    valid = examined(session, world, "80", held_on=training.add_months(TODAY + timedelta(days=31), -12), months=12)
    assert expiring.valid_until == TODAY + timedelta(days=29) and expired.valid_until == TODAY - timedelta(days=1)
    assert valid.valid_until == TODAY + timedelta(days=30)  # the window's last day: listed
    assert _reasons(session, world["engineer_a"]) == {
        (failed.session.course_id, "failed"), (expiring.session.course_id, "expiring"),
        (expired.session.course_id, "expired"), (valid.session.course_id, "expiring")}


def test_a_later_pass_clears_the_failure_from_the_due_list(session, world):
    failed = examined(session, world, "40", held_on=TODAY - timedelta(days=20))
    retake = make_sitting(session, failed.session.course, TODAY - timedelta(days=2))
    training.schedule_retraining(session, failed, world["manager"], str(retake.id))
    due = training.due_for_retraining(session, TODAY)
    assert [d.retraining for d in due if d.record is failed] == [retake]
    (again,) = retake.attendees
    training.record_results(session, retake, world["manager"], {again.id: "72"})
    assert _reasons(session, world["engineer_a"]) == set()


def test_results_for_a_period_are_the_persons_attendances_in_it(session, world):
    inside = examined(session, world, "70", held_on=date(2026, 3, 1))
    last_day = examined(session, world, "65", held_on=date(2026, 3, 31))
    examined(session, world, "90", held_on=date(2026, 4, 1))
    examined(session, world, "90", held_on=date(2026, 3, 10), person=world["engineer_b"])
    found = training.results_for(session, world["engineer_a"].id, date(2026, 3, 1), date(2026, 3, 31))
    assert found == [inside, last_day]


# --- the flag at dispatch (001 4.4.4) --------------------------------------------------------------

def test_an_uncertified_engineer_is_flagged_in_the_dispatch_choices(session, world):
    ticket = agreed_ticket(session, world, status="agreed")
    examined(session, world, "85", person=world["center_engineer"])
    labels = dict(dispatching.engineer_choices(session, ticket))
    assert labels[world["engineer_a"].id].endswith(dispatching.missing_certificate_text(ticket))
    assert labels[world["center_engineer"].id] == dispatching.engineer_label(world["center_engineer"])


def test_an_expired_certificate_is_flagged_too(session, world):
    ticket = agreed_ticket(session, world, status="agreed")
    examined(session, world, "85", held_on=training.add_months(TODAY, -12), months=12)
    assert world["engineer_a"].id in dispatching.uncertified(session, ticket, [world["engineer_a"]])


def test_nobody_is_flagged_for_a_category_no_active_course_qualifies_for(session, world):
    ticket = agreed_ticket(session, world, status="agreed")
    session.execute(update(TrainingCourse).where(TrainingCourse.category == "gas_water_heater").values(active=False))
    labels = dict(dispatching.engineer_choices(session, ticket))
    assert labels[world["engineer_a"].id] == dispatching.engineer_label(world["engineer_a"])


def test_an_uncertified_engineer_is_still_dispatched_and_the_ticket_warns(session, world):
    ticket = agreed_ticket(session, world, status="agreed")
    assert dispatching.certificate_warning(session, ticket) is None
    workflow.perform(session, ticket, "dispatch", world["clerk"],
                     {"engineer": str(world["engineer_a"].id), "appointment_at": "2026-12-30T10:00"})
    assert ticket.status == TicketStatus.DISPATCHED and ticket.assigned_engineer is world["engineer_a"]
    assert world["engineer_a"].full_name in dispatching.certificate_warning(session, ticket)
    examined(session, world, "85")
    assert dispatching.certificate_warning(session, ticket) is None


def test_the_demo_has_a_failure_scheduled_and_a_certificate_expiring(session):
    due = {(d.record.person.username, d.reason) for d in training.due_for_retraining(session, TODAY)}
    assert ("engineer3", "failed") in due and ("engineer4", "expiring") in due
    flagged = session.scalar(select(TrainingAttendee.retraining_session_id).join(TrainingAttendee.person)
                             .where(TrainingAttendee.passed.is_(False)))
    assert flagged is not None
