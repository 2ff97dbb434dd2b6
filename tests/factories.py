"""Rows for tests: look-ups of demo rows, and factories that create fresh ones.

The look-ups (`outlet`, `user`, `ticket_of`, `customer_of`, `unit_of`) find rows of the demo
world (the fixture: see tests/conftest.py). The factories (`make_*`) create new rows with
realistic Chinese data in a plain ORM session (the `session` fixture); they `add` and `flush`
but never commit: the test does. Codes, phones, serials and usernames come from a counter (and
a short random fragment where a code is global), so they never collide with demo rows or with
each other.
"""
from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from backoffice.demo import DEMO_PASSWORD
from backoffice.timezones import local_today
from models import (
    AppraisalRecord,
    Customer,
    FaultCode,
    FinishedGoodsStock,
    Outlet,
    Part,
    PolicySetting,
    ProductModel,
    SlaPolicy,
    Ticket,
    TravelBand,
    Unit,
    User,
)
from models.choices import Area, Role

from .conftest import FAST_HASH

__all__ = [
    "DEMO_PASSWORD",
    "advance_ticket",
    "customer_of",
    "make_api_token",
    "make_appraisal",
    "make_customer",
    "make_fault_code",
    "make_outlet",
    "make_part",
    "make_parts_account",
    "make_policy_setting",
    "make_product_model",
    "make_refund_request",
    "make_service_network",
    "make_shoe_ticket",
    "make_sla_policy",
    "make_stock",
    "make_ticket",
    "make_ticket_without_invoice",
    "make_travel_band",
    "make_unit",
    "make_user",
    "outlet",
    "product_model",
    "ticket_of",
    "unit_of",
    "user",
]


# --- look-ups of demo rows ------------------------------------------------------------------

def outlet(session, code) -> Outlet:
    return session.scalar(select(Outlet).where(Outlet.code == code))


def user(session, username) -> User:
    return session.scalar(select(User).where(User.username == username))


def ticket_of(session, code, **where) -> Ticket:
    stmt = select(Ticket).join(Outlet).where(Outlet.code == code).order_by(Ticket.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(Ticket, key) == value)
    return session.scalars(stmt).first()


def customer_of(session, code) -> Customer:
    return session.scalars(select(Customer).join(Outlet).where(Outlet.code == code)
                           .order_by(Customer.id)).first()


def unit_of(session, code) -> Unit:
    return session.scalars(select(Unit).join(Outlet).where(Outlet.code == code).order_by(Unit.id)).first()


# --- factories --------------------------------------------------------------------------------

_seq = itertools.count(1)

# Places outside the demo world's streets, so a factory row is easy to tell apart.
PLACES = [
    # district, outlet name stem, street pattern, area
    ("广州市白云区", "白云新市", "白云区新市街机场路{n}号{b}栋{r}房", Area.URBAN),
    ("广州市番禺区", "番禺市桥", "番禺区市桥街繁华路{n}号{b}座{r}", Area.URBAN),
    ("佛山市南海区", "南海桂城", "南海区桂城街道南海大道北{n}号", Area.URBAN),
    ("中山市小榄镇", "小榄", "小榄镇升平中路{n}号", Area.SUBURBAN),
    ("江门市新会区", "新会会城", "新会区会城今古洲路{n}号{b}栋{r}", Area.URBAN),
    ("惠州市博罗县", "博罗罗阳", "博罗县罗阳镇北门路{n}号", Area.SUBURBAN),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁宋郑谢韩唐冯邓曹彭曾肖田董袁潘蔡蒋余"
GIVEN = ["伟", "芳", "秀英", "敏", "静", "丽华", "志强", "晓燕", "俊杰", "婉婷", "家豪", "美玲",
         "建华", "文静", "国强", "梓轩", "嘉怡", "子豪"]
FAULTS = ["开热水后点不着火，有咔咔声", "使用中途熄火，显示E1", "水温忽冷忽热", "风机噪音大",
          "显示屏不亮，无法开机"]


def next_number() -> int:
    """A number never handed out before in this test process."""
    return next(_seq)


def _fragment() -> str:
    return uuid.uuid4().hex[:4].upper()


def _place(n: int):
    return PLACES[n % len(PLACES)]


def _person(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)]


