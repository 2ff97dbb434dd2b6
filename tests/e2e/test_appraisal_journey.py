"""A manager scores a clerk's monthly appraisal from the figures the service record suggests,
then reads the clerk's annual composite on the ranking screen, in Chromium (R-APR-1..3).

The test scores last month's monthly appraisal of the demo clerk (李晓敏), whose tickets give
the suggestions; the demo's record of that month is removed first, so the test depends on no
other test."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import delete, select

from backoffice import appraisal
from backoffice.months import previous_month
from backoffice.timezones import local_today
from models import AppraisalRecord, User, db
from tests.e2e.conftest import login, screenshot


def last_month_free(live_server) -> tuple[int, str]:
    """(the clerk's id, a day of last month) with no monthly appraisal of the clerk that month."""
    month = previous_month(local_today())
    with live_server.app.app_context():
        clerk = db.session.scalar(select(User).where(User.username == "clerk"))
        db.session.execute(delete(AppraisalRecord).where(
            AppraisalRecord.staff_id == clerk.id, AppraisalRecord.period_kind == "monthly",
            AppraisalRecord.period_start == month))
        db.session.commit()
        return clerk.id, month.replace(day=15).isoformat()


def composite_of(live_server, clerk_id: int, year: int):
    with live_server.app.app_context():
        return appraisal.annual(db.session, db.session.get(User, clerk_id), year)


def test_manager_scores_a_clerk_from_the_suggestions_then_reads_the_annual_composite(page, live_server):
    clerk_id, day = last_month_free(live_server)
    login(page, "manager")
    page.goto("/admin/appraisal/new/")
    form = page.get_by_test_id("appraisal-form")
    form.locator("select[name=staff]").select_option(str(clerk_id))
    form.locator("select[name=period_kind]").select_option("monthly")
    form.locator("input[name=period_start]").fill(day)
    with page.expect_navigation():
        page.get_by_test_id("suggest").click()

    suggestions = page.get_by_test_id("suggestions")
    assert suggestions.count() == 1
    used = []
    for name in ("diligence", "results"):  # the figures behind each suggestion, then "use suggestion"
        if page.get_by_test_id(f"use-{name}").count():
            assert page.get_by_test_id(f"suggestion-{name}").get_by_test_id("figure").count() > 0
            value = page.get_by_test_id(f"suggested-{name}").inner_text().strip()
            with page.expect_navigation():
                page.get_by_test_id(f"use-{name}").click()
            assert page.get_by_test_id(f"score-{name}").input_value() == value
            used.append(name)
    assert used, "the clerk's service record suggested nothing for last month"
    screenshot(page, "appraisal-suggestions", full_page=True)

    page.get_by_test_id("score-conduct").fill("19")
    page.get_by_test_id("score-ability").fill("28")
    for name in {"diligence", "results"} - set(used):  # no data for it: the manager scores it
        page.get_by_test_id(f"score-{name}").fill("18")
    page.locator("select[name='deductions-0-dimension']").select_option("conduct")
    page.locator("input[name='deductions-0-points']").fill("1")
    page.locator("input[name='deductions-0-reason']").fill("月中一次上门迟到")
    page.locator("textarea[name=note]").fill("按系统建议评分")
    with page.expect_navigation():
        page.get_by_test_id("save-appraisal").click()
    assert "/admin/appraisal/details/" in page.url, page.content()[:2000]
    record = page.get_by_test_id("appraisal-record")
    assert "月中一次上门迟到" in record.inner_text()

    year = int(day[:4])
    expected = composite_of(live_server, clerk_id, year)
    assert expected.part("monthly").count >= 1 and expected.value is not None
    page.goto(f"/admin/appraisal_ranking/?year={year}")
    row = page.locator("[data-testid=ranking-row][data-staff=clerk]")
    assert row.count() == 1
    assert row.get_by_test_id("composite").inner_text().split()[0] == f"{expected.value:.2f}"
    monthly = row.get_by_test_id("part-monthly").inner_text().split()[0]
    assert Decimal(monthly) == expected.part("monthly").average.quantize(Decimal("0.01"))
    assert (row.get_by_test_id("provisional").count() == 1) == expected.provisional
    screenshot(page, "appraisal-ranking", full_page=True)
