"""The parts account of each outlet and its append-only ledger (R-PART-2, R-PART-8).

`post()` is the only way a balance moves: one atomic UPDATE ... RETURNING that refuses to go
below zero, and one entry whose UNIQUE `source` (document + line, see backoffice.ledger_source)
makes a retried or double-clicked posting book once. Both happen inside a SAVEPOINT, so a
refused or duplicate posting leaves the caller's transaction as it was.

Who may do what with an account: `actions(session, account, user)` gives, per action
("grant_quota", "adjust"), allowed or the reason why not. The guards of `grant_quota`,
`adjust` and `check_correction` require it, and the statement page shows its buttons from it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from models import AuditEntry, LedgerEntry, Outlet, PartsAccount, utcnow
from models.choices import LedgerKind

from . import policy
from .access import UNSCOPED
from .errors import DomainError, FieldErrors
from .ledger_source import Source
from .money import MAX_AMOUNT, ZERO, fits, money
from .permissions import ALLOWED, CENTER, MANAGERS, Verdict, refuse, require, role_in

K = LedgerKind
# What an account can hold: its Numeric(12, 2) column.
MAX_BALANCE = MAX_AMOUNT


class OverQuota(DomainError):
    default_message = _l("Not enough left on the parts account: buy these parts, or ask a manager "
                         "to approve a quality incident.")

    def __init__(self, available: Decimal, needed: Decimal):
        super().__init__(_l("Only ¥%(available)s is left on the parts account and ¥%(needed)s is "
                            "needed: buy these parts, or ask a manager to approve a quality incident.",
                            available=available, needed=needed))
        self.available, self.needed = available, needed


def quota_for(session: Session, outlet: Outlet) -> Decimal:
    """R-PART-2: a share (policy) of the outlet's total purchases from the company."""
    return money(outlet.total_purchase_amount * policy.value(session, "parts.quota_rate"))


def account_of(session: Session, outlet_id: int) -> PartsAccount:
    """The outlet's account, opened (empty) on first use; safe when two requests open it at once."""
    found = session.scalar(select(PartsAccount).where(PartsAccount.outlet_id == outlet_id)
                           .execution_options(**UNSCOPED))
    if found is not None:
        return found
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(PartsAccount).values(
        outlet_id=outlet_id, balance=ZERO, quota=ZERO, created_at=utcnow(),
        updated_at=utcnow()).on_conflict_do_nothing(index_elements=["outlet_id"]))
    return session.scalar(select(PartsAccount).where(PartsAccount.outlet_id == outlet_id)
                          .execution_options(**UNSCOPED))


def balance_of(session: Session, outlet_id: int) -> Decimal:
    """What the outlet may still draw on account (read only: no account yet means nothing)."""
    found = session.scalar(select(PartsAccount.balance).where(PartsAccount.outlet_id == outlet_id)
                           .execution_options(**UNSCOPED))
    return money(found or 0)


def locked_account(session: Session, outlet_id: int) -> PartsAccount:
    """The account row locked until commit: serialises an outlet's requests (PostgreSQL)."""
    account = account_of(session, outlet_id)
    return session.scalar(select(PartsAccount).where(PartsAccount.id == account.id)
                          .with_for_update().execution_options(**UNSCOPED, populate_existing=True))


def post(session: Session, outlet_id: int, kind: K, delta: Decimal, *, source: Source | str, actor=None,
         reason: str = "", cash: Decimal = ZERO, part_id: int | None = None,
         qty: int | None = None, at: datetime | None = None) -> LedgerEntry:
    """Book one movement exactly once; OverQuota when the balance would go below zero."""
    source = str(source)
    existing = _by_source(session, source)
    if existing is not None:
        return existing
    account = account_of(session, outlet_id)
    delta, cash = money(delta), money(cash)
    # Rounded to the cent in SQL: SQLite keeps NUMERIC as binary floating point, where
    # 0.70 + 0.10 - 0.80 < 0 (a no-op on PostgreSQL's exact numeric).
    current = func.round(PartsAccount.balance, 2)
    try:
        with session.begin_nested():
            balance = session.execute(
                update(PartsAccount)
                .where(PartsAccount.id == account.id, current >= -delta)
                .values(balance=func.round(PartsAccount.balance + delta, 2), updated_at=utcnow())
                .returning(PartsAccount.balance)
                .execution_options(synchronize_session=False)).scalar_one_or_none()
            if balance is None:
                # The same posting may have been booked while this one waited for the row: it
                # took the room, and the caller gets that entry, not a refusal.
                twin = _by_source(session, source)
                if twin is not None:
                    return twin
                session.expire(account, ["balance"])
                raise OverQuota(money(account.balance), -delta)
            entry = LedgerEntry(account_id=account.id, outlet_id=outlet_id, kind=K(kind).value,
                                delta=delta, cash_amount=cash, balance_after=money(balance),
                                part_id=part_id, qty=qty, source=source, reason=reason,
                                actor_id=getattr(actor, "id", None), at=at or utcnow())
            session.add(entry)
            session.flush()
    except IntegrityError:  # the same source was booked at the same moment by someone else
        existing = _by_source(session, source)
        if existing is None:
            raise
        return existing
    finally:
        session.expire(account, ["balance", "updated_at"])
    return entry


