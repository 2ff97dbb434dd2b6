"""The spare-parts screens for each role (R-PART-2…8, R-ROLE-1, R-ROLE-2): accounts and their
statement, requests, old parts and their return lists, monthly reconciliation."""
import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from backoffice import accounts, ledger, reconciliation
from backoffice.demo import DEMO_PASSWORD
from backoffice.timezones import local_today, to_local
from models import (
    ApprovalRequest,
    LedgerEntry,
    OldPart,
    Outlet,
    Part,
    PartsAccount,
    PartsReconciliation,
    PartsRequest,
    PartsReturn,
    utcnow,
)
from models.choices import LedgerKind
from tests import factories as f
from tests.web.test_approval_screens import decide

PARTS_ENDPOINTS = ("parts_request", "parts_account", "old_part", "parts_return", "parts_month")
EN = {"Accept-Language": "en"}


def text(response):
    return response.get_data(as_text=True)


def account(session, code):
    session.expire_all()
    return session.scalar(select(PartsAccount).where(PartsAccount.outlet_id == f.outlet(session, code).id))


def version(client, url):
    found = re.search(r'name="loaded_version" value="(\d+)"', text(client.get(url)))
    return found.group(1) if found else ""


def post_action(client, endpoint, action, record_id, **data):
    url = f"/admin/{endpoint}/details/?id={record_id}"
    return client.post(f"/admin/{endpoint}/{action}/?id={record_id}",
                       data={"csrf_token": client.csrf, "loaded_version": version(client, url), **data})


def request_parts(client, session, code, *lines, **extra):
    """POST the request form; lines are (part, qty) or (part, qty, {gas_type-i/urgent-i extras})."""
    data = {"csrf_token": client.csrf, "outlet_id": str(f.outlet(session, code).id), "note": "周转配件"}
    for i, (part, qty, *more) in enumerate(lines):
        data[f"part_id-{i}"], data[f"qty-{i}"] = str(getattr(part, "id", part)), str(qty)
        for key, value in (more[0] if more else {}).items():
            data[f"{key}-{i}"] = value
    data.update(extra)
    return client.post("/admin/parts_request/request/", data=data)


def part(session, code=None):
    stmt = select(Part).where(Part.active.is_(True))
    stmt = stmt.where(Part.code == code) if code else stmt.where(Part.unit_price >= 20).order_by(Part.id)
    return session.scalars(stmt).first()


def newest_request(session):
    session.expire_all()
    return session.scalars(select(PartsRequest).order_by(PartsRequest.id.desc())).first()


def count(session, model, *where):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def money(value: str) -> Decimal:
    return Decimal(value.replace(",", "").replace("¥", ""))


def statement_figures(page: str) -> dict:
    """Opening, every movement, closing and the totals per kind, as the statement page shows them."""
    def cells(testid):
        return [money(v) for v in re.findall(rf'data-testid="{testid}">([^<]*)<', page) if v.strip()]
    return {"opening": cells("opening")[0], "closing": cells("closing")[0], "deltas": cells("delta"),
            "cash": cells("cash"), "cash_total": cells("cash-total")[0],
            "kind_on_account": cells("total-on-account"), "kind_cash": cells("total-cash")}


def make_dealer(app, session, username, code):
    with app.app_context():
        accounts.create_user(session, username, DEMO_PASSWORD, "dealer", full_name="陈志强",
                             outlet=f.outlet(session, code), screened=False)
        session.commit()


def owed_pair(session):
    """Two owed old parts of one outlet of dealer1 (GZ-TH or GZ-TH-01)."""
    for code in ("GZ-TH-01", "GZ-TH"):
        owed = session.scalars(select(OldPart).where(OldPart.state == "owed", OldPart.return_id.is_(None),
                                                     OldPart.outlet_id == f.outlet(session, code).id)
                               .order_by(OldPart.id)).all()
        if len(owed) >= 2:
            return code, owed[:2]
    pytest.fail("the demo data has no outlet of dealer1 with two owed old parts")


def send_back(dealer, clerk, session, *olds, tracking_no="DB20261123"):
    """The dealer applies to return `olds`, the center authorises, the dealer ships (R-PART-9);
    the parcel."""
    response = dealer.post("/admin/old_part/return/", data={
        "csrf_token": dealer.csrf, "old_part": [str(o.id) for o in olds]})
    assert response.status_code == 302, text(response)[:1000]
    session.expire_all()
    parcel = session.get(OldPart, olds[0].id).parts_return
    assert post_action(clerk, "parts_return", "authorise", parcel.id).status_code == 302
    assert post_action(dealer, "parts_return", "ship", parcel.id, courier="德邦物流",
                       tracking_no=tracking_no).status_code == 302
    session.expire_all()
    return session.get(PartsReturn, parcel.id)


# --- scope (R-ROLE-1) ----------------------------------------------------------------------------

def test_dealer_sees_only_own_outlets_accounts_requests_returns_and_months(login_as, session):
    dealer = login_as("dealer1")
    foreign = account(session, "FS-SD")
    for endpoint in PARTS_ENDPOINTS:
        listing = text(dealer.get(f"/admin/{endpoint}/"))
        assert "FS-SD" not in listing and "DG-NC" not in listing, endpoint
        export = text(dealer.get(f"/admin/{endpoint}/export/csv/"))
        assert "FS-SD" not in export and "顺德" not in export and "东莞" not in export, endpoint
    assert "GZ-TH-01" in text(dealer.get("/admin/parts_account/"))  # the sub-outlet is the dealer's too
    assert dealer.get(f"/admin/parts_account/details/?id={foreign.id}").status_code == 404
    assert dealer.get(f"/admin/parts_account/statement.csv?id={foreign.id}").status_code == 404
    for endpoint, model in (("parts_request", PartsRequest), ("parts_return", PartsReturn),
                            ("parts_month", PartsReconciliation), ("old_part", OldPart)):
        other = session.scalar(select(model).where(model.outlet_id == foreign.outlet_id))
        assert other is not None, endpoint
        assert dealer.get(f"/admin/{endpoint}/details/?id={other.id}").status_code == 404, endpoint
    other_request = session.scalar(select(PartsRequest).where(PartsRequest.outlet_id == foreign.outlet_id))
    assert dealer.get(f"/admin/parts_request/picking/?id={other_request.id}").status_code == 404
    # Actions on another outlet's records answer 404 too, and change nothing.
    month = session.scalar(select(PartsReconciliation).where(PartsReconciliation.outlet_id == foreign.outlet_id))
    response = dealer.post(f"/admin/parts_month/dispute/?id={month.id}",
                           data={"csrf_token": dealer.csrf, "dispute_reason": "不对"})
    assert response.status_code == 404
    # The other dealer sees its own parcel and request.
    dealer2 = login_as("dealer2")
    parcel = session.scalar(select(PartsReturn).where(PartsReturn.outlet_id == foreign.outlet_id))
    assert dealer2.get(f"/admin/parts_return/details/?id={parcel.id}").status_code == 200
    assert "GZ-TH" not in text(dealer2.get("/admin/parts_request/"))


def test_staff_see_every_outlets_accounts_but_not_the_service_center(login_as, session):
    clerk = login_as("clerk")
    page = text(clerk.get("/admin/parts_account/"))
    for code in ("GZ-TH", "GZ-TH-01", "FS-SD", "DG-NC"):
        assert f"({code})" in page
    form = text(clerk.get("/admin/parts_request/request/"))
    assert "(FS-SD)" in form and "(DG-NC)" in form
    assert 'data-testid="request-blocked"' not in form
    center = session.scalar(select(Outlet).where(Outlet.is_service_center.is_(True)))
    assert f'<option value="{center.id}" data-week-full' not in form  # it keeps no parts account
    assert not re.search(r'<option value="\d+" data-week-full="\d" selected', form)  # staff choose


# --- requests (R-PART-3) ---------------------------------------------------------------------------

