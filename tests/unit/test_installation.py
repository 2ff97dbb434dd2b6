"""Installation tickets (R-INST-1, R-INST-2): free for eligible models, charged otherwise, travel
beyond the free distance, materials paid by the user, no diagnosis step."""
from datetime import timedelta
from decimal import Decimal

import pytest

from backoffice import installation, policy, workflow
from backoffice.errors import FieldErrors
from backoffice.timezones import local_today
from tests import factories as f


def customer(session, km="6.5"):
    return f.make_customer(session, f.make_outlet(session), distance_km=Decimal(km) if km is not None else None)


def installation_ticket(session, km="6.5", model=None, **unit_kw):
    owner = customer(session, km)
    unit = f.make_unit(session, owner, model_code=(model or f.make_product_model(session)).code, **unit_kw)
    return f.make_ticket(session, owner, unit=unit, kind="installation", category="other",
                         fault_description="新机上门安装")


def schedule(session, ticket, fees=(), **data):
    return workflow.perform(session, ticket, "schedule_installation", f.make_user(session, "clerk"),
                            {"fees": list(fees), **data})


def lines(ticket):
    return [(fee.kind, fee.amount) for fee in ticket.fees]


def test_eligible_model_is_installed_free_and_agreed_at_once(session):  # R-INST-1
    ticket = installation_ticket(session)
    assert ticket.warranty_code == "install_free" and ticket.in_warranty is True
    schedule(session, ticket)
    assert ticket.status == "agreed" and ticket.fees == [] and ticket.service_mode == "onsite"
    assert not any(c.paused_since for c in ticket.clocks)


def test_special_price_model_installation_is_charged(session):  # R-INST-1: 特价机除外
    model = f.make_product_model(session, special_price=True)
    ticket = installation_ticket(session, model=model)
    assert ticket.warranty_code == "install_special" and ticket.in_warranty is False
    assert model.code in ticket.warranty_params["model"]
    schedule(session, ticket)
    fee = policy.value(session, "installation.fee")
    assert ticket.status == "solution_proposed" and lines(ticket) == [("installation", fee)]
    assert any(c.paused_since for c in ticket.clocks)  # R-SLA-3: waiting for the customer's consent
    workflow.perform(session, ticket, "agree", f.make_user(session, "clerk"), {})
    assert ticket.status == "agreed" and not any(c.paused_since for c in ticket.clocks)


def test_model_not_marked_free_installation_is_charged(session):  # R-INST-1
    ticket = installation_ticket(session, model=f.make_product_model(session, free_installation=False))
    assert ticket.warranty_code == "install_not_free" and not ticket.in_warranty


def test_installation_beyond_20_km_charges_travel_from_policy(session):  # R-INST-2
    assert policy.value(session, "installation.free_distance_km") == 20
    within = installation_ticket(session, km="20")
    schedule(session, within)
    assert within.status == "agreed" and within.fees == []
    beyond = installation_ticket(session, km="32")
    schedule(session, beyond)
    rate = policy.value(session, "installation.travel_fee_per_km")
    assert lines(beyond) == [("travel", (Decimal("32") * rate).quantize(Decimal("0.01")))]
    assert beyond.status == "solution_proposed"


def test_travel_fee_follows_the_policy_settings(session):  # R-INST-2: numbers are data
    f.make_policy_setting(session, "installation.free_distance_km", "30")
    f.make_policy_setting(session, "installation.travel_fee_per_km", "3.5")
    assert installation.travel_charge(session, Decimal("30")) is None
    assert installation.travel_charge(session, Decimal("40.0")).amount == Decimal("140.00")


def test_distance_typed_at_scheduling_is_kept_in_the_archive(session):  # R-INST-2
    ticket = installation_ticket(session, km=None)
    with pytest.raises(FieldErrors) as caught:
        schedule(session, ticket)
    assert "distance_km" in caught.value.errors
    schedule(session, ticket, distance_km="25")
    assert ticket.customer.distance_km == Decimal("25.0") and [k for k, _ in lines(ticket)] == ["travel"]


