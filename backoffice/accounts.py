"""User accounts: creation, passwords, role rules (DOMAIN §1)."""
from __future__ import annotations

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from models import User
from models.choices import Role
from models.people import new_session_nonce

from .access import UNSCOPED
from .errors import ValidationFailed

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    # scrypt (Werkzeug's default KDF); tests may choose a cheaper method through config.
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
    return generate_password_hash(password, method=method)


def verify_password(user: User, password: str) -> bool:
    return bool(user.password_hash) and check_password_hash(user.password_hash, password)


def set_password(user: User, password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(_l("The password must have at least %(n)d characters.",
                                  n=MIN_PASSWORD_LENGTH))
    user.password_hash = hash_password(password)
    end_sessions(user)


def end_sessions(user: User) -> None:
    """Rotating the nonce invalidates every login cookie of this user."""
    user.session_nonce = new_session_nonce()


def validate_user(user: User) -> None:
    if user.role not in {r.value for r in Role}:
        raise ValidationFailed(_l("Unknown role."))
    if user.role == Role.DEALER and user.outlet_id is None and user.outlet is None:
        raise ValidationFailed(_l("A dealer account must belong to an outlet."))


def find_by_username(session: Session, username: str) -> User | None:
    stmt = select(User).where(User.username == username.strip()).execution_options(**UNSCOPED)
    return session.scalar(stmt)


def create_user(session: Session, username: str, password: str, role: str, *,
                full_name: str = "", outlet=None, locale: str | None = None) -> User:
    if find_by_username(session, username) is not None:
        raise ValidationFailed(_l("The username %(name)s is taken.", name=username))
    user = User(username=username.strip(), full_name=full_name, role=role, outlet=outlet,
                locale=locale, active=True)
    set_password(user, password)
    validate_user(user)
    session.add(user)
    return user
