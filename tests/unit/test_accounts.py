"""User accounts: a dealer belongs to an outlet, passwords are long enough, hashed with a KDF,
and a new password ends the sessions signed in with the old one."""
import pytest

from backoffice import accounts
from backoffice.errors import ValidationFailed
from tests import factories as f


def test_dealer_account_needs_an_outlet(session):
    with pytest.raises(ValidationFailed):
        accounts.create_user(session, "dealer9", "password-9", "dealer")


def test_short_password_is_refused(session):
    with pytest.raises(ValidationFailed):
        accounts.create_user(session, "clerk9", "short", "clerk")


def test_passwords_are_hashed_with_a_kdf(session):
    user = accounts.create_user(session, "clerk9", "long-enough-1", "clerk")
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert accounts.verify_password(user, "long-enough-1")
    assert not accounts.verify_password(user, "long-enough-2")


def test_password_change_rotates_the_session_nonce(session):
    user = f.make_user(session, "clerk")
    before = user.get_id()
    accounts.set_password(user, "another-one-1")
    assert user.get_id() != before
