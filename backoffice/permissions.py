"""Who may do what (R-ROLE-1..3): the role sets, defined once, and the verdict every
aggregate's `actions(...)` answers with.

Each service module that owns an aggregate (approval request, fee claim, fee batch, parts
request, parts return, parts account, reconciliation) has an `actions(session, record, user)`
returning `{action name: Verdict}`. The service's guards `require` the verdict before acting
and the views render buttons and "why not" texts from the same verdicts, so the rule is
written once. Tickets do the same through `workflow.available` (the transition table).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from models.choices import Role

from .errors import DomainError

ADMINS = frozenset({Role.ADMIN})
# Decide approvals, adjust parts accounts, override warranty, score appraisals (R-APR-*).
MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
# The service center's own staff: they see every outlet (R-ROLE-1), audit claims, issue
# statements, review requests, make return visits (R-ROLE-3).
CENTER = MANAGERS | {Role.CLERK}
# Who registers and runs tickets at a desk: the center and the dealer outlets.
DESK = CENTER | {Role.DEALER}
# Who may take a hands-on ticket step: the desk and the engineers.
WORKERS = DESK | {Role.ENGINEER}
# The company's own employees (not the dealers'): they are appraised (R-APP-*) and have
# "my tickets".
EMPLOYEES = CENTER | {Role.ENGINEER}
EVERYONE = frozenset(Role)


class NotAllowed(DomainError):
    default_message = _l("You may not do that.")


@dataclass(frozen=True)
class Verdict:
    """May this user take this action on this record now? If not, `reason` says why, in
    words the user reads next to the greyed-out button."""

    allowed: bool
    reason: object = ""
    # Refused for the user's role alone: that user never has the button (a forged request may
    # get a 403 rather than an explanation).
    for_role: bool = False
    # Worth explaining where the button would be (the record's state, four eyes …); a refusal
    # that says nothing the user can act on or wait for is not shown.
    hint: bool = True

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Verdict(True)
NOT_YOUR_ROLE = _l("Your role may not do this.")


def refuse(reason, *, hint: bool = True) -> Verdict:
    return Verdict(False, reason, hint=hint)


def role_in(user, roles: Iterable[str], reason=NOT_YOUR_ROLE) -> Verdict:
    """The first check of most actions: the user's role."""
    return ALLOWED if getattr(user, "role", None) in roles else Verdict(False, reason, for_role=True, hint=False)


def first_refusal(*verdicts: Verdict) -> Verdict:
    """All must allow; the first refusal is the reason given."""
    return next((v for v in verdicts if not v), ALLOWED)


def why_not(actions: Mapping[str, Verdict]) -> dict[str, object]:
    """{action: reason} for the buttons withheld with a reason worth a hint where the button
    would be (the record's state, four eyes …)."""
    return {name: v.reason for name, v in actions.items() if not v and v.hint}


def require(actions: Mapping[str, Verdict], name: str, error: type[DomainError] = NotAllowed) -> None:
    """The service guard: raise `error` with the refusal's reason unless `name` is allowed
    (a service keeps its own error class where callers tell refusals apart)."""
    verdict = actions.get(name)
    if verdict is None or not verdict:
        raise error(getattr(verdict, "reason", "") or error.default_message)
