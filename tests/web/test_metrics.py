"""Issue 17 (operations): /metrics for Prometheus — request latency by endpoint (never by raw
path), the periodic jobs' runs and the outbox read from the database at scrape time (unscoped:
the scrape has no user), a bearer token when METRICS_TOKEN is set, one registry per app, and
gunicorn's workers summed through PROMETHEUS_MULTIPROC_DIR."""
from __future__ import annotations

import os
import runpy
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from models import JobRun, OutboxMessage, StaffNotification, utcnow
from tests.conftest import make_app
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2]
LATENCY = "backoffice_http_request_duration_seconds"


def scrape(client, **headers) -> dict:
    """{(sample name, frozenset of labels): value} of one scrape."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.status_code
    return parse(response.get_data(as_text=True))


def parse(text: str) -> dict:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_timed_by_endpoint_method_and_status(client):
    before = scrape(client)
    for url in ("/login", "/login", "/healthz", "/no-such-page/12345"):
        client.get(url)
    after = scrape(client)

    def counted(endpoint, status, name=f"{LATENCY}_count"):
        return (value(after, name, endpoint=endpoint, method="GET", status=status)
                - value(before, name, endpoint=endpoint, method="GET", status=status))

    assert counted("auth.login", "2xx") == 2
    assert counted("health.healthz", "2xx") == 1
    assert counted("unmatched", "4xx") == 1  # a 404 by its kind, not its address
    assert counted("auth.login", "2xx", name=f"{LATENCY}_sum") > 0
    inf = value(after, f"{LATENCY}_bucket", endpoint="auth.login", method="GET", status="2xx", le="+Inf")
    assert inf == value(after, f"{LATENCY}_count", endpoint="auth.login", method="GET", status="2xx")
    assert value(after, "backoffice_http_requests_total", endpoint="unmatched", method="GET", code="404") \
        - value(before, "backoffice_http_requests_total", endpoint="unmatched", method="GET", code="404") == 1
    endpoints = {dict(labels).get("endpoint") for _name, labels in after}
    assert "metrics.scrape" not in endpoints  # the scrapes themselves are not counted
    assert not any("/" in (endpoint or "") for endpoint in endpoints)


def _run(job, status, started, finished=None) -> JobRun:
    return JobRun(job=job, slot=started.isoformat(), status=status, started_at=started, finished_at=finished)


def test_job_runs_are_read_from_the_database_at_scrape_time(client, session):
    now = utcnow()
    last_success = now - timedelta(minutes=5)
    session.add_all([
        _run("metrics_probe", "done", now - timedelta(hours=3), now - timedelta(hours=3) + timedelta(seconds=2)),
        _run("metrics_probe", "done", last_success - timedelta(seconds=2), last_success),
        _run("metrics_probe", "failed", now - timedelta(hours=1), now - timedelta(hours=1)),
        _run("metrics_probe", "failed", now - timedelta(days=2), now - timedelta(days=2)),  # outside 24 h
        _run("metrics_probe", "running", now - timedelta(seconds=30)),
    ])
    session.commit()

    samples = scrape(client)  # nobody signed in: job runs are the center's rows, read unscoped

    assert value(samples, "backoffice_job_runs", job="metrics_probe", status="done") == 2
    assert value(samples, "backoffice_job_runs", job="metrics_probe", status="failed") == 2
    assert value(samples, "backoffice_job_runs", job="metrics_probe", status="running") == 1
    assert value(samples, "backoffice_job_failures_last_24h", job="metrics_probe") == 1
    assert abs(value(samples, "backoffice_job_last_success_timestamp_seconds", job="metrics_probe")
               - last_success.timestamp()) < 1
    assert value(samples, "backoffice_metrics_database_up") == 1


def _message(key, channel, status, *, created, next_attempt=None) -> OutboxMessage:
    return OutboxMessage(dedupe_key=f"metrics-test-{key}", channel=channel, recipient="13700000000",
                         template="receipt", status=status, created_at=created,
                         next_attempt_at=next_attempt or created)


def test_the_outbox_depth_and_the_oldest_due_message(client, session):
    before = scrape(client)
    now = utcnow()
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)  # older than anything the demo data queued
    session.add_all([
        _message("due", "sms", "queued", created=long_ago),
        # Older still, but waiting for its next attempt (backoff): not due, not the oldest due.
        _message("later", "sms", "queued", created=long_ago - timedelta(days=365),
                 next_attempt=now + timedelta(hours=1)),
        _message("sent", "email", "sent", created=now),
        _message("failed", "wechat", "failed", created=now),
    ])
    clerk = make_user(session, "clerk")
    session.add_all([StaffNotification(user_id=clerk.id, dedupe_key="metrics-test-unread", kind="sla_warning"),
                     StaffNotification(user_id=clerk.id, dedupe_key="metrics-test-read", kind="sla_warning",
                                       read_at=now)])
    session.commit()

    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("backoffice_outbox_messages", status="queued", channel="sms") == 2
    assert grew("backoffice_outbox_messages", status="sent", channel="email") == 1
    assert grew("backoffice_outbox_messages", status="failed", channel="wechat") == 1
    assert grew("backoffice_outbox_messages", status="queued", channel="email") == 0
    expected_age = (utcnow() - long_ago).total_seconds()
    assert abs(value(after, "backoffice_outbox_oldest_due_age_seconds") - expected_age) < 60
    assert grew("backoffice_staff_notifications_unread") == 1


def test_a_token_is_required_when_one_is_configured(app, client):
    app.config["METRICS_TOKEN"] = "s3cret-scrape-token"

    refused = client.get("/metrics")
    assert refused.status_code == 401  # not a redirect to the sign-in page
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic s3cret-scrape-token"}).status_code == 401

    answered = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert answered.status_code == 200
    assert answered.content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert answered.headers["Cache-Control"] == "no-store"
    assert "backoffice_job_runs" in answered.get_data(as_text=True)


def test_the_endpoint_is_open_without_a_token(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")


def test_production_serves_no_metrics_without_a_token(app, client):
    app.config["BACKOFFICE_ENV"] = "production"
    assert client.get("/metrics").status_code == 404
    app.config["METRICS_TOKEN"] = "s3cret-scrape-token"
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"}).status_code == 200


def test_two_apps_count_apart_and_nothing_goes_on_the_global_registry(tmp_path):
    first = make_app(f"sqlite:///{tmp_path / 'first.db'}")
    second = make_app(f"sqlite:///{tmp_path / 'second.db'}")
    assert first.extensions["metrics"].registry is not second.extensions["metrics"].registry
    for _ in range(3):
        first.test_client().get("/healthz")
    second.test_client().get("/healthz")

    healthz = dict(endpoint="health.healthz", method="GET", status="2xx")
    assert value(scrape(first.test_client()), f"{LATENCY}_count", **healthz) == 3
    second_samples = scrape(second.test_client())
    assert value(second_samples, f"{LATENCY}_count", **healthz) == 1
    # An empty database (no tables): the request series still come, the database's say why not.
    assert value(second_samples, "backoffice_metrics_database_up") == 0
    assert not [m for m in REGISTRY.collect() if m.name.startswith("backoffice_")]


MULTIPROCESS_SCRIPT = textwrap.dedent("""
    import os, sys
    from models import JobRun, db, utcnow
    from tests.conftest import make_app

    app = make_app("sqlite:///" + sys.argv[1])
    with app.app_context():
        db.create_all()
        db.session.add(JobRun(job="sla_sweep", slot="s1", status="done", finished_at=utcnow()))
        db.session.commit()
        db.engine.dispose()  # no connection shared across the fork
    child = os.fork()
    if child == 0:  # another worker: two requests, then it ends
        client = app.test_client()
        client.get("/healthz")
        client.get("/healthz")
        os._exit(0)
    os.waitpid(child, 0)
    client = app.test_client()
    client.get("/healthz")
    sys.stdout.write(client.get("/metrics").get_data(as_text=True))
""")


def test_gunicorn_workers_are_summed_through_the_multiprocess_directory(tmp_path):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", MULTIPROCESS_SCRIPT, str(tmp_path / "mp.db")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]

    samples = parse(done.stdout)
    healthz = dict(endpoint="health.healthz", method="GET", status="2xx")
    assert value(samples, f"{LATENCY}_count", **healthz) == 3  # the ended worker's two and this one's
    assert value(samples, "backoffice_job_runs", job="sla_sweep", status="done") == 1
    assert len(list(directory.glob("histogram_*.db"))) == 2  # one file per process


def test_gunicorn_tells_prometheus_client_when_a_worker_ends(tmp_path, monkeypatch):
    child_exit = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["child_exit"]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")

    child_exit(None, SimpleNamespace(pid=4242))

    assert not (tmp_path / "gauge_livesum_4242.db").exists()  # a live gauge dies with its worker
    assert (tmp_path / "counter_4242.db").exists()  # its counts stay in the sums
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    child_exit(None, SimpleNamespace(pid=4242))  # one process, no directory: nothing to do
