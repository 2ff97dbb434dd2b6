"""Prometheus metrics (issue 17, operations), served at GET /metrics (views/metrics.py).

Two kinds of series:

- Requests, counted in the process that served them: `backoffice_http_request_duration_seconds`
  (histogram) by Flask endpoint, method and status class (2xx…5xx), and
  `backoffice_http_requests_total` by endpoint, method and status code. The endpoint is the
  route's name ("ticket.index_view"), "unmatched" for a 404: never the raw path, whose ids and
  junk would make a series per address. Timed from Flask's request_started to request_finished
  signals, so every hook (the input guard, the user loader, the scope) is inside; a streamed
  export's body, produced after that, is not. /metrics itself and static files are not counted.
- The periodic jobs and the outbox, read from the database at scrape time (`database_families`):
  the same answer from whichever worker serves the scrape, nothing kept in a process.
  `backoffice_job_runs{job,status}`, `backoffice_job_last_success_timestamp_seconds{job}`,
  `backoffice_job_failures_last_24h{job}`, `backoffice_outbox_messages{status,channel}`,
  `backoffice_outbox_oldest_due_age_seconds` (how long ago the oldest queued message that is due
  now was written; 0 when none), `backoffice_staff_notifications_unread` and
  `backoffice_metrics_database_up` (0 when those queries failed: the request series still come).

Each app has its own CollectorRegistry (app.extensions["metrics"]): nothing goes on
prometheus_client's global registry, so apps built side by side (tests) count apart.

Several gunicorn workers: each is a process with its own counts, and a scrape reaches one of
them. Set PROMETHEUS_MULTIPROC_DIR to an empty directory the workers may write, in the
environment gunicorn starts with (prometheus_client reads it at import), and empty it at each
start (e.g. `rm -rf "$PROMETHEUS_MULTIPROC_DIR"/*` in the start script). Every worker then keeps
its request series in files there; /metrics, whichever worker answers, sums them with
MultiProcessCollector in a fresh registry, plus the database series. gunicorn.conf.py's
child_exit tells prometheus_client when a worker ends (its counts stay in the sums).

Scrape: `curl -H "Authorization: Bearer $METRICS_TOKEN" http://host:8000/metrics`; with
METRICS_TOKEN empty (development) no header is needed.
"""
from __future__ import annotations

import hmac
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, g, request, request_finished, request_started
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import case, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from models import JobRun, OutboxMessage, StaffNotification, utcnow
from models.choices import JobStatus, NotifyChannel, OutboxStatus

from .access import UNSCOPED
from .extensions import db

log = logging.getLogger(__name__)

