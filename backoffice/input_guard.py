"""Input refused before any view sees it: a 400 with a message, never a 500.

- A NUL byte (PostgreSQL cannot store it in text) or a lone UTF-16 surrogate (no encoder can
  write it) anywhere in the path, the query, a form field, an uploaded file's name or a JSON
  body.
- A JSON body nested deeper than MAX_JSON_DEPTH (the channel API's documents are two levels
  deep; 100,000 levels would exhaust the parser's recursion).
- An integer in a URL path (`<int:…>`) beyond the database's BIGINT: no such record, 404.
"""
from __future__ import annotations

import re

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

MAX_ID = 2**63 - 1  # BIGINT: a larger id overflows the driver instead of missing
MAX_JSON_DEPTH = 32
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

UNSTORABLE_MESSAGE = _l("The request contains a character that cannot be stored (a NUL byte or an "
                        "unpaired surrogate). Nothing was changed: remove it and try again.")
TOO_DEEP_MESSAGE = _l("The JSON body is nested too deeply.")


class BadInput(BadRequest):
    """A 400 whose description is a message for the user (in their language)."""

    def __init__(self, message):
        super().__init__(description=str(message))
        self.message = message


class BoundedIntConverter(IntegerConverter):
    """`<int:id>` that matches only ids the database can hold: a 25-digit id is a 404."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def unstorable(text: str) -> bool:
    return bool(UNSTORABLE.search(text))


def json_problem(body) -> str | None:
    """Walks the parsed body without recursion: too deep, or an unstorable string."""
    stack = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return str(TOO_DEEP_MESSAGE)
        if isinstance(value, str):
            if unstorable(value):
                return str(UNSTORABLE_MESSAGE)
        elif isinstance(value, dict):
            if any(unstorable(key) for key in value):
                return str(UNSTORABLE_MESSAGE)
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return None


def request_problem() -> str | None:
    """What is wrong with the current request's input, or None."""
    texts = [request.path]
    for multi in (request.args, request.form):
        for key, values in multi.lists():
            texts.append(key)
            texts.extend(values)
    for key, upload in request.files.items(multi=True):
        texts.extend((key, upload.filename or ""))
    if any(unstorable(text) for text in texts):
        return str(UNSTORABLE_MESSAGE)
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            return str(TOO_DEEP_MESSAGE)
        return json_problem(body)
    return None


def init_app(app: Flask) -> None:
    """Before any route is added (the converter) and before any other request hook runs."""
    app.url_map.converters["int"] = BoundedIntConverter

    def _guard():
        problem = request_problem()
        if problem:
            raise BadInput(problem)

    app.before_request_funcs.setdefault(None, []).insert(0, _guard)
