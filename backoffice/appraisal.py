"""Staff appraisal (DOMAIN §8): records that are scored, checked and acknowledged (R-APR-1),
and the annual composite that ranks the staff and names the 先进员工 (R-APR-2, R-APR-3).

Records. Four kinds (weekly check, monthly check, monthly appraisal, year-end appraisal), each
on 德 20 / 勤 20 / 能 30 / 绩 30 (policy maxima) in steps of `appraisal.score_step`, with
itemised deductions (a dimension's deductions explain at most the points it lost), a
commendation (0, or 1–10 points, R-APR-3) and a penalty. One record per person, kind and
period; the period is the week (from Monday), the month or the year that holds the day given.
A manager never scores himself nor anyone he reports to (`User.reports_to`), and the person
acknowledges their own record.

The annual composite (R-APR-2/3), decided here:
- each record counts with its total: 德+勤+能+绩 + commendation − penalty. Commendations and
  penalties enter through the record they were given on ("added after normal scoring"), so a
  record over 100 is carried into the weighting as it is, and nothing is counted twice;
- checks part = plain mean of the year's weekly and monthly checks (each check counts once);
  monthly part = mean of the monthly appraisals; year-end part = the year-end appraisal; the
  composite is Σ weight × part with the policy weights (20 / 30 / 50 %);
- a missing part (no year-end yet, no checks …): the composite is PROVISIONAL, computed from
  the parts that exist with their weights scaled up to 100 % so it stays on the same 100-point
  scale; it is shown marked as such and never makes anyone 先进员工;
- the composite is rounded to 0.01 (half up) and 先进员工 is a final composite over 100
  (exactly 100.00 is not).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import extract, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from models import AppraisalDeduction, AppraisalRecord, User, utcnow
from models.choices import AppraisalDimension, AppraisalPeriod, Role

from . import policy
from .access import UNSCOPED
from .errors import FieldErrors
from .labels import number
from .permissions import ALLOWED, EMPLOYEES, MANAGERS, Verdict, first_refusal, refuse, require, role_in

DIMENSIONS = tuple(d.value for d in AppraisalDimension)
DIMENSION_LABELS = {
    "conduct": _l("Conduct (德)"),
    "diligence": _l("Diligence (勤)"),
    "ability": _l("Ability (能)"),
    "results": _l("Results (绩)"),
    "commendation": _l("Commendation"),
    "penalty": _l("Penalty"),
}
SUGGESTED = ("diligence", "results")  # 勤 and 绩 are proposed from the service record
CHECKS = (AppraisalPeriod.WEEKLY.value, AppraisalPeriod.MONTHLY_CHECK.value)
HUNDRED = Decimal("100")
CENT = Decimal("0.01")
MAX_DEDUCTIONS = 12

# R-APR-1 / R-APR-3: each dimension's maximum, a policy record per dimension.
MAXIMUM_KEYS = {"conduct": "appraisal.max.conduct", "diligence": "appraisal.max.diligence",
                "ability": "appraisal.max.ability", "results": "appraisal.max.results",
                "commendation": "appraisal.max.commendation"}
WEIGHT_KEYS = {"checks": "appraisal.weight.checks", "monthly": "appraisal.weight.monthly",
               "year_end": "appraisal.weight.year_end"}


def maxima(session: Session) -> dict[str, Decimal]:
    return {field: policy.value(session, key) for field, key in MAXIMUM_KEYS.items()}


def score_step(session: Session) -> Decimal:
    return policy.value(session, "appraisal.score_step")


# --- periods ---------------------------------------------------------------------------------

def period_of(kind: str, day: date) -> tuple[date, date]:
    """The period (first day, last day inclusive) of a record of `kind` that holds `day`:
    the week from Monday, the calendar month, or the calendar year."""
    if kind == AppraisalPeriod.WEEKLY:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    if kind == AppraisalPeriod.YEAR_END:
        return date(day.year, 1, 1), date(day.year, 12, 31)
    start = day.replace(day=1)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, following - timedelta(days=1)


# --- reading typed numbers -------------------------------------------------------------------

NUMBER = re.compile(r"-?\d{1,6}(\.\d{1,6})?")


def read_score(text) -> Decimal | None:
    """A typed score as a Decimal: plain digits with an optional sign and decimals; anything
    else (NaN, 1e400, 十八) is None."""
    cleaned = str(text if text is not None else "").strip()
    if not NUMBER.fullmatch(cleaned):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None


# --- who may do what -------------------------------------------------------------------------

def superiors(session: Session, person: User) -> list[int]:
    """Ids of everybody above `person` in the reporting line (cycle-safe)."""
    found: list[int] = []
    current = person.reports_to_id
    while current is not None and current not in found and current != person.id:
        found.append(current)
        current = session.scalar(select(User.reports_to_id).where(User.id == current)
                                 .execution_options(**UNSCOPED))
    return found


def line_managers() -> list[User]:
    """Whom a person may report to: the company's active employees (the user form's choices)."""
    from models import db

    return list(db.session.scalars(select(User).where(User.role.in_(sorted(EMPLOYEES)), User.active.is_(True))
                                   .order_by(User.username)))


def check_reporting_line(session: Session, person: User) -> None:
    """R-APR-1: a reporting line goes up to a company employee and never comes back round."""
    boss = person.reports_to
    if boss is None:
        return
    if boss.role not in EMPLOYEES:
        raise FieldErrors({"reports_to": _l("Staff report to a company employee, not to a dealer.")})
    if boss is person or (person.id is not None and person.id in [boss.id, *superiors(session, boss)]):
        raise FieldErrors({"reports_to": _l("%(person)s cannot report to %(boss)s: the reporting line would "
                                            "come back to %(person)s.", person=str(person), boss=str(boss))})


def may_score(session: Session, scorer, staff: User | None) -> Verdict:
    """R-APR-1: a manager scores the company's staff, never himself nor anyone he reports to."""
    if staff is None:
        return ALLOWED
    if staff.role not in EMPLOYEES:
        return refuse(_l("Only the company's own staff are appraised here."))
    if staff.id == scorer.id:
        return refuse(_l("Nobody scores their own appraisal: another manager scores yours."))
    if staff.id in superiors(session, scorer):
        return refuse(_l("You report to %(person)s: a manager never scores the person he reports to.",
                         person=str(staff)))
    return ALLOWED


