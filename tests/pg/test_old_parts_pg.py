"""A return application is decided once, under real concurrency on PostgreSQL (R-PART-9): two
center users authorising and refusing the same application at once — or the outlet withdrawing it
while the center authorises — end with exactly one decision; the loser's whole transaction is
refused (version_id on parts_return), never half applied. Two applications racing for the same
old part: only one lists it.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from backoffice import old_parts, warranty
from backoffice.errors import DomainError, FieldErrors
from backoffice.timezones import local_today
from models import OldPart, Outlet, PartsReturn, ReplacedPart, User
from tests import factories as f
from tests.pg.test_parts_ledger_pg import engine, new_outlet, run_together

__all__ = ["engine"]  # the fixture, shared with the ledger tests

REFUSED = (DomainError, FieldErrors, StaleDataError)
ROUNDS = 4  # a few rounds, so both interleavings get their chance


def user(session: Session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def owed_parts(engine, outlet_id: int, count: int = 2) -> list[int]:
    """`count` owed old parts from one warranty repair at the outlet (committed); their ids."""
    with Session(engine) as session:
        outlet = session.get(Outlet, outlet_id)
        ticket = f.make_ticket(session, f.make_customer(session, outlet))
        ids = []
        for n in range(count):
            piece = f.make_part(session, unit_price=Decimal("88.00"))
            day = local_today() - timedelta(days=2)
            line = ReplacedPart(part=piece, qty=1, unit_id=ticket.unit_id, replaced_on=day,
                                warranty_until=warranty.part_warranty_until(session, day))
            ticket.replaced_parts.append(line)
            old = OldPart(replaced_part=line, ticket=ticket, outlet_id=outlet_id, part=piece, qty=1,
                          unit_price=piece.unit_price, replaced_on=day, tag=old_parts.tag_for(ticket.number, n + 1))
            session.add(old)
            session.flush()
            ids.append(old.id)
        session.commit()
        return ids


def applied(engine, outlet_id: int, part_ids: list[int]) -> int:
    with Session(engine) as session:
        parts = [session.get(OldPart, i) for i in part_ids]
        parcel = old_parts.apply(session, outlet_id, user(session, "clerk"), parts, "并发测试")
        session.commit()
        return parcel.id


def race(engine, parcel_id: int, first, second) -> list[str]:
    def work(session: Session, index: int) -> str:
        parcel = session.get(PartsReturn, parcel_id)
        try:
            done = (first if index == 0 else second)(session, parcel)
            session.commit()
            return done
        except REFUSED:
            session.rollback()
            return "refused"

    results = run_together(engine, 2, work)
    return [results[0], results[1]]


def authorise_striking(part_id: int):
    def step(session: Session, parcel: PartsReturn) -> str:
        old_parts.authorise(session, parcel, user(session, "clerk"), {part_id: "型号不符"})
        return "authorised"
    return step


def refuse(session: Session, parcel: PartsReturn) -> str:
    old_parts.refuse_application(session, parcel, user(session, "manager"), "旧件未贴标签")
    return "refused_application"


def withdraw(session: Session, parcel: PartsReturn) -> str:
    old_parts.withdraw(session, parcel, user(session, "clerk"))
    return "withdrawn"


def state(engine, parcel_id: int, part_ids: list[int]):
    with Session(engine) as session:
        parcel = session.get(PartsReturn, parcel_id)
        parts = [session.get(OldPart, i) for i in part_ids]
        return (parcel.status, parcel.refusal_reason, [line.struck for line in parcel.lines],
                [(o.state, o.return_id) for o in parts])


def test_two_center_users_authorising_and_refusing_at_once_decide_once(engine):  # R-PART-9
    for _ in range(ROUNDS):
        outlet_id = new_outlet(engine)
        kept, struck = owed_parts(engine, outlet_id)
        parcel_id = applied(engine, outlet_id, [kept, struck])
        outcome = race(engine, parcel_id, authorise_striking(struck), refuse)
        assert sorted(outcome) in (["authorised", "refused"], ["refused", "refused_application"]), outcome
        status, reason, lines, parts = state(engine, parcel_id, [kept, struck])
        if "authorised" in outcome:  # the strike came with it; the refusal left nothing behind
            assert (status, reason, lines) == ("authorised", "", [False, True])
            assert parts == [("owed", parcel_id), ("owed", None)]
        else:
            assert (status, reason, lines) == ("refused", "旧件未贴标签", [False, False])
            assert parts == [("owed", None), ("owed", None)]


def test_withdrawal_racing_the_authorisation_ends_the_application_once(engine):  # R-PART-9
    for _ in range(ROUNDS):
        outlet_id = new_outlet(engine)
        kept, struck = owed_parts(engine, outlet_id)
        parcel_id = applied(engine, outlet_id, [kept, struck])
        outcome = race(engine, parcel_id, withdraw, authorise_striking(struck))
        assert sorted(outcome) in (["authorised", "refused"], ["refused", "withdrawn"]), outcome
        status, _reason, lines, parts = state(engine, parcel_id, [kept, struck])
        assert status == ("withdrawn" if "withdrawn" in outcome else "authorised")
        if status == "withdrawn":
            assert lines == [False, False] and parts == [("owed", None), ("owed", None)]


def test_two_applications_racing_for_one_part_list_it_once(engine):  # R-PART-9
    for _ in range(ROUNDS):
        outlet_id = new_outlet(engine)
        (part_id,) = owed_parts(engine, outlet_id, 1)

        def work(session: Session, index: int, outlet_id=outlet_id, part_id=part_id) -> str:
            try:
                old_parts.apply(session, outlet_id, user(session, "clerk"), [session.get(OldPart, part_id)])
                session.commit()
                return "applied"
            except REFUSED:
                session.rollback()
                return "refused"

        outcome = sorted(run_together(engine, 2, work).values())
        assert outcome == ["applied", "refused"], outcome
        with Session(engine) as session:
            listed = session.scalars(select(PartsReturn).where(PartsReturn.outlet_id == outlet_id)).all()
            assert len(listed) == 1 and session.get(OldPart, part_id).return_id == listed[0].id
