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
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from backoffice.demo import DEMO_PASSWORD
from backoffice.timezones import local_today
from models import (AppraisalRecord, Customer, FaultCode, FinishedGoodsStock, Outlet, Part, PolicySetting,
                    ProductModel, SlaPolicy, Ticket, TravelBand, Unit, User)
from models.choices import Area, Role

from .conftest import FAST_HASH

__all__ = ["DEMO_PASSWORD", "outlet", "user", "ticket_of", "customer_of", "unit_of", "make_outlet",
           "make_user", "product_model", "make_customer", "make_unit", "make_ticket", "make_product_model", "make_part",
           "make_fault_code", "make_stock", "make_travel_band", "make_appraisal", "make_policy_setting",
           "make_sla_policy", "make_api_token"]


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
                fault_description=None, actor=None, **kw) -> Ticket:
    """A ticket registered through backoffice.tickets.register_ticket: it gets its number,
    warranty verdict, SLA clocks, route and first timeline line (R-TKT-1/2, R-WAR-*, R-SLA-1)."""
    from backoffice.tickets import register_ticket

    n = next_number()
    values = dict(kind=kind, channel=channel, category=category,
                  fault_description=fault_description or FAULTS[n % len(FAULTS)],
                  customer=customer, unit=unit, outlet=kw.pop("outlet", None) or customer.outlet,
                  occurred_at=datetime.now(timezone.utc) - timedelta(hours=3))
    values.update(kw)
    row = Ticket(**values)
    session.add(row)
    register_ticket(session, row, actor)
    session.flush()
    return row


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
