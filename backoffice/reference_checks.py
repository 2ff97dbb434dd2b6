"""Reference rows edited on admin screens, checked before the database sees them: a second
row where one must be unique, or a negative stock, is refused field by
field with a message, instead of a constraint violation.

Uniqueness is network-wide, so the look-ups ignore the user's row scope; they do not flush
the row being checked (it is already in the session when a form is saved).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import FaultCode, FinishedGoodsStock

from .access import UNSCOPED
from .errors import FieldErrors


def _other(session: Session, model, row, *where):
    stmt = select(model.id).where(*where).execution_options(**UNSCOPED)
    if row.id is not None:
        stmt = stmt.where(model.id != row.id)
    with session.no_autoflush:
        return session.scalar(stmt.limit(1))


def check_stock(session: Session, row: FinishedGoodsStock) -> None:
    """R-RET-2: one stock row per outlet, model and size (shoes), never a negative quantity."""
    errors = {}
    if row.qty is not None and row.qty < 0:
        errors["qty"] = _l("The quantity on hand cannot be negative.")
    outlet_id = row.outlet.id if row.outlet is not None else row.outlet_id
    model_id = row.product_model.id if row.product_model is not None else row.product_model_id
    if outlet_id is not None and model_id is not None and _other(
            session, FinishedGoodsStock, row, FinishedGoodsStock.outlet_id == outlet_id,
            FinishedGoodsStock.product_model_id == model_id, FinishedGoodsStock.size == (row.size or "")):
        errors["product_model"] = _l("This outlet already has a stock row for this model and size: "
                                     "change the quantity of that row instead.")
    if errors:
        raise FieldErrors(errors)


def check_fault_code(session: Session, row: FaultCode) -> None:
    """R-TKT-9: a code is unique within its kind (fault, cause, remedy)."""
    code = (row.code or "").strip()
    if code and _other(session, FaultCode, row, FaultCode.kind == row.kind, FaultCode.code == code):
        raise FieldErrors({"code": _l("The code %(code)s already exists for this kind: choose another code "
                                      "or edit the existing one.", code=code)})
