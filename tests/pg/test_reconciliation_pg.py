"""Two center users resolve one disputed statement at the same moment, on PostgreSQL (R-PART-7,
R-PART-8): exactly one resolution is recorded and booked, the statement is reissued once, and
the other is told clearly that the dispute was resolved already (and by whom). A clerk and a
manager race with a debit; two managers (the manager and the admin) race with a credit, which
only a manager may book (R-PART-8)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from backoffice import reconciliation
from backoffice.errors import DomainError
from backoffice.reconciliation import CorrectionDraft
from models import LedgerEntry, Outlet, PartsReconciliation, User
from models.parts_ledger import ReconciliationDispute
from tests.pg.test_parts_ledger_pg import T0, account_state, assert_derived, engine, new_outlet, run_together

__all__ = ["engine"]  # the fixture, shared with the ledger tests

ROUNDS = 4  # a few rounds, so both interleavings get their chance
MAY_2031 = date(2031, 5, 1)


def user(session: Session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def disputed_month(engine) -> tuple[int, int]:
    """(outlet id, its May 2031 statement disputed by the outlet's own dealer), committed."""
    outlet_id = new_outlet(engine, funds="1000.00")
    with Session(engine) as session:
        outlet = session.get(Outlet, outlet_id)
        dealer = User(username=f"dealer-{outlet.code.lower()}", full_name="并发网点", role="dealer", outlet=outlet,
                      active=True, password_hash="!")
        session.add(dealer)
        record = reconciliation.issue(session, outlet_id, MAY_2031)
        reconciliation.dispute(session, record, dealer, "5月14日的领用数量不对", at=T0 + timedelta(days=20))
        session.commit()
        return outlet_id, record.id


def resolver(record_id: int, resolvers: tuple[str, str], amount: Decimal):
    """Thread i resolves as resolvers[i]: the same correction."""
    def resolve(session: Session, index: int) -> str:
        record = session.get(PartsReconciliation, record_id)
        username = resolvers[index]
        try:
            reconciliation.resolve(session, record, user(session, username), "corrections",
                                   [CorrectionDraft(amount, f"{username}: 少发一个传感器")],
                                   at=T0 + timedelta(days=21))
            session.commit()
            return "resolved"
        except (DomainError, StaleDataError) as exc:
            session.rollback()
            return str(getattr(exc, "message", exc))
    return resolve


@pytest.mark.parametrize("resolvers, amount", [(("clerk", "manager"), Decimal("-25.00")),
                                               (("manager", "admin"), Decimal("25.00"))], ids=["debit", "credit"])
def test_two_center_users_resolving_one_dispute_exactly_one_wins(engine, resolvers, amount):  # R-PART-7, R-PART-8
    for _ in range(ROUNDS):
        outlet_id, record_id = disputed_month(engine)
        outcome = run_together(engine, 2, resolver(record_id, resolvers, amount))
        won = [index for index, result in outcome.items() if result == "resolved"]
        assert len(won) == 1, outcome
        loser = outcome[1 - won[0]]
        winner_name = resolvers[won[0]]
        with Session(engine) as session:
            assert "resolved already" in loser and user(session, winner_name).full_name in loser, loser
            record = session.get(PartsReconciliation, record_id)
            disputes = session.scalars(select(ReconciliationDispute).where(
                ReconciliationDispute.reconciliation_id == record_id)).all()
            corrections = session.scalars(select(LedgerEntry).where(
                LedgerEntry.source.like(f"reconciliation:{disputes[0].id}:%"))).all()
            assert (record.status, record.revision, record.corrections) == ("open", 2, amount)
            assert [(d.outcome, d.resolved_by.username) for d in disputes] == [("corrections", winner_name)]
            assert [e.reason for e in corrections] == [f"2031-05: {winner_name}: 少发一个传感器"]
        balance, entries = account_state(engine, outlet_id)
        assert_derived(balance, entries)
        assert balance == Decimal("1000.00") + amount  # booked once
