"""The dealer network: outlets and their users; user management for admins; retiring an
outlet (backoffice.retirement)."""
from flask import g, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import PasswordField
from wtforms.validators import Optional

from backoffice import accounts, appraisal, network, outlet_awards, retirement
from backoffice.errors import ValidationFailed
from backoffice.i18n import SUPPORTED
from backoffice.labels import choices
from backoffice.permissions import ADMINS, DESK, MANAGERS, why_not
from backoffice.timezones import DEFAULT_TZ, local_today
from models import Outlet, User, db
from models.choices import Role

from .actions import run_action
from .base import ScopedOptionsFilter, SecureModelView, parse_id
from .customers import outlet_options
from .fields import LABELS, enum_formatter, money_formatter, time_formatter
from .outlet_evaluation import outlet_section


def year_penalties() -> dict:
    """This year's overcharge penalties of the visible outlets, once per request (R-CMP-3)."""
    if "award_penalties" not in g:
        g.award_penalties = outlet_awards.penalties(db.session)
    return g.award_penalties


def award_badge(view, context, model, name):
    """R-APR-5 / R-CMP-3: a dealer outlet penalised for overcharging this year is not eligible."""
    if model.is_service_center:
        return ""
    if model.id in year_penalties():
        return Markup(f'<span class="badge badge-danger" data-award="no">{escape(_("Not eligible"))}</span>')
    return Markup(f'<span class="badge badge-light" data-award="yes">{escape(_("Eligible"))}</span>')


class OutletView(SecureModelView):
    roles = DESK
    create_roles = edit_roles = export_roles = MANAGERS
    delete_roles = ADMINS
    details_template = "admin/outlet_details.html"
    column_list = ("code", "name", "parent", "region", "service_phone", "duty_phone", "active", "award")
    column_details_list = ("code", "name", "parent", "children", "region", "address", "service_phone",
                           "duty_phone", "total_purchase_amount", "timezone", "active", "created_at")
    column_searchable_list = ("code", "name", "region", "address")
    column_sortable_list = ("code", "name", "region")
    column_default_sort = "code"
    column_labels = dict(LABELS, award=_l("Annual award"))
    column_formatters = {"total_purchase_amount": money_formatter, "created_at": time_formatter,
                         "award": award_badge}
    column_filters = ("region", "active")
    # An outlet leaves the network through "Retire" on its page, never by a checkbox: its tickets,
    # customers, staff and account must go somewhere (backoffice.retirement).
    form_columns = ("code", "name", "parent", "region", "address", "service_phone", "duty_phone",
                    "total_purchase_amount", "timezone", "is_service_center")

    def on_model_change(self, form, model, is_created):
        model.timezone = (model.timezone or "").strip() or DEFAULT_TZ
        network.validate_outlet(model)  # code pattern, time zone, two tiers: marked on the form

    @expose("/retire/", methods=("POST",))
    def retire_view(self):
        def retire(found):
            successor_id = parse_id(request.form.get("successor_id", ""))
            successor = db.session.get(Outlet, successor_id) if successor_id else None
            retirement.retire(db.session, found, current_user._get_current_object(), successor,
                              request.form.get("reason", ""))
        return run_action(self, retire, _("The outlet is retired: its open tickets and customers are handed over, "
                                          "its staff signed out, its account settled."), "retire")

    def render(self, template, **kwargs):
        if template == self.details_template and "model" in kwargs:
            found = kwargs["model"]
            kwargs["award_year"] = local_today().year
            kwargs["penalties"] = year_penalties().get(found.id, [])
            actions = retirement.actions(db.session, found, current_user)
            kwargs.update(retire_actions=actions, retire_why_not=why_not(actions),
                          failure=g.get("action_failure") or {})
            kwargs.update(outlet_section(found, current_user))  # R-APR-5: awards, licence, inspections
            if actions["retire"]:
                kwargs["retirement"] = retirement.preview(db.session, found)
                kwargs["successors"] = [o for o in db.session.scalars(
                    select(Outlet).where(Outlet.active.is_(True), Outlet.id != found.id).order_by(Outlet.code))
                    if o.parent_id != found.id]
        return super().render(template, **kwargs)


class UserView(SecureModelView):
    roles = create_roles = edit_roles = export_roles = ADMINS
    delete_roles = frozenset()  # accounts are deactivated, never deleted (audit keeps their name)
    column_list = ("username", "full_name", "role", "outlet", "active", "locale", "last_login_at")
    column_details_list = ("username", "full_name", "phone", "role", "outlet", "active", "locale",
                           "last_login_at", "created_at")
    column_searchable_list = ("username", "full_name", "phone")
    column_default_sort = "username"
    column_labels = dict(LABELS, reports_to=_l("Reports to"))
    column_formatters = {"role": enum_formatter(Role), "last_login_at": time_formatter,
                         "created_at": time_formatter}
    form_columns = ("username", "full_name", "phone", "role", "outlet", "reports_to", "active", "locale",
                    "new_password")
    # R-APR-1: the reporting line (a manager never scores the person he reports to).
    form_args = {"reports_to": {"query_factory": appraisal.line_managers,
                                "description": _l("Whom this person reports to (appraisal).")}}
    form_choices = {"role": choices(Role),
                    "locale": [("zh_Hans_CN", "中文"), ("en", "English")]}
    form_extra_fields = {"new_password": PasswordField(
        _l("New password"), validators=[Optional()],
        description=_l("At least 8 characters. Leave empty to keep the current password."))}
    column_export_list = ("username", "full_name", "phone", "role", "outlet", "active")

    def __init__(self, *args, **kwargs):
        self.column_filters = ("role", "active",
                               ScopedOptionsFilter(User.outlet_id, LABELS["outlet"], outlet_options))
        super().__init__(*args, **kwargs)

    def on_model_change(self, form, model, is_created):
        password = form.new_password.data
        if is_created and not password:
            raise ValidationFailed(_l("A new account needs a password."))
        if password:
            accounts.set_password(model, password)
        if model.locale not in SUPPORTED:
            model.locale = None
        accounts.validate_user(model)
        appraisal.check_reporting_line(db.session, model)
        if not is_created:
            # deactivated, another role or outlet: every session of the user ends at once
            accounts.end_sessions_if_access_changed(model)
        if model.id == current_user.id and (not model.active or model.role != Role.ADMIN):
            raise ValidationFailed(_l("You cannot take away your own administrator access."))
