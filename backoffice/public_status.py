"""A ticket as its customer sees it on /track and on their link /t/<token>: the number, the
status, what is happening now, and the next promised time — only while it still lies ahead
(issue 18). A promise already past is never shown: the customer reads what we are doing instead
(R-SLA-1 keeps the breach for the staff; R-CMP-2: a promised time stated is a time kept).
Nothing about the customer, the address or the fault (anyone with the number and phone, or
the link, reads it)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from models import Ticket, utcnow
from models.choices import Clock, TicketStatus

from . import sla
from .labels import label
from .timezones import format_local, zone_of

# What is happening, in the customer's words, per status (R-TKT-4).
HAPPENING = {
    TicketStatus.REGISTERED: _l("We have your request. Our service desk will contact you soon."),
    TicketStatus.DIAGNOSED: _l("We are working on it: an engineer will contact you soon."),
    TicketStatus.SOLUTION_PROPOSED: _l("We have proposed a solution and are waiting for your answer."),
    TicketStatus.AGREED: _l("You agreed to the solution: we are arranging the service."),
    TicketStatus.DISPATCHED: _l("An engineer is assigned and will contact you before coming."),
    TicketStatus.IN_SERVICE: _l("The engineer is working on your unit."),
    TicketStatus.RETURNING: _l("Your return or exchange is being processed."),
    TicketStatus.RESOLVED: _l("The service is finished. Thank you for your patience."),
    TicketStatus.RETURN_VISIT: _l("The service is finished. Thank you for your patience."),
    TicketStatus.CLOSED: _l("The service is finished. Thank you for your patience."),
}
WAITING_FOR_YOU = _l("We are waiting for your answer; call our hotline if you have not heard from us.")
LATE = _l("This is taking longer than we said. We are on it and will contact you as soon as possible.")


@dataclass(frozen=True)
class PublicStatus:
    number: str
    status: str
    happening: str
    promise_label: str | None = None  # the next promise still ahead, e.g. "On site"
    promise_due: str | None = None  # its local time, "2026-03-05 14:30"
    late: bool = False  # the next promise has passed: no time is shown
    note: str = ""  # instead of a time: LATE, or WAITING_FOR_YOU while the clocks wait (R-SLA-3)
    done: bool = False


def of_ticket(ticket: Ticket, now: datetime | None = None) -> PublicStatus:
    now = now or utcnow()
    open_clocks = sla.running_clocks(ticket)  # current round, unmet, ticket not finished
    ticking = [c for c in open_clocks if c.paused_since is None]
    upcoming = min(ticking, key=lambda c: c.due_at) if ticking else None
    ahead = upcoming is not None and upcoming.due_at > now
    late = upcoming is not None and not ahead
    waiting = bool(open_clocks) and not ticking
    return PublicStatus(
        number=ticket.number, status=label(TicketStatus, ticket.status),
        happening=str(HAPPENING.get(ticket.status, "")),
        promise_label=label(Clock, upcoming.clock) if ahead else None,
        promise_due=format_local(upcoming.due_at, zone_of(ticket.outlet)) if ahead else None,
        late=late, note=str(LATE if late else WAITING_FOR_YOU if waiting else ""),
        done=ticket.status in sla.FINISHED)
