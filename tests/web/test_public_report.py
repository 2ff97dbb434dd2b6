"""The public doors for customers (issue 18): /report chooses nothing for the visitor ("Please
choose"), marks what is required, keeps the privacy notice and the consent box (PIPL, R-NTF-1),
and takes up to 3 photos stored with the new ticket (R-TKT-8); /track and the customer's link
never show a promised time already past."""
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backoffice.timezones import local_today
from models import Attachment, Ticket, utcnow
from tests import factories as f
from tests.conftest import csrf_token

EN = {"Accept-Language": "en"}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
SELECTS = ("area", "model_code", "outlet_code", "kind")
REQUIRED = ("name", "phone", "area", "model_code", "serial", "outlet_code", "kind", "fault")
LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def world(session):
    """An outlet and a product model of this test's own, committed (the form lists them)."""
    outlet, model = f.make_outlet(session), f.make_product_model(session)
    session.commit()
    return {"outlet": outlet.code, "model": model.code}


def form(client, world, **changes):
    n = f.next_number()
    data = {"csrf_token": csrf_token(client, "/report"), "name": "何美玲", "phone": f"1371111{n:04d}",
            "address": "广州市海珠区新港中路99号", "area": "urban", "model_code": world["model"],
            "serial": f"WEB-PHOTO-{n:05d}", "invoice_date": (local_today() - timedelta(days=40)).isoformat(),
            "outlet_code": world["outlet"], "kind": "repair", "fault": "热水器打不着火，显示E1", "website": ""}
    data.update(changes)
    return data


def send(client, data, photos=()):
    files = [(io.BytesIO(content), name) for name, content in photos]
    return client.post("/report", data={**data, "photos": files}, headers=EN, content_type="multipart/form-data")


def ticket_count(session):
    return session.scalar(select(func.count()).select_from(Ticket))


def select_html(page, name):
    return re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)


# --- /report: nothing chosen, required marked -----------------------------------------------------

def test_every_list_starts_at_please_choose_with_nothing_chosen(client, world):
    page = text(client.get("/report", headers=EN))
    for name in SELECTS:
        options = select_html(page, name)
        assert options.startswith('<option value="">Please choose</option>'), name
        assert "selected" not in options, name


def test_required_fields_are_marked_for_eyes_and_for_screen_readers(client, world):
    page = text(client.get("/report", headers=EN))
    for name in REQUIRED:
        label = re.search(rf'<label for="{name}">(.*?)</label>', page, re.S).group(1)
        control = re.search(rf'<(?:input|select|textarea)[^>]*id="{name}"[^>]*>', page).group(0)
        assert "*" in label and 'aria-required="true"' in control, name
    for name in ("address", "invoice_date", "photos"):
        control = re.search(rf'<(?:input|select|textarea)[^>]*id="{name}"[^>]*>', page).group(0)
        assert "aria-required" not in control, name
    assert "Fields marked * are required." in page


def test_the_privacy_notice_and_the_consent_box_stay(client, world):
    page = text(client.get("/report", headers=EN))
    assert 'data-testid="privacy-notice"' in page and 'name="consent"' in page
    assert re.search(r'<input[^>]*name="consent"[^>]*>', page).group(0).count("checked") == 0


@pytest.mark.parametrize("left", SELECTS)
def test_a_list_left_at_please_choose_is_refused_and_everything_typed_is_kept(client, session, world, left):
    before = ticket_count(session)
    response = send(client, form(client, world, **{left: ""}))
    page = text(response)
    assert response.status_code == 200 and ticket_count(session) == before
    error = re.search(rf'data-testid="error-{left}">(.*?)</div>', page, re.S)
    assert error and "Choose one of the options." in error.group(1)
    assert "何美玲" in page and "广州市海珠区新港中路99号" in page and "热水器打不着火，显示E1" in page
    for name in set(SELECTS) - {left}:  # the other choices stay chosen
        assert "selected" in select_html(page, name), name


# --- /report: photos --------------------------------------------------------------------------------

def test_three_photos_are_stored_with_the_new_ticket(client, session, world):
    photos = [("灶台.jpg", JPEG), ("铭牌.png", PNG), ("IMG_0003.JPG", JPEG[:-1] + b"!")]
    response = send(client, form(client, world), photos)
    page = text(response)
    assert response.status_code == 200 and 'data-testid="receipt-number"' in page, page[-2000:]
    number = re.search(r'data-testid="receipt-number">([^<]+)<', page).group(1)
    ticket = session.scalar(select(Ticket).where(Ticket.number == number))
    stored = session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id)
                             .order_by(Attachment.id)).all()
    assert [(a.filename, a.content_type, a.data) for a in stored] == [
        ("灶台.jpg", "image/jpeg", JPEG), ("铭牌.png", "image/png", PNG),
        ("IMG_0003.JPG", "image/jpeg", JPEG[:-1] + b"!")]
    assert all(a.uploaded_by_id is None for a in stored)  # the customer sent them, no staff member


def test_a_report_without_photos_still_goes_through(client, session, world):
    before = ticket_count(session)
    response = send(client, form(client, world), [("", b"")])  # the browser's empty file part
    assert 'data-testid="receipt-number"' in text(response) and ticket_count(session) == before + 1


