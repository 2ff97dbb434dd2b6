"""Issue 17's screens: my notifications with the unread badge, the customers' outbox, the periodic
jobs' runs, and the customer archive's contact and consent fields (PIPL)."""
from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from backoffice import notifications
from backoffice.scheduled import JOBS
from backoffice.timezones import format_local
from models import Customer, JobRun, OutboxMessage, StaffNotification, utcnow
from tests import factories as f
from tests.web.test_forms_per_role import FormPage


@pytest.fixture
def world(app, session):
    world = f.make_service_network(session)
    world["admin"] = f.make_user(session, "admin")
    for role in ("clerk", "manager", "admin", "dealer_a", "engineer_a"):
        world[role].locale = "en"
    session.commit()
    return world


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def unread_badge(client) -> int:
    """The unread count the menu shows on any page."""
    return int(re.search(r'data-testid="unread-count">(\d+)<', page(client, "/admin/")).group(1))


def tell(session, user, kind="visits_due", key=None, **params):
    notifications.tell_staff(session, [user], kind, key or f"t{f.next_number()}", **params)
    session.commit()
    return session.scalars(select(StaffNotification).where(StaffNotification.user_id == user.id)
                           .order_by(StaffNotification.id.desc())).first()


# --- my notifications and the unread badge -----------------------------------------------------

def test_a_clerk_reads_their_notifications_and_marking_one_read_lowers_the_badge(session, world, as_user):
    clerk = world["clerk"]
    ticket = f.make_ticket(session, world["customer"])
    due = (utcnow() + timedelta(minutes=30)).isoformat()
    about_ticket = tell(session, clerk, "sla_due_soon", ticket=ticket, number=ticket.number, clock="response",
                        due=due)
    visits = tell(session, clerk, "visits_due", count=4)
    client = as_user(clerk)
    assert unread_badge(client) == 2

    listing = page(client, "/admin/notification/")
    assert f"Ticket {ticket.number}: First response is due at" in listing  # the reader's language, labels
    assert "4 return visits are due today." in listing
    assert f'href="/admin/ticket/details/?id={ticket.id}"' in listing  # the ticket it is about
    assert listing.index("4 return visits") < listing.index(ticket.number)  # newest first
    assert listing.count('data-testid="unread"') == 2

    response = client.post("/admin/notification/read/", data={"id": visits.id, "csrf_token": client.csrf})
    assert response.status_code == 302
    assert unread_badge(client) == 1
    session.expire_all()
    assert session.get(StaffNotification, visits.id).read_at is not None
    assert session.get(StaffNotification, about_ticket.id).read_at is None
    assert page(client, "/admin/notification/").count('data-testid="unread"') == 1


def test_mark_all_read_clears_the_badge(session, world, as_user):
    manager = world["manager"]
    for _ in range(3):
        tell(session, manager, "approval_waiting", number=f"AP{f.next_number()}")
    client = as_user(manager)
    assert unread_badge(client) == 3
    assert client.post("/admin/notification/read_all/", data={"csrf_token": client.csrf}).status_code == 302
    assert unread_badge(client) == 0
    session.expire_all()
    rows = session.scalars(select(StaffNotification).where(StaffNotification.user_id == manager.id)).all()
    assert len(rows) == 3 and all(row.read_at is not None for row in rows)


def test_a_notification_links_to_the_record_its_endpoint_names(session, world, as_user):
    dealer = world["dealer_a"]
    tell(session, dealer, "parts_shipped", link="parts_request.details_view", number="PR0001", id=42)
    listing = page(as_user(dealer), "/admin/notification/")
    assert "Parts request PR0001 was shipped." in listing
    assert 'href="/admin/parts_request/details/?id=42"' in listing


def test_an_approval_about_a_ticket_opens_the_approval_not_the_ticket(session, world, as_user):  # R-RET-4
    request = f.make_refund_request(session, world)  # the deciders are told (backoffice.recipients)
    session.commit()
    listing = page(as_user(world["manager"]), "/admin/notification/")
    assert f"#{request.id}" in listing
    assert f'href="/admin/approval/details/?id={request.id}"' in listing
    assert f'href="/admin/ticket/details/?id={request.ticket_id}"' not in listing


