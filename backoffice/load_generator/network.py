"""The network: outlets in two tiers with Zipf-like sizes, a dealer and engineers at each, a
manager and clerks at the service center."""
from __future__ import annotations

import random
import secrets
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .. import demo
from .base import LoadError, money

if TYPE_CHECKING:
    from .run import Run

# district, short name for outlets, city code, area code, street patterns (urban, suburban)
DISTRICTS = (
    ("广州市天河区", "天河", "GZ", "020", ("体育西路{n}号{b}栋{r}房", "天河北路{n}号{b}座{r}"), ("龙洞村{n}号",)),
    ("广州市越秀区", "越秀", "GZ", "020", ("东风中路{n}号{b}栋{r}房", "北京路{n}号{r}"), ()),
    ("广州市海珠区", "海珠", "GZ", "020", ("江南大道中{n}号{b}座{r}", "新港西路{n}号{b}栋{r}"), ()),
    ("广州市白云区", "白云", "GZ", "020", ("机场路{n}号{b}栋{r}房",), ("太和镇大源村{n}号",)),
    ("广州市番禺区", "番禺", "GZ", "020", ("市桥街繁华路{n}号{b}座{r}",), ("沙湾镇福涌路{n}号",)),
    ("广州市从化区", "从化", "GZ", "020", ("街口街青云路{n}号",), ("温泉镇龙岗村{n}号", "鳌头镇人和路{n}号")),
    ("佛山市顺德区", "顺德", "FS", "0757", ("容桂街道文塔路{n}号{b}座{r}", "大良街道东乐路{n}号{r}"),
     ("勒流镇新城路{n}号", "均安镇沙头村{n}号")),
    ("佛山市南海区", "南海", "FS", "0757", ("桂城街道南海大道北{n}号{b}栋{r}",), ("西樵镇樵园路{n}号",)),
    ("佛山市禅城区", "禅城", "FS", "0757", ("祖庙路{n}号{b}座{r}", "季华五路{n}号{b}栋{r}"), ()),
    ("东莞市南城区", "南城", "DG", "0769", ("鸿福路{n}号{b}栋{r}", "宏图路{n}号{r}"), ()),
    ("东莞市长安镇", "长安", "DG", "0769", ("长安中路{n}号{r}",), ("沙头社区{n}号",)),
    ("东莞市麻涌镇", "麻涌", "DG", "0769", (), ("新沙港路{n}号", "麻涌大道{n}号")),
    ("深圳市南山区", "南山", "SZ", "0755", ("南海大道{n}号{b}栋{r}", "科技园路{n}号{b}座{r}"), ()),
    ("深圳市宝安区", "宝安", "SZ", "0755", ("新安街道建安一路{n}号{b}栋{r}",), ("石岩街道浪心村{n}号",)),
    ("深圳市龙岗区", "龙岗", "SZ", "0755", ("龙城大道{n}号{b}栋{r}",), ("坪地街道年丰村{n}号",)),
    ("中山市石岐区", "石岐", "ZS", "0760", ("孙文中路{n}号{r}",), ()),
    ("中山市小榄镇", "小榄", "ZS", "0760", ("升平中路{n}号{r}",), ("永宁社区{n}号",)),
    ("江门市新会区", "新会", "JM", "0750", ("会城今古洲路{n}号{b}栋{r}",), ("司前镇{n}号",)),
    ("惠州市惠城区", "惠城", "HZ", "0752", ("麦地路{n}号{b}栋{r}",), ()),
    ("惠州市博罗县", "博罗", "HZ", "0752", ("罗阳镇北门路{n}号",), ("园洲镇上南村{n}号",)),
    ("珠海市香洲区", "香洲", "ZH", "0756", ("凤凰北路{n}号{b}栋{r}", "情侣中路{n}号{r}"), ()),
    ("肇庆市端州区", "端州", "ZQ", "0758", ("星湖大道{n}号{b}座{r}",), ("睦岗街道{n}号",)),
    ("清远市清城区", "清城", "QY", "0763", ("先锋中路{n}号{r}",), ("源潭镇{n}号",)),
    ("汕头市龙湖区", "龙湖", "ST", "0754", ("长平路{n}号{b}栋{r}",), ("外砂镇{n}号",)),
)
TRADES = ("家电售后服务部", "电器服务站", "家电维修服务中心", "电器售后网点", "厨卫电器服务部", "燃气具服务站")
SUB_TRADES = ("服务网点", "维修点", "服务站")
BRANDS = ("美居", "安达", "诚信", "万家", "顺安", "福满", "宏达", "百顺")
STAFF_SURNAMES = demo.SURNAMES
STAFF_GIVEN = [*demo.GIVEN, "建军", "海峰", "振华", "立新", "志勇", "国栋", "雪梅", "少华", "永强"]
MOBILE_PREFIXES = ("13", "15", "17", "18", "19")


@dataclass
class Outlet:
    """A generated dealer outlet, with the people, customers and units the run gives it."""

    id: int
    code: str
    name: str
    district: tuple
    weight: float
    parent_id: int | None
    dealer_id: int = 0
    dealer_name: str = ""
    engineers: list[int] = field(default_factory=list)
    customers: list = field(default_factory=list)
    units: list = field(default_factory=list)
    purchases: Decimal = Decimal("0.00")


