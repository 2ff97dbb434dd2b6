"""Registering a fault report from any channel (R-TKT-1, R-TKT-2, R-TKT-3, R-TKT-9)."""
from datetime import timedelta
from decimal import Decimal

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
    customer = f.make_customer(session, f.make_outlet(session))
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
    clerk = f.make_user(session, "clerk")
    workflow.perform(session, first, "diagnose", clerk,
                     {"service_mode": "remote", "severity": "minor", "note": "点火针脏"})
    workflow.perform(session, first, "answer_remotely", clerk, {"note": "电话指导清洁点火针"})
    session.flush()
    second = intake.register_report(session, report(fault="又点不着火"), None)
    assert second.repeat_of == first


# --- one customer per caller (R-CUS-1) --------------------------------------------------------


def _new_caller(world, phone="13911112222", name="欧阳娜", **extra):
    return intake.Report(kind="repair", fault="热水器忽冷忽热", channel="walk_in", outlet_id=world["a"].id,
                         customer={"name": name, "phone": phone, "area": "urban"}, **extra)


def _customers_with(session, digits):
    return session.scalar(select(func.count()).select_from(Customer).where(Customer.phone_key == digits))


def test_same_caller_registered_twice_is_one_customer_whatever_the_phone_format(session, world):
    first = intake.register_report(session, _new_caller(world, phone="139 1111 2222"), world["dealer_a"])
    second = intake.register_report(session, _new_caller(world, phone="+86 139-1111-2222"), world["dealer_a"])
    assert first.customer is second.customer
    assert _customers_with(session, "13911112222") == 1


def test_another_name_on_a_known_phone_is_put_to_the_clerk(session, world):
    intake.register_report(session, _new_caller(world), world["clerk"])
    session.commit()
    with pytest.raises(FieldErrors) as asked:
        intake.register_report(session, _new_caller(world, name="欧阳明"), world["clerk"])
    assert "name_choice" in asked.value.errors and "欧阳娜" in str(asked.value.errors["customer.name"])
    assert _customers_with(session, "13911112222") == 1


def test_another_contact_of_a_known_customer_goes_on_the_ticket_not_the_archive(session, world):
    known = intake.register_report(session, _new_caller(world), world["clerk"]).customer
    ticket = intake.register_report(session, _new_caller(world, name="欧阳明", name_choice="contact"), world["clerk"])
    assert ticket.customer is known and known.name == "欧阳娜" and ticket.contact_name == "欧阳明"


def test_corrected_name_changes_the_archive_record(session, world):
    known = intake.register_report(session, _new_caller(world), world["clerk"]).customer
    ticket = intake.register_report(session, _new_caller(world, name="欧阳明", name_choice="correct"), world["clerk"])
    assert ticket.customer is known and known.name == "欧阳明"


# --- intake derives the outlet and keeps the purchase data --------------------------------------


def test_repeat_caller_is_served_by_their_outlet_when_none_is_chosen(session, world):
    report = intake.Report(kind="repair", fault="油烟机噪音大", customer_id=world["customer"].id)
    ticket = intake.register_report(session, report, world["clerk"])
    assert ticket.outlet is world["a"]


def test_new_caller_without_an_outlet_is_asked_for_it(session, world):
    report = _new_caller(world, phone="13933334444")
    report.outlet_id = None
    with pytest.raises(FieldErrors) as asked:
        intake.register_report(session, report, world["clerk"])
    assert "outlet_id" in asked.value.errors


def test_intake_keeps_purchase_price_and_channel_of_a_new_unit(session, world):
    report = _new_caller(world, phone="13944445555")
    report.unit = {"model_code": "JSQ30-16B", "serial": "SN-T-PRICE-1", "invoice_date": local_today().isoformat(),
                   "price": "3,299.00", "purchase_channel": "online"}
    ticket = intake.register_report(session, report, world["clerk"])
    assert ticket.unit.price == Decimal("3299.00") and ticket.unit.purchase_channel == "online"


def test_intake_refuses_a_price_that_is_not_an_amount(session, world):
    report = _new_caller(world, phone="13944446666")
    report.unit = {"model_code": "JSQ30-16B", "serial": "SN-T-PRICE-2", "price": "三千"}
    with pytest.raises(FieldErrors) as refused:
        intake.register_report(session, report, world["clerk"])
    assert "unit.price" in refused.value.errors


def test_caller_with_an_open_ticket_is_added_to_it(session, world):
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], actor=world["clerk"])
    intake.add_to_ticket(session, ticket, intake.Report(fault="又响了一次", channel="hotline"), world["clerk"])
    assert ticket.events[-1].action == "caller_called" and "又响了一次" in ticket.events[-1].note


@pytest.mark.parametrize("price,expected", [("NaN", None), ("Infinity", None), ("-5", None),
                                            (3299, Decimal("3299.00"))])
def test_intake_price_is_read_like_every_other_amount(session, world, price, expected):
    """One money parser (step_data): NaN and Infinity are no amounts, a JSON number is one."""
    report = _new_caller(world, phone="13944447777")
    report.unit = {"model_code": "JSQ30-16B", "serial": f"SN-T-PRICE-{price}", "price": price}
    if expected is None:
        with pytest.raises(FieldErrors) as refused:
            intake.register_report(session, report, world["clerk"])
        assert "unit.price" in refused.value.errors
    else:
        assert intake.register_report(session, report, world["clerk"]).unit.price == expected


def test_intake_reads_the_size_of_a_new_unit(session):  # 003: one model, many sizes
    n = f.next_number()
    report = intake.Report(kind="return_exchange", category="size", fault="偏小", channel="wechat",
                           customer={"name": "周敏", "phone": f"1365500{n:04d}", "area": "urban"},
                           unit={"model_code": "XZ-M2601", "serial": f"SZ-{n:05d}", "size": "42",
                                 "invoice_date": (local_today() - timedelta(days=4)).isoformat(),
                                 "outlet_code": f.make_outlet(session).code})
    ticket = intake.register_report(session, report, None)
    assert ticket.unit.size == "42" and ticket.queue == "sales"
