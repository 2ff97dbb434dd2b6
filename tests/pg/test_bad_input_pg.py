"""Bad input on PostgreSQL, where it was a 500: a NUL byte in any field (the
server refuses NUL in text), a page past BIGINT, numbers beyond a column, a second row where
one must be unique. Each is a 4xx or the form again, with a message; nothing is written."""
from __future__ import annotations

import io
import json

from sqlalchemy import func, select

from models import FinishedGoodsStock, Ticket, db
from tests import factories as f
from tests.conftest import csrf_token, login
from tests.web.test_admin_form_checks import field_error, post_form, refused_on_the_form


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    client.csrf = csrf_token(client, "/admin/")
    return client


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_nul_byte_in_any_door_is_400_on_postgresql(pg_app):
    client = pg_app.test_client()
    assert client.post("/login", data={"csrf_token": csrf_token(client), "username": "clerk\x00",
                                       "password": "x"}).status_code == 400
    assert client.post("/report", data={"csrf_token": csrf_token(client, "/report"), "name": "何\x00",
                                        "phone": "13711110000"}).status_code == 400
    assert client.post("/track", data={"csrf_token": csrf_token(client, "/track"), "number": "SV\x00",
                                       "phone": "1"}).status_code == 400
    clerk = signed_in(pg_app, "clerk")
    assert clerk.get("/admin/customer/?search=%00").status_code == 400
    with pg_app.app_context():
        ticket_id = db.session.scalar(select(Ticket.id).order_by(Ticket.id).limit(1))
    upload = clerk.post(f"/admin/ticket/attach/?id={ticket_id}", content_type="multipart/form-data",
                        data={"csrf_token": clerk.csrf, "file": (io.BytesIO(b"log"), "a\x00.txt")})
    assert upload.status_code == 400
    created = pg_app.test_cli_runner().invoke(args=["create-api-token", "--channel", "email"])
    token = created.output.strip().splitlines()[-1]
    api = client.post("/api/v1/tickets", data=json.dumps({"fault": "x\x00", "customer": {}, "unit": {}}),
                      content_type="application/json", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 400 and api.is_json


def test_a_page_past_any_list_is_400_on_postgresql(pg_app):
    assert signed_in(pg_app, "clerk").get("/admin/ticket/?page=99999999999999999999").status_code == 400
    assert signed_in(pg_app, "clerk").get("/admin/ticket/?page=-1").status_code == 400


def test_stock_forms_refuse_duplicates_negatives_and_overflows_on_postgresql(pg_app):
    with pg_app.app_context():
        outlet = f.make_outlet(db.session)
        stock = f.make_stock(db.session, outlet, qty=2)
        db.session.commit()
        outlet_id, model_id, stock_id = outlet.id, stock.product_model_id, stock.id
    manager = signed_in(pg_app, "manager")
    for qty in ("5", "-1", "99999999999"):
        response = post_form(manager, "/admin/stock/new/", outlet=str(outlet_id), product_model=str(model_id), qty=qty)
        refused_on_the_form(response, qty)
        assert field_error(response, "qty") or field_error(response, "product_model")
    edited = post_form(manager, f"/admin/stock/edit/?id={stock_id}", qty="-4")
    refused_on_the_form(edited, "-4")
    assert count(pg_app, FinishedGoodsStock, FinishedGoodsStock.outlet_id == outlet_id) == 1
