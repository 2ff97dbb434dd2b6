"""Photos from a phone's camera, made smaller in the browser before they are sent (issue 18,
R-TKT-8; static/js/photo_resize.js), in Chromium at a phone's 390×844.

- The demo engineer taps "Take a photo" on a ticket page: the camera opens (capture="environment"),
  the 4000×3000 photo is stored as a JPEG at most 1600 px long and smaller than taken, and the
  evidence card lists it.
- A customer sends /report with three such photos, together more than the 6 MB a request may
  carry: made smaller, they go through and are stored with the new ticket.

The "camera" photo is a 4000×3000 JPEG of about 3.3 MB drawn by Chromium itself (no image library
in the test environment): a gradient under 4-pixel grain, so it compresses like a photo.
"""
from __future__ import annotations

import base64

import pytest

from tests import factories as f
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, fill_fault_report, login, screenshot
from tests.e2e.test_role_journeys import seeding

PHONE = {"width": 390, "height": 844}
MAX_SIDE = 1600

CAMERA_JPEG = """async ([width, height]) => {
  const canvas = document.createElement('canvas');
  canvas.width = width; canvas.height = height;
  const context = canvas.getContext('2d');
  const gradient = context.createLinearGradient(0, 0, width, height);
  gradient.addColorStop(0, '#3a6ea5'); gradient.addColorStop(1, '#e0b040');
  context.fillStyle = gradient; context.fillRect(0, 0, width, height);
  const image = context.getImageData(0, 0, width, height), px = image.data;
  let seed = 12345;
  for (let y = 0; y < height; y += 4) for (let x = 0; x < width; x += 4) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const grain = (seed % 96) - 48;
    for (let yy = y; yy < y + 4; yy++) for (let xx = x; xx < x + 4; xx++) {
      const i = (yy * width + xx) * 4; px[i] += grain; px[i + 1] += grain; px[i + 2] += grain;
    }
  }
  context.putImageData(image, 0, 0);
  const blob = await new Promise(done => canvas.toBlob(done, 'image/jpeg', 0.95));
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}"""


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's frame header (SOFn), or AssertionError if it is no JPEG."""
    assert data[:3] == b"\xff\xd8\xff", "not a JPEG"
    i = 2
    while i + 9 < len(data):
        assert data[i] == 0xFF, f"broken JPEG at byte {i}"
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = int.from_bytes(data[i + 5:i + 7], "big"), int.from_bytes(data[i + 7:i + 9], "big")
            return width, height
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    raise AssertionError("no frame header in the JPEG")


@pytest.fixture(scope="module")
def camera_photo(browser) -> bytes:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto("about:blank")
        data = base64.b64decode(page.evaluate(CAMERA_JPEG, [4000, 3000]))
    finally:
        context.close()
    assert jpeg_size(data) == (4000, 3000) and 2_500_000 <= len(data) <= 4_500_000, len(data)
    return data


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport=PHONE, is_mobile=True,
                                  has_touch=True, timezone_id="Asia/Shanghai")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    page.script_errors = []
    page.on("pageerror", lambda exc: page.script_errors.append(str(exc)))
    yield page
    context.close()


def ticket_for_the_demo_engineer(live_server) -> int:
    with seeding(live_server) as s:
        engineer, clerk = f.user(s, "engineer"), f.user(s, "clerk")
        customer = f.make_customer(s, engineer.outlet or f.outlet(s, "GZ-TH"))
        ticket = f.make_ticket(s, customer, unit=f.make_unit(s, customer), status="dispatched",
                               engineer=engineer, desk=clerk)
        s.flush()
        return ticket.id