class Network:
    """~`outlets` dealer outlets (Zipf-like sizes: the biggest takes ≥ 10 % of the tickets, some
    small ones are sub-outlets of big ones), a dealer account and engineers at each, a manager
    and clerks at the service center."""

    def __init__(self, run: Run):
        self.run = run
        self.outlets: list[Outlet] = []
        self.clerks: list[int] = []
        self.manager = 0
        self.manager_name = ""
        self.engineer_outlet: dict[int, int] = {}
        self.cumulative: list[float] = []
        self.ticket_outlets: list[int] = []
        self.staff_created = run.start - timedelta(days=30)

    def build(self) -> None:
        self._outlets()
        self._people()

    def _outlets(self) -> None:
        run, rng = self.run, self.run.rng
        count = run.outlet_count
        weights = [1 / (rank + 1) for rank in range(count)]  # Zipf, s = 1: the first ~17 % of 200
        total = sum(weights)
        first = run.ids.take("outlet", count)
        have = set(run.connection.execute(sa.text("SELECT code FROM outlet")).scalars())
        parents = list(range(min(10, count // 10)))
        rows = []
        for rank in range(count):
            district = rng.choice(DISTRICTS)
            sub = rank >= count // 2 and parents and rng.random() < 0.3
            parent = self.outlets[rng.choice(parents)] if sub else None
            code = f"{district[2]}{run.run_no}-{rank + 1:03d}"
            if code in have:
                raise LoadError(f"outlet code {code} exists already")
            trade = rng.choice(SUB_TRADES) if parent else rng.choice(TRADES)
            brand = f"{rng.choice(STAFF_SURNAMES)}氏" if rng.random() < 0.3 else rng.choice(BRANDS)
            name = f"{district[1]}{brand}{trade}"
            outlet = Outlet(first + rank, code, name, district, weights[rank] / total, parent.id if parent else None)
            monthly = run.n * outlet.weight / (12 * run.years)
            outlet.purchases = money(round(200_000 + monthly * 7_000, -4))
            self.outlets.append(outlet)
            street = rng.choice(district[4] or district[5])
            rows.append((outlet.id, code, name, outlet.parent_id, district[0],
                         district[0] + street.format(n=rng.randint(1, 399), b=rng.randint(1, 12),
                                                     r=rng.randint(101, 999)),
                         f"{district[3]}-{rng.randint(2000_0000, 8999_9999)}", mobile_number(rng),
                         grown(outlet.purchases, run.years - 1), "Asia/Shanghai", False, True, "",
                         self.staff_created, run.now))
        run.sink.write("outlet", ("id", "code", "name", "parent_id", "region", "address", "service_phone",
                                  "duty_phone", "total_purchase_amount", "timezone", "is_service_center", "active",
                                  "retirement_reason", "created_at", "updated_at"), rows)
        running = 0.0
        for outlet in self.outlets:
            running += outlet.weight
            self.cumulative.append(running)

    def _people(self) -> None:
        run, rng = self.run, self.run.rng
        password = run.password_hash or _hash(demo.DEMO_PASSWORD)
        tag = f"lg{run.run_no}"
        rows = []

        def person(role, username, outlet_id, reports_to):
            user_id = run.ids.take("user_account")
            full_name = rng.choice(STAFF_SURNAMES) + rng.choice(STAFF_GIVEN)
            rows.append((user_id, username, full_name, mobile_number(rng), password, role, outlet_id, True,
                         secrets.token_hex(8), reports_to, self.staff_created, run.now))
            return user_id, full_name

        self.manager, _ = person("manager", f"{tag}-manager", None, None)
        self.manager_name = f"{tag}-manager"
        clerks = max(3, min(60, run.n // 20_000))
        self.clerks = [person("clerk", f"{tag}-clerk{k + 1:02d}", None, self.manager)[0] for k in range(clerks)]
        per_engineer = 365 * run.years * 2.5  # tickets one engineer serves over the span
        for outlet in self.outlets:
            outlet.dealer_id, _ = person("dealer", f"{tag}-dealer-{outlet.code.lower()}", outlet.id, None)
            outlet.dealer_name = f"{tag}-dealer-{outlet.code.lower()}"
            engineers = max(1, min(60, round(run.n * outlet.weight / per_engineer)))
            for k in range(engineers):
                engineer, _ = person("engineer", f"{tag}-eng-{outlet.code.lower()}-{k + 1:02d}", outlet.id,
                                     self.manager)
                outlet.engineers.append(engineer)
                self.engineer_outlet[engineer] = outlet.id
        have = set(run.connection.execute(sa.text("SELECT username FROM user_account")).scalars())
        if any(row[1] in have for row in rows):
            raise LoadError(f"usernames {tag}-… exist already")
        run.sink.write("user_account", ("id", "username", "full_name", "phone", "password_hash", "role",
                                        "outlet_id", "active", "session_nonce", "reports_to_id", "created_at",
                                        "updated_at"), rows)

    def pick(self, rng: random.Random) -> int:
        """The index of a ticket's outlet, drawn by the outlets' weights (Zipf)."""
        return min(bisect_left(self.cumulative, rng.random() * self.cumulative[-1]), len(self.outlets) - 1)


def _hash(password: str) -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password)


def mobile_number(rng: random.Random) -> str:
    """A mainland mobile number; its 4th-7th digits are never 0000 (the test factories' range)."""
    return f"{rng.choice(MOBILE_PREFIXES)}{rng.randint(0, 9)}{rng.randint(1000_0000, 9999_9999)}"


def grown(purchases: Decimal, years: int) -> Decimal:
    """The purchases after `years` years of the span: 10 % more each year (each year's quota grant
    follows them, R-PART-2)."""
    return money(purchases * Decimal("1.1") ** years)
