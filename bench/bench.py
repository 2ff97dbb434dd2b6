"""The benchmark of issue 16: our pages against stock Flask-Admin and a lean keyset page.

    .venv/bin/python bench/bench.py --database-url URL [--label 1M] [--runs 30] [--seconds 10]
                                    [--budget 60] [--out bench/RESULTS.md]

Why this shape: the product must be measured as users meet it — under gunicorn, signed in, with
the row scope — next to references on the same app, data and login: a stock Flask-Admin
`ModelView` of the tickets and a lean hand-written keyset page (views/bench.py, mounted only in
bench mode). The server reports its own SQL statements and time per request (Server-Timing,
backoffice/bench_timing.py), so a slow page says whether the database or Python is to blame.

What it does: VACUUM ANALYZE; find real users and values in the database (the gen-load
manager, the dealer of the biggest outlet, a clerk, an engineer, a real ticket's number, phone
and customer name); read the scenario URLs from the app itself (sort indexes and filter
arguments change with the views); start gunicorn (2 sync workers) in bench mode on a free port;
then per scenario 2 warm-ups, --runs sequential requests with one client (stopping early, after
3, once --budget seconds are spent) and --seconds of 4 concurrent clients. Exports are streamed
and measured apart: time, statements (from the server's log line at the end of the stream),
rows, and the worker's peak memory growth (/proc VmHWM, reset before each export). The table is
printed and bench/RESULTS.md is rewritten with this label's section (bench/results_file.py).
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import math
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import results_file  # noqa: E402  (bench/, beside this file)
from sqlalchemy import create_engine, text  # noqa: E402

WORKERS = 2
CLIENTS = 4
WARMUPS = 2
MIN_RUNS = 3
EXPORT_RUNS = 3
EXPORT_ROWS = 100_000  # the CSV export's cap for the run (EXPORT_STREAM_MAX_ROWS)
DEEP_PAGE = 500  # 1-based: rows 9,981-10,000 at 20 a page
PAGE_SIZE = 20
REQUEST_TIMEOUT = 600
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TIMING_RE = re.compile(r'sql;dur=([\d.]+);desc="(\d+) statements", app;dur=([\d.]+)')
STREAM_RE = re.compile(r"bench-request id=(\S+) pid=(\d+) statements=(\d+) sql_ms=([\d.]+) total_ms=([\d.]+)")


class BenchError(RuntimeError):
    """The benchmark cannot go on (no server, no such user …): said plainly, no traceback."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the database: facts, users and real values -------------------------------------------------

@dataclass
class DataSet:
    """What the scenarios need from the data: who signs in, what they look for."""

    tickets: int
    database: str
    manager: str
    clerk: str
    engineer: str
    dealer: str
    outlet: str
    outlet_tickets: int
    ticket: dict
    status: str
    parts_account: int | None
    schema: str  # the database's migration, and whether it is the latest
    cursors: dict = field(default_factory=dict)  # lean keyset cursor before page 2 / the deep page


FIRST_GEN_LOAD = "CASE WHEN username LIKE 'lg%' THEN 0 ELSE 1 END"


def _one(conn, sql: str, **params):
    return conn.execute(text(sql), params).first()


def _user(conn, role: str, prefer_outlet: int | None = None) -> str:
    found = _one(conn, f"""SELECT username FROM user_account WHERE role = :role AND active
                          ORDER BY CASE WHEN outlet_id = :outlet THEN 0 ELSE 1 END, {FIRST_GEN_LOAD}, id DESC
                          LIMIT 1""", role=role, outlet=prefer_outlet or -1)
    if found is None:
        raise BenchError(f"no active {role} in the database: run `flask gen-load` first")
    return found[0]


