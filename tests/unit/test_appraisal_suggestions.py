"""勤 and 绩 suggested from the service record (R-APR-1, issue 14 point 2) and a complaint naming the
staff member it is against (R-CMP-3). Each suggestion is worked out by hand in the test from the
record it builds; the period is March 2025 in the service's zone (Asia/Shanghai, UTC+8)."""
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from backoffice import appraisal_suggestions as suggestions
from backoffice import approvals, workflow
from backoffice.errors import FieldErrors
from models.choices import Role
from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARCH = (date(2025, 3, 1), date(2025, 3, 31))
APRIL = (date(2025, 4, 1), date(2025, 4, 30))
# The steps of an on-site repair, who takes them and when (minutes after registration): all in time.
REPAIR = (("diagnose", "engineer", 20), ("propose", "engineer", 40), ("agree", "desk", 60),
          ("dispatch", "desk", 80), ("start_service", "engineer", 100), ("resolve", "engineer", 120),
          ("return_visit", "desk", 140), ("close", "desk", 160))


def local(day: int, hour: int = 10, month: int = 3) -> datetime:
    """A time of 2025 in the service's zone, as stored (UTC)."""
    return datetime(2025, month, day, hour, tzinfo=SHANGHAI).astimezone(UTC)


def step_data(step, engineer, satisfaction):
    return {"diagnose": {"service_mode": "onsite", "severity": "minor", "note": "点火针积碳"},
            "propose": {"note": "更换点火针"},
            "dispatch": {"engineer": str(engineer.id), "appointment_at": "2025-03-30T10:00"},
            "resolve": {"work_done": "更换点火针，试机正常", "tested_ok": "y", "signed_by": "王芳"},
            "return_visit": {"satisfaction": str(satisfaction), "comment": "回访"}}.get(step, {})


def repair(session, world, at, *, engineer, desk, until="close", satisfaction=5, late=None, unit=None):
    """An urban on-site repair registered by `desk` at `at`, served by `engineer`, walked to the
    step `until` with the real workflow; `late` moves steps ({step: minutes after registration})."""
    customer = unit.customer if unit is not None else f.make_customer(session, world["a"], area="urban")
    ticket = f.make_ticket(session, customer, unit=unit, actor=desk, created_at=at,
                           occurred_at=at - timedelta(hours=2))
    for step, who, usual in REPAIR:
        minutes = (late or {}).get(step, usual)
        workflow.perform(session, ticket, step, engineer if who == "engineer" else desk,
                         step_data(step, engineer, satisfaction), at + timedelta(minutes=minutes))
        session.flush()
        if step == until:
            break
    return ticket


def complaint(session, world, at, *, against=None, substantiated=False, desk=None):
    """A complaint registered at `at` and investigated 20 minutes later, naming `against`."""
    desk = desk or world["clerk"]
    ticket = f.make_ticket(session, world["customer"], kind="complaint", actor=desk, created_at=at,
                           occurred_at=at - timedelta(hours=2))
    workflow.perform(session, ticket, "investigate", desk, {
        "complaint_class": "service_quality", "investigation": "师傅上门迟到两小时且态度生硬",
        "promised_result": "致歉并减免上门费", "promised_at": "2025-03-30T10:00",
        "against_staff": str(against.id) if against else "", "substantiated": "y" if substantiated else ""},
        at + timedelta(minutes=20))
    session.flush()
    return ticket


def figures(suggestion):
    return [(str(x.label), x.value, x.points) for x in suggestion.figures]


# --- 勤 ------------------------------------------------------------------------------------------

def test_engineer_diligence_is_the_share_of_visits_and_resolutions_on_time_less_each_late_one(session, world):
    engineer, clerk = world["engineer_a"], world["clerk"]
    repair(session, world, local(3), engineer=engineer, desk=clerk)
    # On site 30 h after registration: the urban on-site clock (24 h) is late; resolved at 31 h (48 h): in time.
    repair(session, world, local(10), engineer=engineer, desk=clerk, late={"start_service": 30 * 60,
                                                                           "resolve": 31 * 60,
                                                                           "return_visit": 32 * 60,
                                                                           "close": 33 * 60})
    repair(session, world, local(17), engineer=engineer, desk=clerk)
    found = suggestions.suggest(session, engineer, *MARCH)["diligence"]
    # 6 clocks (on site ×3, resolution ×3), 5 on time: 20 × 5/6 − 0.5 × 1 = 16.1667 → step 0.5 → 16.0
    assert found.value == Decimal("16.0")
    assert figures(found) == [("On time: On site", "2 / 3", Decimal("6.67")),
                              ("On time: Resolution", "3 / 3", Decimal("10.00")),
                              ("Not on time", "1", Decimal("-0.50"))]


