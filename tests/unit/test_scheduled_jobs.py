"""Issue 17: the periodic jobs (backoffice.scheduled) and the lock that runs each slot once
(backoffice.job_runs, backoffice.tasks.run_job)."""
from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice import ledger, notifications, scheduled, sla, tasks
from backoffice.job_runs import Outcome, run_once
from models import (
    JobRun,
    OutboxMessage,
    PartsReconciliation,
    RateEvent,
    ReturnVisit,
    StaffNotification,
    db,
)
from models.choices import Clock, JobStatus, Role
from models.choices import LedgerKind as K
from tests import factories as f

SHANGHAI = timedelta(hours=8)


@pytest.fixture
def ctx(app):
    """An app context without a request: what a worker has (unrestricted, no user)."""
    with app.app_context():
        yield app


def told(session, kind, ticket=None, user=None) -> list[StaffNotification]:
    query = select(StaffNotification).where(StaffNotification.kind == kind)
    if ticket is not None:
        query = query.where(StaffNotification.ticket_id == ticket.id)
    if user is not None:
        query = query.where(StaffNotification.user_id == user.id)
    return list(session.scalars(query))


def a_ticket(session, world, **kw):
    return f.make_ticket(session, world["customer"], unit=world["unit"], actor=world["clerk"], **kw)


# --- SLA sweep (R-SLA-1, R-CMP-2) ---------------------------------------------------------------

def test_a_clock_about_to_breach_alerts_whoever_acts_once_however_often_the_sweep_runs(ctx, session):
    world = f.make_service_network(session)
    ticket = a_ticket(session, world)
    clock = sla.clock_of(ticket, Clock.RESPONSE.value)
    almost = clock.due_at - timedelta(minutes=20)

    for _ in range(3):
        scheduled.sla_sweep(session, almost)
    session.flush()

    alerts = told(session, "sla_due_soon", ticket)
    who = {n.user_id for n in alerts}
    assert world["clerk"].id in who  # the clerk who registered it
    assert world["dealer_a"].id in who  # the outlet's desk
    assert world["dealer_b"].id not in who  # not another outlet's
    assert len(told(session, "sla_due_soon", ticket, world["clerk"])) == 1
    assert not told(session, "sla_breached", ticket)


def test_a_breached_clock_escalates_to_every_active_manager_once(ctx, session):
    world = f.make_service_network(session)
    world["manager2"].active = False
    ticket = a_ticket(session, world)
    clock = sla.clock_of(ticket, Clock.RESPONSE.value)
    late = clock.due_at + timedelta(minutes=10)

    scheduled.sla_sweep(session, late)
    scheduled.sla_sweep(session, late + timedelta(minutes=5))
    session.flush()

    escalated = told(session, "sla_breached", ticket)
    assert len(told(session, "sla_breached", ticket, world["manager"])) == 1
    assert not told(session, "sla_breached", ticket, world["manager2"])  # inactive
    assert {n.user.role for n in escalated} <= {Role.MANAGER.value, Role.ADMIN.value}  # who decides
    text = notifications.staff_text(escalated[0])
    assert ticket.number in text


def test_a_breach_older_than_the_lookback_is_not_escalated_again(ctx, session):
    world = f.make_service_network(session)
    ticket = a_ticket(session, world)
    clock = sla.clock_of(ticket, Clock.RESPONSE.value)
    scheduled.sla_sweep(session, clock.due_at + timedelta(hours=25))
    session.flush()
    assert not [n for n in told(session, "sla_breached", ticket) if n.params["clock"] == Clock.RESPONSE.value]


# --- the lock: a slot runs once -----------------------------------------------------------------

def test_a_jobs_slot_runs_once_and_its_run_is_recorded(ctx):
    world = f.make_service_network(db.session)
    ticket = a_ticket(db.session, world)
    db.session.commit()
    late = sla.clock_of(ticket, Clock.RESPONSE.value).due_at + timedelta(minutes=10)
    due = late.replace(minute=late.minute - late.minute % 5, second=1, microsecond=0)  # a slot's start

    first = tasks.run_job("sla_sweep", due)
    again = tasks.run_job("sla_sweep", due + timedelta(seconds=30))  # the same 5-minute slot

    assert again is None
    run = db.session.scalars(select(JobRun).where(JobRun.job == "sla_sweep", JobRun.slot == first.slot)).one()
    assert (run.status, run.attempts) == (JobStatus.DONE.value, 1)
    assert run.items >= 1 and run.finished_at is not None
    assert len(told(db.session, "sla_breached", ticket, world["manager"])) == 1


