"""Parts in the network's books (R-PART-2…9): old parts owed, scrapped or returned and credited,
weekly parts requests restocking what was fitted on account, and every parts account's ledger."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from .base import COURIERS, ZERO, money, utc_at
from .network import Outlet, grown

if TYPE_CHECKING:
    import random

    from .base import Ids
    from .run import Run

PARTS_COLUMNS = {
    "parts_return": ("id", "outlet_id", "status", "note", "on_paper", "decided_by_id", "decided_at", "refusal_reason",
                     "courier", "tracking_no", "shipped_by_id", "shipped_at", "created_by_id", "received_by_id",
                     "received_at", "freight", "inspected_by_id", "inspected_at", "version_id", "created_at",
                     "updated_at"),
    "old_part": ("id", "replaced_part_id", "tag", "ticket_id", "outlet_id", "part_id", "qty", "unit_price",
                 "replaced_on", "state", "exemption", "needs_verification", "return_id", "received_qty",
                 "non_creditable", "decision_note", "returned_on", "returned_late", "send_back_courier",
                 "send_back_tracking_no", "created_at", "updated_at"),
    "parts_return_line": ("id", "return_id", "outlet_id", "old_part_id", "struck", "strike_reason"),
    "parts_account": ("id", "outlet_id", "balance", "quota", "created_at", "updated_at"),
    "parts_request": ("id", "number", "outlet_id", "week_start", "batch_no", "status", "note", "exception_reason",
                      "requested_by_id", "reviewed_by_id", "reviewed_at", "courier", "tracking_no", "shipped_at",
                      "delivered_at", "delivery_note", "rejection_reason", "resolution_note", "reship_courier",
                      "reship_tracking_no", "freight", "version_id", "created_at", "updated_at"),
    "parts_request_line": ("id", "request_id", "part_id", "gas_type", "qty", "urgent", "unit_price", "settlement"),
    "ledger_entry": ("id", "account_id", "outlet_id", "kind", "delta", "cash_amount", "balance_after", "part_id",
                     "qty", "source", "reason", "actor_id", "at"),
}


def _ship_day(day: date) -> date:
    """Old parts go back twice a week, on the first Monday or Thursday after the day they came out."""
    day += timedelta(days=1)
    while day.weekday() not in (0, 3):
        day += timedelta(days=1)
    return day


class PartsAndLedger:
    """Books' parts side: old parts, parcels, requests, accounts and their entries."""

    run: Run
    rng: random.Random
    ids: Ids
    now: datetime
    policy: dict
    rows: dict[str, list]
    events: dict[int, list]
    settled_at: dict[int, tuple]
    fitted_parts: list
    clerks: list[int]
    manager: int

    def _old_parts(self) -> None:
        """R-PART-4…6, R-PART-9: each old part of a warranty repair is owed; cheap, consumable and
        fragile ones are scrapped locally and credited once verified; the others go back in the
        outlet's twice-weekly parcel, are counted and inspected, then credited (a few charged)."""
        cycle = timedelta(days=int(self.policy["parts.return_cycle_days"]))
        parcels: dict[tuple, list] = defaultdict(list)
        for spec in self.fitted_parts:
            row, ticket_id, number, position, outlet, part, at = spec
            qty, day = row[4], row[5]
            exemption = ("cheap" if part["unit_price"] < self.policy["parts.scrap_price_below"]
                         and qty <= self.policy["parts.scrap_qty_max"] else
                         "consumable" if part["consumable"] else "fragile" if part["fragile"] else "")
            old = [self.ids.take("old_part"), row[0], f"JT{number[2:]}-{position}", ticket_id, outlet.id, part["id"],
                   qty, part["unit_price"], day, "owed", exemption, bool(exemption), None, None, None, "", None,
                   False, "", "", at, at]
            self.rows["old_part"].append(old)
            if exemption:
                verified = at + timedelta(days=self.rng.uniform(3, 10))
                if verified <= self.now:
                    self._settle(old, row, outlet, verified, charged=False)
                else:
                    old[9] = "scrap_local"
                continue
            ship = _ship_day(day) + (timedelta(days=7) if self.rng.random() < 0.08 else timedelta(0))
            parcels[outlet.id, ship].append((old, row, outlet))
        for (_outlet_id, ship), olds in sorted(parcels.items()):
            self._parcel(ship, olds, cycle)

    def _parcel(self, ship: date, olds: list, cycle: timedelta) -> None:
        rng, now = self.rng, self.now
        outlet = olds[0][2]
        applied = utc_at(ship - timedelta(days=1), rng.uniform(9, 17))
        if applied > now:
            return  # still owed, on no application yet
        authorised, shipped = applied + timedelta(hours=rng.uniform(1, 6)), utc_at(ship, rng.uniform(14, 17))
        received = shipped + timedelta(days=rng.uniform(1.5, 3))
        inspected = received + timedelta(days=rng.uniform(0.5, 3))
        steps = [("requested", applied), ("authorised", authorised), ("shipped", shipped),
                 ("received", received), ("inspected", inspected)]
        status, last = next((s, at) for s, at in reversed(steps) if at <= now)
        parcel_id = self.ids.take("parts_return")
        clerk = rng.choice(self.clerks)
        done = {s for s, at in steps if at <= now}
        self.rows["parts_return"].append((
            parcel_id, outlet.id, status, "保修旧件返还", False, clerk if "authorised" in done else None,
            authorised if "authorised" in done else None, "",
            rng.choice(COURIERS) if "shipped" in done else "",
            f"SF{rng.randrange(10**11, 10**12)}" if "shipped" in done else "",
            outlet.dealer_id if "shipped" in done else None, shipped if "shipped" in done else None, outlet.dealer_id,
            clerk if "received" in done else None, received if "received" in done else None,
            money(rng.randint(10, 40)) if "received" in done else None, clerk if status == "inspected" else None,
            inspected if status == "inspected" else None, len(done), applied, last))
        for old, row, _outlet in olds:
            old[12] = parcel_id
            self.rows["parts_return_line"].append((self.ids.take("parts_return_line"), parcel_id, outlet.id, old[0],
                                                   False, ""))
            if "shipped" in done:
                old[9], old[16], old[17] = "in_return", ship, ship - old[8] > cycle
                old[21] = shipped
            if "received" in done:
                old[13] = old[6]
            if status == "inspected":
                self._settle(old, row, outlet, inspected, charged=rng.random() < 0.03)

    def _settle(self, old: list, row: tuple, outlet: Outlet, at: datetime, *, charged: bool) -> None:
        """Credited or charged once (backoffice.old_parts.settle); a part bought for cash moves no balance."""
        old[9], old[21] = ("charged" if charged else "credited"), at
        if charged:
            old[14], old[15] = "human_damage", "外壳摔裂，非质量问题"
        self.settled_at[row[0]] = (old[9], at)
        if row[7] != "on_account":
            return
        rate = Decimal(1) if not old[17] else min(max(self.policy["parts.late_return_credit_rate"], ZERO), Decimal(1))
        value = money(old[7] * old[6])
        credited = ZERO if charged else money(value * rate)
        self.events[outlet.id].append((at, 2, "credit", (old, credited, value - credited)))

    def _accounts(self) -> None:
        """R-PART-2/3/8: one account per dealer outlet; its quota granted each year; each week the
        parts fitted on account are restocked by a request (on account while the balance allows,
        else bought); old parts credited or charged; every movement one entry, balance after it."""
        run = self.run
        for outlet in run.network.outlets:
            self._requests(outlet)
        for outlet in run.network.outlets:
            account_id = self.ids.take("parts_account")
            opened = run.network.staff_created + timedelta(hours=1)
            quota = ZERO
            for year in range(run.years):
                at = opened + timedelta(days=365 * year)
                if at <= self.now:
                    target = money(grown(outlet.purchases, year) * self.policy["parts.quota_rate"])
                    self.events[outlet.id].append((at, 0, "quota", (account_id, quota, target)))
                    quota = target
            balance = self._post(outlet, account_id)
            self.rows["parts_account"].append((account_id, outlet.id, balance, quota, opened, self.now))

    def _requests(self, outlet: Outlet) -> None:
        rng, now = self.rng, self.now
        weeks: dict[date, Counter] = defaultdict(Counter)
        for row, _ticket_id, _number, _position, owner, part, _at in self.fitted_parts:
            if owner is outlet and row[7] == "on_account":
                weeks[row[5] - timedelta(days=row[5].weekday())][part["id"]] += row[4]
        parts = self.run.ref.parts
        for week, counts in sorted(weeks.items()):
            start = week + timedelta(days=7)
            submitted = utc_at(start, rng.uniform(9, 12))
            if submitted > now:
                continue
            reviewed = submitted + timedelta(hours=rng.uniform(2, 8))
            shipped = reviewed + timedelta(hours=rng.uniform(18, 30))
            delivered = shipped + timedelta(days=rng.uniform(1, 3))
            steps = [("submitted", submitted), ("reviewed", reviewed), ("shipped", shipped), ("delivered", delivered)]
            status, last = next((s, at) for s, at in reversed(steps) if at <= now)
            request_id, clerk = self.ids.take("parts_request"), rng.choice(self.clerks)
            done = {s for s, at in steps if at <= now}
            freight = money(rng.randint(8, 30)) if rng.random() < 0.6 else ZERO
            request = (request_id, f"PJ-{outlet.code}-{start:%G}W{start:%V}-1", outlet.id, start, 1, status,
                       "保修周转配件补货", "", outlet.dealer_id, clerk if "reviewed" in done else None,
                       reviewed if "reviewed" in done else None, rng.choice(COURIERS) if "shipped" in done else "",
                       f"SF{rng.randrange(10**11, 10**12)}" if "shipped" in done else "",
                       shipped if "shipped" in done else None, delivered if "delivered" in done else None,
                       "", "", "", "", "", freight if "shipped" in done else None, len(done), submitted, last)
            self.rows["parts_request"].append(request)
            lines = []
            for part_id, qty in sorted(counts.items()):
                part = parts[part_id]
                line = [self.ids.take("parts_request_line"), request_id, part_id, part["gas_type"], qty, False,
                        part["unit_price"], None]
                self.rows["parts_request_line"].append(line)
                lines.append(line)
            if "reviewed" in done:
                self.events[outlet.id].append((reviewed, 1, "review", (request, lines, clerk)))
            if "shipped" in done and freight:
                self.events[outlet.id].append((shipped, 1, "freight", (request, freight, clerk)))

    def _post(self, outlet: Outlet, account_id: int) -> Decimal:
        """The outlet's movements in time order, each an entry with the balance after it."""
        balance = ZERO
        entries = self.rows["ledger_entry"]

        def entry(kind, delta, cash, part_id, qty, source, reason, actor, at):
            nonlocal balance
            balance += delta
            entries.append((self.ids.take("ledger_entry"), account_id, outlet.id, kind, delta, cash, balance,
                            part_id, qty, source, reason, actor, at))

        for at, _order, kind, payload in sorted(self.events.pop(outlet.id, []), key=lambda e: (e[0], e[1])):
            if kind == "quota":
                _account, before, target = payload
                source = f"quota:{account_id}:{at.replace(tzinfo=UTC).isoformat()}"
                entry("quota", target - before, ZERO, None, None, source, f"{before} → {target}", self.manager, at)
            elif kind == "review":
                request, lines, clerk = payload
                for line in lines:
                    amount = money(line[6] * line[4])
                    line[7] = "on_account" if balance >= amount else "purchase"
                    on_account = line[7] == "on_account"
                    entry("issue" if on_account else "purchase", -amount if on_account else ZERO,
                          ZERO if on_account else amount, line[2], line[4], f"parts_request_line:{line[0]}",
                          request[1], clerk, at)
            elif kind == "freight":
                request, freight, clerk = payload
                entry("freight", ZERO, freight, None, None, f"parts_request:{request[0]}:freight",
                      f"{request[1]} {request[11]} {request[12]}", clerk, at)
            else:
                old, credited, charged = payload
                reason = f"{old[2].replace('JT', 'SV', 1).rsplit('-', 1)[0]}"
                if credited:
                    entry("return_credit", credited, ZERO, old[5], old[13] or old[6], f"old_part:{old[0]}:credit",
                          reason, self.rng.choice(self.clerks), at)
                if charged:
                    entry("charge", charged, charged, old[5], old[6], f"old_part:{old[0]}:charge",
                          f"{reason} {old[15]}", self.rng.choice(self.clerks), at)
        return balance

