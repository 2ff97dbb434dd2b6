"""What the ticket export adds to the list's columns, so the monthly quality report can be built
in Excel (issue 15, R-RPT-1/2): the unit's product model and serial, the warranty verdict, fault /
cause / remedy codes, the causal part, the ticket it repeats, the return-visit satisfaction, each
SLA clock's outcome (R-SLA-1) and the closing time.

Nothing here queries per row. The CSV is made from plain columns, a block of rows at a time
(`csv_batches`, issue 16: 100,000 rows in seconds); the XLSX (capped lower) from the tickets
Flask-Admin loads (TicketView.get_query for the export / before_export_batch): relationships come
with the rows or once per batch (`EAGER`), the unit's model and serial with one query per batch
(`load_units`), each cell through `FORMATTERS`. Both say the same (tests/web/test_ticket_export_fast.py).
"""
from __future__ import annotations

import json
from collections import namedtuple
from datetime import UTC, datetime, timedelta
from itertools import groupby, islice, repeat
from operator import itemgetter
from typing import NamedTuple

from flask import current_app, g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_babel.speaklater import LazyString
from sqlalchemy import DateTime, Integer, String, any_, bindparam, cast, select, type_coerce
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import joinedload, selectinload

from backoffice import sla, warranty
from backoffice.labels import CLOCK_STATES, label
from backoffice.timezones import format_local, service_zone
from models import (
    Customer,
    FaultCode,
    Outlet,
    Part,
    ProductModel,
    ReturnVisit,
    Ticket,
    TicketClock,
    Unit,
    User,
    db,
    utcnow,
)
from models.choices import Channel, Clock, IssueCategory, TicketKind, TicketStatus

from .exports import safe_cell
from .fields import time_formatter

CLOCK_COLUMNS = tuple(f"clock_{clock.value}" for clock in Clock)
COLUMNS = ("product_model", "serial", "warranty", "fault_code", "cause_code", "remedy_code", "causal_part",
           "repeat_of", "satisfaction", *CLOCK_COLUMNS, "closed_at")


def _clock_header(clock: Clock) -> LazyString:
    return LazyString(lambda: _("SLA: %(clock)s", clock=label(Clock, clock)))


LABELS = {"warranty": _l("Warranty verdict"), "fault_code": _l("Fault code"), "cause_code": _l("Cause code"),
          "remedy_code": _l("Remedy code"), "causal_part": _l("Causal part"), "repeat_of": _l("Repeat of"),
          "satisfaction": _l("Satisfaction"),
          **{f"clock_{clock.value}": _clock_header(clock) for clock in Clock}}

# What each SLA column says: met in time, breached, open (still running), paused (waiting for
# the customer, R-SLA-3); "—" when the ticket has no such clock or did not need it.
OUTCOMES = {"met": CLOCK_STATES["met"], "breached": CLOCK_STATES["breached"],
            "open": lazy_pgettext("sla clock", "open"), "paused": CLOCK_STATES["paused"]}
OUTCOME_OF_STATE = {"met": "met", "breached": "breached", "running": "open", "due_soon": "open",
                    "paused": "paused"}  # "superseded" and "not_needed" say "—"
NONE = "—"
ZERO = timedelta(0)

# The ORM path (the XLSX): what a row refers to is joined into the streamed query; its lists come
# in one IN query per batch (EXPORT_BATCH_ROWS): a constant number of statements per batch.
EAGER = (*(joinedload(relation) for relation in (
    Ticket.customer, Ticket.outlet, Ticket.assigned_engineer, Ticket.fault_code, Ticket.cause_code,
    Ticket.remedy_code, Ticket.causal_part, Ticket.repeat_of)),
    selectinload(Ticket.clocks), selectinload(Ticket.return_visits),
    selectinload(Ticket.unit).joinedload(Unit.product_model))


