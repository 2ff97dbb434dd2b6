"""After an approved refund or exchange the ticket follows the return path until the old unit is
back, the exchange unit shipped and the refund paid (R-RET-5)."""
from datetime import timedelta

from sqlalchemy import select

from backoffice import approvals, workflow
from backoffice.approvals import Draft
from backoffice.timezones import local_today
from models import MoneyPosting
from models.choices import ApprovalStatus, TicketStatus
from tests import factories as f


def test_approved_refund_moves_the_ticket_to_the_return_path_until_paid(session, world):
    refund = f.make_refund_request(session, world)
    approvals.decide(session, refund, world["manager"], "approve", "同意退货退款")
    ticket = refund.ticket
    assert ticket.status == TicketStatus.RETURNING
    assert [s.name for s in workflow.available(ticket, world["clerk"])] == [
        "take_back_unit", "pay_refund", "wait_for_customer"]
    workflow.perform(session, ticket, "take_back_unit", world["clerk"], {"old_unit_how": "hand_in"})
    assert ticket.status == TicketStatus.RETURNING
    workflow.perform(session, ticket, "pay_refund", world["clerk"], {"payment_ref": "WX4200001234"})
    posting = session.scalar(select(MoneyPosting).where(MoneyPosting.request_id == refund.id))
    assert ticket.status == TicketStatus.RESOLVED and posting.payment_ref == "WX4200001234"
    assert posting.paid_at is not None and ticket.return_visits


def test_approved_exchange_ships_the_new_unit_with_courier_and_tracking(session, world):
    model = f.make_product_model(session)
    f.make_stock(session, world["center"], model)
    unit = f.make_unit(session, world["customer"], model_code=model.code,
                       invoice_date=local_today() - timedelta(days=5))
    ticket = f.make_ticket(session, world["customer"], unit=unit, kind="return_exchange", actor=world["dealer_a"])
    exchange = approvals.submit(session, ticket, world["dealer_a"],
                                Draft(kind="exchange", grounds="sanbao_window", reason="开箱即坏"))
    approvals.decide(session, exchange, world["manager"], "approve", "同意换货")
    workflow.perform(session, ticket, "ship_exchange", world["dealer_a"],
                     {"courier": "顺丰速运", "tracking_no": "SF1234567890"})
    workflow.perform(session, ticket, "take_back_unit", world["engineer_a"], {"old_unit_how": "pickup"})
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.return_handling.tracking_no == "SF1234567890"
    assert exchange.status == ApprovalStatus.APPROVED
