"""Form pieces Flask-Admin does not know: times typed in local time, stored in UTC."""
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.form import DateTimeField
from flask_admin.model.form import converts

from backoffice.timezones import local_to_utc, to_local


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
            self.data = local_to_utc(self.data)


class Converter(AdminModelConverter):
    @converts("UTCDateTime")
    def convert_utc_datetime(self, field_args, **extra):
        return LocalDateTimeField(**field_args)
