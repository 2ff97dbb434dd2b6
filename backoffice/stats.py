"""Summary rows kept with the tickets (issue 16, models.stats): what the reports add up over months.

At a million tickets a month's SLA clocks are 110,000 rows and the quality report's year of fault
reports 380,000: counted at each request they cost seconds, whatever the index. These counts are
kept instead, per local day (clocks) or month (fault reports) and outlet:

- `ClockStat`: the current round's clocks falling due on the day (and in the month), and those met
  by their due time (R-SLA-1; service_kpis.clock_compliance, the home page's trend);
- `QualityStat`: the month's fault reports (quality_report.fault_report_sql) along each of the
  report's dimensions (R-RPT-1).

How they are kept right: an `after_flush` listener — every ORM write of a ticket, a clock or a
unit, in any service — subtracts what the changed rows counted before the flush and adds what they
count now, with one upsert per summary row touched, on the flush's own connection: the counts
commit or roll back with the change (as the audit trail does, backoffice.audit). Increments
commute, so concurrent writers never lose one; the rows are touched in key order. Writes that
bypass the ORM (the load generator's COPY, a bulk UPDATE) must call `rebuild` afterwards
(`flask rebuild-stats`).

Reading: a day before today is read from the rows; today (clocks still falling due) is counted
from the clocks. The rows carry the outlet, so the row scope applies to them as to the tickets
(backoffice.access, "outlet": a dealer sees its outlets' rows). They are figures for the desk
(the center and dealers): an engineer's scope is tickets, not outlets, and sees none of them.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import and_, event, func, inspect, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import ClockStat, QualityStat, Ticket, TicketClock, Unit, utcnow

from .months import month_end
from .quality_report import FAULT_CATEGORY, FAULT_KINDS  # the fault reports' rule (R-TKT-3)
from .timezones import local_day_bounds, to_local

DIMENSIONS = ("all", "model", "fault", "cause", "model_fault")

CLOCKS, TICKETS, UNITS = TicketClock.__table__, Ticket.__table__, Unit.__table__
CLOCK_FIELDS = ("ticket_id", "clock", "due_at", "met_at", "superseded_at")
TICKET_FIELDS = ("kind", "category", "created_at", "outlet_id", "unit_id", "fault_code_id", "cause_code_id")
UNIT_FIELDS = ("product_model_id",)


def _noop(*args):
    return None


# The old value of a counted field must be known when it changes, loaded or not.
for _model, _fields in ((TicketClock, CLOCK_FIELDS), (Ticket, TICKET_FIELDS), (Unit, UNIT_FIELDS)):
    for _field in _fields:
        event.listen(getattr(_model, _field), "set", _noop, active_history=True)


# --- what a row counts -------------------------------------------------------------------------

def local_day(value: datetime) -> date:
    return to_local(value).date()


def clock_cells(fields: tuple | None, outlet_id: int | None) -> dict:
    """{(span, day, outlet, clock): (due, met)} a clock counts, on its local day and in its local
    month: the current round only (R-SLA-4)."""
    if fields is None or outlet_id is None:
        return {}
    _ticket_id, clock, due_at, met_at, superseded_at = fields
    if superseded_at is not None or due_at is None:
        return {}
    met = 1 if met_at is not None and met_at <= due_at else 0
    day = local_day(due_at)
    return {("day", day, outlet_id, clock): (1, met), ("month", day.replace(day=1), outlet_id, clock): (1, met)}


def quality_cells(fields: tuple | None, model_id: int | None) -> dict:
    """{(dim, month, outlet, model, code): 1} a ticket counts when it is a fault report."""
    if fields is None:
        return {}
    kind, category, created_at, outlet_id, _unit_id, fault, cause = fields
    if kind not in FAULT_KINDS or category != FAULT_CATEGORY or created_at is None or outlet_id is None:
        return {}
    month = local_day(created_at).replace(day=1)
    model, fault, cause = model_id or 0, fault or 0, cause or 0
    return {("all", month, outlet_id, 0, 0): 1, ("model", month, outlet_id, model, 0): 1,
            ("fault", month, outlet_id, 0, fault): 1, ("cause", month, outlet_id, 0, cause): 1,
            ("model_fault", month, outlet_id, model, fault): 1}


# --- keeping them: the changes of one flush ----------------------------------------------------

def _before(obj, key):
    """A persistent row's value of `key` before this flush."""
    history = inspect(obj).attrs[key].history
    if history.deleted:
        return history.deleted[0]
    if history.added:  # set for the first time since its INSERT, which left it NULL
        return None
    if history.unchanged:
        return history.unchanged[0]
    return getattr(obj, key)