def test_clerk_diligence_counts_the_desk_clocks_of_the_tickets_registered(session, world):
    engineer, clerk = world["engineer_a"], world["clerk"]
    # Diagnosed 3 h after registration: the first response (2 h) is late; dispatched at 3 h 40 (8 h): in time.
    repair(session, world, local(5), engineer=engineer, desk=clerk,
           late={"diagnose": 180, "propose": 200, "agree": 210, "dispatch": 220, "start_service": 240,
                 "resolve": 260, "return_visit": 280, "close": 300})
    repair(session, world, local(6), engineer=engineer, desk=clerk)
    found = suggestions.suggest(session, clerk, *MARCH)["diligence"]
    # response 1/2, dispatch 2/2: 20 × 3/4 − 0.5 × 1 = 14.5
    assert found.value == Decimal("14.5")
    assert figures(found) == [("On time: First response", "1 / 2", Decimal("5.00")),
                              ("On time: Technician dispatched", "2 / 2", Decimal("10.00")),
                              ("Not on time", "1", Decimal("-0.50"))]


def test_manager_diligence_counts_approval_decisions_within_the_policy_hours(session, world):
    manager = world["manager"]
    decided = []
    for _ in range(2):  # one open request per unit: the second is asked once the first is decided
        decided.append(f.make_refund_request(session, world))
        approvals.decide(session, decided[-1], manager, "reject", "超出退货条件")
    on_time, late = decided
    on_time.created_at, on_time.decided_at = local(4, 9), local(4, 15)  # 6 h
    late.created_at, late.decided_at = local(11, 9), local(12, 15)  # 30 h > 24 h
    session.flush()
    found = suggestions.suggest(session, manager, *MARCH)["diligence"]
    # 20 × 1/2 − 0.5 × 1 = 9.5
    assert found.value == Decimal("9.5")
    assert figures(found) == [("On time: Approval decisions within 24 h", "1 / 2", Decimal("10.00")),
                              ("Not on time", "1", Decimal("-0.50"))]


def test_overdue_points_are_a_policy_and_the_suggestion_never_goes_below_zero(session, world):
    f.make_policy_setting(session, "appraisal.suggest.diligence.per_overdue", "25")
    engineer = world["engineer_a"]
    repair(session, world, local(3), engineer=engineer, desk=world["clerk"],
           late={"start_service": 30 * 60, "resolve": 50 * 60, "return_visit": 51 * 60, "close": 52 * 60})
    found = suggestions.suggest(session, engineer, *MARCH)["diligence"]
    # both clocks late: 20 × 0/2 − 25 × 2 = −50 → 0
    assert found.value == Decimal("0") and figures(found)[-1] == ("Not on time", "2", Decimal("-50.00"))


# --- 绩 ------------------------------------------------------------------------------------------

