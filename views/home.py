"""Home dashboard and the user's own account page."""
from datetime import timedelta
from urllib.parse import urlencode

from flask import abort, flash, redirect, render_template, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField
from wtforms.validators import DataRequired, EqualTo, Length

from backoffice import accounts, dashboard
from backoffice.errors import DomainError
from backoffice.labels import label
from backoffice.months import month_end
from backoffice.permissions import EVERYONE
from backoffice.timezones import local_today, zone_of
from models import db
from models.choices import Clock, FeeClaimStatus, OldPartState, ReconciliationStatus, Role, TicketKind, TicketStatus

from .base import role_in
from .charts import chart, series
from .menu import APPROVALS, menu_count
from .tickets import SLA_LABELS, call_numbers, map_href, tel_href, visit_address


def filter_url(view, *filters) -> str:
    """The view's list URL with its filters set: each (name, value) picks the filter whose named
    conditions include `value` (a ChoiceFilter) or, failing that, whose column is `name`."""
    args = []
    for position, (name, value) in enumerate(filters):
        args.append((f"flt{position}_{_filter_index(view, name, value)}", value))
    return f"{view.url}/?{urlencode(args)}" if args else f"{view.url}/"


def _filter_index(view, name, value) -> int:
    """The index of the filter `filter_url` picks, remembered on the view (its filters never
    change): a report links hundreds of rows to their lists."""
    cache = view.__dict__.setdefault("_filter_indexes", {})
    if "choices" not in cache:
        cache["choices"] = {key for flt in view.column_filters for key in getattr(flt, "_conditions", ())}
    key = (name, value if value in cache["choices"] else None)
    if key not in cache:
        cache[key] = next(i for i, flt in enumerate(view.column_filters)
                          if (value in flt._conditions if hasattr(flt, "_conditions")
                              else getattr(flt.column, "key", None) == name))
    return cache[key]


def appointment_card(ticket) -> dict:
    """What an engineer's card of today's appointment shows beyond the ticket (issue 18): whom to
    ask for and the number to tap, the address with its map link (as the ticket page's header),
    the time in the serving outlet's zone."""
    customer = ticket.customer
    phone = next(iter(call_numbers(ticket)), "")
    address = visit_address(ticket)
    return {"ticket": ticket, "name": ticket.contact_name or (customer.name if customer else ""),
            "phone": phone, "tel": tel_href(phone) if phone else "", "address": address,
            "map": map_href(address), "zone": zone_of(ticket.outlet)}


