"""Staff appraisal (DOMAIN §8): records within their maxima and steps, one per person, kind and
period, never scored by oneself or for one's own manager, acknowledged by the person (R-APR-1);
the annual composite and 先进员工 worked out by hand (R-APR-2, R-APR-3)."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice import appraisal
from backoffice.errors import FieldErrors
from backoffice.permissions import NotAllowed
from models import AppraisalRecord, PolicySetting, User
from models.choices import Role
from tests import factories as f

D = Decimal


# --- helpers of this module ------------------------------------------------------------------------

def record(kind="monthly", total=90, commendation=0, penalty=0, start=date(2026, 3, 1)) -> AppraisalRecord:
    """An unsaved record whose 德+勤+能 are full (70) and 绩 makes up `total` (70 … 100)."""
    return AppraisalRecord(period_kind=kind, period_start=start, conduct=D(20), diligence=D(20), ability=D(30),
                           results=D(total) - 70, commendation=D(commendation), penalty=D(penalty))


def draft(staff, **changes) -> appraisal.Draft:
    values = dict(staff_id=staff.id, period_kind="monthly", period_day=date(2026, 3, 10),
                  scores={"conduct": D(18), "diligence": D(19), "ability": D(26), "results": D(27),
                          "commendation": D(0), "penalty": D(0)}, note="三月考核")
    scores = changes.pop("scores", {})
    values.update(changes)
    values["scores"] = {**values["scores"], **scores}
    values["typed"] = {k: str(v) for k, v in values["scores"].items()}
    return appraisal.Draft(**values)


@pytest.fixture
def team(session):
    """admin ← manager ← (clerk, engineer); manager2 reports to the admin too."""
    admin = f.make_user(session, Role.ADMIN)
    manager = f.make_user(session, Role.MANAGER, reports_to=admin)
    manager2 = f.make_user(session, Role.MANAGER, reports_to=admin)
    clerk = f.make_user(session, Role.CLERK, reports_to=manager)
    engineer = f.make_user(session, Role.ENGINEER, reports_to=manager)
    session.flush()
    return dict(admin=admin, manager=manager, manager2=manager2, clerk=clerk, engineer=engineer)


def errors_of(call) -> dict:
    with pytest.raises(FieldErrors) as caught:
        call()
    return {key: str(message) for key, message in caught.value.errors.items()}


# --- R-APR-1: scores within maxima, in steps, stored exactly ----------------------------------------

def test_a_manager_scores_a_monthly_appraisal_of_his_clerk(session, team):
    saved = appraisal.save(session, team["manager"], None, draft(team["clerk"]))
    assert (saved.period_kind, saved.period_start, saved.total) == ("monthly", date(2026, 3, 1), D(90))
    assert saved.scored_by == team["manager"] and saved.acknowledged_at is None


@pytest.mark.parametrize("field,value,words", [
    ("conduct", D(-5), "between 0 and 20"), ("diligence", D("20.5"), "between 0 and 20"),
    ("ability", D(31), "between 0 and 30"), ("results", D("30.5"), "between 0 and 30"),
    ("commendation", D(11), "between 0 and 10"), ("commendation", D("0.5"), "1 to 10"),
    ("conduct", D("18.3"), "steps of 0.5"), ("conduct", D("19.95"), "steps of 0.5"),
    ("penalty", D(-1), "positive number"),
])
def test_a_score_outside_its_range_or_off_step_is_refused_on_its_field(session, team, field, value, words):
    found = errors_of(lambda: appraisal.save(session, team["manager"], None,
                                             draft(team["clerk"], scores={field: value})))
    assert words in found[field]


def test_a_score_that_is_no_number_is_refused_and_an_empty_one_is_required(session, team):
    broken = draft(team["clerk"], scores={"conduct": None, "ability": None})
    broken.typed.update(conduct="NaN", ability="")
    found = errors_of(lambda: appraisal.save(session, team["manager"], None, broken))
    assert "give a number" in found["conduct"] and "required" in found["ability"]


@pytest.mark.parametrize("text,expected", [("18.5", D("18.5")), (" 19.95 ", D("19.95")), ("-5", D(-5)),
                                           ("NaN", None), ("Infinity", None), ("1e400", None), ("十八", None)])
def test_typed_scores_are_read_as_plain_decimals(text, expected):
    assert appraisal.read_score(text) == expected


def test_a_finer_step_stores_19_95_exactly(session, team):
    session.add(PolicySetting(key="appraisal.score_step", value="0.05"))
    session.flush()
    saved = appraisal.save(session, team["manager"], None, draft(team["clerk"], scores={"conduct": D("19.95")}))
    session.commit()
    session.expire_all()
    assert session.get(AppraisalRecord, saved.id).conduct == D("19.95")


def test_maxima_are_policy_values(session, team):  # R-APR-1 as data, not literals
    session.add(PolicySetting(key="appraisal.max.conduct", value="25"))
    session.flush()
    assert appraisal.save(session, team["manager"], None, draft(team["clerk"], scores={"conduct": D(24)})).conduct == 24


def test_total_adds_commendation_and_deducts_penalty():  # R-APR-3
    assert record(total=88, commendation=5, penalty=2).total == D(88 + 5 - 2)


# --- one record per person, kind and period -------------------------------------------------------

def test_a_second_record_of_the_same_kind_and_period_is_refused_on_the_period(session, team):
    appraisal.save(session, team["manager"], None, draft(team["clerk"], period_day=date(2026, 3, 2)))
    found = errors_of(lambda: appraisal.save(session, team["manager"], None,
                                             draft(team["clerk"], period_day=date(2026, 3, 28))))
    assert "already has a record" in found["period_start"] and "2026-03-01" in found["period_start"]


def test_a_monthly_check_and_a_monthly_appraisal_of_the_same_month_are_two_records(session, team):
    appraisal.save(session, team["manager"], None, draft(team["clerk"]))
    check = appraisal.save(session, team["manager"], None, draft(team["clerk"], period_kind="monthly_check"))
    assert check.period_start == date(2026, 3, 1)


@pytest.mark.parametrize("kind,day,period", [
    ("weekly", date(2026, 3, 11), (date(2026, 3, 9), date(2026, 3, 15))),  # Wednesday → Monday..Sunday
    ("monthly_check", date(2026, 2, 14), (date(2026, 2, 1), date(2026, 2, 28))),
    ("monthly", date(2026, 12, 31), (date(2026, 12, 1), date(2026, 12, 31))),
    ("year_end", date(2026, 12, 20), (date(2026, 1, 1), date(2026, 12, 31))),
])
def test_a_record_covers_the_week_month_or_year_of_the_day_given(kind, day, period):
    assert appraisal.period_of(kind, day) == period


# --- itemised deductions and the note on a changed suggestion ---------------------------------------

def test_deductions_are_itemised_and_kept_with_the_record(session, team):
    saved = appraisal.save(session, team["manager"], None, draft(team["clerk"], deductions=[
        appraisal.DeductionDraft("conduct", D("1.5"), "服务用语不规范"),
        appraisal.DeductionDraft(None, None, ""),  # an empty row of the form
        appraisal.DeductionDraft("results", D(3), "回访满意度未达标")]))
    assert [(d.dimension, d.points, d.reason) for d in saved.deductions] == [
        ("conduct", D("1.5"), "服务用语不规范"), ("results", D(3), "回访满意度未达标")]


def test_deductions_cannot_exceed_the_points_a_dimension_lost(session, team):
    # 德 18 of 20: two points lost, three itemised
    found = errors_of(lambda: appraisal.save(session, team["manager"], None, draft(team["clerk"], deductions=[
        appraisal.DeductionDraft("conduct", D(3), "迟到")])))
    assert "more than the points it lost" in found["deductions"]


def test_a_deduction_needs_a_dimension_positive_points_and_a_reason(session, team):
    found = errors_of(lambda: appraisal.save(session, team["manager"], None, draft(team["clerk"], deductions=[
        appraisal.DeductionDraft(None, D("-1"), "")])))
    assert set(found) >= {"deductions-0-dimension", "deductions-0-points", "deductions-0-reason"}


def test_a_changed_suggestion_needs_a_note(session, team):
    changed = draft(team["clerk"], note="  ", suggested={"diligence": D("17.5"), "results": D(27)})
    found = errors_of(lambda: appraisal.save(session, team["manager"], None, changed))
    assert "Diligence" in found["note"] and "Results" not in found["note"]
    taken = draft(team["clerk"], note="", scores={"diligence": D("17.5")},
                  suggested={"diligence": D("17.5"), "results": D(27)})
    saved = appraisal.save(session, team["manager"], None, taken)
    assert (saved.diligence_suggested, saved.results_suggested) == (D("17.5"), D(27))


# --- who scores whom ---------------------------------------------------------------------------------

def test_nobody_scores_himself(session, team):
    found = errors_of(lambda: appraisal.save(session, team["manager"], None, draft(team["manager"])))
    assert "own appraisal" in found["staff"]
    assert not appraisal.actions(session, None, team["manager"], staff=team["manager"])["score"]


def test_a_manager_never_scores_the_person_he_reports_to_nor_above(session, team):
    top = f.make_user(session, Role.ADMIN)
    team["admin"].reports_to = top
    session.flush()
    for boss in (team["admin"], top):
        found = errors_of(lambda boss=boss: appraisal.save(session, team["manager"], None, draft(boss)))
        assert "reports to" in found["staff"]
    assert appraisal.save(session, team["manager"], None, draft(team["manager2"]))  # a peer: allowed


def test_the_admin_scores_the_manager_who_reports_to_him(session, team):
    assert appraisal.save(session, team["admin"], None, draft(team["manager"])).staff == team["manager"]


def test_dealers_are_not_appraised_here(session, team):
    dealer = f.make_user(session, Role.DEALER)
    found = errors_of(lambda: appraisal.save(session, team["manager"], None, draft(dealer)))
    assert "company's own staff" in found["staff"]


@pytest.mark.parametrize("role", ["clerk", "engineer"])
def test_staff_who_are_not_managers_do_not_score(session, team, role):
    with pytest.raises(NotAllowed):
        appraisal.save(session, team[role], None, draft(team["manager2"]))
    assert not appraisal.actions(session, None, team[role])["score"]


def test_a_reporting_line_that_comes_back_round_is_refused(session, team):
    team["admin"].reports_to = team["clerk"]
    found = errors_of(lambda: appraisal.check_reporting_line(session, team["admin"]))
    assert "come back" in found["reports_to"]
    team["admin"].reports_to = None
    team["clerk"].reports_to = team["clerk"]
    assert "come back" in errors_of(lambda: appraisal.check_reporting_line(session, team["clerk"]))["reports_to"]


# --- acknowledgement ---------------------------------------------------------------------------------

def test_the_person_acknowledges_once_and_an_edit_asks_again(session, team):
    saved = appraisal.save(session, team["manager"], None, draft(team["clerk"]))
    assert not appraisal.actions(session, saved, team["engineer"])["acknowledge"]
    with pytest.raises(NotAllowed):
        appraisal.acknowledge(session, saved, team["manager"])
    appraisal.acknowledge(session, saved, team["clerk"])
    assert saved.acknowledged_at is not None
    verdict = appraisal.actions(session, saved, team["clerk"])["acknowledge"]
    assert not verdict and "already" in str(verdict.reason)
    appraisal.save(session, team["manager"], saved, draft(team["clerk"], scores={"results": D(28)}))
    assert saved.acknowledged_at is None and saved.results == 28


def test_a_manager_may_not_edit_his_own_record(session, team):
    own = appraisal.save(session, team["admin"], None, draft(team["manager"]))
    assert not appraisal.actions(session, own, team["manager"])["edit"]
    assert appraisal.actions(session, own, team["manager"])["acknowledge"]


# --- R-APR-2 / R-APR-3: the annual composite, by hand ------------------------------------------------

WEIGHTS = {"checks": D("0.20"), "monthly": D("0.30"), "year_end": D("0.50")}


def composite(*records):
    return appraisal.composite_of(User(username="x"), 2026, records, WEIGHTS)


def test_annual_composite_is_20_30_50_of_the_parts():
    # checks: weekly 90, weekly 95, monthly check 100 → 95; monthly appraisals 92 and 104 (100 + 4
    # commendation) → 98; year-end 96.  0.2 × 95 + 0.3 × 98 + 0.5 × 96 = 19 + 29.4 + 48 = 96.40
    result = composite(record("weekly", 90), record("weekly", 95), record("monthly_check", 100),
                       record("monthly", 92), record("monthly", 100, commendation=4), record("year_end", 96))
    assert [p.average for p in result.parts] == [D(95), D(98), D(96)]
    assert result.value == D("96.40") and not result.provisional and not result.advanced
    assert result.commendations == D(4)


def test_a_record_over_100_is_kept_into_the_weighting_and_makes_an_advanced_employee():
    # monthly 100 + 10 commendation = 110 and 100 → 105 (not capped at 100); checks 100 and 102
    # → 101; year-end 100 + 1 = 101.  0.2 × 101 + 0.3 × 105 + 0.5 × 101 = 20.2 + 31.5 + 50.5 = 102.20
    result = composite(record("weekly", 100), record("monthly_check", 100, commendation=2),
                       record("monthly", 100, commendation=10), record("monthly", 100),
                       record("year_end", 100, commendation=1))
    assert result.part("monthly").average == D(105)
    assert result.value == D("102.20") and result.advanced


def test_exactly_100_is_no_advanced_employee_but_100_5_is():
    hundred = composite(record("weekly", 100), record("monthly", 100), record("year_end", 100))
    assert hundred.value == D("100.00") and not hundred.advanced
    # 0.2 × 100 + 0.3 × 100 + 0.5 × 101 = 20 + 30 + 50.5 = 100.50
    more = composite(record("weekly", 100), record("monthly", 100), record("year_end", 100, commendation=1))
    assert more.value == D("100.50") and more.advanced


def test_a_penalty_counts_in_its_record():
    # year-end 100 − 5 = 95: 0.2 × 100 + 0.3 × 100 + 0.5 × 95 = 97.50
    result = composite(record("weekly", 100), record("monthly", 100), record("year_end", 100, penalty=5))
    assert result.value == D("97.50") and result.penalties == D(5)


def test_without_a_year_end_the_composite_is_provisional_from_the_parts_there_are():
    # (0.2 × 90 + 0.3 × 95) / 0.5 = (18 + 28.5) / 0.5 = 93.00
    result = composite(record("weekly", 90), record("monthly", 95))
    assert result.value == D("93.00") and result.provisional and result.missing == ("year_end",)
    high = composite(record("weekly", 100, commendation=10), record("monthly", 100, commendation=10))
    assert high.value == D("110.00") and high.provisional and not high.advanced  # only a final result counts


def test_no_record_no_composite():
    result = composite()
    assert result.value is None and result.provisional and not result.advanced


def test_annual_reads_the_years_records_with_the_policy_weights(session, team):
    clerk = team["clerk"]
    f.make_appraisal(session, clerk, period_kind="weekly", period_start=date(2026, 3, 2),
                     conduct=D(20), diligence=D(20), ability=D(30), results=D(20))  # 90
    f.make_appraisal(session, clerk, period_kind="monthly", period_start=date(2026, 3, 1),
                     conduct=D(20), diligence=D(20), ability=D(30), results=D(30))  # 100
    f.make_appraisal(session, clerk, period_kind="year_end", period_start=date(2026, 1, 1),
                     conduct=D(20), diligence=D(20), ability=D(30), results=D(30), commendation=D(2))  # 102
    f.make_appraisal(session, clerk, period_kind="year_end", period_start=date(2025, 1, 1))  # another year
    session.add(PolicySetting(key="appraisal.weight.year_end", value="0.60"))
    session.add(PolicySetting(key="appraisal.weight.checks", value="0.10"))
    session.flush()
    # 0.1 × 90 + 0.3 × 100 + 0.6 × 102 = 9 + 30 + 61.2 = 100.20
    result = appraisal.annual(session, clerk, 2026)
    assert result.value == D("100.20") and result.advanced


def test_ranking_shares_equal_ranks_and_lists_the_unappraised_last(session, team):
    for person, results in (("clerk", 30), ("engineer", 30), ("manager2", 20)):
        f.make_appraisal(session, team[person], period_kind="monthly", period_start=date(2026, 5, 1),
                         conduct=D(20), diligence=D(20), ability=D(30), results=D(results))
    people = [team["clerk"], team["engineer"], team["manager2"], team["admin"]]
    rows = appraisal.ranking(session, people, 2026)
    assert [r.rank for r in rows] == [1, 1, 3, None]
    assert {rows[0].composite.staff, rows[1].composite.staff} == {team["clerk"], team["engineer"]}
    assert (rows[2].composite.staff, rows[3].composite.staff) == (team["manager2"], team["admin"])


def test_staff_other_than_managers_rank_only_themselves(session, team):
    assert appraisal.team(session, team["clerk"], year=2026) == [team["clerk"]]
    assert appraisal.team(session, f.make_user(session, Role.DEALER), year=2026) == []
    everyone = appraisal.team(session, team["manager"], year=2026)
    assert team["clerk"] in everyone and all(p.role != Role.DEALER for p in everyone)


def test_the_demo_has_one_advanced_employee_last_year(app):
    from backoffice.timezones import local_today
    from models import db

    with app.app_context():
        people = appraisal.team(db.session, db.session.scalar(select(User).where(User.username == "manager")),
                                year=local_today().year - 1)
        rows = appraisal.ranking(db.session, people, local_today().year - 1)
        advanced = [r.composite.staff.username for r in rows if r.composite.advanced]
        assert advanced == ["clerk"]
        assert all(not r.composite.provisional for r in rows if r.composite.value is not None)


# --- migration 0017 keeps existing records meaningful -------------------------------------------------

def test_migration_keeps_existing_records_and_their_scores(tmp_path):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from models import db
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path}/old.db")
    with app.app_context():
        upgrade(revision="0016_outlet_retirement")
        with db.engine.begin() as conn:
            now = "2026-01-01 00:00:00"
            conn.execute(text("INSERT INTO user_account (id, username, full_name, phone, password_hash, role, active, "
                              "session_nonce, created_at, updated_at) VALUES (1, 'clerk', '李晓敏', '', 'x', 'clerk', "
                              "1, 'n', :t, :t)"), {"t": now})
            conn.execute(text("INSERT INTO appraisal_record (id, staff_id, period_kind, period_start, conduct, "
                              "diligence, ability, results, commendation, penalty, note, created_at, updated_at) "
                              "VALUES (1, 1, 'monthly', '2025-03-01', 19.5, 18, 27.5, 28, 5, 0, '三月', :t, :t)"),
                         {"t": now})
        upgrade(revision="0017_appraisal_records")
        with db.engine.begin() as conn:
            row = conn.execute(text("SELECT period_kind, conduct, ability, commendation, acknowledged_at "
                                    "FROM appraisal_record")).one()
            assert (row[0], Decimal(str(row[1])), Decimal(str(row[2])), Decimal(str(row[3])), row[4]) == (
                "monthly", D("19.5"), D("27.5"), D(5), None)
            conn.execute(text("UPDATE appraisal_record SET conduct = 19.95"))
            conn.execute(text("INSERT INTO appraisal_record (id, staff_id, period_kind, period_start, conduct, "
                              "diligence, ability, results, commendation, penalty, note, created_at, updated_at) "
                              "VALUES (2, 1, 'monthly_check', '2025-03-01', 20, 20, 30, 30, 0, 0, '', :t, :t)"),
                         {"t": now})
            conn.execute(text("INSERT INTO appraisal_deduction (record_id, dimension, points, reason) "
                              "VALUES (1, 'conduct', 0.5, '迟到')"))
            assert Decimal(str(conn.execute(text("SELECT conduct FROM appraisal_record WHERE id = 1")).scalar())) \
                == D("19.95")
        downgrade(revision="0016_outlet_retirement")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT id, period_kind FROM appraisal_record")).all() == [(1, "monthly")]
