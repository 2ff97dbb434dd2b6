"""Customer archive, product models, units sold and model sales."""
from flask import flash
from flask_admin.helpers import is_form_submitted
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import false, select
from wtforms import BooleanField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from backoffice import customers as customer_service
from backoffice import notifications, ticket_search
from backoffice.labels import choices, label
from backoffice.permissions import CENTER, DESK, EVERYONE, MANAGERS
from backoffice.timezones import format_local
from models import Customer, Outlet, ProductModel, Unit, db
from models.choices import Area, Channel, GasType, NotifyChannel, ProductCategory

from .base import LocalDateBetweenFilter, ScopedOptionsFilter, SecureModelView
from .fields import LABELS, enum_formatter, money_formatter, time_formatter

# Issue 17: how the customer is told, and their consent (PIPL). An address is only checked for
# its shape here; whether it exists is the gateway's business.
EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
OPENID_SHAPE = r"^[A-Za-z0-9_-]+$"
CONSENT_SOURCE = "archive"  # consent ticked on the archive form
CONTACT_LABELS = {"email": _l("E-mail address"), "wechat_openid": _l("WeChat openid"),
                  "notify_channel": _l("Preferred channel for service messages"),
                  "notify_consent": _l("Agrees to service messages"),
                  "notify_consent_at": _l("Agreed to service messages"),
                  "notify_consent_source": _l("Agreed through"), "notify_opt_out_at": _l("Opted out of messages")}


def consent_source_label(source: str) -> str:
    """Where the customer agreed: this form, or the channel a request came in by."""
    if source == CONSENT_SOURCE:
        return _("Customer archive")
    return label(Channel, source) if source else ""


def consent_note(customer: Customer) -> str:
    """What is recorded, under the consent box: when and how the customer agreed, or opted out."""
    if notifications.may_tell(customer):
        return _("Agreed %(at)s through %(source)s.", at=format_local(customer.notify_consent_at),
                 source=consent_source_label(customer.notify_consent_source))
    if customer.notify_opt_out_at is not None:
        return _("Opted out %(at)s.", at=format_local(customer.notify_opt_out_at))
    return _("No consent recorded: the customer gets no service messages.")


class Shape(Regexp):
    """A text of a given shape; its message in the reader's language (Flask-Admin's form shows
    str messages only, not lazy ones)."""

    def __call__(self, form, field):
        try:
            super().__call__(form, field)
        except ValidationError as exc:
            raise ValidationError(str(exc)) from None


def address_for_channel(form, field):
    """The preferred channel needs its address (an SMS goes to the phone, always on file)."""
    needs = {NotifyChannel.EMAIL.value: (form.email, _l("Enter the e-mail address to send messages by e-mail.")),
             NotifyChannel.WECHAT.value: (form.wechat_openid,
                                          _l("Enter the WeChat openid to send messages by WeChat."))}
    if field.data in needs and not (needs[field.data][0].data or "").strip():
        raise ValidationError(str(needs[field.data][1]))


def outlet_options():
    return db.session.execute(select(Outlet.id, Outlet.name).order_by(Outlet.code)).all()


class OutletOwnedView(SecureModelView):
    """Screens of records that belong to an outlet: dealers' new records default to theirs."""

    def create_form(self, obj=None):
        form = super().create_form(obj)
        outlet_field = getattr(form, "outlet", None)
        # Preselect on the empty form only: a posted choice (even one outside the scope, which
        # fails validation) is never silently replaced by the dealer's own outlet.
        if outlet_field is not None and outlet_field.data is None and not outlet_field.raw_data \
                and current_user.outlet:
            outlet_field.data = current_user.outlet
        return form