def make_outlet(session, *, code=None, name=None, parent=None, **kw) -> Outlet:
    """A dealer outlet (经销商 / 服务网点); a sub-outlet when `parent` is given."""
    n = next_number()
    region, stem, street, _area = _place(n)
    values = dict(
        code=code or f"T{n:03d}-{_fragment()}",
        name=name or f"{stem}家电售后服务部{n}号店",
        parent=parent, region=region,
        address=region + street.format(n=100 + n, b=n % 9 + 1, r=101 + n),
        service_phone=f"020-8600{n:04d}", duty_phone=f"1380000{n:04d}",
        total_purchase_amount=Decimal("1200000.00"),
    )
    values.update(kw)
    row = Outlet(**values)
    session.add(row)
    session.flush()
    return row


def make_user(session, role, *, outlet=None, username=None, password=DEMO_PASSWORD, **kw) -> User:
    """An active account that can sign in through /login with `password`. A dealer needs an
    outlet (DOMAIN §1): without one given, a fresh outlet is made for it."""
    role = Role(role).value
    n = next_number()
    if role == Role.DEALER and outlet is None:
        outlet = make_outlet(session)
    values = dict(username=username or f"{role}-t{n:03d}", full_name=_person(n),
                  phone=f"1370000{n:04d}", role=role, outlet=outlet, active=True,
                  password_hash=generate_password_hash(password, method=FAST_HASH))
    values.update(kw)
    row = User(**values)
    session.add(row)
    session.flush()
    return row


def make_customer(session, outlet, **kw) -> Customer:
    """A customer archive record (客户档案) served by `outlet`, with a phone no demo row has."""
    n = next_number()
    region, _stem, street, area = _place(n)
    values = dict(name=_person(n), phone=f"1390000{n:04d}", phone2="",
                  address=region + street.format(n=n % 300 + 1, b=n % 12 + 1, r=201 + n % 900),
                  region=region, area=area.value,
                  distance_km=Decimal("6.5") if area == Area.URBAN else Decimal("32.0"),
                  outlet=outlet, note="")
    values.update(kw)
    row = Customer(**values)
    session.add(row)
    session.flush()
    return row


def product_model(session, code) -> ProductModel:
    return session.scalar(select(ProductModel).where(ProductModel.code == code))


def make_unit(session, customer, *, model_code=None, invoice_date=None, price=Decimal("2599.00"),
              **kw) -> Unit:
    """A unit sold to `customer` at the customer's outlet; invoiced 60 days ago unless told."""
    n = next_number()
    model = product_model(session, model_code or "JSQ30-16B")
    invoice_date = invoice_date or local_today() - timedelta(days=60)
    values = dict(product_model=model, customer=customer, outlet=customer.outlet,
                  serial=f"T{model.code[:3]}{invoice_date:%y%m}{n:05d}{_fragment()}",
                  invoice_no=f"FP{invoice_date:%Y}{n:08d}", invoice_date=invoice_date, price=price)
    values.update(kw)
    row = Unit(**values)
    session.add(row)
    session.flush()
    return row


def make_ticket(session, customer, *, unit=None, kind="repair", channel="hotline", category="quality",
                fault_description=None, actor=None, status=None, mode="onsite", engineer=None, desk=None,
                steps=None, **kw) -> Ticket:
    """A ticket registered through backoffice.tickets.register_ticket: it gets its number,
    warranty verdict, SLA clocks, route and first timeline line (R-TKT-1/2, R-WAR-*, R-SLA-1).

    With `status`, it is then walked there by `advance_ticket` (the real workflow, R-TKT-4):
    `mode` (onsite, remote, mail_in), `engineer`, `desk` and `steps` are passed on to it."""
    from backoffice.tickets import register_ticket

    n = next_number()
    values = dict(kind=kind, channel=channel, category=category,
                  fault_description=fault_description or FAULTS[n % len(FAULTS)],
                  customer=customer, unit=unit, outlet=kw.pop("outlet", None) or customer.outlet,
                  occurred_at=datetime.now(UTC) - timedelta(hours=3))
    values.update(kw)
    row = Ticket(**values)
    session.add(row)
    register_ticket(session, row, actor)
    session.flush()
    if status is not None:
        advance_ticket(session, row, status, mode=mode, engineer=engineer, desk=desk, steps=steps)
    return row


