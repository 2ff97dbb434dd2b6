"""Per-request SQL and server timing for the benchmark (bench/bench.py), on only in bench mode.

Why: the benchmark compares pages by what the server spends on them, not only by what the
client waits for. Every response gets

    Server-Timing: sql;dur=<ms>;desc="<n> statements", app;dur=<ms>
    X-SQL-Statements: <n>
    X-Worker-Pid: <pid>

counted from the first statement of the request (the user loader, the row scope) to the
response. A streamed body (CSV export) is still being produced when the headers leave, so its
headers carry what was counted up to then; when the stream ends a log line gives the totals:

    bench-request id=<X-Bench-Id of the request> pid=<pid> statements=<n> sql_ms=<ms> total_ms=<ms> streamed=1

The runner sends an X-Bench-Id header and reads that line from the server's log.
Registered by create_app when app.config["BENCH"] is set (BACKOFFICE_BENCH=1, never in
production); without it nothing here runs.
"""
from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, field

from flask import Flask, g, has_app_context, request
from sqlalchemy import event

from .extensions import db

log = logging.getLogger("backoffice.bench")
STATS_KEY = "bench_timing"
START_KEY = "bench_cursor_started"


@dataclass
class RequestTiming:
    """What one request spent: shared by the request and, for a streamed body, the stream."""

    started: float = field(default_factory=time.perf_counter)
    statements: int = 0
    sql_seconds: float = 0.0
    bench_id: str = ""

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    def header(self) -> str:
        return (f'sql;dur={self.sql_seconds * 1000:.1f};desc="{self.statements} statements", '
                f"app;dur={self.elapsed_ms():.1f}")

    def log_line(self, streamed: bool) -> str:
        return (f"bench-request id={self.bench_id or '-'} pid={os.getpid()} statements={self.statements} "
                f"sql_ms={self.sql_seconds * 1000:.1f} total_ms={self.elapsed_ms():.1f} "
                f"streamed={int(streamed)}")


def current() -> RequestTiming | None:
    """The timing of the request (or stream) running now, if any."""
    return g.get(STATS_KEY) if has_app_context() else None


def _before_cursor(conn, cursor, statement, parameters, context, executemany):
    if current() is not None:
        conn.info.setdefault(START_KEY, []).append(time.perf_counter())


def _after_cursor(conn, cursor, statement, parameters, context, executemany):
    timing = current()
    started = conn.info.get(START_KEY)
    if timing is None or not started:
        return
    timing.statements += 1
    timing.sql_seconds += time.perf_counter() - started.pop()


def _on_error(exception_context):
    started = exception_context.connection.info.get(START_KEY) if exception_context.connection else None
    if started:  # a failed statement still counts, and leaves no stale start behind
        timing = current()
        elapsed = time.perf_counter() - started.pop()
        if timing is not None:
            timing.statements += 1
            timing.sql_seconds += elapsed


def _listen(engine) -> None:
    for name, handler in (("before_cursor_execute", _before_cursor), ("after_cursor_execute", _after_cursor),
                          ("handle_error", _on_error)):
        if not event.contains(engine, name, handler):
            event.listen(engine, name, handler)


def init_app(app: Flask) -> None:
    """Count statements on the app's engines and time every request. Registered before the
    login and scope hooks, so their statements count too."""
    with app.app_context():
        for engine in db.engines.values():
            _listen(engine)

    @app.before_request
    def _start():
        bench_id = re.sub(r"[^A-Za-z0-9_.-]", "", request.headers.get("X-Bench-Id", ""))[:64]
        setattr(g, STATS_KEY, RequestTiming(bench_id=bench_id))

    @app.after_request
    def _headers(response):
        timing = current()
        if timing is None:  # a request refused before any hook ran
            return response
        response.headers["Server-Timing"] = timing.header()
        response.headers["X-SQL-Statements"] = str(timing.statements)
        response.headers["X-Worker-Pid"] = str(os.getpid())
        streamed = response.is_streamed
        if streamed or timing.bench_id:
            # Closed by the server once the last byte left: a stream's statements are all counted.
            response.call_on_close(lambda: log.info(timing.log_line(streamed)))
        return response
