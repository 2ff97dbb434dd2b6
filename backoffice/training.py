"""Training (R-APR-6; manuals 000 §六, 001 4.4.4, 003 §八.4).

The center trains its own and the dealer outlets' engineers. An attendee sits the exam; a score at
or above the pass mark (policy `training.pass_mark`) passes and earns the certificate (培训合格证书)
for the course's validity; a failed exam is retaken at a later session of the same course
(补考或重新培训, 003 §八.4). A valid certificate for a product category is the engineer's 上岗证
for it (001 4.4.4: 上岗培训必须经考核合格后方可上岗): dispatching flags an engineer without one.

Services take a session, never commit, and refuse bad input field by field (FieldErrors keyed
`score-<attendee id>`, `retraining-<attendee id>`, `person`). Reads run in the caller's row scope
(backoffice.access: the center all, an engineer their own, a dealer its outlets' people), except
`certified` which answers yes or no for anybody.
"""
from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from models import TrainingAttendee, TrainingCourse, TrainingSession, User, utcnow
from models.choices import ProductCategory

from . import policy
from .access import UNSCOPED
from .errors import FieldErrors
from .months import YEARS
from .permissions import (
    ALLOWED,
    CENTER,
    EMPLOYEES,
    EVERYONE,
    MANAGERS,
    Verdict,
    first_refusal,
    refuse,
    require,
    role_in,
)
from .timezones import local_today

MAX_SCORE = Decimal("100")
SCORE_STEP = Decimal("0.1")  # one decimal place: 59.5 is a score, 59.55 is a typing error
MAX_VALIDITY_MONTHS = 120

NOT_HELD_YET = _l("The session has not taken place yet: results are recorded after the exam.")
NOT_FAILED = _l("Only a failed exam is retaken.")
ALREADY_SCHEDULED = _l("A retraining session is already scheduled.")
NO_ATTENDEES = _l("Nobody attends this session yet.")


# --- who may ------------------------------------------------------------------------------

def actions(session: Session, record: TrainingCourse | TrainingSession | TrainingAttendee | None,
            user: User) -> dict[str, Verdict]:
    """May `user` act on training now, or why not. Managers keep the course catalogue; the
    center's managers and clerks plan sessions, enrol people, record exam results and schedule
    retraining; everybody reads the records their row scope shows (R-APR-6, R-ROLE-1)."""
    center = role_in(user, CENTER)
    if record is None:
        return {"see": role_in(user, EVERYONE), "edit_courses": role_in(user, MANAGERS), "plan": center}
    if isinstance(record, TrainingCourse):
        return {"edit": role_in(user, MANAGERS)}
    if isinstance(record, TrainingSession):
        held = _unless(record.held_on is not None and record.held_on <= local_today(), NOT_HELD_YET)
        someone = _unless(bool(record.attendees), NO_ATTENDEES, hint=False)
        return {"record": first_refusal(center, held, someone), "enrol": center, "edit": center}
    failed = _unless(record.passed is False, NOT_FAILED, hint=False)
    open_ = _unless(record.retraining_session_id is None, ALREADY_SCHEDULED, hint=False)
    return {"schedule_retraining": first_refusal(center, failed, open_)}


def _unless(condition: bool, reason, *, hint: bool = True) -> Verdict:
    """Allowed when `condition` holds, else refused for `reason`."""
    return ALLOWED if condition else refuse(reason, hint=hint)


# --- input --------------------------------------------------------------------------------

def parse_score(text) -> Decimal | None:
    """An exam score as typed: blank is "not examined"; else 0–100 with one decimal place at most,
    kept exactly (never rounded). Raises ValueError with the message the user reads."""
    typed = str(text if text is not None else "").strip()
    if not typed:
        return None
    try:
        score = Decimal(typed) if len(typed) <= 12 else None
    except InvalidOperation:
        score = None
    if score is None or not score.is_finite():
        raise ValueError(_l("Type the exam score as a number from 0 to 100."))
    if not Decimal("0") <= score <= MAX_SCORE:
        raise ValueError(_l("An exam score is between 0 and 100."))
    if score != score.quantize(SCORE_STEP):
        raise ValueError(_l("An exam score has at most one decimal place."))
    return score


