"""Appraisal screens per role (R-APR-1..3): staff read and acknowledge only their own records and
rank only themselves; a manager scores others (never himself or the person he reports to) from the
suggested figures; bad scores and a second record of a period come back with a message and what
was typed, never a 500; the ranking shows the composite and 先进员工, printed and exported."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice import appraisal
from backoffice.appraisal_suggestions import Figure, Suggestion
from backoffice.timezones import local_today
from models import AppraisalRecord, User
from tests import factories as f
from tests.web.test_admin_form_checks import field_error, refused_on_the_form
from tests.web.test_forms_per_role import FormPage, text

LAST_YEAR = local_today().year - 1


def person(session, username) -> User:
    return f.user(session, username)


def records_of(session, username) -> list[int]:
    session.expire_all()
    return list(session.scalars(select(AppraisalRecord.id).where(
        AppraisalRecord.staff_id == person(session, username).id).order_by(AppraisalRecord.id)))


def count(session, **where) -> int:
    session.expire_all()
    stmt = select(func.count()).select_from(AppraisalRecord)
    for key, value in where.items():
        stmt = stmt.where(getattr(AppraisalRecord, key) == value)
    return session.scalar(stmt)


@pytest.fixture
def english(session):
    for username in ("manager", "clerk", "engineer", "admin"):
        person(session, username).locale = "en"
    session.commit()


@pytest.fixture
def stub_suggestions(monkeypatch):
    """勤 17.5 and 绩 27 with their figures, whatever the service record holds."""
    found = {"diligence": Suggestion(Decimal("17.5"), [Figure("SLA clocks met", "18 / 20", Decimal("-2"))]),
             "results": Suggestion(Decimal("27"), [Figure("First-time fixes", "9 / 10", Decimal("-3"))])}
    monkeypatch.setattr(appraisal, "suggestions", lambda session, staff, kind, day: found if staff and day else {})
    return found


def score(client, url="/admin/appraisal/new/", **typed):
    form = FormPage(text(client.get(url)))
    return client.post(url, data={**form.values, **typed})


MARCH = {"period_kind": "monthly", "period_start": f"{LAST_YEAR}-03-15", "conduct": "18", "diligence": "19",
         "ability": "26", "results": "27", "commendation": "0", "penalty": "0", "note": "三月考核"}


# --- staff read their own, nothing of colleagues' ----------------------------------------------------

@pytest.mark.parametrize("username,colleague", [("clerk", "engineer"), ("engineer", "clerk")])
def test_staff_read_only_their_own_scores_in_list_details_export_ranking_and_print(
        login_as, session, english, username, colleague):
    own, theirs = records_of(session, username), records_of(session, colleague)
    client = login_as(username)
    listed = text(client.get("/admin/appraisal/?page_size=500"))
    assert person(session, username).full_name in listed and person(session, colleague).full_name not in listed
    assert client.get(f"/admin/appraisal/details/?id={theirs[0]}").status_code == 404
    assert client.get(f"/admin/appraisal/details/?id={own[0]}").status_code == 200
    assert client.get("/admin/appraisal/export/csv/").status_code in (302, 403)  # no export for staff
    for kind in ("", "export/csv/"):
        ranking = text(client.get(f"/admin/appraisal_ranking/{kind}?year={LAST_YEAR}"))
        assert person(session, username).full_name in ranking and person(session, colleague).full_name not in ranking
    colleague_id = person(session, colleague).id
    assert client.get(f"/admin/appraisal_ranking/print/?staff={colleague_id}&year={LAST_YEAR}").status_code == 404
    own_print = client.get(f"/admin/appraisal_ranking/print/?staff={person(session, username).id}&year={LAST_YEAR}")
    assert own_print.status_code == 200 and "register-composite" in text(own_print)


def test_a_dealer_has_no_appraisal_screens(login_as):
    dealer = login_as("dealer1")
    for url in ("/admin/appraisal/", "/admin/appraisal_ranking/", "/admin/appraisal_ranking/export/csv/"):
        assert dealer.get(url).status_code == 403


@pytest.mark.parametrize("username", ["clerk", "engineer"])
def test_staff_cannot_open_the_scoring_form(login_as, username):
    assert login_as(username).get("/admin/appraisal/new/").status_code == 403


# --- a manager scores others, never himself nor the person he reports to ---------------------------------

def test_a_manager_cannot_score_himself(login_as, session, english, stub_suggestions):
    manager = login_as("manager")
    response = score(manager, **{**MARCH, "staff": str(person(session, "manager").id)})
    refused_on_the_form(response, "三月考核")
    assert "own appraisal" in field_error(response, "staff")
    assert count(session, staff_id=person(session, "manager").id, period_start=date(LAST_YEAR, 3, 1),
                 period_kind="monthly") == 1  # the demo's, untouched


def test_a_manager_cannot_score_the_admin_he_reports_to(login_as, session, english, stub_suggestions):
    admin = person(session, "admin")
    response = score(login_as("manager"), **{**MARCH, "staff": str(admin.id)})
    refused_on_the_form(response, "三月考核")
    assert "reports to" in field_error(response, "staff")
    assert count(session, staff_id=admin.id) == 0


@pytest.mark.parametrize("field,value,words", [("conduct", "-5", "between 0 and 20"),
                                               ("ability", "31", "between 0 and 30"),
                                               ("results", "27.3", "steps of 0.5"),
                                               ("commendation", "12", "between 0 and 10")])
def test_a_bad_score_comes_back_with_a_message_and_what_was_typed(login_as, session, english, stub_suggestions,
                                                                  field, value, words):
    staff = f.make_user(session, "engineer")
    session.commit()
    response = score(login_as("manager"), **{**MARCH, "staff": str(staff.id), field: value,
                                             "deductions-0-dimension": "results", "deductions-0-points": "3",
                                             "deductions-0-reason": "回访满意度未达标"})
    refused_on_the_form(response, value, "三月考核", "回访满意度未达标")
    assert words in field_error(response, field)
    assert count(session, staff_id=staff.id) == 0


def test_a_second_record_of_the_period_comes_back_with_a_message_and_what_was_typed(login_as, session, english,
                                                                                    stub_suggestions):
    clerk = person(session, "clerk")
    response = score(login_as("manager"), **{**MARCH, "staff": str(clerk.id), "note": "重复录入"})
    refused_on_the_form(response, "重复录入", f"{LAST_YEAR}-03-15")
    assert "already has a record" in field_error(response, "period_start")
    assert count(session, staff_id=clerk.id, period_kind="monthly", period_start=date(LAST_YEAR, 3, 1)) == 1


def test_a_manager_scores_a_clerk_from_the_suggestions_and_itemises_a_deduction(
        login_as, session, english, stub_suggestions):
    clerk = f.make_user(session, "clerk", reports_to=person(session, "manager"))
    session.commit()
    manager = login_as("manager")
    url = f"/admin/appraisal/new/?staff={clerk.id}&period_kind=monthly&period_start=2026-04-10"
    page = text(manager.get(url))
    assert "17.5" in page and "SLA clocks met" in page and "18 / 20" in page  # the figures behind it
    form = FormPage(page)
    used = manager.post(url, data={**form.values, "use": "diligence"})  # "use suggestion": nothing saved
    assert FormPage(text(used)).values["diligence"] == "17.5" and count(session, staff_id=clerk.id) == 0
    typed = {**FormPage(text(used)).values, "conduct": "19", "ability": "28", "results": "25", "note": "",
             "deductions-0-dimension": "conduct", "deductions-0-points": "1", "deductions-0-reason": "迟到一次"}
    changed = manager.post(url, data=typed)  # 绩 25 instead of the suggested 27, and no note
    refused_on_the_form(changed, "25", "迟到一次")
    assert "differs from the suggestion" in field_error(changed, "note")
    saved = manager.post(url, data={**typed, "note": "四月有一次投诉，绩效酌情扣分"})
    assert saved.status_code == 302
    session.expire_all()
    record = session.scalar(select(AppraisalRecord).where(AppraisalRecord.staff_id == clerk.id))
    assert (record.diligence, record.diligence_suggested, record.results, record.results_suggested) == (
        Decimal("17.5"), Decimal("17.5"), Decimal("25"), Decimal("27"))
    assert [(d.dimension, d.points, d.reason) for d in record.deductions] == [("conduct", Decimal(1), "迟到一次")]
    details = text(manager.get(saved.location))
    assert "迟到一次" in details and "89.5" in details  # 19 + 17.5 + 28 + 25


def test_the_real_suggestions_show_on_the_form(login_as, session, english):
    engineer = person(session, "engineer")
    page = login_as("manager").get(f"/admin/appraisal/new/?staff={engineer.id}&period_kind=monthly"
                                   f"&period_start={local_today().isoformat()}")
    assert page.status_code == 200 and 'data-testid="suggestions"' in text(page)


# --- acknowledgement -------------------------------------------------------------------------------

def test_the_clerk_acknowledges_a_record_and_reads_it_back(login_as, session, english):
    clerk = person(session, "clerk")
    record = f.make_appraisal(session, clerk, period_kind="weekly", period_start=date(2026, 6, 1),
                              scored_by=person(session, "manager"))
    session.commit()
    client = login_as("clerk")
    details = f"/admin/appraisal/details/?id={record.id}"
    assert 'data-testid="acknowledge"' in text(client.get(details))
    done = client.post(f"/admin/appraisal/acknowledge/?id={record.id}", data={"csrf_token": client.csrf})
    assert done.status_code == 302
    page = text(client.get(details))
    assert "You acknowledged this record already" in page and 'data-testid="acknowledge"' not in page
    session.expire_all()
    assert session.get(AppraisalRecord, record.id).acknowledged_at is not None


def test_nobody_acknowledges_a_colleagues_record(login_as, session):
    record = f.make_appraisal(session, person(session, "clerk"), period_kind="weekly", period_start=date(2026, 6, 8))
    session.commit()
    engineer = login_as("engineer")
    assert engineer.post(f"/admin/appraisal/acknowledge/?id={record.id}",
                         data={"csrf_token": engineer.csrf}).status_code == 404
    manager = login_as("manager")
    assert manager.post(f"/admin/appraisal/acknowledge/?id={record.id}",
                        data={"csrf_token": manager.csrf}).status_code == 302
    session.expire_all()
    assert session.get(AppraisalRecord, record.id).acknowledged_at is None


def test_a_manager_sees_why_he_may_not_edit_his_own_record(login_as, session, english):
    own = records_of(session, "manager")[0]
    page = text(login_as("manager").get(f"/admin/appraisal/details/?id={own}"))
    assert "own appraisal" in page


# --- the ranking, printed and exported -----------------------------------------------------------------

def test_the_manager_reads_last_years_ranking_with_the_advanced_employee(login_as, session, english):
    page = text(login_as("manager").get(f"/admin/appraisal_ranking/?year={LAST_YEAR}"))
    clerk_row = page.split('data-staff="clerk"')[1].split("</tr>")[0]
    assert 'data-testid="advanced"' in clerk_row and 'data-testid="provisional"' not in clerk_row
    this_year = text(login_as("manager").get("/admin/appraisal_ranking/"))
    if local_today().month > 1:  # this year has no year-end yet
        assert 'data-testid="provisional"' in this_year


def test_the_ranking_filters_by_role_and_outlet(login_as, session, english):
    manager = login_as("manager")
    clerks = text(manager.get(f"/admin/appraisal_ranking/?year={LAST_YEAR}&role=clerk"))
    assert 'data-staff="clerk"' in clerks and 'data-staff="engineer"' not in clerks
    outlet_id = person(session, "engineer2").outlet_id
    outlet = text(manager.get(f"/admin/appraisal_ranking/?year={LAST_YEAR}&outlet={outlet_id}"))
    assert 'data-staff="engineer2"' in outlet and 'data-staff="clerk"' not in outlet
    center = text(manager.get(f"/admin/appraisal_ranking/?year={LAST_YEAR}&outlet=0"))
    assert 'data-staff="clerk"' in center and 'data-staff="engineer2"' not in center


def test_the_ranking_exports_as_csv_and_xlsx(login_as, session, english):
    from openpyxl import load_workbook

    manager = login_as("manager")
    csv_file = manager.get(f"/admin/appraisal_ranking/export/csv/?year={LAST_YEAR}")
    assert csv_file.status_code == 200 and csv_file.mimetype == "text/csv"
    body = csv_file.get_data(as_text=True)
    assert body.startswith("\ufeff") and "Advanced employee" in body and person(session, "clerk").full_name in body
    xlsx = manager.get(f"/admin/appraisal_ranking/export/xlsx/?year={LAST_YEAR}")
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    rows = list(sheet.values)
    assert rows[0][0] == "Rank" and any(person(session, "clerk").full_name in str(r[1]) for r in rows[1:])


def test_the_monthly_and_annual_registers_print(login_as, session, english):
    clerk = person(session, "clerk")
    manager = login_as("manager")
    month = text(manager.get(f"/admin/appraisal_ranking/print/?staff={clerk.id}&month={LAST_YEAR}-03"))
    assert "Monthly appraisal register" in month and month.count('data-testid="register-line"') == 2
    year = text(manager.get(f"/admin/appraisal_ranking/print/?staff={clerk.id}&year={LAST_YEAR}"))
    assert "Annual appraisal register" in year and "Advanced employee" in year


# --- the reporting line on the user form ------------------------------------------------------------

def test_the_admin_sets_whom_a_person_reports_to(login_as, session, english):
    engineer, manager2 = person(session, "engineer"), f.make_user(session, "manager")
    session.commit()
    admin = login_as("admin")
    url = f"/admin/user/edit/?id={engineer.id}"
    saved = admin.post(url, data={**FormPage(text(admin.get(url))).values, "reports_to": str(manager2.id)})
    assert saved.status_code == 302
    session.expire_all()
    assert person(session, "engineer").reports_to_id == manager2.id


@pytest.mark.parametrize("username", ["manager", "clerk"])
def test_the_appraisal_pages_show_no_raw_enum_key(login_as, session, username, stub_suggestions):
    from tests.web.test_no_raw_enum_keys import WORD, visible_text

    client = login_as(username)
    me = person(session, username)
    last = records_of(session, username)[-1]
    urls = [f"/admin/appraisal_ranking/?year={LAST_YEAR}", f"/admin/appraisal/details/?id={last}",
            f"/admin/appraisal_ranking/print/?staff={me.id}&year={LAST_YEAR}",
            f"/admin/appraisal_ranking/print/?staff={me.id}&month={LAST_YEAR}-12", "/admin/appraisal/"]
    if username == "manager":
        urls.append(f"/admin/appraisal/new/?staff={person(session, 'clerk').id}&period_kind=monthly_check")
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert not WORD.findall(visible_text(text(response))), url
