"""Realistic demo data (Guangdong appliance after-sales). Deterministic and loaded once."""
from __future__ import annotations

import csv
import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    AppraisalRecord,
    Customer,
    FaultCode,
    FeeClaim,
    FinishedGoodsStock,
    ModelSales,
    OldPart,
    Outlet,
    Part,
    ProductModel,
    Ticket,
    TicketEvent,
    Unit,
    User,
    utcnow,
)
from models.choices import (
    AppraisalPeriod,
    Area,
    Channel,
    IssueCategory,
    ProductCategory,
    Role,
    TicketKind,
    TicketStatus,
)

from . import (
    accounts,
    approvals,
    fee_claims,
    ledger,
    network_approvals,
    old_parts,
    parts_requests,
    reconciliation,
    tickets,
    workflow,
)
from .months import previous_month, recent
from .timezones import local_today, service_zone

DEMO_PASSWORD = "demo1234"

OUTLETS = [
    # code, name, parent code, region, address, service phone, duty phone, purchases
    ("SC-GZ", "广州售后服务中心", None, "广州市", "广州市天河区天河北路233号中信广场12楼",
     "020-38880000", "400-830-1234", "0"),
    ("GZ-TH", "天河美居电器服务部", None, "广州市天河区", "广州市天河区棠下荷光路88号",
     "020-85551234", "13802256789", "2860000"),
    ("GZ-TH-01", "天河车陂服务网点", "GZ-TH", "广州市天河区", "广州市天河区车陂路112号",
     "020-82345678", "13922334455", "640000"),
    ("FS-SD", "顺德容桂家电售后网点", None, "佛山市顺德区", "佛山市顺德区容桂街道桂洲大道中65号",
     "0757-28881234", "13690012345", "3420000"),
    ("DG-NC", "东莞南城电器服务站", None, "东莞市南城区", "东莞市南城区鸿福路101号",
     "0769-22881234", "13712345678", "1780000"),
]

USERS = [
    # username, full name, role, outlet code
    ("admin", "系统管理员", Role.ADMIN, None),
    ("manager", "陈志强", Role.MANAGER, None),
    ("clerk", "李晓敏", Role.CLERK, None),
    ("engineer", "王建国", Role.ENGINEER, None),
    ("dealer1", "黄伟明", Role.DEALER, "GZ-TH"),
    ("dealer2", "梁嘉欣", Role.DEALER, "FS-SD"),
    ("engineer2", "刘师傅", Role.ENGINEER, "FS-SD"),
    # Every dealer outlet has its own engineer to dispatch (R-TKT-4 dispatch).
    ("engineer3", "赵振华", Role.ENGINEER, "GZ-TH"),
    ("engineer4", "孙立新", Role.ENGINEER, "GZ-TH-01"),
    ("engineer5", "何志勇", Role.ENGINEER, "DG-NC"),
]

MODELS = [
    # code, name, category, warranty months, free installation, gas type
    ("JSQ24-12A", "12升燃气热水器 强排式", "gas_water_heater", 12, True, "natural_gas"),
    ("JSQ30-16B", "16升恒温燃气热水器", "gas_water_heater", 12, True, "natural_gas"),
    ("JSQ30-16BY", "16升恒温燃气热水器(液化气)", "gas_water_heater", 12, True, "lpg"),
    ("CXW-200-A8", "侧吸式吸油烟机", "range_hood", 12, True, None),
    ("CXW-258-T9", "顶吸式大吸力油烟机", "range_hood", 12, True, None),
    ("ZTD100-E3", "嵌入式消毒柜 100升", "disinfection_cabinet", 12, True, None),
    ("JZT-2B11", "嵌入式双眼燃气灶(天然气)", "gas_stove", 12, True, "natural_gas"),
    ("JZY-2B11", "嵌入式双眼燃气灶(液化气)", "gas_stove", 12, True, "lpg"),
]

PRICES = {"gas_water_heater": (1599, 3299), "range_hood": (1299, 2999),
          "disinfection_cabinet": (999, 2199), "gas_stove": (699, 1599)}

# The price list (R-PART-1) and the fault taxonomy (R-TKT-9) are tables in data/demo/.
DATA = Path(__file__).parent / "data" / "demo"


def _table(name: str) -> list[dict]:
    with (DATA / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁宋郑谢韩唐冯邓曹彭曾肖田董袁潘蔡蒋余"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
         "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "嘉怡", "子豪", "梓轩", "晓燕", "志明",
         "美玲", "俊杰", "婉婷", "家豪", "丽华", "建华", "文静", "国强"]

STREETS = {
    "SC-GZ": [("广州市越秀区", "东风中路{n}号{b}栋{r}房", Area.URBAN),
              ("广州市海珠区", "江南大道中{n}号{b}座{r}", Area.URBAN),
              ("广州市从化区", "街口街青云路{n}号", Area.SUBURBAN)],
    "GZ-TH": [("广州市天河区", "体育西路{n}号{b}栋{r}房", Area.URBAN),
              ("广州市天河区", "天河路{n}号天河城公寓{b}座{r}", Area.URBAN),
              ("广州市天河区", "棠下涌东路{n}号", Area.URBAN)],
    "GZ-TH-01": [("广州市天河区", "车陂路{n}号{b}栋{r}房", Area.URBAN),
                 ("广州市黄埔区", "大沙地东{n}号", Area.URBAN)],
    "FS-SD": [("佛山市顺德区", "容桂街道文塔路{n}号{b}座{r}", Area.URBAN),
              ("佛山市顺德区", "勒流镇新城路{n}号", Area.SUBURBAN),
              ("佛山市顺德区", "均安镇沙头村{n}号", Area.SUBURBAN)],
    "DG-NC": [("东莞市南城区", "鸿福路{n}号{b}栋{r}", Area.URBAN),
              ("东莞市麻涌镇", "新沙港路{n}号", Area.SUBURBAN)],
}

