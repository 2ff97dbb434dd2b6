"""Service-fee claim screens for each role (R-FEE-1, R-FEE-2, R-ROLE-1, R-ROLE-2)."""
import re
from decimal import Decimal

from sqlalchemy import select

from models import FeeClaim
from tests import factories as f


def text(response):
    return response.get_data(as_text=True)


def post_action(client, action, claim_id, **data):
    page = text(client.get(f"/admin/fee_claim/details/?id={claim_id}"))
    found = re.search(r'name="loaded_version" value="(\d+)"', page)
    return client.post(f"/admin/fee_claim/{action}/?id={claim_id}",
                       data={"csrf_token": client.csrf, "loaded_version": found.group(1) if found else "", **data})


def claim_of(session, code, status="claimed"):
    return session.scalars(select(FeeClaim).where(FeeClaim.outlet_id == f.outlet(session, code).id,
                                                  FeeClaim.status == status).order_by(FeeClaim.id)).first()


def test_clerk_audits_a_claim_and_the_dealer_sees_the_result(login_as, session):  # R-FEE-1
    clerk, dealer = login_as("clerk"), login_as("dealer1")
    claim = claim_of(session, "GZ-TH-01")
    assert 'data-testid="audit"' not in text(dealer.get(f"/admin/fee_claim/details/?id={claim.id}"))
    response = post_action(clerk, "audit", claim.id, decision="adjust", amount="abc", note="")
    assert response.status_code == 200 and "is-invalid" in text(response)  # typed input kept, no 500
    amount = claim.claimed_total - Decimal("10.00")
    assert post_action(clerk, "audit", claim.id, decision="adjust", amount=str(amount),
                       note="路程核减").status_code == 302
    page = text(dealer.get(f"/admin/fee_claim/details/?id={claim.id}"))
    assert f"¥{amount:,.2f}" in page and "路程核减" in page


def test_dealer_sets_distance_but_never_sees_another_outlets_claims(login_as, session):  # R-ROLE-1
    dealer = login_as("dealer1")
    own, foreign = claim_of(session, "GZ-TH-01"), claim_of(session, "FS-SD")
    assert dealer.get(f"/admin/fee_claim/details/?id={foreign.id}").status_code == 404
    assert "FS-SD" not in text(dealer.get("/admin/fee_claim/export/csv/"))
    assert post_action(dealer, "distance", own.id, distance_km="45").status_code == 302
    session.expire_all()
    assert session.get(FeeClaim, own.id).distance_km == 45
    assert post_action(dealer, "audit", own.id, decision="approve").status_code == 302
    session.expire_all()
    assert session.get(FeeClaim, own.id).status == "claimed"  # dealers never audit


def test_charge_back_by_a_manager_who_did_not_audit(login_as, session):  # R-FEE-2, R-ROLE-2
    manager, admin = login_as("manager"), login_as("admin")
    claim = claim_of(session, "FS-SD")
    assert post_action(manager, "audit", claim.id, decision="approve").status_code == 302
    assert 'data-testid="charge-back"' not in text(manager.get(f"/admin/fee_claim/details/?id={claim.id}"))
    assert post_action(admin, "overcharge", claim.id, overcharge="5.00", charge_back_note="多报路程").status_code == 302
    session.expire_all()
    assert session.get(FeeClaim, claim.id).charge_back == Decimal("50.00")


def test_generate_and_settle_are_staff_posts_with_csrf(login_as):
    clerk, dealer = login_as("clerk"), login_as("dealer1")
    assert clerk.post("/admin/fee_claim/generate/", data={}).status_code == 400
    assert clerk.post("/admin/fee_claim/generate/", data={"csrf_token": clerk.csrf}).status_code == 302
    assert dealer.post("/admin/fee_batch/settle/", data={"csrf_token": dealer.csrf}).status_code in (302, 403)
    assert clerk.post("/admin/fee_batch/settle/", data={"csrf_token": clerk.csrf}).status_code == 302