def test_a_fourth_photo_is_refused_with_a_message_and_nothing_typed_is_lost(client, session, world):
    before, attachments = ticket_count(session), session.scalar(select(func.count()).select_from(Attachment))
    response = send(client, form(client, world), [(f"{n}.jpg", JPEG) for n in range(4)])
    page = text(response)
    assert response.status_code == 200 and ticket_count(session) == before
    assert session.scalar(select(func.count()).select_from(Attachment)) == attachments
    assert "At most 3 photos" in re.search(r'data-testid="error-photos">(.*?)</div>', page, re.S).group(1)
    assert "何美玲" in page and "热水器打不着火，显示E1" in page and "selected" in select_html(page, "kind")


def test_photos_sent_with_a_mistake_elsewhere_are_asked_for_again(client, session, world):
    before = ticket_count(session)
    page = text(send(client, form(client, world, phone=""), [("1.jpg", JPEG)]))
    assert ticket_count(session) == before and 'data-testid="reselect-photos"' in page
    assert 'data-testid="reselect-photos"' not in text(send(client, form(client, world, phone="")))


def test_a_text_field_named_photos_is_no_file(client, session, world):
    before = ticket_count(session)
    response = client.post("/report", data={**form(client, world), "photos": "not a file"}, headers=EN)
    assert response.status_code == 200 and 'data-testid="receipt-number"' in text(response)
    assert ticket_count(session) == before + 1


@pytest.mark.parametrize(("name", "content", "says"), [
    ("发票.pdf", b"%PDF-1.4 invoice", "is not a photo"),
    ("renamed.jpg", b"MZ\x90\x00 an executable", "is not a photo"),
    ("empty.jpg", b"", "is empty"),
])
def test_a_file_that_is_no_photo_is_refused(client, session, world, name, content, says):
    before = ticket_count(session)
    page = text(send(client, form(client, world), [("ok.jpg", JPEG), (name, content)]))
    assert ticket_count(session) == before and says in page and name in page


def test_a_photo_larger_than_the_limit_is_refused(app, client, session, world):
    from backoffice import attachments

    before = ticket_count(session)
    big = JPEG + b"0" * attachments.MAX_BYTES
    app.config["MAX_CONTENT_LENGTH"] = 20 * 1024 * 1024  # the request passes; the photo check refuses
    page = text(send(client, form(client, world), [("big.jpg", big)]))
    assert ticket_count(session) == before and "big.jpg is larger than 5 MB" in page


# --- /track and the customer's link: no promise in the past --------------------------------------

def track(client, ticket):
    return text(client.post("/track", headers=EN, data={"csrf_token": csrf_token(client, "/track"),
                                                        "number": ticket.number, "phone": ticket.contact_phone}))


def status_card(page):
    return re.search(r'data-testid="track-result">(.*?)</div></div>', page, re.S).group(1)


def registered_ticket(session, *, due_in: timedelta):
    """A new ticket whose every clock falls due `due_in` from now (negative: already past)."""
    ticket = f.make_ticket(session, f.make_customer(session, f.make_outlet(session)))
    for clock in ticket.clocks:
        clock.due_at = utcnow() + due_in
    session.commit()
    return ticket


def test_a_promise_still_ahead_is_shown_with_its_time(client, session):
    ticket = registered_ticket(session, due_in=timedelta(hours=2))
    card = status_card(track(client, ticket))
    assert 'data-testid="track-promise"' in card and LOCAL_TIME.search(card)


def test_tracking_never_shows_a_promise_already_past(client, session):
    ticket = registered_ticket(session, due_in=-timedelta(hours=3))
    card = status_card(track(client, ticket))
    assert not LOCAL_TIME.search(card) and 'data-testid="track-promise"' not in card
    assert "taking longer than we said" in card and "Our service desk will contact you soon." in card


def test_the_customers_link_never_shows_a_promise_already_past(app, client, session):
    from backoffice import notifications

    ticket = registered_ticket(session, due_in=-timedelta(minutes=1))
    with app.app_context():
        token = notifications.tracking_token(ticket)
    session.commit()
    card = status_card(text(client.get(f"/t/{token}", headers=EN)))
    assert not LOCAL_TIME.search(card) and "taking longer than we said" in card


def test_a_past_first_response_shows_no_later_promise_either(client, session):
    """The earliest promise has passed: the next one's time is not offered in its place."""
    ticket = registered_ticket(session, due_in=timedelta(hours=30))
    first = min(ticket.clocks, key=lambda c: c.due_at)
    first.due_at = utcnow() - timedelta(minutes=5)
    session.commit()
    card = status_card(track(client, ticket))
    assert not LOCAL_TIME.search(card) and "taking longer than we said" in card


def test_while_we_wait_for_the_customer_the_page_says_so_and_promises_no_time(client, session):
    """A proposal waits for the customer's answer: the clocks are paused (R-SLA-3), their due
    times will move, so none is shown as a promise."""
    ticket = f.make_ticket(session, f.make_customer(session, f.make_outlet(session)), status="solution_proposed")
    session.commit()
    card = status_card(track(client, ticket))
    assert not LOCAL_TIME.search(card) and "call our hotline if you have not heard from us" in card
