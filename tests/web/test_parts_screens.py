"""The spare-parts screens for each role (R-PART-2…8, R-ROLE-1, R-ROLE-2)."""
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from backoffice import accounts
from backoffice.demo import DEMO_PASSWORD
from models import (LedgerEntry, OldPart, Part, PartsAccount, PartsReconciliation, PartsRequest,
                    PartsReturn)
from tests import factories as f


def text(response):
    return response.get_data(as_text=True)


def account(session, code):
    return session.scalar(select(PartsAccount).where(PartsAccount.outlet_id == f.outlet(session, code).id))


def version(client, url):
    found = re.search(r'name="loaded_version" value="(\d+)"', text(client.get(url)))
    return found.group(1) if found else ""


def post_action(client, endpoint, action, record_id, **data):
    url = f"/admin/{endpoint}/details/?id={record_id}"
    return client.post(f"/admin/{endpoint}/{action}/?id={record_id}",
                       data={"csrf_token": client.csrf, "loaded_version": version(client, url), **data})


def request_parts(client, session, code, *lines, **extra):
    data = {"csrf_token": client.csrf, "outlet_id": str(f.outlet(session, code).id), "note": "周转配件"}
    for i, (part, qty) in enumerate(lines):
        data[f"part_id-{i}"], data[f"qty-{i}"] = str(part.id), str(qty)
    data.update(extra)
    return client.post("/admin/parts_request/request/", data=data)


def a_part(session, below=None):
    stmt = select(Part).where(Part.active.is_(True), Part.unit_price >= 20).order_by(Part.id)
    return session.scalars(stmt).first()


def test_dealer_sees_only_own_outlets_parts_records(login_as, session):  # R-ROLE-1
    dealer = login_as("dealer1")
    foreign = account(session, "FS-SD")
    assert "FS-SD" not in text(dealer.get("/admin/parts_account/"))
    assert dealer.get(f"/admin/parts_account/details/?id={foreign.id}").status_code == 404
    assert dealer.get(f"/admin/parts_account/statement.csv?id={foreign.id}").status_code == 404
    for endpoint, model in (("parts_request", PartsRequest), ("parts_return", PartsReturn),
                            ("parts_month", PartsReconciliation), ("old_part", OldPart)):
        other = session.scalar(select(model).where(model.outlet_id == foreign.outlet_id))
        if other is not None:
            assert dealer.get(f"/admin/{endpoint}/details/?id={other.id}").status_code == 404, endpoint
        export = text(dealer.get(f"/admin/{endpoint}/export/csv/"))
        assert "FS-SD" not in export and "顺德" not in export, endpoint


def test_dealer_requests_parts_center_reviews_ships_and_dealer_confirms(login_as, session):  # R-PART-3
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    part = a_part(session)
    before = account(session, "GZ-TH").balance
    response = request_parts(dealer, session, "GZ-TH", (part, 2))
    assert response.status_code == 302, text(response)[:2000]
    created = session.scalars(select(PartsRequest).order_by(PartsRequest.id.desc())).first()
    assert created.status == "submitted" and created.lines[0].qty == 2
    line = created.lines[0]
    assert post_action(clerk, "parts_request", "review", created.id,
                       **{f"settlement-{line.id}": "on_account"}).status_code == 302
    assert "picking-list" in text(clerk.get(f"/admin/parts_request/picking/?id={created.id}"))
    assert post_action(clerk, "parts_request", "ship", created.id, courier="顺丰速运",
                       tracking_no="SF1234567890").status_code == 302
    assert post_action(dealer, "parts_request", "delivery", created.id, complete="yes").status_code == 302
    session.expire_all()
    assert session.get(PartsRequest, created.id).status == "delivered"
    assert account(session, "GZ-TH").balance == before - part.unit_price * 2


def test_request_form_keeps_typed_lines_on_error(login_as, session):
    dealer = login_as("dealer1")
    part = a_part(session)
    response = request_parts(dealer, session, "GZ-TH", (part, "两个"))
    page = text(response)
    assert response.status_code == 200 and "is-invalid" in page
    assert f'<option value="{part.id}" selected' in page and 'value="两个"' in page


def test_dealer_cannot_review_or_ship(login_as, session):
    dealer = login_as("dealer2")
    waiting = session.scalar(select(PartsRequest).where(PartsRequest.status == "submitted",
                                                        PartsRequest.outlet_id == f.outlet(session, "FS-SD").id))
    line = waiting.lines[0]
    response = post_action(dealer, "parts_request", "review", waiting.id, **{f"settlement-{line.id}": "on_account"})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(PartsRequest, waiting.id).status == "submitted"


