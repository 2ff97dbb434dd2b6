"""Staff appraisal (R-APR-1..3): managers score records on their own form (suggested 勤/绩
from the service record, itemised deductions), staff read and acknowledge their own, and the
ranking screen shows each person's annual composite with its parts, printable and exported.
Rules live in backoffice.appraisal."""
from __future__ import annotations

import csv
import io

from flask import abort, current_app, flash, redirect, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select

from backoffice import appraisal, training
from backoffice.errors import DomainError, FieldErrors
from backoffice.labels import choices, label, number
from backoffice.months import parse_day, parse_month
from backoffice.permissions import EMPLOYEES, MANAGERS, why_not
from backoffice.timezones import local_today
from models import AppraisalRecord, Outlet, User, db
from models.choices import AppraisalDimension, AppraisalPeriod, Role

from . import exports
from .actions import run_action
from .base import RolePage, SecureModelView, parse_id, role_in
from .fields import LABELS, enum_formatter, time_formatter

SCORE_FIELDS = (*appraisal.DIMENSIONS, "commendation", "penalty")
PART_LABELS = {"checks": _l("Weekly and monthly checks"), "monthly": _l("Monthly appraisals"),
               "year_end": _l("Year-end appraisal")}
SPARE_ROWS = 3
KINDS = {k.value for k in AppraisalPeriod}


def score_formatter(view, context, model, name):
    value = getattr(model, name)
    return number(value) if value is not None else ""


def acknowledged_formatter(view, context, model, name):
    if model.acknowledged_at is None:
        return Markup(f'<span class="badge badge-light">{escape(_("Not yet"))}</span>')
    return time_formatter(view, context, model, name)


def staff_choices():
    """The company's active staff a manager may choose (dealers are not appraised here)."""
    return db.session.scalars(select(User).where(User.role.in_(sorted(EMPLOYEES)), User.active.is_(True))
                              .order_by(User.username)).all()


def typed_of(record: AppraisalRecord | None) -> dict:
    """The form's values of a saved record (edit) or a new one's defaults."""
    if record is None:
        values = {"staff": request.args.get("staff", ""), "period_kind": request.args.get(
            "period_kind", AppraisalPeriod.MONTHLY.value), "period_start": request.args.get(
            "period_start", local_today().isoformat()), "commendation": "0", "penalty": "0", "note": ""}
        return values
    values = {"staff": str(record.staff_id), "period_kind": record.period_kind,
              "period_start": record.period_start.isoformat(), "note": record.note or ""}
    values.update({name: number(getattr(record, name)) for name in SCORE_FIELDS})
    for i, item in enumerate(record.deductions):
        values.update({f"deductions-{i}-dimension": item.dimension, f"deductions-{i}-points": number(item.points),
                       f"deductions-{i}-reason": item.reason})
    return values


def deduction_rows(form) -> int:
    """How many deduction rows the posted form carried (their keys deductions-<n>-…)."""
    numbers = [parse_id(key.split("-")[1]) for key in form if key.startswith("deductions-") and key.count("-") == 2]
    return min(max([n + 1 for n in numbers if n is not None] + [0]), appraisal.MAX_DEDUCTIONS + 1)


def read_draft(form) -> appraisal.Draft:
    deductions = []
    for i in range(deduction_rows(form)):
        points = form.get(f"deductions-{i}-points", "").strip()
        deductions.append(appraisal.DeductionDraft(
            form.get(f"deductions-{i}-dimension") or None,
            appraisal.read_score(points) if points else None, form.get(f"deductions-{i}-reason", "")[:300]))
    return appraisal.Draft(
        staff_id=parse_id(form.get("staff")), period_kind=form.get("period_kind") or None,
        period_day=parse_day(form.get("period_start", "").strip()),
        scores={name: appraisal.read_score(form.get(name)) for name in SCORE_FIELDS},
        typed={name: form.get(name, "") for name in SCORE_FIELDS},
        note=form.get("note", "")[:4000], deductions=deductions)