def _biggest_dealer(conn):
    """The dealer whose outlet has the most tickets (gen-load's dealer_of_biggest)."""
    found = _one(conn, """SELECT u.username, o.id, o.code, t.n FROM user_account u
                          JOIN outlet o ON o.id = u.outlet_id
                          JOIN (SELECT outlet_id, COUNT(*) AS n FROM ticket GROUP BY outlet_id) t
                            ON t.outlet_id = u.outlet_id
                          WHERE u.role = 'dealer' AND u.active ORDER BY t.n DESC, u.id LIMIT 1""")
    if found is None:
        raise BenchError("no dealer with tickets: run `flask gen-load` first")
    return found


def _sample_ticket(conn) -> dict:
    """A real ticket from the middle of the table, with its customer's phone and name."""
    found = _one(conn, """SELECT t.id, t.number, c.phone, c.name FROM ticket t JOIN customer c ON c.id = t.customer_id
                          WHERE t.id >= (SELECT (MIN(id) + MAX(id)) / 2 FROM ticket) ORDER BY t.id LIMIT 1""")
    return {"id": found[0], "number": found[1], "phone": found[2], "name": found[3]}


def _cursor_before(conn, row: int) -> str | None:
    """The lean page's `after` cursor that starts at `row` (1-based) of the newest-first list."""
    found = _one(conn, "SELECT created_at, id FROM ticket ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET :skip",
                 skip=row - 2)
    return f"{found[0].replace(tzinfo=UTC).isoformat()},{found[1]}" if found else None


def schema_state(conn) -> str:
    """The database's Alembic revision against the migrations' head: a page of an older schema
    fails (a table it needs is missing), so the table must say so."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    found = _one(conn, "SELECT version_num FROM alembic_version")
    revision = found[0] if found else "none"
    if revision in heads:
        return f"{revision} (latest)"
    log(f"WARNING: the database is at migration {revision}, the code at {', '.join(sorted(heads))}: "
        "run `flask db upgrade` on it, or pages that need the newer schema fail")
    return f"{revision}, NOT the latest ({', '.join(sorted(heads))})"


def read_dataset(url: str) -> DataSet:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            dealer, outlet_id, outlet_code, outlet_tickets = _biggest_dealer(conn)
            version = conn.exec_driver_sql("SHOW server_version").scalar() if engine.dialect.name == "postgresql" \
                else conn.exec_driver_sql("SELECT sqlite_version()").scalar()
            status = _one(conn, """SELECT status FROM ticket WHERE status <> 'closed' GROUP BY status
                                   ORDER BY COUNT(*) DESC LIMIT 1""")
            account = _one(conn, """SELECT account_id FROM ledger_entry GROUP BY account_id
                                    ORDER BY COUNT(*) DESC LIMIT 1""")
            return DataSet(
                tickets=conn.execute(text("SELECT COUNT(*) FROM ticket")).scalar(),
                database=f"{engine.dialect.name} {version}",
                manager=_user(conn, "manager"), clerk=_user(conn, "clerk"),
                engineer=_user(conn, "engineer", outlet_id), dealer=dealer, outlet=outlet_code,
                outlet_tickets=outlet_tickets, ticket=_sample_ticket(conn),
                status=status[0] if status else "registered", parts_account=account[0] if account else None,
                schema=schema_state(conn),
                cursors={"page2": _cursor_before(conn, PAGE_SIZE + 1),
                         "deep": _cursor_before(conn, (DEEP_PAGE - 1) * PAGE_SIZE + 1)})
    finally:
        engine.dispose()


def vacuum_analyze(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    started = time.perf_counter()
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "VACUUM")
            if engine.dialect.name != "postgresql":
                conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    log(f"VACUUM ANALYZE done in {time.perf_counter() - started:.0f} s")


def machine(dataset: DataSet) -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    total = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
    return {"cpus": os.cpu_count(), "cpu_model": model.group(1).strip() if model else "unknown",
            "ram_gb": round(int(total.group(1)) / 1024 / 1024, 1) if total else None, "database": dataset.database}


# --- the scenarios: URLs read from the app's own views ------------------------------------------

@dataclass
class Scenario:
    key: str  # stable across runs and sizes (the growth table joins on it)
    title: str
    user: str  # manager, clerk, engineer or dealer
    url: str
    stock: str | None = None
    lean: str | None = None
    export: bool = False


def _views(url: str) -> dict:
    """The app's admin views by endpoint, built in bench mode as the server builds them."""
    from backoffice import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "BENCH": True, "SECRET_KEY": secrets.token_hex(16)})
    admins = app.extensions["admin"]
    admin = admins[0] if isinstance(admins, list) else admins
    return {view.endpoint: view for view in admin._views}


