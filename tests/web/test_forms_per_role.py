"""The net that catches a role that cannot use its own form: every create and edit form of every
Flask-Admin screen, used through the web by every role allowed to use it.

The (screen, role, create/edit) pairs are read from the running application: each
SecureModelView's `create_roles` / `edit_roles`. For each pair a test builds its own world with
tests/factories.py (a fresh outlet; a fresh user of the role, of that outlet when a dealer), signs
in through /login, opens the form, posts it back as a browser would (the form's own defaults and
csrf_token, plus what the user types: the recipe), reads the row back from the database, and
finds it in the list page as that role. A guard test fails when a screen/role pair has no recipe
here, so no future form can escape the net.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from backoffice import policy
from backoffice.demo import DEMO_PASSWORD
from backoffice.timezones import local_today
from models import (
    ApiToken,
    AppraisalRecord,
    Customer,
    FaultCode,
    FinishedGoodsStock,
    ModelSales,
    Outlet,
    Part,
    PolicySetting,
    ProductModel,
    SlaPolicy,
    Ticket,
    TicketEvent,
    TravelBand,
    Unit,
    User,
)
from models.choices import Role
from models.training import TrainingCourse, TrainingSession
from tests import factories as f
from tests.conftest import csrf_token, login, make_app
from views.base import SecureModelView

ROLES = ("admin", "manager", "clerk", "engineer", "dealer")
MODES = ("create", "edit")


# --- the screens and who may use their forms, read from the application ----------------------

def admin_views(app) -> dict[str, SecureModelView]:
    admins = app.extensions["admin"]
    views = [v for admin in (admins if isinstance(admins, list) else [admins]) for v in admin._views]
    return {v.endpoint: v for v in views if isinstance(v, SecureModelView)}


def form_pairs(app) -> list[tuple[str, str, str]]:
    """(endpoint, role, mode) for every role allowed to open the screen's create or edit form."""
    pairs = []
    for endpoint, view in admin_views(app).items():
        for mode in MODES:
            allowed = view.create_roles if mode == "create" else view.edit_roles
            pairs += [(endpoint, role, mode) for role in ROLES if role in allowed]
    return pairs


PAIRS = form_pairs(make_app("sqlite://"))  # an unused in-memory database: only the views count


# --- a browser's view of a form ------------------------------------------------------------------

