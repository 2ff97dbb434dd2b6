"""R-APR-5 (manual 004 年度检查考核): the dealer outlets' annual score from their own data, the
ranking, awards (an outlet penalised for overcharging is not eligible, R-CMP-3) and the outlet's
qualification records."""
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backoffice import outlet_evaluation as ev
from backoffice.errors import FieldErrors
from backoffice.permissions import NotAllowed
from backoffice.timezones import local_today
from models import Complaint, FeeClaim, OldPart, PartsReconciliation, ReplacedPart, ReturnVisit, TicketClock
from models.evaluation import OutletAward, OutletInspection
from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")
YEAR = local_today().year - 1  # a year that has ended: every figure is decided


def at(month, day, hour=10) -> datetime:
    """A service-local time in YEAR, as stored (UTC)."""
    return datetime(YEAR, month, day, hour, tzinfo=SHANGHAI).astimezone(UTC)


# --- building an outlet's year ------------------------------------------------------------------

def repair_tickets(session, world, count):
    tickets = []
    for n in range(count):
        ticket = f.make_ticket(session, world["customer"])
        ticket.created_at = at(2, n + 1)
        tickets.append(ticket)
    session.flush()
    return tickets


def set_clocks(ticket, met_minus_due_hours: dict):
    """Each clock of the ticket due in March, met that many hours after (+) or before (-) it."""
    for n, clock in enumerate(sorted(ticket.clocks, key=lambda c: c.clock)):
        clock.due_at = at(3, n + 1, 12)
        clock.met_at = at(3, n + 1, 12 + met_minus_due_hours[clock.clock])


def complaint(session, world, *, substantiated):
    ticket = f.make_ticket(session, world["customer"], kind="complaint")
    found = Complaint(ticket=ticket, complaint_class="service_quality", created_at=at(5, 1),
                      substantiated=substantiated)
    session.add(found)
    return found


def visit(session, ticket, satisfaction):
    session.add(ReturnVisit(ticket=ticket, kind="service", due_at=at(3, 10), done_at=at(3, 8),
                            satisfaction=satisfaction))


def old_part(session, ticket, outlet, *, replaced_on, state, returned_on=None, late=False):
    part = f.make_part(session)
    replaced = ReplacedPart(ticket_id=ticket.id, part_id=part.id, qty=1, replaced_on=replaced_on,
                            warranty_until=date(YEAR + 1, 1, 1))
    session.add(replaced)
    session.flush()
    session.add(OldPart(replaced_part_id=replaced.id, ticket_id=ticket.id, outlet_id=outlet.id, part_id=part.id,
                        qty=1, unit_price=Decimal("50.00"), replaced_on=replaced_on, state=state,
                        returned_on=returned_on, returned_late=late))


def statement(session, outlet, month, confirmed_at):
    session.add(PartsReconciliation(outlet_id=outlet.id, month=date(YEAR, month, 1), opening=Decimal("0"),
                                    closing=Decimal("0"), status="confirmed" if confirmed_at else "open",
                                    confirmed_at=confirmed_at))


def claim(session, ticket, status, approved, *, audited_at=None, charge_back=Decimal("0.00")):
    found = FeeClaim(number=f"FW{ticket.number}", ticket_id=ticket.id, outlet_id=ticket.outlet_id, status=status,
                     labor_rate=Decimal("60.00"), labor_amount=Decimal("60.00"), travel_amount=Decimal("40.00"),
                     parts_amount=Decimal("0.00"), claimed_total=Decimal("100.00"), approved_total=approved,
                     audited_at=audited_at or at(4, 1), charge_back=charge_back,
                     charge_back_at=at(6, 1) if charge_back else None)
    session.add(found)
    session.flush()
    return found


@pytest.fixture
def year_of_a(session, world):
    """Outlet A's YEAR, every figure chosen so the score can be worked out by hand."""
    a = world["a"]
    tickets = repair_tickets(session, world, 10)
    # SLA: four clocks, three met in time, the resolution an hour late.
    set_clocks(tickets[0], {"response": -1, "dispatch": -1, "onsite": -2, "resolve": 1})
    # Repeat repairs: one of the ten repairs repeats the first.
    tickets[1].repeat_of_id = tickets[0].id
    # Complaints: one confirmed, one not (it does not count).
    complaint(session, world, substantiated=True)
    complaint(session, world, substantiated=False)
    # Satisfaction: 4 and 5; a visit without a score does not count.
    visit(session, tickets[0], 4)
    visit(session, tickets[2], 5)
    visit(session, tickets[3], None)
    # Parts: one part shipped back late, one still owed since November, one back in time.
    old_part(session, tickets[0], a, replaced_on=date(YEAR, 3, 1), state="in_return",
             returned_on=date(YEAR, 3, 20), late=True)
    old_part(session, tickets[4], a, replaced_on=date(YEAR, 11, 1), state="owed")
    old_part(session, tickets[5], a, replaced_on=date(YEAR, 3, 1), state="credited",
             returned_on=date(YEAR, 3, 5))
    # Statements: January confirmed on 5 February (in time), February on 20 March (late), March never.
    statement(session, a, 1, at(2, 5))
    statement(session, a, 2, at(3, 20))
    statement(session, a, 3, None)
    # Fee claims: four audited; one settled below its claim (it was cut at the audit).
    claim(session, tickets[0], "approved", Decimal("100.00"))
    claim(session, tickets[1], "settled", Decimal("100.00"))
    claim(session, tickets[2], "settled", Decimal("80.00"))
    claim(session, tickets[3], "approved", Decimal("100.00"))
    session.flush()
    return tickets