def test_dealer_requests_parts_and_the_center_reviews_ships_and_dealer_confirms(login_as, session):
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    chosen = part(session)
    before = account(session, "GZ-TH").balance
    form = text(dealer.get("/admin/parts_request/request/"))
    own = f.outlet(session, "GZ-TH")
    assert re.search(rf'<option value="{own.id}"[^>]*selected', form)  # the dealer's outlet first
    assert f"{chosen.code} {chosen.name} · ¥{chosen.unit_price:,.2f}" in form  # the price list
    response = request_parts(dealer, session, "GZ-TH", (chosen, 2, {"urgent": "y", "gas_type": "natural_gas"}))
    assert response.status_code == 302, text(response)[:2000]
    created = newest_request(session)
    assert created.status == "submitted" and created.lines[0].qty == 2 and created.lines[0].urgent
    assert created.requested_by.username == "dealer1"
    listing = text(clerk.get("/admin/parts_request/"))
    assert created.number in listing and 'data-ship="on_time"' in listing
    line = created.lines[0]

    details = text(clerk.get(f"/admin/parts_request/details/?id={created.id}", headers=EN))
    assert '<option value="on_account" selected' in details  # suggested: the balance covers it
    assert f"¥{before:,.2f}" in details  # the balance shown for the review
    assert post_action(dealer, "parts_request", "review", created.id,
                       **{f"settlement-{line.id}": "on_account"}).status_code == 302
    assert newest_request(session).status == "submitted"  # an outlet never reviews
    assert post_action(clerk, "parts_request", "review", created.id,
                       **{f"settlement-{line.id}": "on_account"}).status_code == 302
    assert newest_request(session).status == "reviewed"

    picking = text(clerk.get(f"/admin/parts_request/picking/?id={created.id}"))
    assert 'data-testid="picking-list"' in picking and created.number in picking
    assert own.address in picking and "____________" in picking and "@media print" in picking
    assert post_action(clerk, "parts_request", "ship", created.id, courier="顺丰速运",
                       tracking_no="SF1234567890").status_code == 302
    assert 'data-testid="confirm-delivery"' in text(dealer.get(f"/admin/parts_request/details/?id={created.id}"))
    assert post_action(dealer, "parts_request", "delivery", created.id, complete="yes").status_code == 302
    done = newest_request(session)
    assert done.status == "delivered" and done.delivered_at is not None
    assert account(session, "GZ-TH").balance == before - chosen.unit_price * 2
    timeline = text(clerk.get(f"/admin/parts_request/details/?id={created.id}"))
    assert "SF1234567890" in timeline and done.reviewed_by.full_name in timeline
    assert "SF1234567890" in text(dealer.get(f"/admin/parts_request/details/?id={created.id}"))
    statement = text(dealer.get(f"/admin/parts_account/details/?id={account(session, 'GZ-TH').id}"))
    assert 'data-kind="issue"' in statement and created.number in statement


def test_a_delivery_difference_needs_a_note(login_as, session):
    dealer, clerk = login_as("dealer2"), login_as("clerk")
    waiting = session.scalar(select(PartsRequest).where(PartsRequest.status == "submitted",
                                                        PartsRequest.outlet_id == f.outlet(session, "FS-SD").id))
    settlements = {f"settlement-{line.id}": "purchase" for line in waiting.lines}
    assert post_action(clerk, "parts_request", "review", waiting.id, **settlements).status_code == 302
    assert post_action(clerk, "parts_request", "ship", waiting.id, courier="中通快递",
                       tracking_no="ZT778899").status_code == 302
    refused = post_action(dealer, "parts_request", "delivery", waiting.id, complete="no", delivery_note=" ")
    assert refused.status_code == 200 and "is-invalid" in text(refused)
    assert post_action(dealer, "parts_request", "delivery", waiting.id, complete="no",
                       delivery_note="少了一个水气联动阀").status_code == 302
    session.expire_all()
    found = session.get(PartsRequest, waiting.id)
    assert found.status == "disputed" and found.delivery_note == "少了一个水气联动阀"
    # Bought in cash: nothing drawn on account, the cash shows on the statement.
    purchases = session.scalars(select(LedgerEntry).where(LedgerEntry.reason == waiting.number)).all()
    assert {e.kind for e in purchases} == {"purchase"} and all(e.delta == 0 for e in purchases)


def test_request_form_keeps_typed_lines_on_error(login_as, session):
    dealer = login_as("dealer1")
    good, other = part(session), part(session, "P-BAT-01")
    response = request_parts(dealer, session, "GZ-TH-01", (good, 3, {"urgent": "y", "gas_type": "lpg"}),
                             (other, "两个"), note="保修周转，月底前到")
    page = text(response)
    assert response.status_code == 200
    assert re.search(r'name="qty-1" [^>]*class="[^"]*is-invalid', page)
    assert not re.search(r'name="qty-0" [^>]*class="[^"]*is-invalid', page)
    assert f'<option value="{good.id}" selected' in page and f'<option value="{other.id}" selected' in page
    assert 'value="两个"' in page and 'name="qty-0"' in page and 'value="3"' in page
    assert re.search(r'name="urgent-0" [^>]*checked', page)
    assert '<option value="lpg" selected' in page and 'value="保修周转，月底前到"' in page
    assert re.search(rf'<option value="{f.outlet(session, "GZ-TH-01").id}"[^>]*selected', page)
    assert count(session, PartsRequest, PartsRequest.note == "保修周转，月底前到") == 0
    empty = request_parts(dealer, session, "GZ-TH")
    assert empty.status_code == 200 and "invalid-feedback" in text(empty)  # no line at all