class AppraisalView(SecureModelView):
    roles = EMPLOYEES
    create_roles = edit_roles = delete_roles = export_roles = MANAGERS
    details_template = "admin/appraisal_details.html"
    column_list = ("staff", "period_kind", "period_start", "conduct", "diligence", "ability",
                   "results", "commendation", "penalty", "total", "scored_by", "acknowledged_at")
    column_details_list = (*column_list, "note", "created_at")
    column_export_list = (*column_list, "note")
    column_sortable_list = ("period_start", "period_kind", ("staff", "staff.username"))
    column_default_sort = [("period_start", True), ("id", True)]
    column_searchable_list = ("staff.username", "staff.full_name")
    column_labels = dict(LABELS, acknowledged_at=_l("Acknowledged"))
    column_formatters = {"period_kind": enum_formatter(AppraisalPeriod), "created_at": time_formatter,
                         "acknowledged_at": acknowledged_formatter,
                         **dict.fromkeys((*SCORE_FIELDS, "total"), score_formatter)}
    column_formatters_export = {"period_kind": enum_formatter(AppraisalPeriod), "acknowledged_at": time_formatter,
                                **dict.fromkeys((*SCORE_FIELDS, "total"), score_formatter)}
    column_filters = ("period_kind", "period_start")

    # --- the scoring form (create and edit): the same page -------------------------------------
    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        if not self.can_create:
            self._refuse()
        return self._scoring_form(None)

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        if not self.can_edit:
            self._refuse(request.args.get("id"))
        return self._scoring_form(self.get_one(request.args.get("id", "")))

    def _scoring_form(self, record: AppraisalRecord | None):
        user = current_user._get_current_object()
        typed = dict(request.form) if request.method == "POST" else typed_of(record)
        errors: dict = {}
        draft = read_draft(typed)
        staff = record.staff if record else (db.session.get(User, draft.staff_id) if draft.staff_id else None)
        suggested = appraisal.suggestions(db.session, staff, draft.period_kind, draft.period_day)
        asked = staff is not None and draft.period_day is not None and draft.period_kind in KINDS
        use = request.form.get("use") if request.method == "POST" else None
        if use in suggested:  # "use suggestion": the value goes into the field, nothing is saved yet
            typed[use] = number(suggested[use].value)
        elif request.method == "POST" and use is None:
            draft.suggested = {name: s.value for name, s in suggested.items()}
            try:
                saved = appraisal.save(db.session, user, record, draft)
                db.session.commit()
                flash(_("Appraisal of %(staff)s saved.", staff=str(saved.staff)), "success")
                return redirect(self.get_url(".details_view", id=saved.id))
            except FieldErrors as exc:
                errors = exc.errors
            except DomainError as exc:
                flash(str(exc.message), "error")
            db.session.rollback()
            if errors:
                flash(_("Not saved: check the marked fields."), "error")
        verdict = appraisal.actions(db.session, record, user, staff=staff)["score"]
        return self.render(
            "admin/appraisal_form.html", record=record, typed=typed, errors=errors, suggested=suggested,
            staff_options=staff_choices() if record is None else [record.staff],
            kinds=choices(AppraisalPeriod), dimensions=choices(AppraisalDimension),
            maxima=appraisal.maxima(db.session), step=number(appraisal.score_step(db.session)),
            labels=appraisal.DIMENSION_LABELS, refused=None if verdict else verdict.reason, shown=number,
            asked=asked, period=appraisal.period_of(draft.period_kind, draft.period_day) if asked else None,
            rows=range(min(draft_rows(typed) + SPARE_ROWS, appraisal.MAX_DEDUCTIONS)))

    # --- details and the acknowledgement ------------------------------------------------------------
    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            found = kwargs["model"]
            actions = appraisal.actions(db.session, found, current_user._get_current_object())
            period = appraisal.period_of(found.period_kind, found.period_start)
            kwargs.update(actions=actions, why_not=why_not(actions), maxima=appraisal.maxima(db.session),
                          labels=appraisal.DIMENSION_LABELS, kind_name=label(AppraisalPeriod, found.period_kind),
                          period=period,
                          dimension_name=lambda v: label(AppraisalDimension, v), shown=number,
                          training_results=training.results_for(db.session, found.staff_id, *period))
        return super().render(template, **kwargs)

    @expose("/acknowledge/", methods=("POST",))
    def acknowledge_view(self):
        user = current_user._get_current_object()
        return run_action(self, lambda found: appraisal.acknowledge(db.session, found, user),
                          _("You acknowledged the appraisal."), "acknowledge")

    def on_model_delete(self, model):
        """A record is removed by whoever may edit it (never one's own or one's manager's)."""
        verdict = appraisal.actions(db.session, model, current_user._get_current_object())["edit"]
        if not verdict:
            raise DomainError(verdict.reason)


def draft_rows(typed) -> int:
    """Rows the form must show again: up to the last one with something typed in it."""
    parts = ("dimension", "points", "reason")
    filled = [i for i in range(deduction_rows(typed))
              if any(str(typed.get(f"deductions-{i}-{part}", "")).strip() for part in parts)]
    return min(max(filled, default=-1) + 1, appraisal.MAX_DEDUCTIONS)


# --- the ranking screen (R-APR-2, R-APR-3) ------------------------------------------------------------

def outlet_options():
    """Outlets where employees work, plus the service center's own staff (no outlet)."""
    used = select(User.outlet_id).where(User.role.in_(sorted(EMPLOYEES)), User.outlet_id.is_not(None))
    outlets = db.session.scalars(select(Outlet).where(Outlet.id.in_(used)).order_by(Outlet.code)).all()
    return [("0", _("Service center")), *((str(o.id), f"{o.name} ({o.code})") for o in outlets)]


