"""`flask gen-load` (issue 16, point 1): a synthetic data set consistent with every table it fills,
added to a fresh migrated database (SQLite here; tests/pg: through COPY on PostgreSQL)."""
from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backoffice import load_generator
from backoffice.sla import KIND_CLOCKS
from models import Outlet, db
from models.choices import Channel, IssueCategory, TicketKind, TicketStatus
from models.customers import phone_key
from tests import factories as f
from tests.conftest import make_app

TICKETS = 500
OUTLETS = 20
NUMBER = re.compile(r"^SV(\d{8})-(\d{4,})$")


def generate(app, tickets=TICKETS, *extra):
    result = app.test_cli_runner().invoke(args=["gen-load", "--tickets", str(tickets), "--outlets", str(OUTLETS),
                                                *extra])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A fresh migrated SQLite database with one run of the generator."""
    path = tmp_path_factory.mktemp("load") / "load.db"
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        output = generate(app)
        db.engine.dispose()
    return path, output


@pytest.fixture
def load_app(generated, tmp_path):
    """An app on a copy of the generated database (a test may add to it)."""
    path = tmp_path / "copy.db"
    shutil.copy(generated[0], path)
    app = make_app(f"sqlite:///{path}")
    yield app
    with app.app_context():
        db.engine.dispose()


def scalar(connection, sql, **params):
    return connection.execute(text(sql), params).scalar()


def dangling_foreign_keys(connection) -> dict[str, int]:
    """Rows whose foreign key names no row, per table.column (any dialect)."""
    found = {}
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            column, target = fk.parent.name, fk.column
            count = scalar(connection, f"SELECT count(*) FROM {table.name} c LEFT JOIN {target.table.name} p "
                                       f"ON c.{column} = p.{target.name} WHERE c.{column} IS NOT NULL "
                                       f"AND p.{target.name} IS NULL")
            if count:
                found[f"{table.name}.{column}"] = count
    return found


def check_consistency(connection, *, now: datetime | None = None, with_demo: bool = False) -> None:
    """What the generated rows must keep, on SQLite and PostgreSQL alike (`with_demo`: beside the
    demo data, which keeps the app's rules but was registered in an order of its own)."""
    assert dangling_foreign_keys(connection) == {}
    rows = lambda sql: connection.execute(text(sql)).all()  # noqa: E731
    # Valid choices (the CHECKs say it too), and statuses spread with most tickets closed (R-TKT-4).
    statuses = dict(rows("SELECT status, count(*) FROM ticket GROUP BY status"))
    assert set(statuses) <= {s.value for s in TicketStatus}
    assert statuses["closed"] > 0.6 * sum(statuses.values()) and len(statuses) >= 5
    assert {k for (k,) in rows("SELECT DISTINCT kind FROM ticket")} == {k.value for k in TicketKind}
    assert {c for (c,) in rows("SELECT DISTINCT channel FROM ticket")} <= {c.value for c in Channel}
    assert {c for (c,) in rows("SELECT DISTINCT category FROM ticket")} <= {c.value for c in IssueCategory}
    # R-TKT-1: numbers in the app's format, unique, and the daily counters past them.
    numbers = [n for (n,) in rows("SELECT number FROM ticket")]
    assert len(numbers) == len(set(numbers)) and all(NUMBER.match(n) for n in numbers)
    counters = {str(day).replace("-", ""): seq for day, seq in rows("SELECT day, last_seq FROM ticket_counter")}
    for number in numbers:
        day, seq = NUMBER.match(number).groups()
        assert counters[day] >= int(seq), number
    # R-CUS-1: one customer per normalised phone, the key as the archive computes it.
    for phone, key in rows("SELECT phone, phone_key FROM customer"):
        assert key == phone_key(phone)
    # A ticket's contact phone carries the key the ticket search compares (models.customers.phone_key).
    for phone, key in rows("SELECT contact_phone, contact_phone_key FROM ticket"):
        assert key == phone_key(phone)
    # A ticket's unit is its customer's; its timeline starts with the registration and ends in its status.
    assert scalar(connection, "SELECT count(*) FROM ticket t JOIN unit u ON u.id = t.unit_id "
                              "WHERE u.customer_id <> t.customer_id") == 0
    assert scalar(connection, "SELECT count(*) FROM ticket t WHERE (SELECT count(*) FROM ticket_event e "
                              "WHERE e.ticket_id = t.id AND e.action = 'registered') <> 1") == 0
    last_status = rows("SELECT t.status, (SELECT e.to_status FROM ticket_event e WHERE e.ticket_id = t.id "
                       "AND e.to_status IS NOT NULL ORDER BY e.at DESC, e.id DESC LIMIT 1) FROM ticket t")
    assert all(status == last for status, last in last_status)
    assert scalar(connection, "SELECT count(*) FROM ticket WHERE (status = 'closed') <> (closed_at IS NOT NULL)") == 0
    # R-SLA-1: each kind's clocks, one current round each; met after registration.
    clocks = {}
    for ticket_id, kind, clock in rows("SELECT t.id, t.kind, c.clock FROM ticket t JOIN ticket_clock c "
                                       "ON c.ticket_id = t.id WHERE c.superseded_at IS NULL"):
        clocks.setdefault((ticket_id, kind), []).append(clock)
    for (_ticket_id, kind), found in clocks.items():
        assert len(found) == len(set(found))
        assert set(found) <= {c.value for c in KIND_CLOCKS[TicketKind(kind)]}
    assert len(clocks) == scalar(connection, "SELECT count(*) FROM ticket")
    assert scalar(connection, "SELECT count(*) FROM ticket_clock c JOIN ticket t ON t.id = c.ticket_id "
                              "WHERE c.met_at < t.created_at") == 0
    late = scalar(connection, "SELECT count(*) FROM ticket_clock WHERE met_at > due_at")
    assert 0 < late < scalar(connection, "SELECT count(*) FROM ticket_clock WHERE met_at IS NOT NULL") / 2
    # Return visits of the center, satisfaction mostly high.
    scores = dict(rows("SELECT satisfaction, count(*) FROM return_visit WHERE done_at IS NOT NULL "
                       "GROUP BY satisfaction"))
    assert set(scores) <= {1, 2, 3, 4, 5} and scores.get(5, 0) + scores.get(4, 0) > 0.7 * sum(scores.values())
    # R-PART-8: each account's balance is the sum of its entries and the last entry's balance after.
    for account_id, balance in rows("SELECT id, balance FROM parts_account"):
        total = scalar(connection, "SELECT coalesce(sum(delta), 0) FROM ledger_entry WHERE account_id = :a",
                       a=account_id)
        last = scalar(connection, "SELECT balance_after FROM ledger_entry WHERE account_id = :a "
                                  "ORDER BY at DESC, id DESC LIMIT 1", a=account_id)
        assert Decimal(str(total)).quantize(Decimal("0.01")) == Decimal(str(balance)).quantize(Decimal("0.01"))
        assert last is None or Decimal(str(last)).quantize(Decimal("0.01")) == \
            Decimal(str(balance)).quantize(Decimal("0.01"))
    assert scalar(connection, "SELECT count(*) FROM outlet o WHERE NOT o.is_service_center AND NOT EXISTS "
                              "(SELECT 1 FROM parts_account a WHERE a.outlet_id = o.id)") == 0
    # An old part credited on account is credited once in the ledger.
    assert scalar(connection, "SELECT count(*) FROM old_part o JOIN replaced_part r ON r.id = o.replaced_part_id "
                              "WHERE o.state = 'credited' AND r.settlement = 'on_account' AND (SELECT count(*) "
                              "FROM ledger_entry e WHERE e.source = 'old_part:' || o.id || :credit) <> 1",
                  credit=":credit") == 0
    # R-FEE-1/2: claims of done warranty tickets, totals that add up, settled in their batch.
    assert scalar(connection, "SELECT count(*) FROM fee_claim c JOIN ticket t ON t.id = c.ticket_id WHERE "
                              "t.status NOT IN ('resolved', 'return_visit', 'closed') OR NOT t.in_warranty") == 0
    assert scalar(connection, "SELECT count(*) FROM fee_claim "
                              "WHERE abs(claimed_total - labor_amount - travel_amount - parts_amount) > 0.001") == 0
    assert scalar(connection, "SELECT count(*) FROM fee_batch b WHERE abs(b.claims_total - (SELECT sum(approved_total) "
                              "FROM fee_claim c WHERE c.batch_id = b.id)) > 0.001") == 0
    assert scalar(connection, "SELECT count(*) FROM fee_claim WHERE (status = 'settled') <> "
                              "(batch_id IS NOT NULL)") == 0
    # R-TKT-9: a repeat names a ticket of the same serial (earlier: the demo's registration order is its own).
    assert scalar(connection, "SELECT count(*) FROM ticket t JOIN ticket r ON r.id = t.repeat_of_id "
                              "JOIN unit tu ON tu.id = t.unit_id JOIN unit ru ON ru.id = r.unit_id "
                              "WHERE tu.serial <> ru.serial OR tu.product_model_id <> ru.product_model_id") == 0
    if not with_demo:
        assert scalar(connection, "SELECT count(*) FROM ticket t JOIN ticket r ON r.id = t.repeat_of_id "
                                  "WHERE r.created_at >= t.created_at") == 0
    assert scalar(connection, "SELECT count(*) FROM appraisal_record") > 0
    if now is not None:
        assert scalar(connection, "SELECT count(*) FROM ticket_event WHERE at > :now", now=now) == 0


def test_the_generated_data_is_consistent(load_app):
    with load_app.app_context(), db.engine.connect() as connection:
        check_consistency(connection, now=datetime.now(UTC).replace(tzinfo=None))


def test_sizes_dates_and_people(load_app, generated):
    with load_app.app_context(), db.engine.connect() as connection:
        assert scalar(connection, "SELECT count(*) FROM ticket") == TICKETS
        assert scalar(connection, "SELECT count(*) FROM outlet") == OUTLETS
        assert scalar(connection, "SELECT count(*) FROM outlet WHERE parent_id IS NOT NULL") > 0
        biggest = scalar(connection, "SELECT max(n) FROM (SELECT count(*) AS n FROM ticket GROUP BY outlet_id) s")
        assert biggest >= TICKETS / 10
        first, last = connection.execute(text("SELECT min(created_at), max(created_at) FROM ticket")).one()
        first, last = (datetime.fromisoformat(str(x)) for x in (first, last))
        now = datetime.now(UTC).replace(tzinfo=None)
        assert first < now - timedelta(days=365 * 2.8) and last > now - timedelta(days=30)
        roles = dict(connection.execute(text("SELECT role, count(*) FROM user_account GROUP BY role")).all())
        assert roles["dealer"] == OUTLETS and roles["engineer"] >= OUTLETS and roles["manager"] == 1
        customers = scalar(connection, "SELECT count(*) FROM customer")
        units = scalar(connection, "SELECT count(*) FROM unit")
        assert customers < units < TICKETS
    assert "Added" in generated[1] and "ticket " in generated[1] and "Error" not in generated[1]


def test_the_tables_written_are_analysed(load_app, generated):
    """SQLite: ANALYZE after the run (sqlite_stat1), so the planner knows the tables' sizes; the
    command says so."""
    assert re.search(r"^ANALYZE of the \d+ tables written \([\d.,]+ s\): fresh planner statistics\.$",
                     generated[1], re.MULTILINE), generated[1]
    with load_app.app_context(), db.engine.connect() as connection:
        analysed = {t for (t,) in connection.execute(text("SELECT DISTINCT tbl FROM sqlite_stat1"))}
    assert {"ticket", "ticket_event", "ticket_clock", "ticket_counter", "customer", "ledger_entry"} <= analysed


def test_the_app_registers_the_next_ticket_without_collision(load_app):
    """R-TKT-1: the counters were moved on, so registration continues the day's sequence."""
    with load_app.app_context(), Session(bind=db.engine) as session:
        busiest = session.execute(text("SELECT created_at FROM ticket ORDER BY number DESC LIMIT 1")).scalar()
        outlet = session.scalars(select(Outlet).order_by(Outlet.id)).first()
        customer = f.make_customer(session, outlet)
        unit = f.make_unit(session, customer)
        at = datetime.fromisoformat(str(busiest)).replace(tzinfo=UTC)
        earlier = f.make_ticket(session, customer, unit=unit, created_at=at)
        today = f.make_ticket(session, customer, unit=unit)
        session.commit()
        numbers = [n for (n,) in session.execute(text("SELECT number FROM ticket"))]
        assert len(numbers) == len(set(numbers)) == TICKETS + 2
        assert earlier.number[:10] == f"SV{(at + timedelta(hours=8)):%Y%m%d}"
        assert today.number not in numbers[:-2]


def test_running_twice_adds_more_rows_without_collisions(load_app):
    with load_app.app_context():
        with db.engine.connect() as connection:
            before = {t: scalar(connection, f"SELECT count(*) FROM {t}") for t in ("ticket", "customer", "outlet")}
        output = generate(load_app, 300, "--seed", "7")
        assert "(run 2)" in output
        with db.engine.connect() as connection:
            assert scalar(connection, "SELECT count(*) FROM ticket") == before["ticket"] + 300
            assert scalar(connection, "SELECT count(*) FROM outlet") == before["outlet"] + OUTLETS
            assert scalar(connection, "SELECT count(*) FROM customer") > before["customer"]
            check_consistency(connection)


def test_the_command_is_refused_in_production(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKOFFICE_ALLOW_SQLITE", "1")
    app = make_app(f"sqlite:///{tmp_path}/p.db", BACKOFFICE_ENV="production")
    result = app.test_cli_runner().invoke(args=["gen-load", "--tickets", "10"])
    assert result.exit_code != 0
    assert "Error: gen-load is refused when BACKOFFICE_ENV=production" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [["--tickets", "0"], ["--tickets", "-5"], ["--tickets", "many"], [],
                                  ["--tickets", "10", "--outlets", "0"], ["--tickets", "10", "--years", "0"],
                                  ["--tickets", "10", "--years", "9"]])
def test_bad_input_says_error_without_a_traceback(tmp_path, args):
    app = make_app(f"sqlite:///{tmp_path}/b.db")
    result = app.test_cli_runner().invoke(args=["gen-load", *args])
    assert result.exit_code != 0
    assert "Error:" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_an_unmigrated_database_is_refused_with_a_hint(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/empty.db")
    result = app.test_cli_runner().invoke(args=["gen-load", "--tickets", "10"])
    assert result.exit_code != 0 and "Error:" in result.output and "db upgrade" in result.output


def test_an_unreachable_database_is_an_error_not_a_traceback():
    app = make_app("postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
    result = app.test_cli_runner().invoke(args=["gen-load", "--tickets", "10"])
    assert result.exit_code != 0 and "Error: cannot use the database" in result.output
    assert "Traceback" not in result.output


def test_validate_names_the_option():
    with pytest.raises(load_generator.LoadError, match="--tickets"):
        load_generator.validate(0, 200, 3)
    load_generator.validate(1, 1, 1)


def test_it_adds_to_the_demo_data_without_collisions(app):
    """The demo world stays as it was; the generated network comes beside it."""
    with app.app_context(), db.engine.connect() as connection:
        before = dict(connection.execute(text("SELECT code, name FROM outlet")).all())
        demo_tickets = scalar(connection, "SELECT count(*) FROM ticket")
    generate(app)
    with app.app_context(), db.engine.connect() as connection:
        assert scalar(connection, "SELECT count(*) FROM ticket") == demo_tickets + TICKETS
        assert {code: name for code, name in connection.execute(text("SELECT code, name FROM outlet")).all()
                if code in before} == before
        check_consistency(connection, with_demo=True)