def test_center_review_keeps_choices_when_a_line_is_over_the_account(login_as, session):  # R-PART-2
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    dear = part(session, "P-HEX-01")
    left = account(session, "GZ-TH-01").balance
    qty = int(left // dear.unit_price) + 1  # more than the account holds
    assert request_parts(dealer, session, "GZ-TH-01", (dear, qty)).status_code == 302
    created = newest_request(session)
    line = created.lines[0]
    details = text(clerk.get(f"/admin/parts_request/details/?id={created.id}"))
    assert '<option value="purchase" selected' in details  # suggested beyond the balance
    refused = post_action(clerk, "parts_request", "review", created.id, **{f"settlement-{line.id}": "on_account"})
    page = text(refused)
    assert refused.status_code == 200 and "is-invalid" in page
    assert '<option value="on_account" selected' in page  # the choice made is kept
    assert newest_request(session).status == "submitted"
    assert account(session, "GZ-TH-01").balance == left  # nothing posted
    assert post_action(clerk, "parts_request", "review", created.id,
                       **{f"settlement-{line.id}": "purchase"}).status_code == 302
    assert newest_request(session).status == "reviewed"


def open_approval(session, request_id):
    session.expire_all()
    return session.scalar(select(ApprovalRequest).where(ApprovalRequest.parts_request_id == request_id,
                                                        ApprovalRequest.status.in_(("pending", "info_requested"))))


def test_third_batch_in_a_week_needs_an_approval_a_manager_decides(login_as, session):  # R-PART-3
    dealer, manager = login_as("dealer1"), login_as("manager")
    outlet = f.outlet(session, "GZ-TH-01")
    chosen = part(session)
    assert re.search(rf'value="{outlet.id}" data-week-full="0"', text(dealer.get("/admin/parts_request/request/")))
    for _ in range(2):
        assert request_parts(dealer, session, "GZ-TH-01", (chosen, 1)).status_code == 302
    form = text(dealer.get("/admin/parts_request/request/"))
    assert re.search(rf'value="{outlet.id}" data-week-full="1"', form)  # the form will ask for the reason
    refused = request_parts(dealer, session, "GZ-TH-01", (chosen, 1))
    page = text(refused)
    assert refused.status_code == 200 and re.search(r'name="exception_reason"[^>]*is-invalid', page)
    assert 'class="form-group d-none" id="exception-group"' not in page
    assert request_parts(dealer, session, "GZ-TH-01", (chosen, 1),
                         exception_reason="燃气热水器批量故障，急需比例阀").status_code == 302
    third = newest_request(session)
    asked = open_approval(session, third.id)
    assert third.status == "awaiting_exception" and third.batch_no == 3
    assert (asked.kind, asked.requested_by.username, asked.reason) == (
        "parts_extra_batch", "dealer1", "燃气热水器批量故障，急需比例阀")
    # The parts request links its approval; the outlet sees it and cannot decide it.
    own_page = text(dealer.get(f"/admin/parts_request/details/?id={third.id}"))
    assert 'data-testid="request-approvals"' in own_page and f"/admin/approval/details/?id={asked.id}" in own_page
    assert 'data-testid="decide"' not in text(dealer.get(f"/admin/approval/details/?id={asked.id}"))
    decide(dealer, asked.id, "approve", "自己批准")
    assert open_approval(session, third.id).status == "pending"  # an outlet never decides
    # The manager's queue shows it with the parts request it concerns.
    assert third.number in text(manager.get("/admin/approval/"))
    details = text(manager.get(f"/admin/approval/details/?id={asked.id}"))
    assert 'data-testid="decide"' in details and "燃气热水器批量故障" in details
    assert f"/admin/parts_request/details/?id={third.id}" in details
    no_note = decide(manager, asked.id, "approve", "")
    assert no_note.status_code == 302 and open_approval(session, third.id) is not None
    assert decide(manager, asked.id, "approve", "质量事故，同意加批").status_code == 302
    assert newest_request(session).status == "submitted"
    assert "质量事故，同意加批" in text(dealer.get(f"/admin/parts_request/details/?id={third.id}"))


def test_requester_manager_cannot_decide_own_extra_batch(login_as, session):  # R-ROLE-2
    manager, admin = login_as("manager"), login_as("admin")
    chosen = part(session)
    for _ in range(2):
        assert request_parts(manager, session, "GZ-TH", (chosen, 1)).status_code == 302
    assert request_parts(manager, session, "GZ-TH", (chosen, 1), exception_reason="批量故障").status_code == 302
    own = newest_request(session)
    asked = open_approval(session, own.id)
    assert own.status == "awaiting_exception" and asked.requested_by.username == "manager"
    details = text(manager.get(f"/admin/approval/details/?id={asked.id}"))
    assert 'data-testid="decide"' not in details
    response = decide(manager, asked.id, "approve", "我同意")
    assert response.status_code == 302
    assert "alert-danger" in text(manager.get(response.headers["Location"]))
    assert newest_request(session).status == "awaiting_exception"
    assert decide(admin, asked.id, "reject", "本周已两批，下周再发").status_code == 302
    assert newest_request(session).status == "rejected"


def test_center_asks_a_manager_to_issue_beyond_the_quota_for_a_quality_incident(login_as, session):  # R-PART-2
    dealer, clerk, manager = login_as("dealer1"), login_as("clerk"), login_as("manager")
    left = account(session, "GZ-TH-01").balance
    heat_exchanger = part(session, "P-HEX-01")
    qty = int(left / heat_exchanger.unit_price) + 2  # a little more than the account holds
    assert request_parts(dealer, session, "GZ-TH-01", (heat_exchanger, qty)).status_code == 302
    created = newest_request(session)
    line = created.lines[0]
    page = text(clerk.get(f"/admin/parts_request/details/?id={created.id}"))
    assert 'data-testid="ask-incident"' in page
    assert 'data-testid="ask-incident"' not in text(dealer.get(f"/admin/parts_request/details/?id={created.id}"))
    no_reason = post_action(clerk, "parts_request", "incident", created.id,
                            **{f"settlement-{line.id}": "on_account", "incident_reason": ""})
    assert no_reason.status_code == 200 and re.search(r'name="incident_reason"[^>]*is-invalid', text(no_reason))
    assert post_action(clerk, "parts_request", "incident", created.id, **{
        f"settlement-{line.id}": "on_account",
        "incident_reason": "批次热交换器渗漏，已有多张服务单"}).status_code == 302
    asked = open_approval(session, created.id)
    assert newest_request(session).status == "awaiting_incident"
    assert asked.amount == line.amount - left and account(session, "GZ-TH-01").balance == left
    details = text(manager.get(f"/admin/approval/details/?id={asked.id}"))
    assert 'data-testid="incident"' in details and f"¥{left:,.2f}" in details
    assert decide(manager, asked.id, "approve", "批次质量事故属实").status_code == 302
    assert newest_request(session).status == "reviewed"
    assert account(session, "GZ-TH-01").balance == Decimal("0.00")
    statement = text(dealer.get(f"/admin/parts_account/details/?id={account(session, 'GZ-TH-01').id}"))
    assert created.number in statement and "批次热交换器渗漏" in statement


def test_urgent_request_not_shipped_in_time_is_marked_late(login_as, session):  # R-PART-3
    clerk = login_as("clerk")
    waiting = urgent_waiting(session)
    assert waiting.urgent
    session.execute(update(PartsRequest).where(PartsRequest.id == waiting.id)
                    .values(created_at=waiting.created_at - timedelta(hours=30)))
    session.commit()
    assert 'data-ship="late"' in text(clerk.get("/admin/parts_request/"))
    assert 'data-ship="late"' in text(clerk.get(f"/admin/parts_request/details/?id={waiting.id}"))


def urgent_waiting(session):
    """The demo's urgent FS-SD request, waiting for review since today."""
    return session.scalar(select(PartsRequest).where(PartsRequest.status == "submitted")
                          .join(Outlet, PartsRequest.outlet_id == Outlet.id).where(Outlet.code == "FS-SD"))


def test_request_list_filters_by_status_outlet_and_date(login_as, session):
    clerk = login_as("clerk")
    fs = f.outlet(session, "FS-SD")
    by_status = text(clerk.get("/admin/parts_request/?flt0_0=submitted"))
    assert "PJ-FS-SD" in by_status and "PJ-DG-NC" not in by_status
    by_outlet = text(clerk.get(f"/admin/parts_request/?flt0_1={fs.id}"))
    assert "PJ-FS-SD" in by_outlet and "PJ-DG-NC" not in by_outlet
    old = session.scalar(select(PartsRequest).where(PartsRequest.status == "delivered").order_by(PartsRequest.id))
    day = to_local(old.created_at).date()
    by_date = text(clerk.get(f"/admin/parts_request/?flt0_2={day:%Y-%m-%d}+to+{day:%Y-%m-%d}"))
    assert old.number in by_date
    assert urgent_waiting(session).number not in by_date


# --- statement (R-PART-7, R-PART-8) --------------------------------------------------------------

def _movements_this_month(dealer, clerk, session):
    """An issue on account and a cash purchase with cents, a credited and a charged old part."""
    code, (kept, broken) = owed_pair(session)
    battery, igniter = part(session, "P-BAT-01"), part(session, "P-IGN-01")
    assert request_parts(dealer, session, code, (battery, 3), (igniter, 1)).status_code == 302
    created = newest_request(session)
    first, second = created.lines
    assert post_action(clerk, "parts_request", "review", created.id, **{
        f"settlement-{first.id}": "on_account", f"settlement-{second.id}": "purchase"}).status_code == 302
    parcel = send_back(dealer, clerk, session, kept, broken)
    assert post_action(clerk, "parts_return", "receive", parcel.id, **{
        f"received-{kept.id}": str(kept.qty), f"received-{broken.id}": str(broken.qty)}).status_code == 302
    assert post_action(clerk, "parts_return", "inspect", parcel.id, **{
        f"verdict-{kept.id}": "quality", f"verdict-{broken.id}": "human_damage",
        f"note-{broken.id}": "外壳摔裂"}).status_code == 302
    return code, created, parcel, kept, broken


def test_statement_adds_up_to_the_cent(login_as, session):
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    code, created, _parcel, kept, broken = _movements_this_month(dealer, clerk, session)
    found = account(session, code)
    page = text(dealer.get(f"/admin/parts_account/details/?id={found.id}"))  # default: this month
    shown = statement_figures(page)
    assert shown["opening"] + sum(shown["deltas"]) == shown["closing"] == found.balance
    assert sum(shown["cash"]) == shown["cash_total"]
    # Totals per kind (quota, issue, purchase, credit, charge, adjustment) add up the same way.
    assert shown["opening"] + sum(shown["kind_on_account"]) == shown["closing"]
    assert sum(shown["kind_cash"]) == shown["cash_total"]
    per_kind = zip(shown["kind_on_account"], shown["kind_cash"], strict=True)
    by_kind = dict(zip([k.value for k in LedgerKind], per_kind, strict=False))
    battery, igniter = created.lines[0], created.lines[1]
    assert by_kind["issue"] == (-battery.amount, Decimal("0.00")) and battery.amount == Decimal("13.50")
    assert by_kind["purchase"] == (Decimal("0.00"), igniter.amount)
    assert by_kind["return_credit"] == (kept.value, Decimal("0.00"))
    assert by_kind["charge"][1] == broken.value
    assert shown["cash_total"] == igniter.amount + broken.value
    for kind in ("issue", "purchase", "return_credit", "charge"):
        assert f'data-kind="{kind}"' in page
    assert "css/print.css" in page and 'data-action="print"' in page  # the print style (issue 18)


def test_statement_period_month_or_from_to(login_as, session):
    clerk = login_as("clerk")
    found = account(session, "GZ-TH")
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.outlet_id == found.outlet_id)
                              .order_by(LedgerEntry.at)).all()
    first_day = to_local(entries[0].at).date()
    month = statement_figures(text(clerk.get(f"/admin/parts_account/details/?id={found.id}&month={first_day:%Y-%m}")))
    in_month = [e for e in entries if to_local(e.at).strftime("%Y-%m") == f"{first_day:%Y-%m}"]
    assert month["opening"] == 0 and len(month["deltas"]) == len(in_month)
    span = text(clerk.get(f"/admin/parts_account/details/?id={found.id}&from={first_day:%Y-%m-%d}"
                          f"&to={first_day:%Y-%m-%d}"))
    figures = statement_figures(span)
    day_entries = [e for e in entries if to_local(e.at).date() == first_day]
    assert len(figures["deltas"]) == len(day_entries)
    assert figures["closing"] == day_entries[-1].balance_after
    assert f"{first_day:%Y-%m-%d} – {first_day:%Y-%m-%d}" in span
    swapped = text(clerk.get(f"/admin/parts_account/details/?id={found.id}&from={first_day:%Y-%m-%d}"
                             f"&to={first_day.replace(day=1):%Y-%m-%d}"))
    assert statement_figures(swapped)["closing"] == figures["closing"]
    # The CSV link carries the period shown.
    assert f"statement.csv?id={found.id}&amp;from={first_day:%Y-%m-%d}" in span