def sortable(view) -> dict[str, int]:
    """Sortable list columns and the `sort=` index of each (their position in the list)."""
    return {name: index for index, (name, _label) in enumerate(view._list_columns) if name in view._sortable_columns}


def status_filter(view, value: str) -> str:
    """`flt0_<arg>=<value>` of the view's equality filter on the status column."""
    from flask_admin.contrib.sqla.filters import FilterEqual

    found = [(arg, flt) for arg, (_index, flt) in view._filter_args.items()
             if getattr(getattr(flt, "column", None), "key", None) == "status"]
    if not found:
        raise BenchError(f"{view.endpoint}: no status filter")
    arg = next((a for a, flt in found if isinstance(flt, FilterEqual)), found[0][0])
    return f"flt0_{arg}={value}"


def _q(**params) -> str:
    return "?" + urlencode({k: v for k, v in params.items() if v is not None})


def list_scenarios(ours, stock, data: DataSet) -> list[Scenario]:
    mine, base, lean = f"{ours.url}/", f"{stock.url}/", "/bench/lean/tickets"
    t, status = data.ticket, data.status
    ours_status, stock_status = status_filter(ours, status), status_filter(stock, status)
    found = [
        Scenario("list.page1", "Ticket list, page 1", "manager", mine, base, lean),
        Scenario("list.page2", "Ticket list, page 2", "manager", mine + _q(page=1), base + _q(page=1),
                 lean + _q(after=data.cursors["page2"])),
        Scenario("list.deep", f"Deep page ({DEEP_PAGE}: rows {(DEEP_PAGE - 1) * PAGE_SIZE + 1:,}–"
                 f"{DEEP_PAGE * PAGE_SIZE:,})", "manager", mine + _q(page=DEEP_PAGE - 1),
                 base + _q(page=DEEP_PAGE - 1), lean + _q(after=data.cursors["deep"])),
        Scenario("search.phone", "Search by phone", "manager", mine + _q(search=t["phone"]),
                 base + _q(search=t["phone"]), lean + _q(phone=t["phone"])),
        Scenario("search.number", "Search by ticket number", "manager", mine + _q(search=t["number"]),
                 base + _q(search=t["number"])),
        Scenario("search.name", "Search by customer name", "manager", mine + _q(search=t["name"]),
                 base + _q(search=t["name"])),
        Scenario("filter.status", f"Filter by status ({status})", "manager", f"{mine}?{ours_status}",
                 f"{base}?{stock_status}", lean + _q(status=status)),
    ]
    stock_sorts = sortable(stock)
    for name, index in sortable(ours).items():
        found.append(Scenario(f"sort.{name}", f"Sort by {name}", "manager", mine + _q(sort=index),
                              base + _q(sort=stock_sorts[name]) if name in stock_sorts else None))
    found += [
        Scenario("dealer.list", "Dealer's list (biggest outlet)", "dealer", mine, base, lean),
        Scenario("dealer.status", f"Dealer + status ({status})", "dealer", f"{mine}?{ours_status}",
                 f"{base}?{stock_status}", lean + _q(status=status)),
    ]
    return found


