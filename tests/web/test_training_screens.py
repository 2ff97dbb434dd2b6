"""Training screens per role (R-APR-6, R-ROLE-1): the center's managers and clerks enrol people,
type exam results and schedule retraining on a session's page, and read them back; the person reads
their own record, a dealer its outlets' people's, nobody else's; hostile scores are field messages
with what was typed kept, never a 500; the dispatch select flags an engineer without the
category's certificate and the ticket page warns (manual 001 4.4.4)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from backoffice.timezones import local_today
from models import TrainingAttendee, TrainingCourse, TrainingSession, User
from tests import factories as f
from tests.web.test_parts_screens import EN, text

CENTER = ("admin", "manager", "clerk")
TODAY = local_today()


def course(session, code="GWH-01") -> TrainingCourse:
    return session.scalar(select(TrainingCourse).where(TrainingCourse.code == code))


def fresh_session(session, *usernames, held_on=None, code="GWH-01") -> tuple[TrainingSession, list[int]]:
    """A session of the demo course held a week ago with the demo users on its list, committed."""
    people = [f.user(session, name) for name in usernames]
    sitting = TrainingSession(course=course(session, code), held_on=held_on or TODAY - timedelta(days=7),
                              place="佛山顺德服务部会议室", trainer="周国栋")
    session.add(sitting)
    session.flush()
    attendees = [TrainingAttendee(session=sitting, person=person) for person in people]
    session.add_all(attendees)
    session.commit()
    return sitting, [a.id for a in attendees]


def details(client, sitting_id):
    return client.get(f"/admin/training_session/details/?id={sitting_id}", headers=EN)


def post(client, action, sitting_id, **data):
    page = text(details(client, sitting_id))
    found = re.search(r'name="loaded_version" value="(\d+)"', page)
    return client.post(f"/admin/training_session/{action}/?id={sitting_id}", headers=EN,
                       data={"csrf_token": client.csrf, "loaded_version": found.group(1) if found else "", **data})


def attendee(session, attendee_id) -> TrainingAttendee:
    session.expire_all()
    return session.get(TrainingAttendee, attendee_id)


def certificates(session, *usernames) -> list[str]:
    found = session.scalars(select(TrainingAttendee.certificate_no).join(TrainingAttendee.person)
                            .where(User.username.in_(usernames), TrainingAttendee.certificate_no.is_not(None)))
    return list(found)


# --- results: posted by each center role, read back ----------------------------------------

@pytest.mark.parametrize("username", CENTER)
def test_center_staff_record_results_and_the_engineer_reads_the_certificate(login_as, session, username):
    sitting, (passing, failing) = fresh_session(session, "engineer5", "engineer2")
    client = login_as(username)
    response = post(client, "results", sitting.id, **{f"score-{passing}": "60", f"score-{failing}": "59.5"})
    assert response.status_code == 302, text(response)[:2000]
    passed, failed = attendee(session, passing), attendee(session, failing)
    assert passed.passed is True and passed.certificate_no and failed.passed is False
    page = text(details(client, sitting.id))
    assert passed.certificate_no in page and "Failed" in page
    own = text(login_as("engineer5").get("/admin/training_record/", headers=EN))
    assert passed.certificate_no in own


@pytest.mark.parametrize("username", ["engineer", "engineer5", "dealer1"])
def test_engineers_and_dealers_may_not_record_results(login_as, session, username):
    sitting, (attendee_id,) = fresh_session(session, "engineer5")
    client = login_as(username)
    response = client.post(f"/admin/training_session/results/?id={sitting.id}",
                           data={"csrf_token": client.csrf, f"score-{attendee_id}": "90"})
    assert response.status_code == 403
    assert attendee(session, attendee_id).score is None


@pytest.mark.parametrize("typed", ["-1", "101", "abc", "1e400", "59.55"])
def test_a_hostile_score_is_a_field_message_with_the_typed_value_kept(login_as, session, typed):
    sitting, (first, second) = fresh_session(session, "engineer5", "engineer3")
    response = post(login_as("clerk"), "results", sitting.id, **{f"score-{first}": "88", f"score-{second}": typed})
    page = text(response)
    assert response.status_code == 200
    assert "Not saved: check the marked fields." in page
    assert re.search(r"exam score (is between 0 and 100|as a number|has at most one decimal)", page), page[-3000:]
    assert f'name="score-{second}"' in page and f'value="{typed}"' in page and 'value="88"' in page
    assert attendee(session, first).score is None and attendee(session, second).score is None


def test_results_of_a_session_not_yet_held_are_refused_with_the_reason(login_as, session):
    sitting, (attendee_id,) = fresh_session(session, "engineer5", held_on=TODAY + timedelta(days=3))
    client = login_as("manager")
    assert "The session has not taken place yet" in text(details(client, sitting.id))
    post(client, "results", sitting.id, **{f"score-{attendee_id}": "90"})
    assert attendee(session, attendee_id).score is None


# --- enrolling and retraining -------------------------------------------------------------

@pytest.mark.parametrize("username", CENTER)
def test_center_staff_enrol_an_outlets_engineer(login_as, session, username):
    sitting, _ids = fresh_session(session)
    client = login_as(username)
    engineer = f.user(session, "engineer4")
    assert post(client, "enrol", sitting.id, person=str(engineer.id)).status_code == 302
    assert engineer.full_name in text(details(client, sitting.id))
    refused = post(client, "enrol", sitting.id, person=str(f.user(session, "dealer1").id))
    assert refused.status_code == 200 and "Choose an active employee or engineer." in text(refused)


@pytest.mark.parametrize("username", CENTER)
def test_center_staff_schedule_a_failed_engineers_retraining(login_as, session, username):
    sitting, (failing,) = fresh_session(session, "engineer5")
    later, _ = fresh_session(session, held_on=TODAY + timedelta(days=10))
    client = login_as(username)
    post(client, "results", sitting.id, **{f"score-{failing}": "41"})
    page = text(details(client, sitting.id))
    assert f'data-testid="retraining-{failing}"' in page
    response = post(client, "retraining", sitting.id, attendee=str(failing), **{f"retraining-{failing}": str(later.id)})
    assert response.status_code == 302
    assert attendee(session, failing).retraining_session_id == later.id
    assert f.user(session, "engineer5").full_name in text(details(client, later.id))
    due = text(login_as("engineer5").get("/admin/training_due/", headers=EN))
    assert "Failed the exam" in due and later.held_on.isoformat() in due


def test_managers_keep_the_course_catalogue_clerks_read_it(login_as, session):
    form = {"code": "GS-01", "name": "燃气灶安全检修培训", "category": "gas_stove", "validity_months": "18",
            "active": "y", "note": ""}
    manager = login_as("manager")
    assert manager.post("/admin/training_course/new/", data={"csrf_token": manager.csrf, **form}).status_code == 302
    assert course(session, "GS-01").validity_months == 18
    clerk = login_as("clerk")
    assert "燃气灶安全检修培训" in text(clerk.get("/admin/training_course/"))
    assert clerk.post("/admin/training_course/new/", data={"csrf_token": clerk.csrf, **form,
                                                           "code": "GS-02"}).status_code == 403
    bad = manager.post("/admin/training_course/new/", headers=EN,
                       data={"csrf_token": manager.csrf, **form, "code": "GS-03", "validity_months": "0"})
    assert bad.status_code == 200 and "A certificate is valid for 1 to 120 months." in text(bad)
    assert course(session, "GS-03") is None


# --- who reads which records ----------------------------------------------------------------

def test_an_engineer_reads_only_their_own_training_records(login_as, session):
    client = login_as("engineer3")
    listing = text(client.get("/admin/training_record/", headers=EN))
    assert "赵振华" in listing and "王建国" not in listing and "刘师傅" not in listing
    assert "Failed" in listing  # the demo's failed exam, with its retraining date
    for other in certificates(session, "engineer", "engineer2", "engineer4"):
        assert other not in listing


def test_a_dealer_reads_only_its_outlets_peoples_records(login_as, session):
    client = login_as("dealer1")  # GZ-TH and its sub-outlet GZ-TH-01: 赵振华, 孙立新
    listing = text(client.get("/admin/training_record/", headers=EN))
    for mine in certificates(session, "engineer3", "engineer4"):
        assert mine in listing
    for other in certificates(session, "engineer", "engineer2", "engineer5", "clerk"):
        assert other not in listing
    due = text(client.get("/admin/training_due/", headers=EN))
    assert "孙立新" in due and "Certificate expiring" in due and "赵振华" in due
    assert "王建国" not in due and "刘师傅" not in due
    assert client.get("/admin/training_session/").status_code == 403


def test_my_training_is_the_signed_in_persons_own(login_as, session):
    listing = text(login_as("clerk").get("/admin/training_record/?flt0_0=mine", headers=EN))
    assert "李晓敏" in listing and "赵振华" not in listing and "王建国" not in listing


# --- the flag at dispatch -------------------------------------------------------------------

def test_the_dispatch_select_flags_an_uncertified_engineer_and_the_ticket_warns(login_as, session):
    world = f.make_service_network(session)
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], actor=world["clerk"], desk=world["clerk"],
                           status="agreed", steps={"diagnose": {"service_mode": "onsite", "severity": "major",
                                                                "note": "需上门"}})
    session.commit()
    client = login_as("clerk")
    page = text(client.get(f"/admin/ticket/details/?id={ticket.id}", headers=EN))
    option = re.search(rf'<option value="{world["engineer_a"].id}"[^>]*>([^<]*)</option>', page)
    assert option and "(no Gas water heater certificate)" in option.group(1)
    response = client.post(f"/admin/ticket/transition/dispatch/?id={ticket.id}", headers=EN,
                           data={"csrf_token": client.csrf, "loaded_version": str(ticket.version_id),
                                 "engineer": str(world["engineer_a"].id), "appointment_at": "2026-12-30T10:00"})
    assert response.status_code == 302  # flagged, not refused
    warned = text(client.get(f"/admin/ticket/details/?id={ticket.id}", headers=EN))
    assert 'data-testid="certificate-warning"' in warned and world["engineer_a"].full_name in warned


# --- the appraisal's include ----------------------------------------------------------------

def test_the_appraisal_include_shows_a_persons_training_results(app, session):
    from flask import render_template

    from backoffice import training

    person = f.user(session, "engineer3")
    results = training.results_for(session, person.id, TODAY - timedelta(days=365), TODAY)
    assert [r.passed for r in results] == [True, False]  # 吸油烟机 passed, 燃气热水器 failed
    with app.test_request_context(headers=EN):
        page = render_template("admin/_training_results.html", results=results)
    assert "吸油烟机安装与维修培训" in page and "燃气热水器维修上岗培训" in page
    assert ">52<" in page and results[0].certificate_no in page
    assert results[1].retraining_session.held_on.isoformat() in page