# The steps from registration to closing, per kind and service mode, as (step, who) pairs: who is
# "desk" (a clerk of the service center) or "worker" (the engineer) (R-TKT-4, R-ROLE-3).
_AFTER_SERVICE = [("return_visit", "desk"), ("close", "desk")]
_PATHS = {
    ("repair", "onsite"): [("diagnose", "worker"), ("propose", "worker"), ("agree", "desk"), ("dispatch", "desk"),
                           ("start_service", "worker"), ("resolve", "worker"), *_AFTER_SERVICE],
    ("repair", "remote"): [("diagnose", "worker"), ("answer_remotely", "worker"), *_AFTER_SERVICE],
    ("repair", "mail_in"): [("diagnose", "worker"), ("propose", "worker"), ("agree", "desk"),
                            ("receive_mail_in", "worker"), ("test_mail_in", "worker"),
                            ("ship_back", "worker"), *_AFTER_SERVICE],
    ("consultation", None): [("answer_at_intake", "desk"), *_AFTER_SERVICE],
    ("complaint", None): [("investigate", "desk"), ("propose", "desk"), ("agree", "desk"),
                          ("settle", "desk"), *_AFTER_SERVICE],
    ("installation", None): [("schedule_installation", "desk"), ("agree", "desk"), ("dispatch", "desk"),
                             ("start_service", "worker"), ("resolve", "worker"), *_AFTER_SERVICE],
}
_STEP_GAP = timedelta(minutes=20)


def _path_of(ticket, mode):
    kind = "repair" if ticket.kind == "return_exchange" else ticket.kind
    return _PATHS[(kind, mode if kind == "repair" else None)]


