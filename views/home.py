"""Home dashboard and the user's own account page."""
from flask import flash, redirect, request, url_for
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
from backoffice.permissions import EVERYONE
from models import db
from models.choices import Role, TicketStatus

from .base import role_in
from .tickets import SLA_LABELS


class HomeView(AdminIndexView):
    def is_accessible(self):
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path))

    @expose("/")
    def index(self):
        counts = dashboard.status_counts(db.session)
        return self.render(
            "admin/home.html",
            counts=[(status, label(TicketStatus, status), n) for status, n in counts.items()],
            open_total=sum(n for s, n in counts.items() if s in dashboard.OPEN),
            today=dashboard.registered_between(db.session, 1),
            recent_days=dashboard.RECENT_DAYS,
            recent=dashboard.registered_between(db.session, dashboard.RECENT_DAYS),
            mine=dashboard.my_open_tickets(db.session, current_user.id)
            if current_user.role == Role.ENGINEER else None,
            newest=dashboard.newest_tickets(db.session),
            sla=dashboard.sla_counts(db.session),
            due_soon_label=SLA_LABELS["due_soon"],  # its number is the policy's (R-SLA-1)
        )


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
