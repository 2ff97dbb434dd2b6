"""GET /metrics for Prometheus (backoffice.metrics). Like /healthz it needs no session or sign-in
(a GET: no CSRF token either); with METRICS_TOKEN set it answers only "Authorization: Bearer
<token>", else 401. In production without a token it is not served at all (404): the figures
are no one's business but the operators'."""
from flask import Blueprint, Response, abort, current_app, request

from backoffice import metrics

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape():
    token = current_app.config["METRICS_TOKEN"]
    if not token and current_app.config["BACKOFFICE_ENV"] == "production":
        abort(404)
    if not metrics.authorized(request.headers.get("Authorization", ""), token):
        return Response(status=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"',
                                             "Cache-Control": "no-store"})
    return Response(metrics.exposition(current_app), content_type=metrics.CONTENT_TYPE,
                    headers={"Cache-Control": "no-store"})