def actions(session: Session, record: AppraisalRecord | None, user, *, staff: User | None = None) -> dict:
    """{score, edit, acknowledge: Verdict} for `user` on `record` (None: a new record, of
    `staff` when chosen)."""
    scoring = role_in(user, MANAGERS)
    if record is None:
        return {"score": first_refusal(scoring, may_score(session, user, staff))}
    own = record.staff_id == getattr(user, "id", None)
    acknowledge = (refuse(_l("Only the person appraised acknowledges the record."), hint=False) if not own
                   else refuse(_l("You acknowledged this record already.")) if record.acknowledged_at
                   else ALLOWED)
    return {"score": first_refusal(scoring, may_score(session, user, record.staff)),
            "edit": first_refusal(scoring, may_score(session, user, record.staff)),
            "acknowledge": acknowledge}


# --- suggestions (issue 14 point 2) --------------------------------------------------------------

def suggestions(session: Session, staff: User | None, kind: str | None, day: date | None) -> dict:
    """{"diligence"|"results": Suggestion} from the person's service record in the record's
    period (backoffice.appraisal_suggestions); empty until a person, kind and day are chosen."""
    if staff is None or kind not in {k.value for k in AppraisalPeriod} or day is None:
        return {}
    from . import appraisal_suggestions  # written alongside; imported when first needed

    start, end = period_of(kind, day)
    return appraisal_suggestions.suggest(session, staff, start, end)


# --- a record's values -----------------------------------------------------------------------

@dataclass
class DeductionDraft:
    dimension: str | None
    points: Decimal | None
    reason: str = ""


@dataclass
class Draft:
    """What the scoring form carries: the person, kind and a day in the period, the scores
    (None: not a number), the deductions (one per form row, empty rows kept so error keys match
    the rows) and what the service record suggested for 勤 and 绩."""

    staff_id: int | None
    period_kind: str | None
    period_day: date | None
    scores: dict = field(default_factory=dict)  # conduct … results, commendation, penalty
    note: str = ""
    deductions: list[DeductionDraft] = field(default_factory=list)
    suggested: dict = field(default_factory=dict)  # diligence/results -> Decimal
    typed: dict = field(default_factory=dict)  # the score fields as typed (empty vs not a number)


def _on_step(value: Decimal, step: Decimal) -> bool:
    return step <= 0 or value % step == 0


