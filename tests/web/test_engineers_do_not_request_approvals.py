"""Approval requests are raised by the desk — clerks, dealers, managers, admins — never by an
engineer (DOMAIN §1): the form is not shown, a forged post is refused with a message, and the
rule holds in backoffice.approvals (its "request" action) whatever screen calls it."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice import approvals
from models import ApprovalRequest
from tests import factories as f
from tests.web.test_approval_screens import fresh_ticket, request_refund


def requests(session, ticket) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(ApprovalRequest)
                          .where(ApprovalRequest.ticket_id == ticket.id))


@pytest.fixture
def assigned(session):
    ticket = fresh_ticket(session)
    ticket.assigned_engineer = f.user(session, "engineer")
    f.user(session, "engineer").locale = "en"
    session.commit()
    return ticket


def test_the_ticket_page_offers_engineers_no_approval_request(login_as, assigned):
    page = login_as("engineer").get(f"/admin/ticket/details/?id={assigned.id}")
    assert page.status_code == 200 and 'data-testid="approval-request"' not in page.get_data(as_text=True)
    clerk_page = login_as("clerk").get(f"/admin/ticket/details/?id={assigned.id}")
    assert 'data-testid="approval-request"' in clerk_page.get_data(as_text=True)


def test_an_engineer_posting_a_request_is_refused_with_a_message(login_as, session, assigned):
    engineer = login_as("engineer")
    response = request_refund(engineer, assigned)
    assert response.status_code == 302 and requests(session, assigned) == 0
    shown = engineer.get(response.headers["Location"]).get_data(as_text=True)
    assert "may not request approvals" in shown


def test_a_clerk_still_requests_the_same_refund(login_as, session, assigned):
    response = request_refund(login_as("clerk"), assigned)
    assert response.status_code == 302 and requests(session, assigned) == 1


def test_the_rule_holds_in_the_service(app, session, assigned):
    draft = approvals.Draft(kind="return_refund", grounds="sanbao_window", reason="7天内质量问题",
                            amount=Decimal("2599.00"))
    with app.test_request_context(), pytest.raises(approvals.ApprovalForbidden):
        approvals.submit(session, assigned, f.user(session, "engineer"), draft)