FAULTS = {
    "gas_water_heater": ["开热水后点不着火，有咔咔声", "水温忽冷忽热", "使用中途熄火，显示E1",
                         "有燃气异味", "热水器漏水", "显示屏不亮，无法开机", "风机噪音大"],
    "range_hood": ["吸力明显变小", "开机后噪音大、振动", "按键失灵", "照明灯不亮", "漏油滴油"],
    "disinfection_cabinet": ["消毒灯不亮", "柜门关不严", "不能烘干", "臭氧有异味"],
    "gas_stove": ["左灶打不着火", "火焰发红不稳定", "点火后松手即熄", "旋钮损坏"],
}

# The shoe line (003): one model, many sizes — units, stock and tickets by size (R-RET-2, R-TKT-3).
SHOE_MODELS = [
    # code, name, warranty months, price, sizes sold, stock per size at the center
    ("XZ-M2601", "男士商务真皮系带皮鞋", 3, "599.00", ("40", "42", "43"),
     {"39": 2, "40": 3, "41": 0, "42": 4, "43": 2, "44": 1}),
    ("XZ-W3302", "女士轻便休闲运动鞋", 3, "399.00", ("36", "37", "38"),
     {"35": 1, "36": 3, "37": 2, "38": 5, "39": 0}),
]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def already_seeded(session: Session) -> bool:
    return session.scalar(select(User.id).where(User.username == "admin")) is not None


def seed(session: Session) -> bool:
    """Load the demo data unless it is already there. Returns True when it loaded."""
    if already_seeded(session):
        return False
    rng = random.Random(20261122)
    outlets = _outlets(session)
    users = _users(session, outlets)
    models = _models(session)
    _parts(session)
    customers = _customers(session, rng, outlets)
    units = _units(session, rng, customers, models)
    _stock(session, rng, outlets, models)
    codes = _codes(session)
    _tickets(session, rng, units, users, codes)
    _shoes(session, outlets, users, customers)
    _parts_accounts(session, rng, outlets, users)
    _appraisals(session, rng, users)
    _training(session, users)
    _fee_claims(session, users)
    _approvals(session, rng, outlets, users)
    _outlet_evaluation(session, users)
    _quality_history(session, users, models, codes)
    _todays_visits(session, users["engineer"])
    return True


# The demo engineer's day (issue 18): the visits his home page and phone open on, local times.
TODAYS_VISITS = (time(9, 30), time(11, 0), time(14, 30), time(16, 0))


def _todays_visits(session, engineer):
    """His first dispatched tickets are booked for today: the demo's walk set their appointments
    hours after their dispatch, long past by now. No draw from the demo's random stream."""
    booked = session.scalars(select(Ticket).where(Ticket.assigned_engineer_id == engineer.id,
                                                  Ticket.status == TicketStatus.DISPATCHED)
                             .order_by(Ticket.id).limit(len(TODAYS_VISITS))).all()
    today = local_today()
    for ticket, at in zip(booked, TODAYS_VISITS, strict=False):
        ticket.appointment_at = datetime.combine(today, at, service_zone()).astimezone(UTC)
    session.flush()


DEALER_OF = {"GZ-TH": "dealer1", "GZ-TH-01": "dealer1", "FS-SD": "dealer2", "DG-NC": None}
COURIERS = ("顺丰速运", "德邦物流", "中通快递")


def _parts_accounts(session, rng, outlets, users):
    """Quota granted at the start of last month, one request batch each last month, reviewed,
    shipped and delivered; last month reconciled except at DG-NC (its supply is held, R-PART-7);
    one urgent request waiting for review this month; old-part return applications at every step."""
    today = local_today()
    last_month = reconciliation.previous_month(today)
    start, _ = reconciliation.month_bounds(last_month)
    parts = session.scalars(select(Part).where(Part.unit_price >= 20).order_by(Part.id)).all()
    clerk = users["clerk"]
    for code, username in DEALER_OF.items():
        outlet, dealer = outlets[code], users.get(username) or clerk
        ledger.grant_quota(session, outlet, users["manager"], at=start + timedelta(hours=1))
        asked = start + timedelta(days=2, hours=rng.randint(1, 8))
        lines = [parts_requests.LineDraft(p.id, rng.randint(1, 4), urgent=i == 0)
                 for i, p in enumerate(rng.sample(parts, 3))]
        request = parts_requests.submit(session, outlet.id, dealer, lines, "月度保修周转配件", at=asked)
        parts_requests.review(session, request, clerk, parts_requests.suggested_settlements(session, request),
                              at=asked + timedelta(hours=5))
        parts_requests.ship(session, request, clerk, rng.choice(COURIERS), f"SF{rng.randint(10**11, 10**12)}",
                            at=asked + timedelta(hours=20))
        parts_requests.confirm_delivery(session, request, dealer, True, at=asked + timedelta(days=3))
        record = reconciliation.issue(session, outlet.id, last_month)
        if code != "DG-NC":
            reconciliation.confirm(session, record, dealer)
            reconciliation.close(session, record, clerk)
    urgent = [parts_requests.LineDraft(parts[0].id, 2, urgent=True), parts_requests.LineDraft(parts[1].id, 1)]
    parts_requests.submit(session, outlets["FS-SD"].id, users["dealer2"], urgent, "用户等待维修，急需")
    _old_part_returns(session, rng, outlets, users)
    session.flush()


def _owed(session, outlet, count):
    """The outlet's oldest owed old parts on no return application yet."""
    return list(session.scalars(select(OldPart).where(
        OldPart.outlet_id == outlet.id, OldPart.state == "owed", OldPart.return_id.is_(None))
        .order_by(OldPart.replaced_on, OldPart.id).limit(count)))