def test_statement_csv_export(login_as, session):
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    found = account(session, "GZ-TH")
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.outlet_id == found.outlet_id)).all()
    month = to_local(entries[0].at).strftime("%Y-%m")
    response = dealer.get(f"/admin/parts_account/statement.csv?id={found.id}&month={month}", headers=EN)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"parts-statement-GZ-TH-{month}.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))
    assert rows[0][:2] == ["Date", "Movement"] and rows[1][1] == "Opening balance"
    movements = [r for r in rows[2:] if r and r[0]]
    assert len(movements) == len(entries)
    closing = next(r for r in rows if len(r) > 1 and r[1] == "Closing balance")
    opening = Decimal(rows[1][7])
    assert opening + sum(Decimal(r[5]) for r in movements) == Decimal(closing[7]) == found.balance
    total = next(r for r in rows if len(r) > 1 and r[1] == "Total")
    assert Decimal(total[5]) == Decimal(closing[7]) - opening
    # Scoped like the screen: another outlet's account is not found.
    assert dealer.get(f"/admin/parts_account/statement.csv?id={account(session, 'FS-SD').id}").status_code == 404
    # A text that a spreadsheet would run as a formula is written as text.
    ledger.post(session, found.outlet_id, LedgerKind.ADJUSTMENT, Decimal("0.00"), source="test:formula",
                reason='=HYPERLINK("http://evil.example","点我")')
    session.commit()
    exported = text(clerk.get(f"/admin/parts_account/statement.csv?id={found.id}"))
    assert "'=HYPERLINK" in exported and ',=HYPERLINK' not in exported


def test_staff_update_the_quota_from_purchases(login_as, session):  # R-PART-2
    clerk, dealer = login_as("clerk"), login_as("dealer1")
    outlet = f.outlet(session, "GZ-TH")
    outlet.total_purchase_amount = Decimal("3000000.00")
    session.commit()
    found = account(session, "GZ-TH")
    before_quota, before_balance = found.quota, found.balance
    assert 'data-testid="grant-quota"' in text(clerk.get(f"/admin/parts_account/details/?id={found.id}"))
    assert 'data-testid="grant-quota"' not in text(dealer.get(f"/admin/parts_account/details/?id={found.id}"))
    assert dealer.post(f"/admin/parts_account/quota/?id={found.id}",
                       data={"csrf_token": dealer.csrf}).status_code == 403
    assert account(session, "GZ-TH").quota == before_quota
    assert clerk.post(f"/admin/parts_account/quota/?id={found.id}",
                      data={"csrf_token": clerk.csrf}).status_code == 302
    after = account(session, "GZ-TH")
    assert after.quota == Decimal("9000.00") and after.balance == before_balance + (Decimal("9000.00") - before_quota)
    page = text(clerk.get(f"/admin/parts_account/details/?id={found.id}"))
    assert 'data-kind="quota"' in page and 'data-testid="grant-quota"' not in page  # in line now


# --- reconciliation (R-PART-7) ---------------------------------------------------------------------

def test_blocked_outlet_is_told_to_confirm_last_month(app, login_as, session):  # R-PART-7
    make_dealer(app, session, "dealer_dg", "DG-NC")
    client = login_as("dealer_dg")
    form = text(client.get("/admin/parts_request/request/"))
    assert 'data-testid="request-blocked"' in form and 'href="/admin/parts_month/"' in form
    before = count(session, PartsRequest)
    response = request_parts(client, session, "DG-NC", (part(session), 1))
    assert 'data-testid="request-blocked"' in text(response) and count(session, PartsRequest) == before
    month = session.scalar(select(PartsReconciliation).where(
        PartsReconciliation.outlet_id == f.outlet(session, "DG-NC").id))
    details = text(client.get(f"/admin/parts_month/details/?id={month.id}"))
    assert 'data-testid="statement"' in details and 'data-testid="reconciliation-actions"' in details
    assert post_action(client, "parts_month", "confirm", month.id).status_code == 302
    assert 'data-testid="request-blocked"' not in text(client.get("/admin/parts_request/request/"))
    assert request_parts(client, session, "DG-NC", (part(session), 1)).status_code == 302


def test_dealer_disputes_with_a_reason_and_the_center_closes_only_a_confirmed_month(app, login_as, session):
    make_dealer(app, session, "dealer_dg", "DG-NC")
    dealer, clerk = login_as("dealer_dg"), login_as("clerk")
    month = session.scalar(select(PartsReconciliation).where(
        PartsReconciliation.outlet_id == f.outlet(session, "DG-NC").id))
    no_reason = post_action(dealer, "parts_month", "dispute", month.id, dispute_reason="  ")
    assert no_reason.status_code == 200 and "is-invalid" in text(no_reason)
    assert post_action(dealer, "parts_month", "dispute", month.id,
                       dispute_reason="10月3日的主控板没有收到").status_code == 302
    post_action(clerk, "parts_month", "close", month.id)  # not confirmed yet: refused
    session.expire_all()
    assert session.get(PartsReconciliation, month.id).status == "disputed"
    disputed = text(clerk.get(f"/admin/parts_month/details/?id={month.id}"))
    assert "10月3日的主控板没有收到" in disputed
    assert 'action="/admin/parts_month/close/' not in disputed and 'data-testid="close-why-not"' in disputed
    assert 'action="/admin/parts_month/confirm/' not in disputed  # the center never confirms for the outlet
    assert post_action(clerk, "parts_month", "resolve", month.id, outcome="no_change",
                       resolution_note="主控板随10月5日的包裹发出").status_code == 302
    assert post_action(dealer, "parts_month", "confirm", month.id).status_code == 302
    assert 'action="/admin/parts_month/close/' not in text(dealer.get(f"/admin/parts_month/details/?id={month.id}"))
    post_action(dealer, "parts_month", "close", month.id)  # an outlet never closes
    session.expire_all()
    assert session.get(PartsReconciliation, month.id).status == "confirmed"
    assert post_action(clerk, "parts_month", "close", month.id).status_code == 302
    session.expire_all()
    closed = session.get(PartsReconciliation, month.id)
    assert closed.status == "closed" and closed.closed_by.username == "clerk"
    assert closed.confirmed_by.username == "dealer_dg"


def test_center_issues_last_months_statements_once(login_as, session):
    clerk, dealer = login_as("clerk"), login_as("dealer1")
    new = Outlet(code="ZS-SQ", name="中山石岐服务网点", total_purchase_amount=Decimal("1000000.00"))
    session.add(new)
    session.flush()
    last = reconciliation.previous_month(local_today())
    start, _end = reconciliation.month_bounds(last)
    ledger.grant_quota(session, new, at=start + timedelta(hours=2))
    session.commit()
    before = count(session, PartsReconciliation)
    assert 'action="/admin/parts_month/issue/"' in text(clerk.get("/admin/parts_month/"))
    assert 'action="/admin/parts_month/issue/"' not in text(dealer.get("/admin/parts_month/"))
    assert dealer.post("/admin/parts_month/issue/", data={"csrf_token": dealer.csrf}).status_code == 403
    for _ in range(2):  # idempotent
        assert clerk.post("/admin/parts_month/issue/", data={"csrf_token": clerk.csrf}).status_code == 302
        assert count(session, PartsReconciliation) == before + 1
    issued = session.scalar(select(PartsReconciliation).where(PartsReconciliation.outlet_id == new.id))
    assert issued.month == last and issued.status == "open" and issued.closing == Decimal("3000.00")


# --- old parts and their return lists (R-PART-4…6) -------------------------------------------------