def _by_source(session: Session, source: Source | str) -> LedgerEntry | None:
    return session.scalar(select(LedgerEntry).where(LedgerEntry.source == str(source))
                          .execution_options(**UNSCOPED))


def purchases_last_changed_by(session: Session, outlet: Outlet) -> int | None:
    """Who last set the outlet's purchase amount, from the audit trail: a raised quota credits
    the account, so whoever raised the purchases does not also grant it (R-ROLE-2)."""
    entries = session.scalars(select(AuditEntry).where(
        AuditEntry.table_name == Outlet.__tablename__, AuditEntry.record_id == str(outlet.id))
        .order_by(AuditEntry.id.desc()).limit(50).execution_options(**UNSCOPED))
    return next((e.actor_id for e in entries if "total_purchase_amount" in (e.changes or {})), None)


# Why an action on an account is withheld (`actions`); the guards raise permissions.NotAllowed
# with it.
QUOTA_ROLE = _l("Only the service center brings a quota in line.")
QUOTA_IN_LINE = _l("The quota is in line with the outlet's purchases.")
QUOTA_FOUR_EYES = _l("You changed this outlet's purchases: another person brings its quota in line (four eyes).")
ADJUST_ROLE = _l("Only a manager adjusts a parts account.")


def actions(session: Session, account: PartsAccount, user) -> dict[str, Verdict]:
    """What `user` may do with `account` now, per action, or why not:

    - "grant_quota": bring the quota in line with the outlet's purchases (R-PART-2): the service
      center; not when it is in line already; not by whoever last raised the purchases (R-ROLE-2).
    - "adjust": a correction with a reason (R-PART-8): a manager."""
    return {"grant_quota": _may_grant_quota(session, account, user),
            "adjust": role_in(user, MANAGERS, ADJUST_ROLE)}


def _may_grant_quota(session: Session, account: PartsAccount, user) -> Verdict:
    if not (verdict := role_in(user, CENTER, QUOTA_ROLE)):
        return verdict
    target = quota_for(session, account.outlet)
    if target == account.quota:
        return refuse(QUOTA_IN_LINE)
    if target > account.quota and purchases_last_changed_by(session, account.outlet) == user.id:
        return refuse(QUOTA_FOUR_EYES)
    return ALLOWED


def grant_quota(session: Session, outlet: Outlet, actor=None, at: datetime | None = None) -> LedgerEntry | None:
    """Bring the account's quota in line with the outlet's purchases (R-PART-2); nothing when
    it is in line. `actor` None is the system (the demo world, test fixtures).

    A lower quota takes back only what is not drawn: the balance never goes below zero."""
    account = locked_account(session, outlet.id)
    target = quota_for(session, outlet)
    change = target - account.quota
    if change == 0:
        return None
    if actor is not None:
        require(actions(session, account, actor), "grant_quota")
    if change < 0:
        change = -min(-change, account.balance)
    at = at or utcnow()
    entry = post(session, outlet.id, K.QUOTA, change, actor=actor, at=at, source=Source.quota(account.id, at),
                 reason=f"{account.quota} → {target}")
    session.execute(update(PartsAccount).where(PartsAccount.id == account.id).values(quota=target)
                    .execution_options(synchronize_session=False))
    session.expire(account, ["quota"])
    return entry


TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
FORM_USED = _l("This form was used already: reload the page and enter the adjustment again.")


def _require_adjuster(session: Session, outlet_id: int, actor) -> None:
    require(actions(session, account_of(session, outlet_id), actor), "adjust")


def check_correction(session: Session, outlet_id: int, actor, delta: Decimal | None, reason: str,
                     token: str) -> None:
    """What a manager's correction of an account needs: the role, a fresh form, an amount that
    keeps the balance within 0 … the column's capacity, and the reason (R-PART-8)."""
    _require_adjuster(session, outlet_id, actor)
    errors = {}
    if not TOKEN_RE.match(token or ""):
        errors["adjust_amount"] = _l("This form has expired: reload the page and enter the adjustment again.")
    elif not delta:
        errors["adjust_amount"] = _l("Give the amount in yuan: 50.00 credits the account, -50.00 debits it.")
    else:
        balance = balance_of(session, outlet_id)
        if balance + delta < 0:
            errors["adjust_amount"] = _l("Only ¥%(available)s is left on the account: it cannot go below zero.",
                                         available=balance)
        elif not fits(balance + delta):
            errors["adjust_amount"] = _l("An amount in yuan, e.g. 120.50.")
    if not (reason or "").strip():
        errors["adjust_reason"] = _l("Say why the account is adjusted.")
    if errors:
        raise FieldErrors(errors)