def clock_outcome(ticket: Ticket, clock: str, now) -> str:
    """The clock's outcome on this ticket (`clock_outcomes`), in the user's language."""
    outcome = clock_outcomes(ticket, now).get(clock)
    return str(OUTCOMES[outcome]) if outcome else NONE


def clock_outcomes(ticket, now) -> dict[str, str | None]:
    """Each clock the ticket has, with its outcome (a key of OUTCOMES, None for "—"), the rounds
    of a reopened ticket together (R-SLA-4): breached if any round was breached, else what its
    current round says (its latest if none is current).

    `ticket` needs `clocks` (in the relationship's order, by due time), `status`, `closed_at`
    and `updated_at` only (sla.finished_at): the CSV passes plain rows (`csv_batches`)."""
    stopped = sla.finished_at(ticket)
    speaks: dict[str, str] = {}  # the state of the round that speaks for each clock
    current, breached = set(), set()
    for found in ticket.clocks:
        state = sla.state(found, now, stopped, within=ZERO)  # "due soon" is open
        if state == "breached":
            breached.add(found.clock)
        if found.clock not in current:  # sla.clock_of: the first round not superseded, else the last
            speaks[found.clock] = state
            if found.superseded_at is None:
                current.add(found.clock)
    return {clock: "breached" if clock in breached else OUTCOME_OF_STATE.get(state)
            for clock, state in speaks.items()}


def satisfaction(ticket: Ticket) -> int | None:
    """The score (1-5) of the ticket's latest return visit done; None before one is done."""
    done = [v for v in ticket.return_visits if v.done_at is not None]
    latest = max(done, key=lambda v: (v.done_at, v.id), default=None)
    return latest.satisfaction if latest is not None else None


def verdict_badge(ticket: Ticket) -> str:
    """The warranty verdict as the ticket page's badge says it (window, or why there is none)."""
    found = warranty.of_ticket(ticket)
    return found.badge if found is not None else ""


def load_units(tickets: list[Ticket]) -> None:
    """The product model and serial of each ticket's unit, in one query for the batch.

    The unit is joined as a table, not as the Unit entity: the row scope would hide a unit sold
    by another outlet from a dealer (Unit is scoped by its selling outlet), while the ticket,
    which the dealer may see, decides here (R-ROLE-1)."""
    units = Unit.__table__
    stmt = (select(Ticket.id, ProductModel.code, units.c.serial)
            .join(units, units.c.id == Ticket.unit_id)
            .join(ProductModel, ProductModel.id == units.c.product_model_id)
            .where(Ticket.id.in_([t.id for t in tickets])))
    g.ticket_export_units = {ticket_id: (code, serial) for ticket_id, code, serial in db.session.execute(stmt)}


def _unit_fact(index: int):
    def fmt(view, context, model, name):
        found = g.get("ticket_export_units", {}).get(model.id)
        return found[index] if found else ""
    return fmt


def _clock_formatter(clock: Clock):
    def fmt(view, context, model, name):
        if "ticket_export_now" not in g:  # one "now" for the whole file
            g.ticket_export_now = utcnow()
        return clock_outcome(model, clock.value, g.ticket_export_now)
    return fmt


FORMATTERS = {
    "product_model": _unit_fact(0), "serial": _unit_fact(1),
    "warranty": lambda view, context, model, name: verdict_badge(model),
    # The earlier ticket as the viewer's scope shows it: a dealer sees the number of its own ones.
    "repeat_of": lambda view, context, model, name: model.repeat_of.number if model.repeat_of else "",
    "satisfaction": lambda view, context, model, name: satisfaction(model),
    "closed_at": time_formatter,
    **{f"clock_{clock.value}": _clock_formatter(clock) for clock in Clock},
}


