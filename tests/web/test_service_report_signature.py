"""Issue 18 (R-TKT-7): the engineer resolves with the customer's signature drawn on the screen; the
ticket page and the printed service report show it to whoever sees the ticket, and to no one else."""
from __future__ import annotations

import pytest

from models import Attachment, Ticket
from tests import factories as f
from tests.signature_png import data_url, png

EN = {"Accept-Language": "en"}


@pytest.fixture
def world(session):
    world = f.make_service_network(session)
    world["ticket"] = f.make_ticket(session, world["customer"], unit=world["unit"], status="in_service",
                                    engineer=world["engineer_a"], desk=world["clerk"])
    session.commit()
    return world


def resolve(client, ticket, **fields):
    data = {"csrf_token": client.csrf, "loaded_version": ticket.version_id, "work_done": "更换点火针，试机正常",
            "tested_ok": "y", "signed_by": "王芳", **fields}
    return client.post(f"/admin/ticket/transition/resolve/?id={ticket.id}", data=data, headers=EN)


def test_engineer_resolves_with_a_drawn_signature_and_the_printed_report_shows_it(session, world, as_user):
    ticket = world["ticket"]
    engineer = as_user(world["engineer_a"])
    assert resolve(engineer, ticket, signature=data_url()).status_code == 302

    page = engineer.get(f"/admin/ticket/details/?id={ticket.id}", headers=EN).get_data(as_text=True)
    assert 'data-testid="signature-image"' in page and f"/admin/ticket/signature/?id={ticket.id}" in page
    printed = engineer.get(f"/admin/ticket/service_report/?id={ticket.id}", headers=EN)
    body = printed.get_data(as_text=True)
    assert printed.status_code == 200 and 'data-testid="report-signature-image"' in body
    assert "更换点火针，试机正常" in body and "王芳" in body and "Signature of 王芳" in body
    image = engineer.get(f"/admin/ticket/signature/?id={ticket.id}")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == png()
    assert "no-store" in image.headers["Cache-Control"]


@pytest.mark.parametrize("who", ["engineer_a", "dealer_a", "clerk", "manager"])
def test_each_role_that_resolves_keeps_the_signature_and_the_outlet_and_center_read_it(session, world, as_user,
                                                                                        who):
    ticket = world["ticket"]
    assert resolve(as_user(world[who]), ticket, signature=data_url()).status_code == 302
    session.expire_all()
    assert session.get(Ticket, ticket.id).report.signature.data == png()
    for reader in ("dealer_a", "clerk", "engineer_a"):
        client = as_user(world[reader])
        assert 'data-testid="report-signature-image"' in client.get(
            f"/admin/ticket/service_report/?id={ticket.id}").get_data(as_text=True), reader
        assert client.get(f"/admin/ticket/signature/?id={ticket.id}").data == png(), reader


def test_another_outlets_dealer_sees_neither_the_report_nor_the_signature(session, world, as_user):
    ticket = world["ticket"]
    assert resolve(as_user(world["engineer_a"]), ticket, signature=data_url()).status_code == 302
    other = as_user(world["dealer_b"])
    assert other.get(f"/admin/ticket/service_report/?id={ticket.id}").status_code == 404
    assert other.get(f"/admin/ticket/signature/?id={ticket.id}").status_code == 404
    attachment = session.query(Attachment).filter_by(ticket_id=ticket.id).one()
    assert other.get(f"/admin/ticket/attachment/{attachment.id}").status_code == 404


def test_an_unreadable_signature_is_refused_and_what_was_typed_stays(session, world, as_user):
    ticket = world["ticket"]
    response = resolve(as_user(world["engineer_a"]), ticket, signature="data:image/png;base64,####",
                       work_done="清洗燃烧器并更换点火针")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The signature could not be read" in page and "清洗燃烧器并更换点火针" in page
    session.expire_all()
    assert session.get(Ticket, ticket.id).status == "in_service"


def test_a_report_signed_on_paper_prints_a_line_to_sign(session, world, as_user):
    ticket = world["ticket"]
    engineer = as_user(world["engineer_a"])
    assert resolve(engineer, ticket).status_code == 302
    body = engineer.get(f"/admin/ticket/service_report/?id={ticket.id}", headers=EN).get_data(as_text=True)
    assert "report-signature-image" not in body and "sign-blank" in body and "王芳" in body
    assert engineer.get(f"/admin/ticket/signature/?id={ticket.id}").status_code == 404


def test_a_ticket_without_a_report_has_no_printed_report(session, world, as_user):
    assert as_user(world["engineer_a"]).get(f"/admin/ticket/service_report/?id={world['ticket'].id}").status_code == 404


def test_the_resolve_form_offers_the_signature_pad(session, world, as_user):
    page = as_user(world["engineer_a"]).get(f"/admin/ticket/details/?id={world['ticket'].id}",
                                            headers=EN).get_data(as_text=True)
    assert "data-signature-pad" in page and "vendor/signature_pad/signature_pad.umd.min.js" in page
    assert "js/signature.js" in page