def _changed(obj, fields) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[key].history.has_changes() for key in fields)


def _states(session: Session, model, fields) -> dict:
    """{id: (fields before the flush or None, fields after or None)} of the session's rows of
    `model` whose counted fields this flush inserts, changes or deletes."""
    found = {}
    for obj in session.new:
        if isinstance(obj, model):
            found[obj.id] = (None, tuple(getattr(obj, key) for key in fields))
    for obj in session.dirty:
        if isinstance(obj, model) and _changed(obj, fields):
            found[obj.id] = (tuple(_before(obj, key) for key in fields), tuple(getattr(obj, key) for key in fields))
    for obj in session.deleted:
        if isinstance(obj, model):
            found[obj.id] = (tuple(_before(obj, key) for key in fields), None)
    return found


def _values(session: Session, model, ids, key: str, rows) -> dict:
    """{id: (value of `key` before the flush, after)} for the rows `ids` of `model`: from the
    session's objects where it holds them (a deleted one has no value after), else as stored
    (a row the session does not hold was not changed by this flush)."""
    found = {}
    held = {obj.id: obj for obj in (*session.new, *session.deleted) if isinstance(obj, model) and obj.id in ids}
    mapper = inspect(model)
    for row_id in ids:
        if row_id not in held:
            obj = session.identity_map.get(mapper.identity_key_from_primary_key((row_id,)))
            if obj is not None:
                held[row_id] = obj
    for row_id, obj in held.items():
        if obj in session.deleted:
            found[row_id] = (_before(obj, key), None)
        elif obj in session.new:
            found[row_id] = (None, getattr(obj, key))
        else:
            found[row_id] = (_before(obj, key), getattr(obj, key))
    missing = [row_id for row_id in ids if row_id not in found]
    if missing:
        for row_id, value in session.connection().execute(rows(missing)):
            found[row_id] = (value, value)
    return found


def _clock_deltas(session: Session, tickets: dict) -> dict:
    clocks = _states(session, TicketClock, CLOCK_FIELDS)
    moved = [ticket_id for ticket_id, (old, new) in tickets.items()
             if old is not None and new is not None and old[3] != new[3]]
    if moved:  # a ticket handed to another outlet takes its clocks along
        rows = session.connection().execute(
            select(CLOCKS.c.id, *(CLOCKS.c[key] for key in CLOCK_FIELDS)).where(CLOCKS.c.ticket_id.in_(moved)))
        for row in rows:
            clocks.setdefault(row[0], (tuple(row[1:]), tuple(row[1:])))
    if not clocks:
        return {}
    ticket_ids = {fields[0] for pair in clocks.values() for fields in pair if fields is not None}
    outlets = _values(session, Ticket, ticket_ids, "outlet_id",
                      lambda ids: select(TICKETS.c.id, TICKETS.c.outlet_id).where(TICKETS.c.id.in_(ids)))
    deltas = defaultdict(lambda: [0, 0])
    for old, new in clocks.values():
        for fields, sign, index in ((old, -1, 0), (new, 1, 1)):
            if fields is None:
                continue
            outlet_id = outlets.get(fields[0], (None, None))[index]
            for key, (due, met) in clock_cells(fields, outlet_id).items():
                deltas[key][0] += sign * due
                deltas[key][1] += sign * met
    return {key: tuple(value) for key, value in deltas.items() if any(value)}


