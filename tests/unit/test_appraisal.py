"""Staff appraisal: scores within their maxima, which are policy values, and the total (R-APR-1, R-APR-3)."""
from decimal import Decimal

import pytest

from backoffice import appraisal
from backoffice.errors import ValidationFailed
from models import AppraisalRecord, PolicySetting


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
