"""The service desk under real concurrency on PostgreSQL: one customer per caller however many
registrations of a new phone arrive at once (R-CUS-1), and one return, exchange or refund per
purchased unit however many managers approve at once (R-RET-5)."""
from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

from flask import g
from sqlalchemy import func, select

from backoffice import approvals, intake
from backoffice.timezones import local_today
from models import ApprovalRequest, Customer, Outlet, Ticket, User, db
from tests import factories as f

RACERS = 8


def race(count, work):
    """Run work(i) in `count` threads released together; returns the outcomes by index."""
    barrier = threading.Barrier(count, timeout=30)
    outcomes: dict[int, str] = {}

    def run(i):
        barrier.wait()
        outcomes[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def customers_with(app, key) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Customer).where(Customer.phone_key == key))


def test_eight_registrations_of_one_new_phone_at_once_make_one_customer(pg_app):
    phone = "13987650001"

    def register(i):
        with pg_app.app_context():
            g.actor_name = f"clerk-{i}"
            try:
                outlet = db.session.scalar(select(Outlet).where(Outlet.code == "GZ-TH"))
                intake.register_report(db.session, intake.Report(
                    kind="repair", fault=f"第{i}个来电：热水器不点火", channel="hotline", outlet_id=outlet.id,
                    customer={"name": "皇甫静", "phone": phone, "area": "urban"}), None)
                db.session.commit()
                return "registered"
            except Exception as exc:
                db.session.rollback()
                return f"{type(exc).__name__}: {exc}"
            finally:
                db.session.remove()

    outcomes = race(RACERS, register)
    assert list(outcomes.values()) == ["registered"] * RACERS, outcomes
    assert customers_with(pg_app, phone) == 1
    with pg_app.app_context():
        tickets = db.session.scalar(select(func.count()).select_from(Ticket).join(Customer)
                                    .where(Customer.phone_key == phone))
    assert tickets == RACERS


def test_eight_api_registrations_of_one_new_phone_at_once_make_one_customer(pg_app):
    result = pg_app.test_cli_runner().invoke(args=["create-api-token", "--channel", "wechat", "--name", "并发"])
    token = result.output.strip().splitlines()[-1]
    phone = "13987650002"

    def post(i):
        body = {"kind": "repair", "fault": f"第{i}条微信报修", "customer": {"name": f"令狐{i}", "phone": phone},
                "unit": {"outlet_code": "GZ-TH"}}
        response = pg_app.test_client().post("/api/v1/tickets", json=body, headers={"Authorization": f"Bearer {token}"})
        return str(response.status_code)

    outcomes = race(RACERS, post)
    assert list(outcomes.values()) == ["201"] * RACERS, outcomes
    assert customers_with(pg_app, phone) == 1


def test_two_managers_approving_an_exchange_and_a_refund_on_one_unit_grant_one(pg_app):
    with pg_app.app_context():
        g.actor_name = "test"
        outlet = db.session.scalar(select(Outlet).where(Outlet.code == "GZ-TH"))
        center = db.session.scalar(select(Outlet).where(Outlet.code == "SC-GZ"))
        model = f.make_product_model(db.session)
        f.make_stock(db.session, center, model)
        unit = f.make_unit(db.session, f.make_customer(db.session, outlet), model_code=model.code,
                           invoice_date=local_today() - timedelta(days=2))
        clerk = db.session.scalar(select(User).where(User.username == "clerk"))
        ids = []
        for kind, amount in (("exchange", None), ("return_refund", Decimal("2599.00"))):
            ticket = f.make_ticket(db.session, unit.customer, unit=unit, kind="return_exchange", actor=clerk)
            # Both asked before either was decided: the second slipped past the submit check.
            request = ApprovalRequest(ticket=ticket, outlet_id=ticket.outlet_id, kind=kind, grounds="sanbao_window",
                                      amount=amount or Decimal("0.00"), reason="七天内质量问题", requested_by=clerk,
                                      purchase_price=unit.price, warranty_window=ticket.warranty_window,
                                      target_model_id=model.id if kind == "exchange" else None,
                                      stock_outlet_id=center.id if kind == "exchange" else None, status="pending")
            db.session.add(request)
            db.session.flush()
            ids.append(request.id)
        db.session.commit()
        unit_id = unit.id

    def approve(i):
        username = ("manager", "admin")[i]
        with pg_app.app_context():
            g.actor_name = username
            try:
                manager = db.session.scalar(select(User).where(User.username == username))
                approvals.decide(db.session, db.session.get(ApprovalRequest, ids[i]), manager, "approve", "同意")
                db.session.commit()
                return "approved"
            except approvals.ApprovalForbidden as exc:
                db.session.rollback()
                return f"refused: {exc.message}"
            except Exception as exc:
                db.session.rollback()
                return f"{type(exc).__name__}: {exc}"
            finally:
                db.session.remove()

    outcomes = race(2, approve)
    assert sorted(o.split(":")[0] for o in outcomes.values()) == ["approved", "refused"], outcomes
    with pg_app.app_context():
        granted = db.session.scalars(select(ApprovalRequest).where(ApprovalRequest.granted_unit_id == unit_id)).all()
        approved = db.session.scalar(select(func.count()).select_from(ApprovalRequest).where(
            ApprovalRequest.id.in_(ids), ApprovalRequest.status == "approved"))
    assert len(granted) == 1 and approved == 1
