"""Staff appraisal (R-APR-1, R-APR-3). Maxima are policy values."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from models import AppraisalRecord

from . import policy
from .errors import ValidationFailed

DIMENSIONS = ("conduct", "diligence", "ability", "results")
DIMENSION_LABELS = {
    "conduct": _l("Conduct (德)"),
    "diligence": _l("Diligence (勤)"),
    "ability": _l("Ability (能)"),
    "results": _l("Results (绩)"),
    "commendation": _l("Commendation"),
}


def maxima(session: Session) -> dict[str, Decimal]:
    found = policy.values(session, "appraisal.max.")
    return {key.rsplit(".", 1)[1]: value for key, value in found.items()}


def validate_record(session: Session, record: AppraisalRecord) -> None:
    """R-APR-1: each dimension between 0 and its maximum; R-APR-3 commendation 0..max."""
    limits = maxima(session)
    errors = []
    for field in (*DIMENSIONS, "commendation"):
        score = getattr(record, field)
        if score is None:
            score = Decimal("0") if field == "commendation" else None
        if score is None:
            errors.append(_l("%(field)s is required.", field=DIMENSION_LABELS[field]))
        elif not Decimal("0") <= Decimal(score) <= limits[field]:
            errors.append(_l("%(field)s must be between 0 and %(max)s.",
                             field=DIMENSION_LABELS[field], max=limits[field]))
    if record.penalty is not None and record.penalty < 0:
        errors.append(_l("A penalty is a positive number of points to deduct."))
    if errors:
        raise ValidationFailed("; ".join(str(e) for e in errors))