def _later(at, hours=4) -> str:
    """A local date and time as the step forms take it ("2026-03-05T14:30")."""
    from backoffice.timezones import to_local

    return to_local(at + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def _diagnosis(session, ticket, mode) -> dict:
    """A diagnosis with codes of the unit's category made for it (a remedy with standard hours)."""
    category = ticket.unit.product_model.category if ticket.unit is not None else None
    codes = {kind: make_fault_code(session, kind=kind, category=category,
                                   **({"standard_hours": Decimal("1.50")} if kind == "remedy" else {}))
             for kind in ("fault", "cause", "remedy")}
    return {"service_mode": mode, "severity": "minor", "fault_code": str(codes["fault"].id),
            "cause_code": str(codes["cause"].id), "remedy_code": str(codes["remedy"].id),
            "note": "电话初诊：" + ticket.fault_description}


def _step_data(session, ticket, step, *, mode, engineer, target, at) -> dict:
    """Plausible form data for `step` (as typed), like the demo world's (backoffice/demo.py)."""
    from backoffice import workflow

    if step == "diagnose":
        return _diagnosis(session, ticket, mode)
    if step == "propose":
        fees = [{"item": "上门服务费", "amount": "50"}, {"item": "配件费", "amount": "168"}]
        return {"note": "按故障代码维修，预计一次上门解决", "fees": fees if workflow.needs_fee_list(ticket) else []}
    if step == "schedule_installation":  # materials make the customer agree first (R-INST-2)
        materials = [("不锈钢波纹管 1.5米", "45")] if target == "solution_proposed" else []
        return {"note": "已与用户预约安装时间", "fees": materials}
    return {
        "agree": {"note": "用户同意方案"},
        "dispatch": {"engineer": str(engineer.id), "appointment_at": _later(at)},
        "resolve": {"work_done": "检修并更换故障部件，试机正常", "tested_ok": "y", "signed_by": ticket.contact_name},
        "receive_mail_in": {"package_ok": "y"},
        "test_mail_in": {"test_result": "故障复现，确认为部件故障"},
        "ship_back": {"courier": "顺丰速运", "tracking_no": f"SF{next_number():012d}"},
        "answer_remotely": {"note": "电话指导用户复位后恢复正常"},
        "answer_at_intake": {"note": "已电话讲解使用方法"},
        "investigate": {"complaint_class": "service_quality", "investigation": "已核实师傅上门迟到并与用户沟通",
                        "promised_result": "致歉并减免上门费", "promised_at": _later(at, 24)},
        "settle": {"resolution": "已致歉并减免上门费，用户接受"},
        "return_visit": {"satisfaction": "5", "comment": "服务满意"},
        "close": {"note": "回访满意，结案"},
    }.get(step, {})


def advance_ticket(session, ticket, status, *, mode="onsite", engineer=None, desk=None, steps=None) -> Ticket:
    """Walk `ticket` along its kind's path with `backoffice.workflow.perform` until it reaches
    `status`, so timeline, clocks, fees, report and return visit are those of a real ticket.

    `engineer` diagnoses and serves (a fresh engineer of the ticket's outlet unless given, and it
    is the one dispatched); `desk` takes the desk's steps (a fresh clerk of the service center);
    `steps` ({step name: data}) replaces the form data of single steps. "returning" is reached
    through a refund a manager approves (diagnosed unrepairable, R-RET-5). Steps are taken
    20 minutes apart from the ticket's registration, never later than now."""
    from backoffice import workflow
    from models import utcnow
    from models.choices import TicketStatus

    target = TicketStatus(status)
    if target == TicketStatus.RETURNING:
        advance_ticket(session, ticket, TicketStatus.DIAGNOSED, mode=mode, engineer=engineer, desk=desk, steps=steps)
        return _approve_refund(session, ticket, desk)
    if ticket.kind == "installation":
        mode = "onsite"
    actors = {"worker": engineer, "desk": desk}
    at = ticket.created_at if ticket.created_at.tzinfo else ticket.created_at.replace(tzinfo=UTC)
    for step, who in _path_of(ticket, mode):
        if ticket.status == target:
            break
        if TicketStatus(ticket.status) not in workflow.BY_NAME[step].sources:
            continue  # taken already (or skipped: a free installation is agreed when scheduled, R-INST-1)
        if actors["worker"] is None:
            actors["worker"] = make_user(session, "engineer", outlet=ticket.outlet)
        if actors["desk"] is None:
            actors["desk"] = make_user(session, "clerk")
        at = min(at + _STEP_GAP, utcnow())
        data = (steps or {}).get(step) or _step_data(session, ticket, step, mode=mode, engineer=actors["worker"],
                                                     target=target, at=at)
        workflow.perform(session, ticket, step, actors[who], data, at)
        session.flush()
    if ticket.status != target:
        raise ValueError(f"a {ticket.kind} ticket ({mode}) does not reach {target.value!r} on its path")
    return ticket


def _approve_refund(session, ticket, desk) -> Ticket:
    """A refund of the purchase price, requested by the desk and approved by a manager (two
    above the threshold, R-RET-4): the ticket goes on the return path (R-RET-5)."""
    from backoffice import approvals

    if ticket.unit is None:
        raise ValueError("a ticket without a unit has no refund: give make_ticket a unit")
    requester = desk or make_user(session, "clerk")
    request = approvals.submit(session, ticket, requester, approvals.Draft(
        kind="return_refund", grounds="unrepairable", reason="主板烧毁，无法维修，用户要求退货",
        amount=ticket.unit.price))
    session.flush()
    approvals.decide(session, request, make_user(session, "manager"), "approve", "核实无法维修，同意退货")
    if request.needs_second:
        approvals.decide(session, request, make_user(session, "manager"), "approve", "同意")
    session.flush()
    return ticket


def bring_back_old_parts(session, *claims_or_tickets) -> None:
    """The old parts of these claims' (or tickets') repairs are back at the center, inspected and
    credited: what a claim's approval waits for (R-FEE-3), for tests that are about something
    else. A shortcut past the return list: no ledger entry is booked."""
    from models import OldPart

    ids = [getattr(item, "ticket_id", None) or item.id for item in claims_or_tickets]
    for old in session.scalars(select(OldPart).where(OldPart.ticket_id.in_(ids), OldPart.state != "charged")):
        old.state = "credited"
    session.flush()


def make_parts_account(session, outlet, *, quota=None, balance=None, actor=None):
    """The outlet's parts account (R-PART-2), booked through the ledger (R-PART-8): the quota is
    granted from the outlet's purchases (set so that the quota is `quota` when given), then one
    adjustment with its reason brings the balance to `balance` when given."""
    from backoffice import ledger, policy
    from models.choices import LedgerKind

    if quota is not None:
        quota = Decimal(quota).quantize(Decimal("0.01"))
        outlet.total_purchase_amount = (quota / policy.value(session, "parts.quota_rate")).quantize(Decimal("0.01"))
        session.flush()
        if ledger.quota_for(session, outlet) != quota:
            raise ValueError(f"no purchase amount gives a quota of exactly {quota} at this rate")
    ledger.grant_quota(session, outlet, actor)
    account = ledger.account_of(session, outlet.id)
    if balance is not None:
        delta = Decimal(balance).quantize(Decimal("0.01")) - ledger.balance_of(session, outlet.id)
        if delta:
            ledger.post(session, outlet.id, LedgerKind.ADJUSTMENT, delta, actor=actor,
                        source=f"adjustment:{outlet.id}:{uuid.uuid4().hex}", reason="盘点调整：核对配件账户余额")
    session.flush()
    session.refresh(account)
    return account


def make_service_network(session) -> dict:
    """A small world of its own: dealer outlets A and B with a dealer and an engineer each, a
    service center with its engineer, the center's clerk and two managers, and a customer of A
    with a gas water heater bought 3 days ago for ¥2599 (inside the 7-day return window)."""
    a, b = make_outlet(session), make_outlet(session)
    center = make_outlet(session, name="家电售后服务中心（测试）", is_service_center=True)
    world = dict(a=a, b=b, center=center,
                 dealer_a=make_user(session, Role.DEALER, outlet=a), dealer_b=make_user(session, Role.DEALER, outlet=b),
                 engineer_a=make_user(session, Role.ENGINEER, outlet=a),
                 engineer_b=make_user(session, Role.ENGINEER, outlet=b),
                 center_engineer=make_user(session, Role.ENGINEER, outlet=center),
                 clerk=make_user(session, Role.CLERK), manager=make_user(session, Role.MANAGER),
                 manager2=make_user(session, Role.MANAGER))
    world["customer"] = make_customer(session, a)
    world["unit"] = make_unit(session, world["customer"], invoice_date=local_today() - timedelta(days=3),
                              price=Decimal("2599.00"))
    return world


def make_product_model(session, *, code=None, category="gas_water_heater", **kw) -> ProductModel:
    n = next_number()
    values = dict(code=code or f"JSQ-T{n:03d}{_fragment()}", name=f"{10 + n % 10}升智能恒温燃气热水器",
                  category=category, warranty_months=12, free_installation=True,
                  gas_type="natural_gas" if category in ("gas_water_heater", "gas_stove") else None)
    values.update(kw)
    row = ProductModel(**values)
    session.add(row)
    session.flush()
    return row


def make_part(session, *, code=None, **kw) -> Part:
    n = next_number()
    values = dict(code=code or f"P-T{n:03d}{_fragment()}", name="水流量传感器", category="gas_water_heater",
                  unit_price=Decimal("46.00"), gas_type=None, consumable=False, fragile=False)
    values.update(kw)
    row = Part(**values)
    session.add(row)
    session.flush()
    return row


def make_fault_code(session, *, kind="fault", code=None, **kw) -> FaultCode:
    n = next_number()
    values = dict(kind=kind, code=code or f"T{kind[0].upper()}{n:03d}{_fragment()}", name="开机无反应",
                  category="gas_water_heater")
    values.update(kw)
    row = FaultCode(**values)
    session.add(row)
    session.flush()
    return row


def make_stock(session, outlet, model=None, *, qty=5, size="") -> FinishedGoodsStock:
    """Finished goods of `model` (a fresh product model unless given) on hand at `outlet`."""
    row = FinishedGoodsStock(outlet=outlet, product_model=model or make_product_model(session), qty=qty, size=size)
    session.add(row)
    session.flush()
    return row


def make_travel_band(session, *, up_to_km=None, amount=Decimal("45.00")) -> TravelBand:
    """A travel band beyond the demo bands (limits are unique)."""
    row = TravelBand(up_to_km=up_to_km or 5000 + next_number(), amount=amount)
    session.add(row)
    session.flush()
    return row


def make_appraisal(session, staff, *, period_kind="monthly", period_start=None, scored_by=None,
                   **kw) -> AppraisalRecord:
    """An appraisal of `staff` (德 勤 能 绩 within the default maxima, R-APR-1)."""
    start = period_start or date(2020, 1, 1) + timedelta(days=31 * (next_number() % 60))
    values = dict(staff=staff, period_kind=period_kind, period_start=start.replace(day=1),
                  conduct=Decimal("18"), diligence=Decimal("17"), ability=Decimal("25"),
                  results=Decimal("26"), commendation=Decimal("0"), penalty=Decimal("0"),
                  note="按时完成上门服务，用户评价良好", scored_by=scored_by)
    values.update(kw)
    row = AppraisalRecord(**values)
    session.add(row)
    session.flush()
    return row


def make_policy_setting(session, key=None, value=None) -> PolicySetting:
    """An override of a policy default (its key must not be set yet): the default unless told."""
    from backoffice import policy

    taken = set(session.scalars(select(PolicySetting.key)))
    key = key or next(k for k in sorted(policy.DEFAULTS) if k not in taken)
    row = PolicySetting(key=key, value=str(value if value is not None else policy.DEFAULTS[key][0]))
    session.add(row)
    session.flush()
    return row


def make_sla_policy(session, *, clock="response", kind="consultation", in_warranty=False,
                    area="suburban", hours=Decimal("4")) -> SlaPolicy:
    row = SlaPolicy(clock=clock, kind=kind, in_warranty=in_warranty, area=area, hours=hours)
    session.add(row)
    session.flush()
    return row


def make_api_token(session, channel="wechat", name=None):
    """A channel token; returns (the secret, shown once, and the row)."""
    from backoffice import channel_tokens

    secret, row = channel_tokens.create(session, channel, name or f"微信公众号接入{next_number()}")
    session.flush()
    return secret, row


def make_refund_request(session, world: dict, ticket=None):
    """The world's clerk asks to refund the world's unit inside its return window (R-WAR-5)."""
    from backoffice import approvals

    ticket = ticket or make_ticket(session, world["customer"], unit=world["unit"], kind="return_exchange",
                                   actor=world["clerk"])
    return approvals.submit(session, ticket, world["clerk"], approvals.Draft(
        kind="return_refund", grounds="sanbao_window", reason="7天内性能故障", amount=Decimal("2599.00")))


def make_shoe_ticket(session, *, owner=None, size="37", kind="return_exchange", category="size",
                     model_code="XZ-W3302"):
    """A pair of shoes bought 10 days ago in `size`, and a ticket about it (003: sizes, R-RET-2)."""
    owner = owner or make_customer(session, make_outlet(session), distance_km=Decimal("6.5"))
    unit = make_unit(session, owner, model_code=model_code, size=size, price=Decimal("399.00"),
                     invoice_date=local_today() - timedelta(days=10))
    return make_ticket(session, owner, unit=unit, kind=kind, category=category, fault_description="37码偏小挤脚")


def make_ticket_without_invoice(session):
    """A repair registered at the desk for a unit whose invoice is not on record (warranty unknown)."""
    from backoffice import intake

    unit = make_unit(session, make_customer(session, make_outlet(session)))
    unit.invoice_date = None
    return intake.register_report(session, intake.Report(
        kind="repair", fault="热水器打不着火", customer_id=unit.customer_id, unit_id=unit.id,
        outlet_id=unit.outlet_id), make_user(session, "clerk"))
