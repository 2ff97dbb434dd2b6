"""The dealer outlets' annual evaluation (R-APR-5): the ranking with each component's figures,
eligibility and awards; one outlet's evaluation and qualification records; CSV. Rules and
figures live in backoffice.outlet_evaluation; every query runs under the user's row scope, so a
dealer sees (and exports) its own outlets only."""
from __future__ import annotations

import csv
import io

from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from backoffice import outlet_evaluation as evaluation
from backoffice.errors import DomainError, FieldErrors
from backoffice.labels import choices, label
from backoffice.permissions import DESK, why_not
from backoffice.timezones import local_today
from models import Outlet, User, db
from models.choices import InspectionResult, Role
from models.evaluation import OutletAward

from . import exports
from .base import RolePage, parse_id


def chosen_year() -> int:
    """The year asked for in the address; anything else (a typo, a year to come) is this year,
    said in a message rather than an error page."""
    raw = request.args.get("year", "")
    if not raw:
        return local_today().year
    errors: dict = {}
    year = evaluation.parse_year(raw, errors)
    if year is None:
        flash(str(errors["year"]), "error")
        return local_today().year
    return year


def outlet_section(outlet: Outlet, user) -> dict:
    """What the outlet's details page shows of its evaluation, awards and qualification records
    (views.network.OutletView.render adds it)."""
    if outlet.is_service_center:
        return {}
    year = local_today().year
    return {"evaluation_year": year, "qualification": evaluation.qualification(db.session, outlet),
            "outlet_awards_list": evaluation.awards_of(db.session, outlet_id=outlet.id).get(outlet.id, []),
            "evaluation_actions": evaluation.actions(db.session, outlet, user, year),
            "inspection_results": choices(InspectionResult),
            "inspection_label": lambda value: label(InspectionResult, value)}


def ranking_table(year: int) -> exports.Table:
    """The year's ranking as exported (same scope as the screen)."""
    components = [str(evaluation.COMPONENT_LABELS[key]) for key in evaluation.COMPONENTS]
    header = [_("Rank"), _("Code"), _("Outlet"), *components, _("Score"), _("Eligible"), _("Awards")]
    rows = [[row.rank or "", row.outlet.code, row.outlet.name, *(c.points for c in row.components),
             row.score if row.rated else _("Not rated: no service this year"),
             _("yes") if row.eligible else _("no"), "; ".join(a.title for a in row.awards)]
            for row in evaluation.ranking(db.session, year)]
    return exports.Table(_("Outlet evaluation %(year)s", year=year), header, rows)


