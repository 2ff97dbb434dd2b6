"""Form pieces Flask-Admin does not know: times typed in local time, stored in UTC; numbers
the column can hold (a 500 from the database otherwise)."""
from decimal import Decimal

from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.form import DateTimeField
from flask_admin.model.form import converts
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from backoffice.timezones import local_to_utc, to_local

INT_LIMITS = {"SmallInteger": 2**15 - 1, "Integer": 2**31 - 1, "BigInteger": 2**63 - 1}


class LocalDateTimeField(DateTimeField):
    """Shows and reads a UTC timestamp in the service's local time (Asia/Shanghai by default)."""

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        local = to_local(self.data)
        return local.strftime(self.format[0]) if local else ""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None:
            try:
                self.data = local_to_utc(self.data)
            except OverflowError:  # 0001-01-01 00:00 local is before year 1 in UTC
                self.data = None
                raise ValueError(str(_l("Not a date and time."))) from None


class ColumnRange:
    """A number the column can store: finite, and within its integer or NUMERIC(p, s) size."""

    def __init__(self, column):
        kind = type(column.type).__name__
        precision, scale = getattr(column.type, "precision", None), getattr(column.type, "scale", None)
        if kind in INT_LIMITS:
            self.below = INT_LIMITS[kind] + 1
        else:  # NUMERIC(p, s) holds less than 10 ** (p - s); a float column has no such bound
            self.below = Decimal(10) ** (precision - (scale or 0)) if precision else None

    def __call__(self, form, field):
        value = field.data
        if value is None:
            return
        if isinstance(value, Decimal) and not value.is_finite():
            raise ValidationError(str(_l("Enter a number.")))
        if self.below is not None and abs(value) >= self.below:
            raise ValidationError(str(_l("The number is too large.")))


class Converter(AdminModelConverter):
    @converts("UTCDateTime")
    def convert_utc_datetime(self, field_args, **extra):
        return LocalDateTimeField(**field_args)

    @converts("Integer")
    def handle_integer_types(self, column, field_args, **extra):
        field_args["validators"].append(ColumnRange(column))
        return super().handle_integer_types(column=column, field_args=field_args, **extra)

    @converts("Numeric")
    def handle_decimal_types(self, column, field_args, **extra):
        field_args["validators"].append(ColumnRange(column))
        return super().handle_decimal_types(column=column, field_args=field_args, **extra)
