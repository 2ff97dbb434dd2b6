"""Issue 15: a home page per role, each figure an SQL count under the row scope, linked to the
list that shows exactly its rows."""
import html
import re

import pytest

from tests import factories as f


def figure(page: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">\s*([^<]*?)\s*<', page)
    assert match, f"no figure {testid}"
    return match.group(1)


def link(page: str, testid: str) -> str:
    match = re.search(rf'href="([^"]+)" data-testid="{testid}-link"', page)
    assert match, f"no link {testid}"
    return html.unescape(match.group(1))


@pytest.fixture
def world(app, session):
    world = f.make_service_network(session)
    session.commit()
    return world


@pytest.mark.parametrize("username", ["admin", "manager", "clerk", "engineer", "dealer1"])
def test_every_role_has_a_home_page(login_as, username):
    response = login_as(username).get("/admin/")
    assert response.status_code == 200


def test_dealer_home_counts_only_its_outlets_tickets(app, session, world, login_as):
    registered = f.make_ticket(session, world["customer"])
    diagnosed = f.make_ticket(session, world["customer"], status="diagnosed", engineer=world["engineer_a"])
    elsewhere = f.make_ticket(session, f.make_customer(session, world["b"]))
    session.commit()
    client = login_as(world["dealer_a"].username)
    page = client.get("/admin/").get_data(as_text=True)
    assert (figure(page, "status-registered"), figure(page, "status-diagnosed"), figure(page, "open-total")) == (
        "1", "1", "2")
    listed = client.get(link(page, "status-registered")).get_data(as_text=True)
    assert registered.number in listed
    assert diagnosed.number not in listed and elsewhere.number not in listed
    listed = client.get(link(page, "status-diagnosed")).get_data(as_text=True)
    assert diagnosed.number in listed and registered.number not in listed


def test_engineer_sees_tickets_waiting_for_diagnosis_and_the_list_behind(app, session, world, login_as):
    mine = f.make_ticket(session, world["customer"], assigned_engineer=world["engineer_a"])
    f.make_ticket(session, world["customer"])
    session.commit()
    client = login_as(world["engineer_a"].username)
    page = client.get("/admin/").get_data(as_text=True)
    assert figure(page, "to-diagnose") == "1"
    listed = client.get(link(page, "to-diagnose")).get_data(as_text=True)
    assert mine.number in listed


def test_engineer_sees_todays_appointments_in_time_order_with_tap_to_call(app, session, world, login_as):
    from datetime import timedelta

    from backoffice.timezones import local_day_bounds, local_today
    day, _end = local_day_bounds(local_today(), local_today())
    later = f.make_ticket(session, world["customer"], assigned_engineer=world["engineer_a"],
                          appointment_at=day + timedelta(hours=15), contact_phone="13900000002")
    sooner = f.make_ticket(session, world["customer"], assigned_engineer=world["engineer_a"],
                           appointment_at=day + timedelta(hours=9), contact_phone="13900000001")
    f.make_ticket(session, world["customer"], assigned_engineer=world["engineer_a"],
                  appointment_at=day + timedelta(days=1, hours=9))  # tomorrow: not listed
    session.commit()
    page = login_as(world["engineer_a"].username).get("/admin/").get_data(as_text=True)
    start = page.index('data-testid="appointments"')
    table = page[start:page.index("</ul>", start)]  # the cards of today's appointments (issue 18)
    assert table.index(sooner.number) < table.index(later.number)
    assert table.count('data-testid="appointment"') == 2
    assert 'href="tel:13900000001"' in table


def test_clerk_queue_and_complaints_count_and_link_to_their_rows(app, session, world, login_as):
    client = login_as(world["clerk"].username)
    before = client.get("/admin/").get_data(as_text=True)
    complaint = f.make_ticket(session, world["customer"], kind="complaint")
    session.commit()
    page = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/intake/"' in page
    assert int(figure(page, "complaints")) == int(figure(before, "complaints")) + 1
    assert int(figure(page, "unassigned")) == int(figure(before, "unassigned")) + 1
    assert complaint.number in client.get(link(page, "complaints")).get_data(as_text=True)
    assert complaint.number in client.get(link(page, "unassigned")).get_data(as_text=True)


def test_manager_figures_equal_the_sql_counts_and_link_to_their_lists(app, session, world, login_as):
    from backoffice import dashboard

    client = login_as(world["manager"].username)
    page = client.get("/admin/").get_data(as_text=True)
    assert int(figure(page, "approvals")) == dashboard.pending_approvals(session)
    assert int(figure(page, "breached")) == dashboard.breached_tickets(session)
    assert int(figure(page, "claims-to-audit")) == dashboard.fee_claims_by_status(session)["claimed"]
    for testid in ("approvals", "breached", "claims-to-audit", "complaints", "satisfaction"):
        assert client.get(link(page, testid)).status_code == 200
    assert 'data-testid="compliance-response"' in page
    assert "/admin/outlet_evaluation" in page


def test_dealer_sees_its_parts_account_and_owed_old_parts(app, session, world, login_as):
    from decimal import Decimal

    from backoffice import ledger
    f.make_parts_account(session, world["a"], balance=Decimal("800.00"))
    f.make_parts_account(session, world["b"], balance=Decimal("300.00"))
    session.commit()
    held = ledger.held_on_account(session, [world["a"].id])[world["a"].id]
    client = login_as(world["dealer_a"].username)
    page = client.get("/admin/").get_data(as_text=True)
    assert figure(page, "parts-balance") == "¥800.00"
    assert figure(page, "parts-held") == str(held)
    assert figure(page, "old-parts-owed") == "0"
    assert figure(page, "statements") == "0"
    assert client.get(link(page, "parts-balance")).status_code == 200


def test_clerk_sees_tickets_registered_today_with_the_list_of_those_days(app, session, world, login_as):
    client = login_as(world["clerk"].username)
    before = client.get("/admin/").get_data(as_text=True)
    ticket = f.make_ticket(session, world["customer"])
    session.commit()
    page = client.get("/admin/").get_data(as_text=True)
    assert int(figure(page, "registered-today")) == int(figure(before, "registered-today")) + 1
    assert ticket.number in client.get(link(page, "registered-today")).get_data(as_text=True)


def test_dealer_open_total_links_to_its_open_tickets_only(app, session, world, login_as):
    registered = f.make_ticket(session, world["customer"])
    closed = f.make_ticket(session, world["customer"], status="closed")
    session.commit()
    client = login_as(world["dealer_a"].username)
    page = client.get("/admin/").get_data(as_text=True)
    assert figure(page, "open-total") == "1"
    listed = client.get(link(page, "open-total")).get_data(as_text=True)
    assert registered.number in listed and closed.number not in listed


def trend_cell(page: str, month, clock: str) -> tuple[int, int]:
    """(met in time, fell due) of the manager's trend table for a month and clock."""
    met, due = figure(page, f"trend-{month:%Y-%m}-{clock}-of").split("/")
    return int(met), int(due)


def test_manager_sees_the_months_sla_compliance_per_clock_as_chart_and_table(app, session, world, login_as):
    """R-SLA-1: two months ago, one response clock met in time and one met late."""
    from datetime import timedelta
    from decimal import Decimal

    from backoffice.months import recent
    from backoffice.timezones import local_day_bounds, local_today
    month = recent(local_today(), 3)[-1]
    start = local_day_bounds(month, month)[0]
    client = login_as(world["manager"].username)
    before = trend_cell(client.get("/admin/").get_data(as_text=True), month, "response")
    for met_after in (timedelta(hours=-1), timedelta(hours=1)):
        ticket = f.make_ticket(session, world["customer"])
        clock = next(c for c in ticket.clocks if c.clock == "response")
        clock.due_at = start + timedelta(days=2)
        clock.met_at = clock.due_at + met_after
    session.commit()
    page = client.get("/admin/").get_data(as_text=True)
    met, due = trend_cell(page, month, "response")
    assert (met - before[0], due - before[1]) == (1, 2)
    assert figure(page, f"trend-{month:%Y-%m}-response") == f"{(Decimal(100 * met) / due).quantize(Decimal('0.1'))}%"
    assert 'data-testid="trend-chart"' in page and "echarts" in page
    assert len(re.findall(r'data-testid="trend-\d{4}-\d{2}-response"', page)) == 6
    report = client.get(link(page, f"trend-{month:%Y-%m}")).get_data(as_text=True)  # the month's KPI report
    assert (figure(report, "sla-response-met"), figure(report, "sla-response-due")) == (str(met), str(due))


def test_manager_sees_the_best_and_worst_rated_outlets_linked_to_their_evaluation(app, session, world, login_as):
    """R-APR-5: the year's ranking's first three and last three rated outlets; the world's outlets,
    without any service this year, are not rated and not shown."""
    from backoffice.outlet_evaluation import ranking
    from backoffice.timezones import local_today
    rated = [row for row in ranking(session, local_today().year) if row.rank is not None]
    client = login_as(world["manager"].username)
    home = client.get("/admin/").get_data(as_text=True)
    assert 'data-fragment="/admin/ranking"' in home  # fetched after the page (issue 16: seconds at 1M)
    page = client.get("/admin/ranking").get_data(as_text=True)
    shown = rated[:3] + rated[max(3, len(rated) - 3):]
    assert shown, "the demo data rates its outlets"
    for row in shown:
        assert figure(page, f"score-{row.outlet.code}") == str(row.score)
        evaluation = client.get(link(page, f"score-{row.outlet.code}"))
        assert evaluation.status_code == 200 and row.outlet.name in evaluation.get_data(as_text=True)
    assert f"score-{world['a'].code}" not in page


def test_only_the_centers_managers_get_the_ranking_fragment(login_as):
    for username in ("clerk", "engineer", "dealer1"):
        assert login_as(username).get("/admin/ranking").status_code == 403


def test_a_figure_past_its_cap_says_so_and_its_list_shows_the_rows(app, session, world, login_as, monkeypatch):
    """Issue 16: a count of open work stops at dashboard.FIGURE_CAP ("2+"), reading no further."""
    from backoffice import dashboard

    for _ in range(3):
        f.make_ticket(session, world["customer"])
    session.commit()
    monkeypatch.setattr(dashboard, "FIGURE_CAP", 2)
    client = login_as(world["dealer_a"].username)
    page = client.get("/admin/").get_data(as_text=True)
    assert figure(page, "status-registered") == "2+" and figure(page, "open-total") == "2+"
    assert client.get(link(page, "status-registered")).status_code == 200