def _score_errors(session: Session, draft: Draft) -> dict:
    """R-APR-1: each dimension between 0 and its maximum, in steps of the policy; R-APR-3 a
    commendation of 0 or 1 up to its maximum, a penalty of at most every point a record holds."""
    limits, step, errors = maxima(session), score_step(session), {}
    scores, typed = draft.scores, draft.typed
    for name in (*DIMENSIONS, "commendation", "penalty"):
        value, label = scores.get(name), DIMENSION_LABELS[name]
        if value is None and name in ("commendation", "penalty") and not str(typed.get(name, "")).strip():
            scores[name] = Decimal("0")
            continue
        limit = limits.get(name, sum(limits.values()))
        if value is None:
            errors[name] = _l("%(field)s: give a number such as 18.5.", field=label) if str(
                typed.get(name, "")).strip() else _l("%(field)s is required.", field=label)
        elif name == "penalty" and not (0 <= value <= limit):
            errors[name] = _l("A penalty is a positive number of points to deduct, at most %(max)s.", max=limit)
        elif name != "penalty" and not (0 <= value <= limit):
            errors[name] = _l("%(field)s must be between 0 and %(max)s.", field=label, max=limit)
        elif name == "commendation" and 0 < value < 1:
            errors[name] = _l("A commendation adds 1 to %(max)s points (0: none).", max=limit)
        elif not _on_step(value, step):
            errors[name] = _l("%(field)s: scores go in steps of %(step)s (e.g. 18 or 18.5).",
                              field=label, step=number(step))
    return errors


def _deduction_errors(session: Session, draft: Draft) -> dict:
    """Each deduction names a dimension, positive points in steps, and a reason; a dimension's
    deductions explain at most the points it lost (maximum − score)."""
    limits, step, errors = maxima(session), score_step(session), {}
    lost = {d: limits[d] - draft.scores[d] for d in DIMENSIONS if draft.scores.get(d) is not None}
    itemised = dict.fromkeys(DIMENSIONS, Decimal("0"))
    for i, item in enumerate(draft.deductions):
        if item.dimension is None and item.points is None and not item.reason:
            continue
        if item.dimension not in DIMENSIONS:
            errors[f"deductions-{i}-dimension"] = _l("Choose the dimension the points were deducted from.")
        if item.points is None or item.points <= 0 or not _on_step(item.points, step):
            errors[f"deductions-{i}-points"] = _l("Points deducted: a positive number in steps of %(step)s.",
                                                  step=number(step))
        if not item.reason.strip():
            errors[f"deductions-{i}-reason"] = _l("Say what the points were deducted for.")
        if item.dimension in DIMENSIONS and item.points is not None and item.points > 0:
            itemised[item.dimension] += item.points
    for dimension, points in itemised.items():
        if dimension in lost and points > lost[dimension]:
            errors.setdefault("deductions", _l(
                "%(field)s: the deductions (%(points)s) are more than the points it lost (%(lost)s).",
                field=DIMENSION_LABELS[dimension], points=points, lost=lost[dimension]))
    return errors


def _note_errors(draft: Draft) -> dict:
    """Issue 14 point 2: the manager may change a suggested 勤 or 绩, then says why in the note."""
    changed = [name for name in SUGGESTED if draft.suggested.get(name) is not None
               and draft.scores.get(name) is not None and draft.scores[name] != draft.suggested[name]]
    if changed and not draft.note.strip():
        names = ", ".join(str(DIMENSION_LABELS[name]) for name in changed)
        return {"note": _l("%(fields)s differs from the suggestion: say why in the note.", fields=names)}
    return {}


def validate(session: Session, draft: Draft, staff: User | None) -> None:
    """Every field's rule at once; FieldErrors maps each refused field to its message."""
    errors = {}
    if staff is None:
        errors["staff"] = _l("Choose the person appraised.")
    if draft.period_kind not in {k.value for k in AppraisalPeriod}:
        errors["period_kind"] = _l("Choose the kind of record.")
    if draft.period_day is None:
        errors["period_start"] = _l("Give a day of the period as YYYY-MM-DD.")
    errors.update(_score_errors(session, draft))
    errors.update(_deduction_errors(session, draft))
    errors.update(_note_errors(draft))
    if len([d for d in draft.deductions if d.dimension or d.points or d.reason]) > MAX_DEDUCTIONS:
        errors["deductions"] = _l("At most %(n)s deductions per record.", n=MAX_DEDUCTIONS)
    if errors:
        raise FieldErrors(errors, "; ".join(str(e) for e in errors.values()))


