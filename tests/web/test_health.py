"""Issue 17 (operations): /healthz says the process answers, /readyz that the database does too;
both public, never cached, and a database that does not answer makes the app "not ready" (503)
without saying where it is."""
from tests.conftest import make_app


def test_healthz_answers_without_signing_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_ready_when_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok", "queue": "ok"}}


def test_readyz_is_not_ready_when_the_database_does_not_answer(tmp_path):
    missing = tmp_path / "no-such-directory" / "backoffice.db"
    app = make_app(f"sqlite:///{missing}")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"].startswith("unavailable (")
    assert str(tmp_path) not in response.get_data(as_text=True)  # the probe is public: no paths


def test_healthz_stays_up_when_the_database_is_down(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'no-such-directory' / 'backoffice.db'}")
    assert app.test_client().get("/healthz").status_code == 200


def test_readyz_is_not_ready_when_the_task_queue_cannot_be_reached(client, monkeypatch):
    from backoffice import tasks

    def unreachable():
        raise ConnectionError("redis down")

    monkeypatch.setattr(tasks.huey.storage, "queue_size", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["queue"] == "unavailable (ConnectionError)"
