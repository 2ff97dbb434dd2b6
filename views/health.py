"""/healthz and /readyz: public, no session or sign-in, never cached (backoffice.health)."""
from flask import Blueprint, jsonify

from backoffice import health
from models import db

bp = Blueprint("health", __name__)


def _answer(body: dict, status: int):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    return _answer({"status": "ok"}, 200)


@bp.get("/readyz")
def readyz():
    ready, checks = health.readiness(db.session)
    return _answer({"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503)