def _old_part_returns(session, rng, outlets, users):
    """Return applications at every step (R-PART-9): DG-NC's, filed by the center from its fax,
    shipped, counted (freight paid by the center) and inspected — one part credited, one charged
    and waiting for the outlet's choice (send back or scrap); FS-SD's authorised with one line
    struck (to be repacked) and shipped, the struck part applied for again and authorised, not
    shipped yet; GZ-TH-01's waiting for authorisation. GZ-TH's owed parts wait for an application."""
    clerk, dealer2 = users["clerk"], users["dealer2"]
    owed = _owed(session, outlets["DG-NC"], 2)
    if len(owed) == 2:
        parcel = old_parts.apply(session, outlets["DG-NC"].id, clerk, owed, "网点传真退货申请")
        old_parts.authorise(session, parcel, clerk)
        old_parts.ship(session, parcel, clerk, "德邦物流", f"DB{rng.randint(10**9, 10**10)}")
        old_parts.receive(session, parcel, clerk, {o.id: o.qty for o in owed}, Decimal("18.00"))
        old_parts.inspect(session, parcel, clerk, {owed[0].id: old_parts.QUALITY, owed[1].id: "human_damage"},
                          {owed[1].id: "外壳摔裂，非质量问题"})
    owed = _owed(session, outlets["FS-SD"], 2)
    if len(owed) == 2:
        parcel = old_parts.apply(session, outlets["FS-SD"].id, dealer2, owed, "本月保修旧件")
        old_parts.authorise(session, parcel, clerk, {owed[1].id: "包装破损，请重新包装后另行申请"})
        old_parts.ship(session, parcel, dealer2, "顺丰速运", f"SF{rng.randint(10**11, 10**12)}")
        again = old_parts.apply(session, outlets["FS-SD"].id, dealer2, [owed[1]], "已重新包装")
        old_parts.authorise(session, again, clerk)
    owed = _owed(session, outlets["GZ-TH-01"], 1)
    if owed:
        old_parts.apply(session, outlets["GZ-TH-01"].id, users["dealer1"], owed, "保修旧件返还")


# R-FEE-1: standard labour per remedy (hours); cleaning and adjusting are quick, swaps longer.
STANDARD_HOURS = {"R-WH01": "0.5", "R-WH02": "1.0", "R-WH03": "1.5", "R-WH04": "2.0", "R-RH01": "1.0",
                  "R-RH02": "1.5", "R-RH03": "1.0", "R-DC01": "0.5", "R-DC02": "1.0", "R-GS01": "0.5",
                  "R-GS02": "0.5"}