class FormPage(HTMLParser):
    """The fields of a page's Flask-Admin form (class "admin-form") as a browser submits them:
    text values, checked boxes only, the selected (else the first) option of each select."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.names: set[str] = set()
        self.options: dict[str, list[str]] = {}
        self._in_form = False
        self._select = self._textarea = None
        self._picked: set[str] = set()
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attr = dict(attrs)
        if tag == "form" and "admin-form" in (attr.get("class") or ""):
            self._in_form = True
        if not self._in_form:
            return
        name = attr.get("name")
        if tag == "input" and name:
            kind = (attr.get("type") or "text").lower()
            if kind == "submit":
                return
            self.names.add(name)
            if kind in ("checkbox", "radio"):
                if "checked" in attr:
                    self.values[name] = attr.get("value") or "on"
            else:
                self.values[name] = attr.get("value") or ""
        elif tag == "select" and name:
            self.names.add(name)
            self._select = name
            self.options[name] = []
        elif tag == "option" and self._select:
            value = attr.get("value") or ""
            self.options[self._select].append(value)
            if self._select not in self.values or ("selected" in attr and self._select not in self._picked):
                self.values[self._select] = value
            if "selected" in attr:
                self._picked.add(self._select)
        elif tag == "textarea" and name:
            self.names.add(name)
            self._textarea = name
            self.values[name] = ""

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            # A browser drops the newline right after <textarea>.
            self.values[self._textarea] = re.sub(r"^\r?\n", "", self.values[self._textarea])
            self._textarea = None


def text(response) -> str:
    return response.get_data(as_text=True)


def page_problems(html: str) -> str:
    """The flashed errors and field errors of a refused form, for the failure message."""
    flashed = re.findall(r'<div class="alert alert-(?:danger|warning)[^"]*">(.*?)</div>', html, re.S)
    fields = re.findall(r'<(?:div|span|small) class="[^"]*(?:invalid-feedback|help-block)[^"]*"[^>]*>(.*?)</',
                        html, re.S)
    found = [" ".join(unescape(re.sub(r"<[^>]+>", " ", item)).replace("\u00d7", " ").split())
             for item in flashed + fields]
    return " | ".join(item for item in found if item) or html[:1500]


# --- each test's own world -----------------------------------------------------------------------

@dataclass
class World:
    session: Any
    role: str
    user: User
    outlet: Outlet  # where the role's new rows go: the dealer's own outlet; a fresh one for staff
    client: Any = None


@dataclass
class Case:
    """One use of a form: what the user types, how to find the saved row, what it must hold."""

    data: dict  # typed values on top of the form's own; None unchecks a box / empties a field
    find: Any  # a select() reading the saved row back
    expect: dict = field(default_factory=dict)  # attribute -> value on the saved row
    search: str | None = None  # typed into the list's search box to find the row
    shows: str | None = None  # a text the list must show besides the row's own links
    record_id: Any = None  # edit: the record's id
    check: Callable | None = None  # further checks: check(world, row)


def build_world(app, session, role: str) -> World:
    outlet = f.make_outlet(session)
    user = f.make_user(session, role, outlet=outlet if role == Role.DEALER else None)
    session.commit()
    world = World(session, role, user, outlet)
    world.client = app.test_client()
    response = login(world.client, user.username, DEMO_PASSWORD)
    assert response.status_code == 302, f"{user.username} could not sign in: {page_problems(text(response))}"
    return world


def n() -> int:
    return f.next_number()


def day(days_ago: int) -> str:
    return (local_today() - timedelta(days=days_ago)).isoformat()


# --- recipes: one per screen and mode ------------------------------------------------------------

def customer_create(w: World) -> Case:
    phone = f"1390001{n():04d}"
    return Case(
        data={"name": "邓丽华", "phone": phone, "phone2": "", "address": "广州市白云区同和街云景路18号3栋502房",
              "region": "广州市白云区", "area": "urban", "distance_km": "7.5", "outlet": str(w.outlet.id),
              "note": "来电登记，用户希望周末上门"},
        find=select(Customer).where(Customer.phone == phone),
        expect={"name": "邓丽华", "outlet_id": w.outlet.id, "area": "urban"}, search=phone, shows=phone)


def customer_edit(w: World) -> Case:
    customer = f.make_customer(w.session, w.outlet)
    w.session.commit()
    address = f"广州市番禺区市桥街光明北路{n()}号"
    email = f"kehu{n()}@example.com"

    def consent_recorded(world, row):  # issue 17, PIPL: the ticked box records when and how
        assert row.notify_consent_at is not None and row.notify_opt_out_at is None

    return Case(data={"address": address, "note": "用户搬家，地址已更新", "email": email,
                      "notify_channel": "email", "notify_consent": "y"}, record_id=customer.id,
                find=select(Customer).where(Customer.id == customer.id),
                expect={"address": address, "note": "用户搬家，地址已更新", "outlet_id": w.outlet.id,
                        "email": email, "notify_channel": "email", "notify_consent_source": "archive"},
                search=customer.phone, shows=address, check=consent_recorded)


def unit_create(w: World) -> Case:
    customer = f.make_customer(w.session, w.outlet)
    model = f.product_model(w.session, "JSQ24-12A")
    w.session.commit()
    serial = f"JSQ2409T{n():05d}"
    return Case(
        data={"product_model": str(model.id), "serial": serial, "customer": str(customer.id),
              "invoice_no": f"FP2026{n():08d}", "invoice_date": day(20), "price": "1899.00",
              "outlet": str(w.outlet.id)},
        find=select(Unit).where(Unit.serial == serial),
        expect={"customer_id": customer.id, "outlet_id": w.outlet.id, "price": Decimal("1899.00"),
                "product_model_id": model.id},
        search=serial, shows=serial)


def unit_edit(w: World) -> Case:
    unit = f.make_unit(w.session, f.make_customer(w.session, w.outlet))
    w.session.commit()
    invoice = f"FP2026{n():08d}"
    return Case(data={"invoice_no": invoice, "price": "2399.00"}, record_id=unit.id,
                find=select(Unit).where(Unit.id == unit.id),
                expect={"invoice_no": invoice, "price": Decimal("2399.00"), "outlet_id": w.outlet.id},
                search=unit.serial, shows=invoice)


def _ticket_registered(w: World, ticket: Ticket) -> None:
    """R-TKT-1, R-WAR-*, R-SLA-1: a number, a verdict, running clocks and a timeline line."""
    assert re.fullmatch(r"SV\d{8}-\d{4}", ticket.number)
    assert ticket.warranty_code is not None and ticket.clocks
    assert ticket.registered_by_id == w.user.id and ticket.status == "registered"


def ticket_create(w: World) -> Case:
    customer = f.make_customer(w.session, w.outlet)
    unit = f.make_unit(w.session, customer)
    w.session.commit()
    fault = f"热水器开机后点火失败，显示E1（{n()}）"
    occurred = (datetime.now() - timedelta(hours=5)).strftime("%Y-%m-%d %H:%M:%S")
    return Case(
        data={"customer": str(customer.id), "unit": str(unit.id), "kind": "repair",
              "channel": "dealer" if w.role == Role.DEALER else "hotline", "category": "quality",
              "fault_description": fault, "occurred_at": occurred, "contact_name": customer.name,
              "contact_phone": customer.phone, "address": customer.address, "outlet": str(w.outlet.id)},
        find=select(Ticket).where(Ticket.fault_description == fault),
        expect={"customer_id": customer.id, "unit_id": unit.id, "outlet_id": w.outlet.id, "kind": "repair"},
        search=customer.phone, check=_ticket_registered)


def _ticket_edited(w: World, ticket: Ticket) -> None:
    assert ticket.version_id > 1
    edits = w.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                        TicketEvent.action == "edited")).all()
    assert [e.actor_id for e in edits] == [w.user.id]


def ticket_edit(w: World) -> Case:
    customer = f.make_customer(w.session, w.outlet)
    ticket = f.make_ticket(w.session, customer, unit=f.make_unit(w.session, customer))
    w.session.commit()
    contact = f"1360000{n():04d}"
    return Case(data={"contact_name": "邓先生（用户儿子）", "contact_phone": contact}, record_id=ticket.id,
                find=select(Ticket).where(Ticket.id == ticket.id),
                expect={"contact_phone": contact, "contact_name": "邓先生（用户儿子）", "outlet_id": w.outlet.id},
                search=ticket.number, shows=ticket.number, check=_ticket_edited)


def product_model_create(w: World) -> Case:
    code = f"CXW-T{n():03d}"
    return Case(data={"code": code, "name": "侧吸式变频吸油烟机", "category": "range_hood", "warranty_months": "24",
                      "free_installation": "y", "gas_type": "__None"},
                find=select(ProductModel).where(ProductModel.code == code),
                expect={"category": "range_hood", "warranty_months": 24, "free_installation": True},
                search=code, shows=code)


def product_model_edit(w: World) -> Case:
    model = f.make_product_model(w.session)
    w.session.commit()
    return Case(data={"name": "16升零冷水燃气热水器", "warranty_months": "36"}, record_id=model.id,
                find=select(ProductModel).where(ProductModel.id == model.id),
                expect={"name": "16升零冷水燃气热水器", "warranty_months": 36}, search=model.code, shows=model.code)


def model_sales_create(w: World) -> Case:  # R-RPT-1: a day of the month stands for the month
    model = f.make_product_model(w.session)
    w.session.commit()
    return Case(data={"product_model": str(model.id), "month": "2026-03-17", "units": "1280"},
                find=select(ModelSales).where(ModelSales.product_model_id == model.id),
                expect={"month": date(2026, 3, 1), "units": 1280}, search=model.code, shows=model.code)


def model_sales_edit(w: World) -> Case:
    model = f.make_product_model(w.session)
    sale = ModelSales(product_model=model, month=date(2026, 4, 1), units=900)
    w.session.add(sale)
    w.session.commit()
    return Case(data={"units": "960"}, record_id=sale.id, find=select(ModelSales).where(ModelSales.id == sale.id),
                expect={"units": 960, "month": date(2026, 4, 1)}, search=model.code, shows=model.code)


def outlet_create(w: World) -> Case:
    code = f"ZS-XL-T{n():03d}"
    return Case(data={"code": code, "name": "中山小榄家电服务站", "region": "中山市小榄镇",
                      "address": "中山市小榄镇升平中路28号", "service_phone": "0760-22881234",
                      "duty_phone": "13590012345", "total_purchase_amount": "860000"},
                find=select(Outlet).where(Outlet.code == code),
                expect={"name": "中山小榄家电服务站", "total_purchase_amount": Decimal("860000.00"),
                        "parent_id": None}, search=code, shows=code)


def outlet_edit(w: World) -> Case:
    outlet = f.make_outlet(w.session)
    w.session.commit()
    return Case(data={"duty_phone": "13822220000", "address": "佛山市南海区桂城街道海八路9号"}, record_id=outlet.id,
                find=select(Outlet).where(Outlet.id == outlet.id),
                expect={"duty_phone": "13822220000", "address": "佛山市南海区桂城街道海八路9号"},
                search=outlet.code, shows=outlet.code)


def part_create(w: World) -> Case:
    code = f"P-WFS-T{n():03d}"
    return Case(data={"code": code, "name": "水流量传感器", "category": "gas_water_heater", "unit_price": "46.00",
                      "gas_type": "__None", "warranty_months": ""},
                find=select(Part).where(Part.code == code),
                expect={"unit_price": Decimal("46.00"), "category": "gas_water_heater"}, search=code, shows=code)


def part_edit(w: World) -> Case:
    part = f.make_part(w.session)
    w.session.commit()
    return Case(data={"unit_price": "52.50", "fragile": "y"}, record_id=part.id,
                find=select(Part).where(Part.id == part.id),
                expect={"unit_price": Decimal("52.50"), "fragile": True}, search=part.code, shows=part.code)


def fault_code_create(w: World) -> Case:
    code = f"R-T{n():03d}"
    return Case(data={"kind": "remedy", "code": code, "name": "更换水流量传感器", "category": "gas_water_heater",
                      "standard_hours": "0.75"},
                find=select(FaultCode).where(FaultCode.code == code),
                expect={"kind": "remedy", "standard_hours": Decimal("0.75")}, search=code, shows=code)


def fault_code_edit(w: World) -> Case:
    code = f.make_fault_code(w.session)
    w.session.commit()
    return Case(data={"name": "开机无反应，指示灯不亮"}, record_id=code.id,
                find=select(FaultCode).where(FaultCode.id == code.id),
                expect={"name": "开机无反应，指示灯不亮"}, search=code.code, shows=code.code)


def stock_create(w: World) -> Case:
    model = f.make_product_model(w.session)
    w.session.commit()
    return Case(data={"outlet": str(w.outlet.id), "product_model": str(model.id), "qty": "6"},
                find=select(FinishedGoodsStock).where(FinishedGoodsStock.outlet_id == w.outlet.id,
                                                      FinishedGoodsStock.product_model_id == model.id),
                expect={"qty": 6}, shows=w.outlet.code)


def stock_edit(w: World) -> Case:
    stock = f.make_stock(w.session, w.outlet)
    w.session.commit()
    return Case(data={"qty": "11"}, record_id=stock.id,
                find=select(FinishedGoodsStock).where(FinishedGoodsStock.id == stock.id),
                expect={"qty": 11, "outlet_id": w.outlet.id}, shows=w.outlet.code)


def travel_band_create(w: World) -> Case:
    km = 3000 + n()
    return Case(data={"up_to_km": str(km), "amount": "180.00"},
                find=select(TravelBand).where(TravelBand.up_to_km == km),
                expect={"amount": Decimal("180.00")})


def travel_band_edit(w: World) -> Case:
    band = f.make_travel_band(w.session)
    w.session.commit()
    return Case(data={"amount": "95.00"}, record_id=band.id, find=select(TravelBand).where(TravelBand.id == band.id),
                expect={"amount": Decimal("95.00")})


def _scored_by_me(w: World, record: AppraisalRecord) -> None:
    assert record.scored_by_id == w.user.id


def appraisal_create(w: World) -> Case:
    staff = f.make_user(w.session, "engineer")
    w.session.commit()
    return Case(data={"staff": str(staff.id), "period_kind": "monthly", "period_start": "2026-01-01",
                      "conduct": "18", "diligence": "19", "ability": "26", "results": "27", "commendation": "3",
                      "penalty": "0", "note": "一月份上门及时率98%，用户表扬两次"},
                find=select(AppraisalRecord).where(AppraisalRecord.staff_id == staff.id),
                expect={"ability": Decimal("26"), "commendation": Decimal("3"), "period_kind": "monthly"},
                search=staff.username, shows=staff.username, check=_scored_by_me)


def appraisal_edit(w: World) -> Case:
    record = f.make_appraisal(w.session, f.make_user(w.session, "clerk"))
    w.session.commit()
    return Case(data={"results": "28", "note": "复核后绩效加分"}, record_id=record.id,
                find=select(AppraisalRecord).where(AppraisalRecord.id == record.id),
                expect={"results": Decimal("28"), "note": "复核后绩效加分"},
                search=record.staff.username, shows=record.staff.username, check=_scored_by_me)


def training_course_create(w: World) -> Case:
    code = f"PX-{n():04d}"
    return Case(data={"code": code, "name": "燃气热水器维修上岗培训", "category": "gas_water_heater",
                      "validity_months": "24", "note": "理论加实操，考试合格发上岗证"},
                find=select(TrainingCourse).where(TrainingCourse.code == code),
                expect={"category": "gas_water_heater", "validity_months": 24}, search=code, shows=code)


def training_course_edit(w: World) -> Case:
    course = TrainingCourse(code=f"PX-{n():04d}", name="消毒柜安全规范", validity_months=12)
    w.session.add(course)
    w.session.commit()
    return Case(data={"validity_months": "36", "note": "延长证书有效期"}, record_id=course.id,
                find=select(TrainingCourse).where(TrainingCourse.id == course.id),
                expect={"validity_months": 36, "note": "延长证书有效期"}, search=course.code, shows=course.code)


def _course(w: World) -> TrainingCourse:
    course = TrainingCourse(code=f"PX-{n():04d}", name="吸油烟机安装培训", validity_months=24)
    w.session.add(course)
    w.session.commit()
    return course


def training_session_create(w: World) -> Case:
    course = _course(w)
    place = f"广州培训中心{n()}室"
    return Case(data={"course": str(course.id), "held_on": day(3), "place": place, "trainer": "李建国"},
                find=select(TrainingSession).where(TrainingSession.place == place),
                expect={"course_id": course.id, "trainer": "李建国"}, search=place, shows=course.name)


def training_session_edit(w: World) -> Case:
    held = TrainingSession(course=_course(w), held_on=local_today(), place=f"佛山分部{n()}室", trainer="王强")
    w.session.add(held)
    w.session.commit()
    return Case(data={"trainer": "陈志明"}, record_id=held.id,
                find=select(TrainingSession).where(TrainingSession.id == held.id),
                expect={"trainer": "陈志明"}, search=held.place, shows=held.course.name)


def _signs_in(password: str):
    def check(w: World, account: User) -> None:
        assert check_password_hash(account.password_hash, password)
        client = w.client.application.test_client()
        assert login(client, account.username, password).status_code == 302
    return check


def user_create(w: World) -> Case:
    username = f"dealer-new{n():03d}"
    return Case(data={"username": username, "full_name": "罗嘉欣", "phone": "13690001111", "role": "dealer",
                      "outlet": str(w.outlet.id), "locale": "zh_Hans_CN", "new_password": "Fuwu2026ok"},
                find=select(User).where(User.username == username),
                expect={"role": "dealer", "outlet_id": w.outlet.id, "full_name": "罗嘉欣", "active": True},
                search=username, shows=username, check=_signs_in("Fuwu2026ok"))


def user_edit(w: World) -> Case:
    account = f.make_user(w.session, "clerk")
    w.session.commit()
    return Case(data={"full_name": "李晓敏（客服组长）", "phone": "13711112222", "new_password": ""},
                record_id=account.id, find=select(User).where(User.id == account.id),
                expect={"full_name": "李晓敏（客服组长）", "phone": "13711112222", "role": "clerk"},
                search=account.username, shows=account.username, check=_signs_in(DEMO_PASSWORD))


def _free_policy_key(session) -> str:
    taken = set(session.scalars(select(PolicySetting.key)))
    return next(k for k in ("returns.visit_days", "parts.return_cycle_days", *sorted(policy.DEFAULTS))
                if k not in taken)


def policy_create(w: World) -> Case:
    key = _free_policy_key(w.session)
    value = str(policy.DEFAULTS[key][0] + 1)
    return Case(data={"key": key, "value": value}, find=select(PolicySetting).where(PolicySetting.key == key),
                expect={"value": value}, shows=key)


def policy_edit(w: World) -> Case:
    setting = f.make_policy_setting(w.session, _free_policy_key(w.session))
    w.session.commit()
    value = str(policy.DEFAULTS[setting.key][0] + 2)
    return Case(data={"value": value}, record_id=setting.key,
                find=select(PolicySetting).where(PolicySetting.key == setting.key), expect={"value": value},
                shows=setting.key)


def sla_policy_create(w: World) -> Case:
    return Case(data={"clock": "dispatch", "kind": "installation", "in_warranty": "y", "area": "suburban",
                      "hours": "60"},
                find=select(SlaPolicy).where(SlaPolicy.clock == "dispatch", SlaPolicy.kind == "installation",
                                             SlaPolicy.area == "suburban"),
                expect={"hours": Decimal("60"), "in_warranty": True})


def sla_policy_edit(w: World) -> Case:
    rule = f.make_sla_policy(w.session)
    w.session.commit()
    return Case(data={"hours": "3.5"}, record_id=rule.id, find=select(SlaPolicy).where(SlaPolicy.id == rule.id),
                expect={"hours": Decimal("3.5"), "clock": "response", "kind": "consultation"})


def api_token_edit(w: World) -> Case:
    _secret, token = f.make_api_token(w.session)
    w.session.commit()
    return Case(data={"name": "微信公众号（停用）", "active": None}, record_id=token.id,
                find=select(ApiToken).where(ApiToken.id == token.id),
                expect={"name": "微信公众号（停用）", "active": False}, shows="微信公众号（停用）")


def api_token_create(w: World) -> Case:
    name = f"网店对接{n()}"

    def secret_shown_once_authenticates(world, row):
        page = text(world.client.get("/admin/api_token/"))  # the flashed secret, on the page after
        secret = re.search(r"(bo_[0-9a-f]{8}_[A-Za-z0-9_-]+)", page).group(1)
        assert secret.startswith(f"bo_{row.prefix}_")
        from backoffice import channel_tokens
        assert channel_tokens.authenticate(world.session, secret).id == row.id
        assert secret not in text(world.client.get("/admin/api_token/"))  # shown once only

    return Case(data={"channel": "web", "name": name}, find=select(ApiToken).where(ApiToken.name == name),
                expect={"channel": "web", "active": True}, shows=name, check=secret_shown_once_authenticates)


RECIPES: dict[str, dict[str, Callable[[World], Case]]] = {
    "customer": {"create": customer_create, "edit": customer_edit},
    "unit": {"create": unit_create, "edit": unit_edit},
    "model_sales": {"create": model_sales_create, "edit": model_sales_edit},
    "ticket": {"create": ticket_create, "edit": ticket_edit},
    "product_model": {"create": product_model_create, "edit": product_model_edit},
    "outlet": {"create": outlet_create, "edit": outlet_edit},
    "part": {"create": part_create, "edit": part_edit},
    "fault_code": {"create": fault_code_create, "edit": fault_code_edit},
    "stock": {"create": stock_create, "edit": stock_edit},
    "travel_band": {"create": travel_band_create, "edit": travel_band_edit},
    "appraisal": {"create": appraisal_create, "edit": appraisal_edit},
    "user": {"create": user_create, "edit": user_edit},
    "policy": {"create": policy_create, "edit": policy_edit},
    "sla_policy": {"create": sla_policy_create, "edit": sla_policy_edit},
    "api_token": {"create": api_token_create, "edit": api_token_edit},
    "training_course": {"create": training_course_create, "edit": training_course_edit},
    "training_session": {"create": training_session_create, "edit": training_session_edit},
}


# --- the tests -------------------------------------------------------------------------------------

def test_every_form_and_role_has_a_recipe():
    """The guard: a screen whose create/edit roles include a role must have a recipe here."""
    assert set(ROLES) == {r.value for r in Role}, "a new role: add it to ROLES"
    missing = [f"{endpoint}-{mode}-as-{role}" for endpoint, role, mode in PAIRS
               if mode not in RECIPES.get(endpoint, {})]
    assert not missing, f"forms without a recipe in {__name__}: {missing}"
    used = {(endpoint, mode) for endpoint, _role, mode in PAIRS}
    stale = [(endpoint, mode) for endpoint, modes in RECIPES.items() for mode in modes if (endpoint, mode) not in used]
    assert not stale, f"recipes for forms nobody may use (roles changed?): {stale}"
    assert any(role == Role.DEALER for _e, role, _m in PAIRS), "the dealer forms are the point of this net"


def list_shows(client, view, row, case: Case) -> bool:
    """The row is in the list page (searched when the screen has a search box), by its own
    details/edit link and, when given, a text of the row."""
    endpoint = view.endpoint
    marker = f"id={view.get_pk_value(row)}&amp;"  # as Flask-Admin writes ids into its links
    query = {"page_size": 100}
    if case.search:
        query["search"] = case.search
    for page in range(10):
        response = client.get(f"/admin/{endpoint}/", query_string={**query, "page": page})
        assert response.status_code == 200
        html = text(response)
        if marker in html and (case.shows is None or case.shows in html):
            return True
        if f"page={page + 1}" not in html:
            return False
    return False


@pytest.mark.parametrize(("endpoint", "role", "mode"), PAIRS, ids=[f"{e}-{m}-as-{r}" for e, r, m in PAIRS])
def test_form_saves_the_row(app, session, endpoint, role, mode):
    assert mode in RECIPES.get(endpoint, {}), f"no {mode} recipe for {endpoint}: add one to RECIPES"
    view = admin_views(app)[endpoint]
    world = build_world(app, session, role)
    case = RECIPES[endpoint][mode](world)
    client = world.client

    url = f"/admin/{endpoint}/new/" if mode == "create" else f"/admin/{endpoint}/edit/?id={case.record_id}"
    opened = client.get(url)
    assert opened.status_code == 200, f"{role} cannot open {url}: {opened.status_code}"
    form = FormPage(text(opened))
    unknown = set(case.data) - form.names
    assert not unknown, f"the recipe posts fields the form does not have: {unknown} (form: {sorted(form.names)})"
    if role == Role.DEALER and "outlet" in form.options:  # R-ROLE-1: only its own outlets are offered
        offered = {value for value in form.options["outlet"] if value not in ("", "__None")}
        assert offered == {str(world.outlet.id)}, f"a dealer is offered outlets {offered}"
        if mode == "create":
            assert form.values["outlet"] == str(world.outlet.id), "the dealer's outlet is not preselected"

    assert form.values.get("csrf_token"), "the form carries no csrf_token"
    data = {**form.values, **case.data}  # the page's own values, csrf_token included, then the typing
    data = {key: value for key, value in data.items() if value is not None}
    saved = client.post(url, data=data)
    assert saved.status_code == 302, f"{endpoint} {mode} as {role} refused: {page_problems(text(saved))}"

    session.expire_all()
    row = session.scalar(case.find)
    assert row is not None, f"{endpoint} {mode} as {role}: redirected, but no row was saved"
    for attr, expected in case.expect.items():
        assert getattr(row, attr) == expected, f"{attr}: {getattr(row, attr)!r} != {expected!r}"
    if case.check:
        case.check(world, row)
    if role in view.roles:
        assert list_shows(client, view, row, case), f"the saved {endpoint} is not in the list of {role}"


def test_dealer_registers_a_walk_in_caller_at_the_intake_desk(app, session):
    """A new caller walks into the dealer's own outlet: the customer and the ticket are
    created for that outlet and the receipt follows (R-TKT-1, R-TKT-2)."""
    world = build_world(app, session, Role.DEALER)
    client = world.client
    phone = f"1390002{n():04d}"
    page = client.get("/admin/intake/")
    assert page.status_code == 200
    response = client.post("/admin/intake/", data={
        "csrf_token": csrf_token(client, "/admin/intake/"), "customer.phone": phone, "customer_id": "",
        "customer.name": "冯婉婷", "customer.area": "urban", "customer.address": "广州市白云区新市街机场路88号2栋301房",
        "customer.region": "广州市白云区", "kind": "repair", "category": "quality", "channel": "walk_in",
        "fault": "燃气灶左灶打不着火，点火针有火花", "outlet_id": str(world.outlet.id)})
    assert response.status_code == 302 and "/receipt/" in response.location, page_problems(text(response))
    session.expire_all()
    customer = session.scalar(select(Customer).where(Customer.phone == phone))
    assert customer is not None and customer.outlet_id == world.outlet.id
    ticket = customer.tickets[0]
    assert ticket.channel == "walk_in" and ticket.outlet_id == world.outlet.id
    assert ticket.registered_by_id == world.user.id and ticket.clocks
    receipt = text(client.get(response.location))
    assert ticket.number in receipt


def test_sla_policy_edit_keeps_a_rule_for_any_warranty(app, session):
    """The SLA policy form says 'leave kind, warranty or area empty to match any'; saving such a
    rule without touching the warranty must keep it matching any ticket (DOMAIN §4)."""
    world = build_world(app, session, Role.ADMIN)
    rule = f.make_sla_policy(session, clock="dispatch", kind=None, in_warranty=None, area=None, hours=Decimal("6"))
    session.commit()
    url = f"/admin/sla_policy/edit/?id={rule.id}"
    form = FormPage(text(world.client.get(url)))
    saved = world.client.post(url, data={**form.values, "hours": "7"})
    assert saved.status_code == 302, page_problems(text(saved))
    session.expire_all()
    rule = session.get(SlaPolicy, rule.id)
    assert rule.hours == Decimal("7") and rule.in_warranty is None


# --- the job runs screen's "Run now" form (issue 17): not a create/edit form, the same net --------

def run_now_form(html: str) -> tuple[str, dict[str, str], list[str]] | None:
    """The page's run-now form as a browser sends it: its action, hidden fields, button values."""
    found = re.search(r'<form method="post" action="([^"]+)" data-testid="run-now">(.*?)</form>', html, re.S)
    if found is None:
        return None
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', found.group(2)))
    return unescape(found.group(1)), hidden, re.findall(r'<button[^>]*name="job" value="(\w+)"', found.group(2))