def test_a_notification_whose_endpoint_is_gone_falls_back_to_its_ticket(session, world, as_user):
    ticket = f.make_ticket(session, world["customer"])
    tell(session, world["clerk"], "approval_waiting", ticket=ticket, link="renamed.details_view",
         number="AP0001", id=7)
    listing = page(as_user(world["clerk"]), "/admin/notification/")
    assert f'href="/admin/ticket/details/?id={ticket.id}"' in listing and "renamed" not in listing


@pytest.mark.parametrize("role", ["admin", "manager", "clerk", "engineer_a", "dealer_a"])
def test_every_role_has_the_notifications_link_with_its_unread_badge(session, world, as_user, role):
    tell(session, world[role], "visits_due", count=1)
    client = as_user(world[role])
    home = page(client, "/admin/")
    assert re.search(r'href="/admin/notification/"[^>]*>\s*Notifications', home)
    assert unread_badge(client) == 1
    assert "1 return visits are due today." in page(client, "/admin/notification/")


def test_nobody_reads_or_marks_another_users_notification(session, world, as_user):
    theirs = tell(session, world["manager"], "approval_waiting", number="AP-SECRET")
    mine = tell(session, world["clerk"], "visits_due", count=2)
    client = as_user(world["clerk"])
    assert "AP-SECRET" not in page(client, "/admin/notification/")
    assert client.get(f"/admin/notification/details/?id={theirs.id}").status_code == 404
    marked = client.post("/admin/notification/read/", data={"id": theirs.id, "csrf_token": client.csrf})
    assert marked.status_code == 404
    client.post("/admin/notification/read_all/", data={"csrf_token": client.csrf})
    session.expire_all()
    assert session.get(StaffNotification, theirs.id).read_at is None  # still unread for its owner
    assert session.get(StaffNotification, mine.id).read_at is not None
    assert unread_badge(as_user(world["manager"])) == 1


def test_marking_read_needs_the_csrf_token(session, world, as_user):
    mine = tell(session, world["clerk"], "visits_due", count=2)
    client = as_user(world["clerk"])
    assert client.post("/admin/notification/read/", data={"id": mine.id}).status_code == 400
    session.expire_all()
    assert session.get(StaffNotification, mine.id).read_at is None


def test_the_unread_count_rides_in_the_menus_one_statement(session, world, as_user, statements):
    tell(session, world["clerk"], "visits_due", count=2)
    client = as_user(world["clerk"])
    statements.clear()
    client.get("/admin/customer/").get_data()
    assert sum("FROM staff_notification" in s for s in statements) == 1
    assert sum("FROM ticket" in s for s in statements) == 1  # the same statement as the ticket queues


# --- the outbox ------------------------------------------------------------------------------------

def queue_message(session, ticket, status="failed", **kw) -> OutboxMessage:
    values = dict(dedupe_key=f"receipt:{ticket.id}:{f.next_number()}", channel="sms", recipient=ticket.contact_phone
                  or ticket.customer.phone, template="receipt", params={}, subject="",
                  body=f"您的服务单{ticket.number}已受理。", ticket=ticket, customer=ticket.customer, status=status,
                  attempts=5 if status == "failed" else 0, last_error="gateway timeout" if status == "failed" else "")
    values.update(kw)
    row = OutboxMessage(**values)
    session.add(row)
    session.commit()
    return row


