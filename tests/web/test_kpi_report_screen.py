"""The service KPI page (R-RPT-2, R-CMP-4) as each role that may open it reads it: every figure
read back from the HTML and from the XLSX/CSV export, for outlet A's March 2026 built by hand in
tests/unit/test_service_kpis.py (KpiWorld); a dealer sees only its outlets, on the page and in the
files; bad input is a message, never an error page."""
from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from tests.unit.test_service_kpis import KpiWorld

MARCH = "from=2026-03-01&to=2026-03-31"


class Figures(HTMLParser):
    """{data-testid: its text} of a page, and the links (href) of elements carrying one."""

    VOID = {"input", "br", "img", "meta", "link", "hr", "option"}

    def __init__(self, html: str):
        super().__init__()
        self.found, self.hrefs, self._open = {}, {}, []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        attrs = dict(attrs)
        self._open.append((tag, attrs.get("data-testid"), []))
        if attrs.get("data-testid") and attrs.get("href"):
            self.hrefs[attrs["data-testid"]] = attrs["href"]

    def handle_endtag(self, tag):
        if tag in self.VOID or not self._open:
            return
        _tag, testid, parts = self._open.pop()
        text = "".join(parts)
        if testid:
            self.found[testid] = " ".join(text.split())
        if self._open:
            self._open[-1][2].append(text)

    def handle_data(self, data):
        if self._open:
            self._open[-1][2].append(data)


@pytest.fixture
def world(session):
    return KpiWorld(session)


