"""Service-fee screens for each role (R-FEE-1, R-FEE-2, R-CMP-3, R-ROLE-1, R-ROLE-2)."""
import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice import fee_claims, months, reconciliation
from backoffice.timezones import local_today
from models import ApprovalRequest, FeeBatch, FeeClaim, Ticket, TravelBand, utcnow
from tests import factories as f
from tests.web.test_approval_screens import decide


def text(response):
    return response.get_data(as_text=True)


def details(client, claim_id):
    return client.get(f"/admin/fee_claim/details/?id={claim_id}")


def post_action(client, action, claim_id, version=None, **data):
    if version is None:
        found = re.search(r'name="loaded_version" value="(\d+)"', text(details(client, claim_id)))
        version = found.group(1) if found else ""
    return client.post(f"/admin/fee_claim/{action}/?id={claim_id}",
                       data={"csrf_token": client.csrf, "loaded_version": version, **data})


def claim_of(session, code, status="claimed"):
    """The outlet's first claim in `status`, its old parts back (what approval waits for)."""
    claim = session.scalars(select(FeeClaim).where(FeeClaim.outlet_id == f.outlet(session, code).id,
                                                   FeeClaim.status == status).order_by(FeeClaim.id)).first()
    if claim is not None:
        f.bring_back_old_parts(session, claim)
        session.commit()
    return claim


def reload(session, claim):
    session.expire_all()
    return session.get(FeeClaim, claim.id)


def exported_numbers(response):
    rows = list(csv.reader(io.StringIO(text(response))))
    return [row[0] for row in rows[1:]]


# --- clerk -----------------------------------------------------------------------------------
def test_clerk_generates_claims_for_newly_resolved_warranty_tickets(login_as, session):
    ticket = session.scalars(select(Ticket).where(Ticket.outlet_id == f.outlet(session, "FS-SD").id,
                                                  Ticket.status == "diagnosed")).first()
    ticket.status, ticket.in_warranty = "resolved", True
    session.commit()
    clerk = login_as("clerk")
    assert 'data-testid="generate"' in text(clerk.get("/admin/fee_claim/"))
    assert clerk.post("/admin/fee_claim/generate/", data={}).status_code == 400  # CSRF
    response = clerk.post("/admin/fee_claim/generate/", data={"csrf_token": clerk.csrf}, follow_redirects=True)
    assert response.status_code == 200 and "1" in text(response)
    claim = session.scalar(select(FeeClaim).where(FeeClaim.ticket_id == ticket.id))
    assert claim is not None and claim.number == "FW" + ticket.number[2:]
    assert clerk.post("/admin/fee_claim/generate/", data={"csrf_token": clerk.csrf}).status_code == 302
    assert len(session.scalars(select(FeeClaim).where(FeeClaim.ticket_id == ticket.id)).all()) == 1


def test_claim_details_show_the_breakdown(login_as, session):
    claim = next(c for c in session.scalars(select(FeeClaim).order_by(FeeClaim.id)) if c.parts)
    page = text(details(login_as("clerk"), claim.id))
    assert claim.number in page and claim.ticket.number in page
    assert claim.remedy_code.code in page and f"{claim.labor_hours} h" in page
    assert f"{claim.distance_km} km" in page
    for line in claim.parts:
        assert line.part.code in page and f"¥{line.unit_price:,.2f}" in page
    assert f"¥{claim.claimed_total:,.2f}" in page


def test_clerk_audits_and_bad_input_is_a_message_not_a_500(login_as, session):
    clerk, dealer = login_as("clerk"), login_as("dealer1")
    claim = claim_of(session, "GZ-TH-01")
    response = post_action(clerk, "audit", claim.id, decision="adjust", approved_total="abc", note="路程核减")
    page = text(response)
    assert response.status_code == 200 and "is-invalid" in page and 'value="路程核减"' in page  # typed kept
    response = post_action(clerk, "audit", claim.id, decision="adjust", approved_total="10", note="")
    assert response.status_code == 200 and 'value="10"' in text(response)
    too_much = claim.claimed_total + Decimal("1")
    assert post_action(clerk, "audit", claim.id, decision="adjust", approved_total=str(too_much),
                       note="x").status_code == 200
    assert reload(session, claim).status == "claimed"
    amount = claim.claimed_total - Decimal("10.00")
    assert post_action(clerk, "audit", claim.id, decision="adjust", approved_total=str(amount),
                       note="路程核减").status_code == 302
    assert (reload(session, claim).status, reload(session, claim).approved_total) == ("adjusted", amount)
    page = text(details(dealer, claim.id))
    assert f"¥{amount:,.2f}" in page and "路程核减" in page and 'data-testid="audit"' not in page