def test_a_clerk_sees_the_outbox_and_retries_a_failed_message(session, world, as_user):
    ticket = f.make_ticket(session, world["customer"])
    failed = queue_message(session, ticket)
    sent = queue_message(session, ticket, status="sent", sent_at=utcnow())
    client = as_user(world["clerk"])

    listing = page(client, f"/admin/outbox/?search={ticket.number}")
    assert "Receipt of the request" in listing and "Not delivered" in listing and "gateway timeout" in listing
    assert f'<a href="/admin/ticket/details/?id={ticket.id}">{ticket.number}</a>' in listing
    assert f"您的服务单{ticket.number}已受理。" in page(client, f"/admin/outbox/details/?id={failed.id}")

    response = client.post("/admin/outbox/action/", data={
        "action": "retry", "rowid": [failed.id, sent.id], "csrf_token": client.csrf, "url": "/admin/outbox/"})
    assert response.status_code == 302
    session.expire_all()
    retried = session.get(OutboxMessage, failed.id)
    assert (retried.status, retried.attempts) == ("queued", 0)
    assert retried.next_attempt_at <= utcnow()
    assert session.get(OutboxMessage, sent.id).status == "sent"  # a sent message is never sent twice
    after = page(client, "/admin/outbox/")
    assert "1 messages queued again." in after
    assert "Waiting to be sent" in page(client, f"/admin/outbox/?search={ticket.number}")


def test_the_outbox_filters_by_status(session, world, as_user, app):
    ticket = f.make_ticket(session, world["customer"])
    queue_message(session, ticket, recipient="13900000001")
    queue_message(session, ticket, status="sent", recipient="13900000002")
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "outbox")
    index = next(i for i, flt in enumerate(view.column_filters) if getattr(flt, "column", None) is not None
                 and flt.column.key == "status")
    listing = page(as_user(world["manager"]), f"/admin/outbox/?flt0_{index}=failed")
    assert "13900000001" in listing and "13900000002" not in listing


@pytest.mark.parametrize("role", ["dealer_a", "engineer_a"])
def test_dealers_and_engineers_have_no_outbox_nor_job_runs(session, world, as_user, role):
    ticket = f.make_ticket(session, world["customer"])
    failed = queue_message(session, ticket)
    client = as_user(world[role])
    for url in ("/admin/outbox/", f"/admin/outbox/details/?id={failed.id}", "/admin/job_run/"):
        assert client.get(url).status_code == 403, url
    response = client.post("/admin/outbox/action/", data={"action": "retry", "rowid": [failed.id],
                                                            "csrf_token": client.csrf})
    assert response.status_code == 403
    session.expire_all()
    assert session.get(OutboxMessage, failed.id).status == "failed"
    assert 'href="/admin/outbox/"' not in page(client, "/admin/")


# --- the periodic jobs' runs ---------------------------------------------------------------------

def test_admin_and_manager_see_the_job_runs_newest_first_with_the_error(session, world, as_user):
    started = utcnow() - timedelta(hours=1)
    session.add_all([
        JobRun(job="sla_sweep", slot="2026-03-01T08:00", status="done", started_at=started,
               finished_at=started + timedelta(seconds=125), items=3, summary="3 alerts queued", worker="w1:101"),
        JobRun(job="month_end", slot="2026-02", status="failed", started_at=started + timedelta(minutes=5),
               finished_at=started + timedelta(minutes=6), error="ValueError: no statement month", worker="w2:7"),
    ])
    session.commit()
    failed = session.scalar(select(JobRun).where(JobRun.job == "month_end"))
    for role in ("admin", "manager"):
        client = as_user(world[role])
        listing = page(client, "/admin/job_run/")
        assert "3 alerts queued" in listing and "2 min 5 s" in listing and "Run failed" in listing
        assert "SLA sweep" in listing and "Month end" in listing  # each job named for people
        runs = listing[listing.index("model-list"):]  # the list of runs, below the jobs' lines
        assert runs.index("month_end") < runs.index("sla_sweep")  # newest first
        assert "ValueError: no statement month" in page(client, f"/admin/job_run/details/?id={failed.id}")
        assert client.get("/admin/job_run/new/").status_code == 403
        assert client.get(f"/admin/job_run/edit/?id={failed.id}").status_code == 403