def check_period_free(session: Session, staff_id: int, kind: str, start: date, record_id: int | None = None,
                      staff: User | None = None) -> None:
    """R-APR-1: one record per person, kind and period (the table's unique key too)."""
    stmt = select(AppraisalRecord.id).where(
        AppraisalRecord.staff_id == staff_id, AppraisalRecord.period_kind == kind,
        AppraisalRecord.period_start == start).execution_options(**UNSCOPED)
    if record_id is not None:
        stmt = stmt.where(AppraisalRecord.id != record_id)
    with session.no_autoflush:
        taken = session.scalar(stmt.limit(1))
    if taken is not None:
        raise FieldErrors({"period_start": _taken_message(staff, start)})


def _taken_message(staff: User | None, start: date):
    return _l("%(staff)s already has a record of this kind for the period from %(start)s: edit that record "
              "instead.", staff=str(staff) if staff else "", start=start.isoformat())


def save(session: Session, user, record: AppraisalRecord | None, draft: Draft, *,
         at: datetime | None = None) -> AppraisalRecord:
    """Create (record None) or edit a record from the form's draft, after every rule; the
    caller commits. An edit asks the person to acknowledge again."""
    staff = session.get(User, draft.staff_id) if draft.staff_id else None
    if record is not None:
        staff = record.staff
    require({"role": role_in(user, MANAGERS)}, "role")
    verdict = may_score(session, user, staff)
    if not verdict:  # the person chosen: said next to the field
        raise FieldErrors({"staff": verdict.reason}, verdict.reason)
    validate(session, draft, staff)
    start, _end = period_of(draft.period_kind, draft.period_day)
    check_period_free(session, staff.id, draft.period_kind, start, record.id if record else None, staff)
    with session.no_autoflush:
        record = record or AppraisalRecord(staff=staff)
        if record not in session:
            session.add(record)
        record.period_kind, record.period_start = draft.period_kind, start
        for name in (*DIMENSIONS, "commendation", "penalty"):
            setattr(record, name, draft.scores[name])
        record.note = draft.note.strip()
        record.diligence_suggested = draft.suggested.get("diligence")
        record.results_suggested = draft.suggested.get("results")
        record.deductions = [AppraisalDeduction(dimension=d.dimension, points=d.points, reason=d.reason.strip())
                             for d in draft.deductions if d.dimension and d.points]
        record.scored_by = user
        record.acknowledged_at = None
    try:
        with session.begin_nested():  # a record saved meanwhile by someone else: the same message
            session.flush()
    except IntegrityError as exc:
        raise FieldErrors({"period_start": _taken_message(staff, start)}) from exc
    return record


def acknowledge(session: Session, record: AppraisalRecord, user, *, at: datetime | None = None) -> None:
    """R-APR-1: the person appraised says they have read the record (once per version)."""
    require(actions(session, record, user), "acknowledge")
    record.acknowledged_at = at or utcnow()
    session.flush()


# --- the annual composite (R-APR-2, R-APR-3) ---------------------------------------------------

@dataclass(frozen=True)
class Part:
    key: str  # checks | monthly | year_end
    weight: Decimal
    count: int
    average: Decimal | None  # exact mean of the record totals; None: no record

    @property
    def weighted(self) -> Decimal | None:
        return None if self.average is None else self.weight * self.average


@dataclass(frozen=True)
class Composite:
    staff: User
    year: int
    parts: tuple[Part, ...]
    commendations: Decimal  # points added on the year's records (inside their totals)
    penalties: Decimal  # points deducted on the year's records (inside their totals)
    value: Decimal | None  # rounded to 0.01; None: no record at all
    provisional: bool  # a part is missing: computed from the parts that exist

    @property
    def advanced(self) -> bool:
        """R-APR-3: 先进员工 when the final annual result is still over 100."""
        return not self.provisional and self.value is not None and self.value > HUNDRED

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.parts if p.average is None)

    def part(self, key: str) -> Part:
        return next(p for p in self.parts if p.key == key)


def _mean(values: list[Decimal]) -> Decimal | None:
    return sum(values, Decimal("0")) / len(values) if values else None