def adjust(session: Session, outlet_id: int, actor, delta: Decimal | None, reason: str, token: str) -> LedgerEntry:
    """A manager's debit of an account, with its reason, posted at once (R-PART-8). `token` is
    the form's one-time key: the same form sent twice books once (and says so, whatever the
    balance is now); a form used already for another amount is refused. A credit needs
    another manager (network_approvals)."""
    _require_adjuster(session, outlet_id, actor)
    source = Source.adjustment(outlet_id, token)
    booked = _by_source(session, source) if TOKEN_RE.match(token or "") else None
    if booked is not None:
        if delta is not None and booked.delta == money(delta) and booked.reason == (reason or "").strip():
            return booked
        raise FieldErrors({"adjust_amount": FORM_USED})
    check_correction(session, outlet_id, actor, delta, reason, token)
    if delta > 0:
        raise DomainError(_l("A credit to a parts account needs another manager's approval."))
    try:
        return post(session, outlet_id, K.ADJUSTMENT, delta, source=source, actor=actor, reason=reason.strip())
    except OverQuota as exc:  # drawn on since the check
        raise FieldErrors({"adjust_amount": _l("Only ¥%(available)s is left on the account: it cannot go below "
                                               "zero.", available=exc.available)}) from None


def check_headroom(session: Session, outlet_id: int, credit: Decimal) -> None:
    """A credit keeps the balance within what the account can hold (Numeric(12, 2))."""
    if not fits(balance_of(session, outlet_id) + credit):
        raise DomainError(_l("This credit would take the account beyond ¥%(max)s: correct the amount.",
                             max=f"{MAX_AMOUNT:,.2f}"))


# Movements of company parts held on account: issued (-), and back by credit or cash charge (+).
HELD_KINDS = (K.ISSUE.value, K.RETURN_CREDIT.value, K.CHARGE.value)


def held_on_account(session: Session, outlet_ids) -> dict[int, Decimal]:
    """{outlet id: value of the company's parts the outlet holds on account} (R-PART-2): what was
    issued on account and is not yet credited back or paid. Quota minus balance is not that
    once an account has been corrected or credited beyond its quota. One query for a page."""
    ids = sorted(set(outlet_ids))
    if not ids:
        return {}
    rows = session.execute(select(LedgerEntry.outlet_id, func.sum(LedgerEntry.delta))
                           .where(LedgerEntry.outlet_id.in_(ids), LedgerEntry.kind.in_(HELD_KINDS))
                           .group_by(LedgerEntry.outlet_id)).all()
    found = {outlet_id: money(-(total or 0)) for outlet_id, total in rows}
    return {outlet_id: found.get(outlet_id, ZERO) for outlet_id in ids}


@dataclass
class Statement:
    """An outlet's account between two instants: opening, every movement, closing (R-PART-7)."""

    outlet_id: int
    start: datetime
    end: datetime
    opening: Decimal
    entries: list[LedgerEntry] = field(default_factory=list)

    @property
    def closing(self) -> Decimal:
        return self.opening + sum((e.delta for e in self.entries), ZERO)

    @property
    def cash_total(self) -> Decimal:
        return sum((e.cash_amount for e in self.entries), ZERO)

    def total(self, kind: str) -> Decimal:
        return sum((e.delta for e in self.entries if e.kind == kind), ZERO)

    @property
    def issued(self) -> Decimal:
        return -self.total(K.ISSUE.value)

    @property
    def credited(self) -> Decimal:
        return self.total(K.RETURN_CREDIT.value)


def statement(session: Session, outlet_id: int, start: datetime, end: datetime) -> Statement:
    """Entries with start <= at < end; the opening is the balance after the last earlier entry."""
    before = session.scalar(select(LedgerEntry.balance_after).where(
        LedgerEntry.outlet_id == outlet_id, LedgerEntry.at < start)
        .order_by(LedgerEntry.at.desc(), LedgerEntry.id.desc()).limit(1))
    entries = session.scalars(select(LedgerEntry).where(
        LedgerEntry.outlet_id == outlet_id, LedgerEntry.at >= start, LedgerEntry.at < end)
        .order_by(LedgerEntry.at, LedgerEntry.id).options(selectinload(LedgerEntry.part))).all()
    return Statement(outlet_id, start, end, money(before or 0), list(entries))


def entries_before(session: Session, outlet_id: int, instant: datetime) -> int:
    return session.scalar(select(func.count(LedgerEntry.id)).where(
        LedgerEntry.outlet_id == outlet_id, LedgerEntry.at < instant).execution_options(**UNSCOPED))


@event.listens_for(LedgerEntry, "before_update")
@event.listens_for(LedgerEntry, "before_delete")
def _append_only(mapper, connection, target):  # R-PART-8, the ORM's wall before the database's
    raise DomainError(_l("Ledger entries are never changed: post an adjustment with a reason."))