def test_a_runs_counts_are_worded_in_the_readers_language(session, world, as_user):
    """What the run did is kept as counts and worded when read: 月份 2026-11 · 对账单 4 …"""
    from backoffice.job_runs import Outcome

    outcome = Outcome(4, {"month": "2026-11", "statements": 4, "batch_alerts": 1})
    started = utcnow() - timedelta(minutes=30)
    session.add(JobRun(job="month_end", slot="2026-11", status="done", started_at=started, finished_at=started,
                       items=outcome.items, summary=outcome.summary, worker="w1:1"))
    session.commit()
    manager = world["manager"]
    client = as_user(manager)
    for locale, words in (("en", "month 2026-11 · statements issued 4 · batch alerts 1"),
                          ("zh_Hans_CN", "月份 2026-11 · 已出对账单 4 · 批量质量预警 1")):
        manager.locale = locale
        session.commit()
        assert words in page(client, "/admin/job_run/"), locale


def test_every_periodic_job_has_a_name_and_a_schedule_for_people():
    from backoffice.labels import JOB_LABELS, JOB_SCHEDULES
    from backoffice.scheduled import JOBS

    assert set(JOBS) <= set(JOB_LABELS)
    assert {job.schedule for job in JOBS.values()} <= set(JOB_SCHEDULES)


def test_above_the_runs_each_job_shows_its_schedule_and_its_last_run(session, world, as_user):
    now = utcnow()
    session.add_all([
        JobRun(job="sla_sweep", slot="old", status="failed", started_at=now - timedelta(hours=2),
               finished_at=now - timedelta(hours=2), error="ValueError: x"),
        JobRun(job="sla_sweep", slot="new", status="done", started_at=now - timedelta(minutes=10),
               finished_at=datetime(2026, 3, 1, 8, 0, 5, tzinfo=UTC)),
        JobRun(job="month_end", slot="2026-02", status="running", started_at=datetime(2026, 3, 1, 1, tzinfo=UTC)),
    ])
    session.commit()
    for role in ("admin", "manager"):
        listing = page(as_user(world[role]), "/admin/job_run/")
        lines = job_lines(listing)
        assert set(lines) == set(JOBS)
        assert "SLA sweep" in lines["sla_sweep"] and "every 5 minutes" in lines["sla_sweep"]
        assert "Done" in lines["sla_sweep"] and "Run failed" not in lines["sla_sweep"]  # the latest run
        assert f"finished {format_local(datetime(2026, 3, 1, 8, 0, 5, tzinfo=UTC))}" in lines["sla_sweep"]
        assert "Running" in lines["month_end"] and "monthly, from 01:00 on the 1st" in lines["month_end"]
        assert "Never run" in lines["visits_due"] and "daily from 08:00" in lines["visits_due"]


def test_the_job_lines_come_in_one_statement(session, world, as_user, statements):
    for n in range(30):
        session.add(JobRun(job=("sla_sweep", "visits_due", "nightly_purge")[n % 3], slot=f"s{n}", status="done",
                           started_at=utcnow() - timedelta(minutes=n), finished_at=utcnow()))
    session.commit()
    client = as_user(world["admin"])
    statements.clear()
    client.get("/admin/job_run/").get_data()
    assert sum("GROUP BY job_run.job" in s for s in statements) == 1  # every job's last run
    assert not any(re.search(r"job_run\.job = [?%]", s) for s in statements)  # no statement per job


# --- running a job now (administrators; who may use the form: tests/web/test_forms_per_role.py) ---

@pytest.fixture
def queue():
    """The in-memory task queue (TASK_QUEUE_URL=memory://), emptied around the test."""
    from backoffice import tasks

    tasks.huey.flush()
    yield tasks.huey
    tasks.huey.flush()


def runs_asked(queue) -> list[str]:
    return [task.args[0] for task in queue.pending() if task.name == "run_job_now"]


