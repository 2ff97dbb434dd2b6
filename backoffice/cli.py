"""Command-line tools: flask --app app seed-demo | create-user | create-api-token | issue-statements |
purge-appraisals | gen-load."""
from __future__ import annotations

import click
from flask import Flask, current_app, g
from flask.cli import with_appcontext

from models import Outlet, db
from models.choices import Role

from . import accounts
from .errors import DomainError


def register_cli(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_user)
    app.cli.add_command(create_api_token)
    app.cli.add_command(issue_statements)
    app.cli.add_command(purge_appraisals)
    app.cli.add_command(gen_load)
    app.cli.add_command(rebuild_stats)
    app.cli.add_command(worker)
    app.cli.add_command(run_job)


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Load realistic demo data once (refused in production)."""
    if current_app.config["BACKOFFICE_ENV"] == "production":
        raise click.ClickException("seed-demo is refused when BACKOFFICE_ENV=production")
    from .demo import demo_logins, seed

    g.actor_name = "seed-demo"
    created = seed(db.session)
    db.session.commit()
    click.echo("Demo data loaded." if created else "Demo data already present; nothing changed.")
    click.echo("Demo logins (username / password / role):")
    for username, password, role in demo_logins():
        click.echo(f"  {username:<10} {password}  {role}")


@click.command("create-user")
@with_appcontext
@click.option("--username", prompt=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), prompt=True)
@click.option("--full-name", default="", prompt="Full name")
@click.option("--outlet-code", default="", help="Required for dealers.")
@click.password_option()
def create_user(username, role, full_name, outlet_code, password):
    """Create a real account; the password is prompted, never echoed."""
    g.actor_name = "create-user"
    outlet = None
    if outlet_code:
        outlet = db.session.scalar(db.select(Outlet).where(Outlet.code == outlet_code))
        if outlet is None:
            raise click.ClickException(f"no outlet with code {outlet_code}")
    try:
        accounts.create_user(db.session, username, password, role, full_name=full_name, outlet=outlet)
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from None
    db.session.commit()
    click.echo(f"User {username} created.")


@click.command("create-api-token")
@click.option("--channel", required=True, help="wechat, email, web, hotline, walk_in or dealer")
@click.option("--name", default="", help="Who uses it, e.g. the WeChat service account.")
@with_appcontext
def create_api_token(channel, name):
    """Create a channel's bearer token; it is printed once and stored only as a hash."""
    from . import channel_tokens

    g.actor_name = "create-api-token"
    try:
        token, row = channel_tokens.create(db.session, channel, name)
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from None
    db.session.commit()
    click.echo(f"Token for channel {channel} (prefix {row.prefix}); store it now, it is not shown again:")
    click.echo(token)


@click.command("issue-statements")
@click.option("--month", default="", help="YYYY-MM, a month that has ended; default: last month.")
@with_appcontext
def issue_statements(month):
    """Issue a month's parts-account statements for every outlet (R-PART-7); a scheduler runs it
    when a month ends. Idempotent: a second run issues nothing."""
    from .months import parse_month
    from .reconciliation import ended, issue_due, issue_month
    from .timezones import local_today

    g.actor_name = "issue-statements"
    today = local_today()
    if month:
        chosen = parse_month(month)
        if chosen is None:
            raise click.ClickException(f"--month {month}: give a month as YYYY-MM")
        if not ended(chosen, today):
            raise click.ClickException(f"{chosen:%Y-%m} has not ended yet: its statements are issued after it")
        issued = issue_month(db.session, chosen)
    else:
        chosen = None
        issued = issue_due(db.session, today)
    db.session.commit()
    label = f"{chosen:%Y-%m}" if chosen else "last month"
    click.echo(f"Statements of {label} issued: {len(issued)}"
               + (" (" + ", ".join(str(record.outlet) for record in issued) + ")" if issued else "."))


@click.command("purge-appraisals")
@with_appcontext
def purge_appraisals():
    """Delete appraisal and training records older than the retention period (R-APR-4,
    policy appraisal.retention_years); each delete and a summary go to the audit trail. A
    scheduler runs it daily. Idempotent: a second run removes nothing."""
    from .retention import purge_expired
    from .timezones import local_today

    g.actor_name = "purge-appraisals"
    try:
        purged = purge_expired(db.session, local_today())
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from None
    db.session.commit()
    counts = ", ".join(f"{table} {len(ids)}" for table, ids in purged.removed.items())
    click.echo(f"Records with a period ended before {purged.cutoff:%Y-%m-%d} removed: {purged.total} ({counts}).")


def _rebuild_stats(why: str) -> None:
    from . import stats

    written = stats.rebuild(db.session)
    db.session.commit()
    rows = ", ".join(f"{table} {count:,}" for table, count in written.items())
    click.echo(f"Summary rows counted again from the tickets ({why}): {rows}.")


