"""Staff appraisal (R-APR-1, R-APR-3). Maxima are policy values."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AppraisalRecord

from . import policy
from .access import UNSCOPED
from .errors import FieldErrors

DIMENSIONS = ("conduct", "diligence", "ability", "results")
DIMENSION_LABELS = {
    "conduct": _l("Conduct (德)"),
    "diligence": _l("Diligence (勤)"),
    "ability": _l("Ability (能)"),
    "results": _l("Results (绩)"),
    "commendation": _l("Commendation"),
}


# R-APR-1 / R-APR-3: each dimension's maximum, a policy record per dimension.
MAXIMUM_KEYS = {"conduct": "appraisal.max.conduct", "diligence": "appraisal.max.diligence",
                "ability": "appraisal.max.ability", "results": "appraisal.max.results",
                "commendation": "appraisal.max.commendation"}


def maxima(session: Session) -> dict[str, Decimal]:
    return {field: policy.value(session, key) for field, key in MAXIMUM_KEYS.items()}


def validate_record(session: Session, record: AppraisalRecord) -> None:
    """R-APR-1: each dimension between 0 and its maximum; R-APR-3 commendation 0..max; a
    penalty deducts at most every point a record can hold. Refused field by field."""
    limits = maxima(session)
    errors = {}
    for field in (*DIMENSIONS, "commendation"):
        score = getattr(record, field)
        if score is None:
            score = Decimal("0") if field == "commendation" else None
        if score is None:
            errors[field] = _l("%(field)s is required.", field=DIMENSION_LABELS[field])
        elif not (Decimal(score).is_finite() and Decimal("0") <= Decimal(score) <= limits[field]):
            errors[field] = _l("%(field)s must be between 0 and %(max)s.",
                               field=DIMENSION_LABELS[field], max=limits[field])
    penalty = record.penalty
    if penalty is not None and not (Decimal(penalty).is_finite() and 0 <= penalty <= sum(limits.values())):
        errors["penalty"] = _l("A penalty is a positive number of points to deduct, at most %(max)s.",
                               max=sum(limits.values()))
    if errors:
        raise FieldErrors(errors, "; ".join(str(e) for e in errors.values()))


def check_period_free(session: Session, record: AppraisalRecord) -> None:
    """One appraisal per person, period kind and period start (the table's unique key)."""
    staff_id = record.staff.id if record.staff is not None else record.staff_id
    if staff_id is None or record.period_start is None:
        return  # the form marks the missing field itself
    stmt = select(AppraisalRecord.id).where(
        AppraisalRecord.staff_id == staff_id, AppraisalRecord.period_kind == record.period_kind,
        AppraisalRecord.period_start == record.period_start).execution_options(**UNSCOPED)
    if record.id is not None:
        stmt = stmt.where(AppraisalRecord.id != record.id)
    with session.no_autoflush:
        taken = session.scalar(stmt.limit(1))
    if taken is not None:
        staff = record.staff.full_name or record.staff.username
        raise FieldErrors({"period_start": _l("%(staff)s already has an appraisal for this period: edit that "
                                              "record instead.", staff=staff)})