def _quality_deltas(session: Session, tickets: dict) -> dict:
    units = _states(session, Unit, UNIT_FIELDS)
    remodelled = [unit_id for unit_id, (old, new) in units.items() if old is not None and new is not None]
    if remodelled:  # a unit's model corrected: its fault reports move to the other model
        rows = session.connection().execute(
            select(TICKETS.c.id, *(TICKETS.c[key] for key in TICKET_FIELDS))
            .where(TICKETS.c.unit_id.in_(remodelled), TICKETS.c.kind.in_(FAULT_KINDS),
                   TICKETS.c.category == FAULT_CATEGORY))
        for row in rows:
            tickets.setdefault(row[0], (tuple(row[1:]), tuple(row[1:])))
    if not tickets:
        return {}
    unit_ids = {fields[4] for pair in tickets.values() for fields in pair if fields is not None} - {None}
    models = _values(session, Unit, unit_ids, "product_model_id",
                     lambda ids: select(UNITS.c.id, UNITS.c.product_model_id).where(UNITS.c.id.in_(ids)))
    deltas = defaultdict(int)
    for old, new in tickets.values():
        for fields, sign, index in ((old, -1, 0), (new, 1, 1)):
            if fields is None:
                continue
            model_id = models.get(fields[4], (None, None))[index] if fields[4] is not None else None
            for key, n in quality_cells(fields, model_id).items():
                deltas[key] += sign * n
    return {key: n for key, n in deltas.items() if n}


def _upsert(session: Session, model, keys: tuple, values: tuple, deltas: dict) -> None:
    """Add `deltas` ({key tuple: value tuple}) to the summary rows, creating the missing ones, in
    key order (concurrent writers lock the rows in the same order)."""
    if not deltas:
        return
    table = model.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    rows = [dict(zip(keys, key, strict=True), **dict(zip(values, value, strict=True)))
            for key, value in sorted(deltas.items())]
    stmt = dialect.insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                      set_={name: table.c[name] + stmt.excluded[name] for name in values})
    session.connection().execute(stmt, rows)


@event.listens_for(Session, "after_flush")
def _keep(session: Session, flush_context) -> None:
    tickets = _states(session, Ticket, TICKET_FIELDS)
    clock_deltas = _clock_deltas(session, tickets)
    quality_deltas = _quality_deltas(session, tickets)
    _upsert(session, ClockStat, ("span", "day", "outlet_id", "clock"), ("due", "met"), clock_deltas)
    _upsert(session, QualityStat, ("dim", "month", "outlet_id", "model_id", "code_id"), ("n",),
            {key: (n,) for key, n in quality_deltas.items()})


# --- rebuilding them from the tickets ------------------------------------------------------------

def recount(connection) -> tuple[dict, dict]:
    """What the summary rows should hold, counted from the tickets, clocks and units:
    ({(span, day, outlet, clock): (due, met)}, {(dim, month, outlet, model, code): n})."""
    clocks, faults = defaultdict(lambda: [0, 0]), defaultdict(int)
    clock_rows = connection.execute(
        select(*(CLOCKS.c[key] for key in CLOCK_FIELDS), TICKETS.c.outlet_id)
        .join(TICKETS, TICKETS.c.id == CLOCKS.c.ticket_id).where(CLOCKS.c.superseded_at.is_(None))
        .execution_options(yield_per=20_000))
    for row in clock_rows:
        for key, (due, met) in clock_cells(tuple(row[:5]), row[5]).items():
            clocks[key][0] += due
            clocks[key][1] += met
    ticket_rows = connection.execute(
        select(*(TICKETS.c[key] for key in TICKET_FIELDS), UNITS.c.product_model_id)
        .outerjoin(UNITS, UNITS.c.id == TICKETS.c.unit_id)
        .where(TICKETS.c.kind.in_(FAULT_KINDS), TICKETS.c.category == FAULT_CATEGORY)
        .execution_options(yield_per=20_000))
    for row in ticket_rows:
        for key, n in quality_cells(tuple(row[:7]), row[7]).items():
            faults[key] += n
    return {key: tuple(value) for key, value in clocks.items()}, dict(faults)


