"""Photos from a phone (issue 18, R-TKT-8): the ticket page's "Take a photo" opens the camera and
/report takes photos from the gallery, both made smaller in the browser (static/js/photo_resize.js).
Without that script the server still takes any valid photo up to 5 MB, and a report over the
request cap comes back 413 with a clear message and everything typed, not a 500."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from backoffice import attachments
from models import Attachment, Ticket
from tests import factories as f
from tests.web.test_public_report import form, send, ticket_count, world  # noqa: F401 (the fixture)

EN = {"Accept-Language": "en"}
MB = 1024 * 1024


def jpeg(size: int) -> bytes:
    """A file the server takes for a JPEG (it reads the first bytes), `size` bytes long."""
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
    return head + b"\x5a" * (size - len(head))


def text(response) -> str:
    return response.get_data(as_text=True)


def tag(page: str, element_id: str) -> str:
    return re.search(rf'<input[^>]*id="{element_id}"[^>]*>', page, re.S).group(0)


@pytest.fixture
def ticket_world(session):
    network = f.make_service_network(session)
    network["ticket"] = f.make_ticket(session, network["customer"], unit=network["unit"], status="dispatched",
                                      engineer=network["engineer_a"], desk=network["clerk"])
    session.commit()
    return network


# --- the ticket page -------------------------------------------------------------------------------

def test_the_engineer_gets_a_take_a_photo_button_that_opens_the_camera(ticket_world, as_user):
    ticket = ticket_world["ticket"]
    page = text(as_user(ticket_world["engineer_a"]).get(f"/admin/ticket/details/?id={ticket.id}", headers=EN))
    photo_form = page.split('data-testid="take-photo-form"', 1)[1].split("</form>", 1)[0]
    assert f'action="/admin/ticket/attach/?id={ticket.id}"' in photo_form
    button = re.search(r'<label for="take-photo-file" class="btn[^>]*>([^<]*)</label>', photo_form)
    assert button and button.group(1) == "Take a photo"  # the label is the button: tied to the input
    camera = tag(photo_form, "take-photo-file")
    for attribute in ('capture="environment"', 'accept="image/*"', 'data-resize-max="1600"', "data-autosubmit",
                      'name="file"'):
        assert attribute in camera, attribute
    assert 'data-resize-max="1600"' in tag(page, "attach-file")  # a large photo from the gallery too
    assert "js/photo_resize.js" in page


def test_a_photo_of_almost_5_mb_is_attached_without_the_script(ticket_world, as_user, session):
    """The browser sends the photo as the phone took it (no script ran): still accepted."""
    ticket, photo = ticket_world["ticket"], jpeg(attachments.MAX_BYTES - 1024)
    engineer = as_user(ticket_world["engineer_a"])
    response = engineer.post(f"/admin/ticket/attach/?id={ticket.id}", content_type="multipart/form-data",
                             data={"csrf_token": engineer.csrf, "file": (io.BytesIO(photo), "IMG_0001.jpg")})
    assert response.status_code == 302
    stored = session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id)).one()
    assert (stored.filename, stored.content_type, stored.size) == ("IMG_0001.jpg", "image/jpeg", len(photo))


@pytest.mark.parametrize("who", ["engineer_a", "dealer_a", "clerk"])
def test_a_photo_sent_in_place_answers_json_and_is_listed_with_the_ticket(ticket_world, as_user, session, who):
    """While a step form is being filled in the camera's photo goes without a page load (the
    signature and what was typed stay): the answer says what became of it."""
    ticket = ticket_world["ticket"]
    client = as_user(ticket_world[who])
    response = client.post(f"/admin/ticket/attach/?id={ticket.id}", content_type="multipart/form-data",
                           headers={**EN, "Accept": "application/json"},
                           data={"csrf_token": client.csrf, "file": (io.BytesIO(jpeg(200_000)), "IMG_0002.jpg")})
    assert response.status_code == 200 and response.json == {"ok": True, "message": "File attached: IMG_0002.jpg"}
    assert "IMG_0002.jpg" in text(as_user(ticket_world["dealer_a"]).get(f"/admin/ticket/details/?id={ticket.id}"))


def test_a_refused_photo_sent_in_place_says_why_in_json(ticket_world, as_user, session):
    ticket = ticket_world["ticket"]
    client = as_user(ticket_world["engineer_a"])
    response = client.post(f"/admin/ticket/attach/?id={ticket.id}", content_type="multipart/form-data",
                           headers={**EN, "Accept": "application/json"},
                           data={"csrf_token": client.csrf, "file": (io.BytesIO(b"MZ\x90\x00"), "IMG_0003.jpg")})
    assert response.status_code == 422 and response.json["ok"] is False
    assert "Only photos" in response.json["message"]
    assert session.scalar(select(func.count()).select_from(Attachment).where(Attachment.ticket_id == ticket.id)) == 0


# --- /report -------------------------------------------------------------------------------------

def test_the_report_form_resizes_photos_from_the_gallery_without_opening_the_camera(client, world):  # noqa: F811
    page = text(client.get("/report", headers=EN))
    photos = tag(page, "photos")
    assert 'data-resize-max="1600"' in photos and 'accept="image/*"' in photos and "capture" not in photos
    assert "js/photo_resize.js" in page


def test_a_report_over_the_request_cap_is_refused_413_with_everything_typed_kept(app, client, session, world):  # noqa: F811
    """Three phone photos as taken (no script): each under 5 MB, together over the 6 MB a
    request may carry. The form comes back with the photos' message and what was typed."""
    before, stored = ticket_count(session), session.scalar(select(func.count()).select_from(Attachment))
    data = form(client, world)
    photos = [(f"IMG_000{n}.jpg", jpeg(3 * MB)) for n in (1, 2, 3)]
    assert sum(len(p) for _n, p in photos) > app.config["MAX_CONTENT_LENGTH"]
    response = send(client, data, photos)
    page = text(response)
    assert response.status_code == 413
    error = re.search(r'data-testid="error-photos">(.*?)</div>', page, re.S).group(1)
    assert "The photos together are larger than 5 MB: choose smaller ones." in error
    assert 'data-testid="reselect-photos"' in page  # "everything you typed is kept below"
    assert data["name"] in page and data["serial"] in page and data["fault"] in page
    assert f'<option selected value="{world["model"]}">' in page
    assert ticket_count(session) == before
    assert session.scalar(select(func.count()).select_from(Attachment)) == stored


def test_a_report_far_over_the_cap_gets_the_too_large_page_not_a_500(client, session, world):  # noqa: F811
    """Beyond what three photos of 5 MB could be the request is not read: the plain page."""
    from backoffice import report_photos

    before = ticket_count(session)
    huge = jpeg(report_photos.request_bound(6 * MB) + MB)
    response = send(client, form(client, world), [("IMG_0001.jpg", huge)])
    assert response.status_code == 413
    assert "The file is too large" in text(response) and "Something went wrong" not in text(response)
    assert ticket_count(session) == before


def test_a_report_with_resized_photos_under_the_cap_is_registered(client, session, world):  # noqa: F811
    """What the page's script sends: three photos of a few hundred KB."""
    response = send(client, form(client, world), [(f"IMG_000{n}.jpg", jpeg(400 * 1024)) for n in (1, 2, 3)])
    page = text(response)
    assert response.status_code == 200, page[-1500:]
    number = re.search(r'data-testid="receipt-number">([^<]+)<', page).group(1)
    ticket = session.scalar(select(Ticket).where(Ticket.number == number))
    assert session.scalar(select(func.count()).select_from(Attachment)
                          .where(Attachment.ticket_id == ticket.id)) == 3
