"""Monthly reconciliation of each outlet's parts account (R-PART-7): both sides sign.

    issued ──(outlet confirms)──▶ confirmed ──(center closes)──▶ closed
      │  ▲
      │  └──(center resolves: corrections or no change; reissued, revision + 1)──┐
      └──(outlet disputes with its reason)──▶ disputed ──────────────────────────┘

- Issued: for every outlet when a month ends, by `flask issue-statements` that a scheduler runs
  (`issue_due(session, today)`, also for a task queue), or by the center's button; idempotent.
- Only the outlet (a dealer of that outlet) confirms or disputes its statement; the center
  never confirms for it. Until the outlet has confirmed last month, no further supply.
- The center resolves a dispute with a recorded outcome: correction entries (each an amount
  ± and its reason, booked through `ledger.post` as ADJUSTMENT, once per line: source
  "reconciliation:<dispute id>:<line n>"; the balance never goes below zero), or no change
  with the reason. A correction that credits the account (+) is a manager's decision, as
  every credit to a parts account is (R-PART-8, R-ROLE-2): a clerk resolves with no change
  or with debits only. Resolving reissues the statement (revision + 1, open again) and only the
  outlet confirms the reissued one (or disputes it again).
- History: each dispute (`ReconciliationDispute`) keeps the revision it disputed with that
  revision's figures, the reason and who disputed, and the outcome: the corrections with
  their reasons or the no-change reason, who resolved it and when.

Corrections and the month they correct: the ledger is append-only and in time order, so a
correction is booked when the dispute is resolved (in a later month), never back-dated. The
reissued statement of the disputed month shows the month's own movements unchanged, then a
separate "corrections" section (the resolutions' entries), and its closing adjusted:
closing = the month's closing + corrections, the balance the outlet confirms. The month the
corrections are booked in shows them again as ordinary movements (their reason names the
month corrected): that month opens at the ledger's balance and closes at the account's
balance, so each statement adds up to the cent on its own and the account is never moved
twice. `PartsReconciliation.corrections` is the sum of the month's corrections, `closing`
already includes it.

Who may do what: `actions(session, record, user)` gives, per action, allowed or the reason
why not: "issue" (the month's statements) when `record` is None; "confirm", "dispute",
"resolve", "resolve_with_credit" (a resolution with a correction that credits the account)
and "close" for a month's record. The services require it before acting; the
screens show their buttons from it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import LedgerEntry, Outlet, PartsAccount, PartsReconciliation, User, utcnow
from models.choices import DisputeOutcome, LedgerKind, ReconciliationStatus, Role
from models.parts_ledger import ReconciliationDispute

from . import ledger, recipients
from .access import UNSCOPED, outlet_subtree
from .errors import DomainError, FieldErrors
from .ledger_source import Source
from .money import ZERO, fits, money
from .months import month_end, next_month, previous_month
from .permissions import ALLOWED, CENTER, MANAGERS, Verdict, first_refusal, refuse, require, role_in
from .timezones import format_local, local_day_bounds

R = ReconciliationStatus
O = DisputeOutcome  # noqa: E741
SETTLED = (R.CONFIRMED.value, R.CLOSED.value)
# The source of a resolution's correction line: "reconciliation:<dispute id>:<line n>".
RECONCILIATION = "reconciliation"
STATEMENT_PAGE = "parts_month.details_view"  # views: the month's statement, endpoint "parts_month"
CORRECTION_LINES = 3  # rows of the resolve form

# Why an action on a month is withheld.
ISSUE_ROLE = _l("Only the service center issues statements.")
ANSWER_ROLE = _l("Only the outlet confirms or disputes its statement.")
RESOLVE_ROLE = _l("Only the service center resolves a dispute.")
CREDIT_ROLE = _l("Only a manager credits the outlet's account (a positive amount): you may resolve with "
                 "no change or with debits, e.g. -50.00.")
CLOSE_ROLE = _l("Only the service center closes a month.")
ALREADY_CONFIRMED = _l("This month is already confirmed.")
AWAITING_RESOLUTION = _l("The statement is disputed: the service center resolves the dispute and reissues it.")
NOT_OPEN = _l("Only an open statement can be disputed.")
NOT_DISPUTED = _l("Only a disputed statement is resolved.")
NOT_CONFIRMED = _l("The outlet must confirm the statement before the month is closed.")
ALREADY_CLOSED = _l("This month is already closed.")


def actions(session: Session, record: PartsReconciliation | None, user) -> dict[str, Verdict]:
    """What `user` may do now, per action, or why not.

    - record None, "issue": last month's statements for every outlet: the service center.
    - "confirm": a dealer of the statement's outlet; an open (or reissued) statement.
    - "dispute": the same people; an open statement.
    - "resolve": the service center; a disputed statement.
    - "resolve_with_credit": the same, with a correction that credits the account: a manager
      (R-PART-8: a credit to a parts account is never a clerk's).
    - "close": the service center; a confirmed month."""
    if record is None:
        return {"issue": role_in(user, CENTER, ISSUE_ROLE)}
    status = R(record.status)
    answering = _the_outlet(session, record, user)
    resolving = first_refusal(role_in(user, CENTER, RESOLVE_ROLE),
                              ALLOWED if status == R.DISPUTED else refuse(NOT_DISPUTED, hint=False))
    return {
        "confirm": first_refusal(answering, _confirmable(status)),
        "dispute": first_refusal(answering, ALLOWED if status == R.OPEN else refuse(
            AWAITING_RESOLUTION if status == R.DISPUTED else NOT_OPEN, hint=status == R.DISPUTED)),
        "resolve": resolving,
        # Shown next to the correction rows of the clerk's form, and said on a credit's amount.
        "resolve_with_credit": first_refusal(resolving, ALLOWED if role_in(user, MANAGERS) else refuse(CREDIT_ROLE)),
        "close": first_refusal(role_in(user, CENTER, CLOSE_ROLE), _closable(status)),
    }


def _the_outlet(session: Session, record: PartsReconciliation, user) -> Verdict:
    """R-PART-7: the outlet signs its own statement; a dealer's outlets are its outlet and the
    outlet's sub-outlets (as the row scope). A retired outlet has no one left who can sign in
    (backoffice.retirement): its final statement is signed on paper, and the center records
    that signature."""
    if not record.outlet.active and role_in(user, CENTER):
        return ALLOWED
    if getattr(user, "role", None) != Role.DEALER or user.outlet_id is None \
            or record.outlet_id not in outlet_subtree(session, user.outlet_id):
        return Verdict(False, ANSWER_ROLE, for_role=True, hint=False)
    return ALLOWED


def _confirmable(status: R) -> Verdict:
    if status == R.OPEN:
        return ALLOWED
    return refuse(AWAITING_RESOLUTION if status == R.DISPUTED else ALREADY_CONFIRMED)


def _closable(status: R) -> Verdict:
    if status == R.CONFIRMED:
        return ALLOWED
    return refuse(ALREADY_CLOSED if status == R.CLOSED else NOT_CONFIRMED)


# --- figures ------------------------------------------------------------------------------------

def month_bounds(month: date):
    """The month's first local midnight and the next month's, as UTC instants."""
    return local_day_bounds(month, month_end(month))


def month_statement(session: Session, outlet_id: int, month: date) -> ledger.Statement:
    return ledger.statement(session, outlet_id, *month_bounds(month))


@dataclass
class MonthFigures:
    """A month's statement as issued (R-PART-7): its own movements (`statement`), then the
    corrections of its resolved disputes, booked later; the closing includes them."""

    statement: ledger.Statement
    corrections: list[LedgerEntry] = field(default_factory=list)

    @property
    def opening(self) -> Decimal:
        return self.statement.opening

    @property
    def corrections_total(self) -> Decimal:
        return sum((e.delta for e in self.corrections), ZERO)

    @property
    def closing(self) -> Decimal:
        return self.statement.closing + self.corrections_total

    @property
    def cash_total(self) -> Decimal:
        return self.statement.cash_total + sum((e.cash_amount for e in self.corrections), ZERO)


def correction_source(dispute: ReconciliationDispute, line_no: int) -> Source:
    return Source(RECONCILIATION, dispute.id, str(line_no))


def corrections_of(session: Session, record: PartsReconciliation) -> dict[int, list[LedgerEntry]]:
    """{dispute id: its correction entries, in line order} for the month's resolved disputes."""
    ids = [d.id for d in record.disputes if d.outcome == O.CORRECTIONS]
    found: dict[int, list[LedgerEntry]] = {dispute_id: [] for dispute_id in ids}
    if not ids:
        return found
    entries = session.scalars(select(LedgerEntry).where(or_(*(
        LedgerEntry.source.like(f"{RECONCILIATION}:{dispute_id}:%") for dispute_id in ids)))
        .order_by(LedgerEntry.id).execution_options(**UNSCOPED)).all()
    for entry in entries:
        found[int(entry.source.split(":")[1])].append(entry)
    return found


def month_figures(session: Session, record: PartsReconciliation) -> MonthFigures:
    """The statement as it stands now (revision `record.revision`)."""
    statement = month_statement(session, record.outlet_id, record.month)
    corrections = [e for entries in corrections_of(session, record).values() for e in entries]
    booked = {e.id for e in corrections}
    statement.entries = [e for e in statement.entries if e.id not in booked]  # never counted twice
    return MonthFigures(statement, corrections)


# --- issue ------------------------------------------------------------------------------------

def issue(session: Session, outlet_id: int, month: date, actor: User | None = None) -> PartsReconciliation:
    """The month's record with its figures (idempotent: an issued month is returned as is, also
    when a second click issued it at the same moment). `actor` None is the system (the
    scheduled command, the demo)."""
    return _issue(session, outlet_id, month, actor)[0]


def _issue(session: Session, outlet_id: int, month: date, actor: User | None) -> tuple[PartsReconciliation, bool]:
    """(the month's record, whether this call issued it)."""
    if actor is not None:
        require(actions(session, None, actor), "issue")
    found = _find(session, outlet_id, month)
    if found is not None:
        return found, False
    figures = month_statement(session, outlet_id, month)
    record = PartsReconciliation(outlet_id=outlet_id, month=month, opening=figures.opening,
                                 closing=figures.closing, cash_total=figures.cash_total)
    try:
        with session.begin_nested():  # the UNIQUE (outlet, month): the twin's record is the month's
            session.add(record)
            session.flush()
    except IntegrityError:
        found = _find(session, outlet_id, month)
        if found is None:
            raise
        return found, False
    # Issue 17: the outlet's dealers, who sign the statement, hear of it (R-PART-7).
    recipients.tell_outlet_of(session, record, "statement_issued", "", STATEMENT_PAGE,
                              month=f"{record.month:%Y-%m}", revision=record.revision or 1)
    return record, True


def due_outlets(session: Session, month: date) -> list[int]:
    """The outlets that owe a statement of `month`: every dealer outlet whose parts account was
    in use by the month's end (an entry before it: exactly the accounts whose supply waits for
    the month's confirmation), active or, when retired, with movements in the month (its final
    statement). An account never used has nothing to confirm. Every entry belongs to an
    account (ledger_entry.account_id), so the accounts' outlets are all the candidates."""
    start, end = month_bounds(month)
    used_by_end = exists().where(LedgerEntry.outlet_id == Outlet.id, LedgerEntry.at < end)
    moved_in_month = exists().where(LedgerEntry.outlet_id == Outlet.id, LedgerEntry.at >= start,
                                    LedgerEntry.at < end)
    return list(session.scalars(
        select(Outlet.id).join(PartsAccount, PartsAccount.outlet_id == Outlet.id)
        .where(Outlet.is_service_center.is_(False), used_by_end, or_(Outlet.active.is_(True), moved_in_month))
        .order_by(Outlet.id).execution_options(**UNSCOPED)))


def issue_all(session: Session, month: date, actor: User) -> list[PartsReconciliation]:
    """The month's statements of every outlet that owes one (idempotent): the center's button."""
    require(actions(session, None, actor), "issue")
    return [issue(session, outlet_id, month) for outlet_id in due_outlets(session, month)]


def issue_month(session: Session, month: date) -> list[PartsReconciliation]:
    """The system issues `month`'s statements; only those issued now are returned (a second run
    issues nothing)."""
    issued = [_issue(session, outlet_id, month, None) for outlet_id in due_outlets(session, month)]
    return [record for record, new in issued if new]


def issue_due(session: Session, today: date) -> list[PartsReconciliation]:
    """When a month has ended: last month's statements for every outlet (R-PART-7), run by
    `flask issue-statements` from a scheduler (or a task queue); idempotent."""
    return issue_month(session, previous_month(today))


def ended(month: date, today: date) -> bool:
    return next_month(month) <= today


def _find(session: Session, outlet_id: int, month: date) -> PartsReconciliation | None:
    return session.scalar(select(PartsReconciliation).where(
        PartsReconciliation.outlet_id == outlet_id, PartsReconciliation.month == month)
        .execution_options(**UNSCOPED))


def supply_blocked(session: Session, outlet_id: int, today: date) -> bool:
    """R-PART-7: the account was in use before this month and the outlet has not confirmed last
    month (a quiet month is confirmed too: the outlet agrees with the balance carried over)."""
    last = previous_month(today)
    start, _ = month_bounds(today.replace(day=1))
    if not ledger.entries_before(session, outlet_id, start):
        return False
    found = _find(session, outlet_id, last)
    return found is None or found.status not in SETTLED


# --- the outlet answers, the center resolves and closes -----------------------------------------

def confirm(session: Session, record: PartsReconciliation, actor: User) -> None:
    """The outlet's written confirmation of the statement (its current revision)."""
    require(actions(session, record, actor), "confirm")
    record.status, record.confirmed_by, record.confirmed_at = R.CONFIRMED.value, actor, utcnow()


def dispute(session: Session, record: PartsReconciliation, actor: User, reason: str,
            at: datetime | None = None) -> ReconciliationDispute:
    """The outlet disputes the statement with its reason; the disputed revision's figures are
    kept with the dispute."""
    require(actions(session, record, actor), "dispute")
    reason = (reason or "").strip()
    if not reason:
        raise FieldErrors({"dispute_reason": _l("Say which movement is wrong and why.")})
    found = ReconciliationDispute(
        reconciliation=record, outlet_id=record.outlet_id, revision=record.revision, opening=record.opening,
        closing=record.closing, cash_total=record.cash_total, reason=reason, disputed_by=actor,
        disputed_at=at or utcnow())
    session.add(found)
    record.status, record.dispute_reason = R.DISPUTED.value, reason
    session.flush()
    return found


@dataclass
class CorrectionDraft:
    """One line of a resolution: an amount on account (+ credits, − debits) and its reason."""

    amount: Decimal | None
    reason: str = ""


def open_dispute(record: PartsReconciliation) -> ReconciliationDispute | None:
    return next((d for d in reversed(record.disputes) if d.outcome is None), None)


def resolve(session: Session, record: PartsReconciliation, actor: User, outcome: str,
            corrections: list[CorrectionDraft], note: str = "", at: datetime | None = None) -> ReconciliationDispute:
    """The center resolves the open dispute with a recorded outcome, then reissues the statement
    (revision + 1, open for the outlet to confirm). Corrections are booked now (never
    back-dated), each line once; all lines or none; a line that credits the account needs
    "resolve_with_credit" (a manager), else it is refused on its amount. Two center users resolving at once: the
    month's row is locked, the second finds it resolved and is told by whom (on SQLite the
    version counter refuses the second)."""
    record = _locked(session, record)
    _refuse_resolved(session, record, actor)
    verdicts = actions(session, record, actor)
    require(verdicts, "resolve")
    at = at or utcnow()
    _check_resolution(session, record, outcome, corrections, note, verdicts["resolve_with_credit"])
    found = open_dispute(record)
    if found is None:  # disputed under the older schema without its row: nothing to resolve against
        raise DomainError(NOT_DISPUTED)
    posted = _post_corrections(session, record, found, actor, corrections, at) if outcome == O.CORRECTIONS else []
    found.outcome, found.outcome_note = O(outcome).value, (note or "").strip()
    found.corrections = sum((e.delta for e in posted), ZERO) if outcome == O.CORRECTIONS else None
    found.resolved_by, found.resolved_at = actor, at
    _reissue(session, record)
    # Issue 17: the corrected statement waits for the dealers' confirmation again (R-PART-7).
    recipients.tell_outlet_of(session, record, "statement_reissued", f"r{record.revision}", STATEMENT_PAGE,
                              month=f"{record.month:%Y-%m}", revision=record.revision)
    return found


def _locked(session: Session, record: PartsReconciliation) -> PartsReconciliation:
    """The month's row locked until commit (PostgreSQL), read afresh."""
    return session.scalar(select(PartsReconciliation).where(PartsReconciliation.id == record.id)
                          .with_for_update().execution_options(**UNSCOPED, populate_existing=True))


def _refuse_resolved(session: Session, record: PartsReconciliation, actor: User) -> None:
    """The one who comes second (the row was resolved while they waited for it) is told by whom."""
    if record.status != R.OPEN or not role_in(actor, CENTER):
        return
    last = session.scalar(select(ReconciliationDispute).where(
        ReconciliationDispute.reconciliation_id == record.id, ReconciliationDispute.resolved_at.is_not(None))
        .order_by(ReconciliationDispute.id.desc()).limit(1)
        .execution_options(**UNSCOPED, populate_existing=True))
    if last is not None:
        who = last.resolved_by.full_name if last.resolved_by else "—"
        raise DomainError(_l("This dispute was resolved already by %(who)s at %(when)s: reload the page to "
                             "see the reissued statement.", who=who, when=format_local(last.resolved_at)))


def _check_resolution(session: Session, record: PartsReconciliation, outcome: str,
                      corrections: list[CorrectionDraft], note: str, crediting: Verdict) -> None:
    errors = {}
    if outcome not in {o.value for o in O}:
        errors["outcome"] = _l("Choose: correction entries, or no change.")
    filled = [n for n, line in enumerate(corrections) if line.amount is not None or (line.reason or "").strip()]
    for n in filled:
        errors.update(_line_errors(n, corrections[n], outcome))
        if outcome == O.CORRECTIONS and (corrections[n].amount or ZERO) > 0 and not crediting:
            errors[f"correction-{n}-amount"] = crediting.reason  # R-PART-8: a credit is a manager's
    if outcome == O.CORRECTIONS and not filled:
        errors["correction-0-amount"] = _l("Give at least one correction: an amount and its reason.")
    if outcome == O.NO_CHANGE and not (note or "").strip():
        errors["resolution_note"] = _l("Say why the statement stands as issued.")
    if not errors and outcome == O.CORRECTIONS:
        errors.update(_balance_errors(session, record.outlet_id, corrections))
    if errors:
        raise FieldErrors(errors)


def _line_errors(n: int, line: CorrectionDraft, outcome: str) -> dict:
    if outcome == O.NO_CHANGE:
        return {f"correction-{n}-amount": _l("No change: leave the correction lines empty.")}
    if not line.amount:
        return {f"correction-{n}-amount": _l("Give the amount in yuan: 50.00 credits the account, "
                                             "-50.00 debits it.")}
    if not (line.reason or "").strip():
        return {f"correction-{n}-reason": _l("Say why this correction is made.")}
    return {}


def _balance_errors(session: Session, outlet_id: int, corrections: list[CorrectionDraft]) -> dict:
    """R-PART-8: line by line the balance stays within 0 … what the account can hold."""
    balance = ledger.balance_of(session, outlet_id)
    for n, line in enumerate(corrections):
        if not line.amount:
            continue
        balance += line.amount
        if balance < 0:
            return {f"correction-{n}-amount": _l("Only ¥%(available)s is left on the account: it cannot go below "
                                                 "zero.", available=balance - line.amount)}
        if not fits(balance):
            return {f"correction-{n}-amount": _l("An amount in yuan, e.g. 120.50.")}
    return {}


def _post_corrections(session: Session, record: PartsReconciliation, found: ReconciliationDispute, actor: User,
                      corrections: list[CorrectionDraft], at: datetime) -> list[LedgerEntry]:
    posted = []
    with session.begin_nested():  # a refused line undoes the lines posted before it
        for n, line in enumerate(corrections):
            if not line.amount:
                continue
            try:
                posted.append(ledger.post(
                    session, record.outlet_id, LedgerKind.ADJUSTMENT, money(line.amount),
                    source=correction_source(found, n), actor=actor, at=at,
                    reason=f"{record.month:%Y-%m}: {line.reason.strip()}"))
            except ledger.OverQuota as exc:  # drawn on since the check
                raise FieldErrors({f"correction-{n}-amount": exc.message}) from None
    return posted


def _reissue(session: Session, record: PartsReconciliation) -> None:
    """New figures for the month (its movements and every correction so far), revision + 1,
    open for the outlet's confirmation."""
    session.flush()
    figures = month_figures(session, record)
    record.opening, record.closing, record.cash_total = figures.opening, figures.closing, figures.cash_total
    record.corrections = figures.corrections_total
    record.revision = (record.revision or 1) + 1
    record.status, record.confirmed_by, record.confirmed_at = R.OPEN.value, None, None


def close(session: Session, record: PartsReconciliation, actor: User) -> None:
    require(actions(session, record, actor), "close")
    record.status, record.closed_by, record.closed_at = R.CLOSED.value, actor, utcnow()