def test_an_admin_runs_a_job_now_through_the_queue(session, world, as_user, queue):
    client = as_user(world["admin"])
    listing = page(client, "/admin/job_run/")
    for name in JOBS:
        assert re.search(rf'<button[^>]*name="job" value="{name}"[^>]*>\s*Run now', listing), name
    response = client.post("/admin/job_run/run/", data={"job": "sla_sweep", "csrf_token": client.csrf})
    assert response.status_code == 302 and response.location.endswith("/admin/job_run/")
    assert runs_asked(queue) == ["sla_sweep"]
    assert "Queued: SLA sweep will run in a moment." in page(client, "/admin/job_run/")


def test_a_job_run_now_is_recorded_with_its_slot(app, session, world, as_user, queue, monkeypatch):
    from backoffice import tasks
    from views import job_runs

    now = utcnow()  # one instant for the whole test: no five-minute boundary falls inside it
    monkeypatch.setattr(tasks, "utcnow", lambda: now)
    monkeypatch.setattr(job_runs, "utcnow", lambda: now)
    client = as_user(world["admin"])
    queue.immediate = True  # the worker takes it at once, in the request
    try:
        response = client.post("/admin/job_run/run/", data={"job": "sla_sweep", "csrf_token": client.csrf})
    finally:
        queue.immediate = False
    assert response.status_code == 302
    run = session.scalars(select(JobRun).where(JobRun.job == "sla_sweep")).one()
    assert run.status == "done" and run.slot == JOBS["sla_sweep"].slot(now)
    again = client.post("/admin/job_run/run/", data={"job": "sla_sweep", "csrf_token": client.csrf})
    assert again.status_code == 302 and runs_asked(queue) == []  # that slot ran: nothing queued
    assert f"SLA sweep already ran for {run.slot}" in page(client, "/admin/job_run/")


def test_a_daily_job_before_its_hour_is_not_queued_and_says_when_it_runs(session, world, as_user, queue,
                                                                        monkeypatch):
    from backoffice.timezones import local_to_utc, local_today
    from views import job_runs

    early = local_to_utc(datetime.combine(local_today(), time(3, 0)))  # 03:00 local: before 08:00
    monkeypatch.setattr(job_runs, "utcnow", lambda: early)
    client = as_user(world["admin"])
    response = client.post("/admin/job_run/run/", data={"job": "visits_due", "csrf_token": client.csrf})
    assert response.status_code == 302 and runs_asked(queue) == []
    assert "Return visits due is not due yet (daily from 08:00)." in page(client, "/admin/job_run/")


@pytest.mark.parametrize("typed", ["no_such_job", "", "sla_sweep'; --"])
def test_an_unknown_job_is_refused_with_a_message(session, world, as_user, queue, typed):
    client = as_user(world["admin"])
    response = client.post("/admin/job_run/run/", data={"job": typed, "csrf_token": client.csrf})
    assert response.status_code == 302 and runs_asked(queue) == []
    assert "Choose one of the jobs listed." in page(client, "/admin/job_run/")


