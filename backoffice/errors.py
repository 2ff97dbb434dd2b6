"""Domain errors. Services raise them; views turn them into messages in the user's language."""
from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """Base class; `message` is what the user reads."""

    default_message = _l("The request could not be carried out.")

    def __init__(self, message=None):
        self.message = message or self.default_message
        super().__init__(str(self.message))


class OutOfScope(DomainError):
    default_message = _l("You may only work with records of your own outlet.")


class StaleEdit(DomainError):
    default_message = _l("Someone else changed this record while you were editing it.")

    def __init__(self, message=None, changes=None):
        super().__init__(message)
        self.changes = changes or []


class ValidationFailed(DomainError):
    pass


class FieldErrors(ValidationFailed):
    """Input rejected field by field: `errors` maps a field path (e.g. "customer.phone") to a
    message in the user's language. Forms show each next to its field; the API answers 422."""

    default_message = _l("Some fields need attention.")

    def __init__(self, errors: dict, message=None):
        super().__init__(message)
        self.errors = errors
