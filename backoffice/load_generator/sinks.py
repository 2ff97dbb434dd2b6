"""Writing rows: COPY on PostgreSQL, executemany on SQLite; a chunk's tables written (and
committed) on a thread of their own on PostgreSQL."""
from __future__ import annotations

import json
import queue
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from models import db
from models.base import UTCDateTime

from .base import Row


class Sink:
    """Writes rows (tuples in the given column order) to a table and counts them."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.rows: Counter = Counter()
        self._checked: set = set()

    def write(self, table: str, columns: tuple[str, ...], rows: list[Row]) -> None:
        if not rows:
            return
        target = db.metadata.tables[table]
        self._check(target, columns)
        if not self.connection.in_transaction():
            self.connection.begin()  # COPY goes past SQLAlchemy: its commit() must know there is work
        if self.postgres:
            self._copy(target, columns, rows)
        else:
            self._insert(target, columns, rows)
        self.rows[table] += len(rows)

    def _check(self, table: sa.Table, columns) -> None:
        """Every NOT NULL column without a server default is given (a programming error else)."""
        if table.name in self._checked:
            return
        missing = [c.name for c in table.columns if not c.nullable and c.server_default is None
                   and c.name not in columns]
        unknown = [name for name in columns if name not in table.columns]
        if missing or unknown:
            raise RuntimeError(f"{table.name}: columns missing {missing}, unknown {unknown}")
        self._checked.add(table.name)

    def _copy(self, table: sa.Table, columns, rows) -> None:
        jsons = [i for i, name in enumerate(columns) if isinstance(table.columns[name].type, sa.JSON)]
        raw = self.connection.connection.dbapi_connection
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            write = copy.write_row
            if jsons:
                for row in rows:
                    values = list(row)
                    for i in jsons:
                        values[i] = json.dumps(values[i], ensure_ascii=False)
                    write(values)
            else:
                for row in rows:
                    write(row)

    def _insert(self, table: sa.Table, columns, rows) -> None:
        """SQLite: the table's own types bind the values; naive UTC times become aware."""
        times = [i for i, name in enumerate(columns) if isinstance(table.columns[name].type, UTCDateTime)]
        for start in range(0, len(rows), 5000):
            batch = []
            for row in rows[start:start + 5000]:
                values = dict(zip(columns, row, strict=True))
                for i in times:
                    value = row[i]
                    if value is not None:
                        values[columns[i]] = value.replace(tzinfo=UTC)
                batch.append(values)
            self.connection.execute(table.insert(), batch)


class Writer(threading.Thread):
    """Writes the chunks' rows table by table (`tables`: each table's columns, in foreign-key order)
    and commits each chunk; on PostgreSQL on a thread of its own (`start()`), so the server's work
    overlaps the making of the next chunk; on SQLite in the caller's thread. Errors reach the
    caller at its next `put` or at `close`."""

    def __init__(self, sink: Sink, tables: dict[str, tuple[str, ...]], progress: Callable[[int], None] | None):
        super().__init__(name="gen-load writer", daemon=True)
        self.sink, self.tables, self.progress = sink, tables, progress
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.error: BaseException | None = None

    def put(self, rows: dict[str, list], count: int) -> None:
        if self.error is not None:
            raise self.error
        if self.is_alive():
            self.queue.put((rows, count))
        else:
            self._write(rows, count)

    def close(self) -> None:
        if self.is_alive():
            self.queue.put(None)
            self.join()
        if self.error is not None:
            raise self.error

    def run(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self._write(*item)
                except BaseException as exc:  # handed to the caller
                    self.error = exc

    def _write(self, rows: dict[str, list], count: int) -> None:
        for table, columns in self.tables.items():
            self.sink.write(table, columns, rows[table])
        self.sink.connection.commit()
        if self.progress is not None:
            self.progress(count)

