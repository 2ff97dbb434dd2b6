"""A realistic synthetic data set for benchmarks (issue 16, point 1): `flask gen-load`.

`generate(engine, tickets)` adds a service network of its own (outlets in two tiers with Zipf-like
sizes, a dealer and engineers per outlet, a center manager and clerks) and `tickets` tickets spread
over `years` years, each walked along the workflow's path (R-TKT-4) as far as its age and a few
stalls allow: timeline lines, SLA clocks with pauses and reworks (R-SLA-1…4), diagnosis codes,
fee lines, signed reports, mail-in handling, complaints, return visits and the parts fitted. Then
the network's side: old parts owed, returned and credited, weekly parts requests restocking what
was fitted on account, every parts account with a ledger whose entries sum to its balance
(R-PART-2…8), fee claims of the resolved warranty services and their monthly settlements
(R-FEE-1/2), appraisal records of the engineers (R-APR-1) and the models' monthly sales (R-RPT-1).

Rows are made in Python from one seeded `random.Random`, chunk by chunk, and written with COPY on
PostgreSQL (executemany on SQLite), each chunk committed. It only adds rows: ids continue from the
tables' maxima (PostgreSQL's sequences are moved past them at the end), ticket numbers are taken
from the app's daily counters (backoffice.numbering) exactly as registration takes them, phones
are checked against the archive, and codes and usernames carry a run number. The audit trail is
not written (no one changed these rows), and nobody else should write to the database meanwhile.

No Flask here: the CLI command (backoffice.cli) parses options and refuses production.
"""
from __future__ import annotations

import csv
import json
import math
import queue
import random
import re
import secrets
import threading
import time
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from models import db
from models.base import UTCDateTime

from . import demo, policy, routing, sla
from .warranty import add_months

Row = tuple
LOCAL = timedelta(hours=8)  # the generated outlets' zone, Asia/Shanghai: UTC+8, no daylight saving
MAX_TICKETS = 50_000_000
MAX_OUTLETS = 9_999
MAX_YEARS = 4  # a time of occurrence more than five years back is refused by the app (R-TKT-2)
DEFAULT_CHUNK = 50_000
CENT = Decimal("0.01")


class LoadError(Exception):
    """Bad input or a database the generator cannot fill; the message says which (English)."""


@dataclass
class Summary:
    """What a run added: rows per table, seconds, and what a benchmark needs to know."""

    run: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    biggest_outlet: str = ""
    biggest_share: float = 0.0
    first_day: date | None = None
    last_day: date | None = None
    manager: str = ""
    dealer_of_biggest: str = ""

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def validate(tickets, outlets, years, chunk=DEFAULT_CHUNK) -> None:
    """LoadError unless the numbers make a data set."""
    checks = ((tickets, "--tickets", 1, MAX_TICKETS), (outlets, "--outlets", 1, MAX_OUTLETS),
              (years, "--years", 1, MAX_YEARS), (chunk, "chunk size", 100, 10_000_000))
    for value, name, low, high in checks:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise LoadError(f"{name} must be a whole number from {low:,} to {high:,} (got {value!r})")


# --- the world's fixed vocabulary ------------------------------------------------------------

# district, short name for outlets, city code, area code, street patterns (urban, suburban)
DISTRICTS = (
    ("广州市天河区", "天河", "GZ", "020", ("体育西路{n}号{b}栋{r}房", "天河北路{n}号{b}座{r}"), ("龙洞村{n}号",)),
    ("广州市越秀区", "越秀", "GZ", "020", ("东风中路{n}号{b}栋{r}房", "北京路{n}号{r}"), ()),
    ("广州市海珠区", "海珠", "GZ", "020", ("江南大道中{n}号{b}座{r}", "新港西路{n}号{b}栋{r}"), ()),
    ("广州市白云区", "白云", "GZ", "020", ("机场路{n}号{b}栋{r}房",), ("太和镇大源村{n}号",)),
    ("广州市番禺区", "番禺", "GZ", "020", ("市桥街繁华路{n}号{b}座{r}",), ("沙湾镇福涌路{n}号",)),
    ("广州市从化区", "从化", "GZ", "020", ("街口街青云路{n}号",), ("温泉镇龙岗村{n}号", "鳌头镇人和路{n}号")),
    ("佛山市顺德区", "顺德", "FS", "0757", ("容桂街道文塔路{n}号{b}座{r}", "大良街道东乐路{n}号{r}"),
     ("勒流镇新城路{n}号", "均安镇沙头村{n}号")),
    ("佛山市南海区", "南海", "FS", "0757", ("桂城街道南海大道北{n}号{b}栋{r}",), ("西樵镇樵园路{n}号",)),
    ("佛山市禅城区", "禅城", "FS", "0757", ("祖庙路{n}号{b}座{r}", "季华五路{n}号{b}栋{r}"), ()),
    ("东莞市南城区", "南城", "DG", "0769", ("鸿福路{n}号{b}栋{r}", "宏图路{n}号{r}"), ()),
    ("东莞市长安镇", "长安", "DG", "0769", ("长安中路{n}号{r}",), ("沙头社区{n}号",)),
    ("东莞市麻涌镇", "麻涌", "DG", "0769", (), ("新沙港路{n}号", "麻涌大道{n}号")),
    ("深圳市南山区", "南山", "SZ", "0755", ("南海大道{n}号{b}栋{r}", "科技园路{n}号{b}座{r}"), ()),
    ("深圳市宝安区", "宝安", "SZ", "0755", ("新安街道建安一路{n}号{b}栋{r}",), ("石岩街道浪心村{n}号",)),
    ("深圳市龙岗区", "龙岗", "SZ", "0755", ("龙城大道{n}号{b}栋{r}",), ("坪地街道年丰村{n}号",)),
    ("中山市石岐区", "石岐", "ZS", "0760", ("孙文中路{n}号{r}",), ()),
    ("中山市小榄镇", "小榄", "ZS", "0760", ("升平中路{n}号{r}",), ("永宁社区{n}号",)),
    ("江门市新会区", "新会", "JM", "0750", ("会城今古洲路{n}号{b}栋{r}",), ("司前镇{n}号",)),
    ("惠州市惠城区", "惠城", "HZ", "0752", ("麦地路{n}号{b}栋{r}",), ()),
    ("惠州市博罗县", "博罗", "HZ", "0752", ("罗阳镇北门路{n}号",), ("园洲镇上南村{n}号",)),
    ("珠海市香洲区", "香洲", "ZH", "0756", ("凤凰北路{n}号{b}栋{r}", "情侣中路{n}号{r}"), ()),
    ("肇庆市端州区", "端州", "ZQ", "0758", ("星湖大道{n}号{b}座{r}",), ("睦岗街道{n}号",)),
    ("清远市清城区", "清城", "QY", "0763", ("先锋中路{n}号{r}",), ("源潭镇{n}号",)),
    ("汕头市龙湖区", "龙湖", "ST", "0754", ("长平路{n}号{b}栋{r}",), ("外砂镇{n}号",)),
)
TRADES = ("家电售后服务部", "电器服务站", "家电维修服务中心", "电器售后网点", "厨卫电器服务部", "燃气具服务站")
SUB_TRADES = ("服务网点", "维修点", "服务站")
BRANDS = ("美居", "安达", "诚信", "万家", "顺安", "福满", "宏达", "百顺")
WORK_DONE = {"installation": "上门安装完成，管路检漏合格，试机正常", "repair": "检修并更换故障部件，试机正常"}
STAFF_SURNAMES = demo.SURNAMES
STAFF_GIVEN = [*demo.GIVEN, "建军", "海峰", "振华", "立新", "志勇", "国栋", "雪梅", "少华", "永强"]
MOBILE_PREFIXES = ("13", "15", "17", "18", "19")

KIND_SHARES = (("repair", 70), ("installation", 12), ("consultation", 8), ("complaint", 6),
               ("return_exchange", 4))  # the demo's shares
CHANNELS = ("hotline", "email", "web", "wechat", "walk_in", "dealer")  # the demo draws them evenly
CATEGORY_SHARES = (("quality", 85), ("size", 3), ("discomfort", 4), ("other", 8))
MODE_SHARES = (("onsite", 75), ("remote", 15), ("mail_in", 10))
PURCHASE_SHARES = (("dealer", 50), ("store", 20), ("online", 25), ("project", 3), ("other", 2))
SATISFACTION = (1, 2, 3, 4, 5)
SATISFACTION_WEIGHTS = (2, 3, 8, 30, 57)  # 5 % unhappy enough to reopen (below 3)
NEW_UNIT_SHARE = 0.37  # ~0.4 N units (a few more come when known ones were all served lately)
NEW_CUSTOMER_SHARE = 0.75  # of the new units: ~0.3 N customers
STALL_SHARE = 0.06  # tickets that stop on the way (customer unreachable, waiting for a part …)
COURIERS = ("顺丰速运", "德邦物流", "中通快递", "圆通速递")
COMMENTS = {1: "问题没有解决，要求重新上门", 2: "维修后还是有故障，不满意", 3: "一般，等待时间较长",
            4: "基本满意", 5: "服务满意，师傅很专业"}
COMPLAINT_CLASSES = ("service_quality", "product_quality", "charges", "appearance")
MATERIALS = (("不锈钢波纹管 1.5米", Decimal("45.00")), ("燃气角阀", Decimal("28.00")), ("三通接头", Decimal("12.00")))
DEDUCTIONS = demo.DEDUCTION_REASONS
MAXIMA = demo.MAXIMA