def page_scenarios(views: dict, data: DataSet) -> list[Scenario]:
    ours = views["ticket"]
    found = [Scenario("details", "Ticket details", "manager", f"{ours.url}/details/?id={data.ticket['id']}")]
    found += [Scenario(f"home.{role}", f"Home page ({role})", role, "/admin/")
              for role in ("manager", "clerk", "engineer", "dealer")]
    found.append(Scenario("report.quality", "Monthly quality report", "manager", f"{views['quality_report'].url}/"))
    if data.parts_account:
        found.append(Scenario("parts.statement", "Parts statement (busiest outlet)", "manager",
                              f"{views['parts_account'].url}/details/?id={data.parts_account}"))
    approvals = views["approval"]
    queue = approvals.queue_url("mine_to_decide") if hasattr(approvals, "queue_url") else f"{approvals.url}/"
    found.append(Scenario("approvals.queue", "Approvals queue", "manager", queue))
    return found


def export_scenarios(ours, stock) -> list[Scenario]:
    return [Scenario("export.csv", "CSV export", "manager", f"{ours.url}/export/csv/", f"{stock.url}/export/csv/",
                     export=True),
            Scenario("export.xlsx", "XLSX export", "manager", f"{ours.url}/export/xlsx/", export=True)]


def scenarios(url: str, data: DataSet) -> list[Scenario]:
    views = _views(url)
    ours, stock = views["ticket"], views["stock_ticket"]
    return list_scenarios(ours, stock, data) + page_scenarios(views, data) + export_scenarios(ours, stock)


