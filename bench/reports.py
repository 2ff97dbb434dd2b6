"""How fast the reports and home pages answer with a year of data (issue 15: under a second each).

    .venv/bin/python bench/reports.py [--tickets 20000] [--runs 5] [--database-url URL]

Without --database-url it builds a fresh SQLite copy of the demo data in /tmp and adds
`--tickets` synthetic fault tickets spread over the last twelve months (with their SLA clocks and
return visits, bulk-inserted); with a URL it measures that database as it is. Each page is asked
`--runs` times as the demo manager and as dealer1 through the app (rendering included); the
median and the slowest are printed with the number of SQL statements per request.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, func, insert, select

from models import Outlet, ReturnVisit, Ticket, TicketClock, Unit, db
from tests.conftest import build_demo_database, login, make_app

PAGES = ["/admin/", "/admin/quality_report/", "/admin/kpis/"]
CLOCK_HOURS = {"response": 2, "onsite": 24, "resolve": 72}


def add_year_of_tickets(app, count: int) -> None:
    rng = random.Random(15)
    now = datetime.now(UTC)
    with app.app_context():
        session = db.session
        units = session.execute(select(Unit.id, Unit.customer_id)).all()
        outlets = session.scalars(select(Outlet.id)).all()
        first = (session.scalar(select(func.max(Ticket.id))) or 0) + 1
        tickets, clocks, visits = [], [], []
        for n in range(count):
            created = now - timedelta(days=rng.uniform(0, 365))
            unit_id, customer_id = rng.choice(units)
            closed = rng.random() < 0.8
            tickets.append(dict(
                id=first + n, number=f"B{first + n:011d}", kind=rng.choice(["repair"] * 8 + ["installation"]),
                channel="hotline", category="quality", status="closed" if closed else "registered",
                fault_description="基准测试故障", customer_id=customer_id, unit_id=unit_id,
                outlet_id=rng.choice(outlets), created_at=created, updated_at=created,
                closed_at=created + timedelta(days=2) if closed else None))
            for clock, hours in CLOCK_HOURS.items():
                due = created + timedelta(hours=hours)
                met = created + timedelta(hours=hours * rng.uniform(0.3, 1.4)) if closed else None
                clocks.append(dict(ticket_id=first + n, clock=clock, due_at=due, met_at=met))
            if closed:
                visits.append(dict(ticket_id=first + n, due_at=created + timedelta(days=3),
                                   done_at=created + timedelta(days=3), satisfaction=rng.choice([3, 4, 5, 5])))
        for table, rows in ((Ticket, tickets), (TicketClock, clocks), (ReturnVisit, visits)):
            for start in range(0, len(rows), 5000):
                session.execute(insert(table), rows[start:start + 5000])
        session.commit()


def measure(app, username: str, runs: int) -> list[tuple[str, float, float, int]]:
    client = app.test_client()
    assert login(client, username).status_code == 302, f"{username} cannot sign in"
    statements = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(1))
    found = []
    for page in PAGES:
        times = []
        for _ in range(runs):
            statements.clear()
            started = time.perf_counter()
            response = client.get(page)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, f"{page}: {response.status_code}"
        found.append((page, statistics.median(times), max(times), len(statements)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    if args.database_url:
        app = make_app(args.database_url)
    else:
        path = Path("/tmp/bench_reports.db")
        path.unlink(missing_ok=True)
        app = make_app(f"sqlite:///{path}")
        print("building the demo database …", flush=True)
        build_demo_database(app)
        print(f"adding {args.tickets} tickets over twelve months …", flush=True)
        add_year_of_tickets(app, args.tickets)
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Ticket))
    print(f"\n{total} tickets; {args.runs} runs per page\n")
    print(f"{'user':10} {'page':28} {'p50 ms':>8} {'max ms':>8} {'SQL':>5}")
    for username in ("manager", "dealer1"):
        for page, median, slowest, count in measure(app, username, args.runs):
            print(f"{username:10} {page:28} {median:8.0f} {slowest:8.0f} {count:5d}")


if __name__ == "__main__":
    main()