def test_a_queue_out_of_reach_is_said_not_a_500(session, world, as_user, queue, monkeypatch):
    from backoffice import tasks

    def unreachable(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(tasks, "run_job_now", unreachable)
    client = as_user(world["admin"])
    response = client.post("/admin/job_run/run/", data={"job": "sla_sweep", "csrf_token": client.csrf})
    assert response.status_code == 302
    assert "The task queue cannot be reached: SLA sweep was not queued." in page(client, "/admin/job_run/")


def test_running_a_job_needs_the_csrf_token(session, world, as_user, queue):
    response = as_user(world["admin"]).post("/admin/job_run/run/", data={"job": "sla_sweep"})
    assert response.status_code == 400 and runs_asked(queue) == []


def test_a_clerk_has_no_job_runs(world, as_user):
    assert as_user(world["clerk"]).get("/admin/job_run/").status_code == 403


def job_lines(html: str) -> dict[str, str]:
    """Each job's line above the list, as text."""
    return {name: " ".join(re.sub(r"<[^>]+>", " ", row).split())
            for name, row in re.findall(r'<tr data-testid="job-(\w+)">(.*?)</tr>', html, re.S)}


# --- the customer archive: contact fields and consent (PIPL) -------------------------------------

def edit_customer(client, customer_id: int, **typed):
    url = f"/admin/customer/edit/?id={customer_id}"
    form = FormPage(page(client, url))
    data = {**form.values, **typed}
    return client.post(url, data={k: v for k, v in data.items() if v is not None})


def test_ticking_consent_records_it_and_unticking_records_the_opt_out(session, world, as_user):
    customer = world["customer"]
    client = as_user(world["clerk"])
    saved = edit_customer(client, customer.id, email="deng.lihua@example.com", notify_channel="email",
                          notify_consent="y")
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    session.expire_all()
    row = session.get(Customer, customer.id)
    assert (row.email, row.notify_channel, row.notify_consent_source) == ("deng.lihua@example.com", "email", "archive")
    assert row.notify_consent_at is not None and row.notify_opt_out_at is None
    assert notifications.may_tell(row)
    form = page(client, f"/admin/customer/edit/?id={customer.id}")
    assert "checked" in re.search(r'<input[^>]*name="notify_consent"[^>]*>', form).group(0)  # the box shows it
    assert "through Customer archive" in form  # when and how, read-only

    saved = edit_customer(client, customer.id, notify_consent=None)  # unticked
    assert saved.status_code == 302
    session.expire_all()
    row = session.get(Customer, customer.id)
    assert row.notify_opt_out_at is not None and not notifications.may_tell(row)
    details = page(client, f"/admin/customer/details/?id={customer.id}")
    assert "Email" in details and "Customer archive" in details


def test_a_bad_email_is_refused_in_the_users_language_with_the_typed_values_kept(session, world, as_user):
    customer = world["customer"]
    client = as_user(world["clerk"])
    refused = edit_customer(client, customer.id, email="deng.lihua@", note="用户要求邮件通知")
    assert refused.status_code == 200
    html = refused.get_data(as_text=True)
    assert "Enter an e-mail address such as name@example.com." in html
    assert 'value="deng.lihua@"' in html and "用户要求邮件通知" in html
    session.expire_all()
    assert session.get(Customer, customer.id).email == ""


def test_the_email_error_follows_the_users_language(app, session, world, as_user):
    from flask_babel import force_locale, gettext

    world["clerk"].locale = "zh_Hans_CN"
    session.commit()
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        expected = gettext("Enter an e-mail address such as %(example)s.", example="name@example.com")
    refused = edit_customer(as_user(world["clerk"]), world["customer"].id, email="not an address")
    assert expected in refused.get_data(as_text=True)


def test_the_preferred_channel_needs_its_address(session, world, as_user):
    refused = edit_customer(as_user(world["clerk"]), world["customer"].id, notify_channel="wechat",
                            wechat_openid="")
    assert refused.status_code == 200
    assert "Enter the WeChat openid to send messages by WeChat." in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Customer, world["customer"].id).notify_channel == "sms"


# --- what a list row shows comes with the rows (no statement per row) ----------------------------

def test_the_new_lists_do_not_grow_a_statement_per_row(session, world, as_user, statements):
    ticket = f.make_ticket(session, world["customer"])
    admin = world["admin"]
    for n in range(25):
        queue_message(session, ticket, recipient=f"1390000{n:04d}")
        tell(session, admin, "sla_breached", ticket=ticket, number=ticket.number, clock="resolve",
             due=utcnow().isoformat())
        session.add(JobRun(job="sla_sweep", slot=f"slot-{n}", status="done", finished_at=utcnow()))
    session.commit()
    client = as_user(admin)
    for endpoint in ("outbox", "notification", "job_run"):
        counted = []
        for size in (20, 50):  # 20 rows, then all 25
            statements.clear()
            assert client.get(f"/admin/{endpoint}/?page_size={size}").status_code == 200
            counted.append(len(statements))
        assert counted[1] <= counted[0], (endpoint, counted)