def test_outlet_score_worked_by_hand(session, world, year_of_a):  # R-APR-5
    [row] = [r for r in ev.ranking(session, YEAR) if r.outlet.id == world["a"].id]
    points = {c.key: c.points for c in row.components}
    # SLA 30 x 3/4 = 22.50; complaints 15 - 5 x 1 = 10; satisfaction 20 x 4.5 / 5 = 18;
    # repeats 15 x (1 - 0.10 / 0.20) = 7.50; parts 10 - 1 x (1 late + 1 overdue) - 2 x 2 statements = 4;
    # fee claims 10 x (1 - 0.25 / 0.50) = 5.
    assert points == {"sla": Decimal("22.50"), "complaints": Decimal("10.00"), "satisfaction": Decimal("18.00"),
                      "repeat_repairs": Decimal("7.50"), "parts": Decimal("4.00"), "fee_claims": Decimal("5.00")}
    assert row.score == Decimal("67.00")
    figures = {c.key: [(str(x.label), x.value) for x in c.figures] for c in row.components}
    assert ("Clocks met on time / decided", "3 / 4 (75.0 %)") in figures["sla"]
    assert ("Average satisfaction (1-5)", "4.50") in figures["satisfaction"]
    assert ("Repeat repairs / repair tickets", "1 / 10 (10.0 %)") in figures["repeat_repairs"]
    assert ("Statements not confirmed in time / due", "2 / 3") in figures["parts"]
    assert ("Claims adjusted or rejected / audited", "1 / 4 (25.0 %)") in figures["fee_claims"]


def test_weights_and_thresholds_are_policy_values(session, world, year_of_a):  # R-APR-5
    f.make_policy_setting(session, "outlet_eval.weight.sla", "40")
    f.make_policy_setting(session, "outlet_eval.complaint_deduction", "15")
    row = ev.evaluation_of(session, world["a"], YEAR)
    assert row.component("sla").points == Decimal("30.00")  # 40 x 3/4
    assert row.component("complaints").points == Decimal("0.00")  # 15 - 15, never below 0


def test_an_outlet_without_service_in_the_year_is_not_rated_and_says_so(session, world):
    row = ev.evaluation_of(session, world["b"], YEAR)
    assert not row.rated and row.score is None and row.rank is None
    assert {c.key for c in row.components if c.no_data} == {"sla", "satisfaction", "repeat_repairs", "fee_claims"}


def test_a_component_without_data_neither_gives_nor_costs_points(session, world, year_of_a):
    row = ev.evaluation_of(session, world["a"], YEAR)
    assert row.score == Decimal("67.00")  # every component has data: the plain sum
    # Without claims, the other 90 weight points carry the score: (67 - 5) x 100 / 90 = 68.888… → 68.89.
    without_claims = ev.Evaluation(row.outlet, YEAR, tuple(
        ev.Component(c.key, c.weight, Decimal("10.00") if c.key == "fee_claims" else c.points, c.figures,
                     no_data=c.key == "fee_claims") for c in row.components))
    assert without_claims.score == Decimal("68.89")


def test_ranking_is_best_first_equal_scores_share_a_rank_and_unrated_come_last(session, world, year_of_a):
    c = f.make_outlet(session)
    rows = ev.ranking(session, YEAR)
    rated = [r for r in rows if r.rated]
    assert [r.score for r in rated] == sorted((r.score for r in rated), reverse=True)
    ranks = {r.outlet.id: r.rank for r in rows}
    assert ranks[world["a"].id] == 1 and ranks[world["b"].id] is None and ranks[c.id] is None
    assert rows.index(next(r for r in rows if r.outlet.id == world["a"].id)) < rows.index(
        next(r for r in rows if r.outlet.id == c.id))
    assert world["center"].id not in ranks  # the service center is not evaluated


def test_an_outlet_penalised_for_overcharging_cannot_be_awarded(session, world, year_of_a):  # R-CMP-3
    penalised = claim(session, year_of_a[6], "approved", Decimal("100.00"), charge_back=Decimal("80.00"))
    row = ev.evaluation_of(session, world["a"], YEAR)
    assert not row.eligible
    with pytest.raises(FieldErrors) as refused:
        ev.record_award(session, world["manager"], ev.AwardDraft(str(YEAR), world["a"].id, None, "年度先进服务网点"))
    assert penalised.number in str(refused.value.errors["outlet_id"])
    assert str(YEAR) in str(refused.value.errors["outlet_id"])
    assert session.scalars(select(OutletAward).where(OutletAward.outlet_id == world["a"].id)).all() == []


