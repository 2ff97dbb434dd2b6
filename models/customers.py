"""Customer archive, product models and units sold (DOMAIN §2)."""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .base import Audited, Money, TimestampMixin, UTCDateTime, choice_check, db
from .choices import Area, GasType, NotifyChannel, ProductCategory, PurchaseChannel


def phone_key(phone: str | None) -> str | None:
    """R-CUS-1: a phone as the archive compares it: digits only, without the +86 / 0086 prefix
    of a mobile, so "138-0013-8000" and "+86 13800138000" are one caller."""
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits or None


class Customer(Audited, TimestampMixin, db.Model):
    """客户档案. Phone is the lookup key at intake: one customer per normalised phone (R-CUS-1).
    Records that shared a phone before that rule keep `phone_key` empty and stay flagged."""

    __tablename__ = "customer"
    __scope__ = "own_rule"  # R-ROLE-1: a rule of its own in backoffice.access
    __table_args__ = (
        choice_check("area", [a.value for a in Area]),
        sa.CheckConstraint("distance_km IS NULL OR distance_km >= 0", name="distance_not_negative"),
        sa.Index("ix_customer_outlet_created", "outlet_id", "created_at"),
        choice_check("notify_channel", [c.value for c in NotifyChannel]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), index=True)
    phone: Mapped[str] = mapped_column(sa.String(30), index=True)
    # UNIQUE: two registrations of a new caller at once make one customer (R-CUS-1).
    phone_key: Mapped[str | None] = mapped_column(sa.String(30), unique=True)
    phone2: Mapped[str] = mapped_column(sa.String(30), default="", index=True)
    address: Mapped[str] = mapped_column(sa.String(255), default="")
    region: Mapped[str] = mapped_column(sa.String(60), default="", index=True)
    area: Mapped[str] = mapped_column(sa.String(10), default=Area.URBAN.value)
    distance_km: Mapped[Decimal | None] = mapped_column(sa.Numeric(7, 1))
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    # Issue 17: how the customer is told about their service (PIPL: only with their consent,
    # recorded with when and how it was given; an opt-out stops every message).
    email: Mapped[str] = mapped_column(sa.String(120), default="")
    wechat_openid: Mapped[str] = mapped_column(sa.String(64), default="")
    notify_channel: Mapped[str] = mapped_column(sa.String(10), default=NotifyChannel.SMS.value)
    notify_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notify_consent_source: Mapped[str] = mapped_column(sa.String(20), default="")
    notify_opt_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    outlet = relationship("Outlet")
    units = relationship("Unit", back_populates="customer", order_by="Unit.id")
    tickets = relationship("Ticket", back_populates="customer", order_by="Ticket.id.desc()")

    def __str__(self) -> str:
        return f"{self.name} {self.phone}"

    @validates("phone")
    def _keep_phone_key(self, key, phone):
        if phone != self.phone or self.phone_key is not None or self.id is None:
            self.phone_key = phone_key(phone)
        return phone


class ProductModel(Audited, TimestampMixin, db.Model):
    __tablename__ = "product_model"
    __table_args__ = (
        choice_check("category", [c.value for c in ProductCategory]),
        choice_check("gas_type", [g.value for g in GasType]),
        sa.CheckConstraint("warranty_months >= 0", name="warranty_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    category: Mapped[str] = mapped_column(sa.String(30), index=True)
    warranty_months: Mapped[int] = mapped_column(default=12)  # R-WAR-1
    free_installation: Mapped[bool] = mapped_column(default=False)  # R-INST-1
    special_price: Mapped[bool] = mapped_column(default=False)  # R-INST-1 exception
    gas_type: Mapped[str | None] = mapped_column(sa.String(20))
    active: Mapped[bool] = mapped_column(default=True)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Unit(Audited, TimestampMixin, db.Model):
    """A unit sold; the purchase invoice is the warranty proof (R-WAR-1)."""

    __tablename__ = "unit"
    __scope__ = "own_rule"  # R-ROLE-1: a rule of its own in backoffice.access
    __table_args__ = (
        sa.UniqueConstraint("product_model_id", "serial", name="uq_unit_model_serial"),
        sa.CheckConstraint("price IS NULL OR price >= 0", name="price_not_negative"),
        choice_check("purchase_channel", [c.value for c in PurchaseChannel]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(sa.String(60), index=True)
    size: Mapped[str] = mapped_column(sa.String(10), default="")  # shoes: one model, many sizes (003)
    product_model_id: Mapped[int] = mapped_column(sa.ForeignKey("product_model.id"), index=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customer.id"), index=True)
    outlet_id: Mapped[int] = mapped_column(sa.ForeignKey("outlet.id"), index=True)  # selling outlet
    invoice_no: Mapped[str] = mapped_column(sa.String(60), default="", index=True)
    invoice_date: Mapped[date | None] = mapped_column(sa.Date, index=True)
    price: Mapped[Decimal | None] = mapped_column(Money)
    purchase_channel: Mapped[str | None] = mapped_column(sa.String(12))  # R-TKT-2 purchase data

    product_model = relationship("ProductModel")
    customer = relationship("Customer", back_populates="units")
    tickets = relationship("Ticket", back_populates="unit", order_by="Ticket.created_at")
    outlet = relationship("Outlet")

    def __str__(self) -> str:
        model = self.product_model.code if self.product_model else ""
        return f"{model} {self.serial}".strip()


class ModelSales(Audited, TimestampMixin, db.Model):
    """Units of a product model the manufacturer sold in a month, network-wide (from its sales
    figures): the base of the monthly quality report's fault rate (R-RPT-1). Not an outlet's
    record, so it has no row scope."""

    __tablename__ = "model_sales"
    __table_args__ = (
        sa.UniqueConstraint("product_model_id", "month", name="uq_model_sales_model_month"),
        sa.CheckConstraint("units >= 0", name="units_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_model_id: Mapped[int] = mapped_column(sa.ForeignKey("product_model.id"), index=True)
    month: Mapped[date] = mapped_column(sa.Date, index=True)  # the month's first day
    units: Mapped[int] = mapped_column()

    product_model: Mapped[ProductModel] = relationship()

    def __str__(self) -> str:
        return f"{self.product_model} {self.month:%Y-%m}: {self.units}"