@click.command("rebuild-stats")
@with_appcontext
def rebuild_stats():
    """Count the reports' summary rows (models.stats) again from the tickets: after writes that
    bypass the app, e.g. a bulk load or a hand-made UPDATE. Safe to run at any time."""
    _rebuild_stats("asked")


@click.command("gen-load")
@click.option("--tickets", type=int, required=True, help="How many tickets to add (1,000,000 for the benchmark).")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the random draws.")
@click.option("--outlets", type=int, default=200, show_default=True, help="Dealer outlets to add.")
@click.option("--years", type=int, default=3, show_default=True, help="Years the tickets spread over, up to now.")
@with_appcontext
def gen_load(tickets, seed, outlets, years):
    """Add a realistic synthetic data set for benchmarks (refused in production): outlets, staff,
    customers, units, tickets with their timeline, clocks and visits, parts accounts and ledger, fee
    claims, appraisals. Only adds rows; run `flask db upgrade` first."""
    from sqlalchemy.exc import OperationalError

    from . import load_generator
    from .accounts import hash_password
    from .demo import DEMO_PASSWORD

    if current_app.config["BACKOFFICE_ENV"] == "production":
        raise click.ClickException("gen-load is refused when BACKOFFICE_ENV=production")
    try:
        load_generator.validate(tickets, outlets, years)
        with click.progressbar(length=tickets, label="Tickets", show_pos=True, show_eta=True) as bar:

            def stage(name):  # the bar says what the run is doing after the tickets
                bar.label = name
                bar.render_progress()

            summary = load_generator.generate(db.engine, tickets, seed=seed, outlets=outlets, years=years,
                                              password_hash=hash_password(DEMO_PASSWORD), progress=bar.update,
                                              stage=stage)
    except load_generator.LoadError as exc:
        raise click.ClickException(str(exc)) from None
    except OperationalError as exc:  # no server, no such database, no permission
        detail = (str(exc.orig or exc).strip().splitlines() or [""])[0]
        raise click.ClickException(f"cannot use the database: {detail}") from None
    _rebuild_stats("COPY wrote past the ORM")
    width = max(len(table) for table in summary.rows)
    click.echo(f"Added {summary.total:,} rows in {summary.seconds:,.1f} s (run {summary.run}):")
    for table, count in summary.rows.items():
        click.echo(f"  {table:<{width}} {count:>12,}")
    gives = "fresh planner statistics" + (", and visibility maps for index-only scans"
                                          if summary.statistics.startswith("VACUUM") else "")
    click.echo(f"{summary.statistics} of the {len(summary.statistics_tables)} tables written "
               f"({summary.statistics_seconds:,.1f} s): {gives}.")
    click.echo(f"Tickets registered {summary.first_day} .. {summary.last_day}; the biggest outlet "
               f"{summary.biggest_outlet} has {summary.biggest_share:.1%} of them.")
    click.echo(f"Staff added sign in with the demo password {DEMO_PASSWORD}, e.g. {summary.manager} "
               f"(manager), {summary.dealer_of_biggest} (dealer of the biggest outlet).")


@click.command("worker")
@click.option("--workers", type=int, default=2, show_default=True, help="Threads running tasks.")
@click.option("--no-periodic", is_flag=True, help="Run queued tasks only; another consumer runs the schedule.")
@with_appcontext
def worker(workers, no_periodic):
    """The task queue's consumer (issue 17): the periodic jobs and the outbox's delivery, with this
    app's configuration (TASK_QUEUE_URL: SQLite by default, Redis in production)."""
    from flask import current_app

    from .tasks import huey, use_app

    use_app(current_app._get_current_object())
    click.echo(f"Worker: {workers} threads, queue {huey.storage.__class__.__name__}"
               + (", no schedule" if no_periodic else ", running the schedule"))
    # An idle consumer polls SQLite at most every 2 s (Redis storage blocks on the queue instead).
    huey.create_consumer(workers=workers, worker_type="thread", periodic=not no_periodic, max_delay=2.0).run()


@click.command("run-job")
@click.argument("name")
@with_appcontext
def run_job(name):
    """Run one periodic job now for its current slot (once: a slot already run is skipped)."""
    from .scheduled import JOBS
    from .tasks import run_job as run

    if name not in JOBS:
        raise click.ClickException(f"no job {name!r}; jobs: {', '.join(JOBS)}")
    done = run(name)
    if done is None:
        click.echo(f"{name}: nothing to do now (its slot has run, or its hour has not come today).")
    else:
        click.echo(f"{name} {done.slot}: {done.status}, {done.items} items. {done.summary}")