def test_reject_without_reason_is_refused_then_recorded(login_as, session):
    clerk = login_as("clerk")
    claim = claim_of(session, "DG-NC")
    assert post_action(clerk, "audit", claim.id, decision="reject", note="").status_code == 200
    assert post_action(clerk, "audit", claim.id, decision="reject", note="照片缺失").status_code == 302
    assert reload(session, claim).status == "rejected"


def test_a_stale_page_is_refused(login_as, session):
    clerk = login_as("clerk")
    claim = claim_of(session, "DG-NC")
    response = post_action(clerk, "audit", claim.id, version=str(claim.version_id + 5), decision="approve")
    assert response.status_code == 302 and reload(session, claim).status == "claimed"


def test_posts_need_the_csrf_token(login_as, session):
    clerk = login_as("clerk")
    claim = claim_of(session, "DG-NC")
    response = clerk.post(f"/admin/fee_claim/audit/?id={claim.id}",
                          data={"decision": "approve", "loaded_version": str(claim.version_id)})
    assert response.status_code == 400 and reload(session, claim).status == "claimed"


# --- dealer ----------------------------------------------------------------------------------
def test_dealer_sees_only_own_outlets_claims_and_batches(login_as, session):
    dealer = login_as("dealer1")
    own, foreign = claim_of(session, "GZ-TH-01"), claim_of(session, "FS-SD")
    assert details(dealer, own.id).status_code == 200
    assert details(dealer, foreign.id).status_code == 404
    listing = text(dealer.get("/admin/fee_claim/"))
    assert own.number in listing and foreign.number not in listing
    batch = session.scalar(select(FeeBatch).where(FeeBatch.outlet_id == f.outlet(session, "FS-SD").id))
    assert dealer.get(f"/admin/fee_batch/details/?id={batch.id}").status_code == 404
    assert login_as("dealer2").get(f"/admin/fee_batch/details/?id={batch.id}").status_code == 200


def test_export_is_scoped(login_as, session):
    own = {c.number for c in session.scalars(select(FeeClaim).where(FeeClaim.outlet_id.in_(
        [f.outlet(session, "GZ-TH").id, f.outlet(session, "GZ-TH-01").id])))}
    response = login_as("dealer1").get("/admin/fee_claim/export/csv/")
    assert response.status_code == 200 and set(exported_numbers(response)) == own
    everything = exported_numbers(login_as("clerk").get("/admin/fee_claim/export/csv/"))
    assert len(everything) == len(session.scalars(select(FeeClaim)).all())
    batches = text(login_as("dealer1").get("/admin/fee_batch/export/csv/"))
    assert "FS-SD" not in batches


def test_dealer_sets_the_distance_but_never_audits(login_as, session):
    dealer = login_as("dealer1")
    own, foreign = claim_of(session, "GZ-TH-01"), claim_of(session, "FS-SD")
    page = text(details(dealer, own.id))
    assert 'data-testid="distance"' in page and 'data-testid="audit"' not in page
    response = post_action(dealer, "distance", own.id, distance_km="很远")
    assert response.status_code == 200 and "is-invalid" in text(response)
    assert post_action(dealer, "distance", own.id, distance_km="45").status_code == 302
    changed = reload(session, own)
    assert (changed.distance_km, changed.travel_amount) == (45, Decimal("60.00"))
    assert post_action(dealer, "audit", own.id, decision="approve").status_code == 302
    assert reload(session, own).status == "claimed"  # refused with a message
    assert dealer.post(f"/admin/fee_claim/distance/?id={foreign.id}",
                       data={"csrf_token": dealer.csrf, "distance_km": "1"}).status_code == 404
    assert dealer.post("/admin/fee_claim/generate/", data={"csrf_token": dealer.csrf}).status_code == 403
    assert dealer.post("/admin/fee_batch/settle/", data={"csrf_token": dealer.csrf}).status_code == 403
    assert dealer.get("/admin/travel_band/").status_code == 403


