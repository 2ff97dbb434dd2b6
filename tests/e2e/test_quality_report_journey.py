"""The monthly quality report in Chromium (R-RPT-1): the manager opens it from the menu, picks the
month and an outlet, sees the batch alert for a model, opens the tickets behind it, and exports the
report as XLSX; the file opens with openpyxl and its totals equal the screen's.

The outlet, its model's faults and the manager are made with tests/factories.py in a month before
the demo data (tests/web/test_quality_report_screen.py builds the same batch)."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from backoffice import months
from backoffice.timezones import local_today
from tests import factories as f
from tests.e2e.test_role_journeys import people, seeding  # noqa: F401  (fixture)
from tests.unit.test_quality_report import World

REPORT_LINK = "a[href='/admin/quality_report/']"


def test_manager_follows_a_batch_alert_to_its_tickets_and_exports_the_report(live_server, people):  # noqa: F811
    month = months.recent(local_today(), 15)[-1]
    with seeding(live_server) as session:
        world = World(session)
        for before in months.recent(month, 4)[1:]:
            world.fault(before, fault=world.noise)
        batch = [world.fault(month, day, fault=world.ignition, cause=world.thermocouple).number
                 for day in range(3, 10)]
        manager = f.make_user(session, "manager").username
        ids = {"outlet": world.outlet.id, "model": world.model.code}

    person = people(manager)
    page = person.page
    page.locator(f"li.dropdown:has({REPORT_LINK}) > a.dropdown-toggle").click()
    with page.expect_navigation():
        page.click(REPORT_LINK)
    page.select_option("#month", f"{month:%Y-%m}")
    page.select_option("#outlet", str(ids["outlet"]))
    person.submit(page.locator("[data-testid=report-filters] button"))
    assert page.locator("[data-chart-ready]").count() >= 3  # the vendored charts drew
    alert = page.locator(f"[data-testid=alert][data-model='{ids['model']}']")
    assert alert.count() == 1 and alert.locator("[data-testid=alert-faults]").inner_text() == "7"
    screen_total = int(page.locator("[data-testid=by-model] [data-testid=total]").inner_text())
    person.snapshot("quality-report")

    person.submit(alert.locator("[data-testid=alert-tickets]"))
    listed = page.locator("table.model-list tbody, table tbody").first.inner_text()
    assert all(number in listed for number in batch)
    person.snapshot("alert-tickets")

    page.go_back()
    with page.expect_download() as download:
        page.click("[data-testid=export-xlsx]")
    assert download.value.suggested_filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    rows = list(book.worksheets[2].iter_rows(values_only=True))  # by product model
    assert rows[-1][2] == screen_total == 7
    alerts = list(book.worksheets[1].iter_rows(values_only=True))
    assert [row[0] for row in alerts[1:]] == [ids["model"]] and alerts[1][2] == 7
    person.check()