def composite_of(staff: User, year: int, records: Iterable[AppraisalRecord], weights: dict) -> Composite:
    """R-APR-2/3 from the year's records (see the module's notes for the decisions)."""
    records = list(records)
    totals = {
        "checks": [r.total for r in records if r.period_kind in CHECKS],
        "monthly": [r.total for r in records if r.period_kind == AppraisalPeriod.MONTHLY],
        "year_end": [r.total for r in records if r.period_kind == AppraisalPeriod.YEAR_END],
    }
    parts = tuple(Part(key, weights[key], len(values), _mean(values)) for key, values in totals.items())
    present = [p for p in parts if p.average is not None]
    value = None
    if present:
        weight = sum((p.weight for p in present), Decimal("0"))
        exact = sum((p.weighted for p in present), Decimal("0"))
        value = (exact if len(present) == len(parts) else exact / weight * sum(weights.values()))
        value = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return Composite(staff, year, parts,
                     commendations=sum((r.commendation or Decimal("0") for r in records), Decimal("0")),
                     penalties=sum((r.penalty or Decimal("0") for r in records), Decimal("0")),
                     value=value, provisional=len(present) < len(parts))


def weights(session: Session) -> dict[str, Decimal]:
    return {key: policy.value(session, name) for key, name in WEIGHT_KEYS.items()}


def records_of_year(session: Session, staff_ids: Iterable[int], year: int) -> list[AppraisalRecord]:
    """The records whose period starts in `year` (read under the user's scope)."""
    return list(session.scalars(
        select(AppraisalRecord).where(AppraisalRecord.staff_id.in_(list(staff_ids)),
                                      extract("year", AppraisalRecord.period_start) == year)
        .options(selectinload(AppraisalRecord.deductions))
        .order_by(AppraisalRecord.period_start, AppraisalRecord.id)))


def annual(session: Session, staff: User, year: int) -> Composite:
    """R-APR-2/3: the person's annual composite for `year`."""
    return composite_of(staff, year, records_of_year(session, [staff.id], year), weights(session))


@dataclass(frozen=True)
class Ranked:
    rank: int | None  # None: no record this year
    composite: Composite


def team(session: Session, viewer, *, role: str | None = None, outlet_id: int | None = None,
         year: int | None = None) -> list[User]:
    """The staff a ranking lists: the company's employees (a role and/or an outlet when given),
    active or appraised that year. Staff other than managers see only themselves (R-APR-1)."""
    if getattr(viewer, "role", None) not in MANAGERS:
        return [viewer] if getattr(viewer, "role", None) in EMPLOYEES else []
    stmt = select(User).where(User.role.in_(sorted(r.value for r in Role if r in EMPLOYEES)))
    if role:
        stmt = stmt.where(User.role == role)
    if outlet_id == 0:
        stmt = stmt.where(User.outlet_id.is_(None))
    elif outlet_id:
        stmt = stmt.where(User.outlet_id == outlet_id)
    people = session.scalars(stmt.order_by(User.username)).all()
    if year is None:
        return [p for p in people if p.active]
    appraised = set(session.scalars(select(AppraisalRecord.staff_id).where(
        extract("year", AppraisalRecord.period_start) == year)).all())
    return [p for p in people if p.active or p.id in appraised]


def ranking(session: Session, people: list[User], year: int) -> list[Ranked]:
    """Each person's composite, best first; equal composites share a rank (1, 2, 2, 4);
    people without a record this year come last, unranked."""
    by_staff: dict[int, list[AppraisalRecord]] = {p.id: [] for p in people}
    for record in records_of_year(session, by_staff, year):
        by_staff[record.staff_id].append(record)
    table = weights(session)
    composites = [composite_of(p, year, by_staff[p.id], table) for p in people]
    scored = sorted((c for c in composites if c.value is not None), key=lambda c: (-c.value, c.staff.username))
    rows, previous, rank = [], None, 0
    for position, composite in enumerate(scored, start=1):
        if composite.value != previous:
            rank, previous = position, composite.value
        rows.append(Ranked(rank, composite))
    rows += [Ranked(None, c) for c in composites if c.value is None]
    return rows


def records_of_month(session: Session, staff: User, month: date) -> list[AppraisalRecord]:
    """The records of the month's register (月绩效考核登记表): those whose period starts in it."""
    start, end = period_of(AppraisalPeriod.MONTHLY, month)
    return list(session.scalars(
        select(AppraisalRecord).where(AppraisalRecord.staff_id == staff.id,
                                      AppraisalRecord.period_start >= start, AppraisalRecord.period_start <= end)
        .options(selectinload(AppraisalRecord.deductions))
        .order_by(AppraisalRecord.period_start, AppraisalRecord.id)))

