"""Training screens (R-APR-6): the course catalogue (managers), sessions with their attendees and the
exam results form (the center), everyone's training records under the row scope ("my training"
for staff and engineers), and who is due for retraining. The rules are in backoffice.training."""
from __future__ import annotations

from flask import g, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from backoffice import policy, training
from backoffice.errors import DomainError
from backoffice.labels import choices, label, number
from backoffice.permissions import CENTER, DESK, EMPLOYEES, EVERYONE, MANAGERS, why_not
from backoffice.timezones import local_today
from models import TrainingAttendee, TrainingCourse, TrainingSession, User, db
from models.choices import ProductCategory

from .actions import run_action
from .base import ChoiceFilter, SecureModelView, parse_id, role_in
from .fields import LABELS, time_formatter

COURSE_LABELS = dict(LABELS, code=_l("Course code"), name=_l("Course"),
                     category=_l("Qualifies for (product category)"),
                     validity_months=_l("Certificate valid (months)"))
SESSION_LABELS = dict(LABELS, course=_l("Course"), held_on=_l("Date"), place=_l("Place"), trainer=_l("Trainer"),
                      attendees=_l("Attendees"), results_recorded_at=_l("Results recorded"),
                      results_recorded_by=_l("Recorded by"),
                      **{"course.name": _l("Course"), "course.code": _l("Course code")})
RECORD_LABELS = dict(LABELS, person=_l("Person"), outlet=LABELS["outlet"], course=_l("Course"), held_on=_l("Date"),
                     score=_l("Exam score"), result=_l("Result"), certificate_no=_l("Certificate no."),
                     valid_until=_l("Valid until"), retraining_session=_l("Retraining"),
                     **{"person.full_name": LABELS["full_name"], "person.username": _l("Username")})


def category_text(value) -> str:
    return label(ProductCategory, value) if value else str(_l("General (no product category)"))


def result_text(record: TrainingAttendee) -> str:
    if record.passed is None:
        return str(_l("Not examined"))
    return str(_l("Passed") if record.passed else _l("Failed"))


def result_badge(view, context, model, name):
    css = "secondary" if model.passed is None else ("success" if model.passed else "danger")
    return Markup(f'<span class="badge badge-{css}">{escape(result_text(model))}</span>')


def outlet_of(person: User) -> str:
    return person.outlet.name if person.outlet is not None else _("Service center")


