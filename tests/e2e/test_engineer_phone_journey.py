"""Issue 18, the engineer on a phone (390×844): from the home page to today's first appointment,
tap to call, start the service, take a photo with the camera, let the customer sign on the screen,
resolve; the printed service report shows the signature (R-TKT-7, R-TKT-8).

The ticket is made for the test on the live server's database (tests.factories, through the real
workflow) and dispatched to the demo engineer for the first minute of today."""
from __future__ import annotations

import base64
from contextlib import contextmanager
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.timezones import zone_of
from models import User, db
from tests import factories as f
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, login, screenshot

PHONE = {"width": 390, "height": 844}


@contextmanager
def seeding(live_server):
    with live_server.app.app_context(), Session(bind=db.engine, expire_on_commit=False) as session:
        yield session
        session.commit()


def first_appointment_today(live_server) -> tuple[int, str, str]:
    """(id, number, phone) of a repair dispatched to the demo engineer for 00:01 today."""
    with seeding(live_server) as session:
        engineer = session.scalar(select(User).where(User.username == "engineer"))
        clerk = session.scalar(select(User).where(User.username == "clerk"))
        outlet = engineer.outlet or f.outlet(session, "GZ-TH")
        customer = f.make_customer(session, outlet)
        ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer), status="dispatched",
                               engineer=engineer, desk=clerk)
        zone = zone_of(ticket.outlet)
        today = datetime.now(zone).date()
        ticket.appointment_at = datetime.combine(today, time(0, 1), zone)
        return ticket.id, ticket.number, ticket.contact_phone


def phone_photo(page) -> bytes:
    """A 3000×2000 camera-like JPEG, made by the browser itself."""
    data_url = page.evaluate("""() => {
        const c = document.createElement('canvas'); c.width = 3000; c.height = 2000;
        const g = c.getContext('2d');
        for (let i = 0; i < 40; i++) {
            g.fillStyle = `hsl(${i * 9}, 60%, ${30 + i}%)`; g.fillRect(i * 75, 0, 75, 2000);
        }
        g.fillStyle = '#fff'; g.font = '200px sans-serif'; g.fillText('铭牌 JSQ30-16B', 300, 1000);
        return c.toDataURL('image/jpeg', 0.95);
    }""")
    return base64.b64decode(data_url.split(",", 1)[1])


