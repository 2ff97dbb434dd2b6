"""Issue 17 (operations): the documented backup (pg_dump) restores (pg_restore) into a fresh
database, and the app reads it: staff sign in and find the tickets that were there."""
import shutil
import subprocess
import uuid

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from models import Ticket, db
from tests.conftest import login, make_app, unavailable
from tests.pg.conftest import dispose, schema_url


def libpq(url) -> str:
    """A SQLAlchemy URL as pg_dump / pg_restore take it (no driver name, no options)."""
    return url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        unavailable("pg", f"{name} is not installed (Debian: postgresql-client)")
    return found


def test_a_dump_restores_into_a_fresh_database_and_the_app_reads_it(pg_app, pg_demo_url, pg_url, tmp_path):
    schema = make_url(pg_demo_url).query["options"].removeprefix("-csearch_path=")
    with pg_app.app_context():
        tickets = db.session.scalar(select(db.func.count()).select_from(Ticket))
        number = db.session.scalar(select(Ticket.number).order_by(Ticket.id.desc()).limit(1))
    dump = tmp_path / "backoffice.dump"
    subprocess.run([tool("pg_dump"), "--format=custom", "--no-owner", f"--schema={schema}",
                    "--extension=pg_trgm", f"--file={dump}", libpq(pg_url)], check=True, capture_output=True)

    name = f"bo_restore_{uuid.uuid4().hex[:8]}"
    server = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    restored_url = pg_url.set(database=name)
    try:
        restored = subprocess.run([tool("pg_restore"), "--no-owner", f"--dbname={libpq(restored_url)}", str(dump)],
                                  check=False, capture_output=True, text=True)
        assert restored.returncode == 0, restored.stderr[-2000:]
        app = make_app(schema_url(restored_url, schema))
        try:
            with app.app_context():
                assert db.session.scalar(select(db.func.count()).select_from(Ticket)) == tickets
            client = app.test_client()
            assert login(client, "clerk").status_code == 302
            found = client.get("/admin/ticket/", query_string={"search": number})
            assert found.status_code == 200 and number in found.get_data(as_text=True)
            assert client.get("/readyz").get_json()["status"] == "ready"
        finally:
            dispose(app)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()