def test_the_outlet_is_told_why_an_audited_claims_distance_is_final(login_as, session):
    claim = claim_of(session, "GZ-TH-01", "approved") or claim_of(session, "GZ-TH-01", "settled")
    page = text(details(login_as("dealer1"), claim.id))
    assert 'data-testid="distance"' not in page
    hint = page.split('data-testid="distance-withheld"')[1].split("</p>")[0]
    assert "its distance is final" in hint or "路程不能再修改" in hint  # in the dealer's language


def test_engineers_see_no_fees(login_as, session):
    engineer = login_as("engineer2")
    claim = claim_of(session, "FS-SD")
    assert engineer.get("/admin/fee_claim/").status_code == 403
    assert details(engineer, claim.id).status_code in (403, 404)
    assert engineer.get("/admin/fee_batch/").status_code == 403


# --- manager: charge-back, four eyes ----------------------------------------------------------
def charge_back_request(session, claim):
    session.expire_all()
    return session.scalar(select(ApprovalRequest).where(ApprovalRequest.fee_claim_id == claim.id)
                          .order_by(ApprovalRequest.id.desc()))


def test_charge_back_is_asked_then_approved_by_a_manager_who_did_not_audit(login_as, session):  # R-CMP-3
    manager, admin = login_as("manager"), login_as("admin")
    claim = claim_of(session, "FS-SD")
    assert post_action(manager, "audit", claim.id, decision="approve").status_code == 302
    assert 'data-testid="charge-back"' in text(details(manager, claim.id))  # anyone at the center reports
    response = post_action(manager, "overcharge", claim.id, overcharge="lots", charge_back_note="")
    assert response.status_code == 200 and "is-invalid" in text(response)
    assert charge_back_request(session, claim) is None
    assert post_action(manager, "overcharge", claim.id, overcharge="5.00",
                       charge_back_note="多报路程").status_code == 302
    asked = charge_back_request(session, claim)
    assert (asked.kind, asked.amount, asked.status) == ("fee_chargeback", Decimal("5.00"), "pending")
    page = text(details(manager, claim.id))
    assert 'data-testid="charge-back"' not in page and 'data-testid="claim-approvals"' in page  # one at a time
    assert re.search(r'data-testid="charge-back-withheld">\s*\S', page)  # and why, in the manager's language
    assert reload(session, claim).charge_back == Decimal("0.00")  # not before approval
    approval_page = text(admin.get(f"/admin/approval/details/?id={asked.id}"))
    assert 'data-testid="chargeback"' in approval_page and "¥50.00" in approval_page and claim.number in approval_page
    assert decide(admin, asked.id, "approve", "录音核实").status_code == 302
    assert reload(session, claim).charge_back == Decimal("50.00")
    assert "多报路程" in text(details(login_as("dealer2"), claim.id))


def test_the_auditing_manager_cannot_approve_the_charge_back(login_as, session):  # R-ROLE-2
    manager, clerk = login_as("manager"), login_as("clerk")
    claim = claim_of(session, "FS-SD")
    assert post_action(manager, "audit", claim.id, decision="approve").status_code == 302
    assert post_action(clerk, "overcharge", claim.id, overcharge="5.00", charge_back_note="多报路程").status_code == 302
    asked = charge_back_request(session, claim)
    page = text(manager.get(f"/admin/approval/details/?id={asked.id}"))
    assert 'data-testid="decide"' not in page and 'data-testid="decider-conflict"' in page
    response = decide(manager, asked.id, "approve", "同意")
    assert "alert-danger" in text(manager.get(response.headers["Location"]))
    assert charge_back_request(session, claim).status == "pending"
    assert reload(session, claim).charge_back == Decimal("0.00")