# --- the CSV from plain columns (issue 16) ------------------------------------------------------
# The list's query keeps its WHERE (filters, search, the row scope) and ORDER BY; its entities
# are swapped for plain columns of the ticket, its customer and unit (`fast_select`), read
# through a server-side cursor a block at a time (`block_rows`). Per block: one query for the
# clocks, one for the return visits done, one for the numbers of the tickets repeated (3
# statements per 5,000 rows). Outlets, staff, codes, parts and product models are few: each is
# read once per file. No ORM objects and no Flask-Admin formatter per cell: labels are resolved
# once per file, and each cell says what the ORM path above said (the models' __str__,
# `clock_outcomes`, `verdict_badge`, `satisfaction`'s latest visit done, time_formatter), through
# exports.safe_cell as every exported cell (the times are this module's own digits).
# tests/web/test_ticket_export_fast.py and tests/pg/test_ticket_export_fast_pg.py compare the two
# paths' files byte for byte.
#
# Row scope (R-ROLE-1), as the joined eager loads had it: the customer and the unit as an entity
# (the "Unit" column) are joined as mapped entities, so backoffice.access puts the user's
# criteria into their ON clause; outlets and staff are read as entities too. A dealer reads what
# its scope shows of them, a blank cell otherwise. The product model and serial come from the
# unit TABLE, as in `load_units` (the ticket's scope decides). The ticket repeated is read as
# the Ticket entity (an alias of it in the streamed query would not carry the scope).
#
# Times are read without UTCDateTime's conversion (naive UTC, `now` too): the same instants
# compare the same, and format_local reads a naive time as UTC. It saves a Python call per value.

# Rows are read from the database this many at a time (the streamed query too): rows that live
# briefly cost the garbage collector little, a block's 20,000 clocks held at once a full collection.
PART_ROWS = 1000

# The columns this path makes (TicketView.column_export_list, any of them in any order).
FAST_COLUMNS = ("number", "created_at", "status", "kind", "channel", "category", "customer", "contact_phone",
                "address", "unit", "fault_description", "outlet", "assigned_engineer", *COLUMNS)
CLOCK_VALUES = tuple(clock.value for clock in Clock)
UNITS = Unit.__table__.alias("export_unit")  # the unit as a table: not scoped by its selling outlet


def _naive(column):
    return type_coerce(column, DateTime)


# What the streamed query selects, field by field. Its rows are kept as plain tuples (the garbage
# collector stops tracking a tuple of plain values; a block of row objects alive cost it a full
# collection every block or two), read by position: `AT.number` is the number's.
SELECTED = {
    "id": Ticket.id, "number": Ticket.number, "created_at": _naive(Ticket.created_at), "status": Ticket.status,
    "kind": Ticket.kind, "channel": Ticket.channel, "category": Ticket.category,
    "contact_phone": Ticket.contact_phone, "address": Ticket.address, "fault_description": Ticket.fault_description,
    "closed_at": _naive(Ticket.closed_at), "updated_at": _naive(Ticket.updated_at),
    "in_warranty": Ticket.in_warranty, "warranty_window": Ticket.warranty_window,
    "warranty_code": Ticket.warranty_code,
    "warranty_params": cast(Ticket.warranty_params, String),  # its text: parsed once per distinct verdict
    "repeat_of_id": Ticket.repeat_of_id, "outlet_id": Ticket.outlet_id,
    "assigned_engineer_id": Ticket.assigned_engineer_id, "fault_code_id": Ticket.fault_code_id,
    "cause_code_id": Ticket.cause_code_id, "remedy_code_id": Ticket.remedy_code_id,
    "causal_part_id": Ticket.causal_part_id,
    "customer_id": Customer.id, "customer_name": Customer.name, "customer_phone": Customer.phone,
    "unit_seen": Unit.id, "unit_serial": UNITS.c.serial, "product_model_id": UNITS.c.product_model_id,
}
AT = namedtuple("_Positions", SELECTED)(*range(len(SELECTED)))
VERDICT = ("in_warranty", "warranty_window", "warranty_code", "warranty_params")  # `_verdict_cell`'s key