def test_return_list_receive_inspect_credits_and_charges(login_as, session):  # R-PART-4, R-PART-5
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    code, (kept, broken) = owed_pair(session)
    before = account(session, code).balance
    form = text(dealer.get("/admin/old_part/return/"))
    assert f'value="{kept.id}"' in form and f'value="{broken.id}"' in form
    parcel = send_back(dealer, clerk, session, kept, broken)
    assert parcel.status == "shipped" and {o.id for o in parcel.old_parts} == {kept.id, broken.id}
    assert 'data-testid="return-lines"' in text(dealer.get(f"/admin/parts_return/details/?id={parcel.id}"))
    assert f'name="received-{kept.id}"' not in text(dealer.get(f"/admin/parts_return/details/?id={parcel.id}"))
    # Counting: each line defaults to the listed quantity; a bad count keeps what was typed.
    details = text(clerk.get(f"/admin/parts_return/details/?id={parcel.id}"))
    assert f'name="received-{kept.id}" class="form-control form-control-sm" style="max-width:5rem" value="{kept.qty}"' \
        in details
    bad = post_action(clerk, "parts_return", "receive", parcel.id,
                      **{f"received-{kept.id}": "一个", f"received-{broken.id}": str(broken.qty)})
    assert bad.status_code == 200 and 'value="一个"' in text(bad) and "is-invalid" in text(bad)
    session.expire_all()
    assert session.get(PartsReturn, parcel.id).status == "shipped"
    assert post_action(clerk, "parts_return", "receive", parcel.id, **{
        f"received-{kept.id}": str(kept.qty), f"received-{broken.id}": str(broken.qty)}).status_code == 302
    no_verdict = post_action(clerk, "parts_return", "inspect", parcel.id, **{f"verdict-{kept.id}": "quality"})
    assert no_verdict.status_code == 200 and "is-invalid" in text(no_verdict)
    assert post_action(clerk, "parts_return", "inspect", parcel.id, **{
        f"verdict-{kept.id}": "quality", f"verdict-{broken.id}": "human_damage",
        f"note-{broken.id}": "外壳摔裂"}).status_code == 302
    session.expire_all()
    assert session.get(OldPart, kept.id).state == "credited"
    charged = session.get(OldPart, broken.id)
    assert charged.state == "charged" and charged.non_creditable == "human_damage"
    after = account(session, code)
    assert after.balance == before + kept.value + broken.value  # credited, and charged in cash
    # The outlet sees the outcome on the return list and on its statement.
    outcome = text(dealer.get(f"/admin/parts_return/details/?id={parcel.id}"))
    assert f'data-testid="credited-{kept.id}"' in outcome and f'data-testid="charged-{broken.id}"' in outcome
    assert f"¥{kept.value:,.2f}" in outcome and "外壳摔裂" in outcome
    statement = text(dealer.get(f"/admin/parts_account/details/?id={after.id}"))
    assert 'data-kind="return_credit"' in statement and 'data-kind="charge"' in statement


def test_return_application_without_parts_keeps_the_note(login_as, session):  # R-PART-9
    dealer = login_as("dealer1")
    response = dealer.post("/admin/old_part/return/", data={"csrf_token": dealer.csrf, "note": "月底旧件"})
    assert response.status_code == 200 and "invalid-feedback" in text(response)
    assert 'value="月底旧件"' in text(response)


def test_shipping_without_courier_keeps_the_tracking_number(login_as, session):  # R-PART-9
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    owed = session.scalar(select(OldPart).where(OldPart.state == "owed", OldPart.return_id.is_(None),
                                                OldPart.outlet_id == f.outlet(session, "GZ-TH").id))
    assert dealer.post("/admin/old_part/return/", data={"csrf_token": dealer.csrf,
                                                        "old_part": str(owed.id)}).status_code == 302
    session.expire_all()
    parcel = session.get(OldPart, owed.id).parts_return
    assert post_action(clerk, "parts_return", "authorise", parcel.id).status_code == 302
    response = post_action(dealer, "parts_return", "ship", parcel.id, tracking_no="DB1")
    assert response.status_code == 200 and "is-invalid" in text(response) and 'value="DB1"' in text(response)
    session.expire_all()
    assert session.get(OldPart, owed.id).state == "owed" and session.get(PartsReturn, parcel.id).status == "authorised"


def test_return_list_of_another_outlets_old_parts_is_refused(login_as, session):
    dealer = login_as("dealer1")
    foreign = session.scalar(select(OldPart).where(OldPart.state == "owed",
                                                   OldPart.outlet_id != f.outlet(session, "GZ-TH").id,
                                                   OldPart.outlet_id != f.outlet(session, "GZ-TH-01").id))
    assert foreign is not None
    assert f'value="{foreign.id}"' not in text(dealer.get("/admin/old_part/return/"))
    response = dealer.post("/admin/old_part/return/", data={
        "csrf_token": dealer.csrf, "old_part": str(foreign.id), "courier": "德邦", "tracking_no": "DB2"})
    assert response.status_code == 200 and "invalid-feedback" in text(response)
    session.expire_all()
    assert session.get(OldPart, foreign.id).state == "owed"


def test_staff_verify_parts_scrapped_locally(login_as, session):  # R-PART-6
    clerk, dealer = login_as("clerk"), login_as("dealer1")
    scrapped = session.scalars(select(OldPart).where(OldPart.state == "scrap_local").order_by(OldPart.id)).all()
    assert len(scrapped) >= 2
    first, second = scrapped[:2]
    assert 'data-testid="verify-scrap"' in text(clerk.get(f"/admin/old_part/details/?id={first.id}"))
    mine = session.scalar(select(OldPart).where(OldPart.state == "scrap_local",
                                                OldPart.outlet_id == f.outlet(session, "GZ-TH-01").id))
    assert mine is not None
    assert 'data-testid="verify-scrap"' not in text(dealer.get(f"/admin/old_part/details/?id={mine.id}"))
    post_action(dealer, "old_part", "verify", mine.id, confirmed="yes")
    session.expire_all()
    assert session.get(OldPart, mine.id).state == "scrap_local"
    no_note = post_action(clerk, "old_part", "verify", first.id, confirmed="no", note="")
    assert no_note.status_code == 200 and "is-invalid" in text(no_note)
    assert post_action(clerk, "old_part", "verify", first.id, confirmed="no",
                       note="回访：用户说没换过").status_code == 302
    assert post_action(clerk, "old_part", "verify", second.id, confirmed="yes", note="回访确认").status_code == 302
    session.expire_all()
    assert session.get(OldPart, first.id).state == "charged"
    assert session.get(OldPart, second.id).state == "credited"


def test_old_parts_list_shows_age_and_filters_overdue(login_as, session):  # R-PART-4
    clerk = login_as("clerk")
    page = text(clerk.get("/admin/old_part/?page_size=100"))
    assert "badge-danger" in page  # owed for longer than the return cycle
    assert 'href="/admin/ticket/details/?id=' in page
    overdue = text(clerk.get("/admin/old_part/?flt0_2=yes&page_size=100"))
    cutoff = local_today() - timedelta(days=7)  # policy parts.return_cycle_days
    late = session.scalars(select(OldPart).where(OldPart.state == "owed", OldPart.replaced_on < cutoff)).all()
    assert late and all(o.ticket.number in overdue for o in late)
    rows = re.findall(r'<tr[^>]*>.*?</tr>', overdue, flags=re.S)
    body = [r for r in rows if 'href="/admin/ticket/details/' in r]
    assert body and all("badge-danger" in r for r in body)
    by_state = text(clerk.get("/admin/old_part/?flt0_0=in_return&page_size=100"))
    assert "RT0000" in by_state


def test_the_no_return_label_tells_the_policy_numbers(login_as, session):  # R-PART-6
    from backoffice import old_parts, warranty
    from models import PolicySetting, ReplacedPart

    clerk = login_as("clerk")
    ticket = f.ticket_of(session, "GZ-TH", in_warranty=True)
    today = local_today()
    piece = ReplacedPart(part=f.make_part(session, unit_price=Decimal("4.50")), qty=2, unit_id=ticket.unit_id,
                         replaced_on=today, warranty_until=warranty.part_warranty_until(session, today))
    ticket.replaced_parts.append(piece)
    assert old_parts.record_replaced(session, ticket, piece).exemption == "cheap"
    session.commit()
    listing = "/admin/old_part/?flt0_0=scrap_local&page_size=100"
    assert "Under ¥5.00, at most 5 pieces" in text(clerk.get(listing, headers=EN))
    session.add_all([PolicySetting(key="parts.scrap_price_below", value="13"),
                     PolicySetting(key="parts.scrap_qty_max", value="3")])
    session.commit()
    page = text(clerk.get(listing, headers=EN))
    assert "Under ¥13.00, at most 3 pieces" in page and "¥5.00" not in page


# --- roles, menus, CSRF, bad input ------------------------------------------------------------------

def test_menus_show_the_spare_parts_screens_by_role(login_as):
    for username in ("clerk", "manager", "admin", "dealer1"):
        page = text(login_as(username).get("/admin/"))
        for endpoint in PARTS_ENDPOINTS:
            assert f'href="/admin/{endpoint}/"' in page, (username, endpoint)


