"""On PostgreSQL: migration 0026 upgrades a database that holds tickets (no token backfilled, the
token unique); two survey answers sent at the same moment record one rating (R-TKT-4): the
conditional UPDATE makes the second wait for the first and then find the visit done; two
transactions making a ticket's token at once agree on one."""
from __future__ import annotations

import threading

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from backoffice import notifications, return_visits
from models import ReturnVisit, Ticket, TicketEvent, db
from tests import factories as f

NOW = {"t": "2026-01-01 00:00:00"}


def test_upgrade_from_0025_keeps_the_tickets_without_a_token(empty_pg_app):
    with empty_pg_app.app_context():
        upgrade(revision="0025_notifications_jobs")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO outlet (code, name, region, address, service_phone, duty_phone, total_purchase_amount, "
                "timezone, active, created_at, updated_at) VALUES ('O1', '网点', '', '', '', '', 0, "
                "'Asia/Shanghai', true, :t, :t)"), NOW)
            conn.execute(text(
                "INSERT INTO customer (name, phone, phone2, address, region, area, outlet_id, note, created_at, "
                "updated_at) SELECT '张三', '13800000000', '', '', '', 'urban', id, '', :t, :t FROM outlet"), NOW)
            for n in (1, 2):
                conn.execute(text(
                    "INSERT INTO ticket (number, kind, channel, category, status, fault_description, contact_name, "
                    "contact_phone, address, customer_id, outlet_id, version_id, created_at, updated_at, area, "
                    "queue, warranty_params) SELECT :number, 'repair', 'hotline', 'quality', 'registered', '不点火', "
                    "'', '', '', c.id, c.outlet_id, 1, :t, :t, 'urban', 'service', '{}' FROM customer c"),
                    {**NOW, "number": f"SV20260101-000{n}"})
        upgrade()
        index = {i["name"]: i for i in inspect(db.engine).get_indexes("ticket")}["ix_ticket_tracking_token"]
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM ticket WHERE tracking_token IS NULL")).scalar() == 2
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE ticket SET tracking_token = 'tok-1' WHERE number = 'SV20260101-0001'"))
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(text("UPDATE ticket SET tracking_token = 'tok-1' WHERE number = 'SV20260101-0002'"))
    assert index["unique"] and index["column_names"] == ["tracking_token"]


@pytest.fixture
def engine(pg_app, pg_demo_url):
    """The demo schema, one fresh connection per Session: each answer has its own transaction."""
    engine = create_engine(pg_demo_url, poolclass=NullPool)
    yield engine
    engine.dispose()


def resolved_ticket(app, engine) -> int:
    with app.app_context(), Session(engine) as session:
        customer = f.make_customer(session, f.make_outlet(session))
        ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer), status="resolved")
        session.commit()
        return ticket.id


def at_once(app, engine, work, count=2) -> list:
    """Run `work(session, ticket)` in `count` threads, each with its own session, from one barrier."""
    barrier = threading.Barrier(count, timeout=30)
    results, errors = [], []

    def run(ticket_id, n):
        try:
            with app.app_context(), Session(engine) as session:
                ticket = session.get(Ticket, ticket_id)
                assert ticket.return_visits is not None  # loaded before the race, as a request would
                barrier.wait()
                results.append(work(session, ticket, n))
                session.commit()
        except BaseException as exc:
            errors.append(exc)

    return run, results, errors


def race(app, engine, ticket_id, work, count=2):
    run, results, errors = at_once(app, engine, work, count)
    threads = [threading.Thread(target=run, args=(ticket_id, n)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_two_survey_answers_at_once_record_one_rating(pg_app, engine):
    ticket_id = resolved_ticket(pg_app, engine)
    outcomes = race(pg_app, engine, ticket_id,
                    lambda session, ticket, n: (return_visits.record_survey(session, ticket, 5 - n, f"答{n}"), n))
    assert sorted(state for state, _n in outcomes) == [return_visits.Survey.ALREADY, return_visits.Survey.RECORDED]
    [winner] = [n for state, n in outcomes if state == return_visits.Survey.RECORDED]
    with Session(engine) as session:
        visits = session.scalars(select(ReturnVisit).where(ReturnVisit.ticket_id == ticket_id)).all()
        assert [(v.satisfaction, v.comment) for v in visits] == [(5 - winner, f"答{winner}")]
        moves = session.scalars(select(TicketEvent.to_status).where(TicketEvent.ticket_id == ticket_id,
                                                                    TicketEvent.action == "status",
                                                                    TicketEvent.from_status == "resolved")).all()
        assert len(moves) == 1, "the ticket moves on once"


def test_two_transactions_making_the_token_at_once_agree_on_one(pg_app, engine):
    ticket_id = resolved_ticket(pg_app, engine)
    tokens = race(pg_app, engine, ticket_id, lambda session, ticket, n: notifications.tracking_token(ticket))
    with Session(engine) as session:
        stored = session.get(Ticket, ticket_id).tracking_token
    assert tokens == [stored, stored]