def draw_signature(page, canvas) -> None:
    """Two strokes across the pad, as a finger would (pointer events on the canvas)."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    for stroke in ((0.1, 0.7, 0.3, 0.2, 0.45, 0.75), (0.5, 0.3, 0.7, 0.7, 0.9, 0.35)):
        page.mouse.move(x + w * stroke[0], y + h * stroke[1])
        page.mouse.down()
        for i in range(1, 3):
            page.mouse.move(x + w * stroke[2 * i], y + h * stroke[2 * i + 1], steps=12)
        page.mouse.up()


def test_engineer_serves_todays_first_appointment_on_a_phone(browser, live_server):
    ticket_id, number, phone = first_appointment_today(live_server)
    context = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport=PHONE, is_mobile=True,
                                  has_touch=True, device_scale_factor=2, timezone_id="Asia/Shanghai")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, "engineer")

    # Home: today's appointments first; the first is ours, with a call link.
    first = page.locator("[data-testid=appointments] [data-testid=appointment]").first
    assert number in first.inner_text()
    assert first.locator(f"a[href='tel:{phone}']").count() >= 1
    screenshot(page, "engineer-phone-home")
    with page.expect_navigation():
        first.locator("[data-testid=appointment-open]").click()
    assert f"id={ticket_id}" in page.url

    # The ticket page: whom to call at the top.
    call = page.locator("[data-testid=ticket-header] [data-testid=call]").first
    assert call.get_attribute("href") == f"tel:{phone}" and call.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "engineer-phone-ticket")

    take_step(page, "start_service")

    # The engineer fills in the report and the customer signs on the screen.
    form = open_step(page, "resolve")
    form.locator("[name=work_done]").fill("更换点火针，清洁燃烧器，试机正常")
    form.locator("[name=signed_by]").fill("用户本人")
    form.locator("input[name=tested_ok]").check()
    draw_signature(page, form.locator("canvas[data-signature-pad]"))
    signature = form.locator("input[name=signature]").input_value()
    assert signature.startswith("data:image/png;base64,")
    screenshot(page, "engineer-phone-signature")

    # Then a photo of the repaired unit with the camera (the file chooser), made smaller in the
    # browser and sent without leaving the page: the report and the signature stay as they are.
    original = phone_photo(page)
    with page.expect_file_chooser() as chooser:
        page.locator("[data-testid=take-photo-near-steps]").click()  # the camera beside the steps
    assert chooser.value.element.get_attribute("capture") == "environment"
    chooser.value.set_files({"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": original})
    page.locator("[data-testid=take-photo-form] [role=status]", has_text="IMG_0001.jpg").wait_for()
    stored = live_server.query("SELECT size, content_type FROM attachment WHERE ticket_id = ? "
                               "AND filename LIKE 'IMG_0001%'", ticket_id)
    assert stored and stored[0][1] == "image/jpeg" and stored[0][0] < len(original)
    assert form.locator("[name=work_done]").input_value() == "更换点火针，清洁燃烧器，试机正常"
    assert form.locator("input[name=signature]").input_value() == signature

    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator(".alert-success").count() >= 1, page.locator(".alert, .invalid-feedback").all_inner_texts()
    row = live_server.query("SELECT t.status, a.content_type, a.size FROM ticket t JOIN service_report r "
                            "ON r.ticket_id = t.id JOIN attachment a ON a.id = r.signature_id WHERE t.id = ?",
                            ticket_id)
    assert row and row[0][0] == "resolved" and row[0][1] == "image/png" and row[0][2] > 0

    # The printed report shows the signature as drawn: an image with ink in it.
    with page.expect_navigation():
        page.locator("[data-testid=print-service-report]").click()
    image = page.locator("[data-testid=report-signature-image]")
    image.wait_for()
    ink = image.evaluate("""img => new Promise(done => {
        const check = () => {
            const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
            const g = c.getContext('2d'); g.drawImage(img, 0, 0);
            const px = g.getImageData(0, 0, c.width, c.height).data; let n = 0;
            for (let i = 3; i < px.length; i += 4) { if (px[i] > 0) n++; }
            done(n);
        };
        img.complete ? check() : img.addEventListener('load', check);
    })""")
    assert ink > 200, f"the printed signature has {ink} inked pixels"
    assert number in page.locator("[data-testid=service-report-print]").inner_text()
    screenshot(page, "engineer-phone-printed-report", full_page=True)
    assert not errors, errors
    context.close()


def open_step(page, name):
    form = page.locator(f"form.workflow-step[data-step={name}]")
    if form.is_hidden():
        page.locator(f"[data-step-open={name}]").click()
    return form


def take_step(page, name):
    form = open_step(page, name)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator(".alert-success").count() >= 1, page.locator(".alert, .invalid-feedback").all_inner_texts()


def inked_pixels(canvas) -> int:
    return canvas.evaluate("""c => {
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 3; i < px.length; i += 4) { if (px[i] > 0) n++; }
        return n; }""")


def test_a_refused_resolve_keeps_the_signature_through_a_turn_of_the_phone(browser, live_server):
    """The step comes back refused (the unit not tested in front of the customer): the signature is
    on the pad again, stays there when the phone is turned, and is kept with what is added."""
    ticket_id, _number, _phone = first_appointment_today(live_server)
    context = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport=PHONE, is_mobile=True,
                                  has_touch=True, device_scale_factor=2, timezone_id="Asia/Shanghai")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    login(page, "engineer")
    page.goto(f"/admin/ticket/details/?id={ticket_id}")
    take_step(page, "start_service")
    form = open_step(page, "resolve")
    form.locator("[name=work_done]").fill("更换点火针")
    form.locator("[name=signed_by]").fill("用户本人")
    draw_signature(page, form.locator("canvas[data-signature-pad]"))
    signature = form.locator("input[name=signature]").input_value()
    with page.expect_navigation():
        form.locator("button[type=submit]").click()  # "tested in front of the customer" left unchecked

    form = page.locator("form.workflow-step[data-step=resolve]")
    canvas = form.locator("canvas[data-signature-pad]")
    assert form.is_visible() and form.locator("input[name=signature]").input_value() == signature
    page.wait_for_function("c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v)",
                           arg=canvas.element_handle())
    page.set_viewport_size({"width": 844, "height": 390})  # the phone turned: the pad is redrawn
    page.wait_for_function("c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v)",
                           arg=canvas.element_handle())
    draw_signature(page, canvas)  # the customer adds to it
    assert inked_pixels(canvas) > 0
    form.locator("input[name=tested_ok]").check()
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator(".alert-success").count() >= 1, page.locator(".alert, .invalid-feedback").all_inner_texts()
    assert live_server.query("SELECT signature_id IS NOT NULL FROM service_report WHERE ticket_id = ?",
                             ticket_id) == [(1,)]
    context.close()
