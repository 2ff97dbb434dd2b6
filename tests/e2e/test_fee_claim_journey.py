"""The fee claim of a reopened ticket, in Chromium (R-FEE-1, R-FEE-3): the clerk records an
unsatisfied return visit, the ticket reopens and its claim goes back to waiting; the claim page
says so and offers no approval while the rework is open; once the engineer has resolved the
ticket again, the clerk approves and the outlet's dealer reads the approved claim.

Outlet, staff, customer, ticket and claim are made with tests/factories.py and committed before
the browser starts (tests/e2e/test_role_journeys.py: `seeding`)."""
from __future__ import annotations

from backoffice import fee_claims
from models import FeeClaim, Ticket
from tests import factories as f
from tests.e2e.test_role_journeys import assert_shows, people, seeding  # noqa: F401  (fixture)


def test_reopened_tickets_claim_is_refused_then_approved_once_resolved_again(live_server, people):  # noqa: F811
    with seeding(live_server) as session:
        world = f.make_service_network(session)
        ticket = f.make_ticket(session, world["customer"], unit=world["unit"], status="resolved",
                               engineer=world["engineer_a"], desk=world["clerk"])
        [claim] = fee_claims.generate(session, world["a"].id, world["clerk"])
        ids = {"ticket": ticket.id, "claim": claim.id, "clerk": world["clerk"].username,
               "dealer": world["dealer_a"].username, "engineer": world["engineer_a"]}

    clerk = people(ids["clerk"])
    clerk.open_ticket(ids["ticket"])
    clerk.take_step("return_visit", {"satisfaction": "1", "comment": "热水器仍然忽冷忽热"})

    clerk.goto(f"/admin/fee_claim/details/?id={ids['claim']}")
    page = clerk.page
    assert page.get_by_test_id("claim-reopened").count() == 1
    audit = page.get_by_test_id("audit")
    assert audit.locator("button[value=approve]").count() == 0  # refused while the rework is open
    assert_shows(page.get_by_test_id("approve-withheld").inner_text(),
                 "The ticket is not resolved (it was reopened): approve once it is resolved again; "
                 "adjust or reject stay open.")
    clerk.snapshot("claim-reopened")

    with seeding(live_server) as session:  # the engineer's rework, resolved again on site
        ticket = session.get(Ticket, ids["ticket"])
        f.advance_ticket(session, ticket, "resolved", engineer=session.merge(ids["engineer"]))

    clerk.goto(f"/admin/fee_claim/details/?id={ids['claim']}")
    clerk.submit(page.get_by_test_id("audit").locator("button[value=approve]"))
    clerk.flash_ok()
    with seeding(live_server) as session:
        assert session.get(FeeClaim, ids["claim"]).status == "approved"

    dealer = people(ids["dealer"])
    dealer.goto(f"/admin/fee_claim/details/?id={ids['claim']}")
    assert dealer.page.get_by_test_id("approved").count() == 1
    assert dealer.page.get_by_test_id("claim-reopened").count() == 0
