"""What the ticket export adds to the list's columns, so the monthly quality report can be built
in Excel (issue 15, R-RPT-1/2): the unit's product model and serial, the warranty verdict, fault /
cause / remedy codes, the causal part, the ticket it repeats, the return-visit satisfaction, each
SLA clock's outcome (R-SLA-1) and the closing time.

Nothing here queries per row (TicketView.get_export_query / before_export_batch): relationships
come with the batch (`EAGER`), the unit's model and serial with one query per batch (`load_units`).
"""
from __future__ import annotations

from datetime import timedelta

from flask import g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_babel.speaklater import LazyString
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backoffice import sla, warranty
from backoffice.labels import CLOCK_STATES, label
from models import ProductModel, Ticket, Unit, db, utcnow
from models.choices import Clock

from .fields import time_formatter

CLOCK_COLUMNS = tuple(f"clock_{clock.value}" for clock in Clock)
COLUMNS = ("product_model", "serial", "warranty", "fault_code", "cause_code", "remedy_code", "causal_part",
           "repeat_of", "satisfaction", *CLOCK_COLUMNS, "closed_at")


def _clock_header(clock: Clock) -> LazyString:
    return LazyString(lambda: _("SLA: %(clock)s", clock=label(Clock, clock)))


LABELS = {"warranty": _l("Warranty verdict"), "fault_code": _l("Fault code"), "cause_code": _l("Cause code"),
          "remedy_code": _l("Remedy code"), "causal_part": _l("Causal part"), "repeat_of": _l("Repeat of"),
          "satisfaction": _l("Satisfaction"),
          **{f"clock_{clock.value}": _clock_header(clock) for clock in Clock}}

# What each SLA column says: met in time, breached, open (still running), paused (waiting for
# the customer, R-SLA-3); "—" when the ticket has no such clock or did not need it.
OUTCOMES = {"met": CLOCK_STATES["met"], "breached": CLOCK_STATES["breached"],
            "open": lazy_pgettext("sla clock", "open"), "paused": CLOCK_STATES["paused"]}
OUTCOME_OF_STATE = {"met": "met", "breached": "breached", "running": "open", "due_soon": "open",
                    "paused": "paused"}  # "superseded" and "not_needed" say "—"
NONE = "—"

EAGER = (selectinload(Ticket.fault_code), selectinload(Ticket.cause_code), selectinload(Ticket.remedy_code),
         selectinload(Ticket.causal_part), selectinload(Ticket.repeat_of), selectinload(Ticket.return_visits),
         selectinload(Ticket.unit).selectinload(Unit.product_model))


def clock_outcome(ticket: Ticket, clock: str, now) -> str:
    """The clock's outcome on this ticket, the rounds of a reopened ticket together (R-SLA-4):
    breached if any round was breached, else what its latest round says."""
    rounds = [c for c in ticket.clocks if c.clock == clock]
    if not rounds:
        return NONE
    stopped = sla.finished_at(ticket)
    states = [sla.state(c, now, stopped, within=timedelta(0)) for c in rounds]  # "due soon" is open
    current = sla.clock_of(ticket, clock)
    latest = states[rounds.index(current)] if current is not None else states[-1]
    outcome = "breached" if "breached" in states else OUTCOME_OF_STATE.get(latest)
    return str(OUTCOMES[outcome]) if outcome else NONE


def satisfaction(ticket: Ticket) -> int | None:
    """The score (1-5) of the ticket's latest return visit done; None before one is done."""
    done = [v for v in ticket.return_visits if v.done_at is not None]
    latest = max(done, key=lambda v: (v.done_at, v.id), default=None)
    return latest.satisfaction if latest is not None else None


def verdict_badge(ticket: Ticket) -> str:
    """The warranty verdict as the ticket page's badge says it (window, or why there is none)."""
    found = warranty.of_ticket(ticket)
    return found.badge if found is not None else ""


def load_units(tickets: list[Ticket]) -> None:
    """The product model and serial of each ticket's unit, in one query for the batch.

    The unit is joined as a table, not as the Unit entity: the row scope would hide a unit sold
    by another outlet from a dealer (Unit is scoped by its selling outlet), while the ticket,
    which the dealer may see, decides here (R-ROLE-1)."""
    units = Unit.__table__
    stmt = (select(Ticket.id, ProductModel.code, units.c.serial)
            .join(units, units.c.id == Ticket.unit_id)
            .join(ProductModel, ProductModel.id == units.c.product_model_id)
            .where(Ticket.id.in_([t.id for t in tickets])))
    g.ticket_export_units = {ticket_id: (code, serial) for ticket_id, code, serial in db.session.execute(stmt)}


def _unit_fact(index: int):
    def fmt(view, context, model, name):
        found = g.get("ticket_export_units", {}).get(model.id)
        return found[index] if found else ""
    return fmt


def _clock_formatter(clock: Clock):
    def fmt(view, context, model, name):
        if "ticket_export_now" not in g:  # one "now" for the whole file
            g.ticket_export_now = utcnow()
        return clock_outcome(model, clock.value, g.ticket_export_now)
    return fmt


FORMATTERS = {
    "product_model": _unit_fact(0), "serial": _unit_fact(1),
    "warranty": lambda view, context, model, name: verdict_badge(model),
    # The earlier ticket as the viewer's scope shows it: a dealer sees the number of its own ones.
    "repeat_of": lambda view, context, model, name: model.repeat_of.number if model.repeat_of else "",
    "satisfaction": lambda view, context, model, name: satisfaction(model),
    "closed_at": time_formatter,
    **{f"clock_{clock.value}": _clock_formatter(clock) for clock in Clock},
}