def page(client, query=""):
    response = client.get(f"/admin/kpis/?{query}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def expected_on_page(world) -> dict[str, str]:
    a = world.a.code
    return {
        "ftf-part": "2", "ftf-whole": "4", "ftf-rate": "50.0",
        "repeats-part": "2", "repeats-whole": "5", "repeats-rate": "40.0", "satisfaction-mean": "4.00",
        "sla-response-due": "2", "sla-response-met": "1", "sla-response-rate": "50.0",
        "sla-dispatch-due": "1", "sla-dispatch-met": "0", "sla-dispatch-rate": "0.0",
        "sla-onsite-due": "0", "sla-onsite-rate": "—", "sla-resolve-due": "2", "sla-resolve-met": "1",
        "sla-answer-due": "1", "sla-answer-met": "1", "sla-answer-rate": "100.0",
        f"sla-{a}-response-due": "2", f"sla-{a}-response-rate": "50.0", f"sla-{a}-resolve-met": "1",
        "coverage-whole": "4", "coverage-part": "3", "coverage-rate": "75.0",
        "complaint-coverage-whole": "2", "complaint-coverage-part": "1", "complaint-coverage-rate": "50.0",
        "lacking-ticket": world.c2.number,
        "satisfaction-1": "0", "satisfaction-2": "1", "satisfaction-3": "0", "satisfaction-4": "1",
        "satisfaction-5": "2", "satisfaction-unscored": "1", "satisfaction-total": "5",
        "class-charges": "1", "class-charges-confirmed": "1", "class-service_quality": "1", "class-none": "1",
        "complaints-total": "3", f"complaints-{a}": "3", f"complaints-{a}-confirmed": "1",
        f"analysis-{world.c2.number}-class": "Charges", f"analysis-{world.c2.number}-confirmed": "yes",
        f"analysis-{world.c3.number}-class": "Not yet investigated",
        f"parts-{a}-qty": "4", f"parts-{a}-value": "258.50", "parts-total-qty": "4", "parts-total-value": "258.50",
        f"part-{world.p1.code}-qty": "3", f"part-{world.p1.code}-value": "138.00",
        f"part-{world.p2.code}-qty": "1", f"part-{world.p2.code}-value": "120.50",
        f"claims-{a}-count": "5", f"claims-{a}-claimed": "1", f"claims-{a}-approved": "1", f"claims-{a}-adjusted": "1",
        f"claims-{a}-rejected": "1", f"claims-{a}-settled": "1", f"claims-{a}-claimed-total": "330.00",
        f"claims-{a}-approved-total": "225.00", f"claims-{a}-adjusted-count": "2", f"claims-{a}-cut": "25.00",
        f"claims-{a}-charged-back": "50.00",
    }


def assert_outlet_a(world, html):
    found = Figures(html).found
    expected = expected_on_page(world)
    assert {key: found.get(key) for key in expected} == expected
    for text in ("网点多收上门费50元属实", "退还多收费用", "退还50元并通报批评网点"):  # R-CMP-4: causes, measures
        assert text in html


def sheets(data: bytes) -> dict[str, list[tuple]]:
    book = load_workbook(io.BytesIO(data))
    return {sheet.title: [tuple(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}


def assert_export_of_a(world, book):
    a = world.a
    assert book["Summary"][1:] == [("First-time fix", 2, 4, 50), ("Repeat repairs", 2, 5, 40),
                                   ("Return-visit coverage", 3, 4, 75), ("Complaint return-visit coverage", 1, 2, 50),
                                   ("Mean satisfaction (1-5)", 4, 4, None)]
    assert book["SLA compliance per clock"][1:] == [("First response", 2, 1, 50), ("Technician dispatched", 1, 0, 0),
                                                    ("On site", 0, 0, None), ("Resolution", 2, 1, 50),
                                                    ("Complaint answered", 1, 1, 100)]
    assert book["SLA compliance by outlet"][1] == (a.code, a.name, 2, 1, 50, 1, 0, 0, 0, 0, None, 2, 1, 50, 1, 1, 100)
    assert book["Satisfaction"][1:] == [("1", 0), ("2", 1), ("3", 0), ("4", 1), ("5", 2), ("Unscored", 1), ("Total", 5)]
    assert book["Complaints by class"][1:] == [("Charges", 1, 1), ("Service quality", 1, 0),
                                               ("Not yet investigated", 1, 0), ("Total", 3, 1)]
    assert book["Complaints by outlet"][1:] == [(a.code, a.name, 3, 1), (None, "Total", 3, 1)]
    analysis = book["Complaint analysis"]
    assert [row[0] for row in analysis[1:]] == [world.c1.number, world.c2.number, world.c3.number]
    assert analysis[2][3:] == ("Charges", "Closed", "网点多收上门费50元属实", "退还多收费用", "退还50元并通报批评网点",
                               "yes")
    assert book["Complaints lacking a visit"][1:] == [(world.c2.number, a.name)]
    assert book["Parts by outlet"][1:] == [(a.code, a.name, 4, 258.5), (None, "Total", 4, 258.5)]
    assert book["Parts by part"][1:] == [(world.p1.code, world.p1.name, 3, 138),
                                         (world.p2.code, world.p2.name, 1, 120.5)]
    claims = book["Fee claims by outlet"]
    assert claims[0][2:] == ("Number of claims", "To audit", "Approved", "Adjusted", "Rejected", "Settled",
                             "Claimed total", "Approved total", "Adjusted", "Cut by adjustments", "Charged back")
    assert claims[1] == (a.code, a.name, 5, 1, 1, 1, 1, 1, 330, 225, 2, 25, 50)
    assert claims[2] == (None, "Total", 5, 1, 1, 1, 1, 1, 330, 225, 2, 25, 50)


# --- each role that may read it --------------------------------------------------------------------

def test_manager_reads_each_figure_of_an_outlet_on_the_page(world, as_user):  # R-RPT-2
    html = page(as_user(world.manager), f"{MARCH}&outlet={world.a.id}")
    assert_outlet_a(world, html)
    assert Figures(html).found["outlet-shown"] == world.a.name
    assert 'data-action="print"' in html and 'data-chart="' in html


def test_clerk_exports_the_same_figures_as_xlsx_and_csv(world, as_user):
    client = as_user(world.desk)
    assert_outlet_a(world, page(client, f"{MARCH}&outlet={world.a.id}"))
    response = client.get(f"/admin/kpis/?{MARCH}&outlet={world.a.id}&export=xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    book = sheets(response.data)
    assert book["Report period"][1] == ("2026-03-01", "2026-03-31", world.a.name)
    assert_export_of_a(world, book)
    text = client.get(f"/admin/kpis/?{MARCH}&outlet={world.a.id}&export=csv").data.decode("utf-8")
    assert text.startswith("\ufeffReport period")
    assert f"{world.a.code},{world.a.name},5,1,1,1,1,1,330.00,225.00,2,25.00,50.00" in text


def test_dealer_sees_only_its_outlets_kpis(world, as_user):  # R-ROLE-1
    network = page(as_user(world.manager), MARCH)
    assert world.b.name in network and world.b_complaint.number in network  # there to leak
    client = as_user(world.dealer_a)
    html = page(client, MARCH)  # no outlet picked: all the dealer's outlets, which are A alone
    assert_outlet_a(world, html)
    book = sheets(client.get(f"/admin/kpis/?{MARCH}&export=xlsx").data)
    assert_export_of_a(world, book)
    csv_text = client.get(f"/admin/kpis/?{MARCH}&export=csv").data.decode("utf-8")
    for other in (world.b.code, world.b.name, world.b_repair.number, world.b_complaint.number):
        assert other not in html and other not in csv_text and other not in str(book)


def test_a_dealer_picking_another_outlet_is_told_and_sees_its_own(world, as_user):
    client = as_user(world.dealer_a)
    html = page(client, f"{MARCH}&outlet={world.b.id}")
    assert "No such outlet among yours" in html
    assert_outlet_a(world, html)
    assert world.b.name not in html and world.b.code not in html
    book = sheets(client.get(f"/admin/kpis/?{MARCH}&outlet={world.b.id}&export=xlsx").data)
    assert book["Report period"][1] == ("2026-03-01", "2026-03-31", "All your outlets")
    assert_export_of_a(world, book)
    assert world.b.name not in str(book)


def test_an_engineer_is_refused_and_a_stranger_sent_to_sign_in(world, as_user, client):
    assert as_user(world.engineer).get(f"/admin/kpis/?{MARCH}").status_code == 403
    assert as_user(world.engineer).get(f"/admin/kpis/?{MARCH}&export=xlsx").status_code == 403
    response = client.get("/admin/kpis/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- input as typed --------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "message"), [
    ("from=2026-02-30&to=2026-03-31", "Give the dates as year-month-day"),
    ("from=2026-03-31&to=2026-03-01", "The period ends before it starts"),
    ("from=2019-01-01&to=2026-03-31", "A period of at most 1098 days"),
    ("from=" + "9" * 500 + "&to=２０２６-03-01", "Give the dates as year-month-day"),
    (MARCH + "&outlet=abc", "No such outlet among yours"),
    (MARCH + "&outlet=99999999999999999999", "No such outlet among yours"),
    (MARCH + "&export=pdf", "Exports are CSV or XLSX."),
])
def test_bad_input_is_a_message_on_the_page(world, as_user, query, message):
    from backoffice.timezones import local_today

    html = page(as_user(world.manager), query)
    assert message in html
    if "from=" in query and "outlet" not in query and "export" not in query:  # the default period instead
        today = local_today()
        assert Figures(html).found["period"] == f"{today.replace(day=1).isoformat()} – {today.isoformat()}"


def test_the_default_period_is_this_month_to_today(world, as_user):
    from backoffice.timezones import local_today

    today = local_today()
    html = page(as_user(world.manager))
    assert Figures(html).found["period"] == f"{today.replace(day=1).isoformat()} – {today.isoformat()}"


# --- the lists behind the figures ------------------------------------------------------------------

def test_figures_link_to_the_rows_behind_them(world, as_user):
    client = as_user(world.manager)
    links = Figures(page(client, f"{MARCH}&outlet={world.a.id}")).hrefs
    listed = client.get(links["repeats-link"]).get_data(as_text=True)  # the repairs registered in March at A
    for ticket in (world.r1, world.r2, world.r3, world.r4, world.r6):
        assert ticket.number in listed
    assert world.r5.number not in listed and world.c1.number not in listed and world.b_repair.number not in listed
    complaints = client.get(links["complaints-total"]).get_data(as_text=True)
    assert all(t.number in complaints for t in (world.c1, world.c2, world.c3)) and world.c0.number not in complaints
    assert links["lacking-ticket"].endswith(f"id={world.c2.id}")
    assert client.get(links["lacking-ticket"]).status_code == 200
    claims = client.get(links[f"claims-{world.a.code}-count"]).get_data(as_text=True)
    assert f"FW{world.r1.number}" in claims and f"FW{world.r6.number}" in claims
    assert f"FW{world.r5.number}" not in claims  # claimed in February
    adjusted = client.get(links[f"claims-{world.a.code}-adjusted"]).get_data(as_text=True)
    assert f"FW{world.r2.number}" in adjusted and f"FW{world.r1.number}" not in adjusted



# --- the demo world: every desk role, a dealer with a sub-outlet -------------------------------------

def demo_period() -> str:
    """The demo data's months: it is built back from today (backoffice.demo)."""
    from datetime import timedelta

    from backoffice.timezones import local_today

    today = local_today()
    return f"from={today - timedelta(days=150):%Y-%m-%d}&to={today:%Y-%m-%d}"


@pytest.mark.parametrize("username", ["admin", "manager", "clerk", "dealer1", "dealer2"])
def test_every_desk_role_opens_the_report_and_its_files(login_as, username):
    client = login_as(username)
    assert "data-testid=\"sla\"" in page(client, demo_period())
    for kind in ("csv", "xlsx"):
        assert client.get(f"/admin/kpis/?{demo_period()}&export={kind}").status_code == 200


def test_a_dealer_sees_its_outlet_and_sub_outlet_only(login_as):  # R-ROLE-1, DOMAIN §1 two tiers
    client = login_as("dealer1")  # GZ-TH and its sub-outlet GZ-TH-01
    html = page(client, demo_period())
    codes = set(re.findall(r'data-outlet="([^"]+)"', html))  # every row of every table by outlet
    assert codes == {"GZ-TH", "GZ-TH-01"}
    text = client.get(f"/admin/kpis/?{demo_period()}&export=csv").data.decode("utf-8")
    assert "FS-SD" not in text and "DG-NC" not in text and "FS-SD" not in html


def test_claim_counts_link_to_the_list_only_for_a_whole_month(world, as_user):
    """The claim list filters by the month claimed: another period's counts are shown unlinked."""
    client = as_user(world.manager)
    found = Figures(page(client, f"from=2026-03-02&to=2026-03-31&outlet={world.a.id}"))
    assert found.found[f"claims-{world.a.code}-count"] == "5" and f"claims-{world.a.code}-count" not in found.hrefs