def test_clerk_reports_an_overcharge_but_never_decides_it(login_as, session):  # R-ROLE-2
    clerk = login_as("clerk")
    claim = claim_of(session, "DG-NC", "approved")
    assert 'data-testid="charge-back"' in text(details(clerk, claim.id))
    assert post_action(clerk, "overcharge", claim.id, overcharge="1", charge_back_note="多报工时").status_code == 302
    asked = charge_back_request(session, claim)
    decide(clerk, asked.id, "approve", "同意")
    assert charge_back_request(session, claim).status == "pending"
    assert reload(session, claim).charge_back == Decimal("0.00")


def test_dealer_cannot_report_an_overcharge(login_as, session):
    dealer = login_as("dealer2")
    claim = claim_of(session, "FS-SD", "approved") or claim_of(session, "FS-SD", "settled")
    page = text(details(dealer, claim.id))
    assert 'data-testid="charge-back"' not in page and 'data-testid="charge-back-withheld"' not in page
    post_action(dealer, "overcharge", claim.id, overcharge="1", charge_back_note="x")
    assert charge_back_request(session, claim) is None


# --- settlement --------------------------------------------------------------------------------
def test_clerk_settles_last_month_and_the_batch_prints(login_as, session):
    clerk = login_as("clerk")
    month = months.previous_month(local_today())
    assert clerk.post("/admin/fee_batch/settle/", data={"month": f"{month:%Y-%m}"}).status_code == 400
    response = clerk.post("/admin/fee_batch/settle/", data={"csrf_token": clerk.csrf, "month": f"{month:%Y-%m}"})
    assert response.status_code == 302
    batches = session.scalars(select(FeeBatch).where(FeeBatch.month == month)).all()
    assert len(batches) >= 2
    again = clerk.post("/admin/fee_batch/settle/", data={"csrf_token": clerk.csrf, "month": f"{month:%Y-%m}"})
    assert again.status_code == 302
    assert len(session.scalars(select(FeeBatch).where(FeeBatch.month == month)).all()) == len(batches)
    batch = batches[0]
    page = text(clerk.get(f"/admin/fee_batch/details/?id={batch.id}"))
    assert 'data-action="print"' in page and batch.claims[0].number in page
    assert f"¥{batch.net:,.2f}" in page


@pytest.mark.parametrize("month", ["2026-13", "soon", "9999-01"])
def test_a_bad_or_unfinished_month_is_a_message(login_as, month):
    clerk = login_as("clerk")
    response = clerk.post("/admin/fee_batch/settle/", data={"csrf_token": clerk.csrf, "month": month},
                          follow_redirects=True)
    assert response.status_code == 200 and "alert-danger" in text(response)


def test_a_negative_net_is_shown_as_owed(login_as, session):
    batch = session.scalars(select(FeeBatch)).first()
    batch.net = Decimal("-123.40")
    session.commit()
    clerk = login_as("clerk")
    assert "−¥123.40" in text(clerk.get(f"/admin/fee_batch/details/?id={batch.id}"))
    assert "−¥123.40" in text(clerk.get("/admin/fee_batch/"))


# --- lists, filters, travel bands ----------------------------------------------------------------
def test_lists_and_filters_render_for_each_role(login_as, session):
    month = f"{local_today():%Y-%m}"
    outlet = f.outlet(session, "GZ-TH-01").id
    for username in ("admin", "manager", "clerk", "dealer1", "dealer2"):
        client = login_as(username)
        for url in ("/admin/fee_claim/", "/admin/fee_claim/?flt0_0=approved", f"/admin/fee_claim/?flt0_1={outlet}",
                    f"/admin/fee_claim/?flt0_2={month}", "/admin/fee_claim/?flt0_2=2026-99",
                    "/admin/fee_claim/?sort=6", "/admin/fee_batch/", "/admin/fee_claim/?search=FW"):
            response = client.get(url)
            assert response.status_code == 200, (username, url)
    approved = text(login_as("clerk").get("/admin/fee_claim/?flt0_0=approved"))
    assert claim_of(session, "DG-NC", "approved").number in approved
    assert claim_of(session, "DG-NC").number not in approved