# prometheus_client's own text format 0.0.4 (its CONTENT_TYPE_LATEST names 1.0.0 since 0.22);
# generate_latest writes 0.0.4, which every Prometheus reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
EXTENSION = "metrics"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SKIPPED_ENDPOINTS = frozenset({"metrics.scrape", "static"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Pages take milliseconds; a 100,000-row export up to the worker's 120 s timeout.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
FAILURE_WINDOW = timedelta(hours=24)
_STARTED = "metrics_started"  # flask.g: perf_counter() at request_started

# No `_created` twin of every series (a timestamp per label set, a third of the histogram's lines,
# never emitted in multiprocess mode anyway). prometheus_client's switch is per process; these
# are the process's only metrics.
disable_created_metrics()


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    latency: Histogram
    requests: Counter


class DatabaseCollector:
    """The job and outbox series, queried from the app's session when a scrape collects them."""

    def collect(self):
        return database_families(db.session, utcnow())

    def describe(self):
        return [GaugeMetricFamily(name, doc) for name, doc in DATABASE_SERIES.items()]


DATABASE_SERIES = {
    "backoffice_job_runs": "Recorded runs of each periodic job by status.",
    "backoffice_job_last_success_timestamp_seconds": "When each job's last successful run finished (Unix time).",
    "backoffice_job_failures_last_24h": "Runs of each job that failed and started in the last 24 hours.",
    "backoffice_outbox_messages": "Messages to customers in the outbox by status and channel.",
    "backoffice_outbox_oldest_due_age_seconds": "Age of the oldest queued message due for an attempt (0: none).",
    "backoffice_staff_notifications_unread": "In-app notifications to staff not read yet.",
    "backoffice_metrics_database_up": "1 when the job and outbox series could be read from the database.",
}


def init_app(app: Flask) -> None:
    registry = CollectorRegistry()
    labels = ("endpoint", "method")
    metrics = Metrics(
        registry=registry,
        latency=Histogram("backoffice_http_request_duration_seconds", "Time to answer a request.",
                          (*labels, "status"), buckets=BUCKETS, registry=registry),
        requests=Counter("backoffice_http_requests_total", "Requests answered.", (*labels, "code"),
                         registry=registry),
    )
    registry.register(DatabaseCollector())
    app.extensions[EXTENSION] = metrics

    def _started(sender, **extra):
        setattr(g, _STARTED, time.perf_counter())

    def _finished(sender, response, **extra):
        started = g.pop(_STARTED, None)
        endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
        if started is None or endpoint in SKIPPED_ENDPOINTS or endpoint.endswith(".static"):
            return
        method = request.method if request.method in METHODS else "other"  # any word is a method to HTTP
        code = response.status_code
        metrics.latency.labels(endpoint, method, f"{code // 100}xx").observe(time.perf_counter() - started)
        metrics.requests.labels(endpoint, method, str(code)).inc()

    # Strong references: the receivers live as long as the app (blinker drops them with it).
    request_started.connect(_started, app, weak=False)
    request_finished.connect(_finished, app, weak=False)


def authorized(header: str, token: str) -> bool:
    """METRICS_TOKEN empty: open (development). Else "Bearer <token>", compared in constant time."""
    if not token:
        return True
    scheme, _sep, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def exposition(app: Flask) -> bytes:
    """The scrape's body. Under gunicorn with PROMETHEUS_MULTIPROC_DIR: every worker's request
    series summed from their files, in a registry made for this scrape, with the database's."""
    if not os.environ.get(MULTIPROC_ENV):
        return generate_latest(app.extensions[EXTENSION].registry)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(DatabaseCollector())
    return generate_latest(registry)


def database_families(session: Session, now: datetime) -> list:
    """The job and outbox series: four cheap statements (GROUP BY, MIN over the due index,
    a COUNT). Unscoped: the scrape has no user, and the counts are the whole service's."""
    try:
        families = [*_job_families(session, now), *_outbox_families(session, now), _unread(session)]
    except SQLAlchemyError:
        session.rollback()
        log.warning("metrics: the database series could not be read", exc_info=True)
        return [_gauge("backoffice_metrics_database_up", 0)]
    return [*families, _gauge("backoffice_metrics_database_up", 1)]


def _gauge(name: str, value: float | None = None, labels: tuple = ()) -> GaugeMetricFamily:
    if value is None:
        return GaugeMetricFamily(name, DATABASE_SERIES[name], labels=labels)
    return GaugeMetricFamily(name, DATABASE_SERIES[name], value=value)


def _job_families(session: Session, now: datetime) -> list:
    recent = case((JobRun.started_at >= now - FAILURE_WINDOW, 1), else_=0)
    rows = session.execute(
        select(JobRun.job, JobRun.status, func.count(), func.max(JobRun.finished_at), func.sum(recent))
        .group_by(JobRun.job, JobRun.status).execution_options(**UNSCOPED)).all()
    runs = _gauge("backoffice_job_runs", labels=("job", "status"))
    last_success = _gauge("backoffice_job_last_success_timestamp_seconds", labels=("job",))
    failures = _gauge("backoffice_job_failures_last_24h", labels=("job",))
    counts = {(job, status): (count, finished, recent or 0) for job, status, count, finished, recent in rows}
    for job in sorted({job for job, _status in counts}):
        for status in JobStatus:  # every status of a known job, 0 included: rates need the series
            runs.add_metric([job, status.value], counts.get((job, status.value), (0,))[0])
        done = counts.get((job, JobStatus.DONE.value))
        if done and done[1] is not None:
            last_success.add_metric([job], done[1].timestamp())
        failures.add_metric([job], counts.get((job, JobStatus.FAILED.value), (0, None, 0))[2])
    return [runs, last_success, failures]


def _outbox_families(session: Session, now: datetime) -> list:
    rows = session.execute(
        select(OutboxMessage.status, OutboxMessage.channel, func.count())
        .group_by(OutboxMessage.status, OutboxMessage.channel).execution_options(**UNSCOPED)).all()
    found = {(status, channel): count for status, channel, count in rows}
    messages = _gauge("backoffice_outbox_messages", labels=("status", "channel"))
    for status in OutboxStatus:
        for channel in NotifyChannel:
            messages.add_metric([status.value, channel.value], found.get((status.value, channel.value), 0))
    oldest = session.execute(
        select(func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status == OutboxStatus.QUEUED.value, OutboxMessage.next_attempt_at <= now)
        .execution_options(**UNSCOPED)).scalar()
    age = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return [messages, _gauge("backoffice_outbox_oldest_due_age_seconds", age)]


def _unread(session: Session) -> GaugeMetricFamily:
    count = session.execute(
        select(func.count()).select_from(StaffNotification).where(StaffNotification.read_at.is_(None))
        .execution_options(**UNSCOPED)).scalar_one()
    return _gauge("backoffice_staff_notifications_unread", count)
