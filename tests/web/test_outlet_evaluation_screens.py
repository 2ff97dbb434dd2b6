"""R-APR-5 screens: the outlets' annual evaluation per role. A dealer sees only its own outlets'
evaluation (ranking, export, by id); a manager records awards, licences and inspections and
reads them back; a clerk reads but does not award; hostile input gets field messages, never a 500."""
import io
import re

import pytest
from sqlalchemy import select

from backoffice import outlet_awards
from backoffice.timezones import local_today
from models import Outlet, User, db
from models.evaluation import OutletAward, OutletInspection, OutletQualification

YEAR = local_today().year
BASE = "/admin/outlet_evaluation"


def outlet_id(app, code) -> int:
    with app.app_context():
        return db.session.scalar(select(Outlet.id).where(Outlet.code == code))


def user_id(app, username) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def awards_this_year(app) -> list:
    with app.app_context():
        return db.session.scalars(select(OutletAward).where(OutletAward.year == YEAR)).all()


def ranked_codes(page: str) -> set[str]:
    return set(re.findall(r'data-testid="ranking-row" data-outlet="([^"]+)"', page))


def test_a_dealer_sees_only_its_own_outlets_evaluation(app, login_as):  # R-ROLE-1, R-APR-5
    dealer = login_as("dealer1")
    page = dealer.get(f"{BASE}/")
    assert page.status_code == 200
    assert ranked_codes(page.get_data(as_text=True)) == {"GZ-TH", "GZ-TH-01"}
    export = dealer.get(f"{BASE}/export.csv?year={YEAR}")
    text = export.get_data(as_text=True)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert "GZ-TH" in text and "FS-SD" not in text and "DG-NC" not in text
    assert dealer.get(f"{BASE}/outlet/{outlet_id(app, 'GZ-TH')}/").status_code == 200
    assert dealer.get(f"{BASE}/outlet/{outlet_id(app, 'FS-SD')}/").status_code == 404
    assert dealer.get(f"{BASE}/outlet/{outlet_id(app, 'SC-GZ')}/").status_code == 404


def test_a_manager_sees_every_dealer_outlet_but_not_the_center(app, login_as):
    page = login_as("manager").get(f"{BASE}/?year={YEAR}").get_data(as_text=True)
    assert ranked_codes(page) == {"GZ-TH", "GZ-TH-01", "FS-SD", "DG-NC"}
    assert 'data-testid="award-form"' in page


def test_a_dealer_may_not_award_or_record_qualifications(app, login_as):
    dealer = login_as("dealer1")
    own = outlet_id(app, "GZ-TH")
    assert dealer.post(f"{BASE}/award/", data={"csrf_token": dealer.csrf, "year": YEAR, "recipient": "outlet",
                                               "outlet_id": own, "title": "自评先进"}).status_code == 403
    assert dealer.post(f"{BASE}/outlet/{own}/licence/", data={"csrf_token": dealer.csrf, "licence_number": "X"}
                       ).status_code == 403
    assert awards_this_year(app) == []


def test_a_manager_awards_an_outlet_and_everyone_concerned_reads_it(app, login_as):  # R-APR-5
    manager = login_as("manager")
    gz = outlet_id(app, "GZ-TH")
    response = manager.post(f"{BASE}/award/", data={
        "csrf_token": manager.csrf, "year": str(YEAR), "recipient": "outlet", "outlet_id": str(gz),
        "title": "年度先进服务网点", "note": "全年零投诉"})
    assert response.status_code == 302
    ranking = manager.get(f"{BASE}/?year={YEAR}").get_data(as_text=True)
    assert "年度先进服务网点" in ranking
    details = login_as("dealer1").get(f"/admin/outlet/details/?id={gz}").get_data(as_text=True)
    assert 'data-testid="outlet-award"' in details and "年度先进服务网点" in details
    assert "年度先进服务网点" not in login_as("dealer2").get(f"{BASE}/?year={YEAR}").get_data(as_text=True)


def test_a_manager_awards_a_person(app, login_as):
    manager = login_as("manager")
    response = manager.post(f"{BASE}/award/", data={
        "csrf_token": manager.csrf, "year": str(YEAR), "recipient": "person", "staff_id": user_id(app, "engineer3"),
        "title": "年度优秀服务工程师"})
    assert response.status_code == 302
    assert "年度优秀服务工程师" in login_as("dealer1").get(f"{BASE}/").get_data(as_text=True)  # GZ-TH's engineer