# What each step does to the status (R-TKT-4), who takes it (desk: a clerk of the center; worker:
# the outlet's engineer) and the note its timeline line carries.
STEPS = {
    "diagnose": ("worker", "diagnosed"), "investigate": ("desk", "diagnosed"),
    "answer_at_intake": ("desk", "resolved"), "schedule_installation": ("worker", "solution_proposed"),
    "answer_remotely": ("worker", "resolved"), "propose": ("worker", "solution_proposed"),
    "agree": ("desk", "agreed"), "dispatch": ("desk", "dispatched"), "receive_mail_in": ("worker", "dispatched"),
    "start_service": ("worker", "in_service"), "test_mail_in": ("worker", "in_service"),
    "resolve": ("worker", "resolved"), "ship_back": ("worker", "resolved"), "settle": ("desk", "resolved"),
    "return_visit": ("desk", "return_visit"), "close": ("desk", "closed"),
}
NOTES = {"propose": "按故障代码维修，预计一次上门解决", "answer_remotely": "电话指导用户复位后恢复正常",
         "answer_at_intake": "已电话讲解使用方法"}
PATHS = {
    ("repair", "onsite"): ("diagnose", "propose", "agree", "dispatch", "start_service", "resolve"),
    ("repair", "remote"): ("diagnose", "answer_remotely"),
    ("repair", "mail_in"): ("diagnose", "propose", "agree", "receive_mail_in", "test_mail_in", "ship_back"),
    ("consultation", None): ("answer_at_intake",),
    ("complaint", None): ("investigate", "propose", "agree", "settle"),
    ("installation", None): ("schedule_installation", "agree", "dispatch", "start_service", "resolve"),
}
AFTER = ("return_visit", "close")
# Minutes after the step before (uniform low..high); the first response is drawn log-normal (`_when`).
GAPS = {"propose": (10, 150), "agree": (30, 1800), "dispatch": (20, 300), "start_service": (60, 1200),
        "resolve": (30, 240), "receive_mail_in": (1440, 5760), "test_mail_in": (120, 1440),
        "ship_back": (720, 4320), "answer_remotely": (10, 360), "settle": (120, 4320),
        "return_visit": (1440, 12960), "close": (0, 2880), "schedule_installation": (20, 600)}
MET_BY_STATUS = {status.value: tuple(c.value for c in clocks) for status, clocks in sla.MET_BY_STATUS.items()}
PAUSABLE = tuple(c.value for c in sla.PAUSABLE)
KIND_CLOCKS = {kind.value: tuple(c.value for c in clocks) for kind, clocks in sla.KIND_CLOCKS.items()}
REWORK_CLOCKS = {kind: tuple(c for c in clocks if c not in {x.value for x in sla.ANSWERED_AT_REOPEN})
                 for kind, clocks in KIND_CLOCKS.items()}
DONE = ("resolved", "return_visit", "closed")


# --- writing rows: COPY on PostgreSQL, executemany on SQLite ---------------------------------------

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
    """Writes the chunks' rows table by table and commits each chunk; on PostgreSQL on a thread of
    its own (`start()`), so the server's work overlaps the making of the next chunk; on SQLite in
    the caller's thread. Errors reach the caller at its next `put` or at `close`."""

    def __init__(self, sink: Sink, progress: Callable[[int], None] | None):
        super().__init__(name="gen-load writer", daemon=True)
        self.sink, self.progress = sink, progress
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
        for table in CHUNK_TABLES:
            self.sink.write(table, COLUMNS[table], rows[table])
        self.sink.connection.commit()
        if self.progress is not None:
            self.progress(count)


# --- the run ------------------------------------------------------------------------------------

def generate(engine: Engine, tickets: int, *, seed: int = 1, outlets: int = 200, years: int = 3,
             chunk: int = DEFAULT_CHUNK, password_hash: str | None = None, now: datetime | None = None,
             progress: Callable[[int], None] | None = None) -> Summary:
    """Add the data set; `progress(n)` is told each time n more tickets are written."""
    validate(tickets, outlets, years, chunk)
    started = time.perf_counter()
    with engine.connect() as connection:
        _require_schema(connection)
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.exec_driver_sql("SET synchronous_commit = off")
        try:
            run = Run(connection, tickets, seed=seed, outlets=outlets, years=years, chunk=chunk,
                      password_hash=password_hash, now=now)
            summary = run.execute(progress)
            if postgres:
                _finish_postgres(connection, run.sink.rows)
        except BaseException:
            connection.rollback()  # the chunks committed stay; numbers taken are gaps, as in the app
            raise
        finally:
            if postgres:
                connection.exec_driver_sql("RESET synchronous_commit")
                connection.commit()
    summary.seconds = time.perf_counter() - started
    return summary


def _require_schema(connection: Connection) -> None:
    names = set(sa.inspect(connection).get_table_names())
    missing = sorted({"ticket", "ticket_counter", "ledger_entry", "appraisal_record", "model_sales"} - names)
    if missing:
        raise LoadError(f"the database has no table {', '.join(missing)}: run `flask --app app db upgrade` first")


def _finish_postgres(connection: Connection, rows: Counter) -> None:
    """Sequences past the ids given here (the app's next insert must not collide), then ANALYZE."""
    for table in sorted(rows):
        if "id" not in db.metadata.tables[table].columns:
            continue
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"GREATEST((SELECT max(id) FROM {table}), "
            f"(SELECT last_value FROM {_sequence(connection, table)})))")
    connection.commit()
    connection.exec_driver_sql("ANALYZE " + ", ".join(sorted(rows)))
    connection.commit()


def _sequence(connection: Connection, table: str) -> str:
    return connection.exec_driver_sql(f"SELECT pg_get_serial_sequence('{table}', 'id')").scalar_one()


def local_day(at: datetime) -> date:
    return (at + LOCAL).date()


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT)


@dataclass
class Ids:
    """The next free id of each table (the table's maximum + 1 when the run starts)."""

    next: dict[str, int]

    def take(self, table: str, count: int = 1) -> int:
        first = self.next[table]
        self.next[table] = first + count
        return first


ID_TABLES = ("outlet", "user_account", "customer", "unit", "ticket", "ticket_event", "ticket_clock",
             "ticket_fee", "return_visit", "service_report", "mail_in", "complaint", "replaced_part",
             "old_part", "parts_return", "parts_return_line", "parts_account", "parts_request",
             "parts_request_line", "ledger_entry", "fee_claim",
             "fee_claim_part", "fee_batch", "appraisal_record", "appraisal_deduction", "model_sales")


class Reference:
    """Product models, parts and fault codes (the demo's tables, added when missing) and the
    policies the rows follow, read once."""

    def __init__(self, connection: Connection, now: datetime):
        self.connection = connection
        self._ensure(now)
        self.models = [dict(row._mapping) for row in connection.execute(sa.text(
            "SELECT id, code, category, warranty_months, free_installation, special_price FROM product_model "
            "WHERE active AND category <> 'shoes' ORDER BY id"))]
        if not self.models:
            raise LoadError("no appliance product model to sell")
        parts = [dict(row._mapping) for row in connection.execute(sa.text(
            "SELECT id, code, name, category, unit_price, gas_type, consumable, fragile, warranty_months "
            "FROM part WHERE active ORDER BY id"))]
        self.parts_by_category = defaultdict(list)
        for part in parts:
            part["unit_price"] = money(part["unit_price"])
            self.parts_by_category[part["category"]].append(part)
        self.parts = {part["id"]: part for part in parts}
        self.codes = defaultdict(list)
        self.standard_hours = {}
        for row in connection.execute(sa.text(
                "SELECT id, kind, category, standard_hours FROM fault_code WHERE active ORDER BY id")):
            self.codes[row.kind, row.category].append(row.id)
            if row.standard_hours is not None:
                self.standard_hours[row.id] = money(row.standard_hours)
        self.bands = [(row.up_to_km, money(row.amount)) for row in connection.execute(sa.text(
            "SELECT up_to_km, amount FROM travel_band ORDER BY up_to_km"))]
        with Session(bind=connection) as session:
            self.policy = {key: policy.value(session, key) for key in policy.DEFAULTS}
            self.rules = sla.rules(session)
        self._hours: dict = {}

    def codes_for(self, kind: str, category: str) -> list[int]:
        return self.codes[kind, category] + self.codes[kind, None]

    def hours(self, clock: str, kind: str, in_warranty, area: str):
        """sla.hours_for without a query per ticket (the same rules, read once)."""
        key = (clock, kind, in_warranty, area)
        if key not in self._hours:
            candidates = [r for r in self.rules if r.clock == clock and r.matches(kind, in_warranty, area)]
            best = max(candidates, key=lambda r: r.specificity).hours if candidates else None
            self._hours[key] = None if best is None else sla.hours(best)
        return self._hours[key]

    def travel(self, km: int):
        """fee_claims.travel_band: the first band covering the distance, else the last one."""
        for limit, amount in self.bands:
            if limit >= km:
                return limit, amount
        return self.bands[-1] if self.bands else (None, Decimal("0.00"))

    def _ensure(self, now: datetime) -> None:
        """The demo's models, price list and fault taxonomy, for whatever is not there yet."""
        connection = self.connection
        have = set(connection.execute(sa.text("SELECT code FROM product_model")).scalars())
        rows = [dict(code=code, name=name, category=category, warranty_months=months, free_installation=free,
                     special_price=False, gas_type=gas, active=True, created_at=now, updated_at=now)
                for code, name, category, months, free, gas in demo.MODELS if code not in have]
        _insert_plain(connection, "product_model", rows)
        have = set(connection.execute(sa.text("SELECT code FROM part")).scalars())
        rows = [dict(code=r["code"], name=r["name"], category=r["category"], unit_price=Decimal(r["unit_price"]),
                     gas_type=r["gas_type"] or None, consumable=r["consumable"] == "yes",
                     fragile=r["fragile"] == "yes", active=True, warranty_months=demo.KEY_COMPONENTS.get(r["code"]),
                     created_at=now, updated_at=now)
                for r in _demo_table("parts") if r["code"] not in have]
        _insert_plain(connection, "part", rows)
        have = set(connection.execute(sa.text("SELECT kind || ':' || code FROM fault_code")).scalars())
        rows = [dict(kind=r["kind"], code=r["code"], name=r["name"], category=r["category"] or None, active=True,
                     standard_hours=Decimal(demo.STANDARD_HOURS[r["code"]]) if r["code"] in demo.STANDARD_HOURS
                     else None, created_at=now, updated_at=now)
                for r in _demo_table("fault_codes") if f"{r['kind']}:{r['code']}" not in have]
        _insert_plain(connection, "fault_code", rows)