def test_engineer_has_no_parts_menu_and_gets_403_or_redirect(login_as, session):
    engineer = login_as("engineer")
    page = text(engineer.get("/admin/"))
    for endpoint in PARTS_ENDPOINTS:
        assert f'href="/admin/{endpoint}/"' not in page, endpoint
        assert engineer.get(f"/admin/{endpoint}/").status_code in (302, 403), endpoint
        assert engineer.get(f"/admin/{endpoint}/details/?id=1").status_code in (302, 403, 404), endpoint
    for url in ("/admin/parts_request/request/", "/admin/old_part/return/", "/admin/parts_request/picking/?id=1",
                "/admin/parts_account/statement.csv?id=1", "/admin/parts_account/export/csv/"):
        assert engineer.get(url).status_code in (302, 403), url
    waiting = session.scalar(select(PartsRequest).where(PartsRequest.status == "submitted"))
    response = engineer.post(f"/admin/parts_request/review/?id={waiting.id}",
                             data={"csrf_token": engineer.csrf, f"settlement-{waiting.lines[0].id}": "purchase"})
    assert response.status_code in (302, 403, 404)
    session.expire_all()
    assert session.get(PartsRequest, waiting.id).status == "submitted"


def _post_endpoints(session):
    waiting = session.scalar(select(PartsRequest).where(PartsRequest.status == "submitted"))
    parcel = session.scalar(select(PartsReturn))
    month = session.scalar(select(PartsReconciliation).where(PartsReconciliation.status == "open"))
    scrapped = session.scalar(select(OldPart).where(OldPart.state == "scrap_local"))
    owed = session.scalar(select(OldPart).where(OldPart.state == "owed"))
    line = waiting.lines[0]
    return [
        ("/admin/parts_request/request/", {"outlet_id": str(waiting.outlet_id), "part_id-0": str(line.part_id),
                                           "qty-0": "1"}),
        (f"/admin/parts_request/incident/?id={waiting.id}", {f"settlement-{line.id}": "on_account",
                                                             "incident_reason": "x"}),
        (f"/admin/parts_request/review/?id={waiting.id}", {f"settlement-{line.id}": "purchase"}),
        (f"/admin/parts_request/ship/?id={waiting.id}", {"courier": "x", "tracking_no": "y"}),
        (f"/admin/parts_request/reject/?id={waiting.id}", {"rejection_reason": "x"}),
        (f"/admin/parts_request/withdraw/?id={waiting.id}", {}),
        (f"/admin/parts_request/resolve/?id={waiting.id}", {f"missing-{line.id}": "1", "resolution": "credit",
                                                            "resolution_note": "x"}),
        (f"/admin/parts_request/delivery/?id={waiting.id}", {"complete": "yes"}),
        (f"/admin/parts_account/quota/?id={account(session, 'GZ-TH').id}", {}),
        ("/admin/old_part/return/", {"old_part": str(owed.id), "courier": "x", "tracking_no": "y"}),
        (f"/admin/old_part/verify/?id={scrapped.id}", {"confirmed": "yes"}),
        (f"/admin/parts_return/receive/?id={parcel.id}", {f"received-{o.id}": str(o.qty) for o in parcel.old_parts}),
        (f"/admin/parts_return/inspect/?id={parcel.id}", {f"verdict-{o.id}": "quality" for o in parcel.old_parts}),
        ("/admin/parts_month/issue/", {}),
        (f"/admin/parts_month/confirm/?id={month.id}", {}),
        (f"/admin/parts_month/dispute/?id={month.id}", {"dispute_reason": "x"}),
        (f"/admin/parts_month/close/?id={month.id}", {}),
    ]


def _snapshot(session):
    session.expire_all()
    return (count(session, LedgerEntry), count(session, PartsRequest), count(session, PartsReturn),
            count(session, PartsReconciliation), count(session, ApprovalRequest),
            tuple(session.scalars(select(PartsRequest.status).order_by(PartsRequest.id))),
            tuple(session.scalars(select(OldPart.state).order_by(OldPart.id))),
            tuple(session.scalars(select(PartsReconciliation.status).order_by(PartsReconciliation.id))))


@pytest.mark.parametrize("username", ["clerk", "manager", "dealer2"])
def test_csrf_required_on_every_parts_post(login_as, session, username):
    client = login_as(username)
    before = _snapshot(session)
    for url, data in _post_endpoints(session):
        response = client.post(url, data=data)
        assert response.status_code == 400, (url, response.status_code)
        forged = client.post(url, data={**data, "csrf_token": "forged"})
        assert forged.status_code == 400, url
    assert _snapshot(session) == before


HUGE = "99999999999999999999"


def test_bad_input_never_500(login_as, session):
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    chosen = part(session)
    before = count(session, PartsRequest)
    for qty in ("abc", "²", "-1", "0", "1000", "1.5", HUGE, "", "１"):
        response = request_parts(dealer, session, "GZ-TH", (chosen, qty))
        assert response.status_code == 200, qty
    for part_id in ("999999", HUGE, "²", "abc", "-3"):
        assert request_parts(dealer, session, "GZ-TH", (part_id, 1)).status_code == 200, part_id
    assert request_parts(dealer, session, "GZ-TH", (chosen, 1, {"gas_type": "coal"})).status_code == 200
    for outlet_id in ("", "abc", HUGE, "²", str(f.outlet(session, "FS-SD").id)):
        response = dealer.post("/admin/parts_request/request/", data={
            "csrf_token": dealer.csrf, "outlet_id": outlet_id, "part_id-0": str(chosen.id), "qty-0": "1"})
        assert response.status_code == 200, outlet_id
    center = session.scalar(select(Outlet).where(Outlet.is_service_center.is_(True)))
    assert request_parts(clerk, session, center.code, (chosen, 1)).status_code == 200  # no account there
    assert count(session, PartsRequest) == before

    waiting = session.scalar(select(PartsRequest).where(PartsRequest.status == "submitted"))
    line = waiting.lines[0]
    assert post_action(clerk, "parts_request", "review", waiting.id,
                       **{f"settlement-{line.id}": "bogus"}).status_code == 200
    assert post_action(clerk, "parts_request", "review", waiting.id).status_code == 200
    assert post_action(clerk, "parts_request", "review", waiting.id,
                       **{f"settlement-{o.id}": "purchase" for o in waiting.lines}).status_code == 302
    for data in ({"courier": "", "tracking_no": "SF1"}, {"courier": "顺丰", "tracking_no": ""}, {}):
        response = post_action(clerk, "parts_request", "ship", waiting.id, **data)
        assert response.status_code == 200 and "is-invalid" in text(response), data
    session.expire_all()
    assert session.get(PartsRequest, waiting.id).status == "reviewed"
    for record_id in (HUGE, "abc", "²", "-1", "0", ""):
        for url in (f"/admin/parts_request/details/?id={record_id}",
                    f"/admin/parts_request/picking/?id={record_id}",
                    f"/admin/parts_account/statement.csv?id={record_id}",
                    f"/admin/parts_return/details/?id={record_id}"):
            assert clerk.get(url).status_code in ((302, 404) if record_id == "" else (404,)), url
        assert clerk.post(f"/admin/parts_request/ship/?id={record_id}",
                          data={"csrf_token": clerk.csrf}).status_code == 404

    parcel = session.scalar(select(PartsReturn).where(PartsReturn.status == "shipped"))
    for value in ("abc", "-1", "99", HUGE, "²", ""):
        response = post_action(clerk, "parts_return", "receive", parcel.id,
                               **{f"received-{o.id}": value for o in parcel.old_parts})
        assert response.status_code == 200, value
    for ids in (["abc"], [HUGE], ["²"], []):
        response = dealer.post("/admin/old_part/return/", data={"csrf_token": dealer.csrf, "old_part": ids,
                                                               "courier": "x", "tracking_no": "y"})
        assert response.status_code == 200, ids
    found = account(session, "GZ-TH")
    for query in ("month=2026-13", "month=0001-01", "month=9999-12", "month=nonsense", "from=2026-02-30&to=2026-03-01",
                  "from=0001-01-01&to=9999-12-31", "from=x&to=y", "from=2026-10-01"):
        for url in (f"/admin/parts_account/details/?id={found.id}&{query}",
                    f"/admin/parts_account/statement.csv?id={found.id}&{query}"):
            assert clerk.get(url).status_code == 200, url
    for query in (f"?flt0_1={HUGE}", "?flt0_1=²", "?flt0_1=abc", "?flt0_2=2026-13-45+to+x", "?flt0_0=nonsense",
                  "?search=%25'", "?page=-1", "?sort=99"):
        for endpoint in PARTS_ENDPOINTS:
            assert dealer.get(f"/admin/{endpoint}/{query}").status_code < 500, (endpoint, query)