def test_admins_edit_travel_bands_and_the_center_reads_them(login_as, session):
    admin, clerk = login_as("admin"), login_as("clerk")
    band = session.scalar(select(TravelBand).where(TravelBand.up_to_km == 30))
    assert clerk.get("/admin/travel_band/").status_code == 200
    assert clerk.get(f"/admin/travel_band/edit/?id={band.id}").status_code == 403
    response = admin.post(f"/admin/travel_band/edit/?id={band.id}",
                          data={"csrf_token": admin.csrf, "up_to_km": "30", "amount": "35.00"})
    assert response.status_code == 302
    session.expire_all()
    assert fee_claims.travel_for(session, 20) == Decimal("35.00")
    response = admin.post("/admin/travel_band/new/", data={"csrf_token": admin.csrf, "up_to_km": "0",
                                                           "amount": "-1"})
    assert response.status_code == 200  # re-rendered with the field errors


# --- traceability and the annual award (R-FEE-2, R-CMP-3, R-APR-5) ------------------------------
def test_ticket_page_links_its_fee_claim_for_the_center_and_the_outlet(login_as, session):  # R-FEE-2
    claim = claim_of(session, "FS-SD")
    for username in ("clerk", "dealer2"):
        page = text(login_as(username).get(f"/admin/ticket/details/?id={claim.ticket_id}"))
        assert 'data-testid="fee-claim"' in page and f"/admin/fee_claim/details/?id={claim.id}" in page
        assert claim.number in page


def test_outlet_penalised_for_overcharging_is_not_eligible_for_the_annual_award(login_as, session):  # R-CMP-3
    penalised = f.outlet(session, "GZ-TH-01")  # demo: a charge-back approved this year
    manager = login_as("manager")
    listed = text(manager.get("/admin/outlet/"))
    def row(code):
        return re.search(rf"col-code\">\s*{code}\s*</td>.*?</tr>", listed, re.S).group(0)
    assert 'data-award="no"' in row("GZ-TH-01")
    assert 'data-award="yes"' in row("FS-SD")
    details_page = text(manager.get(f"/admin/outlet/details/?id={penalised.id}"))
    claim = session.scalar(select(FeeClaim).where(FeeClaim.outlet_id == penalised.id, FeeClaim.charge_back > 0))
    assert 'data-testid="award"' in details_page and claim.number in details_page
    # A dealer sees its own outlets' standing, never another's.
    assert claim.number in text(login_as("dealer1").get(f"/admin/outlet/details/?id={penalised.id}"))
    assert login_as("dealer2").get(f"/admin/outlet/details/?id={penalised.id}").status_code == 404
    assert 'data-award="no"' not in text(login_as("dealer2").get("/admin/outlet/"))


def test_claims_filter_by_the_month_they_were_audited_as_settlement_does(login_as, session):  # R-FEE-2
    clerk = login_as("clerk")
    claim = claim_of(session, "DG-NC")
    last_month = months.previous_month(local_today())
    fee_claims.audit(session, claim, f.user(session, "manager"), "approve",
                     at=reconciliation.month_bounds(last_month)[0] + timedelta(days=2))
    session.commit()
    audited_then = text(clerk.get(f"/admin/fee_claim/?flt0_3={last_month:%Y-%m}"))
    assert claim.number in audited_then
    assert claim.number not in text(clerk.get(f"/admin/fee_claim/?flt0_3={local_today():%Y-%m}"))
    assert clerk.get("/admin/fee_claim/?flt0_3=2026-99").status_code == 200


# --- the list's age badge follows the policy (fees.audit_within_days) --------------------------
def age_badge(client, claim):
    listing = text(client.get(f"/admin/fee_claim/?search={claim.number}"))
    return re.search(r'<span class="badge (badge-\w+)">\d+', listing.split(claim.number, 1)[1]).group(1)


def test_a_claim_waiting_longer_than_the_policy_days_is_highlighted(login_as, session):
    claim = claim_of(session, "GZ-TH")
    claim.created_at = utcnow() - timedelta(days=10, hours=1)
    session.commit()
    clerk = login_as("clerk")
    assert age_badge(clerk, claim) == "badge-warning"  # 10 days > the default 7
    f.make_policy_setting(session, "fees.audit_within_days", "14")
    session.commit()
    assert age_badge(login_as("clerk"), claim) == "badge-light"
