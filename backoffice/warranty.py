"""Warranty verdict of a unit on a given day (R-WAR-1, R-WAR-3, R-WAR-4, R-WAR-5).

The verdict names the window that applies and why, so the ticket can show it and a manager
can override it with a reason.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Part, ReplacedPart, Unit
from models.choices import ProductCategory, TicketKind, WarrantyExclusion, WarrantyWindow

from . import policy
from .labels import LABELS, PolicyLabel, label

# R-WAR-5: the 三包 windows, shortest first, and the policy giving each one's length in days.
SANBAO_WINDOW_DAYS = {
    WarrantyWindow.RETURN: "warranty.return_days",
    WarrantyWindow.EXCHANGE: "warranty.exchange_days",
}
# R-WAR-5: whether a product category is covered by 三包 is a policy (1 = yes).
SANBAO_COVERED = {
    ProductCategory.GAS_WATER_HEATER: "warranty.sanbao.gas_water_heater",
    ProductCategory.RANGE_HOOD: "warranty.sanbao.range_hood",
    ProductCategory.GAS_STOVE: "warranty.sanbao.gas_stove",
    ProductCategory.DISINFECTION_CABINET: "warranty.sanbao.disinfection_cabinet",
    ProductCategory.SHOES: "warranty.sanbao.shoes",
    ProductCategory.OTHER: "warranty.sanbao.other",
}

EXCLUSION_LABELS = {
    WarrantyExclusion.MISUSE: _l("misuse"),
    WarrantyExclusion.THIRD_PARTY: _l("damage by a third party"),
    WarrantyExclusion.TRANSPORT: _l("transport damage"),
    WarrantyExclusion.GAS_SUPPLY_CHANGED: _l("a changed gas supply"),
}

REASONS = {
    "no_invoice": _l("No purchase invoice date on record: the invoice is the warranty proof."),
    "invoice_after_report": _l("The invoice date %(invoice)s is after the report date: check the "
                               "invoice before deciding the warranty."),
    "excluded": _l("Not covered: %(cause)s, even inside the warranty period."),
    "return": _l("Purchased %(days)d days ago: within the %(limit)d-day window for return, "
                 "exchange or repair."),
    "exchange": _l("Purchased %(days)d days ago: within the %(limit)d-day window for exchange "
                   "or repair."),
    "repair": _l("In warranty until %(until)s (%(months)d months from the invoice date): "
                 "repair at the company's cost."),
    "override": _l("Set by %(by)s: %(note)s"),
    "part_replaced": _l("%(part)s was replaced under service on %(on)s and is covered until %(until)s."),
    "key_component": _l("%(part)s is a key component covered for %(months)d months, until %(until)s."),
    "expired": _l("Out of warranty since %(until)s (%(months)d months from the invoice date): "
                  "paid service."),
    # Installation tickets (R-INST-1/2): free or charged, never a 三包 window (R-WAR-5 is for faults).
    "install_free": _l("Free installation: %(model)s is installed free of charge."),
    "install_special": _l("Charged installation: %(model)s is a special-price model, not installed free."),
    "install_not_free": _l("Charged installation: %(model)s is not eligible for free installation."),
    "install_repeat": _l("Charged installation: this unit was already installed under ticket %(ticket)s; "
                         "a repeat installation is charged as agreed with the customer."),
    "install_no_unit": _l("No unit on record: choose the unit to decide whether the installation is free."),
}
# The unit's and a key component's `until` is the first day no longer covered (R-WAR-1); what
# these reasons promise is the last day covered, the day before.
LAST_COVERED_DAY = ("repair", "key_component")
# What the ticket's badge says when it is not simply the window.
BADGES = {
    "no_invoice": _l("No purchase invoice"),
    "invoice_after_report": _l("Invoice dated after the report"),
    "excluded": _l("Not covered: %(cause)s"),
    "install_free": _l("Free installation"),  # R-INST-1
    "install_special": _l("Charged installation"),
    "install_not_free": _l("Charged installation"),
    "install_repeat": _l("Charged installation"),
    "install_no_unit": _l("No unit on record"),
}


@dataclass(frozen=True)
class Verdict:
    in_warranty: bool | None  # None: unknown, no window can be derived (no or a later invoice)
    window: str
    code: str
    params: dict = field(default_factory=dict)

    def _params(self) -> dict:
        params = dict(self.params)
        if "cause" in params:
            params["cause"] = str(EXCLUSION_LABELS[WarrantyExclusion(params["cause"])])
        if self.code in LAST_COVERED_DAY and "until" in params:
            params["until"] = (date.fromisoformat(params["until"]) - timedelta(days=1)).isoformat()
        return params

    @property
    def reason(self) -> str:
        params = self._params()
        return str(REASONS[self.code] % params) if params else str(REASONS[self.code])

    @property
    def badge(self) -> str:
        """What the verdict is, in a word or two: the window, or why there is none. A 三包
        window names the length it was decided under (its `limit`), else the policy's."""
        if self.code not in BADGES:
            text = LABELS[WarrantyWindow].get(self.window)
            if isinstance(text, PolicyLabel) and "limit" in self.params:
                return text.render(days=self.params["limit"])
            return label(WarrantyWindow, self.window)
        params = self._params()
        return str(BADGES[self.code] % params) if params else str(BADGES[self.code])