@pytest.mark.parametrize("role", ROLES)
def test_job_run_now_form_per_role(app, session, role, monkeypatch):
    """An administrator's press of each job's button queues that job; a manager reads the runs
    with no form and is refused the POST; the other roles have no such screen."""
    from backoffice import tasks
    from backoffice.scheduled import JOBS
    from backoffice.timezones import local_to_utc
    from views import job_runs

    noon = local_to_utc(datetime.combine(local_today().replace(day=15), time(12)))
    monkeypatch.setattr(job_runs, "utcnow", lambda: noon)  # every job's slot has begun, none has run
    world = build_world(app, session, role)
    client = world.client
    opened = client.get("/admin/job_run/")
    form = run_now_form(text(opened)) if opened.status_code == 200 else None
    tasks.huey.flush()
    try:
        if role == Role.ADMIN:
            assert form is not None, "the admin has no run-now form"
            action, hidden, jobs = form
            assert hidden.get("csrf_token") and set(jobs) == set(JOBS)
            for job in jobs:
                pressed = client.post(action, data={**hidden, "job": job})
                assert pressed.status_code == 302, f"{job}: {page_problems(text(pressed))}"
            assert [task.args[0] for task in tasks.huey.pending() if task.name == "run_job_now"] == jobs
            return
        assert form is None, f"{role} is offered the run-now form"
        assert opened.status_code == (200 if role == Role.MANAGER else 403)
        pressed = client.post("/admin/job_run/run/", data={"csrf_token": csrf_token(client, "/admin/"),
                                                           "job": "sla_sweep"})
        assert pressed.status_code == 403
        assert tasks.huey.pending_count() == 0
    finally:
        tasks.huey.flush()