def validate_course(session: Session, course: TrainingCourse) -> None:
    """Code and name given, the code unused, a known category or none, validity 1–120 months."""
    errors = {}
    if not (course.code or "").strip():
        errors["code"] = _l("Give the course a code.")
    elif _code_taken(session, course):
        errors["code"] = _l("Another course has this code.")
    if not (course.name or "").strip():
        errors["name"] = _l("Give the course a name.")
    if course.category not in (None, *[c.value for c in ProductCategory]):
        errors["category"] = _l("Choose a product category, or none for a general course.")
    months = course.validity_months
    if months is None or not 1 <= months <= MAX_VALIDITY_MONTHS:
        errors["validity_months"] = _l("A certificate is valid for 1 to %(max)d months.", max=MAX_VALIDITY_MONTHS)
    if errors:
        raise FieldErrors(errors)


def _code_taken(session: Session, course: TrainingCourse) -> bool:
    stmt = select(TrainingCourse.id).where(TrainingCourse.code == course.code.strip())
    if course.id is not None:
        stmt = stmt.where(TrainingCourse.id != course.id)
    with session.no_autoflush:
        return session.scalar(stmt.limit(1)) is not None


def validate_session(training_session: TrainingSession) -> None:
    """A course, a date within the calendar the service knows, a place and a trainer."""
    errors = {}
    if training_session.course is None and training_session.course_id is None:
        errors["course"] = _l("Choose the course.")
    if training_session.held_on is None or training_session.held_on.year not in YEARS:
        errors["held_on"] = _l("Give the date of the session.")
    if not (training_session.place or "").strip():
        errors["place"] = _l("Say where the session takes place.")
    if not (training_session.trainer or "").strip():
        errors["trainer"] = _l("Name the trainer.")
    if errors:
        raise FieldErrors(errors)


# --- recording ----------------------------------------------------------------------------

def enrol(session: Session, training_session: TrainingSession, user: User, person_id) -> TrainingAttendee:
    """Put an employee (the center's staff or an outlet's engineer, not a dealer's account) on
    the session's list."""
    require(actions(session, training_session, user), "enrol")
    person = _person(session, person_id)
    if person is None:
        raise FieldErrors({"person": _l("Choose an active employee or engineer.")})
    if any(a.person_id == person.id for a in training_session.attendees):
        raise FieldErrors({"person": _l("%(name)s is already on this session's list.", name=_name(person))})
    return _add_attendee(session, training_session, person)


def _person(session: Session, person_id) -> User | None:
    text = str(person_id or "").strip()
    if not (text.isascii() and text.isdecimal()) or len(text) > 18:
        return None
    person = session.get(User, int(text))
    if person is None or not person.active or person.role not in EMPLOYEES:
        return None
    return person


def _add_attendee(session: Session, training_session: TrainingSession, person: User) -> TrainingAttendee:
    attendee = TrainingAttendee(session=training_session, person=person)
    session.add(attendee)
    session.flush()
    return attendee


def record_results(session: Session, training_session: TrainingSession, user: User,
                   scores: Mapping[int, str]) -> list[TrainingAttendee]:
    """The exam results of a session, typed per attendee (`scores`: attendee id → text). A blank
    leaves that attendee as they were. Every score is checked before any is kept; a pass issues
    the certificate (number and last valid day), a fail withdraws one a corrected score had
    issued. Returns the attendees whose result was set."""
    require(actions(session, training_session, user), "record")
    typed, errors = {}, {}
    for attendee in training_session.attendees:
        try:
            score = parse_score(scores.get(attendee.id))
        except ValueError as exc:
            errors[f"score-{attendee.id}"] = exc.args[0]
            continue
        if score is not None:
            typed[attendee] = score
    if errors:
        raise FieldErrors(errors)
    pass_mark = policy.value(session, "training.pass_mark")
    for attendee, score in typed.items():
        _set_result(attendee, score, pass_mark, user)
    if typed:
        training_session.results_recorded_at = utcnow()  # also turns the version: a second typist is refused
        training_session.results_recorded_by = user
    session.flush()
    return list(typed)