def test_third_batch_needs_an_exception_that_a_manager_decides(login_as, session):  # R-PART-3, R-ROLE-2
    dealer, manager = login_as("dealer1"), login_as("manager")
    part = a_part(session)
    for _ in range(2):
        assert request_parts(dealer, session, "GZ-TH-01", (part, 1)).status_code == 302
    refused = request_parts(dealer, session, "GZ-TH-01", (part, 1))
    assert refused.status_code == 200 and "exception_reason" in text(refused) and "is-invalid" in text(refused)
    assert request_parts(dealer, session, "GZ-TH-01", (part, 1),
                         exception_reason="燃气热水器批量故障，急需比例阀").status_code == 302
    third = session.scalars(select(PartsRequest).order_by(PartsRequest.id.desc())).first()
    assert third.status == "awaiting_exception"
    assert 'data-testid="decide-exception"' not in text(dealer.get(f"/admin/parts_request/details/?id={third.id}"))
    assert post_action(manager, "parts_request", "exception", third.id, decision="approve",
                       note="质量事故，同意加批").status_code == 302
    session.expire_all()
    assert session.get(PartsRequest, third.id).status == "submitted"


def test_blocked_outlet_is_told_to_confirm_last_month(app, login_as, session):  # R-PART-7
    with app.app_context():
        accounts.create_user(session, "dealer_dg", DEMO_PASSWORD, "dealer", full_name="陈志强",
                             outlet=f.outlet(session, "DG-NC"))
        session.commit()
    client = login_as("dealer_dg")
    response = request_parts(client, session, "DG-NC", (a_part(session), 1))
    assert 'data-testid="request-blocked"' in text(response)
    month = session.scalar(select(PartsReconciliation).where(
        PartsReconciliation.outlet_id == f.outlet(session, "DG-NC").id))
    assert post_action(client, "parts_month", "confirm", month.id).status_code == 302
    assert request_parts(client, session, "DG-NC", (a_part(session), 1)).status_code == 302


def test_statement_adds_up_to_the_cent_and_exports(login_as, session):  # R-PART-7, R-PART-8
    clerk = login_as("clerk")
    found = account(session, "GZ-TH")
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.outlet_id == found.outlet_id)
                              .order_by(LedgerEntry.at)).all()
    month = entries[0].at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")  # the local month
    page = text(clerk.get(f"/admin/parts_account/details/?id={found.id}&month={month}"))
    opening = Decimal(re.search(r'data-testid="opening">([\d,.-]+)<', page).group(1).replace(",", ""))
    closing = Decimal(re.search(r'data-testid="closing">([\d,.-]+)<', page).group(1).replace(",", ""))
    movements = [Decimal(v.replace(",", "")) for v in re.findall(r'<td class="text-right">([+-][\d,.]+)</td>', page)]
    assert movements and opening + sum(movements) == closing
    csv = clerk.get(f"/admin/parts_account/statement.csv?id={found.id}&month={month}")
    assert csv.status_code == 200 and csv.mimetype == "text/csv" and f"{closing:.2f}" in text(csv)


def test_return_list_is_counted_inspected_and_credited_on_the_statement(login_as, session):  # R-PART-4
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    owed = session.scalar(select(OldPart).where(OldPart.state == "owed",
                                                OldPart.outlet_id == f.outlet(session, "GZ-TH").id))
    before = account(session, "GZ-TH").balance
    response = dealer.post("/admin/old_part/return/", data={
        "csrf_token": dealer.csrf, "old_part": str(owed.id), "courier": "德邦物流", "tracking_no": "DB20261123"})
    assert response.status_code == 302, text(response)[:1000]
    session.expire_all()
    parcel = session.get(OldPart, owed.id).parts_return
    assert post_action(clerk, "parts_return", "receive", parcel.id, **{f"received-{owed.id}": str(owed.qty)}).status_code == 302
    assert post_action(clerk, "parts_return", "inspect", parcel.id, **{f"verdict-{owed.id}": "quality"}).status_code == 302
    session.expire_all()
    assert session.get(OldPart, owed.id).state == "credited"
    assert account(session, "GZ-TH").balance == before + owed.value
    page = text(dealer.get(f"/admin/parts_account/details/?id={account(session, 'GZ-TH').id}"))
    assert 'data-kind="return_credit"' in page


def test_return_list_without_courier_keeps_the_choice(login_as, session):
    dealer = login_as("dealer1")
    owed = session.scalar(select(OldPart).where(OldPart.state == "owed",
                                                OldPart.outlet_id == f.outlet(session, "GZ-TH").id))
    response = dealer.post("/admin/old_part/return/", data={"csrf_token": dealer.csrf, "old_part": str(owed.id)})
    assert response.status_code == 200 and "is-invalid" in text(response)
    assert f'value="{owed.id}" id="old-{owed.id}" checked' in text(response)


def test_engineer_has_no_parts_screens(login_as):
    engineer = login_as("engineer")
    for endpoint in ("parts_request", "parts_account", "old_part", "parts_return", "parts_month"):
        assert engineer.get(f"/admin/{endpoint}/").status_code in (302, 403), endpoint
    assert "/admin/parts_account/" not in text(engineer.get("/admin/"))


def test_parts_posts_need_the_csrf_token(login_as, session):
    clerk = login_as("clerk")
    waiting = session.scalar(select(PartsRequest).where(PartsRequest.status == "submitted"))
    line = waiting.lines[0]
    response = clerk.post(f"/admin/parts_request/review/?id={waiting.id}", data={f"settlement-{line.id}": "on_account"})
    assert response.status_code == 400
    session.expire_all()
    assert session.get(PartsRequest, waiting.id).status == "submitted"