class TrainingCourseView(SecureModelView):
    """Courses: a course qualifying for a product category gives its 上岗证 (manual 001 4.4.4)."""

    roles = CENTER
    create_roles = edit_roles = MANAGERS
    export_roles = CENTER
    column_list = ("code", "name", "category", "validity_months", "active")
    column_details_list = (*column_list, "note", "created_at", "updated_at")
    column_labels = COURSE_LABELS
    column_formatters = {"category": lambda v, c, m, n: category_text(m.category),
                         "created_at": time_formatter, "updated_at": time_formatter}
    column_formatters_export = {"category": lambda v, c, m, n: category_text(m.category)}
    column_searchable_list = ("code", "name")
    column_sortable_list = ("code", "name", "validity_months")
    column_default_sort = [("code", False)]
    form_columns = ("code", "name", "category", "validity_months", "active", "note")
    form_choices = {"category": choices(ProductCategory)}
    form_args = {"category": {"description": _l("Blank for a general course (service manners …): it qualifies "
                                                "for no product category.")}}

    def create_form(self, obj=None):
        return self._describe(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._describe(super().edit_form(obj))

    def _describe(self, form):
        form.validity_months.description = f"1 – {training.MAX_VALIDITY_MONTHS}"
        return form

    def on_model_change(self, form, model, is_created):
        model.code = (model.code or "").strip()
        model.category = model.category or None
        training.validate_course(db.session, model)


class TrainingSessionView(SecureModelView):
    """Sessions: planned and run by the center; the details page takes the exam results."""

    roles = create_roles = edit_roles = export_roles = CENTER
    details_template = "admin/training_session_details.html"
    column_list = ("held_on", "course", "place", "trainer", "attendees", "results_recorded_at")
    column_details_list = ("course", "held_on", "place", "trainer", "note", "results_recorded_at",
                           "results_recorded_by")
    column_labels = SESSION_LABELS
    column_formatters = {"attendees": lambda v, c, m, n: len(m.attendees),
                         "results_recorded_at": time_formatter}
    column_formatters_export = column_formatters
    column_searchable_list = ("place", "trainer", "course.name", "course.code")
    column_sortable_list = ("held_on", "place", ("course", "course.code"))
    column_default_sort = [("held_on", True), ("id", True)]
    form_columns = ("course", "held_on", "place", "trainer", "note")
    form_args = {"course": {"query_factory": lambda: db.session.scalars(
        select(TrainingCourse).where(TrainingCourse.active.is_(True)).order_by(TrainingCourse.code))}}

    def get_query(self):
        return super().get_query().options(joinedload(TrainingSession.course), selectinload(TrainingSession.attendees))

    def on_model_change(self, form, model, is_created):
        training.validate_session(model)

    @expose("/results/", methods=("POST",))
    def results_view(self):
        """Exam scores per attendee (R-APR-6): a pass issues the certificate, a fail may retrain."""
        scores = {attendee_id: value for key, value in request.form.items()
                  if key.startswith("score-") and (attendee_id := parse_id(key.removeprefix("score-"))) is not None}
        return run_action(self, lambda found: training.record_results(db.session, found, _user(), scores),
                          lambda done: _("Results saved: %(n)d.", n=len(done)), "results")

    @expose("/enrol/", methods=("POST",))
    def enrol_view(self):
        return run_action(self, lambda found: training.enrol(db.session, found, _user(), request.form.get("person")),
                          lambda added: _("%(name)s is on the list.", name=added.person.full_name
                                          or added.person.username), "enrol")

    @expose("/retraining/", methods=("POST",))
    def retraining_view(self):
        """A failed attendee (named by the form) retrains at a later session of the course."""
        def schedule(found):
            attendee = next((a for a in found.attendees if a.id == parse_id(request.form.get("attendee"))), None)
            if attendee is None:
                raise DomainError(_("That attendee is not on this session's list."))
            return training.schedule_retraining(db.session, attendee, _user(),
                                                request.form.get(f"retraining-{attendee.id}"))
        return run_action(self, schedule, lambda later: _("Retraining scheduled on %(day)s.",
                                                          day=later.held_on.isoformat()), "retraining")

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            found = kwargs["model"]
            user = _user()
            verdicts = training.actions(db.session, found, user)
            enrolled = {a.person_id for a in found.attendees}
            kwargs.update(
                failure=g.get("action_failure") or {}, actions=verdicts, why_not=why_not(verdicts),
                pass_mark=number(policy.value(db.session, "training.pass_mark")),
                result_text=result_text, outlet_of=outlet_of, category_text=category_text,
                retrain={a.id: (training.actions(db.session, a, user)["schedule_retraining"],
                                training.later_sessions(db.session, a)) for a in found.attendees if a.passed is False},
                candidates=[u for u in _employees() if u.id not in enrolled] if verdicts["enrol"] else [])
        return super().render(template, **kwargs)


def _employees() -> list[User]:
    """Who may be enrolled: active staff of the center and engineers of every outlet."""
    return list(db.session.scalars(select(User).options(joinedload(User.outlet))
                                   .where(User.active.is_(True), User.role.in_(sorted(EMPLOYEES)))
                                   .order_by(User.outlet_id.is_not(None), User.outlet_id, User.full_name)))


class TrainingRecordView(SecureModelView):
    """Training records under the row scope: the center all, an engineer their own, a dealer its
    outlets' people (backoffice.access). Read-only: results are typed on the session's page."""

    roles = EVERYONE
    export_roles = DESK
    can_view_details = False
    column_list = ("person", "outlet", "course", "held_on", "score", "result", "certificate_no", "valid_until",
                   "retraining_session")
    column_labels = RECORD_LABELS
    column_formatters = {
        "person": lambda v, c, m, n: m.person.full_name or m.person.username,
        "outlet": lambda v, c, m, n: outlet_of(m.person),
        "course": lambda v, c, m, n: m.session.course.name,
        "held_on": lambda v, c, m, n: m.session.held_on.isoformat(),
        "score": lambda v, c, m, n: "" if m.score is None else number(m.score),
        "result": result_badge,
        "retraining_session": lambda v, c, m, n: m.retraining_session.held_on.isoformat()
        if m.retraining_session is not None else "",
    }
    column_formatters_export = dict(column_formatters, result=lambda v, c, m, n: result_text(m))
    column_searchable_list = ("certificate_no", "person.full_name", "person.username")
    column_sortable_list = ("valid_until", "score", ("held_on", "session.held_on"))
    column_default_sort = [("id", True)]

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ChoiceFilter(TrainingAttendee.id, _l("Whose"), {"mine": _mine}, {"mine": _l("My training")}),
            ChoiceFilter(TrainingAttendee.passed, RECORD_LABELS["result"],
                         {"passed": lambda: TrainingAttendee.passed.is_(True),
                          "failed": lambda: TrainingAttendee.passed.is_(False)},
                         {"passed": _l("Passed"), "failed": _l("Failed")}),
        )
        super().__init__(*args, **kwargs)

    def get_query(self):
        return super().get_query().options(
            joinedload(TrainingAttendee.person).joinedload(User.outlet),
            joinedload(TrainingAttendee.session).joinedload(TrainingSession.course),
            joinedload(TrainingAttendee.retraining_session))

    def mine_url(self) -> str:
        return f"{self.url}/?flt0_0=mine"


def _mine():
    return TrainingAttendee.person_id == current_user.id


class TrainingDueView(BaseView):
    """Who must (re)train: failed exams, certificates expired or expiring (R-APR-6), under the
    row scope."""

    def is_accessible(self):
        return role_in(EVERYONE)

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path))

    @expose("/")
    def index(self):
        today = local_today()
        return self.render("admin/training_due.html", due=training.due_for_retraining(db.session, today),
                           today=today, reasons=training.DUE_REASONS, outlet_of=outlet_of,
                           within=number(policy.value(db.session, "training.expiring_within_days")),
                           may_plan=role_in(CENTER))


def _user():
    return current_user._get_current_object()


def register(admin, category) -> None:
    """The training screens under the staff menu (views/__init__.py)."""
    from .menu import RoleMenuLink

    admin.add_view(TrainingCourseView(TrainingCourse, _l("Training courses"), category=category,
                                      endpoint="training_course"))
    admin.add_view(TrainingSessionView(TrainingSession, _l("Training sessions"), category=category,
                                       endpoint="training_session"))
    records = TrainingRecordView(TrainingAttendee, _l("Training records"), category=category,
                                 endpoint="training_record")
    admin.add_view(records)
    admin.add_menu_item(RoleMenuLink(_l("My training"), EMPLOYEES, url=records.mine_url()),
                        target_category=category)
    admin.add_view(TrainingDueView(_l("Due for retraining"), category=category, endpoint="training_due",
                                   url="/admin/training_due"))