class OutletEvaluationView(RolePage):
    roles = DESK

    def _user(self):
        return current_user._get_current_object()

    # --- the ranking -------------------------------------------------------------------------
    @expose("/")
    def index(self):
        return self._ranking(chosen_year())

    def _ranking(self, year: int, failure: dict | None = None, status: int = 200):
        rows = evaluation.ranking(db.session, year)
        actions = evaluation.actions(db.session, None, self._user())
        people = []
        if actions["award"]:
            people = db.session.scalars(select(User).where(User.active.is_(True), User.role != Role.ADMIN.value)
                                        .order_by(User.username)).all()
        page = self.render("admin/outlet_evaluation_ranking.html", year=year, rows=rows, actions=actions,
                           components=evaluation.COMPONENTS, labels=evaluation.COMPONENT_LABELS,
                           weights={c.key: c.weight for c in rows[0].components} if rows else {},
                           person_awards=evaluation.person_awards(db.session, year), people=people,
                           outlet_titles=evaluation.OUTLET_TITLES, person_titles=evaluation.PERSON_TITLES,
                           years=range(local_today().year, local_today().year - 6, -1),
                           failure=failure or {}, role_label=lambda v: label(Role, v))
        return page, status

    @expose("/export.csv")
    def export_csv(self):
        """The ranking as on screen (same scope): rank, outlet, each component's points, score,
        eligibility and awards."""
        year = chosen_year()
        table = ranking_table(year)
        out = io.StringIO()
        csv.writer(out).writerows([table.header, *([exports.safe_cell(c) for c in row] for row in table.rows)])
        name = f"{_('Outlet evaluation')}_{year}_{exports.stamp()}.csv"
        return Response(exports.BOM + out.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": exports.attachment(name, f"outlet-evaluation-{year}.csv")})

    @expose("/export.xlsx")
    def export_xlsx(self):
        """The same ranking as an Excel workbook; points and scores stay numbers."""
        year = chosen_year()
        return exports.report_response([ranking_table(year)], "xlsx", f"{_('Outlet evaluation')}_{year}")

    @expose("/award/", methods=("POST",))
    def award_view(self):
        form = request.form
        if not evaluation.actions(db.session, None, self._user())["award"]:
            abort(403)
        kind = form.get("recipient", "outlet")
        draft = evaluation.AwardDraft(
            year=form.get("year", ""), title=form.get("title", ""), note=form.get("note", ""),
            outlet_id=parse_id(form.get("outlet_id")) if kind == "outlet" else None,
            staff_id=parse_id(form.get("staff_id")) if kind == "person" else None)
        try:
            award = evaluation.record_award(db.session, self._user(), draft)
            db.session.commit()
        except FieldErrors as exc:
            db.session.rollback()
            return self._refused(exc, self._year_typed(form))
        flash(_("Award recorded: %(title)s (%(year)s).", title=award.title, year=award.year), "success")
        return redirect(url_for(".index", year=award.year))

    def _year_typed(self, form) -> int:
        errors: dict = {}
        return evaluation.parse_year(form.get("year", ""), errors) or local_today().year

    def _refused(self, exc: FieldErrors, year: int):
        flash(_("Not saved: check the marked fields."), "error")
        return self._ranking(year, {"values": request.form, "errors": exc.errors}, 422)

    @expose("/award/<int:award_id>/withdraw/", methods=("POST",))
    def withdraw_view(self, award_id):
        found_id = parse_id(award_id)
        award = db.session.get(OutletAward, found_id) if found_id else None  # scoped
        if award is None:
            abort(404)
        year = award.year
        if not evaluation.actions(db.session, award, self._user())["withdraw"]:
            abort(403)
        evaluation.withdraw_award(db.session, award, self._user())
        db.session.commit()
        flash(_("Award withdrawn."), "success")
        return redirect(url_for(".index", year=year))

    # --- one outlet ----------------------------------------------------------------------------
    def _outlet(self, outlet_id: int) -> Outlet:
        found_id = parse_id(outlet_id)  # 10**20 is no row, not a driver overflow
        outlet = db.session.get(Outlet, found_id) if found_id else None  # scoped: another dealer's is None
        if outlet is None or outlet.is_service_center:
            abort(404)
        return outlet

    @expose("/outlet/<int:outlet_id>/")
    def outlet_view(self, outlet_id):
        return self._outlet_page(self._outlet(outlet_id), chosen_year())

    def _outlet_page(self, outlet: Outlet, year: int, failure: dict | None = None, status: int = 200):
        row = evaluation.evaluation_of(db.session, outlet, year)
        section = outlet_section(outlet, self._user())
        actions = section["evaluation_actions"]
        page = self.render("admin/outlet_evaluation_outlet.html", outlet=outlet, year=year, row=row,
                           evaluation_why_not=why_not(actions), failure=failure or {},
                           years=range(local_today().year, local_today().year - 6, -1), **section)
        return page, status

    @expose("/outlet/<int:outlet_id>/licence/", methods=("POST",))
    def licence_view(self, outlet_id):
        outlet = self._outlet(outlet_id)
        return self._record(outlet, "qualify", lambda: evaluation.record_licence(
            db.session, outlet, self._user(), request.form.get("licence_number", ""),
            request.form.get("licence_valid_until", "")), _("Licence recorded."))

    @expose("/outlet/<int:outlet_id>/inspection/", methods=("POST",))
    def inspection_view(self, outlet_id):
        outlet = self._outlet(outlet_id)
        return self._record(outlet, "inspect", lambda: evaluation.record_inspection(
            db.session, outlet, self._user(), request.form.get("inspection_year", ""),
            request.form.get("inspection_result", ""), request.form.get("inspection_note", "")),
            _("Annual inspection recorded."))

    def _record(self, outlet: Outlet, action: str, call, done: str):
        verdict = evaluation.actions(db.session, outlet, self._user())[action]
        if verdict.for_role:
            abort(403)
        try:
            call()
            db.session.commit()
        except FieldErrors as exc:
            db.session.rollback()
            flash(_("Not saved: check the marked fields."), "error")
            return self._outlet_page(outlet, local_today().year, {"values": request.form, "errors": exc.errors}, 422)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
        else:
            flash(done, "success")
        if request.form.get("back") == "outlet":
            return redirect(url_for("outlet.details_view", id=outlet.id))
        return redirect(url_for(".outlet_view", outlet_id=outlet.id))
