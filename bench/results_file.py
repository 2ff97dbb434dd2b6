"""bench/RESULTS.md: one section per data-set label, rewritten by bench/bench.py only.

Why a file of its own: three runs at three sizes (10k, 100k, 1M) end up in one document, with
a growth table across them. Each section keeps its figures as JSON in an HTML comment, so a
later run rewrites the whole file from data (never by editing markdown) and earlier labels'
sections survive unchanged.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

DATA_RE = re.compile(r"^<!-- bench-data: (.*) -->$", re.MULTILINE)
HEADER = """# Benchmark results (issue 16)

Written by `bench/bench.py` (see `bench/README.md`); do not edit by hand, rerun the benchmark.
Times are milliseconds unless marked; p50/p95 over sequential requests of one signed-in client
(after two warm-ups), "server" is the app's own time (`Server-Timing: app`), SQL statements and SQL
time are per request as counted by the server, req/s is with 4 concurrent clients.
"× stock" is our requests/s divided by the stock Flask-Admin view's on the same scenario (above 1:
we are faster); "÷ lean" is our p50 divided by the lean keyset page's (1 would be as lean).
"""


def read_runs(path: Path) -> list[dict]:
    """The runs stored in an existing file (none if it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(found) for found in DATA_RE.findall(path.read_text(encoding="utf-8"))]


def merge(runs: list[dict], run: dict) -> list[dict]:
    """Earlier runs with this run's label replaced, smallest data set first."""
    kept = [r for r in runs if r["label"] != run["label"]] + [run]
    return sorted(kept, key=lambda r: r["tickets"])


def write(path: Path, run: dict) -> list[dict]:
    runs = merge(read_runs(path), run)
    parts = [HEADER]
    if len(runs) > 1:
        parts.append(growth_section(runs))
    parts.extend(section(r) for r in reversed(runs))  # the largest first
    path.write_text("\n".join(parts), encoding="utf-8")
    return runs


# --- formatting -------------------------------------------------------------------------------

def num(value, digits=0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def ratio(value) -> str:
    return "—" if value is None else f"{value:.2g}×" if value < 10 else f"{value:,.0f}×"


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


PAGE_HEAD = ["scenario", "as", "p50", "p95", "server", "SQL", "SQL ms", "KB", "req/s ×4", "× stock", "÷ lean",
             "runs", "HTTP"]
EXPORT_HEAD = ["export", "as", "rows", "time s (p50)", "server s", "SQL statements", "SQL s", "MB",
               "worker peak +MB", "runs", "HTTP"]


def page_row(row: dict) -> list[str]:
    name = row["title"] if row["variant"] == "ours" else f"↳ {row['variant']}"
    return [name, row["as"], num(row["p50"]), num(row["p95"]), num(row["server"]), num(row["statements"]),
            num(row["sql_ms"], 1), num(row["kb"]), num(row["rps"], 1), ratio(row.get("vs_stock")),
            ratio(row.get("vs_lean")), str(row["runs"]), row["http"]]


def export_row(row: dict) -> list[str]:
    name = row["title"] if row["variant"] == "ours" else f"↳ {row['variant']}"
    seconds = lambda ms: None if ms is None else ms / 1000  # noqa: E731
    return [name, row["as"], num(row.get("rows")), num(seconds(row["p50"]), 2), num(seconds(row["server"]), 2),
            num(row["statements"]), num(seconds(row["sql_ms"]), 2), num(row.get("mb"), 1),
            num(row.get("peak_mb"), 1), str(row["runs"]), row["http"]]


def section(run: dict, with_data: bool = True) -> str:
    machine, ctx = run["machine"], run["context"]
    facts = [
        f"- Date: {run['date']}; {run['tickets']:,} tickets; database {machine['database']}, "
        f"schema {ctx.get('schema', '?')}",
        f"- Machine: {machine['cpus']} CPUs ({machine['cpu_model']}), {machine['ram_gb']} GB RAM",
        f"- Server: gunicorn, {run['settings']['workers']} sync workers, timeout 120 s; "
        f"{run['settings']['runs']} runs per scenario (fewer when a scenario passed its "
        f"{run['settings']['budget']} s budget), {run['settings']['seconds']} s at 4 clients",
        f"- Users: manager `{ctx['manager']}`, clerk `{ctx['clerk']}`, engineer `{ctx['engineer']}`, "
        f"dealer `{ctx['dealer']}` of the biggest outlet {ctx['outlet']} ({ctx['outlet_tickets']:,} tickets)",
        f"- Deep page: page 500 of the list, rows 9,981–10,000 (`?page=499`); the lean page reaches "
        f"the same rows by its keyset cursor. Status filter: `{ctx['status']}`. Exports: CSV capped at "
        f"{ctx['export_rows']:,} rows (EXPORT_STREAM_MAX_ROWS for the run), XLSX at EXPORT_MAX_ROWS.",
    ]
    pages = [page_row(r) for r in run["rows"] if not r.get("export")]
    exports = [export_row(r) for r in run["rows"] if r.get("export")]
    data = json.dumps(run, ensure_ascii=False, sort_keys=True).replace("-->", "--\\u003e")
    stored = [f"<!-- bench-data: {data} -->", ""] if with_data else []
    return "\n".join([f"## {run['label']}", "", *facts, "", table(PAGE_HEAD, pages), "",
                      table(EXPORT_HEAD, exports), "", *stored])


def growth_section(runs: list[dict]) -> str:
    """p50 (server time) per scenario at each size, and the largest over the smallest."""
    first, last = runs[0], runs[-1]
    by_label = [{(r["key"], r["variant"]): r for r in run["rows"]} for run in runs]
    head = ["scenario", *[f"{run['label']} p50 (server)" for run in runs],
            f"{last['label']} ÷ {first['label']} p50", "server"]
    rows = []
    for row in last["rows"]:
        if row["variant"] != "ours":
            continue
        found = [table_.get((row["key"], "ours")) for table_ in by_label]
        cells = [f"{num(f['p50'])} ({num(f['server'])})" if f else "—" for f in found]
        rows.append([row["title"], *cells, ratio(_over(found[-1], found[0], "p50")),
                     ratio(_over(found[-1], found[0], "server"))])
    return "\n".join(["## Growth", "", f"From {first['label']} to {last['label']} tickets, this product's pages "
                      "(ms; exports in ms too).", "", table(head, rows), ""])


def _over(big, small, field):
    if not big or not small or not big.get(field) or not small.get(field):
        return None
    return big[field] / small[field]