class _Clock(NamedTuple):
    """A ticket's clock as sla.state reads it."""
    ticket_id: int
    clock: str
    due_at: datetime
    met_at: datetime | None
    paused_since: datetime | None
    superseded_at: datetime | None


class _Facts(NamedTuple):
    """What `clock_outcomes` (and sla.finished_at) read of a ticket."""
    status: str
    closed_at: datetime | None
    updated_at: datetime
    clocks: list


class _Verdict(NamedTuple):
    """What `verdict_badge` reads of a ticket."""
    in_warranty: bool | None
    warranty_window: str | None
    warranty_code: str | None
    warranty_params: dict | None


class _OutletText(NamedTuple):  # what Outlet.__str__ reads
    name: str
    code: str


class _UserText(NamedTuple):  # User.__str__
    full_name: str | None
    username: str


class _CodeText(NamedTuple):  # FaultCode.__str__ and Part.__str__
    code: str
    name: str


def block_rows() -> int:
    return current_app.config["TICKET_EXPORT_BLOCK_ROWS"]  # backoffice/config.py


def fast_select(query):
    """The list's (unexecuted) query selecting `SELECTED` instead of tickets. The list's query
    joins nothing (TicketView's filters and search are subqueries); a filter that joined the
    customer or the unit would need them aliased here."""
    return (query.enable_eagerloads(False)
            .with_entities(*(column.label(name) for name, column in SELECTED.items()))
            .outerjoin(Ticket.customer).outerjoin(Ticket.unit)
            .outerjoin(UNITS, UNITS.c.id == Ticket.unit_id))