# --- the server ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn in bench mode on a free port; its log is kept for the streams' closing lines."""

    def __init__(self, database_url: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        handle, self.log_path = tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")
        os.close(handle)
        env = dict(os.environ, BACKOFFICE_BENCH="1", DATABASE_URL=database_url, SECRET_KEY=secrets.token_hex(32),
                   EXPORT_STREAM_MAX_ROWS=str(EXPORT_ROWS))
        command = [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--worker-class", "sync",
                   "--timeout", "120", "--bind", f"127.0.0.1:{self.port}", "app:app"]
        with open(self.log_path, "w") as out:  # the server keeps its own descriptor of it
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise

    def _wait(self, seconds: int = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.base}/login", timeout=5).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or still booting its workers
                pass
            time.sleep(0.5)
        raise BenchError(f"gunicorn did not answer within {seconds} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(Path(self.log_path).read_text(errors="replace").splitlines()[-lines:])

    def workers(self) -> list[int]:
        """The worker processes (children of the gunicorn master)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                found.append(int(stat.parent.name))
        return found

    def fresh_workers(self, warm_url: str, client: Client, seconds: int = 60) -> None:
        """Replace the workers (SIGHUP) and warm both on `warm_url`: an export's memory growth
        is then its own, not hidden by what earlier requests left in a worker's heap."""
        old = set(self.workers())
        self.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + seconds
        while not (len(now := set(self.workers())) == WORKERS and not now & old):
            if time.monotonic() > deadline:
                raise BenchError(f"gunicorn did not replace its workers:\n{self.log_tail()}")
            time.sleep(0.2)
        for _ in range(2):  # two at once: each busy sync worker leaves the other to the other client
            threads = [threading.Thread(target=client.sample, args=(warm_url, client.clone())) for _ in range(WORKERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

    def log_size(self) -> int:
        return Path(self.log_path).stat().st_size

    def failure(self, exc: Exception, since: int) -> str:
        """How a request failed, for the table: a worker killed at the timeout (the log says so
        after `since`), or the error's name."""
        with open(self.log_path, "rb") as log_file:
            log_file.seek(since)
            killed = b"WORKER TIMEOUT" in log_file.read()
        return "killed at 120 s timeout" if killed else f"error: {type(exc).__name__}"

    def stream_stats(self, bench_id: str, seconds: float = 10) -> dict | None:
        """The closing log line of a streamed response: its final statements and times."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for match in STREAM_RE.finditer(Path(self.log_path).read_text(errors="replace")):
                if match.group(1) == bench_id:
                    return {"pid": int(match.group(2)), "statements": int(match.group(3)),
                            "sql_ms": float(match.group(4)), "server": float(match.group(5))}
            time.sleep(0.2)
        return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.unlink(self.log_path)


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident size) of a process, in kB."""
    found = re.findall(r"^(VmRSS|VmHWM):\s*(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    return {key: int(value) for key, value in found}


def reset_peaks(pids: list[int]) -> dict[int, int]:
    """Reset each worker's peak (clear_refs 5) and return its resident size now, in kB."""
    before = {}
    for pid in pids:
        with contextlib.suppress(OSError):  # else the peak counts from the worker's start: an upper bound
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        before[pid] = memory_kb(pid)["VmRSS"]
    return before


# --- clients and samples ------------------------------------------------------------------------------

@dataclass
class Sample:
    ms: float
    status: int
    size: int
    statements: int | None = None
    sql_ms: float | None = None
    server: float | None = None
    cut: bool = False  # the body stopped short (a worker killed at its timeout, say)


class Client:
    """A signed-in user (requests.Session); signs in again if the session ran out."""

    def __init__(self, base: str, username: str, password: str):
        self.base, self.username, self.password = base, username, password
        self.http = requests.Session()
        self.login()

    def login(self) -> None:
        page = self.http.get(f"{self.base}/login", timeout=REQUEST_TIMEOUT)
        token = CSRF_RE.search(page.text)
        response = self.http.post(f"{self.base}/login", allow_redirects=False, timeout=REQUEST_TIMEOUT,
                                  data={"username": self.username, "password": self.password,
                                        "csrf_token": token.group(1) if token else ""})
        if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
            raise BenchError(f"{self.username} cannot sign in (HTTP {response.status_code})")

    def get(self, url: str, http: requests.Session | None = None, **kwargs) -> requests.Response:
        session = http or self.http
        response = session.get(self.base + url, allow_redirects=False, timeout=REQUEST_TIMEOUT, **kwargs)
        if response.is_redirect and "/login" in response.headers.get("Location", "") and http is None:
            self.login()
            response = session.get(self.base + url, allow_redirects=False, timeout=REQUEST_TIMEOUT, **kwargs)
        return response

    def clone(self) -> requests.Session:
        """Another connection with the same signed-in cookies (for a concurrent client)."""
        http = requests.Session()
        http.cookies.update(self.http.cookies)
        return http

    def sample(self, url: str, http: requests.Session | None = None) -> Sample:
        started = time.perf_counter()
        response = self.get(url, http)
        body = response.content
        return timed(response, (time.perf_counter() - started) * 1000, len(body))


def timed(response: requests.Response, ms: float, size: int) -> Sample:
    found = TIMING_RE.search(response.headers.get("Server-Timing", ""))
    if not found:
        return Sample(ms, response.status_code, size)
    return Sample(ms, response.status_code, size, int(found.group(2)), float(found.group(1)), float(found.group(3)))


# --- measuring ------------------------------------------------------------------------------------------

def percentile(values: list[float], share: float) -> float | None:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else None


def median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summary(samples: list[Sample], rps: float | None) -> dict:
    statuses = Counter(f"{s.status} cut" if s.cut else str(s.status) for s in samples)
    return {"p50": median(s.ms for s in samples), "p95": percentile([s.ms for s in samples], 0.95),
            "server": median(s.server for s in samples), "statements": median(s.statements for s in samples),
            "sql_ms": median(s.sql_ms for s in samples), "kb": median(s.size / 1024 for s in samples),
            "rps": rps, "runs": len(samples), "http": "/".join(code for code, _n in statuses.most_common())}


def sequential(client: Client, url: str, runs: int, budget: float) -> list[Sample]:
    for _ in range(WARMUPS):
        client.sample(url)
    samples, started = [], time.perf_counter()
    while len(samples) < runs and (len(samples) < MIN_RUNS or time.perf_counter() - started < budget):
        samples.append(client.sample(url))
    return samples


def throughput(client: Client, url: str, seconds: float) -> float | None:
    """Completed requests per second of CLIENTS clients asking again and again for `seconds`."""
    if seconds <= 0:
        return None
    done = [0] * CLIENTS
    deadline = time.perf_counter() + seconds

    def work(slot: int) -> None:
        http = client.clone()
        while time.perf_counter() < deadline:
            try:
                client.sample(url, http)
            except requests.RequestException:
                return
            done[slot] += 1

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def measure_page(server: Server, client: Client, url: str, args) -> dict:
    since = server.log_size()
    try:
        samples = sequential(client, url, args.runs, args.budget)
        return summary(samples, throughput(client, url, args.seconds))
    except requests.RequestException as exc:
        return {**summary([], None), "http": server.failure(exc, since)}


def export_rows(body: bytes, url: str) -> int:
    """Data rows in an exported file (the header and a cap's closing notice not counted)."""
    if "/csv" in url:
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    else:
        from openpyxl import load_workbook

        rows = list(load_workbook(io.BytesIO(body), read_only=True).active.iter_rows(values_only=True))
    return max(0, len(rows) - 1)


def export_once(server: Server, client: Client, url: str) -> tuple[Sample, dict]:
    bench_id = uuid.uuid4().hex
    server.fresh_workers(url.partition("/export/")[0] + "/", client)  # the list the export is made from
    before = reset_peaks(server.workers())
    started = time.perf_counter()
    response = client.get(url, headers={"X-Bench-Id": bench_id}, stream=True)
    chunks, cut = [], False
    try:
        for chunk in response.iter_content(1 << 16):
            chunks.append(chunk)
    except requests.RequestException:
        cut = True
    body = b"".join(chunks)
    sample = timed(response, (time.perf_counter() - started) * 1000, len(body))
    sample.cut = cut
    pid = int(response.headers.get("X-Worker-Pid", 0))
    alive = pid in before and Path(f"/proc/{pid}").exists()
    capped = response.headers.get("X-Export-Truncated")  # the rows in a capped file, its notice not counted
    counted = export_rows(body, url) if response.status_code == 200 and not cut else None
    extra = {"rows": int(capped) if capped and counted is not None else counted,
             "peak_mb": (memory_kb(pid)["VmHWM"] - before[pid]) / 1024 if alive else None}
    final = server.stream_stats(bench_id)
    if final:  # the stream's own count: until its last row, not until the headers
        sample.statements, sample.sql_ms, sample.server = final["statements"], final["sql_ms"], final["server"]
    return sample, extra


def measure_export(server: Server, client: Client, url: str, args) -> dict:
    """Up to EXPORT_RUNS exports (no warm-up: each is long), fewer once --budget is spent."""
    samples, extras, started, since = [], [], time.perf_counter(), server.log_size()
    try:
        runs = min(args.runs, EXPORT_RUNS)
        while len(samples) < runs and (not samples or time.perf_counter() - started < args.budget):
            sample, extra = export_once(server, client, url)
            samples.append(sample)
            extras.append(extra)
    except requests.RequestException as exc:
        return {**summary(samples, None), "http": server.failure(exc, since), "export": True}
    peaks = [e["peak_mb"] for e in extras if e["peak_mb"] is not None]
    return {**summary(samples, None), "export": True, "rows": median(e["rows"] for e in extras),
            "mb": median(s.size / 1024 / 1024 for s in samples), "peak_mb": max(peaks) if peaks else None}


def run_scenario(scenario: Scenario, server: Server, clients: dict, args) -> list[dict]:
    """Our page, then the stock and lean equivalents, each a row of the table."""
    rows = []
    for variant, url in (("ours", scenario.url), ("stock", scenario.stock), ("lean", scenario.lean)):
        if url is None:
            continue
        client = clients[scenario.user]
        measure = measure_export if scenario.export else measure_page
        found = measure(server, client, url, args)
        rows.append({"key": scenario.key, "title": scenario.title, "variant": variant, "as": scenario.user,
                     "url": url, **found})
        log(f"  {scenario.key:<20} {variant:<5} p50 {results_file.num(found['p50']):>8} ms  "
            f"SQL {results_file.num(found['statements']):>6}  req/s {results_file.num(found['rps'], 1):>6}  "
            f"HTTP {found['http']}")
    return with_ratios(rows)


def with_ratios(rows: list[dict]) -> list[dict]:
    found = {row["variant"]: row for row in rows}
    ours, stock, lean = found.get("ours"), found.get("stock"), found.get("lean")
    if ours and stock and ours.get("rps") and stock.get("rps"):
        ours["vs_stock"] = ours["rps"] / stock["rps"]
    if ours and lean and ours.get("p50") and lean.get("p50"):
        ours["vs_lean"] = ours["p50"] / lean["p50"]
    return rows


# --- the run ------------------------------------------------------------------------------------------------

def auto_label(tickets: int) -> str:
    if tickets >= 1_000_000:
        return f"{tickets / 1_000_000:.3g}M"
    return f"{tickets / 1000:.3g}k" if tickets >= 1000 else str(tickets)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="the database to measure (gen-load data)")
    parser.add_argument("--label", help="this data set's section in RESULTS.md (default: from the ticket count)")
    parser.add_argument("--runs", type=int, default=30, help="sequential requests per scenario (1 client)")
    parser.add_argument("--seconds", type=float, default=10, help="seconds of 4 concurrent clients per scenario")
    parser.add_argument("--budget", type=float, default=60,
                        help="seconds of sequential requests per scenario, after which it stops (at least 3 runs)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--only", help="run only the scenarios whose key starts with this (e.g. search.)")
    return parser.parse_args(argv)


def sign_in(server: Server, data: DataSet) -> dict[str, Client]:
    from backoffice.demo import DEMO_PASSWORD

    users = {"manager": data.manager, "clerk": data.clerk, "engineer": data.engineer, "dealer": data.dealer}
    return {role: Client(server.base, username, DEMO_PASSWORD) for role, username in users.items()}


def measure_all(args, data: DataSet, plan: list[Scenario]) -> list[dict]:
    server = Server(args.database_url)
    log(f"gunicorn on {server.base}, workers {server.workers()}")
    try:
        clients = sign_in(server, data)
        rows = []
        for scenario in plan:
            rows += run_scenario(scenario, server, clients, args)
        return rows
    finally:
        server.stop()


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        vacuum_analyze(args.database_url)
        data = read_dataset(args.database_url)
        plan = [s for s in scenarios(args.database_url, data) if not args.only or s.key.startswith(args.only)]
        log(f"{data.tickets:,} tickets; manager {data.manager}, dealer {data.dealer} ({data.outlet}); "
            f"{len(plan)} scenarios")
        rows = measure_all(args, data, plan)
    except BenchError as exc:
        log(f"bench: {exc}")
        return 2
    run = {"label": args.label or auto_label(data.tickets), "tickets": data.tickets,
           "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(data),
           "settings": {"runs": args.runs, "seconds": args.seconds, "budget": args.budget, "workers": WORKERS},
           "context": {"manager": data.manager, "clerk": data.clerk, "engineer": data.engineer,
                       "dealer": data.dealer, "outlet": data.outlet, "outlet_tickets": data.outlet_tickets,
                       "status": data.status, "export_rows": EXPORT_ROWS, "ticket": data.ticket,
                       "schema": data.schema},
           "rows": rows}
    print(results_file.section(run, with_data=False))
    if args.only:  # a partial run must not replace a label's full section
        log(f"--only: {args.out} left as it was")
        return 0
    results_file.write(args.out, run)
    log(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