def test_engineer_results_weigh_first_time_fixes_and_satisfaction_less_repeats_and_complaints(session, world):
    engineer, clerk = world["engineer_a"], world["clerk"]
    unit = f.make_unit(session, f.make_customer(session, world["a"], area="urban"), invoice_date=date(2024, 12, 1))
    first = repair(session, world, local(3), engineer=engineer, desk=clerk, unit=unit, satisfaction=5)
    repair(session, world, local(10), engineer=engineer, desk=clerk, satisfaction=4)
    # Rated 2 at the return visit: reopened (R-TKT-4), not a first-time fix.
    repair(session, world, local(17), engineer=engineer, desk=clerk, satisfaction=2, until="return_visit")
    # The first repair's unit is back with a new ticket (R-TKT-9): that repair came back too.
    again = f.make_ticket(session, unit.customer, unit=unit, actor=clerk, created_at=local(24),
                          occurred_at=local(24, 8))
    assert again.repeat_of_id == first.id
    complaint(session, world, local(20), against=engineer, substantiated=True)
    complaint(session, world, local(21), against=engineer)  # named, not confirmed: not counted
    complaint(session, world, local(22), against=world["center_engineer"], substantiated=True)  # someone else
    found = suggestions.suggest(session, engineer, *MARCH)["results"]
    # first-time fix 2/3, satisfaction (5+4+2)/3 = 11/3 → /5 = 11/15; weights 0.5 / 0.5:
    # 30 × (0.5 × 2/3 + 0.5 × 11/15) = 10 + 11 = 21; − 1 × 2 came back − 5 × 1 complaint = 14
    assert found.value == Decimal("14.0")
    assert figures(found) == [
        ("First-time fixes (resolved without a reopening)", "2 / 3", Decimal("10.00")),
        ("Return-visit satisfaction: average of 3 visits", "3.67 / 5", Decimal("11.00")),
        ("Repairs that came back (reopened or repeated)", "2", Decimal("-2.00")),
        ("Complaints confirmed against the person", "1", Decimal("-5.00"))]


def test_results_weights_are_policy_values_and_round_half_up_to_the_step(session, world):
    f.make_policy_setting(session, "appraisal.suggest.results.weight_first_time_fix", "3")
    f.make_policy_setting(session, "appraisal.suggest.results.weight_satisfaction", "1")
    engineer = world["engineer_a"]
    repair(session, world, local(3), engineer=engineer, desk=world["clerk"], satisfaction=5)
    repair(session, world, local(4), engineer=engineer, desk=world["clerk"], satisfaction=3)
    found = suggestions.suggest(session, engineer, *MARCH)["results"]
    # fixes 2/2, satisfaction 8/2 = 4 → 0.8: 30 × (3 × 1 + 1 × 0.8) / 4 = 28.5
    assert found.value == Decimal("28.5")
    assert [x.points for x in found.figures] == [Decimal("22.50"), Decimal("6.00")]


def test_a_confirmed_complaint_alone_starts_results_from_the_maximum(session, world):
    clerk = f.make_user(session, Role.CLERK)
    complaint(session, world, local(8), against=clerk, substantiated=True)
    found = suggestions.suggest(session, clerk, *MARCH)
    # 30 − 5 × 1 = 25; nothing else of the clerk's in March (the complaint is the world clerk's ticket)
    assert found["results"].value == Decimal("25")
    assert figures(found["results"])[-1] == ("Complaints confirmed against the person", "1", Decimal("-5.00"))
    assert "diligence" not in found


def test_score_step_rounds_half_up_and_clamps():
    assert suggestions.to_step(Decimal("16.25"), Decimal("0.5")) == Decimal("16.5")
    assert suggestions.to_step(Decimal("16.2499"), Decimal("0.5")) == Decimal("16.0")
    assert suggestions.to_step(Decimal("17.4"), Decimal("1")) == Decimal("17")
    assert suggestions.within(Decimal("-3"), Decimal("30")) == 0
    assert suggestions.within(Decimal("31"), Decimal("30")) == Decimal("30")


# --- no data, scope, period edges ----------------------------------------------------------------

def test_a_person_without_a_record_in_the_period_gets_no_suggestion(session, world):
    engineer = f.make_user(session, Role.ENGINEER, outlet=world["a"])
    repair(session, world, local(3), engineer=world["engineer_a"], desk=world["clerk"])  # a colleague's
    assert suggestions.suggest(session, engineer, *MARCH) == {}
    assert suggestions.suggest(session, world["engineer_a"], *APRIL) == {}


