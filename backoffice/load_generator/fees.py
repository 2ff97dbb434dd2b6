"""Fee claims of the resolved warranty services, their audit and monthly settlement (R-FEE-1…3)."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from .base import ZERO, local_day, money, month_after, utc_at

if TYPE_CHECKING:
    import random

    from .base import Ids
    from .run import Run

FEE_COLUMNS = {
    "fee_batch": ("id", "outlet_id", "month", "claims_total", "charge_backs_total", "net", "created_by_id",
                  "created_at", "updated_at"),
    "fee_claim": ("id", "number", "ticket_id", "outlet_id", "status", "remedy_code_id", "labor_hours", "labor_rate",
                  "labor_amount", "distance_km", "travel_band_km", "travel_amount", "parts_amount", "claimed_total",
                  "approved_total", "audit_note", "audited_by_id", "audited_at", "batch_id", "overcharge",
                  "charge_back", "charge_back_note", "version_id", "created_at", "updated_at"),
    "fee_claim_part": ("id", "claim_id", "replaced_part_id", "part_id", "qty", "unit_price", "amount", "basis"),
}


class FeeClaims:
    """Books' fee side: a claim per resolved warranty service, audited, settled in monthly batches."""

    run: Run
    rng: random.Random
    ids: Ids
    now: datetime
    policy: dict
    rows: dict[str, list]
    settled_at: dict[int, tuple]
    claim_specs: list
    clerks: list[int]
    manager: int

    def _claims(self) -> None:
        """R-FEE-1/2: the outlets claim their resolved warranty services; the center audits them
        (approval once the old parts are back) and settles each month's approved claims."""
        rng, now = self.rng, self.now
        rate = money(self.policy["fees.labor_rate_per_hour"])
        default_hours = money(self.policy["fees.default_hours"])
        hours_of = self.run.ref.standard_hours
        batches: dict[tuple, list] = {}
        claims = []
        for ticket_id, number, outlet_id, resolved, remedy, km, parts in self.claim_specs:
            created = resolved + timedelta(hours=rng.uniform(2, 30))
            if created > now:
                continue
            hours = hours_of.get(remedy, default_hours)
            band, travel = self.run.ref.travel(km)
            lines, parts_amount = [], ZERO
            for row in parts:
                part = self.run.ref.parts[row[3]]
                state = self.settled_at.get(row[0], ("owed", None))
                basis = "on_account" if row[7] == "on_account" else \
                    "not_creditable" if state[0] == "charged" else "purchase"
                amount = money(part["unit_price"] * row[4]) if basis == "purchase" else ZERO
                parts_amount += amount
                lines.append([None, None, row[0], row[3], row[4], part["unit_price"], amount, basis])
            labor = money(hours * rate)
            total = labor + travel + parts_amount
            claim = [self.ids.take("fee_claim"), f"FW{number[2:]}", ticket_id, outlet_id, "claimed", remedy, hours,
                     rate, labor, km, band, travel, parts_amount, total, None, "", None, None, None, ZERO, ZERO, "", 1,
                     created, created]
            self._audit(claim, parts, created)
            if claim[4] in ("approved", "adjusted"):
                month = local_day(claim[17]).replace(day=1)
                settle_at = utc_at(month_after(month) + timedelta(days=3), 10)
                if settle_at <= now:
                    batches.setdefault((outlet_id, month), [settle_at]).append(claim)
            claims.append((claim, lines))
        for (outlet_id, month), (settle_at, *settled) in sorted(batches.items()):
            batch_id = self.ids.take("fee_batch")
            total = sum((c[14] for c in settled), ZERO)
            self.rows["fee_batch"].append((batch_id, outlet_id, month, total, ZERO, total, self.manager, settle_at,
                                           settle_at))
            for claim in settled:
                claim[4], claim[18], claim[22], claim[24] = "settled", batch_id, claim[22] + 1, settle_at
        for claim, lines in claims:
            self.rows["fee_claim"].append(claim)
            for line in lines:
                line[0], line[1] = self.ids.take("fee_claim_part"), claim[0]
                self.rows["fee_claim_part"].append(line)

    def _audit(self, claim: list, parts: tuple, created: datetime) -> None:
        rng = self.rng
        at = created + timedelta(days=rng.uniform(1, 7))
        back = [self.settled_at.get(row[0]) for row in parts]  # every part of a warranty ticket is owed
        pending = any(state is None or state[0] not in ("credited", "charged") for state in back)
        draw = rng.random()
        if draw < 0.85 and not pending:  # R-FEE-3: approved once every old part is back
            at = max([at] + [state[1] + timedelta(hours=rng.uniform(1, 48)) for state in back])
            decision = ("approved", claim[13], "单据齐全，照片与旧件已核")
        elif draw < 0.93:
            cut = claim[13] - claim[11] if claim[11] > 0 else money(claim[13] * Decimal("0.8"))
            decision = ("adjusted", cut, "路程按导航距离核减：差旅费按上一档计")
        elif draw < 0.97:
            decision = ("rejected", ZERO, "服务单无用户签字，照片缺失")
        else:
            return  # waiting for audit
        if at > self.now:
            return
        claim[4], claim[14], claim[15] = decision
        claim[16], claim[17], claim[22], claim[24] = rng.choice(self.clerks), at, 2, at