def test_the_outlet_reads_what_the_manager_asks_and_answers_it(login_as, session):  # R-PART-3, R-RET-4
    dealer, manager = login_as("dealer1"), login_as("manager")
    chosen = part(session)
    for _ in range(2):
        assert request_parts(dealer, session, "GZ-TH-01", (chosen, 1)).status_code == 302
    assert request_parts(dealer, session, "GZ-TH-01", (chosen, 1), exception_reason="用户等待维修").status_code == 302
    asked = open_approval(session, newest_request(session).id)
    assert decide(manager, asked.id, "ask_info", "请附上相关服务单号").status_code == 302
    page = text(dealer.get(f"/admin/approval/details/?id={asked.id}"))
    assert 'data-testid="answer-info"' in page and "请附上相关服务单号" in page
    assert decide(dealer, asked.id, "answer_info", "SV20261201-0003").status_code == 302
    history = text(manager.get(f"/admin/approval/details/?id={asked.id}"))
    assert "SV20261201-0003" in history and 'data-testid="decide"' in history


def edit_outlet(client, outlet, **changes):
    """POST the outlet's edit form with what it shows, changed by `changes`."""
    page = text(client.get(f"/admin/outlet/edit/?id={outlet.id}"))
    form = {name: value for name, value in re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', page)
            if name not in ("next", "_add_another", "_continue_editing", "is_service_center", "active")}
    form.update(csrf_token=client.csrf, active="y", parent="__None", **changes)
    return client.post(f"/admin/outlet/edit/?id={outlet.id}", data=form)


def test_whoever_raises_the_purchases_does_not_also_grant_the_quota(login_as, session):  # R-PART-2, R-ROLE-2
    manager, clerk = login_as("manager"), login_as("clerk")
    outlet = f.outlet(session, "FS-SD")
    found = account(session, "FS-SD")
    account_id, quota, balance = found.id, found.quota, found.balance
    raised = quota * 2 / Decimal("0.003")  # twice the purchases the quota stands for
    assert edit_outlet(manager, outlet, total_purchase_amount=f"{raised:.2f}").status_code == 302
    session.expire_all()
    assert f.outlet(session, "FS-SD").total_purchase_amount == raised.quantize(Decimal("0.01"))
    statement = text(manager.get(f"/admin/parts_account/details/?id={account_id}"))
    assert 'data-testid="grant-quota"' not in statement and 'data-testid="grant-quota-why-not"' in statement
    response = post_action(manager, "parts_account", "quota", account_id)
    assert "alert-danger" in text(manager.get(response.headers["Location"]))
    assert account(session, "FS-SD").balance == balance  # refused: four eyes
    assert post_action(clerk, "parts_account", "quota", account_id).status_code == 302
    after = account(session, "FS-SD")
    assert after.quota == quota * 2 and after.balance == balance + quota


# --- requests that end, needed-by day, gas type, total (R-PART-3, R-PART-10) -------------------

def test_clerk_rejects_a_submitted_request_with_the_reason_the_dealer_reads(login_as, session):  # R-PART-10
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    assert request_parts(dealer, session, "GZ-TH", (part(session), 1)).status_code == 302
    created = newest_request(session)
    own_page = text(dealer.get(f"/admin/parts_request/details/?id={created.id}"))
    assert 'data-testid="reject"' not in own_page and 'data-testid="withdraw"' in own_page
    assert 'data-testid="reject"' in text(clerk.get(f"/admin/parts_request/details/?id={created.id}"))
    no_reason = post_action(clerk, "parts_request", "reject", created.id, rejection_reason=" ")
    assert no_reason.status_code == 200 and re.search(r'name="rejection_reason"[^>]*is-invalid', text(no_reason))
    assert newest_request(session).status == "submitted"
    assert post_action(dealer, "parts_request", "reject", created.id, rejection_reason="自己拒绝").status_code == 302
    assert newest_request(session).status == "submitted"  # an outlet never rejects
    assert post_action(clerk, "parts_request", "reject", created.id,
                       rejection_reason="该型号已停产，请改订替代件").status_code == 302
    done = newest_request(session)
    assert (done.status, done.rejection_reason, done.reviewed_by.username) == (
        "rejected", "该型号已停产，请改订替代件", "clerk")
    page = text(dealer.get(f"/admin/parts_request/details/?id={created.id}", headers=EN))
    assert 'data-testid="rejection-reason"' in page and "该型号已停产，请改订替代件" in page
    assert 'data-testid="withdraw"' not in page and 'data-testid="review"' in page  # the lines' table stays
    listing = text(dealer.get("/admin/parts_request/", headers=EN))
    row = listing[listing.index(created.number):]
    assert "Refused" in row[:2000] and "该型号已停产，请改订替代件" in row[:2000]  # the status says why


def test_dealer_withdraws_an_extra_batch_and_the_manager_sees_the_approval_withdrawn(login_as, session):  # R-PART-10
    dealer, manager, clerk = login_as("dealer1"), login_as("manager"), login_as("clerk")
    chosen = part(session)
    for _ in range(2):
        assert request_parts(dealer, session, "GZ-TH-01", (chosen, 1)).status_code == 302
    assert request_parts(dealer, session, "GZ-TH-01", (chosen, 1), exception_reason="促销备货").status_code == 302
    third = newest_request(session)
    asked = open_approval(session, third.id)
    assert 'data-testid="withdraw"' in text(clerk.get(f"/admin/parts_request/details/?id={third.id}"))
    assert post_action(dealer, "parts_request", "withdraw", third.id).status_code == 302
    session.expire_all()
    assert newest_request(session).status == "withdrawn"
    assert session.get(ApprovalRequest, asked.id).status == "withdrawn"
    page = text(dealer.get(f"/admin/parts_request/details/?id={third.id}", headers=EN))
    assert 'data-testid="withdrawn"' in page and 'data-testid="withdraw"' not in page
    details = text(manager.get(f"/admin/approval/details/?id={asked.id}", headers=EN))
    assert "Withdrawn" in details and 'data-testid="decide"' not in details
    decide(manager, asked.id, "approve", "同意")
    session.expire_all()
    assert session.get(ApprovalRequest, asked.id).status == "withdrawn"  # nobody decides it any more
    assert newest_request(session).status == "withdrawn"
    queue = text(clerk.get("/admin/parts_request/", headers=EN))
    assert third.number in queue and "Withdrawn" in queue


def test_a_reviewed_request_shows_why_it_can_no_longer_be_withdrawn(login_as, session):  # R-PART-10
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    assert request_parts(dealer, session, "GZ-TH", (part(session), 1)).status_code == 302
    created = newest_request(session)
    line = created.lines[0]
    assert post_action(clerk, "parts_request", "review", created.id,
                       **{f"settlement-{line.id}": "purchase"}).status_code == 302
    page = text(dealer.get(f"/admin/parts_request/details/?id={created.id}", headers=EN))
    assert 'data-testid="withdraw-why-not"' in page and 'data-testid="withdraw"' not in page
    assert post_action(dealer, "parts_request", "withdraw", created.id).status_code == 302
    assert newest_request(session).status == "reviewed"


def test_the_needed_by_day_defaults_a_week_ahead_refuses_the_past_and_sorts_the_queue(login_as, session):  # R-PART-3
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    chosen, today = part(session), local_today()
    past = request_parts(dealer, session, "GZ-TH", (chosen, 1), needed_by=(today - timedelta(days=1)).isoformat())
    assert past.status_code == 200 and re.search(r'name="needed_by"[^>]*is-invalid', text(past))
    garbled = request_parts(dealer, session, "GZ-TH", (chosen, 1), needed_by="明天")
    assert garbled.status_code == 200 and re.search(r'name="needed_by"[^>]*is-invalid', text(garbled))
    assert request_parts(dealer, session, "GZ-TH", (chosen, 1)).status_code == 302
    default = newest_request(session)
    assert default.needed_by == today + timedelta(days=7)
    soon = (today + timedelta(days=2)).isoformat()
    assert request_parts(dealer, session, "GZ-TH", (chosen, 1), needed_by=soon).status_code == 302
    given = newest_request(session)
    assert given.needed_by.isoformat() == soon
    queue = text(clerk.get("/admin/parts_request/", headers=EN))
    assert "Needed by" in queue and soon in queue and default.needed_by.isoformat() in queue
    sort = re.search(r'href="[^"]*sort=(\d+)[^"]*"[^>]*>\s*Needed by', queue)
    assert sort, "the needed-by column sorts"
    ascending = text(clerk.get(f"/admin/parts_request/?sort={sort.group(1)}", headers=EN))
    assert ascending.index(given.number) < ascending.index(default.number)
    assert soon in text(clerk.get(f"/admin/parts_request/details/?id={given.id}"))


