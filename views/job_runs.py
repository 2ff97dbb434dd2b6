"""The periodic jobs' runs (issue 17): started, finished, items, error, by which worker. Read-only:
the runs are written by the job runner (backoffice.job_runs). Administrators and managers only."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from backoffice.labels import choices
from backoffice.permissions import MANAGERS
from models import JobRun, db
from models.choices import JobStatus

from .base import LocalDateBetweenFilter, ScopedOptionsFilter, SecureModelView
from .fields import enum_formatter, status_badge, time_formatter

# The periodic jobs (backoffice.scheduled.JOBS) named for people; an unknown name shows as it is.
JOB_LABELS = {"sla_sweep": _l("SLA sweep"), "visits_due": _l("Return visits due"),
              "month_end": _l("Month end"), "nightly_purge": _l("Nightly purge")}


def job_label(job: str) -> str:
    return str(JOB_LABELS.get(job, job))


def job_formatter(view, context, model, name):
    return Markup('{} <small class="text-muted">{}</small>').format(job_label(model.job), model.job)


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


def job_options():
    return [(job, job_label(job)) for job in db.session.scalars(select(JobRun.job).distinct().order_by(JobRun.job))]


class JobRunView(SecureModelView):
    roles = export_roles = MANAGERS
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
                         "error": error_formatter}
    column_formatters_export = {"job": lambda v, c, m, n: job_label(m.job), "status": enum_formatter(JobStatus),
                                "started_at": time_formatter, "finished_at": time_formatter,
                                "duration": lambda v, c, m, n: duration(m)}
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