class HomeView(AdminIndexView):
    """One home page per role (issue 15): each figure an SQL count under the row scope, linked
    to the list that shows exactly its rows."""

    def is_accessible(self):
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path))

    def _view(self, endpoint):
        return next(v for v in self.admin._views if v.endpoint == endpoint)

    def _url(self, endpoint, *filters):
        return filter_url(self._view(endpoint), *filters)

    @expose("/")
    def index(self):
        role = current_user.role
        figures = {Role.CLERK: self._clerk, Role.ENGINEER: self._engineer, Role.DEALER: self._dealer}.get(
            role, self._manager)()
        counts = dashboard.status_counts(db.session)
        return self.render(
            "admin/home.html", role=str(role if role in (Role.CLERK, Role.ENGINEER, Role.DEALER) else Role.MANAGER),
            counts=[(status, label(TicketStatus, status), n, self._url("ticket", ("status", status)))
                    for status, n in counts.items()],
            open_total=dashboard.open_tickets(db.session),
            open_url=self._url("ticket", ("queue", "open")),
            newest=dashboard.newest_tickets(db.session), due_soon_label=SLA_LABELS["due_soon"],
            **figures)

    def _clocks(self):
        return {"sla": dashboard.sla_counts(db.session),
                "overdue_url": self._url("ticket", ("sla", "overdue")),
                "due_soon_url": self._url("ticket", ("sla", "due_soon"))}

    def _clerk(self):
        return dict(self._clocks(),
                    intake_url=url_for("intake.index"),
                    unassigned=dashboard.unassigned_tickets(db.session),
                    unassigned_url=self._url("ticket", ("queue", "unassigned")),
                    visits_url=self._url("return_visit", ("state", "due")),
                    complaints=dashboard.complaints_awaiting_answer(db.session),
                    complaints_url=self._url("ticket", ("queue", "complaints_awaiting_answer")),
                    **self._registered())

    def _registered(self):
        """Tickets registered today and in the last days, linked to the list between those local days."""
        today, days = local_today(), dashboard.RECENT_DAYS

        def since(start):
            return self._url("ticket", ("created_at", f"{start:%Y-%m-%d} to {today:%Y-%m-%d}"))

        return dict(today=dashboard.registered_between(db.session, 1), today_url=since(today),
                    recent_days=days, recent=dashboard.registered_between(db.session, days),
                    recent_url=since(today - timedelta(days=days - 1)))

    def _engineer(self):
        me = current_user.id
        mine = ("assigned_engineer_id", me)

        def status_figure(status):
            return (dashboard.my_tickets_in(db.session, me, status),
                    self._url("ticket", ("status", status), mine))

        return dict(appointments=[appointment_card(t) for t in dashboard.appointments_today(db.session, me)],
                    mine=dashboard.my_open_tickets(db.session, me),
                    mine_url=self._url("ticket", ("queue", "mine")),
                    to_diagnose=status_figure(TicketStatus.REGISTERED.value),
                    awaiting_parts=status_figure(TicketStatus.AGREED.value))

    def _manager(self):
        return dict(self._clocks(),
                    approvals=menu_count(APPROVALS),  # the menu's badge reuses it
                    approvals_url=self._url("approval", ("queue", "mine_to_decide")),
                    breached=dashboard.breached_tickets(db.session),
                    breached_url=self._url("ticket", ("sla", "breached")),
                    satisfaction=dashboard.satisfaction(db.session),
                    visits_done_url=self._url("return_visit", ("state", "done")),
                    complaints=dashboard.complaints_awaiting_answer(db.session),
                    complaints_url=self._url("ticket", ("queue", "complaints_awaiting_answer")),
                    complaints_month=dashboard.complaints_registered(db.session),
                    complaints_all_url=self._url("ticket", ("kind", TicketKind.COMPLAINT.value)),
                    claims_to_audit=dashboard.fee_claims_by_status(
                        db.session, [FeeClaimStatus.CLAIMED.value])[FeeClaimStatus.CLAIMED.value],
                    claims_to_audit_url=self._url("fee_claim", ("status", FeeClaimStatus.CLAIMED.value)),
                    evaluation_url=url_for("outlet_evaluation.index"),
                    **self._trend(), **self._ranking())

    def _trend(self):
        """SLA compliance per clock over the last months: a line per clock and the same figures
        as a table (R-SLA-1), each month linked to the service KPI report of that month, whose
        per-clock figures are the same and broken down by outlet. This month so far is the
        trend's last month (dashboard.sla_compliance: the same figures)."""
        months = dashboard.compliance_trend(db.session)
        today = local_today()
        clocks = [(clock.value, label(Clock, clock.value)) for clock in Clock]
        spec = chart("line", [f"{m.month:%Y-%m}" for m in months],
                     *(series(text, [m.of(clock).rate for m in months]) for clock, text in clocks), unit="%")
        rows = [(m, url_for("kpis.index", **{"from": m.month.isoformat(),
                                              "to": min(month_end(m.month), today).isoformat()}))
                for m in months]
        return {"trend": rows, "trend_clocks": clocks, "trend_chart": spec, "kpis_url": url_for("kpis.index"),
                "compliance": [(c, label(Clock, c.clock)) for c in months[-1].clocks]}

    def _ranking(self):
        """Where the manager's page gets this year's ranking from, after the page (`ranking`)."""
        year = local_today().year
        return {"ranking_year": year, "ranking_url": url_for("outlet_evaluation.index", year=year),
                "ranking_fragment_url": url_for(".ranking")}

    @expose("/ranking")
    def ranking(self):
        """This year's best and worst rated dealer outlets, each linked to its evaluation (R-APR-5):
        a fragment of the manager's home page, fetched after it (a year of figures over a big
        network takes seconds; the page's other figures do not wait for it)."""
        if current_user.role in (Role.CLERK, Role.ENGINEER, Role.DEALER):  # the center's managers' page
            abort(403)
        return render_template("admin/home_ranking.html", **self._ranking_ends())

    def _ranking_ends(self):
        year = local_today().year
        top, bottom = dashboard.ranking_ends(db.session, year)

        def rows(found):
            return [(row, url_for("outlet_evaluation.outlet_view", outlet_id=row.outlet.id, year=year))
                    for row in found]

        return {"ranking_year": year, "ranking_top": rows(top), "ranking_bottom": rows(bottom),
                "ranking_url": url_for("outlet_evaluation.index", year=year)}

    def _dealer(self):
        outlet_id = current_user.outlet_id
        owed, owed_value = dashboard.old_parts_owed(db.session)
        claims = dashboard.fee_claims_by_status(db.session)
        return dict(self._clocks(),
                    parts=dashboard.parts_position(db.session, outlet_id) if outlet_id else None,
                    parts_url=self._url("parts_account"),
                    statements=dashboard.statements_to_confirm(db.session),
                    statements_url=self._url("parts_month", ("status", ReconciliationStatus.OPEN.value)),
                    claims=[(status, label(FeeClaimStatus, status), n, self._url("fee_claim", ("status", status)))
                            for status, n in claims.items()],
                    owed=owed, owed_value=owed_value,
                    owed_url=self._url("old_part", ("state", OldPartState.OWED.value)))


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=accounts.MIN_PASSWORD_LENGTH)])
    repeat = PasswordField(_l("Repeat the new password"),
                           validators=[DataRequired(), EqualTo("new", message=_l("The two entries differ."))])


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=[("zh_Hans_CN", "中文"), ("en", "English")])


class AccountView(BaseView):
    """My account: language and password."""

    def is_accessible(self):
        return role_in(EVERYONE)

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path))

    @expose("/", methods=("GET", "POST"))
    def index(self):
        user = current_user._get_current_object()
        password_form = PasswordForm(prefix="pw")
        language_form = LanguageForm(prefix="lang", locale=user.locale or "zh_Hans_CN")
        if request.method == "POST" and "pw-current" in request.form and password_form.validate():
            response = self._change_password(user, password_form)
            if response:
                return response
        elif request.method == "POST" and language_form.validate_on_submit():
            user.locale = language_form.locale.data
            db.session.commit()
            flash(_("Language saved."), "success")
            return redirect(url_for(".index"))
        return self.render("admin/account.html", password_form=password_form,
                           language_form=language_form)

    def _change_password(self, user, form):
        if not accounts.verify_password(user, form.current.data):
            form.current.errors = [_("The current password is wrong.")]
            return None
        try:
            accounts.set_password(user, form.new.data)
        except DomainError as exc:
            form.new.errors = [str(exc.message)]
            return None
        db.session.commit()
        flash(_("Password changed. Please sign in again."), "success")
        return redirect(url_for("auth.login"))
