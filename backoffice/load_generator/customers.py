"""Who calls: the outlets' customers (one per phone, R-CUS-1) and the units they bought.

A customer is a tuple (id, name, phone, address, region, area, distance_km, phone key); a unit a list
[id, customer, product model (dict), invoice day, id of the last ticket done on it, that ticket's
registration time]."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from models.customers import phone_key

from .. import demo
from .base import draw_share, shares_of
from .network import DISTRICTS, Outlet, mobile_number

if TYPE_CHECKING:
    import random

    from .base import Ids
    from .reference import Reference
    from .run import Run

NEW_UNIT_SHARE = 0.37  # ~0.4 N units (a few more come when known ones were all served lately)
NEW_CUSTOMER_SHARE = 0.75  # of the new units: ~0.3 N customers
PURCHASE_SHARES = (("dealer", 50), ("store", 20), ("online", 25), ("project", 3), ("other", 2))
PURCHASES = shares_of(PURCHASE_SHARES)


class CustomersAndUnits:
    """TicketChunk's side of the archive: a known unit of the outlet, or a new one sold to a new
    or known customer."""

    run: Run
    rng: random.Random
    ids: Ids
    ref: Reference
    rows: dict[str, list]
    repeat_window: timedelta

    def _known_unit(self, outlet: Outlet, created: datetime) -> list | None:
        """A unit the outlet served before; one served within the repeat window (a repeat repair,
        R-TKT-9) only now and then, as in the trade (a few percent). None when the outlet's units
        were nearly all served lately (early in the span): the caller sells a new one."""
        rng, window = self.rng, self.repeat_window
        for _ in range(8):
            unit = rng.choice(outlet.units)
            if not unit[4] or created - unit[5] > window or rng.random() < 0.04:
                return unit
        return None

    def _new_customer(self, outlet: Outlet, at: datetime) -> tuple:
        rng = self.rng
        district = outlet.district if rng.random() < 0.85 else rng.choice(DISTRICTS)
        urban = bool(district[4]) and (not district[5] or rng.random() < 0.75)
        street = rng.choice(district[4] if urban else district[5])
        address = district[0] + street.format(n=rng.randint(1, 399), b=rng.randint(1, 12), r=rng.randint(101, 2808))
        km = rng.randint(2, 18) if urban else rng.randint(15, 60)
        phone = mobile_number(rng)
        while phone in self.run.phones:
            phone = mobile_number(rng)
        self.run.phones.add(phone)
        key = phone_key(phone)  # R-CUS-1: the archive's key; the ticket's contact phone has it too
        customer = (self.ids.take("customer"), rng.choice(demo.SURNAMES) + rng.choice(demo.GIVEN), phone, address,
                    district[0], "urban" if urban else "suburban", km, key)
        phone2 = f"{district[3]}-{rng.randint(2000_0000, 8999_9999)}" if rng.random() < 0.1 else ""
        self.rows["customer"].append((customer[0], customer[1], phone, key, phone2, address, district[0],
                                      customer[5], Decimal(km), outlet.id, "", "", "", "sms", "", at, at))
        outlet.customers.append(customer)
        return customer

    def _new_unit(self, outlet: Outlet, created: datetime, day: date, kind: str) -> list:
        rng = self.rng
        at = created - timedelta(minutes=rng.randint(2, 15))
        if outlet.customers and rng.random() >= NEW_CUSTOMER_SHARE:
            customer = rng.choice(outlet.customers)
        else:
            customer = self._new_customer(outlet, at)
        model = rng.choice(self.ref.models)
        draw = rng.random()
        if kind == "installation":
            age = rng.randint(0, 10)
        else:
            age = rng.randint(0, 15) if draw < 0.05 else rng.randint(16, 340) if draw < 0.6 else rng.randint(340, 1500)
        invoice = day - timedelta(days=age)
        unit_id = self.ids.take("unit")
        low, high = demo.PRICES.get(model["category"], (999, 2999))
        self.rows["unit"].append((unit_id, f"{model['code'][:3]}{invoice:%y%m}L{unit_id:07d}", "", model["id"],
                                  customer[0], outlet.id, f"FP{invoice:%Y}{rng.randint(1000_0000, 9999_9999)}",
                                  invoice, Decimal(rng.randrange(low, high, 100) - 1), draw_share(rng, PURCHASES),
                                  at, at))
        self.run.books.sold(model["id"], invoice)
        unit = [unit_id, customer, model, invoice, None, None]
        outlet.units.append(unit)
        return unit