def test_a_manager_awards_an_outlet_and_a_person(session, world):  # R-APR-5
    award = ev.record_award(session, world["manager"], ev.AwardDraft(str(YEAR), world["b"].id, None,
                                                                     " 年度先进服务网点 ", "服务零投诉"))
    person = ev.record_award(session, world["manager"], ev.AwardDraft(str(YEAR), None, world["engineer_a"].id,
                                                                      "年度优秀服务工程师"))
    assert (award.title, award.outlet_id, award.recorded_by_id) == ("年度先进服务网点", world["b"].id,
                                                                    world["manager"].id)
    assert (person.staff_id, person.outlet_id) == (world["engineer_a"].id, world["a"].id)  # seen by its outlet
    [row_b] = [r for r in ev.ranking(session, YEAR) if r.outlet.id == world["b"].id]
    assert [a.title for a in row_b.awards] == ["年度先进服务网点"]


def test_awards_refused_field_by_field(session, world):
    manager = world["manager"]
    ev.record_award(session, manager, ev.AwardDraft(str(YEAR), world["b"].id, None, "年度先进服务网点"))
    cases = [
        (ev.AwardDraft(str(YEAR), world["b"].id, None, "年度先进服务网点"), "title"),  # twice
        (ev.AwardDraft("20x6", world["b"].id, None, "先进"), "year"),
        (ev.AwardDraft(str(local_today().year + 1), world["b"].id, None, "先进"), "year"),
        (ev.AwardDraft(str(YEAR), None, None, "先进"), "outlet_id"),
        (ev.AwardDraft(str(YEAR), world["b"].id, manager.id, "先进"), "outlet_id"),
        (ev.AwardDraft(str(YEAR), world["center"].id, None, "先进"), "outlet_id"),
        (ev.AwardDraft(str(YEAR), None, manager.id, "先进"), "staff_id"),  # not himself
        (ev.AwardDraft(str(YEAR), world["b"].id, None, ""), "title"),
        (ev.AwardDraft(str(YEAR), world["b"].id, None, "长" * 61), "title"),
    ]
    for draft, field in cases:
        with pytest.raises(FieldErrors) as refused:
            ev.record_award(session, manager, draft)
        assert field in refused.value.errors, (draft, refused.value.errors)


def test_a_clerk_reads_but_does_not_award(session, world):
    assert ev.actions(session, None, world["clerk"])["read"]
    assert not ev.actions(session, None, world["clerk"])["award"]
    assert not ev.actions(session, None, world["engineer_a"])["read"]
    with pytest.raises(NotAllowed):
        ev.record_award(session, world["clerk"], ev.AwardDraft(str(YEAR), world["b"].id, None, "先进"))


def test_qualification_records_licence_engineers_and_inspection(session, world):  # R-APR-5
    a, manager = world["a"], world["manager"]
    ev.record_licence(session, a, manager, " 91440101MA5CXXXX1X ", "2020-06-30")
    ev.record_inspection(session, a, manager, str(YEAR), "rectify", "维修工具不全，限期整改")
    ev.record_inspection(session, a, manager, str(YEAR), "pass", "整改完成")  # replaces the year's result
    found = ev.qualification(session, a)
    assert found.licence.licence_number == "91440101MA5CXXXX1X" and found.licence_expired
    assert found.engineers == 1 and found.certified_engineers in (0, None)
    assert [(i.year, i.result, i.note) for i in found.inspections] == [(YEAR, "pass", "整改完成")]
    inspected_by = select(OutletInspection.inspected_by_id).where(OutletInspection.outlet_id == a.id)
    assert session.scalar(inspected_by) == manager.id


def test_qualification_refused_field_by_field(session, world):
    a, manager = world["a"], world["manager"]
    with pytest.raises(FieldErrors) as refused:
        ev.record_licence(session, a, manager, "", "2026-02-30")
    assert set(refused.value.errors) == {"licence_number", "licence_valid_until"}
    with pytest.raises(FieldErrors) as refused:
        ev.record_inspection(session, a, manager, "1999", "excellent", "x" * 2001)
    assert set(refused.value.errors) == {"inspection_year", "inspection_result", "inspection_note"}
    with pytest.raises(NotAllowed):
        ev.record_inspection(session, a, world["clerk"], str(YEAR), "pass", "")
    with pytest.raises(NotAllowed):
        ev.record_licence(session, world["center"], manager, "X1", "")


def test_statement_deadline_is_the_policy_days_after_the_month():  # R-PART-7
    deadline = ev.confirm_deadline(date(2026, 1, 1), 10)
    assert deadline == datetime(2026, 2, 11, tzinfo=SHANGHAI).astimezone(UTC)


def test_clocks_not_yet_decided_do_not_count(session, world):
    ticket = f.make_ticket(session, world["customer"])  # clocks running now
    counted = ev.facts(session, [world["a"].id], local_today().year)[world["a"].id]
    assert counted.clocks_decided == 0
    assert session.scalars(select(TicketClock).where(TicketClock.ticket_id == ticket.id)).all()