def stored(connection) -> tuple[dict, dict]:
    """What the summary rows hold, in `recount`'s shape (rows counting nothing left out)."""
    table = ClockStat.__table__
    clocks = {(span, day, outlet, clock): (due, met) for span, day, outlet, clock, due, met in connection.execute(
        select(table.c.span, table.c.day, table.c.outlet_id, table.c.clock, table.c.due, table.c.met)) if due or met}
    faults = {tuple(row[:5]): row[5] for row in connection.execute(select(*QualityStat.__table__.c)) if row[5]}
    return clocks, faults


def rebuild(session: Session) -> dict[str, int]:
    """Count everything again from the tickets, clocks and units (after a bulk load); the rows
    written per table. Runs outside any request: the whole network."""
    connection = session.connection()
    clocks, faults = recount(connection)
    connection.execute(ClockStat.__table__.delete())
    connection.execute(QualityStat.__table__.delete())
    _insert_all(connection, ClockStat, ("span", "day", "outlet_id", "clock", "due", "met"),
                [(*key, *value) for key, value in sorted(clocks.items())])
    _insert_all(connection, QualityStat, ("dim", "month", "outlet_id", "model_id", "code_id", "n"),
                [(*key, n) for key, n in sorted(faults.items())])
    return {"clock_stat": len(clocks), "quality_stat": len(faults)}


def _insert_all(connection, model, names: tuple, rows: list, chunk: int = 5_000) -> None:
    table = model.__table__
    for start in range(0, len(rows), chunk):
        connection.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in rows[start:start + chunk]])


# --- reading the clocks' figures -----------------------------------------------------------------

def _whole_days(start: datetime, end: datetime) -> tuple[date, date] | None:
    """The local days lying wholly in [start, end) and before today: (first, last), or None."""
    first = local_day(start)
    if local_day_bounds(first, first)[0] < start:
        first += timedelta(days=1)
    today = local_day(utcnow())
    limit = min(end, local_day_bounds(today, today)[0])
    last = local_day(limit)
    if local_day_bounds(last, last)[1] > limit:
        last -= timedelta(days=1)
    return (first, last) if first <= last else None


def _by_day(low: datetime, high: datetime):
    """[low, high) cut at local midnights: (day, piece start, piece end) for each local day."""
    day = local_day(low)
    while low < high:
        day_end = local_day_bounds(day, day)[1]
        yield day, low, min(high, day_end)
        low, day = day_end, day + timedelta(days=1)


def clock_counts(session: Session, start: datetime, end: datetime, outlet_id: int | None = None,
                 by_outlet: bool = False, buckets: list[date] | None = None) -> dict:
    """{(outlet or None, bucket or None, clock): (due, met)}: the current round's clocks falling
    due in [start, min(end, now)) and those met by their due time (R-SLA-1), under the row scope.

    `by_outlet`: per the ticket's outlet. `buckets`: local dates splitting the period (the first
    days of months): each count goes to the last bucket starting on or before its day (the
    index). The whole local days before today come from `ClockStat`, the rest from the clocks."""
    end = min(end, utcnow())
    found = defaultdict(lambda: [0, 0])
    if start >= end:
        return {}
    days = _whole_days(start, end)
    ranges = [(start, end)]
    if days is not None:
        first, last = days
        ranges = [(start, local_day_bounds(first, first)[0]), (local_day_bounds(last, last)[1], end)]
        _from_stats(session, first, last, outlet_id, by_outlet, buckets, found)
    for low, high in ranges:
        for day, piece_start, piece_end in _by_day(low, high):
            _from_clocks(session, day, piece_start, piece_end, outlet_id, by_outlet, buckets, found)
    return {key: tuple(value) for key, value in found.items() if value[0]}