def test_an_outlet_penalised_for_overcharging_is_refused_with_the_reason(app, login_as):  # R-CMP-3
    penalised = outlet_id(app, "GZ-TH-01")
    with app.app_context():
        if not outlet_awards.penalties(db.session, YEAR, penalised):
            pytest.skip("the demo's overcharge fell in another year")
    manager = login_as("manager")
    response = manager.post(f"{BASE}/award/", data={
        "csrf_token": manager.csrf, "year": str(YEAR), "recipient": "outlet", "outlet_id": str(penalised),
        "title": "年度先进服务网点", "note": "留在表单"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "overcharge was confirmed" in page or "多收费" in page or "乱收费" in page or "超收" in page
    assert 'value="留在表单"' in page  # nothing typed is lost
    assert awards_this_year(app) == []


def test_a_clerk_reads_the_ranking_but_may_not_award(app, login_as):
    clerk = login_as("clerk")
    page = clerk.get(f"{BASE}/")
    assert page.status_code == 200 and 'data-testid="award-form"' not in page.get_data(as_text=True)
    response = clerk.post(f"{BASE}/award/", data={"csrf_token": clerk.csrf, "year": str(YEAR), "recipient": "outlet",
                                                  "outlet_id": outlet_id(app, "FS-SD"), "title": "先进"})
    assert response.status_code == 403
    assert login_as("engineer").get(f"{BASE}/").status_code == 403


def test_a_manager_records_licence_and_inspection_and_reads_them_back(app, login_as):  # R-APR-5
    manager = login_as("manager")
    fs = outlet_id(app, "FS-SD")
    response = manager.post(f"{BASE}/outlet/{fs}/licence/", data={
        "csrf_token": manager.csrf, "licence_number": "91440606MA4UXXXX2K", "licence_valid_until": "2029-12-31",
        "back": "outlet"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/outlet/details/?id={fs}")
    response = manager.post(f"{BASE}/outlet/{fs}/inspection/", data={
        "csrf_token": manager.csrf, "inspection_year": str(YEAR), "inspection_result": "rectify",
        "inspection_note": "备件库房需整改"})
    assert response.status_code == 302
    for client in (manager, login_as("dealer2")):
        details = client.get(f"/admin/outlet/details/?id={fs}").get_data(as_text=True)
        assert "91440606MA4UXXXX2K" in details and "2029-12-31" in details and "备件库房需整改" in details
    with app.app_context():
        assert db.session.scalar(select(OutletInspection.result).where(
            OutletInspection.outlet_id == fs, OutletInspection.year == YEAR)) == "rectify"
    assert "91440606MA4UXXXX2K" not in login_as("dealer1").get(f"{BASE}/outlet/{outlet_id(app, 'GZ-TH')}/").get_data(
        as_text=True)


@pytest.mark.parametrize("data, field", [
    ({"year": "二〇二五", "outlet_id": "1", "title": "先进"}, "year"),
    ({"year": "99999999999999999999", "outlet_id": "1", "title": "先进"}, "year"),
    ({"outlet_id": "²", "title": "先进"}, "outlet_id"),
    ({"outlet_id": "99999999999999999999", "title": "先进"}, "outlet_id"),
    ({"title": "长" * 61}, "title"),
    ({"title": "先进", "note": "x" * 2001}, "note"),
    ({"recipient": "person", "staff_id": "-1", "title": "先进"}, "staff_id"),
])
def test_hostile_award_input_gets_field_messages(app, login_as, data, field):
    manager = login_as("manager")
    form = {"csrf_token": manager.csrf, "year": str(YEAR), "recipient": "outlet",
            "outlet_id": str(outlet_id(app, "FS-SD"))} | data
    response = manager.post(f"{BASE}/award/", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page[:300]
    assert "invalid-feedback" in page
    assert awards_this_year(app) == []


def test_hostile_qualification_input_gets_field_messages(app, login_as):
    manager = login_as("manager")
    fs = outlet_id(app, "FS-SD")
    response = manager.post(f"{BASE}/outlet/{fs}/licence/", data={
        "csrf_token": manager.csrf, "licence_number": "<b>91440606</b>", "licence_valid_until": "2026-13-45"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="licence_valid_until"' in page
    assert "&lt;b&gt;91440606&lt;/b&gt;" in page  # kept, escaped
    response = manager.post(f"{BASE}/outlet/{fs}/inspection/", data={
        "csrf_token": manager.csrf, "inspection_year": "0", "inspection_result": "excellent"})
    assert response.status_code == 422
    with app.app_context():
        kept = db.session.scalar(select(OutletQualification.licence_number).where(OutletQualification.outlet_id == fs))
    assert kept != "<b>91440606</b>"  # nothing stored


@pytest.mark.parametrize("url", [f"{BASE}/?year=abc", f"{BASE}/?year=99999", f"{BASE}/export.csv?year=-1",
                                 f"{BASE}/outlet/99999999999999999999/", f"{BASE}/outlet/1/?year=x"])
def test_odd_addresses_never_fail(login_as, url):
    for username in ("manager", "dealer1"):
        assert login_as(username).get(url).status_code in (200, 404)


def test_withdrawing_an_award(app, login_as):
    manager = login_as("manager")
    manager.post(f"{BASE}/award/", data={"csrf_token": manager.csrf, "year": str(YEAR), "recipient": "outlet",
                                         "outlet_id": str(outlet_id(app, "FS-SD")), "title": "年度先进服务网点"})
    with app.app_context():
        award_id = db.session.scalar(select(OutletAward.id).where(OutletAward.year == YEAR))
    clerk = login_as("clerk")
    assert clerk.post(f"{BASE}/award/{award_id}/withdraw/", data={"csrf_token": clerk.csrf}).status_code == 403
    assert manager.post(f"{BASE}/award/{award_id}/withdraw/", data={"csrf_token": manager.csrf}).status_code == 302
    with app.app_context():
        assert db.session.get(OutletAward, award_id) is None


def test_a_dealers_xlsx_ranking_holds_its_own_outlets_with_numeric_scores(login_as):  # R-ROLE-1, R-APR-5
    from openpyxl import load_workbook

    response = login_as("dealer1").get(f"{BASE}/export.xlsx?year={YEAR}")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert {row[1] for row in rows[1:]} == {"GZ-TH", "GZ-TH-01"}
    assert all(isinstance(value, (int, float)) for row in rows[1:] for value in row[3:9] if value != "")