def test_a_failed_run_is_recorded_admins_are_told_and_the_next_tick_takes_it_over(ctx, monkeypatch):
    admin = f.make_user(db.session, Role.ADMIN)
    db.session.commit()
    job = scheduled.JOBS["visits_due"]
    now = datetime(2031, 5, 7, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai

    def broken(session, at):
        session.add(RateEvent(bucket="job-test", key="k", at=at))  # work the failure must undo
        raise RuntimeError("disk full")

    monkeypatch.setitem(scheduled.JOBS, "visits_due", dataclasses.replace(job, work=broken))
    with pytest.raises(RuntimeError):
        tasks.run_job("visits_due", now)
    run = db.session.scalars(select(JobRun).where(JobRun.job == "visits_due", JobRun.slot == "2031-05-07")).one()
    assert run.status == JobStatus.FAILED.value and "disk full" in run.error
    assert db.session.scalar(select(func.count()).select_from(RateEvent).where(RateEvent.bucket == "job-test")) == 0
    assert len(told(db.session, "job_failed", user=admin)) == 1

    monkeypatch.setitem(scheduled.JOBS, "visits_due", job)
    done = tasks.run_job("visits_due", now + timedelta(hours=1))
    assert (done.status, done.attempts, done.error) == (JobStatus.DONE.value, 2, "")


def test_run_once_skips_a_slot_another_worker_is_running(ctx):
    ran = []
    first = run_once(db.session, "probe", "s1", lambda s: ran.append(1) or Outcome(1, "ok"))
    second = run_once(db.session, "probe", "s1", lambda s: ran.append(2) or Outcome(1, "ok"))
    assert first.status == JobStatus.DONE.value and second is None and ran == [1]


@pytest.mark.parametrize(("utc", "expected"), [
    (datetime(2031, 5, 31, 16, 59, tzinfo=UTC), None),  # 00:59 on 1 June in Shanghai: not yet
    (datetime(2031, 5, 31, 17, 0, tzinfo=UTC), "2031-05"),  # 01:00 on 1 June: May has ended
    (datetime(2031, 6, 20, 3, 0, tzinfo=UTC), "2031-05"),  # later in June: still May's run (once)
])
def test_month_end_belongs_to_the_month_that_ended(ctx, utc, expected):
    assert scheduled.JOBS["month_end"].slot(utc) == expected


def test_daily_jobs_wait_for_their_hour_in_local_time(ctx):
    visits = scheduled.JOBS["visits_due"]
    assert visits.slot(datetime(2031, 6, 3, 23, 30, tzinfo=UTC)) is None  # 07:30 on the 4th
    assert visits.slot(datetime(2031, 6, 4, 0, 5, tzinfo=UTC)) == "2031-06-04"  # 08:05
    assert scheduled.JOBS["sla_sweep"].slot(datetime(2031, 6, 4, 0, 7, 30, tzinfo=UTC)) == "2031-06-04T00:05Z"


# --- month end (R-PART-7, R-FEE-2) --------------------------------------------------------------

def test_month_end_issues_each_outlets_statement_once(ctx, session):
    outlet = f.make_outlet(session)
    dealer = f.make_user(session, Role.DEALER, outlet=outlet)
    ledger.post(session, outlet.id, K.QUOTA, Decimal("100.00"), source=f"test:job:{outlet.code}",
                at=datetime(2031, 2, 10, 2, 0, tzinfo=UTC))
    now = datetime(2031, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 on 1 March in Shanghai

    first = scheduled.month_end(session, now)
    second = scheduled.month_end(session, now + timedelta(days=3))
    session.flush()

    statements = session.scalars(select(PartsReconciliation).where(PartsReconciliation.outlet_id == outlet.id)).all()
    assert [s.month for s in statements] == [date(2031, 2, 1)]
    assert first.counts["month"] == "2031-02" and first.items >= 1
    assert second.counts["statements"] == 0
    assert len(told(session, "statement_issued", user=dealer)) <= 1  # told once, if the staff side tells


# --- return visits due (R-TKT-4) ----------------------------------------------------------------

def test_visits_due_today_send_each_agreeing_customer_the_survey_once_and_tell_the_clerks(ctx, session):
    world = f.make_service_network(session)
    notifications.record_consent(world["customer"], "hotline")
    ticket = a_ticket(session, world)
    now = datetime(2031, 7, 8, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    visit = ReturnVisit(ticket=ticket, kind="service", due_at=now + timedelta(hours=3))
    session.add(visit)
    session.flush()

    scheduled.visits_due(session, now)
    scheduled.visits_due(session, now + timedelta(hours=1))
    session.flush()

    surveys = session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id,
                                                          OutboxMessage.template == "return_visit")).all()
    assert len(surveys) == 1
    token = surveys[0].params["link"].rsplit("/t/", 1)[1].removesuffix("/survey")
    assert notifications.ticket_of_token(session, token) == ticket
    assert surveys[0].recipient == ticket.contact_phone
    assert len(told(session, "visits_due", user=world["clerk"])) == 1


def test_a_visit_due_weeks_ago_gets_no_late_survey(ctx, session):
    world = f.make_service_network(session)
    notifications.record_consent(world["customer"], "hotline")
    ticket = a_ticket(session, world)
    now = datetime(2031, 7, 8, 1, 0, tzinfo=UTC)
    session.add(ReturnVisit(ticket=ticket, kind="service", due_at=now - timedelta(days=20)))
    session.flush()
    scheduled.visits_due(session, now)
    assert not session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id,
                                                           OutboxMessage.template == "return_visit")).all()


# --- nightly purge ------------------------------------------------------------------------------

def test_nightly_purge_removes_old_rate_rows_and_old_sent_messages_but_keeps_queued_ones(ctx, session):
    now = datetime(2031, 8, 1, 19, 0, tzinfo=UTC)
    session.add_all([RateEvent(bucket="report", key="old", at=now - timedelta(days=2)),
                     RateEvent(bucket="report", key="new", at=now - timedelta(minutes=5))])
    old = now - timedelta(days=200)
    for status in ("sent", "queued"):
        session.add(OutboxMessage(dedupe_key=f"purge-{status}", channel="sms", recipient="13900000000",
                                  template="receipt", status=status, created_at=old, next_attempt_at=old))
    session.flush()

    outcome = scheduled.nightly_purge(session, now)
    session.flush()

    keys = set(session.scalars(select(RateEvent.key).where(RateEvent.bucket == "report")))
    assert "old" not in keys and "new" in keys
    left = set(session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like("purge-%"))))
    assert left == {"purge-queued"}  # never lose a message that was not delivered
    assert outcome.counts["old_messages"] == 1