def read_year(text) -> int:
    year = parse_id(text)
    return year if year and 2000 <= year <= 2100 else local_today().year


def part_cell(part) -> str:
    return "" if part.average is None else f"{part.average:.2f}"


class AppraisalRankingView(RolePage):
    """Per year and team: each person's parts, composite, rank and 先进员工; a person's
    月/年绩效考核登记表 to print; CSV and XLSX."""
    roles = EMPLOYEES

    def _ranking(self):
        user = current_user._get_current_object()
        year = read_year(request.args.get("year"))
        role = request.args.get("role") or None
        role = role if role in {r.value for r in Role if r in EMPLOYEES} else None
        outlet_text = request.args.get("outlet", "")
        outlet_id = 0 if outlet_text == "0" else parse_id(outlet_text)
        people = appraisal.team(db.session, user, role=role, outlet_id=outlet_id, year=year)
        return year, role, outlet_text, appraisal.ranking(db.session, people, year)

    @expose("/")
    def index(self):
        year, role, outlet, rows = self._ranking()
        managers = role_in(MANAGERS)
        return self.render("admin/appraisal_ranking.html", year=year, role=role or "", outlet=outlet, rows=rows,
                           years=range(local_today().year, local_today().year - 5, -1), managers=managers,
                           roles=[(v, t) for v, t in choices(Role) if v in {r.value for r in EMPLOYEES}],
                           outlets=outlet_options() if managers else [], part_labels=PART_LABELS,
                           role_name=lambda v: label(Role, v), weights=appraisal.weights(db.session),
                           percent=lambda w: number(w * 100), shown=number)

    def _table(self, rows) -> list[list]:
        head = [_("Rank"), _("Staff"), _("Role"), *(str(PART_LABELS[k]) for k in PART_LABELS),
                _("Commendations"), _("Penalties"), _("Annual composite"), _("Provisional"), _("Advanced employee")]
        body = [[row.rank or "", str(c.staff), label(Role, c.staff.role),
                 *(part_cell(c.part(k)) for k in PART_LABELS), number(c.commendations), number(c.penalties),
                 "" if c.value is None else f"{c.value:.2f}", _("yes") if c.provisional else "",
                 _("Advanced employee") if c.advanced else ""]
                for row in rows for c in [row.composite]]
        return [head, *([exports.safe_cell(cell) for cell in line] for line in body)]

    @expose("/export/<kind>/")
    def export(self, kind):
        if kind not in ("csv", "xlsx"):
            abort(404)
        year, _role, _outlet, rows = self._ranking()
        table = self._table(rows)
        title = _("Annual appraisal ranking")  # outside the f-string: pybabel reads it there
        name = f"{title}_{year}_{exports.stamp()}.{kind}"
        if kind == "csv":
            buffer = io.StringIO()
            csv.writer(buffer).writerows(table)
            data, mimetype = (exports.BOM + buffer.getvalue()).encode(), "text/csv"
        else:
            data = exports.report_xlsx([exports.Table(str(year), table[0], table[1:])])
            mimetype = exports.XLSX_MIMETYPE
        response = current_app.response_class(data, mimetype=mimetype)
        response.headers["Content-Disposition"] = exports.attachment(name, f"appraisal_ranking_{year}.{kind}")
        return response

    @expose("/print/")
    def print_view(self):
        """月/年绩效考核登记表 of one person: a month (?month=YYYY-MM) or a year (?year=YYYY)."""
        user = current_user._get_current_object()
        staff_id = parse_id(request.args.get("staff"))
        staff = db.session.get(User, staff_id) if staff_id else None
        if staff is None or staff.role not in EMPLOYEES:
            abort(404)
        if user.role not in MANAGERS and staff.id != user.id:  # R-APR-1: nothing of colleagues'
            abort(404)
        month = parse_month(request.args.get("month"))
        year = month.year if month else read_year(request.args.get("year"))
        records = (appraisal.records_of_month(db.session, staff, month) if month
                   else appraisal.records_of_year(db.session, [staff.id], year))
        composite = None if month else appraisal.annual(db.session, staff, year)
        return self.render("admin/appraisal_print.html", staff=staff, month=month, year=year, records=records,
                           composite=composite, part_labels=PART_LABELS, labels=appraisal.DIMENSION_LABELS,
                           dimensions=appraisal.DIMENSIONS, maxima=appraisal.maxima(db.session), shown=number,
                           kind_name=lambda v: label(AppraisalPeriod, v), role_name=lambda v: label(Role, v),
                           dimension_name=lambda v: label(AppraisalDimension, v),
                           period_of=appraisal.period_of, today=local_today())