def test_a_part_for_another_gas_is_a_field_error_on_its_line(login_as, session):  # R-PART-10
    lpg = f.make_part(session, gas_type="lpg")
    session.commit()
    dealer = login_as("dealer1")
    refused = request_parts(dealer, session, "GZ-TH", (part(session), 1), (lpg, 1, {"gas_type": "natural_gas"}))
    page = text(refused)
    assert refused.status_code == 200 and re.search(r'name="gas_type-1"[^>]*is-invalid', page)
    assert not re.search(r'name="gas_type-0"[^>]*is-invalid', page)
    said = re.search(r'invalid-feedback d-block">([^<]*)</div>', page[page.index('name="gas_type-1"'):])
    assert said and lpg.code in said.group(1)  # said on the line, naming the part
    assert count(session, PartsRequest, PartsRequest.requested_by_id == f.user(session, "dealer1").id,
                 PartsRequest.created_at >= utcnow() - timedelta(minutes=5)) == 0


def test_a_request_shows_its_total(login_as, session):  # R-PART-3
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    one, other = part(session), part(session, "P-BAT-01")
    assert request_parts(dealer, session, "GZ-TH", (one, 2), (other, 3)).status_code == 302
    created = newest_request(session)
    expected = one.unit_price * 2 + other.unit_price * 3
    for client in (dealer, clerk):
        page = text(client.get(f"/admin/parts_request/details/?id={created.id}"))
        total_row = page[page.index('data-testid="request-total"'):]
        assert f"¥{expected:,.2f}" in total_row[:300]


def test_clerk_credits_the_missing_parts_of_a_disputed_delivery_and_the_dealer_reads_it(login_as, session):  # R-PART-10
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    chosen = part(session)
    assert request_parts(dealer, session, "GZ-TH", (chosen, 3)).status_code == 302
    created = newest_request(session)
    line = created.lines[0]
    assert post_action(clerk, "parts_request", "review", created.id,
                       **{f"settlement-{line.id}": "on_account"}).status_code == 302
    assert post_action(clerk, "parts_request", "ship", created.id, courier="顺丰速运",
                       tracking_no="SF5566").status_code == 302
    assert post_action(dealer, "parts_request", "delivery", created.id, complete="no",
                       delivery_note="少了两个").status_code == 302
    before = account(session, "GZ-TH").balance
    assert 'data-testid="resolve"' not in text(dealer.get(f"/admin/parts_request/details/?id={created.id}"))
    assert 'data-testid="resolve"' in text(clerk.get(f"/admin/parts_request/details/?id={created.id}"))
    refused = post_action(clerk, "parts_request", "resolve", created.id, **{f"missing-{line.id}": "两个"},
                          resolution="credit", resolution_note="丢件")
    assert refused.status_code == 200 and re.search(rf'name="missing-{line.id}"[^>]*is-invalid', text(refused))
    assert post_action(dealer, "parts_request", "resolve", created.id, **{f"missing-{line.id}": "2"},
                       resolution="credit", resolution_note="自己冲账").status_code == 302
    assert newest_request(session).status == "disputed"  # an outlet never settles its own difference
    assert post_action(clerk, "parts_request", "resolve", created.id, **{f"missing-{line.id}": "2"},
                       resolution="credit", resolution_note="快递丢件，冲账").status_code == 302
    done = newest_request(session)
    assert (done.status, done.resolution, done.lines[0].missing_qty) == ("delivered", "credit", 2)
    assert account(session, "GZ-TH").balance == before + chosen.unit_price * 2
    page = text(dealer.get(f"/admin/parts_request/details/?id={created.id}", headers=EN))
    assert 'data-testid="resolution"' in page and "Missing parts credited" in page and "快递丢件，冲账" in page
    assert f"¥{chosen.unit_price * 2:,.2f}" in page and 'data-testid="missing-qty"' in page


# --- freight paid by the receiver; the request export (R-PART-3, R-PART-7, R-PART-10) -------------

def reviewed_request(dealer, clerk, session, chosen, qty=2):
    assert request_parts(dealer, session, "GZ-TH", (chosen, qty)).status_code == 302
    created = newest_request(session)
    line = created.lines[0]
    assert post_action(clerk, "parts_request", "review", created.id,
                       **{f"settlement-{line.id}": "on_account"}).status_code == 302
    return created


def test_clerk_records_the_freight_and_the_dealer_reads_it_on_the_request_and_statement(login_as, session):  # R-PART-7
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    created = reviewed_request(dealer, clerk, session, part(session))
    assert 'name="freight"' in text(clerk.get(f"/admin/parts_request/details/?id={created.id}"))
    bad = post_action(clerk, "parts_request", "ship", created.id, courier="顺丰速运", tracking_no="SF7788",
                      freight="十八块")
    page = text(bad)
    assert bad.status_code == 200 and re.search(r'name="freight"[^>]*is-invalid', page)
    assert 'value="SF7788"' in page and newest_request(session).status == "reviewed"  # typed kept, not shipped
    assert post_action(clerk, "parts_request", "ship", created.id, courier="顺丰速运", tracking_no="SF7788",
                       freight="18.50").status_code == 302
    shipped = newest_request(session)
    assert (shipped.status, shipped.freight) == ("shipped", Decimal("18.50"))
    request_page = text(dealer.get(f"/admin/parts_request/details/?id={created.id}", headers=EN))
    assert 'data-testid="freight"' in request_page and "¥18.50" in request_page
    statement = text(dealer.get(f"/admin/parts_account/details/?id={account(session, 'GZ-TH').id}", headers=EN))
    assert 'data-kind="freight"' in statement and "Freight (cash)" in statement
    figures = statement_figures(statement)
    assert Decimal("18.50") in figures["cash"] and figures["cash_total"] == sum(figures["cash"])


def test_the_request_export_has_the_needed_by_day_and_the_rejection_reason(login_as, session):  # R-PART-3, R-PART-10
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    assert request_parts(dealer, session, "GZ-TH", (part(session), 1), needed_by="2031-06-30").status_code == 302
    created = newest_request(session)
    assert post_action(clerk, "parts_request", "reject", created.id,
                       rejection_reason="本周库存不足，请下周再报").status_code == 302
    rows = list(csv.reader(io.StringIO(text(clerk.get("/admin/parts_request/export/csv/",
                                                       headers=EN)).lstrip("\ufeff"))))
    header = rows[0]
    assert {"Needed by", "Reason for rejection", "Freight"} <= set(header)
    row = next(r for r in rows if r and r[0] == created.number)
    assert row[header.index("Needed by")] == "2031-06-30"
    assert row[header.index("Reason for rejection")] == "本周库存不足，请下周再报"


def test_a_line_already_credited_is_shown_and_not_credited_again(login_as, session):  # R-PART-10
    dealer, clerk = login_as("dealer1"), login_as("clerk")
    chosen = part(session)
    created = reviewed_request(dealer, clerk, session, chosen, qty=3)
    line = created.lines[0]
    assert post_action(clerk, "parts_request", "ship", created.id, courier="顺丰速运",
                       tracking_no="SF5567").status_code == 302
    assert post_action(dealer, "parts_request", "delivery", created.id, complete="no",
                       delivery_note="少了一个").status_code == 302
    assert post_action(clerk, "parts_request", "resolve", created.id, **{f"missing-{line.id}": "1"},
                       resolution="credit", resolution_note="丢件冲账").status_code == 302
    balance = account(session, "GZ-TH").balance
    session.execute(update(PartsRequest).where(PartsRequest.id == created.id).values(status="disputed"))
    session.commit()  # questioned again (a second report of the same parcel)
    page = text(clerk.get(f"/admin/parts_request/details/?id={created.id}", headers=EN))
    assert 'data-testid="already-credited"' in page and "Already credited" in page
    url = f"/admin/parts_request/details/?id={created.id}"
    again = clerk.post(f"/admin/parts_request/resolve/?id={created.id}", headers=EN, data={
        "csrf_token": clerk.csrf, "loaded_version": version(clerk, url), f"missing-{line.id}": "1",
        "resolution": "credit", "resolution_note": "再冲一次"})
    assert again.status_code == 200 and "credited already" in text(again)
    assert account(session, "GZ-TH").balance == balance


def test_statement_xlsx_export_keeps_amounts_as_numbers(login_as, session):  # R-PART-7
    from openpyxl import load_workbook

    dealer = login_as("dealer1")
    found = account(session, "GZ-TH")
    response = dealer.get(f"/admin/parts_account/statement.xlsx?id={found.id}", headers=EN)
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("Date", "Movement") and rows[1][1] == "Opening balance"
    movements = [r for r in rows[2:] if r[0]]
    closing = next(r for r in rows if r[1] == "Closing balance")
    assert rows[1][7] + sum(Decimal(str(r[5])) for r in movements) == Decimal(str(closing[7])) == found.balance
    assert dealer.get(f"/admin/parts_account/statement.xlsx?id={account(session, 'FS-SD').id}").status_code == 404