def _set_result(attendee: TrainingAttendee, score: Decimal, pass_mark: Decimal, user: User) -> None:
    """003 §八.4: 考核合格 → 颁发培训合格证书; otherwise no certificate from this session."""
    attendee.score, attendee.scored_by = score, user
    attendee.passed = score >= pass_mark
    if attendee.passed:
        held = attendee.session.held_on
        attendee.certificate_no = attendee.certificate_no or certificate_number(attendee)
        attendee.valid_until = valid_until(held, attendee.session.course.validity_months)
    else:
        attendee.certificate_no = attendee.valid_until = None


def certificate_number(attendee: TrainingAttendee) -> str:
    """GWH-01-20261115-0012: the course, the exam's date and the attendance (unique)."""
    return f"{attendee.session.course.code}-{attendee.session.held_on:%Y%m%d}-{attendee.id:04d}"


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the month's last day when it has no such day (31 Jan → 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def valid_until(held_on: date, months: int) -> date:
    """The certificate's last valid day: `months` after the exam, less a day (an exam on
    2026-03-15 with 12 months → valid through 2027-03-14)."""
    return add_months(held_on, months) - timedelta(days=1)


def schedule_retraining(session: Session, attendee: TrainingAttendee, user: User, later_session_id) -> TrainingSession:
    """A failed attendee retakes the course at a later session of it (003 §八.4); they are put on
    that session's list."""
    require(actions(session, attendee, user), "schedule_retraining")
    later = _later_session(session, attendee, later_session_id)
    if later is None:
        raise FieldErrors({f"retraining-{attendee.id}": _l("Choose a later session of the same course.")})
    attendee.retraining_session = later
    if not any(a.person_id == attendee.person_id for a in later.attendees):
        _add_attendee(session, later, attendee.person)
    session.flush()
    return later


def _later_session(session: Session, attendee: TrainingAttendee, session_id) -> TrainingSession | None:
    text = str(session_id or "").strip()
    if not (text.isascii() and text.isdecimal()) or len(text) > 18:
        return None
    later = session.get(TrainingSession, int(text))
    failed = attendee.session
    if later is None or later.course_id != failed.course_id or later.held_on <= failed.held_on:
        return None
    return later


def later_sessions(session: Session, attendee: TrainingAttendee) -> list[TrainingSession]:
    """Where a failed attendee may retrain: later sessions of the same course."""
    failed = attendee.session
    return list(session.scalars(select(TrainingSession).where(
        TrainingSession.course_id == failed.course_id, TrainingSession.held_on > failed.held_on)
        .order_by(TrainingSession.held_on, TrainingSession.id)))


# --- reading ------------------------------------------------------------------------------

def certified(session: Session, user_id: int, category: str, on: date) -> bool:
    """Does the person hold a certificate for the product category valid on day `on` (the exam's
    day through its last valid day, both included)? Answered for anybody, whatever the row scope."""
    return user_id in certified_among(session, [user_id], category, on)


def certified_among(session: Session, user_ids: Iterable[int], category: str | None, on: date) -> set[int]:
    """Those of `user_ids` holding a valid certificate for `category` on `on` (one query)."""
    ids = sorted(set(user_ids))
    if not ids or not category:
        return set()
    stmt = (select(TrainingAttendee.person_id)
            .join(TrainingSession, TrainingAttendee.session_id == TrainingSession.id)
            .join(TrainingCourse, TrainingSession.course_id == TrainingCourse.id)
            .where(TrainingAttendee.person_id.in_(ids), TrainingAttendee.passed.is_(True),
                   TrainingCourse.category == category, TrainingSession.held_on <= on,
                   TrainingAttendee.valid_until >= on)
            .execution_options(**UNSCOPED))
    return set(session.scalars(stmt))


