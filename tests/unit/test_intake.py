"""Registering a fault report from any channel (R-TKT-1, R-TKT-2, R-TKT-3, R-TKT-9)."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backoffice import intake, workflow
from backoffice.errors import FieldErrors
from backoffice.timezones import local_today
from models import Customer, Unit
from tests import factories as f


def report(**changes):
    data = dict(kind="repair", category="quality", fault="点不着火，有异味", channel="wechat",
                customer={"name": "王芳", "phone": "13800138000", "address": "广州市天河区体育西路1号",
                          "area": "urban"},
                unit={"model_code": "JSQ24-12A", "serial": "SN-0001", "invoice_no": "FP-2026-001",
                      "invoice_date": (local_today() - timedelta(days=100)).isoformat(),
                      "outlet_code": "GZ-TH"})
    data.update(changes)
    return intake.Report(**data)


def test_new_caller_gets_customer_unit_and_ticket(session):
    ticket = intake.register_report(session, report(), None)
    session.flush()
    assert ticket.number.startswith("SV") and ticket.channel == "wechat"
    assert ticket.customer.phone == "13800138000" and ticket.unit.serial == "SN-0001"
    assert ticket.outlet.code == "GZ-TH" and ticket.in_warranty and ticket.warranty_window == "repair"
    assert {c.clock for c in ticket.clocks} == {"response", "dispatch", "onsite", "resolve"}


def test_known_caller_is_found_by_phone_not_duplicated(session):
    intake.register_report(session, report(), None)
    intake.register_report(session, report(fault="又坏了"), None)
    session.flush()
    assert session.scalar(select(func.count()).select_from(Customer).where(Customer.phone == "13800138000")) == 1
    assert session.scalar(select(func.count()).select_from(Unit).where(Unit.serial == "SN-0001")) == 1


def test_every_bad_field_is_named(session):
    bad = report(kind="teleport", fault="", customer={"name": "", "phone": "abc", "area": "moon"},
                 unit={"model_code": "NOPE", "serial": "", "invoice_date": "2026-13-01", "outlet_code": "X"})
    with pytest.raises(FieldErrors) as caught:
        intake.register_report(session, bad, None)
    assert set(caught.value.errors) >= {"kind", "fault", "unit.outlet_code"}


def test_invoice_date_in_the_future_is_refused(session):
    future = (local_today() + timedelta(days=3)).isoformat()
    with pytest.raises(FieldErrors) as caught:
        intake.register_report(session, report(unit={**report().unit, "invoice_date": future}), None)
    assert "unit.invoice_date" in caught.value.errors


def test_serial_of_another_customer_is_refused(session):
    intake.register_report(session, report(), None)
    other = report(customer={"name": "李四", "phone": "13900001111", "area": "urban"})
    with pytest.raises(FieldErrors) as caught:
        intake.register_report(session, other, None)
    assert "unit.serial" in caught.value.errors


def test_phone_lookup_shows_customers_units_and_open_tickets(session):
    customer = f.customer_of(session, "SC-GZ")
    found = intake.lookup_phone(session, customer.phone[-8:])
    assert customer in found.customers


@pytest.mark.parametrize("kind,category,queue", [("repair", "quality", "service"),
                                                 ("return_exchange", "quality", "qa"),
                                                 ("repair", "size", "sales"),
                                                 ("repair", "discomfort", "rnd"),
                                                 ("complaint", "quality", "complaints")])
def test_issue_classes_route_to_their_queue(session, kind, category, queue):  # R-TKT-3
    ticket = intake.register_report(session, report(kind=kind, category=category), None)
    assert ticket.queue == queue


def test_new_ticket_on_a_recently_resolved_serial_is_a_repeat_repair(session):  # R-TKT-9
    first = intake.register_report(session, report(), None)
    session.flush()
    clerk = f.user(session, "clerk")
    workflow.perform(session, first, "diagnose", clerk,
                     {"service_mode": "remote", "severity": "minor", "note": "点火针脏"})
    workflow.perform(session, first, "answer_remotely", clerk, {"note": "电话指导清洁点火针"})
    session.flush()
    second = intake.register_report(session, report(fault="又点不着火"), None)
    assert second.repeat_of == first
