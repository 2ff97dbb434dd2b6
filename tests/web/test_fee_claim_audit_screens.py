"""The claim audit on screen (R-FEE-1, R-FEE-3): the page shows the facts the center checks and
how each part is paid; approval waits for old parts and a resolved ticket; a reopened ticket
sends its claim back to waiting. Each role posts what it may and reads the result back."""
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice import fee_claims, old_parts, workflow
from models import Attachment, FeeClaim, OldPart, Ticket
from tests import factories as f


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def world(session):
    w = f.make_service_network(session)
    f.make_parts_account(session, w["a"], quota="300.00")
    w["ozone"] = f.make_part(session, name="臭氧发生器", unit_price=Decimal("58.00"), consumable=True)
    w["ticket"] = f.make_ticket(session, w["customer"], unit=w["unit"], status="in_service",
                                engineer=w["engineer_a"], desk=w["clerk"])
    for person in (w["engineer_a"], w["dealer_a"], w["clerk"]):
        person.locale = "en"  # English pages, so the assertions read as the rule
    session.commit()
    return w


def login(login_as, user):
    return login_as(user.username)


def post_resolve(client, ticket, part, settlement):
    return client.post(f"/admin/ticket/transition/resolve/?id={ticket.id}", data={
        "csrf_token": client.csrf, "loaded_version": ticket.version_id, "work_done": "更换臭氧发生器，试机正常",
        "tested_ok": "y", "signed_by": "用户本人", "part_id": [str(part.id), ""], "part_qty": ["2", "1"],
        "part_settlement": [settlement, "on_account"]})


def claim_of(session, ticket) -> FeeClaim:
    session.expire_all()
    return session.scalar(select(FeeClaim).where(FeeClaim.ticket_id == ticket.id))


def post_audit(client, claim, **data):
    page = text(client.get(f"/admin/fee_claim/details/?id={claim.id}"))
    version = re.search(r'name="loaded_version" value="(\d+)"', page).group(1)
    return client.post(f"/admin/fee_claim/audit/?id={claim.id}",
                       data={"csrf_token": client.csrf, "loaded_version": version, **data}, follow_redirects=True)


@pytest.mark.parametrize("who", ["engineer_a", "dealer_a"])
def test_who_resolves_says_a_part_was_bought_for_cash_and_the_claim_pays_it(login_as, session, world, who):
    ticket = world["ticket"]
    assert post_resolve(login(login_as, world[who]), ticket, world["ozone"], "purchase").status_code == 302
    session.expire_all()
    [fitted] = session.get(Ticket, ticket.id).replaced_parts
    assert (fitted.part_id, fitted.qty, fitted.settlement) == (world["ozone"].id, 2, "purchase")
    fee_claims.generate(session, world["a"].id, world["clerk"])
    session.commit()
    claim = claim_of(session, ticket)
    page = text(login(login_as, world["dealer_a"]).get(f"/admin/fee_claim/details/?id={claim.id}"))
    assert "¥116.00" in page and "Bought for cash: paid here once" in page


def test_a_part_resolved_from_the_account_is_shown_unpaid_on_the_claim(login_as, session, world):
    ticket = world["ticket"]
    assert post_resolve(login(login_as, world["engineer_a"]), ticket, world["ozone"], "on_account").status_code == 302
    fee_claims.generate(session, world["a"].id, world["clerk"])
    session.commit()
    claim = claim_of(session, ticket)
    assert claim.parts_amount == Decimal("0.00")
    page = text(login(login_as, world["clerk"]).get(f"/admin/fee_claim/details/?id={claim.id}"))
    assert "Issued on account: not paid here" in page


def test_a_hostile_part_source_is_a_field_message_and_nothing_is_saved(login_as, session, world):
    ticket = world["ticket"]
    response = post_resolve(login(login_as, world["engineer_a"]), ticket, world["ozone"], "free")
    assert response.status_code == 200 and "check the marked fields" in text(response)
    session.expire_all()
    assert session.get(Ticket, ticket.id).status == "in_service"


def test_the_clerk_sees_the_audit_facts_and_cannot_approve_while_the_old_part_is_owed(login_as, session, world):
    ticket = world["ticket"]
    post_resolve(login(login_as, world["engineer_a"]), ticket, world["ozone"], "on_account")
    session.add(Attachment(ticket_id=ticket.id, filename="铭牌.jpg", content_type="image/jpeg", size=3, data=b"jpg"))
    fee_claims.generate(session, world["a"].id, world["clerk"])
    session.commit()
    claim = claim_of(session, ticket)
    clerk = login(login_as, world["clerk"])
    page = text(clerk.get(f"/admin/fee_claim/details/?id={claim.id}"))
    facts = page[page.index('data-testid="audit-facts"'):]
    assert "Resolved" in facts and "铭牌.jpg" in facts and "臭氧发生器" in facts
    assert "Scrapped locally, to verify" in facts
    assert 'value="approve"' not in page and 'data-testid="approve-withheld"' in page
    response = post_audit(clerk, claim, decision="approve")
    assert "is not back yet" in text(response) and claim_of(session, ticket).status == "claimed"
    old = session.scalar(select(OldPart).where(OldPart.ticket_id == ticket.id))
    old_parts.verify_scrapped(session, old, world["clerk"], True, "回访核实已报废")
    session.commit()
    response = post_audit(clerk, claim, decision="approve")
    assert claim_of(session, ticket).status == "approved"
    dealer_page = text(login(login_as, world["dealer_a"]).get(f"/admin/fee_claim/details/?id={claim.id}"))
    assert 'data-testid="approved"' in dealer_page


def test_a_reopened_tickets_claim_shows_it_waits_again(login_as, session, world):
    ticket = world["ticket"]
    post_resolve(login(login_as, world["engineer_a"]), ticket, world["ozone"], "on_account")
    session.expire_all()
    ticket = session.get(Ticket, ticket.id)
    [claim] = fee_claims.generate(session, world["a"].id, world["clerk"])
    old_parts.verify_scrapped(session, session.scalar(select(OldPart).where(OldPart.ticket_id == ticket.id)),
                              world["clerk"], True, "核实")
    fee_claims.audit(session, claim, world["clerk"], "approve")
    workflow.perform(session, ticket, "return_visit", world["clerk"], {"satisfaction": "1", "comment": "仍有异味"})
    session.commit()
    for who in ("clerk", "dealer_a"):
        page = text(login(login_as, world[who]).get(f"/admin/fee_claim/details/?id={claim.id}"))
        assert 'data-testid="claim-reopened"' in page and "To audit" in page