def test_the_engineer_takes_a_photo_and_it_is_stored_at_most_1600_px_long(live_server, phone, camera_photo):
    ticket_id = ticket_for_the_demo_engineer(live_server)
    login(phone, "engineer")
    phone.goto(f"/admin/ticket/details/?id={ticket_id}")
    camera = phone.locator("#take-photo-file")
    assert camera.get_attribute("capture") == "environment" and camera.get_attribute("accept") == "image/*"
    button = phone.get_by_test_id("take-photo")  # a label tied to the input, drawn as a button
    assert button.is_visible() and button.get_attribute("for") == "take-photo-file" and button.inner_text().strip()
    screenshot(phone, "take-a-photo-button")

    with phone.expect_file_chooser() as chooser:
        button.click()
    assert chooser.value.element.get_attribute("id") == "take-photo-file"
    with phone.expect_navigation():  # sent as soon as it is ready: no second tap
        chooser.value.set_files({"name": "IMG_4032.JPG", "mimeType": "image/jpeg", "buffer": camera_photo})

    stored = live_server.query("SELECT filename, content_type, size, data FROM attachment WHERE ticket_id = ?",
                               ticket_id)
    assert len(stored) == 1
    filename, content_type, size, data = stored[0]
    assert (filename, content_type) == ("IMG_4032.jpg", "image/jpeg")
    width, height = jpeg_size(data)
    assert max(width, height) <= MAX_SIDE and (width, height) == (1600, 1200)  # the proportions kept
    assert size == len(data) < len(camera_photo)

    phone.reload()
    card = phone.get_by_test_id("attachments")
    assert "IMG_4032.jpg" in card.inner_text()
    screenshot(phone, "photo-in-the-evidence-card", full_page=True)
    assert phone.script_errors == []


def test_a_pdf_chosen_as_evidence_is_sent_untouched(live_server, phone):
    ticket_id = ticket_for_the_demo_engineer(live_server)
    invoice = b"%PDF-1.4\n" + b"% invoice scan\n" * 80_000  # over 1 MB, yet no photo
    login(phone, "engineer")
    phone.goto(f"/admin/ticket/details/?id={ticket_id}")
    phone.set_input_files("#attach-file", {"name": "发票.pdf", "mimeType": "application/pdf", "buffer": invoice})
    with phone.expect_navigation():
        phone.click("form:has(#attach-file) button[type=submit]")
    assert live_server.query("SELECT filename, content_type, data FROM attachment WHERE ticket_id = ?",
                             ticket_id) == [("发票.pdf", "application/pdf", invoice)]


def test_a_customer_reports_with_three_phone_photos_over_the_request_cap(live_server, phone, camera_photo):
    from playwright.sync_api import expect  # here: without Playwright the suite is skipped, not broken

    cap = live_server.app.config["MAX_CONTENT_LENGTH"]
    assert 3 * len(camera_photo) > cap  # as taken, the three could not be sent
    with seeding(live_server) as s:
        outlet_code, model_code = f.make_outlet(s).code, f.make_product_model(s).code
    serial = f"E2E-CAM-{f.next_number():05d}"
    phone.goto("/report")
    assert phone.locator("#photos").get_attribute("capture") is None  # the gallery, not the camera
    fill_fault_report(phone, model_code=model_code, outlet_code=outlet_code, serial=serial,
                      phone=f"1351235{f.next_number():04d}", fault="热水器漏水，照片三张")
    phone.set_input_files("#photos", [{"name": f"IMG_000{n}.jpeg", "mimeType": "image/jpeg", "buffer": camera_photo}
                                      for n in (1, 2, 3)])
    send = phone.locator("form[data-testid=report-form] button[type=submit]")
    status = phone.locator("form[data-testid=report-form] [role=status]")
    assert send.is_disabled() and status.inner_text().strip()  # "Preparing photo…": no tap sends the originals
    expect(send).to_be_enabled()
    assert status.inner_text().strip() == ""
    chosen = phone.eval_on_selector("#photos", "input => [...input.files].map(f => [f.name, f.type, f.size])")
    assert [name for name, _type, _size in chosen] == ["IMG_0001.jpg", "IMG_0002.jpg", "IMG_0003.jpg"]
    assert sum(size for _name, _type, size in chosen) < cap
    with phone.expect_navigation():
        send.click()
    number = phone.get_by_test_id("receipt-number").inner_text().strip()
    screenshot(phone, "report-three-camera-photos", full_page=True)

    stored = live_server.query("SELECT a.filename, a.content_type, a.data FROM attachment a "
                               "JOIN ticket t ON t.id = a.ticket_id WHERE t.number = ? ORDER BY a.id", number)
    assert [(name, kind) for name, kind, _data in stored] == [(f"IMG_000{n}.jpg", "image/jpeg") for n in (1, 2, 3)]
    for _name, _kind, data in stored:
        assert jpeg_size(data) == (1600, 1200) and len(data) < len(camera_photo)
    assert phone.script_errors == []
