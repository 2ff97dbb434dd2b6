"""Policy values: every number of the rule book is a keyed setting with a default."""
import pytest

from backoffice import policy


def test_unknown_policy_key_is_an_error(session):
    with pytest.raises(KeyError):
        policy.value(session, "no.such.policy")
