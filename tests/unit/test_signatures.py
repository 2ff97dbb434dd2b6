"""Issue 18 (R-TKT-7): the customer's signature drawn on the engineer's screen is checked and kept
as an attachment of the ticket that the service report points at."""
from __future__ import annotations

import base64

import pytest

from backoffice import signatures, workflow
from tests import factories as f
from tests.signature_png import data_url, png


def test_a_drawn_signature_decodes_to_its_png():
    assert signatures.decode(data_url()) == png()


@pytest.mark.parametrize("nothing", ["", "   ", None])
def test_no_drawing_is_no_signature(nothing):
    assert signatures.decode(nothing) is None


@pytest.mark.parametrize("hostile", [
    "not a picture",
    "data:image/png;base64,!!!!",
    "data:image/svg+xml;base64," + base64.b64encode(b"<svg onload=alert(1)>").decode(),
    "data:image/png;base64," + base64.b64encode(b"GIF89a" + bytes(40)).decode(),  # not a PNG inside
    data_url(png()[:16] + b"\x00\x00\x00\x00\x00\x00\x00\x01" + png()[24:]),  # zero width
    "data:image/png;base64," + "A" * (signatures.MAX_BYTES * 2),  # too large
])
def test_anything_else_is_refused_with_a_message(hostile):
    with pytest.raises(ValueError) as refused:
        signatures.decode(hostile)
    assert "sign again" in str(refused.value)


def _in_service(session):
    world = f.make_service_network(session)
    ticket = f.make_ticket(session, world["customer"], unit=world["unit"], status="in_service",
                           engineer=world["engineer_a"], desk=world["clerk"])
    return world, ticket


def _resolve(session, ticket, engineer, **extra):
    values = {"work_done": "更换点火针，试机正常", "tested_ok": "y", "signed_by": "王芳", **extra}
    workflow.perform(session, ticket, "resolve", engineer, values)
    session.flush()


def test_resolving_with_a_signature_keeps_it_on_the_report(session):
    world, ticket = _in_service(session)
    _resolve(session, ticket, world["engineer_a"], signature=data_url())
    signature = ticket.report.signature
    assert signature.data == png() and signature.content_type == "image/png"
    assert signature in ticket.attachments and signature.uploaded_by == world["engineer_a"]
    assert signature.filename == f"signature-{ticket.number}.png"


def test_a_report_signed_on_paper_has_no_drawn_signature(session):
    world, ticket = _in_service(session)
    _resolve(session, ticket, world["engineer_a"])
    assert ticket.report.signed_by == "王芳" and ticket.report.signature is None


def test_an_unreadable_signature_saves_nothing(session):
    world, ticket = _in_service(session)
    with pytest.raises(workflow.FieldErrors) as refused:
        _resolve(session, ticket, world["engineer_a"], signature="data:image/png;base64,AAAA")
    assert "signature" in refused.value.errors
    assert ticket.status == "in_service" and ticket.report is None


def test_a_rework_signed_on_paper_does_not_show_the_earlier_rounds_signature(session):
    world, ticket = _in_service(session)
    _resolve(session, ticket, world["engineer_a"], signature=data_url())
    first = ticket.report.signature
    for step, values in (("reopen", {"note": "用户反映仍不点火"}), ("propose", {"note": "再次上门", "fees": []}),
                         ("agree", {}), ("dispatch", {"engineer": str(world["engineer_a"].id),
                                                      "appointment_at": "2030-01-02T10:00"}),
                         ("start_service", {})):
        workflow.perform(session, ticket, step, world["clerk"] if step in ("reopen", "agree", "dispatch")
                         else world["engineer_a"], values)
    _resolve(session, ticket, world["engineer_a"])
    assert ticket.report.signature is None
    assert first in ticket.attachments  # the earlier round's drawing stays as evidence
