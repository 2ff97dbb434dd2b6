"""One run: the reference data, the ticket numbers, the network, the tickets chunk by chunk, the
books; then the sequences and the statistics."""
from __future__ import annotations

import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from models import db

from .base import DEFAULT_CHUNK, ID_TABLES, LOCAL, Ids, LoadError, Summary, local_day, validate
from .books import Books
from .network import Network
from .reference import Reference
from .sinks import Sink, Writer
from .tickets import COLUMNS, TicketChunk


def generate(engine: Engine, tickets: int, *, seed: int = 1, outlets: int = 200, years: int = 3,
             chunk: int = DEFAULT_CHUNK, password_hash: str | None = None, now: datetime | None = None,
             progress: Callable[[int], None] | None = None, stage: Callable[[str], None] | None = None) -> Summary:
    """Add the data set; `progress(n)` is told each time n more tickets are written, `stage(name)`
    when the run goes on to the network's books and to the statistics. The statistics of every
    table written are refreshed at the end: VACUUM ANALYZE on PostgreSQL (the planner's estimates,
    and the visibility map that index-only scans need), ANALYZE on SQLite."""
    validate(tickets, outlets, years, chunk)
    stage = stage or (lambda _name: None)
    started = time.perf_counter()
    with engine.connect() as connection:
        _require_schema(connection)
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.exec_driver_sql("SET synchronous_commit = off")
        try:
            run = Run(connection, tickets, seed=seed, outlets=outlets, years=years, chunk=chunk,
                      password_hash=password_hash, now=now)
            summary = run.execute(progress, stage)
            if postgres:
                _move_sequences(connection, run.sink.rows)
        except BaseException:
            connection.rollback()  # the chunks committed stay; numbers taken are gaps, as in the app
            raise
        finally:
            if postgres:
                connection.exec_driver_sql("RESET synchronous_commit")
                connection.commit()
    tables = tuple(sorted({*run.sink.rows, "ticket_counter", *run.ref.added}))
    summary.statistics = STATISTICS[engine.dialect.name == "postgresql"]
    stage(summary.statistics)
    refreshed = time.perf_counter()
    _refresh_statistics(engine, tables)
    summary.statistics_tables, summary.statistics_seconds = tables, time.perf_counter() - refreshed
    summary.seconds = time.perf_counter() - started
    return summary


def _require_schema(connection: Connection) -> None:
    names = set(sa.inspect(connection).get_table_names())
    missing = sorted({"ticket", "ticket_counter", "ledger_entry", "appraisal_record", "model_sales"} - names)
    if missing:
        raise LoadError(f"the database has no table {', '.join(missing)}: run `flask --app app db upgrade` first")


def _move_sequences(connection: Connection, rows: Counter) -> None:
    """PostgreSQL: the sequences past the ids given here (the app's next insert must not collide)."""
    for table in sorted(rows):
        if "id" not in db.metadata.tables[table].columns:
            continue
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"GREATEST((SELECT max(id) FROM {table}), "
            f"(SELECT last_value FROM {_sequence(connection, table)})))")
    connection.commit()


def _sequence(connection: Connection, table: str) -> str:
    return connection.exec_driver_sql(f"SELECT pg_get_serial_sequence('{table}', 'id')").scalar_one()


STATISTICS = {True: "VACUUM ANALYZE", False: "ANALYZE"}  # PostgreSQL?


