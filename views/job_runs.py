"""The periodic jobs' runs (issue 17): started, finished, items, error, by which worker. The runs
are written by the job runner (backoffice.job_runs). Administrators and managers only.

Above the list, one line per job: its schedule and its last run; an administrator may run a job
now (it goes on the task queue; a worker runs the job's current slot, once)."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import func, select

from backoffice import job_runs, scheduled, tasks
from backoffice.labels import JOB_COUNTS, JOB_LABELS, JOB_SCHEDULES, choices, label_of
from backoffice.permissions import ADMINS, MANAGERS
from backoffice.timezones import format_local
from models import JobRun, db, utcnow
from models.choices import JobStatus

from .base import LocalDateBetweenFilter, ScopedOptionsFilter, SecureModelView, role_in
from .fields import enum_formatter, status_badge, time_formatter

log = logging.getLogger(__name__)
RUNNERS = ADMINS  # who may run a job now; managers read the runs only


def job_label(job: str) -> str:
    return label_of(JOB_LABELS, job)


def job_formatter(view, context, model, name):
    return Markup('{} <small class="text-muted">{}</small>').format(job_label(model.job), model.job)


def summary_text(summary: str) -> str:
    """"月份 2026-11，对账单 4，…" from the run's counts (JSON); a line written before the counts
    were kept (plain English) shows as it is."""
    try:
        counts = json.loads(summary or "{}")
    except ValueError:
        return summary
    if not isinstance(counts, dict):
        return summary
    return " · ".join(f"{label_of(JOB_COUNTS, key)} {value}" for key, value in counts.items())


def summary_formatter(view, context, model, name):
    return summary_text(model.summary)


def duration(run: JobRun) -> str:
    """How long the run took, e.g. "2 min 5 s"; nothing while it runs."""
    if run.finished_at is None or run.started_at is None:
        return ""
    seconds = max(int((run.finished_at - run.started_at).total_seconds()), 0)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("%(h)s h %(m)s min", h=hours, m=minutes)
    if minutes:
        return _("%(m)s min %(s)s s", m=minutes, s=seconds)
    return _("%(s)s s", s=seconds)


def error_formatter(view, context, model, name):
    return Markup('<pre class="small mb-0" data-testid="job-error">{}</pre>').format(model.error) if model.error else ""


@dataclass(frozen=True)
class JobLine:
    """A periodic job as the line above the list shows it."""

    name: str
    label: str
    schedule: str
    last: JobRun | None


def last_runs() -> dict[str, JobRun]:
    """Each job's latest run, in one grouped statement (a failed run taken over counts from its new
    start)."""
    latest = (select(JobRun.job, func.max(JobRun.started_at).label("started_at"))
              .group_by(JobRun.job).subquery())
    runs = db.session.scalars(select(JobRun).join(
        latest, (JobRun.job == latest.c.job) & (JobRun.started_at == latest.c.started_at)).order_by(JobRun.id))
    return {run.job: run for run in runs}  # two runs started at the same instant: the later row


def job_lines() -> list[JobLine]:
    last = last_runs()
    return [JobLine(name, job_label(name), label_of(JOB_SCHEDULES, job.schedule), last.get(name))
            for name, job in scheduled.JOBS.items()]


def last_run_html(run: JobRun | None) -> Markup:
    if run is None:
        return Markup('<span class="text-muted">{}</span>').format(_("Never run"))
    badge = status_badge(JobStatus)(None, None, run, "status")
    if run.finished_at is None:
        return Markup("{} {}").format(badge, _("since %(time)s", time=format_local(run.started_at)))
    return Markup("{} {}").format(badge, _("finished %(time)s", time=format_local(run.finished_at)))


def not_now(job: scheduled.Job) -> str | None:
    """Why running `job` now would do nothing (backoffice.job_runs.why_idle), said; None: it runs."""
    now = utcnow()
    slot = job.slot(now)
    label, schedule = job_label(job.name), label_of(JOB_SCHEDULES, job.schedule)
    why = job_runs.why_idle(db.session, job.name, slot, now)
    if why == "not_due":
        return _("%(job)s is not due yet (%(schedule)s).", job=label, schedule=schedule)
    if why == "done":
        return _("%(job)s already ran for %(slot)s; it runs again at its next time (%(schedule)s).",
                 job=label, slot=slot, schedule=schedule)
    if why == "running":
        return _("%(job)s is running now.", job=label)
    return None


def job_options():
    return [(job, job_label(job)) for job in db.session.scalars(select(JobRun.job).distinct().order_by(JobRun.job))]


class JobRunView(SecureModelView):
    roles = export_roles = MANAGERS
    list_template = "admin/job_run_list.html"
    column_list = ("job", "slot", "status", "attempts", "started_at", "finished_at", "duration", "items",
                   "summary", "worker")
    column_details_list = ("job", "slot", "status", "attempts", "started_at", "finished_at", "duration", "items",
                           "summary", "error", "worker")
    column_export_list = column_details_list
    column_labels = {"job": _l("Job"), "slot": _l("Slot"), "status": _l("Status"), "attempts": _l("Attempts"),
                     "started_at": _l("Started"), "finished_at": _l("Finished"), "duration": _l("Duration"),
                     "items": _l("Items"), "summary": _l("Summary"), "error": _l("Error"), "worker": _l("Worker")}
    column_formatters = {"job": job_formatter, "status": status_badge(JobStatus), "started_at": time_formatter,
                         "finished_at": time_formatter, "duration": lambda v, c, m, n: duration(m),
                         "summary": summary_formatter, "error": error_formatter}
    column_formatters_export = {"job": lambda v, c, m, n: job_label(m.job), "status": enum_formatter(JobStatus),
                                "started_at": time_formatter, "finished_at": time_formatter,
                                "duration": lambda v, c, m, n: duration(m), "summary": summary_formatter}
    column_sortable_list = ("job", "started_at", "finished_at", "items")
    column_default_sort = [("started_at", True), ("id", True)]
    column_searchable_list = ("job", "slot")

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(JobRun.job, _l("Job"), job_options),
            ScopedOptionsFilter(JobRun.status, _l("Status"), lambda: [(v, str(t)) for v, t in choices(JobStatus)]),
            LocalDateBetweenFilter(JobRun.started_at, _l("Started")),
        )
        super().__init__(*args, **kwargs)

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs.update(job_lines=job_lines(), last_run_html=last_run_html, can_run=role_in(RUNNERS))
        return super().render(template, **kwargs)

    @expose("/run/", methods=("POST",))
    def run_view(self):
        """An administrator runs a job now: a worker takes it from the queue in a moment."""
        if not role_in(RUNNERS):
            abort(403)
        job = scheduled.JOBS.get(request.form.get("job", ""))
        if job is None:
            flash(_("Choose one of the jobs listed."), "error")
        elif (reason := not_now(job)) is not None:
            flash(reason, "warning")
        else:
            self._enqueue(job.name)
        return redirect(self.get_url(".index_view"))

    def _enqueue(self, name: str) -> None:
        try:
            tasks.run_job_now(name)
        except Exception:  # Redis down: say so; the job still runs at its time
            log.warning("task queue unreachable: %s not queued", name, exc_info=True)
            flash(_("The task queue cannot be reached: %(job)s was not queued.", job=job_label(name)), "error")
            return
        flash(_("Queued: %(job)s will run in a moment.", job=job_label(name)), "success")