def _among(column, ids, session):
    """`column` IN `ids`, thousands of them: on PostgreSQL one array parameter (= ANY), elsewhere
    the integers written into the statement (bound one by one, SQLAlchemy and the driver would
    spend more on them than the query takes)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("ids", sorted(ids), type_=postgresql.ARRAY(Integer)))
    return column.in_(bindparam("ids", sorted(ids), expanding=True, literal_execute=True))


def block_clocks(session, ids):
    """(ticket id, its clocks in the relationship's order, by due time), ticket by ticket."""
    stmt = (select(TicketClock.ticket_id, TicketClock.clock, _naive(TicketClock.due_at), _naive(TicketClock.met_at),
                   _naive(TicketClock.paused_since), _naive(TicketClock.superseded_at))
            .where(_among(TicketClock.ticket_id, ids, session))
            .order_by(TicketClock.ticket_id, TicketClock.due_at, TicketClock.id)
            .execution_options(yield_per=PART_ROWS))
    for ticket_id, rows in groupby(map(_Clock._make, session.execute(stmt)), key=itemgetter(0)):
        yield ticket_id, list(rows)


def block_satisfaction(session, ids) -> dict[int, int | None]:
    """`satisfaction`: the score of each ticket's latest return visit done (the last one read wins)."""
    stmt = (select(ReturnVisit.ticket_id, ReturnVisit.satisfaction)
            .where(_among(ReturnVisit.ticket_id, ids, session), ReturnVisit.done_at.is_not(None))
            .order_by(ReturnVisit.ticket_id, ReturnVisit.done_at, ReturnVisit.id)
            .execution_options(yield_per=PART_ROWS))
    return dict(iter(session.execute(stmt)))  # (a Result has keys(): dict() would take it for a mapping)


def block_repeats(session, ids) -> dict[int, str]:
    """The numbers of the tickets repeated, as the user's scope shows them (R-TKT-9, R-ROLE-1)."""
    if not ids:
        return {}
    return dict(session.execute(select(Ticket.id, Ticket.number).where(_among(Ticket.id, ids, session))).all())


def _texts(session, model, text, *columns) -> dict[int, str]:
    """Each `model` row the user may see, by id: the cell str(model) makes of it."""
    stmt = select(model.id, *columns)
    return {key: safe_cell(model.__str__(text(*values))) for key, *values in session.execute(stmt)}


class _Made(dict):
    """make(key), made once per key for the file (labels, scores, verdicts: a few hundred at most);
    read as `made[key]`, a plain dictionary look-up."""

    def __init__(self, make):
        super().__init__()
        self.make = make

    def __missing__(self, key):
        self[key] = found = self.make(key)
        return found


def _labels(enum) -> _Made:
    return _Made(lambda value: safe_cell(label(enum, value)))


def _verdict_cell(key) -> str:
    """`verdict_badge` of a stored verdict: (in_warranty, window, code, the parameters' JSON text)."""
    in_warranty, window, code, params = key
    params = json.loads(params) if params is not None else None
    return safe_cell(verdict_badge(_Verdict(in_warranty, window, code, params)))


def local_minutes(zone):
    """format_local(value, zone) for naive UTC values, with the zone's offset looked up once per
    UTC day (`strftime` and the zone lookup cost more than the rest of a row). A day in which
    the zone changes its offset (daylight saving) is formatted by format_local itself."""
    offsets: dict = {}
    hour = timedelta(hours=1)

    def text(value: datetime | None) -> str:
        if value is None:
            return ""
        key = value.date()
        try:
            offset = offsets[key]
        except KeyError:
            start = datetime.combine(key, datetime.min.time(), UTC)
            first = start.astimezone(zone).utcoffset()
            same = all((start + hour * n).astimezone(zone).utcoffset() == first for n in range(1, 25))
            offsets[key] = offset = first if same else None  # the same offset from 0:00 to 24:00 UTC
        if offset is None:
            return format_local(value, zone)
        return (value + offset).isoformat(" ", "minutes")
    return text


class RowCells:
    """The CSV cells of rows from `fast_select`, a block at a time; one per file (labels, zone,
    "now" and the related rows' texts are read once)."""

    def __init__(self, session):
        self.now = utcnow().replace(tzinfo=None)  # one "now" for the whole file (naive: see above)
        self.time = local_minutes(service_zone())  # time_formatter's zone
        self.status, self.kind = _labels(TicketStatus), _labels(TicketKind)
        self.channel, self.category = _labels(Channel), _labels(IssueCategory)
        self.outlets = _texts(session, Outlet, _OutletText, Outlet.name, Outlet.code)
        self.staff = _texts(session, User, _UserText, User.full_name, User.username)
        self.codes = _texts(session, FaultCode, _CodeText, FaultCode.code, FaultCode.name)
        self.parts = _texts(session, Part, _CodeText, Part.code, Part.name)
        self.models = dict(session.execute(select(ProductModel.id, ProductModel.code)).all())
        self.model_cells = {key: safe_cell(code) for key, code in self.models.items()}
        self.score = _Made(safe_cell)
        self.outcome = {None: safe_cell(NONE), **{key: safe_cell(str(text)) for key, text in OUTCOMES.items()}}
        self.no_clocks = (self.outcome[None],) * len(CLOCK_VALUES)
        self.verdicts = _Made(_verdict_cell)  # by the VERDICT columns

    def block(self, session, rows: list[tuple], names) -> list[tuple[str, ...]]:
        """The rows of CSV cells for the export columns `names` of a block of rows (plain tuples
        of `SELECTED`), made column by column (one `map` per column, then `zip`: a Python loop per
        cell costs more than the cell)."""
        column = dict(zip(SELECTED, zip(*rows, strict=True), strict=True))  # each field's values, in order
        ids = column["id"]
        by_id = dict(zip(ids, rows, strict=True))
        outcomes = {ticket_id: self.clock_cells(by_id[ticket_id], clocks)
                    for ticket_id, clocks in block_clocks(session, ids)}
        scores = block_satisfaction(session, ids)
        repeats = {key: safe_cell(number) for key, number in
                   block_repeats(session, set(column["repeat_of_id"]) - {None}).items()}
        made = self.columns(column, [outcomes.get(key, self.no_clocks) for key in ids],
                            [scores.get(key) for key in ids], repeats)
        return list(zip(*(made[name] for name in names), strict=True))  # tuples of strings: not kept by the GC

    def clock_cells(self, row: tuple, clocks: list[_Clock]) -> tuple[str, ...]:
        """The ticket's SLA cells, in CLOCK_COLUMNS order."""
        facts = _Facts(row[AT.status], row[AT.closed_at], row[AT.updated_at], clocks)
        found, cell = clock_outcomes(facts, self.now).get, self.outcome
        return tuple([cell[found(clock)] for clock in CLOCK_VALUES])

    def columns(self, column: dict, clocks: list[tuple], scores: list, repeats: dict) -> dict:
        """Each FAST_COLUMNS column's cells (lazily: only the columns exported are made)."""
        def cells(make, *fields):
            return map(make, *(column[field] for field in fields))

        def looked_up(found: dict, field):  # the cell of the related row, "" for none or out of scope
            return map(found.get, column[field], repeat(""))

        model = self.models.get
        return {
            "number": cells(safe_cell, "number"),
            "created_at": cells(self.time, "created_at"),
            "status": cells(self.status.__getitem__, "status"),
            "kind": cells(self.kind.__getitem__, "kind"),
            "channel": cells(self.channel.__getitem__, "channel"),
            "category": cells(self.category.__getitem__, "category"),
            "customer": cells(lambda key, name, phone: "" if key is None else safe_cell(f"{name} {phone}"),
                              "customer_id", "customer_name", "customer_phone"),  # as Customer.__str__
            "contact_phone": cells(safe_cell, "contact_phone"),
            "address": cells(safe_cell, "address"),
            "unit": cells(lambda seen, serial, key: "" if seen is None else  # as Unit.__str__
                          safe_cell(f"{model(key) or ''} {serial}".strip()), "unit_seen", "unit_serial",
                          "product_model_id"),
            "fault_description": cells(safe_cell, "fault_description"),
            "outlet": looked_up(self.outlets, "outlet_id"),
            "assigned_engineer": looked_up(self.staff, "assigned_engineer_id"),
            # `load_units`: the unit table joined with its product model, whatever the unit's scope
            "product_model": looked_up(self.model_cells, "product_model_id"),
            "serial": cells(lambda key, serial: "" if model(key) is None else safe_cell(serial),
                            "product_model_id", "unit_serial"),
            "warranty": map(self.verdicts.__getitem__, zip(*(column[field] for field in VERDICT), strict=True)),
            "fault_code": looked_up(self.codes, "fault_code_id"),
            "cause_code": looked_up(self.codes, "cause_code_id"),
            "remedy_code": looked_up(self.codes, "remedy_code_id"),
            "causal_part": looked_up(self.parts, "causal_part_id"),
            "repeat_of": looked_up(repeats, "repeat_of_id"),
            "satisfaction": map(self.score.__getitem__, scores),
            **dict(zip(CLOCK_COLUMNS, zip(*clocks, strict=True), strict=True)),
            "closed_at": cells(self.time, "closed_at"),
        }


def csv_batches(query, names, cap: int, batch_rows: int):
    """The CSV rows of the list's `query` for the export columns `names`, up to `cap` rows, in
    lists of `batch_rows` (one CSV chunk each); None if a column is not one this path makes (the
    view then exports as before). The query runs when the rows are read, on the session current
    then (SecureModelView._export_batches says why)."""
    if not set(names) <= set(FAST_COLUMNS):
        return None
    return _csv_batches(query, list(names), cap, batch_rows)


def _csv_batches(query, names, cap: int, batch_rows: int):
    session = db.session()
    block = block_rows()
    found = map(tuple, fast_select(query.with_session(session)).limit(cap).yield_per(PART_ROWS))
    cells = RowCells(session)
    while rows := list(islice(found, block)):
        made = cells.block(session, rows, names)
        for start in range(0, len(made), batch_rows):
            yield made[start:start + batch_rows]
