"""Rules without HTTP: numbering, appraisal maxima, network tiers, accounts, policy values."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice import accounts, appraisal, network, numbering, policy
from backoffice.errors import ValidationFailed
from models import AppraisalRecord, Outlet, PolicySetting, Ticket
from tests import factories as f


def test_ticket_number_is_date_and_daily_sequence():  # R-TKT-1
    assert numbering.format_ticket_number(date(2026, 11, 22), 7) == "SV20261122-0007"


def test_daily_sequence_restarts_each_day_and_never_repeats(session):  # R-TKT-1
    day = date(2030, 1, 1)
    first = [numbering.next_ticket_number(session, day) for _ in range(3)]
    other = numbering.next_ticket_number(session, date(2030, 1, 2))
    assert first == ["SV20300101-0001", "SV20300101-0002", "SV20300101-0003"]
    assert other == "SV20300102-0001"


def test_demo_numbers_are_unique(session):
    numbers = session.scalars(select(Ticket.number)).all()
    assert len(numbers) == len(set(numbers)) >= 200


def record(**scores):
    values = dict(conduct=Decimal(18), diligence=Decimal(18), ability=Decimal(27), results=Decimal(27),
                  commendation=Decimal(0), penalty=Decimal(0))
    values.update({k: Decimal(v) for k, v in scores.items()})
    return AppraisalRecord(**values)


def test_appraisal_scores_within_their_maxima_pass(session):  # R-APR-1
    appraisal.validate_record(session, record(conduct=20, diligence=20, ability=30, results=30))


@pytest.mark.parametrize("field,value", [("conduct", 21), ("diligence", 20.5), ("ability", 31),
                                         ("results", 30.1), ("commendation", 11), ("conduct", -1)])
def test_appraisal_score_above_maximum_is_refused(session, field, value):  # R-APR-1, R-APR-3
    with pytest.raises(ValidationFailed):
        appraisal.validate_record(session, record(**{field: value}))


def test_appraisal_maxima_are_policy_values(session):  # R-APR-1 as data, not literals
    session.add(PolicySetting(key="appraisal.max.conduct", value="25"))
    session.flush()
    appraisal.validate_record(session, record(conduct=24))


def test_appraisal_total_adds_commendation_and_deducts_penalty():  # R-APR-3
    assert record(commendation=5, penalty=2).total == Decimal(18 + 18 + 27 + 27 + 5 - 2)


def test_unknown_policy_key_is_an_error(session):
    with pytest.raises(KeyError):
        policy.value(session, "no.such.policy")


def test_sub_outlet_cannot_have_sub_outlets(session):
    sub = f.outlet(session, "GZ-TH-01")
    with pytest.raises(ValidationFailed):
        network.validate_outlet(Outlet(code="X", name="三级", parent=sub))


def test_outlet_with_children_cannot_become_a_sub_outlet(session):
    parent = f.outlet(session, "GZ-TH")
    parent.parent = f.outlet(session, "FS-SD")
    with pytest.raises(ValidationFailed):
        network.validate_outlet(parent)
    session.rollback()


def test_dealer_account_needs_an_outlet(session):
    with pytest.raises(ValidationFailed):
        accounts.create_user(session, "dealer9", "password-9", "dealer")


def test_short_password_is_refused(session):
    with pytest.raises(ValidationFailed):
        accounts.create_user(session, "clerk9", "short", "clerk")


def test_passwords_are_hashed_with_a_kdf(session):
    user = accounts.create_user(session, "clerk9", "long-enough-1", "clerk")
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert accounts.verify_password(user, "long-enough-1")
    assert not accounts.verify_password(user, "long-enough-2")


def test_password_change_rotates_the_session_nonce(session):
    user = f.user(session, "clerk")
    before = user.get_id()
    accounts.set_password(user, "another-one-1")
    assert user.get_id() != before
