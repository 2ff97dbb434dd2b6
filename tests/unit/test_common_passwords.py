"""A password someone chooses is not one of the common ones."""
import pytest

from backoffice import accounts
from backoffice.errors import ValidationFailed
from tests import factories as f


def test_the_bundled_list_holds_the_ten_thousand_most_common_passwords_and_local_favourites():
    common = accounts.common_passwords()
    assert len(common) >= 10_000
    assert {"123456", "password", "qwerty", "abc123", "111111", "iloveyou", "admin123",
            "woaini", "5201314", "88888888", "1qaz2wsx"} <= common


@pytest.mark.parametrize("password", ["password", "Password", "PASSWORD1", "12345678", "qwertyuiop",
                                      "woaini1314", "a5201314", "admin123", "88888888", "1q2w3e4r",
                                      " iloveyou ", "demo1234"])
def test_a_common_password_is_refused(session, password):
    user = f.user(session, "clerk")
    before = user.password_hash
    with pytest.raises(ValidationFailed, match="too common"):
        accounts.set_password(user, password)
    assert user.password_hash == before
    session.rollback()


def test_an_uncommon_password_is_accepted(session):
    user = f.user(session, "clerk")
    accounts.set_password(user, "Hua-shan-lu-17-hao")
    assert accounts.verify_password(user, "Hua-shan-lu-17-hao")
    session.rollback()


def test_a_new_account_with_a_common_password_is_refused(session):
    with pytest.raises(ValidationFailed, match="too common"):
        accounts.create_user(session, "clerk-new", "password123", "clerk")
    session.rollback()


def test_the_demo_seed_sets_its_published_password_directly(session):
    user = accounts.create_user(session, "demo-seeded", f.DEMO_PASSWORD, "clerk", screened=False)
    assert accounts.verify_password(user, f.DEMO_PASSWORD)
    session.rollback()
