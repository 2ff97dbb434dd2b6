"""Tickets chunk by chunk: who calls about what, the warranty verdict at registration, the walk
(workflow.Walk) and the rows a ticket carries."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from .. import demo, routing, sla
from ..warranty import add_months
from .base import draw_share, local_day, money, shares_of
from .customers import NEW_UNIT_SHARE, CustomersAndUnits
from .workflow import DONE, Ticket, Walk

if TYPE_CHECKING:
    from .run import Run

KIND_SHARES = (("repair", 70), ("installation", 12), ("consultation", 8), ("complaint", 6),
               ("return_exchange", 4))  # the demo's shares
CHANNELS = ("hotline", "email", "web", "wechat", "walk_in", "dealer")  # the demo draws them evenly
CATEGORY_SHARES = (("quality", 85), ("size", 3), ("discomfort", 4), ("other", 8))
MODE_SHARES = (("onsite", 75), ("remote", 15), ("mail_in", 10))

TICKET_COLUMNS = ("id", "number", "kind", "channel", "category", "status", "fault_description", "occurred_at",
                  "contact_name", "contact_phone", "contact_phone_key", "address", "customer_id", "unit_id",
                  "outlet_id", "assigned_engineer_id", "registered_by_id", "closed_at", "area", "in_warranty",
                  "warranty_window", "warranty_code", "warranty_params", "warranty_exclusion", "queue", "repeat_of_id",
                  "service_mode", "severity", "fault_code_id", "cause_code_id", "remedy_code_id", "causal_part_id",
                  "parts_needed", "estimate", "appointment_at", "version_id", "created_at", "updated_at")
COLUMNS = {
    "customer": ("id", "name", "phone", "phone_key", "phone2", "address", "region", "area", "distance_km",
                 "outlet_id", "note", "email", "wechat_openid", "notify_channel", "notify_consent_source",
                 "created_at", "updated_at"),
    "unit": ("id", "serial", "size", "product_model_id", "customer_id", "outlet_id", "invoice_no", "invoice_date",
             "price", "purchase_channel", "created_at", "updated_at"),
    "ticket": TICKET_COLUMNS,
    "ticket_event": ("id", "ticket_id", "at", "actor_id", "action", "from_status", "to_status", "note"),
    "ticket_clock": ("id", "ticket_id", "clock", "due_at", "met_at", "paused_since", "paused_seconds",
                     "superseded_at"),
    "ticket_fee": ("id", "ticket_id", "kind", "item", "amount"),
    "return_visit": ("id", "ticket_id", "kind", "due_at", "done_at", "satisfaction", "comment", "visitor_id",
                     "created_at", "updated_at"),
    "service_report": ("id", "ticket_id", "engineer_id", "work_done", "parts_replaced", "tested_ok", "signed_by",
                       "signed_at", "created_at", "updated_at"),
    "mail_in": ("id", "ticket_id", "received_at", "package_ok", "damage_note", "customer_told", "test_result",
                "shipped_at", "courier", "tracking_no", "created_at", "updated_at"),
    "complaint": ("id", "ticket_id", "complaint_class", "from_outlet", "promised_result", "promised_at",
                  "investigation", "resolution", "rehandled_count", "escalated", "against_staff_id", "substantiated",
                  "created_at", "updated_at"),
    "replaced_part": ("id", "ticket_id", "unit_id", "part_id", "qty", "replaced_on", "warranty_until", "settlement"),
}
CHUNK_TABLES = tuple(COLUMNS)  # in foreign-key order

KINDS_NEW_UNIT = shares_of([("installation", 30)] + [(k, w * 70 / 88) for k, w in KIND_SHARES if k != "installation"])
KINDS_KNOWN_UNIT = shares_of([(k, w) for k, w in KIND_SHARES if k != "installation"])
CATEGORIES = shares_of(CATEGORY_SHARES)
MODES = shares_of(MODE_SHARES)


class TicketChunk(CustomersAndUnits, Walk):
    """Up to `chunk` tickets (sorted by time) with their customers, units and every row a ticket
    carries; written table by table in foreign-key order, then committed by the run."""

    def __init__(self, run: Run, times: list[datetime], numbers: list[str]):
        self.run, self.times, self.numbers = run, times, numbers
        self.rng, self.ids, self.ref, self.network = run.rng, run.ids, run.ref, run.network
        self.now = run.now
        self.rows: dict[str, list] = {table: [] for table in CHUNK_TABLES}
        self.part_months = int(self.ref.policy["warranty.part_months"])
        self.visit_days = timedelta(days=float(self.ref.policy["returns.visit_days"]))
        self.complaint_visit_days = timedelta(days=float(self.ref.policy["returns.complaint_visit_days"]))
        self.satisfied_from = int(self.ref.policy["returns.satisfied_from"])
        self.after_onsite = sla.hours(self.ref.policy["sla.resolve_after_onsite_hours"])
        self.repeat_window = timedelta(days=float(self.ref.policy["tickets.repeat_repair_days"]))
        self.sanbao = {category: self.ref.policy.get(key, Decimal(0)) > 0
                       for category, key in (("gas_water_heater", "warranty.sanbao.gas_water_heater"),
                                             ("range_hood", "warranty.sanbao.range_hood"),
                                             ("gas_stove", "warranty.sanbao.gas_stove"),
                                             ("disinfection_cabinet", "warranty.sanbao.disinfection_cabinet"),
                                             ("shoes", "warranty.sanbao.shoes"), ("other", "warranty.sanbao.other"))}
        self.return_days = int(self.ref.policy["warranty.return_days"])
        self.exchange_days = int(self.ref.policy["warranty.exchange_days"])
        self.free_km = self.ref.policy["installation.free_distance_km"]
        self.km_rate = money(self.ref.policy["installation.travel_fee_per_km"])

    def build(self) -> dict[str, list]:
        for created, number in zip(self.times, self.numbers, strict=True):
            self._ticket(created, number)
        return self.rows

    # -- who calls about what ---------------------------------------------------------------------
    def _ticket(self, created: datetime, number: str) -> None:
        rng, network = self.rng, self.network
        index = network.pick(rng)
        network.ticket_outlets.append(index)
        outlet = network.outlets[index]
        day = local_day(created)
        unit = self._known_unit(outlet, created) if outlet.units and rng.random() >= NEW_UNIT_SHARE else None
        if unit is not None:
            kind = draw_share(rng, KINDS_KNOWN_UNIT)
        else:
            kind = draw_share(rng, KINDS_NEW_UNIT)
            unit = self._new_unit(outlet, created, day, kind)
        ticket = Ticket(number, created, outlet, unit, kind)
        ticket.id = self.ids.take("ticket")
        ticket.last = created
        category = unit[2]["category"]
        ticket.fault = "新机上门安装，需同时检查燃气管路" if kind == "installation" else \
            rng.choice(demo.FAULTS.get(category) or demo.FAULTS["gas_water_heater"])
        ticket.engineer = rng.choice(outlet.engineers)
        ticket.category = draw_share(rng, CATEGORIES)
        ticket.channel = rng.choice(CHANNELS)
        ticket.verdict = self._verdict(unit, day, kind)
        ticket.in_warranty = ticket.verdict[0]
        if kind in ("repair", "return_exchange"):
            ticket.mode = draw_share(rng, MODES)
        repeat_of = unit[4] if unit[4] and created - unit[5] <= self.repeat_window else None
        self._start_clocks(ticket)
        registrar = outlet.dealer_id if ticket.channel in ("dealer", "walk_in") else rng.choice(network.clerks)
        self._event(ticket, created, registrar, "registered", None, "registered")
        self._walk(ticket)
        self._rows(ticket, registrar, repeat_of)
        if ticket.status in DONE:
            unit[4], unit[5] = ticket.id, created
            if ticket.in_warranty and kind in ("repair", "return_exchange", "installation"):
                self.run.books.claimable(ticket)

    def _verdict(self, unit: list, day: date, kind: str) -> tuple:
        """backoffice.warranty's verdict at registration (installation.verdict for installations)."""
        model, invoice = unit[2], unit[3]
        if kind == "installation":
            if model["special_price"]:
                return False, "none", "install_special", {"model": model["code"]}
            if not model["free_installation"]:
                return False, "none", "install_not_free", {"model": model["code"]}
            return True, "none", "install_free", {"model": model["code"]}
        days = (day - invoice).days
        if self.sanbao.get(model["category"]):
            if days <= self.return_days:
                return True, "return", "return", {"days": days, "limit": self.return_days}
            if days <= self.exchange_days:
                return True, "exchange", "exchange", {"days": days, "limit": self.exchange_days}
        until = add_months(invoice, model["warranty_months"])
        params = {"until": until.isoformat(), "months": model["warranty_months"]}
        return (True, "repair", "repair", params) if day < until else (False, "none", "expired", params)

    # -- the rows ------------------------------------------------------------------------------------
    def _rows(self, ticket: Ticket, registrar: int, repeat_of: int | None) -> None:
        rng, rows = self.rng, self.rows
        customer, unit = ticket.customer, ticket.unit
        in_warranty, window, code, params = ticket.verdict
        fault, cause, remedy = ticket.codes or (None, None, None)
        diagnosed = ticket.status != "registered"
        rows["ticket"].append((
            ticket.id, ticket.number, ticket.kind, ticket.channel, ticket.category, ticket.status, ticket.fault,
            ticket.created - timedelta(minutes=rng.randint(60, 2880)), customer[1], customer[2], customer[7],
            customer[3], customer[0], unit[0], ticket.outlet.id, ticket.assigned, registrar, ticket.closed, customer[5],
            in_warranty, window, code, params, ticket.exclusion,
            routing.queue_for(ticket.kind, ticket.category, unit[2]["category"]), repeat_of,
            ticket.mode if diagnosed else None, ticket.severity, fault, cause, remedy,
            ticket.causal_part["id"] if ticket.causal_part else None, "", ticket.estimate, ticket.appointment,
            ticket.updates, ticket.created, ticket.last))
        rows["ticket_clock"].extend(ticket.clocks)
        ids = self.ids
        rows["ticket_fee"].extend((ids.take("ticket_fee"), ticket.id, kind, item, amount)
                                  for kind, item, amount in ticket.fees)
        if ticket.report:
            rows["service_report"].append(ticket.report)
        if ticket.mail_in:
            rows["mail_in"].append(ticket.mail_in)
        if ticket.complaint:
            rows["complaint"].append(ticket.complaint)