def _demo_table(name: str) -> list[dict]:
    with (demo.DATA / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _insert_plain(connection: Connection, table: str, rows: list[dict]) -> None:
    if rows:
        for row in rows:
            for key in ("created_at", "updated_at"):
                row[key] = row[key].replace(tzinfo=UTC)
        connection.execute(db.metadata.tables[table].insert(), rows)


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

    def execute(self, progress) -> Summary:
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
        writer = Writer(self.sink, progress)
        if self.sink.postgres:  # COPY on a thread of its own: the server works while the next chunk is made
            writer.start()
        try:
            for first in range(0, self.n, self.chunk):
                stop = min(first + self.chunk, self.n)
                rows = TicketChunk(self, times[first:stop], numbers[first:stop]).build()
                writer.put(rows, stop - first)
        finally:
            writer.close()
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


# --- the network: outlets and people ------------------------------------------------------------

@dataclass
class Outlet:
    id: int
    code: str
    name: str
    district: tuple
    weight: float
    parent_id: int | None
    dealer_id: int = 0
    dealer_name: str = ""
    engineers: list[int] = field(default_factory=list)
    customers: list = field(default_factory=list)
    units: list = field(default_factory=list)
    purchases: Decimal = Decimal("0.00")


class Network:
    """~`outlets` dealer outlets (Zipf-like sizes: the biggest takes ≥ 10 % of the tickets, some
    small ones are sub-outlets of big ones), a dealer account and engineers at each, a manager
    and clerks at the service center."""

    def __init__(self, run: Run):
        self.run = run
        self.outlets: list[Outlet] = []
        self.clerks: list[int] = []
        self.manager = 0
        self.manager_name = ""
        self.engineer_outlet: dict[int, int] = {}
        self.cumulative: list[float] = []
        self.ticket_outlets: list[int] = []
        self.staff_created = run.start - timedelta(days=30)

    def build(self) -> None:
        self._outlets()
        self._people()

    def _outlets(self) -> None:
        run, rng = self.run, self.run.rng
        count = run.outlet_count
        weights = [1 / (rank + 1) for rank in range(count)]  # Zipf, s = 1: the first ~17 % of 200
        total = sum(weights)
        first = run.ids.take("outlet", count)
        have = set(run.connection.execute(sa.text("SELECT code FROM outlet")).scalars())
        parents = list(range(min(10, count // 10)))
        rows = []
        for rank in range(count):
            district = rng.choice(DISTRICTS)
            sub = rank >= count // 2 and parents and rng.random() < 0.3
            parent = self.outlets[rng.choice(parents)] if sub else None
            code = f"{district[2]}{run.run_no}-{rank + 1:03d}"
            if code in have:
                raise LoadError(f"outlet code {code} exists already")
            trade = rng.choice(SUB_TRADES) if parent else rng.choice(TRADES)
            brand = f"{rng.choice(STAFF_SURNAMES)}氏" if rng.random() < 0.3 else rng.choice(BRANDS)
            name = f"{district[1]}{brand}{trade}"
            outlet = Outlet(first + rank, code, name, district, weights[rank] / total, parent.id if parent else None)
            monthly = run.n * outlet.weight / (12 * run.years)
            outlet.purchases = money(round(200_000 + monthly * 7_000, -4))
            self.outlets.append(outlet)
            street = rng.choice(district[4] or district[5])
            rows.append((outlet.id, code, name, outlet.parent_id, district[0],
                         district[0] + street.format(n=rng.randint(1, 399), b=rng.randint(1, 12),
                                                     r=rng.randint(101, 999)),
                         f"{district[3]}-{rng.randint(2000_0000, 8999_9999)}", _mobile(rng),
                         _grown(outlet.purchases, run.years - 1), "Asia/Shanghai", False, True, "",
                         self.staff_created, run.now))
        run.sink.write("outlet", ("id", "code", "name", "parent_id", "region", "address", "service_phone",
                                  "duty_phone", "total_purchase_amount", "timezone", "is_service_center", "active",
                                  "retirement_reason", "created_at", "updated_at"), rows)
        running = 0.0
        for outlet in self.outlets:
            running += outlet.weight
            self.cumulative.append(running)

    def _people(self) -> None:
        run, rng = self.run, self.run.rng
        password = run.password_hash or _hash(demo.DEMO_PASSWORD)
        tag = f"lg{run.run_no}"
        rows = []

        def person(role, username, outlet_id, reports_to):
            user_id = run.ids.take("user_account")
            full_name = rng.choice(STAFF_SURNAMES) + rng.choice(STAFF_GIVEN)
            rows.append((user_id, username, full_name, _mobile(rng), password, role, outlet_id, True,
                         secrets.token_hex(8), reports_to, self.staff_created, run.now))
            return user_id, full_name

        self.manager, _ = person("manager", f"{tag}-manager", None, None)
        self.manager_name = f"{tag}-manager"
        clerks = max(3, min(60, run.n // 20_000))
        self.clerks = [person("clerk", f"{tag}-clerk{k + 1:02d}", None, self.manager)[0] for k in range(clerks)]
        per_engineer = 365 * run.years * 2.5  # tickets one engineer serves over the span
        for outlet in self.outlets:
            outlet.dealer_id, _ = person("dealer", f"{tag}-dealer-{outlet.code.lower()}", outlet.id, None)
            outlet.dealer_name = f"{tag}-dealer-{outlet.code.lower()}"
            engineers = max(1, min(60, round(run.n * outlet.weight / per_engineer)))
            for k in range(engineers):
                engineer, _ = person("engineer", f"{tag}-eng-{outlet.code.lower()}-{k + 1:02d}", outlet.id,
                                     self.manager)
                outlet.engineers.append(engineer)
                self.engineer_outlet[engineer] = outlet.id
        have = set(run.connection.execute(sa.text("SELECT username FROM user_account")).scalars())
        if any(row[1] in have for row in rows):
            raise LoadError(f"usernames {tag}-… exist already")
        run.sink.write("user_account", ("id", "username", "full_name", "phone", "password_hash", "role",
                                        "outlet_id", "active", "session_nonce", "reports_to_id", "created_at",
                                        "updated_at"), rows)

    def pick_outlet(self, rng: random.Random) -> Outlet:
        return self.outlets[min(bisect_left(self.cumulative, rng.random() * self.cumulative[-1]),
                                len(self.outlets) - 1)]


def _hash(password: str) -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password)


def _mobile(rng: random.Random) -> str:
    """A mainland mobile number; its 4th-7th digits are never 0000 (the test factories' range)."""
    return f"{rng.choice(MOBILE_PREFIXES)}{rng.randint(0, 9)}{rng.randint(1000_0000, 9999_9999)}"


def _grown(purchases: Decimal, years: int) -> Decimal:
    """The purchases after `years` years of the span: 10 % more each year (each year's quota grant
    follows them, R-PART-2)."""
    return money(purchases * Decimal("1.1") ** years)


# --- tickets ------------------------------------------------------------------------------------

TICKET_COLUMNS = ("id", "number", "kind", "channel", "category", "status", "fault_description", "occurred_at",
                  "contact_name", "contact_phone", "address", "customer_id", "unit_id", "outlet_id",
                  "assigned_engineer_id", "registered_by_id", "closed_at", "area", "in_warranty", "warranty_window",
                  "warranty_code", "warranty_params", "warranty_exclusion", "queue", "repeat_of_id", "service_mode",
                  "severity", "fault_code_id", "cause_code_id", "remedy_code_id", "causal_part_id", "parts_needed",
                  "estimate", "appointment_at", "version_id", "created_at", "updated_at")
COLUMNS = {
    "customer": ("id", "name", "phone", "phone_key", "phone2", "address", "region", "area", "distance_km",
                 "outlet_id", "note", "created_at", "updated_at"),
    "unit": ("id", "serial", "size", "product_model_id", "customer_id", "outlet_id", "invoice_no", "invoice_date",
             "price", "purchase_channel", "created_at", "updated_at"),
    "ticket": TICKET_COLUMNS,
    "ticket_event": ("id", "ticket_id", "at", "actor_id", "action", "from_status", "to_status", "note"),
    "ticket_clock": ("id", "ticket_id", "clock", "due_at", "met_at", "paused_since", "paused_seconds",
                     "superseded_at"),
    "ticket_fee": ("id", "ticket_id", "kind", "item", "amount"),
    "return_visit": ("id", "ticket_id", "kind", "due_at", "done_at", "satisfaction", "comment", "visitor_id",
                     "created_at", "updated_at"),
    "service_report": ("id", "ticket_id", "engineer_id", "work_done", "parts_replaced", "tested_ok", "signed_by",
                       "signed_at", "created_at", "updated_at"),
    "mail_in": ("id", "ticket_id", "received_at", "package_ok", "damage_note", "customer_told", "test_result",
                "shipped_at", "courier", "tracking_no", "created_at", "updated_at"),
    "complaint": ("id", "ticket_id", "complaint_class", "from_outlet", "promised_result", "promised_at",
                  "investigation", "resolution", "rehandled_count", "escalated", "against_staff_id", "substantiated",
                  "created_at", "updated_at"),
    "replaced_part": ("id", "ticket_id", "unit_id", "part_id", "qty", "replaced_on", "warranty_until", "settlement"),
}
CHUNK_TABLES = tuple(COLUMNS)  # in foreign-key order


def _shares(pairs):
    values, weights = zip(*pairs, strict=True)
    cumulative, total = [], 0
    for weight in weights:
        total += weight
        cumulative.append(total)
    return values, cumulative


KINDS_NEW_UNIT = _shares([("installation", 30)] + [(k, w * 70 / 88) for k, w in KIND_SHARES if k != "installation"])
KINDS_KNOWN_UNIT = _shares([(k, w) for k, w in KIND_SHARES if k != "installation"])
CATEGORIES = _shares(CATEGORY_SHARES)
MODES = _shares(MODE_SHARES)
PURCHASES = _shares(PURCHASE_SHARES)
REOPENABLE = ("repair", "return_exchange", "complaint")


def _draw(rng: random.Random, shares) -> str:
    values, cumulative = shares
    return values[bisect_left(cumulative, rng.random() * cumulative[-1])]


class Ticket:
    """One ticket being walked along its path: what its rows will say."""

    __slots__ = (
        "appointment",
        "assigned",
        "at",
        "category",
        "causal_part",
        "channel",
        "clocks",
        "closed",
        "codes",
        "complaint",
        "created",
        "customer",
        "engineer",
        "estimate",
        "exclusion",
        "fault",
        "fees",
        "id",
        "in_warranty",
        "kind",
        "last",
        "mail_in",
        "mode",
        "number",
        "outlet",
        "parts",
        "paused",
        "reopened",
        "report",
        "resolved",
        "severity",
        "status",
        "unit",
        "updates",
        "verdict",
        "visit",
    )

    def __init__(self, number, created, outlet, unit, kind):
        self.number, self.created, self.outlet, self.unit, self.kind = number, created, outlet, unit, kind
        self.customer = unit[1]
        self.status, self.closed, self.resolved, self.reopened, self.updates = "registered", None, None, 0, 1
        self.mode = self.severity = self.codes = self.estimate = self.exclusion = self.causal_part = None
        self.assigned = self.appointment = self.report = self.mail_in = self.complaint = self.visit = None
        self.clocks, self.fees, self.parts, self.paused = [], [], [], False


class TicketChunk:
    """Up to `chunk` tickets (sorted by time) with their customers, units and every row a ticket
    carries; written table by table in foreign-key order, then committed by the run."""

    def __init__(self, run: Run, times: list[datetime], numbers: list[str]):
        self.run, self.times, self.numbers = run, times, numbers
        self.rng, self.ids, self.ref, self.network = run.rng, run.ids, run.ref, run.network
        self.now = run.now
        self.rows: dict[str, list] = {table: [] for table in CHUNK_TABLES}
        self.part_months = int(self.ref.policy["warranty.part_months"])
        self.visit_days = timedelta(days=float(self.ref.policy["returns.visit_days"]))
        self.complaint_visit_days = timedelta(days=float(self.ref.policy["returns.complaint_visit_days"]))
        self.satisfied_from = int(self.ref.policy["returns.satisfied_from"])
        self.after_onsite = sla.hours(self.ref.policy["sla.resolve_after_onsite_hours"])
        self.repeat_window = timedelta(days=float(self.ref.policy["tickets.repeat_repair_days"]))
        self.sanbao = {category: self.ref.policy.get(key, Decimal(0)) > 0
                       for category, key in (("gas_water_heater", "warranty.sanbao.gas_water_heater"),
                                             ("range_hood", "warranty.sanbao.range_hood"),
                                             ("gas_stove", "warranty.sanbao.gas_stove"),
                                             ("disinfection_cabinet", "warranty.sanbao.disinfection_cabinet"),
                                             ("shoes", "warranty.sanbao.shoes"), ("other", "warranty.sanbao.other"))}
        self.return_days = int(self.ref.policy["warranty.return_days"])
        self.exchange_days = int(self.ref.policy["warranty.exchange_days"])
        self.free_km = self.ref.policy["installation.free_distance_km"]
        self.km_rate = money(self.ref.policy["installation.travel_fee_per_km"])

    def build(self) -> dict[str, list]:
        for created, number in zip(self.times, self.numbers, strict=True):
            self._ticket(created, number)
        return self.rows

    # -- who calls about what ---------------------------------------------------------------------
    def _ticket(self, created: datetime, number: str) -> None:
        rng, network = self.rng, self.network
        index = min(bisect_left(network.cumulative, rng.random() * network.cumulative[-1]),
                    len(network.outlets) - 1)
        network.ticket_outlets.append(index)
        outlet = network.outlets[index]
        day = local_day(created)
        unit = self._known_unit(outlet, created) if outlet.units and rng.random() >= NEW_UNIT_SHARE else None
        if unit is not None:
            kind = _draw(rng, KINDS_KNOWN_UNIT)
        else:
            kind = _draw(rng, KINDS_NEW_UNIT)
            unit = self._new_unit(outlet, created, day, kind)
        ticket = Ticket(number, created, outlet, unit, kind)
        ticket.id = self.ids.take("ticket")
        ticket.last = created
        category = unit[2]["category"]
        ticket.fault = "新机上门安装，需同时检查燃气管路" if kind == "installation" else \
            rng.choice(demo.FAULTS.get(category) or demo.FAULTS["gas_water_heater"])
        ticket.engineer = rng.choice(outlet.engineers)
        ticket.category = _draw(rng, CATEGORIES)
        ticket.channel = rng.choice(CHANNELS)
        ticket.verdict = self._verdict(unit, day, kind)
        ticket.in_warranty = ticket.verdict[0]
        if kind in ("repair", "return_exchange"):
            ticket.mode = _draw(rng, MODES)
        repeat_of = unit[4] if unit[4] and created - unit[5] <= self.repeat_window else None
        self._start_clocks(ticket)
        registrar = outlet.dealer_id if ticket.channel in ("dealer", "walk_in") else rng.choice(network.clerks)
        self._event(ticket, created, registrar, "registered", None, "registered")
        self._walk(ticket)
        self._rows(ticket, registrar, repeat_of)
        if ticket.status in DONE:
            unit[4], unit[5] = ticket.id, created
            if ticket.in_warranty and kind in ("repair", "return_exchange", "installation"):
                self.run.books.claimable(ticket)

    def _known_unit(self, outlet: Outlet, created: datetime) -> list | None:
        """A unit the outlet served before; one served within the repeat window (a repeat repair,
        R-TKT-9) only now and then, as in the trade (a few percent). None when the outlet's units
        were nearly all served lately (early in the span): the caller sells a new one."""
        rng, window = self.rng, self.repeat_window
        for _ in range(8):
            unit = rng.choice(outlet.units)
            if not unit[4] or created - unit[5] > window or rng.random() < 0.04:
                return unit
        return None

    def _new_customer(self, outlet: Outlet, at: datetime) -> tuple:
        rng = self.rng
        district = outlet.district if rng.random() < 0.85 else rng.choice(DISTRICTS)
        urban = bool(district[4]) and (not district[5] or rng.random() < 0.75)
        street = rng.choice(district[4] if urban else district[5])
        address = district[0] + street.format(n=rng.randint(1, 399), b=rng.randint(1, 12), r=rng.randint(101, 2808))
        km = rng.randint(2, 18) if urban else rng.randint(15, 60)
        phone = _mobile(rng)
        while phone in self.run.phones:
            phone = _mobile(rng)
        self.run.phones.add(phone)
        customer = (self.ids.take("customer"), rng.choice(demo.SURNAMES) + rng.choice(demo.GIVEN), phone, address,
                    district[0], "urban" if urban else "suburban", km)
        phone2 = f"{district[3]}-{rng.randint(2000_0000, 8999_9999)}" if rng.random() < 0.1 else ""
        self.rows["customer"].append((customer[0], customer[1], phone, phone, phone2, address, district[0],
                                      customer[5], Decimal(km), outlet.id, "", at, at))
        outlet.customers.append(customer)
        return customer

    def _new_unit(self, outlet: Outlet, created: datetime, day: date, kind: str) -> list:
        rng = self.rng
        at = created - timedelta(minutes=rng.randint(2, 15))
        if outlet.customers and rng.random() >= NEW_CUSTOMER_SHARE:
            customer = rng.choice(outlet.customers)
        else:
            customer = self._new_customer(outlet, at)
        model = rng.choice(self.ref.models)
        draw = rng.random()
        if kind == "installation":
            age = rng.randint(0, 10)
        else:
            age = rng.randint(0, 15) if draw < 0.05 else rng.randint(16, 340) if draw < 0.6 else rng.randint(340, 1500)
        invoice = day - timedelta(days=age)
        unit_id = self.ids.take("unit")
        low, high = demo.PRICES.get(model["category"], (999, 2999))
        self.rows["unit"].append((unit_id, f"{model['code'][:3]}{invoice:%y%m}L{unit_id:07d}", "", model["id"],
                                  customer[0], outlet.id, f"FP{invoice:%Y}{rng.randint(1000_0000, 9999_9999)}",
                                  invoice, Decimal(rng.randrange(low, high, 100) - 1), _draw(rng, PURCHASES), at, at))
        self.run.books.sold(model["id"], invoice)
        unit = [unit_id, customer, model, invoice, None, None]
        outlet.units.append(unit)
        return unit

    def _verdict(self, unit: list, day: date, kind: str) -> tuple:
        """backoffice.warranty's verdict at registration (installation.verdict for installations)."""
        model, invoice = unit[2], unit[3]
        if kind == "installation":
            if model["special_price"]:
                return False, "none", "install_special", {"model": model["code"]}
            if not model["free_installation"]:
                return False, "none", "install_not_free", {"model": model["code"]}
            return True, "none", "install_free", {"model": model["code"]}
        days = (day - invoice).days
        if self.sanbao.get(model["category"]):
            if days <= self.return_days:
                return True, "return", "return", {"days": days, "limit": self.return_days}
            if days <= self.exchange_days:
                return True, "exchange", "exchange", {"days": days, "limit": self.exchange_days}
        until = add_months(invoice, model["warranty_months"])
        params = {"until": until.isoformat(), "months": model["warranty_months"]}
        return (True, "repair", "repair", params) if day < until else (False, "none", "expired", params)

    # -- SLA clocks (backoffice.sla) ----------------------------------------------------------------
    def _start_clocks(self, ticket: Ticket, at: datetime | None = None) -> None:
        start = at or ticket.created
        clocks = REWORK_CLOCKS[ticket.kind] if at else KIND_CLOCKS[ticket.kind]
        area = ticket.customer[5]
        due = {}
        for clock in clocks:
            hours = self.ref.hours(clock, ticket.kind, ticket.in_warranty, area)
            if hours is not None:
                due[clock] = start + hours
        if "onsite" in due and "resolve" in due:
            due["resolve"] = max(due["resolve"], due["onsite"] + self.after_onsite)
        ids = self.ids
        for clock, when in due.items():
            ticket.clocks.append([ids.take("ticket_clock"), ticket.id, clock, when, None, None, 0, None])

    def _meet(self, ticket: Ticket, status: str, at: datetime) -> None:
        for clock in MET_BY_STATUS.get(status, ()):
            for row in ticket.clocks:
                if row[2] == clock and row[7] is None and row[4] is None:
                    row[4] = at

    def _pause(self, ticket: Ticket, at: datetime, actor: int) -> None:
        """R-SLA-3: waiting for the customer's consent stops the clocks that wait on them."""
        for row in ticket.clocks:
            if row[2] in PAUSABLE and row[4] is None and row[5] is None and row[7] is None:
                row[5] = at
        ticket.paused = True
        self._event(ticket, at, actor, "paused", None, None)

    def _resume(self, ticket: Ticket, at: datetime, actor: int) -> None:
        for row in ticket.clocks:
            if row[5] is not None:
                waited = at - row[5]
                row[6] += int(waited.total_seconds())
                row[3] += waited
                row[5] = None
        ticket.paused = False
        self._event(ticket, at, actor, "resumed", None, None)

    def _event(self, ticket: Ticket, at: datetime, actor, action: str, before, after, note: str = "") -> None:
        self.rows["ticket_event"].append((self.ids.take("ticket_event"), ticket.id, at, actor, action, before,
                                          after, note))

    def _restart(self, ticket: Ticket, at: datetime) -> None:
        """R-SLA-4: the rework of a reopened ticket runs on new clocks; the old ones are history."""
        for row in ticket.clocks:
            if row[7] is None:
                row[7], row[5] = at, None
        self._start_clocks(ticket, at)

    # -- the walk along the path (backoffice.workflow) -------------------------------------------------
    def _walk(self, ticket: Ticket) -> None:
        rng, now, clerks = self.rng, self.now, self.network.clerks
        kind = "repair" if ticket.kind == "return_exchange" else ticket.kind
        path = [*PATHS[kind, ticket.mode if kind == "repair" else None], *AFTER]
        stall = rng.randrange(len(path)) if rng.random() < STALL_SHARE else None
        at, i = ticket.created, 0
        while i < len(path) and i != stall:
            step = path[i]
            at = self._when(ticket, step, at, first=i == 0)
            if at > now:
                break
            who, target = STEPS[step]
            actor = rng.choice(clerks) if who == "desk" else ticket.engineer
            target = getattr(self, "_" + step)(ticket, at, actor) or target
            note = ("电话初诊：" + ticket.fault) if step == "diagnose" else NOTES.get(step, "")
            self._event(ticket, at, actor, "status", ticket.status, target, note)
            if step == "return_visit" and target == "diagnosed":
                self._event(ticket, at, actor, "reopened", None, None, ticket.visit[6])
                self._restart(ticket, at)
                rework = PATHS[kind, ticket.mode if kind == "repair" else None][1:]
                path[i + 1:] = [*rework, *AFTER]
            elif step == "schedule_installation" and target == "agreed":
                del path[i + 1]  # a free installation is agreed when scheduled
            ticket.status = target
            ticket.updates += 1
            if target == "resolved":
                ticket.resolved = at
            self._meet(ticket, target, at)
            ticket.last = at
            i += 1

    def _when(self, ticket: Ticket, step: str, at: datetime, *, first: bool) -> datetime:
        """When the step is taken: the first response log-normal around 45 minutes (some late),
        the others uniform in the step's range, now and then much later."""
        rng = self.rng
        if first and step != "answer_at_intake":
            return at + timedelta(minutes=min(rng.lognormvariate(3.8, 1.0), 4320))
        if step == "answer_at_intake":
            return at + timedelta(minutes=rng.uniform(1, 30))
        if step == "start_service" and ticket.appointment is not None:
            return max(at, ticket.appointment) + timedelta(minutes=rng.uniform(0, 45))
        low, high = GAPS[step]
        minutes = rng.uniform(low, high)
        if rng.random() < 0.05:
            minutes *= rng.uniform(2, 6)
        return at + timedelta(minutes=minutes)

    def _diagnose(self, ticket: Ticket, at: datetime, actor: int):
        rng, ref = self.rng, self.ref
        category = ticket.unit[2]["category"]
        ticket.severity = "critical" if rng.random() < 0.03 else rng.choice(("minor", "major"))
        ticket.codes = tuple(rng.choice(ref.codes_for(kind, category) or [None])
                             for kind in ("fault", "cause", "remedy"))
        parts = ref.parts_by_category.get(category)
        ticket.causal_part = rng.choice(parts) if parts and rng.random() < 0.3 else None
        if rng.random() < 0.02:
            ticket.exclusion = rng.choice(("misuse", "third_party", "transport", "gas_supply_changed"))
            ticket.verdict = (False, "none", "excluded", {"cause": ticket.exclusion})
        elif not ticket.verdict[0] and ticket.causal_part and ticket.causal_part["warranty_months"]:
            until = add_months(ticket.unit[3], ticket.causal_part["warranty_months"])  # R-WAR-6
            if local_day(ticket.created) < until:
                ticket.verdict = (True, "repair", "key_component", {
                    "part": ticket.causal_part["name"], "until": until.isoformat(),
                    "months": ticket.causal_part["warranty_months"]})
        ticket.in_warranty = ticket.verdict[0]
        if not ticket.in_warranty:
            ticket.estimate = Decimal(rng.randrange(80, 600, 10))

    def _investigate(self, ticket: Ticket, at: datetime, actor: int):
        rng = self.rng
        against = ticket.engineer if rng.random() < 0.1 else None
        ticket.complaint = [self.ids.take("complaint"), ticket.id, rng.choice(COMPLAINT_CLASSES), False,
                            "致歉并减免上门费", at + timedelta(hours=rng.randint(2, 20)), "已核实情况并与用户沟通",
                            "", 0, False, against, against is not None and rng.random() < 0.5, at, at]

    def _answer_at_intake(self, ticket: Ticket, at: datetime, actor: int):
        self._schedule_visit(ticket, at)

    def _schedule_installation(self, ticket: Ticket, at: datetime, actor: int):
        """R-INST-1/2: beyond the free distance the travel is charged, materials are the user's."""
        rng = self.rng
        ticket.mode = "onsite"
        km = ticket.customer[6]
        if km > self.free_km:
            ticket.fees.append(("travel", f"{km} km × ¥{self.km_rate}/km", money(km * self.km_rate)))
        if rng.random() < 0.25:
            ticket.fees.extend(("material", item, amount) for item, amount in rng.sample(MATERIALS, rng.randint(1, 2)))
        if not ticket.fees:
            return "agreed"
        self._pause(ticket, at, actor)
        return None

    def _answer_remotely(self, ticket: Ticket, at: datetime, actor: int):
        self._schedule_visit(ticket, at)

    def _propose(self, ticket: Ticket, at: datetime, actor: int):
        if ticket.kind in ("repair", "return_exchange") and ticket.in_warranty is False:  # R-WAR-3: itemised
            ticket.fees.append((None, "上门服务费", Decimal("50.00")))
            ticket.fees.append((None, "配件费", Decimal(self.rng.randrange(20, 400, 2))))
        self._pause(ticket, at, actor)

    def _agree(self, ticket: Ticket, at: datetime, actor: int):
        if ticket.paused:
            self._resume(ticket, at, actor)

    def _dispatch(self, ticket: Ticket, at: datetime, actor: int):
        low, high = GAPS["start_service"]
        ticket.assigned = ticket.engineer
        ticket.appointment = (at + timedelta(minutes=self.rng.uniform(low, high))).replace(second=0, microsecond=0)

    def _receive_mail_in(self, ticket: Ticket, at: datetime, actor: int):
        intact = self.rng.random() < 0.95
        ticket.mail_in = [self.ids.take("mail_in"), ticket.id, at, intact, "" if intact else "外箱破损，机身右侧有划痕",
                          not intact, "", None, "", "", at, at]

    def _start_service(self, ticket: Ticket, at: datetime, actor: int):
        return None

    def _test_mail_in(self, ticket: Ticket, at: datetime, actor: int):
        ticket.mail_in[6], ticket.mail_in[11] = "故障复现，确认为部件故障", at

    def _resolve(self, ticket: Ticket, at: datetime, actor: int):
        fitted = self._fit_parts(ticket, at)
        work = WORK_DONE["installation" if ticket.kind == "installation" else "repair"]
        report = ticket.report or [self.ids.take("service_report"), ticket.id, None, "", "", True, "", None, at, at]
        report[2], report[3], report[4] = ticket.assigned or actor, work, fitted
        report[6], report[7], report[9] = ticket.customer[1], at, at
        ticket.report = report
        self._schedule_visit(ticket, at)

    def _ship_back(self, ticket: Ticket, at: datetime, actor: int):
        self._fit_parts(ticket, at)
        mail = ticket.mail_in
        mail[7], mail[8], mail[11] = at, self.rng.choice(COURIERS), at
        mail[9] = f"SF{self.rng.randrange(10**11, 10**12)}"
        self._schedule_visit(ticket, at)

    def _settle(self, ticket: Ticket, at: datetime, actor: int):
        ticket.complaint[7], ticket.complaint[13] = "已致歉并减免上门费，用户接受", at
        self._schedule_visit(ticket, at)

    def _return_visit(self, ticket: Ticket, at: datetime, actor: int):
        """The center's call-back; an unsatisfied customer reopens the ticket (once here)."""
        rng = self.rng
        visit = ticket.visit
        score = rng.choices(SATISFACTION, SATISFACTION_WEIGHTS)[0]
        if score < self.satisfied_from and (ticket.kind not in REOPENABLE or ticket.reopened):
            score = rng.choice((3, 4, 5))
        visit[4], visit[5], visit[6], visit[7], visit[9] = at, score, COMMENTS[score], actor, at
        if score >= self.satisfied_from:
            return None
        ticket.reopened += 1
        if ticket.complaint is not None:
            ticket.complaint[8] += 1
            ticket.complaint[9] = ticket.complaint[8] > 1
            ticket.complaint[13] = at
        return "diagnosed"

    def _close(self, ticket: Ticket, at: datetime, actor: int):
        ticket.closed = at

    def _schedule_visit(self, ticket: Ticket, at: datetime) -> None:
        complaint = ticket.kind == "complaint"
        due = at + (self.complaint_visit_days if complaint else self.visit_days)
        ticket.visit = [self.ids.take("return_visit"), ticket.id, "complaint" if complaint else "service", due,
                        None, None, "", None, at, at]
        self.rows["return_visit"].append(ticket.visit)

    def _fit_parts(self, ticket: Ticket, at: datetime) -> str:
        """Parts fitted in a repair, each with its own warranty (R-WAR-2); under warranty its old
        part is owed to the center (R-PART-4: Books)."""
        rng = self.rng
        if ticket.kind not in ("repair", "return_exchange"):
            return ""
        choices = self.ref.parts_by_category.get(ticket.unit[2]["category"]) or []
        count = min(rng.choice((0, 1, 1, 2)), len(choices))
        day = local_day(at)
        names = []
        for part in rng.sample(choices, count):
            qty = 2 if rng.random() < 0.1 else 1
            on_account = ticket.in_warranty and rng.random() < 0.8
            settlement = "on_account" if on_account else "purchase"
            row = (self.ids.take("replaced_part"), ticket.id, ticket.unit[0], part["id"], qty, day,
                   add_months(day, self.part_months) - timedelta(days=1), settlement)
            self.rows["replaced_part"].append(row)
            ticket.parts.append(row)
            if ticket.in_warranty:
                self.run.books.fitted(ticket, row, len(ticket.parts), part, at)
            names.append(f"{part['code']} {part['name']} × {qty}")
        return "；".join(names)

    # -- the rows ------------------------------------------------------------------------------------
    def _rows(self, ticket: Ticket, registrar: int, repeat_of: int | None) -> None:
        rng, rows = self.rng, self.rows
        customer, unit = ticket.customer, ticket.unit
        in_warranty, window, code, params = ticket.verdict
        fault, cause, remedy = ticket.codes or (None, None, None)
        diagnosed = ticket.status != "registered"
        rows["ticket"].append((
            ticket.id, ticket.number, ticket.kind, ticket.channel, ticket.category, ticket.status, ticket.fault,
            ticket.created - timedelta(minutes=rng.randint(60, 2880)), customer[1], customer[2], customer[3],
            customer[0], unit[0], ticket.outlet.id, ticket.assigned, registrar, ticket.closed, customer[5],
            in_warranty, window, code, params, ticket.exclusion,
            routing.queue_for(ticket.kind, ticket.category, unit[2]["category"]), repeat_of,
            ticket.mode if diagnosed else None, ticket.severity, fault, cause, remedy,
            ticket.causal_part["id"] if ticket.causal_part else None, "", ticket.estimate, ticket.appointment,
            ticket.updates, ticket.created, ticket.last))
        rows["ticket_clock"].extend(ticket.clocks)
        ids = self.ids
        rows["ticket_fee"].extend((ids.take("ticket_fee"), ticket.id, kind, item, amount)
                                  for kind, item, amount in ticket.fees)
        if ticket.report:
            rows["service_report"].append(ticket.report)
        if ticket.mail_in:
            rows["mail_in"].append(ticket.mail_in)
        if ticket.complaint:
            rows["complaint"].append(ticket.complaint)


# --- the network's books: old parts, parts accounts and ledger, fee claims, appraisals, sales ------

BOOK_COLUMNS = {
    "parts_return": ("id", "outlet_id", "status", "note", "on_paper", "decided_by_id", "decided_at", "refusal_reason",
                     "courier", "tracking_no", "shipped_by_id", "shipped_at", "created_by_id", "received_by_id",
                     "received_at", "freight", "inspected_by_id", "inspected_at", "version_id", "created_at",
                     "updated_at"),
    "old_part": ("id", "replaced_part_id", "tag", "ticket_id", "outlet_id", "part_id", "qty", "unit_price",
                 "replaced_on", "state", "exemption", "needs_verification", "return_id", "received_qty",
                 "non_creditable", "decision_note", "returned_on", "returned_late", "send_back_courier",
                 "send_back_tracking_no", "created_at", "updated_at"),
    "parts_return_line": ("id", "return_id", "outlet_id", "old_part_id", "struck", "strike_reason"),
    "parts_account": ("id", "outlet_id", "balance", "quota", "created_at", "updated_at"),
    "parts_request": ("id", "number", "outlet_id", "week_start", "batch_no", "status", "note", "exception_reason",
                      "requested_by_id", "reviewed_by_id", "reviewed_at", "courier", "tracking_no", "shipped_at",
                      "delivered_at", "delivery_note", "rejection_reason", "resolution_note", "reship_courier",
                      "reship_tracking_no", "freight", "version_id", "created_at", "updated_at"),
    "parts_request_line": ("id", "request_id", "part_id", "gas_type", "qty", "urgent", "unit_price", "settlement"),
    "ledger_entry": ("id", "account_id", "outlet_id", "kind", "delta", "cash_amount", "balance_after", "part_id",
                     "qty", "source", "reason", "actor_id", "at"),
    "fee_batch": ("id", "outlet_id", "month", "claims_total", "charge_backs_total", "net", "created_by_id",
                  "created_at", "updated_at"),
    "fee_claim": ("id", "number", "ticket_id", "outlet_id", "status", "remedy_code_id", "labor_hours", "labor_rate",
                  "labor_amount", "distance_km", "travel_band_km", "travel_amount", "parts_amount", "claimed_total",
                  "approved_total", "audit_note", "audited_by_id", "audited_at", "batch_id", "overcharge",
                  "charge_back", "charge_back_note", "version_id", "created_at", "updated_at"),
    "fee_claim_part": ("id", "claim_id", "replaced_part_id", "part_id", "qty", "unit_price", "amount", "basis"),
    "model_sales": ("id", "product_model_id", "month", "units", "created_at", "updated_at"),
    "appraisal_record": ("id", "staff_id", "period_kind", "period_start", "conduct", "diligence", "ability", "results",
                         "commendation", "penalty", "note", "scored_by_id", "acknowledged_at", "created_at",
                         "updated_at"),
    "appraisal_deduction": ("id", "record_id", "dimension", "points", "reason"),
}
ZERO = Decimal("0.00")


def _utc(day: date, hour: float) -> datetime:
    """A service-local day and hour as naive UTC."""
    return datetime.combine(day, datetime.min.time()) + timedelta(hours=hour) - LOCAL


def _month_after(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _ship_day(day: date) -> date:
    """Old parts go back twice a week, on the first Monday or Thursday after the day they came out."""
    day += timedelta(days=1)
    while day.weekday() not in (0, 3):
        day += timedelta(days=1)
    return day


class Books:
    """Everything the tickets leave in the network's books, made once every chunk is written."""

    def __init__(self, run: Run):
        self.run, self.rng, self.ids, self.now = run, run.rng, run.ids, run.now
        self.policy = run.ref.policy
        self.sales: Counter = Counter()
        self.fitted_parts: list = []
        self.claim_specs: list = []
        self.rows: dict[str, list] = defaultdict(list)
        self.events: dict[int, list] = defaultdict(list)  # outlet id -> ledger movements
        self.settled_at: dict[int, tuple] = {}  # replaced part id -> (state, when) of its old part

    # -- what the tickets report --------------------------------------------------------------------
    def sold(self, model_id: int, invoice: date) -> None:
        self.sales[model_id, invoice.replace(day=1)] += 1

    def fitted(self, ticket: Ticket, row: tuple, position: int, part: dict, at: datetime) -> None:
        self.fitted_parts.append((row, ticket.id, ticket.number, position, ticket.outlet, part, at))

    def claimable(self, ticket: Ticket) -> None:
        remedy = ticket.codes[2] if ticket.codes else None
        self.claim_specs.append((ticket.id, ticket.number, ticket.outlet.id, ticket.resolved, remedy,
                                 ticket.customer[6], tuple(ticket.parts)))

    # -- the books ------------------------------------------------------------------------------------
    def build(self) -> None:
        network = self.run.network
        self.clerks, self.manager = network.clerks, network.manager
        self._old_parts()
        self._accounts()
        self._claims()
        self._sales()
        self._appraisals()
        for table, columns in BOOK_COLUMNS.items():
            self.run.sink.write(table, columns, self.rows[table])

    def _old_parts(self) -> None:
        """R-PART-4…6, R-PART-9: each old part of a warranty repair is owed; cheap, consumable and
        fragile ones are scrapped locally and credited once verified; the others go back in the
        outlet's twice-weekly parcel, are counted and inspected, then credited (a few charged)."""
        cycle = timedelta(days=int(self.policy["parts.return_cycle_days"]))
        parcels: dict[tuple, list] = defaultdict(list)
        for spec in self.fitted_parts:
            row, ticket_id, number, position, outlet, part, at = spec
            qty, day = row[4], row[5]
            exemption = ("cheap" if part["unit_price"] < self.policy["parts.scrap_price_below"]
                         and qty <= self.policy["parts.scrap_qty_max"] else
                         "consumable" if part["consumable"] else "fragile" if part["fragile"] else "")
            old = [self.ids.take("old_part"), row[0], f"JT{number[2:]}-{position}", ticket_id, outlet.id, part["id"],
                   qty, part["unit_price"], day, "owed", exemption, bool(exemption), None, None, None, "", None,
                   False, "", "", at, at]
            self.rows["old_part"].append(old)
            if exemption:
                verified = at + timedelta(days=self.rng.uniform(3, 10))
                if verified <= self.now:
                    self._settle(old, row, outlet, verified, charged=False)
                else:
                    old[9] = "scrap_local"
                continue
            ship = _ship_day(day) + (timedelta(days=7) if self.rng.random() < 0.08 else timedelta(0))
            parcels[outlet.id, ship].append((old, row, outlet))
        for (_outlet_id, ship), olds in sorted(parcels.items()):
            self._parcel(ship, olds, cycle)

    def _parcel(self, ship: date, olds: list, cycle: timedelta) -> None:
        rng, now = self.rng, self.now
        outlet = olds[0][2]
        applied = _utc(ship - timedelta(days=1), rng.uniform(9, 17))
        if applied > now:
            return  # still owed, on no application yet
        authorised, shipped = applied + timedelta(hours=rng.uniform(1, 6)), _utc(ship, rng.uniform(14, 17))
        received = shipped + timedelta(days=rng.uniform(1.5, 3))
        inspected = received + timedelta(days=rng.uniform(0.5, 3))
        steps = [("requested", applied), ("authorised", authorised), ("shipped", shipped),
                 ("received", received), ("inspected", inspected)]
        status, last = next((s, at) for s, at in reversed(steps) if at <= now)
        parcel_id = self.ids.take("parts_return")
        clerk = rng.choice(self.clerks)
        done = {s for s, at in steps if at <= now}
        self.rows["parts_return"].append((
            parcel_id, outlet.id, status, "保修旧件返还", False, clerk if "authorised" in done else None,
            authorised if "authorised" in done else None, "",
            rng.choice(COURIERS) if "shipped" in done else "",
            f"SF{rng.randrange(10**11, 10**12)}" if "shipped" in done else "",
            outlet.dealer_id if "shipped" in done else None, shipped if "shipped" in done else None, outlet.dealer_id,
            clerk if "received" in done else None, received if "received" in done else None,
            money(rng.randint(10, 40)) if "received" in done else None, clerk if status == "inspected" else None,
            inspected if status == "inspected" else None, len(done), applied, last))
        for old, row, _outlet in olds:
            old[12] = parcel_id
            self.rows["parts_return_line"].append((self.ids.take("parts_return_line"), parcel_id, outlet.id, old[0],
                                                   False, ""))
            if "shipped" in done:
                old[9], old[16], old[17] = "in_return", ship, ship - old[8] > cycle
                old[21] = shipped
            if "received" in done:
                old[13] = old[6]
            if status == "inspected":
                self._settle(old, row, outlet, inspected, charged=rng.random() < 0.03)

    def _settle(self, old: list, row: tuple, outlet: Outlet, at: datetime, *, charged: bool) -> None:
        """Credited or charged once (backoffice.old_parts.settle); a part bought for cash moves no balance."""
        old[9], old[21] = ("charged" if charged else "credited"), at
        if charged:
            old[14], old[15] = "human_damage", "外壳摔裂，非质量问题"
        self.settled_at[row[0]] = (old[9], at)
        if row[7] != "on_account":
            return
        rate = Decimal(1) if not old[17] else min(max(self.policy["parts.late_return_credit_rate"], ZERO), Decimal(1))
        value = money(old[7] * old[6])
        credited = ZERO if charged else money(value * rate)
        self.events[outlet.id].append((at, 2, "credit", (old, credited, value - credited)))

    def _accounts(self) -> None:
        """R-PART-2/3/8: one account per dealer outlet; its quota granted each year; each week the
        parts fitted on account are restocked by a request (on account while the balance allows,
        else bought); old parts credited or charged; every movement one entry, balance after it."""
        run = self.run
        for outlet in run.network.outlets:
            self._requests(outlet)
        for outlet in run.network.outlets:
            account_id = self.ids.take("parts_account")
            opened = run.network.staff_created + timedelta(hours=1)
            quota = ZERO
            for year in range(run.years):
                at = opened + timedelta(days=365 * year)
                if at <= self.now:
                    target = money(_grown(outlet.purchases, year) * self.policy["parts.quota_rate"])
                    self.events[outlet.id].append((at, 0, "quota", (account_id, quota, target)))
                    quota = target
            balance = self._post(outlet, account_id)
            self.rows["parts_account"].append((account_id, outlet.id, balance, quota, opened, self.now))

    def _requests(self, outlet: Outlet) -> None:
        rng, now = self.rng, self.now
        weeks: dict[date, Counter] = defaultdict(Counter)
        for row, _ticket_id, _number, _position, owner, part, _at in self.fitted_parts:
            if owner is outlet and row[7] == "on_account":
                weeks[row[5] - timedelta(days=row[5].weekday())][part["id"]] += row[4]
        parts = self.run.ref.parts
        for week, counts in sorted(weeks.items()):
            start = week + timedelta(days=7)
            submitted = _utc(start, rng.uniform(9, 12))
            if submitted > now:
                continue
            reviewed = submitted + timedelta(hours=rng.uniform(2, 8))
            shipped = reviewed + timedelta(hours=rng.uniform(18, 30))
            delivered = shipped + timedelta(days=rng.uniform(1, 3))
            steps = [("submitted", submitted), ("reviewed", reviewed), ("shipped", shipped), ("delivered", delivered)]
            status, last = next((s, at) for s, at in reversed(steps) if at <= now)
            request_id, clerk = self.ids.take("parts_request"), rng.choice(self.clerks)
            done = {s for s, at in steps if at <= now}
            freight = money(rng.randint(8, 30)) if rng.random() < 0.6 else ZERO
            request = (request_id, f"PJ-{outlet.code}-{start:%G}W{start:%V}-1", outlet.id, start, 1, status,
                       "保修周转配件补货", "", outlet.dealer_id, clerk if "reviewed" in done else None,
                       reviewed if "reviewed" in done else None, rng.choice(COURIERS) if "shipped" in done else "",
                       f"SF{rng.randrange(10**11, 10**12)}" if "shipped" in done else "",
                       shipped if "shipped" in done else None, delivered if "delivered" in done else None,
                       "", "", "", "", "", freight if "shipped" in done else None, len(done), submitted, last)
            self.rows["parts_request"].append(request)
            lines = []
            for part_id, qty in sorted(counts.items()):
                part = parts[part_id]
                line = [self.ids.take("parts_request_line"), request_id, part_id, part["gas_type"], qty, False,
                        part["unit_price"], None]
                self.rows["parts_request_line"].append(line)
                lines.append(line)
            if "reviewed" in done:
                self.events[outlet.id].append((reviewed, 1, "review", (request, lines, clerk)))
            if "shipped" in done and freight:
                self.events[outlet.id].append((shipped, 1, "freight", (request, freight, clerk)))

    def _post(self, outlet: Outlet, account_id: int) -> Decimal:
        """The outlet's movements in time order, each an entry with the balance after it."""
        balance = ZERO
        entries = self.rows["ledger_entry"]

        def entry(kind, delta, cash, part_id, qty, source, reason, actor, at):
            nonlocal balance
            balance += delta
            entries.append((self.ids.take("ledger_entry"), account_id, outlet.id, kind, delta, cash, balance,
                            part_id, qty, source, reason, actor, at))

        for at, _order, kind, payload in sorted(self.events.pop(outlet.id, []), key=lambda e: (e[0], e[1])):
            if kind == "quota":
                _account, before, target = payload
                source = f"quota:{account_id}:{at.replace(tzinfo=UTC).isoformat()}"
                entry("quota", target - before, ZERO, None, None, source, f"{before} → {target}", self.manager, at)
            elif kind == "review":
                request, lines, clerk = payload
                for line in lines:
                    amount = money(line[6] * line[4])
                    line[7] = "on_account" if balance >= amount else "purchase"
                    on_account = line[7] == "on_account"
                    entry("issue" if on_account else "purchase", -amount if on_account else ZERO,
                          ZERO if on_account else amount, line[2], line[4], f"parts_request_line:{line[0]}",
                          request[1], clerk, at)
            elif kind == "freight":
                request, freight, clerk = payload
                entry("freight", ZERO, freight, None, None, f"parts_request:{request[0]}:freight",
                      f"{request[1]} {request[11]} {request[12]}", clerk, at)
            else:
                old, credited, charged = payload
                reason = f"{old[2].replace('JT', 'SV', 1).rsplit('-', 1)[0]}"
                if credited:
                    entry("return_credit", credited, ZERO, old[5], old[13] or old[6], f"old_part:{old[0]}:credit",
                          reason, self.rng.choice(self.clerks), at)
                if charged:
                    entry("charge", charged, charged, old[5], old[6], f"old_part:{old[0]}:charge",
                          f"{reason} {old[15]}", self.rng.choice(self.clerks), at)
        return balance

    def _claims(self) -> None:
        """R-FEE-1/2: the outlets claim their resolved warranty services; the center audits them
        (approval once the old parts are back) and settles each month's approved claims."""
        rng, now = self.rng, self.now
        rate = money(self.policy["fees.labor_rate_per_hour"])
        default_hours = money(self.policy["fees.default_hours"])
        hours_of = self.run.ref.standard_hours
        batches: dict[tuple, list] = {}
        claims = []
        for ticket_id, number, outlet_id, resolved, remedy, km, parts in self.claim_specs:
            created = resolved + timedelta(hours=rng.uniform(2, 30))
            if created > now:
                continue
            hours = hours_of.get(remedy, default_hours)
            band, travel = self.run.ref.travel(km)
            lines, parts_amount = [], ZERO
            for row in parts:
                part = self.run.ref.parts[row[3]]
                state = self.settled_at.get(row[0], ("owed", None))
                basis = "on_account" if row[7] == "on_account" else \
                    "not_creditable" if state[0] == "charged" else "purchase"
                amount = money(part["unit_price"] * row[4]) if basis == "purchase" else ZERO
                parts_amount += amount
                lines.append([None, None, row[0], row[3], row[4], part["unit_price"], amount, basis])
            labor = money(hours * rate)
            total = labor + travel + parts_amount
            claim = [self.ids.take("fee_claim"), f"FW{number[2:]}", ticket_id, outlet_id, "claimed", remedy, hours,
                     rate, labor, km, band, travel, parts_amount, total, None, "", None, None, None, ZERO, ZERO, "", 1,
                     created, created]
            self._audit(claim, parts, created)
            if claim[4] in ("approved", "adjusted"):
                month = local_day(claim[17]).replace(day=1)
                settle_at = _utc(_month_after(month) + timedelta(days=3), 10)
                if settle_at <= now:
                    batches.setdefault((outlet_id, month), [settle_at]).append(claim)
            claims.append((claim, lines))
        for (outlet_id, month), (settle_at, *settled) in sorted(batches.items()):
            batch_id = self.ids.take("fee_batch")
            total = sum((c[14] for c in settled), ZERO)
            self.rows["fee_batch"].append((batch_id, outlet_id, month, total, ZERO, total, self.manager, settle_at,
                                           settle_at))
            for claim in settled:
                claim[4], claim[18], claim[22], claim[24] = "settled", batch_id, claim[22] + 1, settle_at
        for claim, lines in claims:
            self.rows["fee_claim"].append(claim)
            for line in lines:
                line[0], line[1] = self.ids.take("fee_claim_part"), claim[0]
                self.rows["fee_claim_part"].append(line)

    def _audit(self, claim: list, parts: tuple, created: datetime) -> None:
        rng = self.rng
        at = created + timedelta(days=rng.uniform(1, 7))
        back = [self.settled_at.get(row[0]) for row in parts]  # every part of a warranty ticket is owed
        pending = any(state is None or state[0] not in ("credited", "charged") for state in back)
        draw = rng.random()
        if draw < 0.85 and not pending:  # R-FEE-3: approved once every old part is back
            at = max([at] + [state[1] + timedelta(hours=rng.uniform(1, 48)) for state in back])
            decision = ("approved", claim[13], "单据齐全，照片与旧件已核")
        elif draw < 0.93:
            cut = claim[13] - claim[11] if claim[11] > 0 else money(claim[13] * Decimal("0.8"))
            decision = ("adjusted", cut, "路程按导航距离核减：差旅费按上一档计")
        elif draw < 0.97:
            decision = ("rejected", ZERO, "服务单无用户签字，照片缺失")
        else:
            return  # waiting for audit
        if at > self.now:
            return
        claim[4], claim[14], claim[15] = decision
        claim[16], claim[17], claim[22], claim[24] = rng.choice(self.clerks), at, 2, at

    def _sales(self) -> None:
        """R-RPT-1: units sold per model and month network-wide, the quality report's base: many
        more than the units that come to service; months already on record are left as they are."""
        sales = db.metadata.tables["model_sales"]
        have = set(self.run.connection.execute(sa.select(sales.c.product_model_id, sales.c.month)).all())
        this_month = local_day(self.now).replace(day=1)
        for (model_id, month), count in sorted(self.sales.items()):
            if month <= this_month and (model_id, month) not in have:
                at = _utc(_month_after(month), 9)
                at = min(at, self.now)
                self.rows["model_sales"].append((self.ids.take("model_sales"), model_id, month,
                                                 count * 12 + self.rng.randint(0, 40), at, at))

    def _appraisals(self) -> None:
        """R-APR-1: each engineer's monthly appraisal of every month gone by, and the year-end
        appraisal of every year gone by, scored by the center's manager (德 勤 能 绩)."""
        run = self.run
        first = local_day(run.start).replace(day=1)
        this_month = local_day(self.now).replace(day=1)
        months = []
        while first < this_month:
            months.append(first)
            first = _month_after(first)
        years = sorted({m.year for m in months if date(m.year, 12, 1) in months})
        for engineer in sorted(run.network.engineer_outlet):
            for month in months:
                self._appraisal(engineer, "monthly", month, _month_after(month), "月度考核")
            for year in years:
                self._appraisal(engineer, "year_end", date(year, 1, 1), date(year + 1, 1, 1), "年终考核")

    def _appraisal(self, staff: int, kind: str, start: date, end: date, note: str) -> None:
        rng = self.rng
        record_id = self.ids.take("appraisal_record")
        scores = []
        for name, maximum in MAXIMA.items():
            lost = Decimal(rng.choice((0, 0, 0, 0, 0.5, 1, 1.5, 2, 3)))
            scores.append(Decimal(maximum) - lost)
            if lost:
                self.rows["appraisal_deduction"].append((self.ids.take("appraisal_deduction"), record_id, name, lost,
                                                         DEDUCTIONS[name]))
        commendation = Decimal(rng.choice((0, 0, 0, 0, 2)))
        scored = min(_utc(end, 10 + rng.uniform(0, 72)), self.now)
        acknowledged = scored + timedelta(days=rng.uniform(1, 10))
        self.rows["appraisal_record"].append((
            record_id, staff, kind, start, *scores, commendation, ZERO,
            note + ("；用户来信表扬，嘉奖加分" if commendation else ""), self.manager,
            acknowledged if acknowledged <= self.now else None, scored, scored))