def test_a_repair_resolved_after_local_midnight_counts_for_the_next_month(session, world):
    engineer = world["engineer_a"]
    # Registered 31 March 21:00 local: resolved 23:00 and visited 23:20, 31 March local.
    repair(session, world, local(31, 21), engineer=engineer, desk=world["clerk"], satisfaction=5)
    # Registered 31 March 23:00 local: resolved 1 April 01:00 local — still 31 March in UTC — rated 1.
    late = repair(session, world, local(31, 23), engineer=engineer, desk=world["clerk"], satisfaction=1,
                  until="return_visit")
    assert late.events[-1].at.astimezone(UTC).date() == date(2025, 3, 31)
    march = suggestions.suggest(session, engineer, *MARCH)
    # March: 1/1 fixed, satisfaction 5/5: 30 × (0.5 × 1 + 0.5 × 1) = 30; no clock due in March (due 1 April on)
    assert march["results"].value == Decimal("30") and "diligence" not in march
    april = suggestions.suggest(session, engineer, *APRIL)
    # April: the late one — reopened (0/1), rated 1 → 0.2: 30 × (0 + 0.1) = 3, − 1 came back = 2.
    # Both repairs' on-site and resolution clocks fall due in April, met in time (4); the reopening
    # started the rework's two clocks (R-SLA-4), never met and long past due: 20 × 4/6 − 0.5 × 2 = 12.33 → 12.5
    assert april["results"].value == Decimal("2")
    assert april["diligence"].value == Decimal("12.5")
    assert figures(april["diligence"])[-1] == ("Not on time", "2", Decimal("-1.00"))


def test_a_desk_persons_tickets_are_those_registered_or_stepped_on(session, world):
    registrar, other = world["clerk"], f.make_user(session, Role.CLERK)
    # `other` took the desk steps (agree, dispatch, return visit, close) of a ticket `registrar` registered.
    ticket = f.make_ticket(session, f.make_customer(session, world["a"], area="urban"), actor=registrar,
                           created_at=local(7), occurred_at=local(7, 8))
    for step, who, minutes in REPAIR:
        workflow.perform(session, ticket, step, world["engineer_a"] if who == "engineer" else other,
                         step_data(step, world["engineer_a"], 5), local(7) + timedelta(minutes=minutes))
    session.flush()
    for person in (registrar, other):  # both answer for its desk clocks and its result
        found = suggestions.suggest(session, person, *MARCH)
        assert found["diligence"].value == Decimal("20") and found["results"].value == Decimal("30")
    outsider = f.make_user(session, Role.CLERK)
    assert suggestions.suggest(session, outsider, *MARCH) == {}


# --- R-CMP-3: the complaint names the staff member ------------------------------------------------

def test_investigation_names_the_staff_member_and_confirms_it(session, world):
    ticket = complaint(session, world, local(8), against=world["engineer_a"], substantiated=True)
    assert ticket.complaint.against_staff_id == world["engineer_a"].id and ticket.complaint.substantiated


def test_investigation_may_name_nobody(session, world):
    ticket = complaint(session, world, local(8))
    assert ticket.complaint.against_staff_id is None and not ticket.complaint.substantiated


def test_confirmed_needs_a_name(session, world):
    with pytest.raises(FieldErrors) as refused:
        complaint(session, world, local(8), substantiated=True)
    assert "against_staff" in refused.value.errors


@pytest.mark.parametrize("who", ["engineer_b", "dealer_a", "nobody", "text"])
def test_investigation_refuses_a_person_it_may_not_name(session, world, who):
    """Another outlet's engineer, a dealer account, an unknown id, not a number: a field message."""
    ticket = f.make_ticket(session, world["customer"], kind="complaint", actor=world["clerk"])
    staff_id = {"nobody": "987654321", "text": "王师傅"}.get(who) or str(world[who].id)
    with pytest.raises(FieldErrors) as refused:
        workflow.perform(session, ticket, "investigate", world["clerk"], {
            "complaint_class": "service_quality", "investigation": "态度差", "promised_result": "致歉",
            "promised_at": "2025-03-30T10:00", "against_staff": staff_id, "substantiated": "y"})
    assert "against_staff" in refused.value.errors and ticket.complaint is None


def test_staff_a_complaint_may_name_are_the_serving_outlets_and_the_centers(session, world):
    ticket = f.make_ticket(session, world["customer"], kind="complaint", actor=world["clerk"])
    named = set(workflow.complaint_staff(session, ticket))
    assert {world["engineer_a"], world["center_engineer"], world["clerk"], world["manager"]} <= named
    assert not named & {world["engineer_b"], world["dealer_a"], world["dealer_b"]}
