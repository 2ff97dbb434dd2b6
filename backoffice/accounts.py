"""User accounts: creation, passwords, role rules (DOMAIN §1)."""
from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from models import User
from models.choices import Role
from models.people import new_session_nonce

from .access import UNSCOPED
from .errors import ValidationFailed

MIN_PASSWORD_LENGTH = 8
# The 10,000 most common passwords and local favourites (see backoffice/data/README.md).
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common_passwords.txt"


def hash_password(password: str) -> str:
    # scrypt (Werkzeug's default KDF); tests may choose a cheaper method through config.
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
    return generate_password_hash(password, method=method)


def verify_password(user: User, password: str) -> bool:
    return bool(user.password_hash) and check_password_hash(user.password_hash, password)


@cache
def common_passwords() -> frozenset[str]:
    return frozenset(line.strip().lower()
                     for line in COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
                     if line.strip())


def is_common_password(password: str) -> bool:
    return (password or "").strip().lower() in common_passwords()


def check_new_password(password: str) -> None:
    """A password someone chooses: long enough, and not one of the common ones."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(_l("The password must have at least %(n)d characters.",
                                  n=MIN_PASSWORD_LENGTH))
    if is_common_password(password):
        raise ValidationFailed(_l("This password is too common and easy to guess. Choose another one."))


def set_password(user: User, password: str, *, screened: bool = True) -> None:
    """Every password set by a person is screened; only the demo seed passes screened=False
    (its published password is refused when typed into a form)."""
    if screened:
        check_new_password(password)
    user.password_hash = hash_password(password)
    end_sessions(user)


def end_sessions(user: User) -> None:
    """Rotating the nonce invalidates every login cookie of this user."""
    user.session_nonce = new_session_nonce()


def access_changed(user: User) -> bool:
    """Whether an edit changes what the user may do: role, outlet or active flag."""
    state = inspect(user)
    if state.transient or state.pending:
        return False
    attrs = state.attrs
    if any(attrs[name].history.has_changes() for name in ("role", "active", "outlet_id")):
        return True
    outlet = attrs["outlet"].history
    if outlet.has_changes():
        new = user.outlet.id if user.outlet is not None else None
        return new != user.outlet_id
    return False


def end_sessions_if_access_changed(user: User) -> None:
    """A role change, an outlet change or a deactivation signs the user out everywhere."""
    if access_changed(user):
        end_sessions(user)


def validate_user(user: User) -> None:
    if user.role not in {r.value for r in Role}:
        raise ValidationFailed(_l("Unknown role."))
    if user.role == Role.DEALER and user.outlet_id is None and user.outlet is None:
        raise ValidationFailed(_l("A dealer account must belong to an outlet."))


def find_by_username(session: Session, username: str) -> User | None:
    stmt = select(User).where(User.username == username.strip()).execution_options(**UNSCOPED)
    return session.scalar(stmt)


def create_user(session: Session, username: str, password: str, role: str, *,
                full_name: str = "", outlet=None, locale: str | None = None,
                screened: bool = True) -> User:
    if find_by_username(session, username) is not None:
        raise ValidationFailed(_l("The username %(name)s is taken.", name=username))
    user = User(username=username.strip(), full_name=full_name, role=role, outlet=outlet,
                locale=locale, active=True)
    set_password(user, password, screened=screened)
    validate_user(user)
    session.add(user)
    return user


def may_sign_in(user) -> bool:
    """An active account of an outlet still in the network (a retired outlet's staff lose
    access at once, even if an account were switched on again: backoffice.retirement)."""
    return bool(user.active) and (user.outlet is None or bool(user.outlet.active))