def _bucket_of(column_value: date, buckets: list[date] | None) -> int | None:
    if buckets is None:
        return None
    index = None
    for i, first in enumerate(buckets):
        if column_value >= first:
            index = i
    return index


def _months_within(first: date, last: date, buckets: list[date] | None) -> list[date]:
    """The local months lying wholly in [first, last] (each within one bucket): their first days."""
    found = []
    month = first if first.day == 1 else month_end(first) + timedelta(days=1)
    while month_end(month) <= last:
        if buckets is None or _bucket_of(month, buckets) == _bucket_of(month_end(month), buckets):
            found.append(month)
        month = month_end(month) + timedelta(days=1)
    return found


def _from_stats(session, first: date, last: date, outlet_id, by_outlet, buckets, found) -> None:
    """The local days first..last from the rows: a whole month from its month's row, the other
    days from theirs, in one query."""
    months = _months_within(first, last, buckets)
    days = [(first, last)]
    if months:
        days = [(first, months[0] - timedelta(days=1)), (month_end(months[-1]) + timedelta(days=1), last)]
    spans = [and_(ClockStat.span == "day", ClockStat.day >= low, ClockStat.day <= high)
             for low, high in days if low <= high]
    if months:
        spans.append(and_(ClockStat.span == "month", ClockStat.day.in_(months)))
    columns = [ClockStat.clock, func.sum(ClockStat.due), func.sum(ClockStat.met)]
    group = [ClockStat.clock]
    if by_outlet:
        columns.append(ClockStat.outlet_id)
        group.append(ClockStat.outlet_id)
    if buckets is not None:
        columns.append(ClockStat.day)
        group.append(ClockStat.day)
    stmt = select(*columns).where(or_(*spans)).group_by(*group)
    if outlet_id is not None:
        stmt = stmt.where(ClockStat.outlet_id == outlet_id)
    for row in session.execute(stmt):
        clock, due, met = row[0], int(row[1] or 0), int(row[2] or 0)
        rest = list(row[3:])
        outlet = rest.pop(0) if by_outlet else None
        bucket = _bucket_of(rest.pop(0), buckets) if buckets is not None else None
        cell = found[(outlet, bucket, clock)]
        cell[0] += due
        cell[1] += met


def _from_clocks(session, day: date, low: datetime, high: datetime, outlet_id, by_outlet, buckets, found) -> None:
    """Clocks falling due in [low, high), within the local `day`, counted from the clocks, which
    carry their own scope (their tickets'); the ticket is joined only for its outlet."""
    in_time = and_(TicketClock.met_at.is_not(None), TicketClock.met_at <= TicketClock.due_at)
    columns = [TicketClock.clock, func.count(), func.count().filter(in_time)]
    group = [TicketClock.clock]
    if by_outlet:
        columns.append(Ticket.outlet_id)
        group.append(Ticket.outlet_id)
    stmt = (select(*columns).where(TicketClock.superseded_at.is_(None), TicketClock.due_at >= low,
                                   TicketClock.due_at < high).group_by(*group))
    if by_outlet or outlet_id is not None:
        stmt = stmt.join(Ticket, Ticket.id == TicketClock.ticket_id)
    if outlet_id is not None:
        stmt = stmt.where(Ticket.outlet_id == outlet_id)
    bucket = _bucket_of(day, buckets) if buckets is not None else None
    for row in session.execute(stmt):
        clock, due, met = row[0], row[1], row[2]
        outlet = row[3] if by_outlet else None
        cell = found[(outlet, bucket, clock)]
        cell[0] += due
        cell[1] += met