def _fee_claims(session, users):
    """Service-fee claims of the resolved warranty tickets (R-FEE-1, R-FEE-2): the outlets state
    their distances; the center audits the older two thirds (one adjusted, one rejected, each
    with its reason); last month is settled for FS-SD."""
    rng = random.Random(20261123)
    for code in session.scalars(select(FaultCode).where(FaultCode.kind == "remedy")):
        if code.code in STANDARD_HOURS:
            code.standard_hours = Decimal(STANDARD_HOURS[code.code])
    session.flush()
    clerk, now = users["clerk"], utcnow()
    claims = fee_claims.generate(session, None, clerk)
    done_at = dict(session.execute(
        select(TicketEvent.ticket_id, func.min(TicketEvent.at))
        .where(TicketEvent.to_status.in_(fee_claims.DONE)).group_by(TicketEvent.ticket_id)).all())
    for claim in claims:
        outlet_user = users.get(DEALER_OF.get(claim.outlet.code) or "") or clerk
        fee_claims.set_distance(session, claim, outlet_user, rng.choice([3, 8, 15, 25, 40, 75]))
        resolved = done_at.get(claim.ticket_id) or now - timedelta(days=1)
        claim.created_at = min(resolved + timedelta(hours=rng.randint(2, 30)), now - timedelta(hours=1))
    claims.sort(key=lambda c: (c.created_at, c.id))
    audited = claims[: len(claims) * 2 // 3]
    for index, claim in enumerate(audited):
        at = min(claim.created_at + timedelta(days=rng.randint(1, 4)), now - timedelta(minutes=30))
        if index == 1:
            fee_claims.audit(session, claim, clerk, "adjust", "路程按导航距离核减：差旅费按上一档计",
                             claim.claimed_total - claim.travel_amount, at=at)
        elif index == 4:
            fee_claims.audit(session, claim, clerk, "reject", "服务单无用户签字，照片缺失", at=at)
        elif fee_claims.actions(session, claim, clerk)["approve"]:  # R-FEE-3: old parts back, ticket done
            fee_claims.audit(session, claim, clerk, "approve", "单据齐全，照片与旧件已核", at=at)
    session.flush()
    fs_sd = session.scalar(select(Outlet).where(Outlet.code == "FS-SD"))
    fee_claims.settle_month(session, fs_sd.id, reconciliation.previous_month(local_today()), clerk)
    session.flush()


def _approvals(session, rng, outlets, users):
    """The managers' queue: an overcharge at GZ-TH-01 reported by the clerk and approved by the
    manager (charged back in the next settlement); waiting for a decision since last week (so
    this week's batches stay free): a third parts batch at GZ-TH-01, parts beyond the quota for
    a quality incident at GZ-TH; and a goodwill compensation on a ticket (R-PART-2, R-PART-3,
    R-FEE-2, R-RET-4)."""
    clerk, manager = users["clerk"], users["manager"]
    overcharged = session.scalar(select(FeeClaim).join(Outlet, FeeClaim.outlet_id == Outlet.id).where(
        Outlet.code == "GZ-TH-01", FeeClaim.status == "approved", FeeClaim.travel_amount > 0).order_by(FeeClaim.id))
    if overcharged is not None:
        asked = network_approvals.ask_chargeback(session, overcharged, clerk, Decimal("30.00"),
                                                 "回访核实：实际路程不足10公里，多报差旅费")
        approvals.decide(session, asked, manager, "approve", "回访录音与导航记录一致，按10倍扣回")
    last_week = datetime.combine(parts_requests.week_start(local_today()) - timedelta(days=7), time(9),
                                 tzinfo=service_zone()).astimezone(UTC)
    parts = session.scalars(select(Part).where(Part.unit_price >= 20).order_by(Part.unit_price.desc())).all()
    outlet, dealer = outlets["GZ-TH-01"], users["dealer1"]
    for day in range(3):
        line = [parts_requests.LineDraft(parts[day + 2].id, 1)]
        parts_requests.submit(session, outlet.id, dealer, line, "门店备件", at=last_week + timedelta(days=day),
                              exception_reason="" if day < 2 else "燃气热水器安装旺季，两批已用完，用户等待维修")
    balance = ledger.balance_of(session, outlets["GZ-TH"].id)  # ask for a little more than is left
    many = min(999, int(balance / parts[0].unit_price) + 3)
    asked_at = last_week + timedelta(days=4)
    incident = parts_requests.submit(session, outlets["GZ-TH"].id, dealer, [
        parts_requests.LineDraft(parts[0].id, many), parts_requests.LineDraft(parts[1].id, 2)],
        "JSQ20-12 批次点火针故障集中更换", at=asked_at)
    settlements = {line.id: "on_account" for line in incident.lines}
    network_approvals.ask_incident(session, incident, clerk, settlements,
                                   "同批次（2026年9月产）点火针断裂，已有多张服务单，申请特批挂账更换",
                                   at=asked_at + timedelta(hours=3))
    _goodwill(session, rng, clerk)
    session.flush()


def _goodwill(session, rng, clerk):
    candidates = session.scalars(select(Ticket).join(Unit, Ticket.unit_id == Unit.id).where(
        Ticket.status == TicketStatus.DIAGNOSED.value, Unit.price > 0).order_by(Ticket.id)).all()
    for ticket in candidates:
        draft = approvals.Draft(kind="extra_compensation", grounds="goodwill", amount=Decimal("100.00"),
                                reason="用户三次预约未能按时上门，经理同意致歉补偿")
        if not approvals.check(session, ticket, draft):
            approvals.submit(session, ticket, clerk, draft)
            return


def _outlets(session):
    outlets = {}
    for code, name, parent, region, address, phone, duty, purchases in OUTLETS:
        outlet = Outlet(code=code, name=name, parent=outlets.get(parent), region=region,
                        address=address, service_phone=phone, duty_phone=duty,
                        total_purchase_amount=Decimal(purchases), is_service_center=code == "SC-GZ")
        session.add(outlet)
        outlets[code] = outlet
    session.flush()
    return outlets


def _users(session, outlets):
    users = {}
    for username, full_name, role, outlet_code in USERS:
        # The published demo password is refused in forms; the seed sets it directly.
        users[username] = accounts.create_user(session, username, DEMO_PASSWORD, role.value,
                                               full_name=full_name, outlet=outlets.get(outlet_code),
                                               screened=False)
    session.flush()
    return users


def _models(session):
    models = []
    for code, name, category, months, free, gas in MODELS:
        model = ProductModel(code=code, name=name, category=category, warranty_months=months,
                             free_installation=free, gas_type=gas)
        session.add(model)
        models.append(model)
    return models


KEY_COMPONENTS = {"P-HEX-01": 36}  # R-WAR-6: heat exchangers are covered three years


def _parts(session):
    for row in _table("parts"):
        session.add(Part(code=row["code"], name=row["name"], category=row["category"],
                         unit_price=Decimal(row["unit_price"]), gas_type=row["gas_type"] or None,
                         consumable=row["consumable"] == "yes", fragile=row["fragile"] == "yes",
                         warranty_months=KEY_COMPONENTS.get(row["code"])))
    session.flush()


def _phone(rng):
    return f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"


def _customers(session, rng, outlets):
    customers = []
    codes = list(STREETS)
    for i in range(72):
        code = codes[i % len(codes)]
        region, pattern, area = rng.choice(STREETS[code])
        address = region + pattern.format(n=rng.randint(1, 399), b=rng.randint(1, 12),
                                          r=rng.randint(101, 2808))
        km = Decimal(rng.randint(2, 18) if area == Area.URBAN else rng.randint(15, 60))
        customer = Customer(name=rng.choice(SURNAMES) + rng.choice(GIVEN), phone=_phone(rng),
                            address=address, region=region, area=area.value, distance_km=km,
                            outlet=outlets[code])
        session.add(customer)
        customers.append(customer)
    return customers


def _units(session, rng, customers, models):
    units = []
    today = local_today()
    for customer in customers:
        for _ in range(rng.choice([1, 1, 1, 2])):
            model = rng.choice(models)
            low, high = PRICES[model.category]
            invoice_date = today - timedelta(days=rng.randint(3, 900))
            unit = Unit(product_model=model, customer=customer, outlet=customer.outlet,
                        serial=f"{model.code[:3]}{invoice_date:%y%m}{rng.randint(100000, 999999)}",
                        invoice_no=f"FP{invoice_date:%Y}{rng.randint(10000000, 99999999)}",
                        invoice_date=invoice_date, price=Decimal(rng.randrange(low, high, 100)) - 1)
            session.add(unit)
            units.append(unit)
    session.flush()
    return units


# Most callers call once: a unit already served comes back only this often (a repeat repair or a
# second question, R-TKT-9); otherwise the call is a neighbour's (`_neighbour`).
REPEAT_EVERY = 12


def _neighbour(session, rng, unit):
    """Another customer of the outlet who bought the same model the same day: the ticket drawn
    for `unit` goes to this one, so a caller rarely calls twice (the trade's few percent of repeat
    repairs) while the tickets' outlets, models and warranty stay as drawn."""
    outlet = unit.customer.outlet
    region, pattern, area = rng.choice(STREETS[outlet.code] if outlet.code in STREETS else STREETS["SC-GZ"])
    customer = Customer(name=rng.choice(SURNAMES) + rng.choice(GIVEN), phone=_phone(rng), outlet=outlet,
                        address=region + pattern.format(n=rng.randint(1, 399), b=rng.randint(1, 12),
                                                        r=rng.randint(101, 2808)),
                        region=region, area=area.value, distance_km=unit.customer.distance_km)
    twin = Unit(product_model=unit.product_model, customer=customer, outlet=unit.outlet,
                invoice_date=unit.invoice_date, price=unit.price,
                serial=f"{unit.product_model.code[:3]}{unit.invoice_date:%y%m}{rng.randint(100000, 999999)}",
                invoice_no=f"FP{unit.invoice_date:%Y}{rng.randint(10000000, 99999999)}")
    session.add_all([customer, twin])
    return twin


def _tickets(session, rng, units, users, codes):
    engineers = {None: users["engineer"], "FS-SD": users["engineer2"]}
    now, today = utcnow(), local_today()
    neighbours = random.Random(20261126)  # a stream of its own: the main stream's draws stay as they were
    served = set()
    for i in range(240):
        unit = rng.choice(units)
        if unit in served and i % REPEAT_EVERY:
            unit = _neighbour(session, neighbours, unit)
        served.add(unit)
        steps = rng.choices(range(9), [14, 8, 6, 5, 8, 8, 10, 8, 33])[0]  # how far along its path
        age_days = rng.randint(0, 2) if steps == 0 else rng.randint(1, 120)
        age_days = min(age_days, (today - unit.invoice_date).days)  # reported after the purchase
        created = now - timedelta(days=age_days, hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
        created = min(created, now - timedelta(minutes=5))
        kind = rng.choices([TicketKind.REPAIR, TicketKind.INSTALLATION, TicketKind.CONSULTATION,
                            TicketKind.COMPLAINT, TicketKind.RETURN_EXCHANGE], [70, 12, 8, 6, 4])[0]
        fault = rng.choice(FAULTS[unit.product_model.category])
        if kind == TicketKind.INSTALLATION:
            fault = "新机上门安装，需同时检查燃气管路"
        ticket = Ticket(kind=kind.value, channel=rng.choice(list(Channel)).value,
                        category=rng.choices([c.value for c in IssueCategory], [85, 3, 4, 8])[0],
                        fault_description=fault, customer=unit.customer, unit=unit,
                        outlet=unit.outlet, created_at=created,
                        occurred_at=created - timedelta(hours=rng.randint(1, 48)))
        session.add(ticket)
        registrar = users["dealer2"] if unit.outlet.code == "FS-SD" and i % 3 == 0 else users["clerk"]
        tickets.register_ticket(session, ticket, registrar)
        _advance(session, rng, ticket, steps, engineers, users, codes)
    session.flush()


def _shoes(session, outlets, users, customers):
    """The shoe line (003): two models sold in several sizes to customers of the center, stock
    by size at the center (one size of each sold out), and three tickets: a sole come unglued
    (quality → QA, diagnosed for a mail-in repair), a size exchange (size → sales, R-RET-2) and a
    colour-loss complaint (a shoe's quality → QA, R-TKT-3)."""
    rng = random.Random(20261124)  # a stream of its own: the appliance data stays as it was
    center, clerk = outlets["SC-GZ"], users["clerk"]
    buyers = [c for c in customers if c.outlet is center]
    today, now = local_today(), utcnow()
    units = {}
    for code, name, months, price, sizes, stock in SHOE_MODELS:
        model = ProductModel(code=code, name=name, category=ProductCategory.SHOES.value, warranty_months=months,
                             free_installation=False)
        session.add(model)
        for size, qty in stock.items():
            if qty:
                session.add(FinishedGoodsStock(outlet=center, product_model=model, size=size, qty=qty))
        for size in sizes:
            invoice_date = today - timedelta(days=rng.randint(5, 60))
            units[code, size] = Unit(
                product_model=model, customer=buyers[len(units) % len(buyers)], outlet=center, size=size,
                serial=f"{code[3:]}{invoice_date:%y%m}{rng.randint(100000, 999999)}",
                invoice_no=f"FP{invoice_date:%Y}{rng.randint(10000000, 99999999)}", invoice_date=invoice_date,
                price=Decimal(price))
            session.add(units[code, size])
    session.flush()
    reports = [(("XZ-M2601", "42"), TicketKind.REPAIR, IssueCategory.QUALITY, "右脚鞋底前掌开胶，穿了两周"),
               (("XZ-W3302", "37"), TicketKind.RETURN_EXCHANGE, IssueCategory.SIZE, "37码偏小挤脚，想换38码"),
               (("XZ-W3302", "36"), TicketKind.COMPLAINT, IssueCategory.QUALITY,
                "白色鞋面掉色，袜子被染蓝，要求给个说法")]
    registered = []
    for (code, size), kind, category, fault in reports:
        unit = units[code, size]
        created = now - timedelta(days=rng.randint(1, 3), hours=rng.randint(1, 8))
        ticket = Ticket(kind=kind.value, channel=Channel.HOTLINE.value, category=category.value,
                        fault_description=fault, customer=unit.customer, unit=unit, outlet=center,
                        created_at=created, occurred_at=created - timedelta(hours=rng.randint(2, 48)))
        session.add(ticket)
        registered.append(tickets.register_ticket(session, ticket, clerk))
    code_id = lambda code: str(session.scalar(select(FaultCode.id).where(FaultCode.code == code)))  # noqa: E731
    unglued = registered[0]
    workflow.perform(session, unglued, "diagnose", users["engineer"], {
        "service_mode": "mail_in", "severity": "minor", "fault_code": code_id("F-SH01"),
        "cause_code": code_id("C-SH01"), "remedy_code": code_id("R-SH01"),
        "note": "照片确认前掌开胶，寄回压合"}, unglued.created_at + timedelta(hours=2))
    session.flush()


def _stock(session, rng, outlets, models):
    """Finished goods on hand for exchanges: the center's warehouse and the big outlets."""
    for code in ("SC-GZ", "GZ-TH", "FS-SD"):
        for model in models:
            if rng.random() < 0.7:
                session.add(FinishedGoodsStock(outlet=outlets[code], product_model=model, qty=rng.randint(1, 12)))


def _codes(session):
    codes = {"parts": {}}
    for part in session.scalars(select(Part).order_by(Part.code)):
        codes["parts"].setdefault(part.category, []).append(part)
    for fields in _table("fault_codes"):
        row = FaultCode(**fields)
        session.add(row)
        codes.setdefault((row.kind, row.category), []).append(row)
    session.flush()
    return codes


def _path(ticket, mode):
    """The steps a ticket of this kind takes, as (step, who) pairs (R-TKT-4)."""
    if ticket.kind == TicketKind.CONSULTATION:
        return [("answer_at_intake", "desk"), ("return_visit", "desk"), ("close", "desk")]
    if ticket.kind == TicketKind.COMPLAINT:
        return [("investigate", "desk"), ("propose", "desk"), ("agree", "desk"), ("settle", "desk"),
                ("return_visit", "desk"), ("close", "desk")]
    middle = {"onsite": [("dispatch", "desk"), ("start_service", "worker"), ("resolve", "worker")],
              "mail_in": [("receive_mail_in", "worker"), ("test_mail_in", "worker"), ("ship_back", "worker")],
              "remote": []}[mode]
    head = [("diagnose", "worker")]
    tail = [("return_visit", "desk"), ("close", "desk")]
    if mode == "remote":
        return [*head, ("answer_remotely", "worker"), *tail]
    return [*head, ("propose", "worker"), ("agree", "desk"), *middle, *tail]


def _step_data(rng, ticket, step, engineer, codes, at):
    category = ticket.unit.product_model.category
    parts = codes["parts"]
    pick = lambda kind: str(rng.choice(codes[(kind, category)]).id)  # noqa: E731
    later = (at + timedelta(hours=rng.randint(2, 20))).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    return {
        "diagnose": lambda: {"service_mode": ticket.service_mode, "severity": rng.choice(["minor", "major"]),
                             "fault_code": pick("fault"), "cause_code": pick("cause"),
                             "remedy_code": pick("remedy"), "note": "电话初诊：" + ticket.fault_description},
        "propose": lambda: {"note": "按故障代码维修，预计一次上门解决",
                            "fees": [] if ticket.in_warranty else [{"item": "上门服务费", "amount": "50"},
                                                                   {"item": "配件费", "amount": "168"}]},
        "dispatch": lambda: {"engineer": str(engineer.id), "appointment_at": later},
        "resolve": lambda: {"work_done": "检修并更换故障部件，试机正常", "tested_ok": "y",
                            "signed_by": ticket.contact_name,
                            "parts": [(str(p.id), "1") for p in parts[category][:rng.choice([0, 1, 1, 2])]]},
        "receive_mail_in": lambda: {"package_ok": "y"},
        "test_mail_in": lambda: {"test_result": "故障复现，确认为部件故障"},
        "ship_back": lambda: {"courier": "顺丰速运", "tracking_no": f"SF{rng.randint(10**11, 10**12 - 1)}"},
        "answer_remotely": lambda: {"note": "电话指导用户复位后恢复正常"},
        "answer_at_intake": lambda: {"note": "已电话讲解使用方法"},
        "investigate": lambda: {"complaint_class": rng.choice(["service_quality", "product_quality", "charges"]),
                                "investigation": "已核实师傅上门迟到并与用户沟通",
                                "promised_result": "致歉并减免上门费",
                                "promised_at": later},
        "settle": lambda: {"resolution": "已致歉并减免上门费，用户接受"},
        "return_visit": lambda: {"satisfaction": str(rng.choice([4, 5, 5, 5])), "comment": "服务满意"},
    }.get(step, dict)()


# The demo outlets' pace: until a ticket is resolved each step follows the one before after a
# quarter of the gap drawn for it, so most clocks are met and some are not, as in a network that
# works; return visits keep the drawn gaps. Only the times change: the draws, and where a walk stops
# short of now, are as they were, so the demo's random streams stay as they were.
SERVICE_PACE = 4
AFTER_SERVICE = ("return_visit", "close")


def _paced(rng, start, path):
    """(step, who, at) for the steps of `path` taken before now."""
    drawn = at = start
    for step, who in path:
        gap = timedelta(minutes=rng.randint(30, 600))
        drawn += gap
        if drawn > utcnow() - timedelta(minutes=10):
            return
        at += gap if step in AFTER_SERVICE else gap / SERVICE_PACE
        yield step, who, at


def _advance(session, rng, ticket, steps, engineers, users, codes):
    """Walk the ticket through `steps` of its path with the real workflow (R-TKT-4/5)."""
    engineer = engineers["FS-SD" if ticket.outlet.code == "FS-SD" else None]
    mode = rng.choices(["onsite", "remote", "mail_in"], [75, 15, 10])[0]
    ticket.service_mode = mode
    if ticket.kind == TicketKind.INSTALLATION:
        _install(session, rng, ticket, steps, engineer, users, codes, mode)
    path = _path(ticket, mode)[:steps] if ticket.kind != TicketKind.INSTALLATION else []
    for step, who, at in _paced(rng, ticket.created_at, path):
        actor = users["clerk"] if who == "desk" else engineer
        workflow.perform(session, ticket, step, actor, _step_data(rng, ticket, step, engineer, codes, at), at)
    if ticket.status == TicketStatus.REGISTERED:
        ticket.service_mode = None


# R-INST-1/2: an installation is scheduled (its charges quoted), agreed when charged, then served on site.
INSTALL_PATH = [("schedule_installation", "desk"), ("agree", "desk"), ("dispatch", "desk"),
                ("start_service", "worker"), ("resolve", "worker"), ("return_visit", "desk"), ("close", "desk")]
MATERIALS = [("不锈钢波纹管 1.5米", "45"), ("燃气角阀", "28"), ("三通接头", "12")]


def _install(session, rng, ticket, steps, engineer, users, codes, mode):
    """Walk an installation through its own path (no diagnosis). Its choices come from a random
    stream of its own; from the demo's stream it draws exactly what it drew when installations
    were diagnosed like repairs, step for step, so the rest of the demo world (which the tests
    read) stays as it was."""
    own = random.Random(ticket.number)
    todo = list(INSTALL_PATH)
    for slot, _who, at in _paced(rng, ticket.created_at, _path(ticket, mode)[:steps]):
        _step_data(rng, ticket, slot, engineer, codes, at)  # the repair path's draws, discarded
        if todo and todo[0][0] == "agree" and ticket.status == TicketStatus.AGREED:
            todo.pop(0)  # a free installation without materials was agreed when scheduled
        if not todo:
            continue  # the repair path had more steps: their draws are still taken
        step, who = todo.pop(0)
        later = (at + timedelta(hours=own.randint(2, 20))).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")
        data = {"schedule_installation": {"note": "已与用户预约安装时间",
                                          "fees": MATERIALS[:own.choice([0, 0, 0, 1, 2])]},
                "agree": {"note": "用户同意收费"},
                "dispatch": {"engineer": str(engineer.id), "appointment_at": later},
                "resolve": {"work_done": "上门安装完成，管路检漏合格，试机正常", "tested_ok": "y",
                            "signed_by": ticket.contact_name},
                "return_visit": {"satisfaction": str(own.choice([4, 5, 5, 5])), "comment": "安装师傅很专业"},
                }.get(step, {})
        actor = users["clerk"] if who == "desk" else engineer
        workflow.perform(session, ticket, step, actor, data, at)


def _appraisals(session, rng, users):
    """R-APR-1..3: the center's staff report to the manager; last year complete (monthly checks,
    monthly appraisals, a year-end) with 李晓敏 (clerk) over 100 — the 先进员工; this year weekly
    checks of the recent weeks and the monthly checks and appraisals of the months gone by (no
    year-end yet: provisional composites)."""
    from sqlalchemy import update

    from models import AppraisalDeduction

    from .appraisal import period_of

    for _ in range(18):  # the draws the earlier demo made here, so later seeds stay as they were
        rng.randint(16, 20), rng.randint(15, 20), rng.randint(22, 30), rng.randint(20, 30), rng.choice([0, 0, 0, 2, 5])
    rng = random.Random(f"appraisals {local_today().year}")
    manager = users["manager"]
    # The reporting line is part of the seeded accounts, not an edit of them (no audit entry).
    lines = {"clerk": manager, "engineer": manager, "engineer2": manager, "manager": users["admin"]}
    for username, boss in lines.items():
        session.execute(update(User).where(User.id == users[username].id).values(reports_to_id=boss.id))
        session.expire(users[username], ["reports_to_id", "reports_to"])
    today = local_today()
    last_year = today.year - 1
    months_last_year = [date(last_year, m, 1) for m in range(1, 13)]
    months_this_year = [date(today.year, m, 1) for m in range(1, today.month)]
    this_monday = period_of(AppraisalPeriod.WEEKLY, today)[0]
    weeks = [this_monday - timedelta(weeks=n) for n in range(8, 0, -1)
             if (this_monday - timedelta(weeks=n)).year == today.year]
    plan = [(AppraisalPeriod.MONTHLY_CHECK, months_last_year + months_this_year),
            (AppraisalPeriod.MONTHLY, months_last_year + months_this_year),
            (AppraisalPeriod.WEEKLY, weeks), (AppraisalPeriod.YEAR_END, [date(last_year, 1, 1)])]
    for username in ("clerk", "engineer", "engineer2", "manager"):
        scorer = users["admin"] if username == "manager" else manager
        for kind, starts in plan:
            for start in starts:
                _appraisal(session, rng, users[username], scorer, kind, start, AppraisalDeduction,
                           advanced=username == "clerk" and start.year == last_year)


DEDUCTION_REASONS = {"conduct": "服务用语不规范，用户反映态度生硬", "diligence": "上门迟到超过约定时间",
                     "ability": "一次未能判明故障，需二次上门", "results": "回访满意度未达标"}
MAXIMA = {"conduct": 20, "diligence": 20, "ability": 30, "results": 30}


def _appraisal(session, rng, staff, scorer, kind, start, deduction_model, *, advanced=False):
    """One record: each dimension loses 0-3 points (in half points), each loss itemised."""
    record = AppraisalRecord(staff=staff, period_kind=kind.value, period_start=start, scored_by=scorer,
                             penalty=Decimal(0), note={"weekly": "周检", "monthly_check": "月检", "monthly": "月度考核",
                                                       "year_end": "年终考核"}[kind.value])
    for name, maximum in MAXIMA.items():
        lost = Decimal(rng.choice([0, 0, 1, 2]) if advanced else rng.choice([0, 1, 1.5, 2, 3, 4]))
        setattr(record, name, Decimal(maximum) - lost)
        if lost:
            record.deductions.append(deduction_model(dimension=name, points=lost, reason=DEDUCTION_REASONS[name]))
    # R-APR-3: a commendation after normal scoring (the 先进员工 earns several).
    record.commendation = Decimal(rng.choice([5, 6, 8]) if advanced else rng.choice([0, 0, 0, 0, 2]))
    if record.commendation:
        record.note += "；用户来信表扬，嘉奖加分"
    if start.year < local_today().year or kind != AppraisalPeriod.WEEKLY:
        record.acknowledged_at = datetime.combine(start, time(9), tzinfo=SHANGHAI).astimezone(UTC) + timedelta(days=35)
    session.add(record)


# R-APR-6: courses with the product category they qualify for (None: general) and the validity in months.
TRAINING_COURSES = (("GWH-01", "燃气热水器维修上岗培训", "gas_water_heater", 24),
                    ("RH-01", "吸油烟机安装与维修培训", "range_hood", 24),
                    ("DC-01", "消毒柜安全规范", "disinfection_cabinet", 12),
                    ("GEN-01", "售后服务礼仪与沟通技巧", None, 12))


def _training(session, users):
    """Sessions through backoffice.training as the manager would record them: 赵振华 fails the gas
    water heater exam and retrains at the next session; 孙立新's certificate runs out within three
    weeks; 何志勇 holds none (flagged when dispatched to a gas water heater)."""
    from models import TrainingCourse, TrainingSession

    from . import training

    today, manager = local_today(), users["manager"]
    courses = {code: TrainingCourse(code=code, name=name, category=category, validity_months=months)
               for code, name, category, months in TRAINING_COURSES}
    session.add_all(courses.values())
    plan = (  # course, held on, place, trainer, {username: score}
        ("GWH-01", training.add_months(today + timedelta(days=20), -24), "广州售后服务中心培训室", "周国栋",
         {"engineer4": "82"}),
        ("RH-01", today - timedelta(days=200), "广州售后服务中心培训室", "吴海峰",
         {"engineer": "80", "engineer2": "74", "engineer3": "69"}),
        ("DC-01", today - timedelta(days=120), "佛山顺德服务部会议室", "吴海峰", {"engineer": "88", "engineer2": "66"}),
        ("GWH-01", today - timedelta(days=60), "广州售后服务中心培训室", "周国栋",
         {"engineer": "91.5", "engineer2": "78", "engineer3": "52"}),
        ("GEN-01", today - timedelta(days=30), "广州售后服务中心会议室", "林雪梅",
         {"clerk": "95", "engineer": "85", "engineer5": "73"}),
    )
    sittings = []
    for code, held_on, place, trainer, scores in plan:
        sitting = TrainingSession(course=courses[code], held_on=held_on, place=place, trainer=trainer)
        session.add(sitting)
        session.flush()
        typed = {training.enrol(session, sitting, manager, str(users[name].id)).id: score
                 for name, score in scores.items()}
        training.record_results(session, sitting, manager, typed)
        sittings.append(sitting)
    retake = TrainingSession(course=courses["GWH-01"], held_on=today + timedelta(days=14),
                             place="广州售后服务中心培训室", trainer="周国栋", note="补考")
    session.add(retake)
    session.flush()
    failed = next(a for s in sittings for a in s.attendees if a.passed is False)
    training.schedule_retraining(session, failed, manager, str(retake.id))


# R-APR-5 (004 年度检查考核): licences on file, last year's inspections, last year's awards.
LICENCES = {"GZ-TH": ("91440106MA59C3K21Q", 3), "GZ-TH-01": ("92440106MA5A1T8N0R", 1),
            "FS-SD": ("91440606MA4UM7QX8B", 2), "DG-NC": ("91441900MA4WEB2K5D", 0)}
INSPECTIONS = {"GZ-TH": ("pass", "工具、备件、服务记录齐全"),
               "GZ-TH-01": ("rectify", "备件库房未分区存放，限一个月内整改"),
               "FS-SD": ("pass", "全年无有效投诉，回访满意度高"), "DG-NC": ("pass", "")}


def _outlet_evaluation(session, users):
    """Every dealer outlet's licence (DG-NC's ran out at the start of this month) and last year's inspection (合格,
    GZ-TH-01 整改); last year's awards: FS-SD the best outlet, its engineer 刘师傅 the best engineer."""
    from . import outlet_evaluation

    today, manager = local_today(), users["manager"]
    last_year = today.year - 1
    outlets = {o.code: o for o in session.scalars(select(Outlet).where(Outlet.code.in_(LICENCES)))}
    for code, (number, years_left) in LICENCES.items():
        valid_until = date(today.year + years_left, 12, 31) if years_left else date(today.year, today.month, 1)
        outlet_evaluation.record_licence(session, outlets[code], manager, number, valid_until.isoformat())
        result, note = INSPECTIONS[code]
        outlet_evaluation.record_inspection(session, outlets[code], manager, str(last_year), result, note)
    outlet_evaluation.record_award(session, manager, outlet_evaluation.AwardDraft(
        str(last_year), outlets["FS-SD"].id, None, "年度先进服务网点", "全年服务及时、零有效投诉"))
    outlet_evaluation.record_award(session, manager, outlet_evaluation.AwardDraft(
        str(last_year), None, users["engineer2"].id, "年度优秀服务工程师", "上门及时，一次修复率高"))
    session.flush()


# R-RPT-1: last month a lot of water-gas valves failed in 16-litre heaters sold in the spring: the
# quality report flags the model to engineering. Monthly sales per model are the fault rate's base.
BATCH = {"model": "JSQ30-16B", "fault": "F-WH02", "cause": "C-WH02", "remedy": "R-WH02", "tickets": 7,
         "description": "洗澡中途熄火，重新打火后几分钟又熄，显示E1"}
SALES_PER_MONTH = (110, 180)  # units of each model the manufacturer sells a month (demo scale)


def _quality_history(session, users, models, codes):
    rng = random.Random(20261125)  # a stream of its own: the other demo data stays as it was
    this_month = local_today().replace(day=1)
    for model in models:
        for month in recent(this_month, 24):
            session.add(ModelSales(product_model=model, month=month, units=rng.randint(*SALES_PER_MONTH)))
    model = next(m for m in models if m.code == BATCH["model"])
    chosen = {row.code: row for row in codes[("fault", model.category)] + codes[("cause", model.category)]
              + codes[("remedy", model.category)]}
    outlets = list(session.scalars(select(Outlet).where(Outlet.is_service_center.is_(False)).order_by(Outlet.code)))
    last_month = previous_month(this_month)
    engineers = {None: users["engineer"], "FS-SD": users["engineer2"]}
    for n in range(BATCH["tickets"]):
        outlet = outlets[n % len(outlets)]
        region, pattern, area = rng.choice(STREETS[outlet.code if outlet.code in STREETS else "GZ-TH"])
        customer = Customer(name=rng.choice(SURNAMES) + rng.choice(GIVEN), phone=_phone(rng), outlet=outlet,
                            address=region + pattern.format(n=rng.randint(1, 399), b=rng.randint(1, 12),
                                                            r=rng.randint(101, 2808)),
                            region=region, area=area.value, distance_km=Decimal(rng.randint(3, 18)))
        sold = this_month - timedelta(days=rng.randint(150, 240))
        unit = Unit(product_model=model, customer=customer, outlet=outlet, invoice_date=sold,
                    serial=f"{model.code[:3]}{sold:%y%m}{rng.randint(100000, 999999)}",
                    invoice_no=f"FP{sold:%Y}{rng.randint(10000000, 99999999)}", price=Decimal("2899"))
        created = datetime.combine(last_month + timedelta(days=2 + 3 * n), time(2 + n, 15), tzinfo=UTC)
        ticket = Ticket(kind=TicketKind.REPAIR.value, channel=Channel.HOTLINE.value,
                        category=IssueCategory.QUALITY.value, fault_description=BATCH["description"],
                        customer=customer, unit=unit, outlet=outlet, created_at=created,
                        occurred_at=created - timedelta(hours=6))
        session.add_all([customer, unit, ticket])
        tickets.register_ticket(session, ticket, users["clerk"])
        _advance(session, rng, ticket, 9, engineers, users, codes)
        ticket.fault_code_id, ticket.cause_code_id, ticket.remedy_code_id = (
            chosen[BATCH[kind]].id for kind in ("fault", "cause", "remedy"))
    session.flush()
    fee_claims.generate(session, None, users["clerk"])  # the outlets claim these repairs too (R-FEE-1)


def demo_logins() -> list[tuple[str, str, str]]:
    return [(username, DEMO_PASSWORD, f"{role.value} {full_name}") for username, full_name, role, _ in USERS]
