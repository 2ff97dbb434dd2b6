"""The periodic jobs (issue 17, R-OPS-1): what happens without a click.

Each job is a plain function of (session, now) that never commits and is idempotent: run twice
for the same slot, or run again by another worker, it changes nothing more (the notifications'
UNIQUE keys, the statements' and batches' UNIQUE outlet+month). `JOBS` says when each runs and
which slot a run belongs to; backoffice.tasks puts them on the queue and backoffice.job_runs
makes sure one worker runs a slot once.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from models import (
    JobRun,
    OutboxMessage,
    RateEvent,
    ReturnVisit,
    StaffNotification,
    Ticket,
    TicketClock,
    User,
)
from models.choices import OutboxStatus, Role

from . import fee_claims, notifications, policy, quality_report, recipients, reconciliation, retention, sla
from .job_runs import Outcome
from .months import previous_month
from .timezones import local_day_bounds, zone_of


@dataclass(frozen=True)
class SystemActor:
    """Who acts when a job does the center's work (settling a month): it passes the center's
    role checks and is recorded as nobody (created_by empty; the audit trail names the job)."""

    id: None = None
    role: str = Role.ADMIN.value
    outlet_id: None = None
    active: bool = True
    full_name: str = "system"


SYSTEM_ACTOR = SystemActor()


def local_date(now: datetime):
    return now.astimezone(zone_of()).date()


# --- SLA sweep (R-SLA-1, R-CMP-2, R-NTF-2) ---------------------------------------------------------------

def sla_sweep(session: Session, now: datetime) -> Outcome:
    """Running clocks due within the warning time alert whoever must act (the assigned engineer,
    the clerk who registered the ticket — all clerks when it came in by itself — and the
    outlet's dealer desk); clocks that ran out in the last `sla.escalate_lookback_hours` escalate
    to every manager (a complaint's answer clock included, R-CMP-2). Older breaches are already
    on the lists; a first sweep over a backlog does not flood anyone."""
    within = sla.due_soon_within(session)
    lookback = sla.hours(policy.value(session, "sla.escalate_lookback_hours"))
    told = 0
    for clock in _clocks(session, sla.due_soon_sql(now, within)):
        told += notifications.tell_staff(session, _who_acts(session, clock.ticket), "sla_due_soon",
                                         **_clock_params(clock))
    managers = recipients.managers(session)
    for clock in _clocks(session, sla.overdue_sql(now), TicketClock.due_at >= now - lookback):
        told += notifications.tell_staff(session, managers, "sla_breached", **_clock_params(clock))
    return Outcome(told, {"notified": told})


def _clocks(session: Session, *conditions) -> list[TicketClock]:
    return list(session.scalars(
        select(TicketClock).join(Ticket, Ticket.id == TicketClock.ticket_id).where(*conditions)
        .options(joinedload(TicketClock.ticket).joinedload(Ticket.registered_by),
                 joinedload(TicketClock.ticket).joinedload(Ticket.assigned_engineer))
        .order_by(TicketClock.due_at)).unique().all())


def _who_acts(session: Session, ticket: Ticket) -> list[User]:
    registrar = ticket.registered_by
    registered_by_clerk = registrar is not None and registrar.role == Role.CLERK
    clerks = [registrar] if registered_by_clerk else recipients.active(session, Role.CLERK)
    desk = recipients.dealers_of(session, ticket.outlet_id)
    return [u for u in (ticket.assigned_engineer, *clerks, *desk) if u is not None]


def _clock_params(clock: TicketClock) -> dict:
    """One alert per clock and due time: a clock moved by a pause alerts again when due again."""
    return {"key": f"{clock.id}:{clock.due_at:%Y%m%d%H%M}", "link": "ticket.details_view", "ticket": clock.ticket,
            "number": clock.ticket.number, "clock": clock.clock, "due": clock.due_at.isoformat(), "id": clock.ticket_id}


# --- return visits due (R-TKT-4, 001/002) --------------------------------------------------------

def visits_due(session: Session, now: datetime) -> Outcome:
    """The visits to make by tonight (local day): the clerks are told how many wait (those left
    over from earlier days too), and each customer whose visit falls due today and who agreed gets
    the survey link, once per visit (not the backlog: a survey weeks late is noise)."""
    today = local_date(now)
    start, end = local_day_bounds(today, today)
    due = session.scalars(select(ReturnVisit).where(ReturnVisit.done_at.is_(None), ReturnVisit.due_at < end)
                          .options(joinedload(ReturnVisit.ticket).joinedload(Ticket.customer))
                          .order_by(ReturnVisit.due_at)).all()
    surveys = sum(notifications.tell_customer(session, visit.ticket, "return_visit", key=str(visit.id),
                                              link=notifications.survey_link(visit.ticket))
                  for visit in due if visit.due_at >= start)
    if due:
        notifications.tell_staff(session, recipients.active(session, Role.CLERK), "visits_due", key=today.isoformat(),
                                 link="return_visit.index_view", count=len(due))
    return Outcome(len(due), {"visits_due": len(due), "surveys": surveys})


# --- month end (R-PART-7, R-FEE-2, R-RPT-1) -----------------------------------------------------

def month_end(session: Session, now: datetime) -> Outcome:
    """For the month that ended: every outlet's parts statement, fee claims for the finished
    in-warranty tickets and the month's settlement batches, and the quality report's batch alerts
    to the managers."""
    month = previous_month(local_date(now))
    statements = reconciliation.issue_month(session, month)
    claims = fee_claims.generate(session, None, SYSTEM_ACTOR)
    batches = fee_claims.settle_all(session, month, SYSTEM_ACTOR, now=now)
    alerts = quality_report.build(session, month).alerts
    managers = recipients.managers(session)
    for row in alerts:
        notifications.tell_staff(session, managers, "batch_alert", key=f"{month:%Y-%m}:{row.model_id}",
                                 month=f"{month:%Y-%m}", model=row.model, faults=row.faults,
                                 link="quality_report.index")
    counts = {"statements": len(statements), "claims": len(claims), "batches": len(batches),
              "batch_alerts": len(alerts)}
    return Outcome(sum(counts.values()), {"month": f"{month:%Y-%m}", **counts})


# --- nightly purge (R-APR-4, PIPL) --------------------------------------------------------------

def nightly_purge(session: Session, now: datetime) -> Outcome:
    """Appraisal and training records past retention (R-APR-4); the public doors' rate-limit
    rows (a day is far beyond any window); messages and notifications past their keeping time
    (the outbox holds phone numbers: PIPL, kept no longer than needed); old job runs. Sessions
    are signed cookies that expire by themselves: nothing of them is stored to purge."""
    purged = retention.purge_expired(session, local_date(now))
    removed = {"old_appraisal_records": purged.total}
    removed["old_rate_events"] = _delete(session, delete(RateEvent).where(RateEvent.at < now - timedelta(days=1)))
    removed["old_messages"] = _delete(session, delete(OutboxMessage).where(
        OutboxMessage.status != OutboxStatus.QUEUED.value,
        OutboxMessage.created_at < now - _days(session, "retention.outbox_days")))
    removed["old_notifications"] = _delete(session, delete(StaffNotification).where(
        StaffNotification.created_at < now - _days(session, "retention.notifications_days")))
    removed["old_job_runs"] = _delete(session, delete(JobRun).where(
        JobRun.started_at < now - _days(session, "retention.job_runs_days", at_least=62)))  # the month's lock row
    return Outcome(sum(removed.values()), removed)


def _days(session: Session, key: str, at_least: int = 1) -> timedelta:
    return timedelta(days=max(int(policy.value(session, key)), at_least))


def _delete(session: Session, statement) -> int:
    return session.execute(statement.execution_options(synchronize_session=False)).rowcount or 0


# --- when each runs -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    name: str
    work: Callable[[Session, datetime], Outcome]
    slot: Callable[[datetime], str | None]  # the run this instant belongs to; None: not yet today
    schedule: str  # for people (README, the admin screen)
    minute: str  # the minutes of each hour the queue offers it (a crontab field: "*/5", "7")


def every_minutes(minutes: int) -> Callable[[datetime], str]:
    def slot(now: datetime) -> str:
        floored = now.replace(minute=now.minute - now.minute % minutes, second=0, microsecond=0)
        return floored.strftime("%Y-%m-%dT%H:%MZ")
    return slot


def daily_from(hour: int) -> Callable[[datetime], str | None]:
    """Once a local day, at the first tick from `hour` on (a worker down at that hour runs it later)."""
    def slot(now: datetime) -> str | None:
        local = now.astimezone(zone_of())
        return local.date().isoformat() if local.hour >= hour else None
    return slot


def monthly_from(hour: int) -> Callable[[datetime], str | None]:
    """Once for each month that ended, from `hour` on its next month's first day."""
    def slot(now: datetime) -> str | None:
        local = now.astimezone(zone_of())
        if local.day == 1 and local.hour < hour:
            return None
        return f"{previous_month(local.date()):%Y-%m}"
    return slot


# Daily and monthly jobs are offered every hour and act once per day / month (their slot), so a
# worker that was down at the usual hour catches up at the next one.
JOBS = {job.name: job for job in (
    Job("sla_sweep", sla_sweep, every_minutes(5), "every 5 minutes", "*/5"),
    Job("visits_due", visits_due, daily_from(8), "daily from 08:00", "2"),
    Job("month_end", month_end, monthly_from(1), "monthly, from 01:00 on the 1st", "12"),
    Job("nightly_purge", nightly_purge, daily_from(2), "daily from 02:00", "7"),
)}