def add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def sanbao_covered(session: Session, category: str) -> bool:
    key = SANBAO_COVERED.get(category)
    return key is not None and policy.value(session, key) > 0


def verdict(session: Session, unit: Unit | None, on: date, exclusion: str | None = None,
            part: Part | None = None, kind: str | None = None) -> Verdict:
    """The verdict for `unit` on local date `on`, and for the claimed `part` when the unit itself
    is out of warranty (R-WAR-2, R-WAR-6); `exclusion` is a cause of R-WAR-4. An installation
    ticket (`kind`) gets free or charged installation instead (R-INST-1/2)."""
    if kind == TicketKind.INSTALLATION:
        from . import installation  # it builds on this module's Verdict

        return installation.verdict(session, unit)
    result = unit_verdict(session, unit, on, exclusion)
    if result.in_warranty or exclusion or part is None or unit is None:
        return result
    replaced = session.scalar(
        select(ReplacedPart).where(ReplacedPart.unit_id == unit.id, ReplacedPart.part_id == part.id,
                                   ReplacedPart.warranty_until >= on)
        .order_by(ReplacedPart.replaced_on.desc()).limit(1))
    if replaced is not None:  # R-WAR-2
        return Verdict(True, WarrantyWindow.REPAIR.value, "part_replaced",
                       {"part": part.name, "on": replaced.replaced_on.isoformat(),
                        "until": replaced.warranty_until.isoformat()})
    if part.warranty_months and unit.invoice_date:  # R-WAR-6
        until = add_months(unit.invoice_date, part.warranty_months)
        if on < until:
            return Verdict(True, WarrantyWindow.REPAIR.value, "key_component",
                           {"part": part.name, "until": until.isoformat(), "months": part.warranty_months})
    return result


def part_warranty_until(session: Session, replaced_on: date) -> date:
    """R-WAR-2: a part replaced under service is covered for `warranty.part_months`; the result is
    the last day covered (`ReplacedPart.warranty_until >= day`), the day before the months end,
    as for the unit (R-WAR-1)."""
    return add_months(replaced_on, int(policy.value(session, "warranty.part_months"))) - timedelta(days=1)


def unit_verdict(session: Session, unit: Unit | None, on: date, exclusion: str | None = None) -> Verdict:
    if unit is None or unit.invoice_date is None:  # no proof: unknown until an invoice is shown
        return Verdict(None, WarrantyWindow.NONE.value, "no_invoice")
    if unit.invoice_date > on:  # a typing error or a forged invoice: no window can be derived
        return Verdict(None, WarrantyWindow.NONE.value, "invoice_after_report",
                       {"invoice": unit.invoice_date.isoformat()})
    if exclusion:
        return Verdict(False, WarrantyWindow.NONE.value, "excluded", {"cause": exclusion})
    months = unit.product_model.warranty_months
    until = add_months(unit.invoice_date, months)
    days = (on - unit.invoice_date).days
    if sanbao_covered(session, unit.product_model.category):
        for window, key in SANBAO_WINDOW_DAYS.items():
            limit = int(policy.value(session, key))
            if days <= limit:
                return Verdict(True, window.value, window.value, {"days": days, "limit": limit})
    if on < until:
        return Verdict(True, WarrantyWindow.REPAIR.value, "repair",
                       {"until": until.isoformat(), "months": months})
    return Verdict(False, WarrantyWindow.NONE.value, "expired",
                   {"until": until.isoformat(), "months": months})


def apply(ticket, result: Verdict) -> None:
    ticket.in_warranty = result.in_warranty
    ticket.warranty_window = result.window
    ticket.warranty_code = result.code
    ticket.warranty_params = dict(result.params)


def of_ticket(ticket) -> Verdict | None:
    if ticket.warranty_code is None:
        return None
    return Verdict(ticket.in_warranty, ticket.warranty_window, ticket.warranty_code,
                   dict(ticket.warranty_params or {}))


def override(ticket, window: str, note: str, by: str) -> None:
    """A manager's verdict with the reason (R-WAR-5); the audit trail keeps old and new."""
    ticket.in_warranty = window != WarrantyWindow.NONE
    ticket.warranty_window = window
    ticket.warranty_code = "override"
    ticket.warranty_params = {"by": by, "note": note}
