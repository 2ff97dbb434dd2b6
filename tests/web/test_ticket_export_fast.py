"""The ticket list's CSV is built from plain columns (issue 16: 100,000 rows in seconds, a constant
number of statements per block of rows), and says exactly what the ORM export said: the same
header, cells, order, BOM, file name and cap (R-RPT-1/2, issue 15), for every role that may
export, within its row scope (R-ROLE-1), for the list as filtered, searched and sorted on screen.

Each test exports twice from the same data: through the fast path (views.ticket_export.csv_batches)
and through the ORM path it replaced (Flask-Admin's formatters over loaded tickets, kept for the
XLSX), and compares the files byte for byte."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from backoffice import workflow
from models import ReturnVisit, Ticket, utcnow
from models.choices import Role
from tests import factories as f
from tests.web.test_forms_per_role import admin_views
from tests.web.test_ticket_export import filter_arg
from views import ticket_export

EN = {"Accept-Language": "en"}


@pytest.fixture
def world(session):
    """Outlet A (a dealer, a sub-outlet) and outlet B; a clerk, a manager and a center engineer.

    A's tickets: a repair walked to closed with codes, a causal part and two visits done (scores
    2 then 5) and one planned; its repeat on the same unit with a breached, a paused and a running
    clock; a repair reopened by an unsatisfied call-back (rounds superseded, R-SLA-4); a closed
    consultation; an open complaint; an installation; a repair of a unit outlet B sold, for a
    customer of outlet B, served by the center's engineer, repeating a ticket of B; a ticket
    whose typed texts look like formulas or carry control characters; a unit without invoice.
    B has tickets of its own. The demo data is there too."""
    a, b = f.make_outlet(session), f.make_outlet(session)
    sub = f.make_outlet(session, parent=a)
    people = {role: f.make_user(session, role, outlet=a if role == Role.DEALER else None, locale="en")
              for role in (Role.CLERK, Role.MANAGER, Role.DEALER)}
    people["zh_clerk"] = f.make_user(session, Role.CLERK, locale="zh_Hans_CN")
    center_engineer = f.make_user(session, Role.ENGINEER)
    model = f.make_product_model(session)
    customer = f.make_customer(session, a)
    unit = f.make_unit(session, customer, model_code=model.code)
    codes = {kind: f.make_fault_code(session, kind=kind, name=name) for kind, name in
             (("fault", "点火失败"), ("cause", "点火针积碳"), ("remedy", "清洁点火针"))}
    part = f.make_part(session, name="点火针")
    diagnosis = {"service_mode": "onsite", "severity": "minor", "fault_code": str(codes["fault"].id),
                 "cause_code": str(codes["cause"].id), "remedy_code": str(codes["remedy"].id),
                 "causal_part": str(part.id), "note": "点火针积碳"}
    done = f.make_ticket(session, customer, unit=unit, status="closed",
                         steps={"diagnose": diagnosis, "return_visit": {"satisfaction": "5", "comment": "满意"}})
    now = utcnow()
    session.add_all([ReturnVisit(ticket=done, due_at=now - timedelta(days=9), done_at=now - timedelta(days=8),
                                 satisfaction=2),  # earlier: the latest done speaks
                     ReturnVisit(ticket=done, due_at=now + timedelta(days=3))])  # planned: not counted
    again = f.make_ticket(session, customer, unit=unit, repeat_of=done)
    clocks = {c.clock: c for c in again.clocks}
    clocks["response"].due_at = now - timedelta(hours=1)  # overdue: breached
    clocks["dispatch"].paused_since = now - timedelta(minutes=10)  # waiting for the customer
    reopened = f.make_ticket(session, f.make_customer(session, a), status="resolved")
    workflow.perform(session, reopened, "return_visit", people[Role.CLERK],
                     {"satisfaction": "1", "comment": "还是打不着火"}, utcnow())
    consultation = f.make_ticket(session, f.make_customer(session, sub), kind="consultation", status="closed")
    complaint = f.make_ticket(session, f.make_customer(session, a), kind="complaint")
    installation = f.make_ticket(session, customer, unit=f.make_unit(session, customer), kind="installation")
    b_customer = f.make_customer(session, b)
    b_ticket = f.make_ticket(session, b_customer)
    foreign = f.make_ticket(session, b_customer, unit=f.make_unit(session, b_customer), outlet=a,
                            assigned_engineer=center_engineer, repeat_of=b_ticket)
    odd = f.make_ticket(session, f.make_customer(session, a, name="=HYPERLINK(1)"), contact_phone="+86 139",
                        address="@邯郸路\x07 1号", fault_description="-不制热\n\t漏水")
    no_invoice = f.make_unit(session, f.make_customer(session, a))
    no_invoice.invoice_date = None
    session.flush()
    unknown = f.make_ticket(session, no_invoice.customer, unit=no_invoice)
    others = [f.make_ticket(session, f.make_customer(session, b)) for _ in range(3)]
    session.commit()
    return dict(a=a, b=b, people=people, done=done, again=again, reopened=reopened, consultation=consultation,
                complaint=complaint, installation=installation, foreign=foreign, odd=odd, unknown=unknown,
                b_numbers={t.number for t in (b_ticket, *others)}, unit=unit, model=model)


@pytest.fixture
def used(monkeypatch):
    """How many exports went through the fast path."""
    calls = []
    real = ticket_export.csv_batches

    def spy(*args, **kwargs):
        found = real(*args, **kwargs)
        calls.append(found is not None)
        return found
    monkeypatch.setattr(ticket_export, "csv_batches", spy)
    return calls


def both(client, url, monkeypatch, headers=EN):
    """(fast response, ORM response) of the same export, at the same "now" (a clock falling due
    between the two requests would otherwise turn from open to breached)."""
    now = utcnow()
    monkeypatch.setattr(ticket_export, "utcnow", lambda: now)
    fast = client.get(url, headers=headers)
    assert fast.is_streamed  # the rows are read while the body is sent
    fast.get_data()
    with monkeypatch.context() as patch:
        patch.setattr(ticket_export, "csv_batches", lambda *args, **kwargs: None)  # the view's ORM path
        orm = client.get(url, headers=headers)
        orm.get_data()
    return fast, orm


def lines(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def assert_same_file(fast, orm):
    assert fast.status_code == orm.status_code == 200
    assert fast.mimetype == orm.mimetype == "text/csv"
    assert fast.get_data() == orm.get_data()  # BOM, header, every cell, order, notice
    assert fast.headers.get("X-Export-Truncated") == orm.headers.get("X-Export-Truncated")
    minute = re.compile(r"\d{8}-\d{4}")  # the local time in the name: the two may straddle a minute
    assert minute.sub("T", fast.headers["Content-Disposition"]) == minute.sub("T", orm.headers["Content-Disposition"])


def test_the_ticket_view_exports_only_columns_the_fast_path_makes(app):
    """If a column is added to the export, the fast path must learn it (else it falls back)."""
    view = admin_views(app)["ticket"]
    assert tuple(name for name, _title in view._export_columns) == ticket_export.FAST_COLUMNS


@pytest.mark.parametrize("who", [Role.CLERK, Role.MANAGER, Role.DEALER, "zh_clerk"])
def test_the_csv_says_cell_for_cell_what_the_orm_export_said(app, as_user, world, monkeypatch, used, who):
    """R-RPT-1/2 and R-ROLE-1: every ticket the role may see (the demo's too), in the user's
    language; a dealer sees A's and its sub-outlet's tickets and, of what they refer to, what its
    scope shows: the model and serial of a unit B sold, not that unit itself, nor B's customer,
    the center's engineer or the number of B's ticket repeated."""
    fast, orm = both(as_user(world["people"][who]), "/admin/ticket/export/csv/", monkeypatch,
                     headers={} if who == "zh_clerk" else EN)
    assert used == [True]
    assert_same_file(fast, orm)
    rows = lines(fast)
    numbers = {row[0] for row in rows[1:]}
    ours = {world[key].number for key in ("done", "again", "reopened", "consultation", "complaint",
                                           "installation", "foreign", "odd", "unknown")}
    assert ours <= numbers
    if who == Role.DEALER:
        assert not numbers & world["b_numbers"]
        foreign = dict(zip(rows[0], next(row for row in rows if row[0] == world["foreign"].number), strict=True))
        assert foreign["Unit"] == foreign["Customer"] == foreign["Engineer"] == foreign["Repeat of"] == ""
        assert foreign["Serial no."] != "" and foreign["Product model"] != ""
    else:
        assert world["b_numbers"] <= numbers
    if who == "zh_clerk":  # labels in the user's language, resolved once per file
        assert any("\u4e00" <= ch <= "\u9fff" for ch in "".join(rows[0]))


def test_the_fast_rows_carry_the_rules_of_the_export(app, as_user, world, monkeypatch, used):
    """Spot checks of the cells themselves (besides equal to the ORM export): the latest visit
    done, breached/paused/open clocks, a reopened ticket's rounds (R-SLA-4), formula-looking
    text written as text, and a unit without invoice."""
    url = f"/admin/ticket/export/csv/?flt0_{filter_arg(app, Ticket.outlet_id)}={world['a'].id}"
    fast, orm = both(as_user(world["people"][Role.CLERK]), url, monkeypatch)
    assert_same_file(fast, orm)
    rows = lines(fast)
    by_number = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    done, again = by_number[world["done"].number], by_number[world["again"].number]
    assert done["Satisfaction"] == "5" and done["Repeat of"] == "" and again["Repeat of"] == world["done"].number
    assert [again[f"SLA: {name}"] for name in ("First response", "Technician dispatched", "On site",
                                               "Resolution")] == ["breached", "paused", "open", "open"]
    assert by_number[world["reopened"].number]["Satisfaction"] == "1"
    odd = by_number[world["odd"].number]
    assert odd["Contact phone"] == "'+86 139" and odd["Address"] == "'@邯郸路 1号"
    assert odd["Fault description"] == "'-不制热\n\t漏水" and odd["Customer"].startswith("'=HYPERLINK(1)")
    assert by_number[world["unknown"].number]["Warranty verdict"] == "No purchase invoice"
    assert done["Product model"] == world["model"].code and done["Serial no."] == world["unit"].serial


@pytest.mark.parametrize("query", [
    "?flt0_{status}=closed",  # a filter
    "?flt0_{outlet}={a}&flt1_{status}=registered",  # two filters
    "?search={phone}",  # a search by the customer's phone (backoffice.ticket_search)
    "?search={number}",  # by ticket number
    "?sort=0",  # sorted by number, ascending
    "?sort=4&desc=1",  # by kind, descending (ties: newest first)
    "?sort=7",  # by outlet
    "?flt0_{outlet}={a}&sort=1",  # by creation time, ascending
])
def test_filters_search_and_sort_apply_as_on_screen(app, as_user, world, monkeypatch, used, query):
    """The export is the list as filtered, searched and sorted on screen: the same rows in the
    same order as the ORM export of that list."""
    url = "/admin/ticket/export/csv/" + query.format(
        status=filter_arg(app, Ticket.status), outlet=filter_arg(app, Ticket.outlet_id), a=world["a"].id,
        phone=world["done"].customer.phone, number=world["again"].number)
    for who in (Role.CLERK, Role.DEALER):
        fast, orm = both(as_user(world["people"][who]), url, monkeypatch)
        assert_same_file(fast, orm)
        assert len(lines(fast)) > 1, (query, who)
    assert all(used)


def test_search_by_number_exports_that_ticket_only(as_user, world):
    rows = lines(as_user(world["people"][Role.DEALER]).get(
        f"/admin/ticket/export/csv/?search={world['again'].number}", headers=EN))
    assert [row[0] for row in rows[1:]] == [world["again"].number]


@pytest.mark.parametrize("cap", [1, 4])
def test_a_cap_ends_the_file_with_the_notice_and_says_so_in_a_header(app, as_user, world, monkeypatch, used, cap):
    app.config["EXPORT_STREAM_MAX_ROWS"] = cap
    app.config["EXPORT_BATCH_ROWS"] = 3
    fast, orm = both(as_user(world["people"][Role.DEALER]), "/admin/ticket/export/csv/", monkeypatch)
    assert_same_file(fast, orm)
    assert fast.headers["X-Export-Truncated"] == str(cap)
    rows = lines(fast)
    assert len(rows) == 1 + cap + 1 and rows[-1] == [f"Only the first {cap} rows were exported; narrow the filter."]


def test_blocks_and_chunks_do_not_change_the_file(app, as_user, world, monkeypatch, used):
    """Read 4 rows a block (side queries per block), sent 3 rows a chunk: the same file."""
    client = as_user(world["people"][Role.MANAGER])
    whole = client.get("/admin/ticket/export/csv/", headers=EN).get_data()
    app.config["TICKET_EXPORT_BLOCK_ROWS"] = 4
    app.config["EXPORT_BATCH_ROWS"] = 3
    response = client.get("/admin/ticket/export/csv/", headers=EN)
    chunks = list(response.response)
    assert b"".join(chunks) == whole
    rows = len(list(csv.reader(io.StringIO(whole.decode("utf-8-sig"))))) - 1
    assert len(chunks) == 1 + sum((min(4, rows - start) + 2) // 3 for start in range(0, rows, 4))


def _tickets(session, outlet, n, codes, part):
    customer = f.make_customer(session, outlet)
    previous = None
    for _ in range(n):
        ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer))
        ticket.fault_code, ticket.cause_code, ticket.remedy_code = codes
        ticket.causal_part, ticket.repeat_of = part, previous
        session.add(ReturnVisit(ticket=ticket, due_at=utcnow(), done_at=utcnow() - timedelta(hours=1), satisfaction=4))
        previous = ticket
    session.commit()


def test_statements_grow_with_blocks_not_rows(app, login_as, session, statements):
    """Issue 16: a fixed number of statements per file plus at most 3 per block (clocks, visits,
    tickets repeated); none per row. 30 tickets then 300 of one outlet: within one block, the
    same statements; in blocks of 50, three more per extra block."""
    outlet = f.make_outlet(session)
    codes = tuple(f.make_fault_code(session, kind=k) for k in ("fault", "cause", "remedy"))
    part = f.make_part(session)
    session.commit()
    url = f"/admin/ticket/export/csv/?flt0_{filter_arg(app, Ticket.outlet_id)}={outlet.id}"
    admin = login_as("admin")

    def count(block):
        app.config["TICKET_EXPORT_BLOCK_ROWS"] = block
        statements.clear()
        response = admin.get(url)
        assert response.status_code == 200
        rows = len(lines(response)) - 1
        return rows, len(statements)

    _tickets(session, outlet, 30, codes, part)
    small = count(1000), count(50)
    _tickets(session, outlet, 270, codes, part)
    large = count(1000), count(50)
    assert [rows for rows, _n in (*small, *large)] == [30, 30, 300, 300]
    assert large[0][1] == small[0][1]  # one block each: the same statements
    assert large[1][1] - small[1][1] == 3 * (6 - 1)  # 6 blocks of 50 instead of 1
    assert small[0][1] <= 20, statements  # sign-in, scope, count, query, reference rows, one block


def test_clock_outcomes_of_plain_rows_follow_the_rules(app):
    """R-SLA-1/3/4 on plain rows as the CSV reads them: met, met late, paused, open, overdue, a
    superseded round that was late makes the clock breached, a clock not needed after resolution."""
    from collections import namedtuple

    from backoffice import sla

    Clock = namedtuple("Clock", "clock due_at met_at paused_since superseded_at")
    Facts = namedtuple("Facts", "status closed_at updated_at clocks")
    now = utcnow()
    hour = timedelta(hours=1)
    running = Facts("diagnosed", None, now, [
        Clock("response", now - 3 * hour, now - 4 * hour, None, None),  # met in time
        Clock("dispatch", now + hour, None, now - hour, None),  # paused
        Clock("onsite", now + hour, None, None, None),  # open
        Clock("resolve", now - hour, None, None, None),  # overdue
        Clock("answer", now - 9 * hour, None, None, now - 5 * hour),  # superseded late...
        Clock("answer", now + 9 * hour, None, None, None),  # ...its rework still open: breached
    ])
    assert ticket_export.clock_outcomes(running, now) == {
        "response": "met", "dispatch": "paused", "onsite": "open", "resolve": "breached", "answer": "breached"}
    resolved = Facts("resolved", None, now, [
        Clock("onsite", now + hour, None, None, None),  # not needed: the remote answer resolved it
        Clock("resolve", now - 2 * hour, now - 3 * hour, None, None),
        Clock("response", now - 9 * hour, None, None, now - 10 * hour),  # superseded in time
    ])
    assert sla.finished_at(resolved) == now - 3 * hour
    assert ticket_export.clock_outcomes(resolved, now) == {"onsite": None, "resolve": "met", "response": None}
    assert ticket_export.clock_outcome(resolved, "onsite", now) == ticket_export.NONE


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Asia/Urumqi", "Europe/Berlin", "America/New_York",
                                  "America/St_Johns", "Australia/Lord_Howe", "Asia/Kathmandu"])
def test_local_times_are_format_local_to_the_minute_across_offset_changes(zone):
    """The CSV's times (`local_minutes`) are time_formatter's (format_local) in every zone, on the
    days a zone changes its offset too (by an hour, by half an hour, at odd minutes)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from backoffice.timezones import format_local

    tz = ZoneInfo(zone)
    text = ticket_export.local_minutes(tz)
    for start, end in ((datetime(2024, 3, 7), datetime(2024, 4, 9)), (datetime(2024, 9, 28), datetime(2024, 11, 6)),
                       (datetime(2025, 12, 31, 12), datetime(2026, 1, 1, 12))):
        value = start
        while value < end:
            assert text(value) == format_local(value, tz), (zone, value)
            value += timedelta(minutes=7, seconds=13)
    assert text(None) == format_local(None, tz) == ""