def _refresh_statistics(engine: Engine, tables: tuple[str, ...]) -> None:
    """Fresh statistics for the planner (and benchmarks) on the tables written. PostgreSQL: VACUUM
    ANALYZE, which also sets the visibility map, so that index-only scans need no heap visits; it
    cannot run inside a transaction block, hence a connection of its own in autocommit. SQLite:
    ANALYZE of each table (sqlite_stat1)."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.exec_driver_sql("VACUUM (ANALYZE) " + ", ".join(tables))
            return
        for table in tables:
            connection.exec_driver_sql(f"ANALYZE {table}")
        connection.commit()


class Run:
    """One run: the network first, then the tickets chunk by chunk, then the network's books."""

    def __init__(self, connection: Connection, tickets: int, *, seed: int, outlets: int, years: int, chunk: int,
                 password_hash: str | None, now: datetime | None):
        self.connection = connection
        self.sink = Sink(connection)
        self.n, self.outlet_count, self.years, self.chunk = tickets, outlets, years, chunk
        self.rng = random.Random(seed)
        self.now = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None, microsecond=0)
        self.now -= timedelta(minutes=1)
        self.start = self.now - timedelta(days=round(365.25 * years))
        self.password_hash = password_hash
        self.ref: Reference | None = None
        self.ids: Ids | None = None
        self.network: Network | None = None
        self.books: Books | None = None
        self.phones: set[str] = set()
        self.run_no = 0

    def execute(self, progress, stage: Callable[[str], None]) -> Summary:
        connection = self.connection
        self.ref = Reference(connection, self.now)
        self.run_no = _run_number(connection)
        self.ids = Ids({table: (connection.execute(sa.text(f"SELECT max(id) FROM {table}")).scalar() or 0) + 1
                        for table in ID_TABLES})
        self.phones = set(connection.execute(sa.text(
            "SELECT phone_key FROM customer WHERE phone_key IS NOT NULL")).scalars())
        times = self._ticket_times()
        numbers = _reserve_numbers(connection, times)
        connection.commit()  # the numbers are taken, as registration takes them (gaps if we fail)
        self.network = Network(self)
        self.network.build()
        connection.commit()
        self.books = Books(self)
        writer = Writer(self.sink, COLUMNS, progress)
        if self.sink.postgres:  # COPY on a thread of its own: the server works while the next chunk is made
            writer.start()
        try:
            for first in range(0, self.n, self.chunk):
                stop = min(first + self.chunk, self.n)
                rows = TicketChunk(self, times[first:stop], numbers[first:stop]).build()
                writer.put(rows, stop - first)
        finally:
            writer.close()
        stage("Parts, fees, appraisals")
        self.books.build()
        connection.commit()
        return self._summary(times)

    def _ticket_times(self) -> list[datetime]:
        """N registration times over the span, sorted (ids follow time), busier in later years,
        mostly in the hotline's day hours (local), never in the last five minutes."""
        rng, days = self.rng, (self.now - self.start).days
        first_midnight = datetime.combine(local_day(self.start), datetime.min.time()) - LOCAL
        hours = list(range(24))
        weights = [1, 1, 1, 1, 1, 1, 2, 5, 12, 16, 16, 14, 10, 12, 15, 15, 14, 12, 9, 8, 6, 4, 2, 1]
        cumulative = [sum(weights[:i + 1]) for i in range(24)]
        low, slope = 0.6, 0.8  # linear growth of the daily volume over the span
        latest = self.now - timedelta(minutes=5)
        result = []
        while len(result) < self.n:
            u = rng.random()
            x = (-low + math.sqrt(low * low + 2 * slope * u)) / slope
            hour = rng.choices(hours, cum_weights=cumulative)[0]
            at = first_midnight + timedelta(days=int(x * (days + 1)), hours=hour, seconds=rng.randrange(3600))
            if self.start <= at <= latest:
                result.append(at)
        result.sort()
        return result

    def _summary(self, times) -> Summary:
        network = self.network
        counts = Counter(network.ticket_outlets)
        biggest, count = counts.most_common(1)[0]
        outlet = network.outlets[biggest]
        return Summary(run=self.run_no, rows=dict(sorted(self.sink.rows.items())),
                       biggest_outlet=outlet.code, biggest_share=count / self.n,
                       first_day=local_day(times[0]), last_day=local_day(times[-1]),
                       manager=network.manager_name, dealer_of_biggest=outlet.dealer_name)


def _run_number(connection: Connection) -> int:
    names = connection.execute(sa.text("SELECT username FROM user_account WHERE username LIKE 'lg%'")).scalars()
    found = [int(m.group(1)) for m in (re.match(r"lg(\d+)-", name) for name in names) if m]
    return max(found, default=0) + 1


def _reserve_numbers(connection: Connection, times: list[datetime]) -> list[str]:
    """Each ticket's number SV<yyyymmdd>-<seq>: the daily counters move on by the day's count in
    one UPDATE … RETURNING each (backoffice.numbering does it one by one), so registrations by the
    app never take the same numbers."""
    days = Counter(local_day(at) for at in times)
    counter = db.metadata.tables["ticket_counter"]
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    connection.execute(insert(counter).on_conflict_do_nothing(index_elements=["day"]),
                       [{"day": day, "last_seq": 0} for day in sorted(days)])
    first = {}
    for day, count in sorted(days.items()):
        last = connection.execute(sa.update(counter).where(counter.c.day == day)
                                  .values(last_seq=counter.c.last_seq + count)
                                  .returning(counter.c.last_seq)).scalar_one()
        first[day] = last - count + 1
    numbers = []
    for at in times:
        day = local_day(at)
        numbers.append(f"SV{day:%Y%m%d}-{first[day]:04d}")
        first[day] += 1
    return numbers