def test_installation_materials_are_paid_by_the_user(session):  # R-INST-2: pipes, valves, tees
    ticket = installation_ticket(session)
    schedule(session, ticket, fees=[("不锈钢波纹管 1.5米", "45"), ("燃气角阀", "28.50")])
    assert lines(ticket) == [("material", Decimal("45.00")), ("material", Decimal("28.50"))]
    assert ticket.status == "solution_proposed"
    clerk = f.make_user(session, "clerk")
    workflow.perform(session, ticket, "agree", clerk, {})
    workflow.perform(session, ticket, "installation_materials", clerk, {"fees": [("三通", "12")]})
    assert ticket.status == "agreed" and lines(ticket)[-1] == ("material", Decimal("12.00"))


def test_repeat_installation_is_charged(session):  # R-INST-2: 重复安装 … 收取安装费用
    first = installation_ticket(session)
    first.status = "closed"
    session.flush()
    again = f.make_ticket(session, first.customer, unit=first.unit, kind="installation", category="other",
                          fault_description="装修后重新安装")
    assert again.warranty_code == "install_repeat" and again.warranty_params == {"ticket": first.number}
    assert again.in_warranty is False and first.number in installation.verdict(session, again.unit).reason
    schedule(session, again)
    assert lines(again) == [("installation", policy.value(session, "installation.fee"))]


def test_an_open_installation_does_not_make_the_next_one_a_repeat(session):  # R-INST-2
    first = installation_ticket(session)
    assert installation.verdict(session, first.unit).code == "install_free"


def test_installation_ticket_has_no_sanbao_return_verdict(session):  # R-WAR-5, R-INST-1
    owner = customer(session)
    unit = f.make_unit(session, owner, model_code="JSQ24-12A", invoice_date=local_today() - timedelta(days=2))
    repair = f.make_ticket(session, owner, unit=unit, kind="repair")
    assert repair.warranty_window == "return"  # a fault in the first 7 days
    setup = f.make_ticket(session, owner, unit=unit, kind="installation", category="other")
    assert setup.warranty_window == "none" and setup.warranty_code == "install_free"
    verdict = installation.verdict(session, unit)
    assert "JSQ24-12A" in verdict.reason and verdict.badge  # free installation, said so


def test_installation_needs_no_diagnosis_step(session):  # R-INST-1/2, R-TKT-4
    ticket = installation_ticket(session)
    clerk, engineer = f.make_user(session, "clerk"), f.make_user(session, "engineer")
    names = [t.name for t in workflow.available(ticket, clerk)]
    assert "schedule_installation" in names and "diagnose" not in names
    with pytest.raises(workflow.TransitionNotAllowed):
        workflow.perform(session, ticket, "diagnose", clerk, {"service_mode": "onsite", "severity": "minor",
                                                              "note": "不该诊断"})
    schedule(session, ticket)
    workflow.perform(session, ticket, "dispatch", clerk, {
        "engineer": str(engineer.id), "appointment_at": (local_today() + timedelta(days=1)).isoformat() + "T10:00"})
    workflow.perform(session, ticket, "start_service", engineer, {})
    workflow.perform(session, ticket, "resolve", engineer, {"work_done": "安装完成，检漏合格", "tested_ok": "y",
                                                           "signed_by": ticket.contact_name})
    assert ticket.status == "resolved" and ticket.report.tested_ok


def test_repair_of_a_unit_still_needs_its_diagnosis(session):  # R-TKT-4 unchanged
    owner = customer(session)
    repair = f.make_ticket(session, owner, unit=f.make_unit(session, owner), kind="repair")
    names = [t.name for t in workflow.available(repair, f.make_user(session, "clerk"))]
    assert "diagnose" in names and "schedule_installation" not in names
