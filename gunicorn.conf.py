"""gunicorn's settings for production: `gunicorn app:app` reads this file from the working
directory (or `gunicorn -c gunicorn.conf.py app:app`). Every value can be set from the
environment, as the platform running the service does.

The app keeps nothing in the process between requests (sessions are signed cookies, rows live in
PostgreSQL), so workers can be added or restarted freely.
"""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Sync workers: the pages are short SQL work; (2 x cores) + 1 keeps the CPUs busy while others
# wait on the database.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# Long enough for a 100,000-row CSV export (about 10 s at a million tickets), short enough that
# a stuck worker is replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests (plus jitter), so slow growth of memory in a
# library never accumulates.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# The client address comes from the proxy in front (TRUSTED_PROXIES, werkzeug's ProxyFix in the
# app); gunicorn itself believes forwarded headers only from these addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


def child_exit(server, worker):
    """With PROMETHEUS_MULTIPROC_DIR set, each worker keeps its metrics in files there
    (backoffice/metrics.py); prometheus_client is told when one ends, for its live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