def requires_certificate(session: Session, category: str | None) -> bool:
    """A product category needs a 上岗证 once the center runs an active course qualifying for it;
    without such a course there is nothing an engineer could hold, and nobody is flagged."""
    if not category:
        return False
    stmt = select(TrainingCourse.id).where(TrainingCourse.category == category, TrainingCourse.active.is_(True))
    return session.scalar(stmt.execution_options(**UNSCOPED).limit(1)) is not None


def results_for(session: Session, user_id: int, start: date, end: date) -> list[TrainingAttendee]:
    """The person's attendances at sessions held from `start` to `end` (local dates, both
    included), oldest first, with their session and course loaded: what the appraisal shows
    (R-APR-6: results feed appraisal). Under the caller's row scope."""
    stmt = (select(TrainingAttendee).join(TrainingAttendee.session)
            .options(joinedload(TrainingAttendee.session).joinedload(TrainingSession.course),
                     joinedload(TrainingAttendee.retraining_session))
            .where(TrainingAttendee.person_id == user_id, TrainingSession.held_on >= start,
                   TrainingSession.held_on <= end)
            .order_by(TrainingSession.held_on, TrainingAttendee.id))
    return list(session.scalars(stmt).unique())


@dataclass(frozen=True)
class Due:
    """A person who must (re)train for a course: their last exam failed, or their certificate
    has run out or runs out within the policy's window. `record` is that last attendance."""

    record: TrainingAttendee
    reason: str  # "failed", "expired", "expiring"
    since: date  # the failed exam's day, or the certificate's last valid day

    @property
    def retraining(self) -> TrainingSession | None:
        return self.record.retraining_session


DUE_REASONS = {"failed": _l("Failed the exam"), "expired": _l("Certificate expired"),
               "expiring": _l("Certificate expiring")}


def due_for_retraining(session: Session, today: date) -> list[Due]:
    """Who must (re)train, under the caller's row scope: per active person and active course, the
    latest examined attendance; listed when it failed (with the retraining session if one is
    scheduled) or when its certificate ended before `today` or ends within
    `training.expiring_within_days`. A later pass of the course clears the line."""
    window = today + timedelta(days=int(policy.value(session, "training.expiring_within_days")))
    latest: dict[tuple[int, int], TrainingAttendee] = {}
    for attendee in _examined(session):
        latest[(attendee.person_id, attendee.session.course_id)] = attendee  # oldest first: the last wins
    due = [_due(attendee, today, window) for attendee in latest.values()]
    return sorted((d for d in due if d is not None), key=lambda d: (d.since, d.record.id))


def _examined(session: Session) -> list[TrainingAttendee]:
    stmt = (select(TrainingAttendee).join(TrainingAttendee.session).join(TrainingSession.course)
            .join(TrainingAttendee.person)
            .options(joinedload(TrainingAttendee.session).joinedload(TrainingSession.course),
                     joinedload(TrainingAttendee.person).joinedload(User.outlet),
                     joinedload(TrainingAttendee.retraining_session))
            .where(TrainingAttendee.passed.is_not(None), TrainingCourse.active.is_(True), User.active.is_(True))
            .order_by(TrainingSession.held_on, TrainingAttendee.id))
    return list(session.scalars(stmt).unique())


def _due(attendee: TrainingAttendee, today: date, window: date) -> Due | None:
    if not attendee.passed:
        return Due(attendee, "failed", attendee.session.held_on)
    if attendee.valid_until < today:
        return Due(attendee, "expired", attendee.valid_until)
    if attendee.valid_until <= window:
        return Due(attendee, "expiring", attendee.valid_until)
    return None


def _name(person: User) -> str:
    return person.full_name or person.username
