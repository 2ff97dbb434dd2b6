"""Log lines that can be followed through a request (issue 17, operations).

Every request has an id: the one the proxy in front sent (`X-Request-ID`, when it looks like an
id), else a new one. It is on every log line written while the request runs, in the response's
`X-Request-ID` header and on the error page, so a user's "it went wrong" finds its lines.
`LOG_FORMAT=json` (the default in production) writes one JSON object per line for a log
collector (python-json-logger); otherwise plain text lines for a person at a terminal.
"""
from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

HEADER = "X-Request-ID"
ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{8,64}\Z")  # what a proxy's id looks like; anything else is replaced
TEXT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"


def request_id() -> str:
    """The current request's id, "-" outside a request (CLI, jobs)."""
    return g.get("request_id", "-") if has_request_context() else "-"


class RequestIdFilter(logging.Filter):
    """Puts `request_id()` on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id()
        return True


def _handler(fmt: str) -> logging.Handler:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter(JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level",
                                                                      "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    handler.backoffice = True  # ours: replaced, not added again, when another app is made (tests)
    return handler


def configure(fmt: str) -> None:
    """The root logger writes through one handler of ours, in `fmt` ("json" or "text")."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "backoffice", False)]:
        root.removeHandler(old)
    root.addHandler(_handler(fmt))
    root.setLevel(logging.INFO)


def init_app(app: Flask) -> None:
    configure(app.config["LOG_FORMAT"])

    @app.before_request
    def _take_request_id():
        sent = request.headers.get(HEADER, "")
        g.request_id = sent if ACCEPTED.match(sent) else uuid.uuid4().hex

    @app.after_request
    def _give_request_id(response):
        if "request_id" in g:
            response.headers[HEADER] = g.request_id
        return response

    app.jinja_env.globals["request_id"] = request_id
