"""Public doors: report a fault (/report) and track it (/track), no sign-in (R-TKT-1, R-TKT-2)."""
from datetime import timedelta

from sqlalchemy import func, select

from backoffice.timezones import local_today
from models import Customer, Ticket
from tests import factories as f
from tests.conftest import csrf_token


def form(client, **changes):
    data = {"csrf_token": csrf_token(client, "/report"), "name": "何美玲", "phone": "13711112222",
            "address": "广州市海珠区新港中路99号", "area": "urban", "model_code": "JSQ30-16B",
            "serial": "JSQ-WEB-0001", "invoice_date": (local_today() - timedelta(days=40)).isoformat(),
            "outlet_code": "SC-GZ", "kind": "repair", "fault": "热水器打不着火，显示E1", "website": ""}
    data.update(changes)
    return data


def tickets(session):
    return session.scalar(select(func.count()).select_from(Ticket))


def test_anyone_reports_a_fault_and_gets_a_receipt(client, session):
    before = tickets(session)
    response = client.post("/report", data=form(client))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="receipt-number"' in page
    ticket = session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
    assert tickets(session) == before + 1 and ticket.channel == "web" and ticket.number in page


def test_the_form_is_bilingual(client):
    assert "报修" in client.get("/report", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Report a fault" in client.get("/report", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_bad_input_is_explained_and_everything_typed_is_kept(client, session):
    before = tickets(session)
    response = client.post("/report", data=form(client, phone="not a phone", serial=""))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "is-invalid" in page
    assert "何美玲" in page and "广州市海珠区新港中路99号" in page and "热水器打不着火，显示E1" in page
    assert tickets(session) == before


def test_a_bot_filling_the_honeypot_stores_nothing(client, session):
    before = tickets(session)
    response = client.post("/report", data=form(client, website="http://spam.example"))
    assert response.status_code == 200 and tickets(session) == before
    assert session.scalar(select(Customer).where(Customer.phone == "13711112222")) is None


def test_reports_are_rate_limited_per_client(app, client, session):
    app.config["PUBLIC_RATE_LIMITS"] = {"report": (2, 60), "track": (30, 10)}
    for serial in ("W-1", "W-2"):
        assert client.post("/report", data=form(client, serial=serial)).status_code == 200
    response = client.post("/report", data=form(client, serial="W-3"))
    assert response.status_code == 429 and "热水器打不着火，显示E1" in response.get_data(as_text=True)


def test_report_without_csrf_token_is_refused(client, session):
    before = tickets(session)
    data = form(client)
    data.pop("csrf_token")
    assert client.post("/report", data=data).status_code == 400 and tickets(session) == before


def track(client, number, phone):
    return client.post("/track", data={"csrf_token": csrf_token(client, "/track"), "number": number,
                                       "phone": phone})


def test_tracking_shows_status_and_next_promised_time_only(client, session):
    ticket = f.ticket_of(session, "SC-GZ", status="registered")
    page = track(client, ticket.number, ticket.contact_phone).get_data(as_text=True)
    assert 'data-testid="track-result"' in page
    assert ticket.customer.name not in page and ticket.address not in page
    assert ticket.fault_description not in page


def test_wrong_phone_and_unknown_number_look_the_same(client, session):
    ticket = f.ticket_of(session, "SC-GZ")
    wrong = track(client, ticket.number, "13000000000").get_data(as_text=True)
    unknown = track(client, "SV20000101-0001", "13000000000").get_data(as_text=True)
    assert 'data-testid="track-not-found"' in wrong and 'data-testid="track-not-found"' in unknown
    assert 'data-testid="track-result"' not in wrong


def test_tracking_is_rate_limited(app, client, session):
    app.config["PUBLIC_RATE_LIMITS"] = {"report": (5, 60), "track": (3, 10)}
    for _ in range(3):
        track(client, "SV20000101-0001", "13000000000")
    refused = track(client, "SV20000101-0001", "13000000000")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(60 * app.config["PUBLIC_RATE_LIMITS"]["track"][1])
