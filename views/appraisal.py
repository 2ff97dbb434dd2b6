"""Staff appraisal records (R-APR-1): managers score, staff read their own."""
from flask_login import current_user
from sqlalchemy import select

from backoffice import appraisal
from backoffice.labels import choices
from backoffice.permissions import EMPLOYEES, MANAGERS
from models import User, db
from models.choices import AppraisalPeriod, Role

from .base import SecureModelView
from .fields import LABELS, enum_formatter, time_formatter


class AppraisalView(SecureModelView):
    roles = EMPLOYEES
    create_roles = edit_roles = delete_roles = export_roles = MANAGERS
    column_list = ("staff", "period_kind", "period_start", "conduct", "diligence", "ability",
                   "results", "commendation", "penalty", "total", "scored_by")
    column_details_list = (*column_list, "note", "created_at")
    column_sortable_list = ("period_start", "period_kind", ("staff", "staff.username"))
    column_default_sort = [("period_start", True), ("id", True)]
    column_searchable_list = ("staff.username", "staff.full_name")
    column_labels = LABELS
    column_formatters = {"period_kind": enum_formatter(AppraisalPeriod), "created_at": time_formatter}
    column_filters = ("period_kind", "period_start")
    form_columns = ("staff", "period_kind", "period_start", "conduct", "diligence", "ability",
                    "results", "commendation", "penalty", "note")
    form_choices = {"period_kind": choices(AppraisalPeriod)}
    form_args = {"staff": {"query_factory": lambda: db.session.scalars(
        select(User).where(User.role != Role.DEALER, User.active.is_(True)).order_by(User.username))}}

    def create_form(self, obj=None):
        return self._describe_maxima(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._describe_maxima(super().edit_form(obj))

    def _describe_maxima(self, form):
        for field, maximum in appraisal.maxima(db.session).items():
            if hasattr(form, field):
                getattr(form, field).description = f"0 – {maximum}"
        return form

    def on_model_change(self, form, model, is_created):
        with db.session.no_autoflush:  # the rules first, then the database's constraints
            appraisal.validate_record(db.session, model)
            appraisal.check_period_free(db.session, model)
        model.scored_by = current_user._get_current_object()