class CustomerView(OutletOwnedView):
    roles = EVERYONE
    create_roles = edit_roles = export_roles = DESK
    delete_roles = MANAGERS

    column_list = ("name", "phone", "area", "region", "address", "outlet", "created_at")
    column_details_list = ("name", "phone", "phone2", "address", "region", "area", "distance_km",
                           "outlet", "note", "email", "wechat_openid", "notify_channel", "notify_consent_at",
                           "notify_consent_source", "notify_opt_out_at", "created_at", "updated_at")
    details_template = "admin/customer_details.html"
    column_searchable_list = ("name", "phone", "phone2", "address")
    column_sortable_list = ("name", "phone", "region", "created_at", ("outlet", "outlet.code"))
    column_default_sort = [("created_at", True), ("id", True)]
    column_labels = dict(LABELS, name=LABELS["full_name"], **CONTACT_LABELS)  # a person: 姓名, not 名称
    column_formatters = {"area": enum_formatter(Area), "created_at": time_formatter,
                         "updated_at": time_formatter, "notify_channel": enum_formatter(NotifyChannel),
                         "notify_consent_at": time_formatter, "notify_opt_out_at": time_formatter,
                         "notify_consent_source": lambda v, c, m, n: consent_source_label(m.notify_consent_source)}
    form_columns = ("name", "phone", "phone2", "address", "region", "area", "distance_km",
                    "outlet", "note", "email", "wechat_openid", "notify_channel", "notify_consent")
    form_choices = {"area": choices(Area), "notify_channel": choices(NotifyChannel)}
    form_extra_fields = {"notify_consent": BooleanField(CONTACT_LABELS["notify_consent"])}
    form_args = {
        "email": {"validators": [Optional(), Length(max=120), Shape(
            EMAIL_SHAPE, message=_l("Enter an e-mail address such as %(example)s.", example="name@example.com"))]},
        "wechat_openid": {"validators": [Optional(), Length(max=64), Shape(
            OPENID_SHAPE, message=_l("A WeChat openid has only letters, digits, - and _."))]},
        "notify_channel": {"validators": [address_for_channel]},
    }
    column_filters = ("region", "area")
    column_export_list = ("name", "phone", "phone2", "address", "region", "area",
                          "distance_km", "outlet", "created_at")

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(Customer.outlet_id, LABELS["outlet"], outlet_options),
            "region", "area",
            LocalDateBetweenFilter(Customer.created_at, LABELS["created_at"]),
        )
        super().__init__(*args, **kwargs)

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """A phone (its last digits too), a name or an address, through their indexes (issue 16)."""
        found = ticket_search.customer_condition(search, db.session.get_bind().dialect.name)
        return query.filter(false() if found is None else found), count_query, joins, count_joins

    def edit_form(self, obj=None):
        """The consent box shows whether the customer may be told now; what is recorded, below it."""
        form = super().edit_form(obj)
        if obj is not None:
            if not is_form_submitted():
                form.notify_consent.data = notifications.may_tell(obj)
            form.notify_consent.description = consent_note(obj)
        return form

    def on_model_change(self, form, model, is_created):
        customer_service.validate_customer(model)
        customer_service.check_phone_free(db.session, model)  # R-CUS-1
        model.email = (model.email or "").strip()
        model.wechat_openid = (model.wechat_openid or "").strip()
        # PIPL: consent is recorded with its time and source, an opt-out with its time.
        if form.notify_consent.data and not notifications.may_tell(model):
            notifications.record_consent(model, source=CONSENT_SOURCE, verified=True)  # staff heard it
        elif not form.notify_consent.data and notifications.may_tell(model):
            notifications.record_opt_out(db.session, model)  # what is still queued is not sent
        duplicates = customer_service.same_phone(db.session, model)
        if duplicates:
            # DOMAIN §2: duplicates are flagged, never merged silently.
            flash(_("Another customer record has the phone %(phone)s: %(names)s. "
                    "Check whether it is the same person.", phone=model.phone,
                    names=", ".join(c.name for c in duplicates)), "warning")


class ProductModelView(SecureModelView):
    roles = EVERYONE
    create_roles = edit_roles = delete_roles = export_roles = MANAGERS
    column_list = ("code", "name", "category", "warranty_months", "free_installation",
                   "gas_type", "active")
    column_searchable_list = ("code", "name")
    column_default_sort = "code"
    column_labels = LABELS
    column_formatters = {"category": enum_formatter(ProductCategory),
                         "gas_type": enum_formatter(GasType)}
    column_filters = ("category", "active", "free_installation")
    form_columns = ("code", "name", "category", "warranty_months", "free_installation",
                    "special_price", "gas_type", "active")
    form_choices = {"category": choices(ProductCategory), "gas_type": choices(GasType)}


class ModelSalesView(SecureModelView):
    """Units of each model sold a month (network-wide), the quality report's fault-rate base
    (R-RPT-1). A date anywhere in the month stands for the month."""

    roles = CENTER
    create_roles = edit_roles = delete_roles = export_roles = MANAGERS
    column_list = ("month", "product_model", "units")
    column_sortable_list = ("month", "units", ("product_model", "product_model.code"))
    column_default_sort = [("month", True), ("id", False)]
    column_filters = ("month",)
    column_searchable_list = ("product_model.code", "product_model.name")
    column_labels = dict(LABELS, month=_l("Month"), units=_l("Sales volume"),
                         **{"product_model.code": _l("Model code"), "product_model.name": _l("Model name")})
    column_formatters = {"month": lambda view, context, model, name: f"{model.month:%Y-%m}"}
    form_columns = ("product_model", "month", "units")
    form_args = {"units": {"validators": [InputRequired(), NumberRange(min=0, max=10_000_000)]},
                 "month": {"description": _l("Any day of the month: the month is kept.")}}

    def on_model_change(self, form, model, is_created):
        model.month = model.month.replace(day=1)
        super().on_model_change(form, model, is_created)


class UnitView(OutletOwnedView):
    roles = EVERYONE
    create_roles = edit_roles = export_roles = DESK
    delete_roles = MANAGERS
    column_list = ("serial", "product_model", "size", "customer", "invoice_no", "invoice_date", "price",
                   "outlet")
    column_searchable_list = ("serial", "invoice_no", "customer.phone", "customer.name")
    column_sortable_list = ("serial", "invoice_date", "price", ("product_model", "product_model.code"))
    column_default_sort = [("id", True)]
    column_labels = LABELS
    column_formatters = {"price": money_formatter, "created_at": time_formatter}
    form_columns = ("product_model", "serial", "size", "customer", "invoice_no", "invoice_date", "price",
                    "outlet")
    form_ajax_refs = {"customer": {"fields": ("name", "phone"), "page_size": 10,
                                   "placeholder": LABELS["customer"]}}
    column_export_list = ("serial", "product_model", "size", "customer", "invoice_no", "invoice_date",
                          "price", "outlet")

    def __init__(self, *args, **kwargs):
        self.column_filters = (
            ScopedOptionsFilter(Unit.outlet_id, LABELS["outlet"], outlet_options),
            ScopedOptionsFilter(Unit.product_model_id, LABELS["product_model"],
                                lambda: db.session.execute(
                                    select(ProductModel.id, ProductModel.code).order_by(ProductModel.code)).all()),
            "invoice_date",
        )
        super().__init__(*args, **kwargs)

    def on_model_change(self, form, model, is_created):
        customer_service.validate_unit(model)
