"""A ticket walked along the workflow's path (R-TKT-4): timeline lines, SLA clocks with pauses and
reworks (R-SLA-1…4), diagnosis, fee lines, signed reports, mail-in handling, complaints, return
visits and the parts fitted."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from .. import sla
from ..warranty import add_months
from .base import COURIERS, local_day, money

if TYPE_CHECKING:
    import random

    from .base import Ids
    from .network import Network
    from .reference import Reference
    from .run import Run

WORK_DONE = {"installation": "上门安装完成，管路检漏合格，试机正常", "repair": "检修并更换故障部件，试机正常"}
SATISFACTION = (1, 2, 3, 4, 5)
SATISFACTION_WEIGHTS = (2, 3, 8, 30, 57)  # 5 % unhappy enough to reopen (below 3)
STALL_SHARE = 0.06  # tickets that stop on the way (customer unreachable, waiting for a part …)
COMMENTS = {1: "问题没有解决，要求重新上门", 2: "维修后还是有故障，不满意", 3: "一般，等待时间较长",
            4: "基本满意", 5: "服务满意，师傅很专业"}
COMPLAINT_CLASSES = ("service_quality", "product_quality", "charges", "appearance")
MATERIALS = (("不锈钢波纹管 1.5米", Decimal("45.00")), ("燃气角阀", Decimal("28.00")), ("三通接头", Decimal("12.00")))
REOPENABLE = ("repair", "return_exchange", "complaint")

# What each step does to the status (R-TKT-4), who takes it (desk: a clerk of the center; worker:
# the outlet's engineer) and the note its timeline line carries.
STEPS = {
    "diagnose": ("worker", "diagnosed"), "investigate": ("desk", "diagnosed"),
    "answer_at_intake": ("desk", "resolved"), "schedule_installation": ("worker", "solution_proposed"),
    "answer_remotely": ("worker", "resolved"), "propose": ("worker", "solution_proposed"),
    "agree": ("desk", "agreed"), "dispatch": ("desk", "dispatched"), "receive_mail_in": ("worker", "dispatched"),
    "start_service": ("worker", "in_service"), "test_mail_in": ("worker", "in_service"),
    "resolve": ("worker", "resolved"), "ship_back": ("worker", "resolved"), "settle": ("desk", "resolved"),
    "return_visit": ("desk", "return_visit"), "close": ("desk", "closed"),
}
NOTES = {"propose": "按故障代码维修，预计一次上门解决", "answer_remotely": "电话指导用户复位后恢复正常",
         "answer_at_intake": "已电话讲解使用方法"}
PATHS = {
    ("repair", "onsite"): ("diagnose", "propose", "agree", "dispatch", "start_service", "resolve"),
    ("repair", "remote"): ("diagnose", "answer_remotely"),
    ("repair", "mail_in"): ("diagnose", "propose", "agree", "receive_mail_in", "test_mail_in", "ship_back"),
    ("consultation", None): ("answer_at_intake",),
    ("complaint", None): ("investigate", "propose", "agree", "settle"),
    ("installation", None): ("schedule_installation", "agree", "dispatch", "start_service", "resolve"),
}
AFTER = ("return_visit", "close")
# Minutes after the step before (uniform low..high); the first response is drawn log-normal (`_when`).
GAPS = {"propose": (10, 150), "agree": (30, 1800), "dispatch": (20, 300), "start_service": (60, 1200),
        "resolve": (30, 240), "receive_mail_in": (1440, 5760), "test_mail_in": (120, 1440),
        "ship_back": (720, 4320), "answer_remotely": (10, 360), "settle": (120, 4320),
        "return_visit": (1440, 12960), "close": (0, 2880), "schedule_installation": (20, 600)}
MET_BY_STATUS = {status.value: tuple(c.value for c in clocks) for status, clocks in sla.MET_BY_STATUS.items()}
PAUSABLE = tuple(c.value for c in sla.PAUSABLE)
KIND_CLOCKS = {kind.value: tuple(c.value for c in clocks) for kind, clocks in sla.KIND_CLOCKS.items()}
REWORK_CLOCKS = {kind: tuple(c for c in clocks if c not in {x.value for x in sla.ANSWERED_AT_REOPEN})
                 for kind, clocks in KIND_CLOCKS.items()}
DONE = ("resolved", "return_visit", "closed")


class Ticket:
    """One ticket being walked along its path: what its rows will say."""

    __slots__ = ("appointment", "assigned", "at", "category", "causal_part", "channel", "clocks", "closed", "codes",
                 "complaint", "created", "customer", "engineer", "estimate", "exclusion", "fault", "fees", "id",
                 "in_warranty", "kind", "last", "mail_in", "mode", "number", "outlet", "parts", "paused", "reopened",
                 "report", "resolved", "severity", "status", "unit", "updates", "verdict", "visit")

    def __init__(self, number, created, outlet, unit, kind):
        self.number, self.created, self.outlet, self.unit, self.kind = number, created, outlet, unit, kind
        self.customer = unit[1]
        self.status, self.closed, self.resolved, self.reopened, self.updates = "registered", None, None, 0, 1
        self.mode = self.severity = self.codes = self.estimate = self.exclusion = self.causal_part = None
        self.assigned = self.appointment = self.report = self.mail_in = self.complaint = self.visit = None
        self.clocks, self.fees, self.parts, self.paused = [], [], [], False


class Walk:
    """TicketChunk's walk: each step's time, actor, status and the rows it leaves on the ticket
    (the policies below are read once by TicketChunk)."""

    run: Run
    rng: random.Random
    ids: Ids
    ref: Reference
    network: Network
    now: datetime
    rows: dict[str, list]
    part_months: int
    visit_days: timedelta
    complaint_visit_days: timedelta
    satisfied_from: int
    after_onsite: timedelta
    free_km: Decimal
    km_rate: Decimal

    # -- SLA clocks (backoffice.sla) ----------------------------------------------------------------
    def _start_clocks(self, ticket: Ticket, at: datetime | None = None) -> None:
        start = at or ticket.created
        clocks = REWORK_CLOCKS[ticket.kind] if at else KIND_CLOCKS[ticket.kind]
        area = ticket.customer[5]
        due = {}
        for clock in clocks:
            hours = self.ref.hours(clock, ticket.kind, ticket.in_warranty, area)
            if hours is not None:
                due[clock] = start + hours
        if "onsite" in due and "resolve" in due:
            due["resolve"] = max(due["resolve"], due["onsite"] + self.after_onsite)
        ids = self.ids
        for clock, when in due.items():
            ticket.clocks.append([ids.take("ticket_clock"), ticket.id, clock, when, None, None, 0, None])

    def _meet(self, ticket: Ticket, status: str, at: datetime) -> None:
        for clock in MET_BY_STATUS.get(status, ()):
            for row in ticket.clocks:
                if row[2] == clock and row[7] is None and row[4] is None:
                    row[4] = at

    def _pause(self, ticket: Ticket, at: datetime, actor: int) -> None:
        """R-SLA-3: waiting for the customer's consent stops the clocks that wait on them."""
        for row in ticket.clocks:
            if row[2] in PAUSABLE and row[4] is None and row[5] is None and row[7] is None:
                row[5] = at
        ticket.paused = True
        self._event(ticket, at, actor, "paused", None, None)

    def _resume(self, ticket: Ticket, at: datetime, actor: int) -> None:
        for row in ticket.clocks:
            if row[5] is not None:
                waited = at - row[5]
                row[6] += int(waited.total_seconds())
                row[3] += waited
                row[5] = None
        ticket.paused = False
        self._event(ticket, at, actor, "resumed", None, None)

    def _event(self, ticket: Ticket, at: datetime, actor, action: str, before, after, note: str = "") -> None:
        self.rows["ticket_event"].append((self.ids.take("ticket_event"), ticket.id, at, actor, action, before,
                                          after, note))

    def _restart(self, ticket: Ticket, at: datetime) -> None:
        """R-SLA-4: the rework of a reopened ticket runs on new clocks; the old ones are history."""
        for row in ticket.clocks:
            if row[7] is None:
                row[7], row[5] = at, None
        self._start_clocks(ticket, at)

    # -- the walk along the path (backoffice.workflow) -------------------------------------------------
    def _walk(self, ticket: Ticket) -> None:
        rng, now, clerks = self.rng, self.now, self.network.clerks
        kind = "repair" if ticket.kind == "return_exchange" else ticket.kind
        path = [*PATHS[kind, ticket.mode if kind == "repair" else None], *AFTER]
        stall = rng.randrange(len(path)) if rng.random() < STALL_SHARE else None
        at, i = ticket.created, 0
        while i < len(path) and i != stall:
            step = path[i]
            at = self._when(ticket, step, at, first=i == 0)
            if at > now:
                break
            who, target = STEPS[step]
            actor = rng.choice(clerks) if who == "desk" else ticket.engineer
            target = getattr(self, "_" + step)(ticket, at, actor) or target
            note = ("电话初诊：" + ticket.fault) if step == "diagnose" else NOTES.get(step, "")
            self._event(ticket, at, actor, "status", ticket.status, target, note)
            if step == "return_visit" and target == "diagnosed":
                self._event(ticket, at, actor, "reopened", None, None, ticket.visit[6])
                self._restart(ticket, at)
                rework = PATHS[kind, ticket.mode if kind == "repair" else None][1:]
                path[i + 1:] = [*rework, *AFTER]
            elif step == "schedule_installation" and target == "agreed":
                del path[i + 1]  # a free installation is agreed when scheduled
            ticket.status = target
            ticket.updates += 1
            if target == "resolved":
                ticket.resolved = at
            self._meet(ticket, target, at)
            ticket.last = at
            i += 1

    def _when(self, ticket: Ticket, step: str, at: datetime, *, first: bool) -> datetime:
        """When the step is taken: the first response log-normal around 45 minutes (some late),
        the others uniform in the step's range, now and then much later."""
        rng = self.rng
        if first and step != "answer_at_intake":
            return at + timedelta(minutes=min(rng.lognormvariate(3.8, 1.0), 4320))
        if step == "answer_at_intake":
            return at + timedelta(minutes=rng.uniform(1, 30))
        if step == "start_service" and ticket.appointment is not None:
            return max(at, ticket.appointment) + timedelta(minutes=rng.uniform(0, 45))
        low, high = GAPS[step]
        minutes = rng.uniform(low, high)
        if rng.random() < 0.05:
            minutes *= rng.uniform(2, 6)
        return at + timedelta(minutes=minutes)

    def _diagnose(self, ticket: Ticket, at: datetime, actor: int):
        rng, ref = self.rng, self.ref
        category = ticket.unit[2]["category"]
        ticket.severity = "critical" if rng.random() < 0.03 else rng.choice(("minor", "major"))
        ticket.codes = tuple(rng.choice(ref.codes_for(kind, category) or [None])
                             for kind in ("fault", "cause", "remedy"))
        parts = ref.parts_by_category.get(category)
        ticket.causal_part = rng.choice(parts) if parts and rng.random() < 0.3 else None
        if rng.random() < 0.02:
            ticket.exclusion = rng.choice(("misuse", "third_party", "transport", "gas_supply_changed"))
            ticket.verdict = (False, "none", "excluded", {"cause": ticket.exclusion})
        elif not ticket.verdict[0] and ticket.causal_part and ticket.causal_part["warranty_months"]:
            until = add_months(ticket.unit[3], ticket.causal_part["warranty_months"])  # R-WAR-6
            if local_day(ticket.created) < until:
                ticket.verdict = (True, "repair", "key_component", {
                    "part": ticket.causal_part["name"], "until": until.isoformat(),
                    "months": ticket.causal_part["warranty_months"]})
        ticket.in_warranty = ticket.verdict[0]
        if not ticket.in_warranty:
            ticket.estimate = Decimal(rng.randrange(80, 600, 10))

    def _investigate(self, ticket: Ticket, at: datetime, actor: int):
        rng = self.rng
        against = ticket.engineer if rng.random() < 0.1 else None
        ticket.complaint = [self.ids.take("complaint"), ticket.id, rng.choice(COMPLAINT_CLASSES), False,
                            "致歉并减免上门费", at + timedelta(hours=rng.randint(2, 20)), "已核实情况并与用户沟通",
                            "", 0, False, against, against is not None and rng.random() < 0.5, at, at]

    def _answer_at_intake(self, ticket: Ticket, at: datetime, actor: int):
        self._schedule_visit(ticket, at)

    def _schedule_installation(self, ticket: Ticket, at: datetime, actor: int):
        """R-INST-1/2: beyond the free distance the travel is charged, materials are the user's."""
        rng = self.rng
        ticket.mode = "onsite"
        km = ticket.customer[6]
        if km > self.free_km:
            ticket.fees.append(("travel", f"{km} km × ¥{self.km_rate}/km", money(km * self.km_rate)))
        if rng.random() < 0.25:
            ticket.fees.extend(("material", item, amount) for item, amount in rng.sample(MATERIALS, rng.randint(1, 2)))
        if not ticket.fees:
            return "agreed"
        self._pause(ticket, at, actor)
        return None

    def _answer_remotely(self, ticket: Ticket, at: datetime, actor: int):
        self._schedule_visit(ticket, at)

    def _propose(self, ticket: Ticket, at: datetime, actor: int):
        if ticket.kind in ("repair", "return_exchange") and ticket.in_warranty is False:  # R-WAR-3: itemised
            ticket.fees.append((None, "上门服务费", Decimal("50.00")))
            ticket.fees.append((None, "配件费", Decimal(self.rng.randrange(20, 400, 2))))
        self._pause(ticket, at, actor)

    def _agree(self, ticket: Ticket, at: datetime, actor: int):
        if ticket.paused:
            self._resume(ticket, at, actor)

    def _dispatch(self, ticket: Ticket, at: datetime, actor: int):
        low, high = GAPS["start_service"]
        ticket.assigned = ticket.engineer
        ticket.appointment = (at + timedelta(minutes=self.rng.uniform(low, high))).replace(second=0, microsecond=0)

    def _receive_mail_in(self, ticket: Ticket, at: datetime, actor: int):
        intact = self.rng.random() < 0.95
        ticket.mail_in = [self.ids.take("mail_in"), ticket.id, at, intact, "" if intact else "外箱破损，机身右侧有划痕",
                          not intact, "", None, "", "", at, at]

    def _start_service(self, ticket: Ticket, at: datetime, actor: int):
        return None

    def _test_mail_in(self, ticket: Ticket, at: datetime, actor: int):
        ticket.mail_in[6], ticket.mail_in[11] = "故障复现，确认为部件故障", at

    def _resolve(self, ticket: Ticket, at: datetime, actor: int):
        fitted = self._fit_parts(ticket, at)
        work = WORK_DONE["installation" if ticket.kind == "installation" else "repair"]
        report = ticket.report or [self.ids.take("service_report"), ticket.id, None, "", "", True, "", None, at, at]
        report[2], report[3], report[4] = ticket.assigned or actor, work, fitted
        report[6], report[7], report[9] = ticket.customer[1], at, at
        ticket.report = report
        self._schedule_visit(ticket, at)

    def _ship_back(self, ticket: Ticket, at: datetime, actor: int):
        self._fit_parts(ticket, at)
        mail = ticket.mail_in
        mail[7], mail[8], mail[11] = at, self.rng.choice(COURIERS), at
        mail[9] = f"SF{self.rng.randrange(10**11, 10**12)}"
        self._schedule_visit(ticket, at)

    def _settle(self, ticket: Ticket, at: datetime, actor: int):
        ticket.complaint[7], ticket.complaint[13] = "已致歉并减免上门费，用户接受", at
        self._schedule_visit(ticket, at)

    def _return_visit(self, ticket: Ticket, at: datetime, actor: int):
        """The center's call-back; an unsatisfied customer reopens the ticket (once here)."""
        rng = self.rng
        visit = ticket.visit
        score = rng.choices(SATISFACTION, SATISFACTION_WEIGHTS)[0]
        if score < self.satisfied_from and (ticket.kind not in REOPENABLE or ticket.reopened):
            score = rng.choice((3, 4, 5))
        visit[4], visit[5], visit[6], visit[7], visit[9] = at, score, COMMENTS[score], actor, at
        if score >= self.satisfied_from:
            return None
        ticket.reopened += 1
        if ticket.complaint is not None:
            ticket.complaint[8] += 1
            ticket.complaint[9] = ticket.complaint[8] > 1
            ticket.complaint[13] = at
        return "diagnosed"

    def _close(self, ticket: Ticket, at: datetime, actor: int):
        ticket.closed = at

    def _schedule_visit(self, ticket: Ticket, at: datetime) -> None:
        complaint = ticket.kind == "complaint"
        due = at + (self.complaint_visit_days if complaint else self.visit_days)
        ticket.visit = [self.ids.take("return_visit"), ticket.id, "complaint" if complaint else "service", due,
                        None, None, "", None, at, at]
        self.rows["return_visit"].append(ticket.visit)

    def _fit_parts(self, ticket: Ticket, at: datetime) -> str:
        """Parts fitted in a repair, each with its own warranty (R-WAR-2); under warranty its old
        part is owed to the center (R-PART-4: Books)."""
        rng = self.rng
        if ticket.kind not in ("repair", "return_exchange"):
            return ""
        choices = self.ref.parts_by_category.get(ticket.unit[2]["category"]) or []
        count = min(rng.choice((0, 1, 1, 2)), len(choices))
        day = local_day(at)
        names = []
        for part in rng.sample(choices, count):
            qty = 2 if rng.random() < 0.1 else 1
            on_account = ticket.in_warranty and rng.random() < 0.8
            settlement = "on_account" if on_account else "purchase"
            row = (self.ids.take("replaced_part"), ticket.id, ticket.unit[0], part["id"], qty, day,
                   add_months(day, self.part_months) - timedelta(days=1), settlement)
            self.rows["replaced_part"].append(row)
            ticket.parts.append(row)
            if ticket.in_warranty:
                self.run.books.fitted(ticket, row, len(ticket.parts), part, at)
            names.append(f"{part['code']} {part['name']} × {qty}")
        return "；".join(names)

