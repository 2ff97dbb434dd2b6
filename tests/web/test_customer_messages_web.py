"""Customers hear about their service (R-NTF-1, issue 17) from every door a report comes in by —
the clerk's intake, the public form, the channel API — only when they agree (PIPL); and the
link in their messages opens their ticket's public status and the return-visit survey."""
import re
from datetime import timedelta

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from backoffice import notifications
from backoffice.timezones import local_today
from models import Customer, OutboxMessage, ReturnVisit, Ticket
from tests import factories as f
from tests.conftest import csrf_token

INVOICE = (local_today() - timedelta(days=40)).isoformat()


def text(response):
    return response.get_data(as_text=True)


def receipts(session, phone) -> list[OutboxMessage]:
    customer = session.scalar(select(Customer).where(Customer.phone == phone))
    if customer is None:
        return []
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == customer.id,
                                                            OutboxMessage.template == "receipt")))


def phone() -> str:
    return f"1361234{f.next_number():04d}"


def token_of(app, ticket) -> str:
    with app.app_context():
        return notifications.tracking_token(ticket.id)


# --- consent at each door -----------------------------------------------------------------------

def intake_form(clerk, outlet, caller, **changes):
    data = {"csrf_token": clerk.csrf, "customer.phone": caller, "customer_id": "", "customer.name": "钟丽华",
            "customer.area": "urban", "customer.address": "广州市海珠区新港中路99号",
            "unit.model_code": "JSQ30-16B", "unit.serial": f"JSQ-MSG-{caller}", "unit.invoice_date": INVOICE,
            "kind": "repair", "category": "quality", "channel": "hotline", "fault": "热水器打不着火",
            "outlet_id": str(outlet.id)}
    data.update(changes)
    return data


def test_the_clerk_ticks_the_consent_box_and_the_receipt_is_queued(as_user, session):
    outlet, clerk = f.make_outlet(session), f.make_user(session, "clerk")
    session.commit()
    client, caller = as_user(clerk), phone()
    assert 'name="consent"' in text(client.get("/admin/intake/"))
    response = client.post("/admin/intake/", data=intake_form(client, outlet, caller, consent="y"))
    assert response.status_code == 302
    [message] = receipts(session, caller)
    ticket = session.get(Ticket, message.ticket_id)
    assert ticket.number in message.body and message.recipient == caller
    assert session.scalar(select(Customer.notify_consent_source).where(Customer.phone == caller)) == "hotline"


def test_without_the_box_ticked_the_clerk_registers_and_nothing_is_queued(as_user, session):
    outlet, clerk = f.make_outlet(session), f.make_user(session, "clerk")
    session.commit()
    client, caller = as_user(clerk), phone()
    assert client.post("/admin/intake/", data=intake_form(client, outlet, caller)).status_code == 302
    assert session.scalar(select(Customer).where(Customer.phone == caller)) is not None
    assert receipts(session, caller) == []


def report_form(client, outlet, caller, **changes):
    data = {"csrf_token": csrf_token(client, "/report"), "name": "何美玲", "phone": caller, "address": "",
            "area": "urban", "model_code": "JSQ30-16B", "serial": f"JSQ-WEB-{caller}", "invoice_date": INVOICE,
            "outlet_code": outlet.code, "kind": "repair", "fault": "热水器打不着火，显示E1", "website": ""}
    data.update(changes)
    return data


def test_the_public_form_asks_for_consent_with_a_privacy_notice(client):
    page = text(client.get("/report"))
    assert 'name="consent"' in page and 'data-testid="privacy-notice"' in page
    box = re.search(r'<input[^>]*name="consent"[^>]*>', page).group(0)
    assert 'type="checkbox"' in box and "checked" not in box  # asked, never assumed


def test_a_web_report_with_consent_queues_the_receipt(client, session):
    outlet = f.make_outlet(session)
    session.commit()
    caller = phone()
    assert client.post("/report", data=report_form(client, outlet, caller, consent="y")).status_code == 200
    [message] = receipts(session, caller)
    assert session.get(Ticket, message.ticket_id).channel == "web"
    other = phone()
    assert client.post("/report", data=report_form(client, outlet, other)).status_code == 200
    assert receipts(session, other) == []


@pytest.fixture
def token(app):
    result = app.test_cli_runner().invoke(args=["create-api-token", "--channel", "wechat", "--name", "公众号"])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def api_body(outlet, caller, **changes):
    return {"kind": "repair", "fault": "点不着火", "customer": {"name": "王芳", "phone": caller},
            "unit": {"model_code": "JSQ24-12A", "serial": f"SN-API-{caller}", "invoice_date": INVOICE,
                     "outlet_code": outlet.code}, **changes}


def test_the_api_with_consent_true_queues_the_receipt(client, token, session):
    outlet = f.make_outlet(session)
    session.commit()
    caller = phone()
    response = client.post("/api/v1/tickets", json=api_body(outlet, caller, consent=True),
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.json
    [message] = receipts(session, caller)
    assert response.json["number"] in message.body
    assert session.scalar(select(Customer.notify_consent_source).where(Customer.phone == caller)) == "wechat"


@pytest.mark.parametrize("consent", ["yes", 1, [], {}])
def test_the_api_refuses_a_consent_that_is_not_a_boolean(client, token, session, consent):
    outlet = f.make_outlet(session)
    session.commit()
    caller = phone()
    response = client.post("/api/v1/tickets", json=api_body(outlet, caller, consent=consent),
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422 and "consent" in response.json["fields"]
    assert session.scalar(select(Customer).where(Customer.phone == caller)) is None


def test_the_openapi_document_describes_consent(client):
    from openapi_spec_validator import validate

    document = client.get("/api/v1/openapi.json").json
    validate(document)
    assert document["components"]["schemas"]["NewTicket"]["properties"]["consent"]["type"] == "boolean"


# --- the customer's link ----------------------------------------------------------------------

def test_the_link_shows_the_tickets_number_and_status_and_nothing_else(app, client, session):
    customer = f.make_customer(session, f.make_outlet(session))
    ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer))
    session.commit()
    response = client.get(f"/t/{token_of(app, ticket)}", headers={"Accept-Language": "en"})
    page = text(response)
    assert response.status_code == 200 and 'data-testid="track-result"' in page
    assert ticket.number in page and "Registered" in page
    assert customer.name not in page and customer.phone not in page and ticket.fault_description not in page


def test_the_link_page_is_chinese_by_default(app, client, session):
    customer = f.make_customer(session, f.make_outlet(session))
    ticket = f.make_ticket(session, customer)
    session.commit()
    assert "服务单号" in text(client.get(f"/t/{token_of(app, ticket)}"))


def forged_tokens(app, ticket):
    good = token_of(app, ticket)
    other_secret = URLSafeSerializer("another-secret", salt="track").dumps(ticket.id)
    with app.app_context():
        gone = notifications.tracking_token(2_000_000_000)
    wrong_type = URLSafeSerializer(app.config["SECRET_KEY"], salt="track").dumps("1")
    return [good[:-1] + ("A" if good[-1] != "A" else "B"), "abc", "MQ", other_secret, gone, wrong_type,
            "x" * 5000, "%E2%9C%93.abc", "..", str(ticket.id)]


def test_a_forged_or_mangled_link_is_not_found_never_an_error(app, client, session):
    customer = f.make_customer(session, f.make_outlet(session))
    ticket = f.make_ticket(session, customer)
    session.commit()
    for bad in forged_tokens(app, ticket):
        for url in (f"/t/{bad}", f"/t/{bad}/survey"):
            response = client.get(url)
            assert response.status_code == 404, (url, response.status_code)
            assert ticket.number not in text(response)
        assert 'data-testid="track-not-found"' in text(client.get(f"/t/{bad}"))


# --- the survey -------------------------------------------------------------------------------

def survey(client, url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data},
                       headers={"Accept-Language": "en"})


def resolved_ticket(session):
    customer = f.make_customer(session, f.make_outlet(session))
    ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer), status="resolved")
    session.commit()
    return ticket


def visits(session, ticket) -> list[tuple]:
    session.expire_all()
    return [(v.satisfaction, v.comment, v.visitor_id, v.done_at is not None) for v in session.scalars(
        select(ReturnVisit).where(ReturnVisit.ticket_id == ticket.id))]


def test_the_survey_records_the_rating_on_the_due_visit_and_a_second_answer_does_not_overwrite(
        app, client, session):
    ticket = resolved_ticket(session)
    link = f"/t/{token_of(app, ticket)}"
    assert 'data-testid="survey-link"' in text(client.get(link))
    assert 'data-testid="survey-form"' in text(client.get(f"{link}/survey"))
    response = survey(client, f"{link}/survey", satisfaction="4", comment="师傅准时，服务好")
    assert response.status_code == 200 and 'data-testid="survey-thanks"' in text(response)
    assert visits(session, ticket) == [(4, "师傅准时，服务好", None, True)]
    assert session.get(Ticket, ticket.id).status == "return_visit"
    again = client.post(f"{link}/survey", data={"csrf_token": csrf_token(client, link), "satisfaction": "1"})
    assert again.status_code == 200 and 'data-testid="survey-already"' in text(again)
    assert visits(session, ticket) == [(4, "师傅准时，服务好", None, True)]
    assert 'data-testid="survey-link"' not in text(client.get(link))


def test_a_survey_without_a_rating_is_explained_and_records_nothing(app, client, session):
    ticket = resolved_ticket(session)
    url = f"/t/{token_of(app, ticket)}/survey"
    response = survey(client, url, comment="还行")
    assert response.status_code == 200 and "Choose from 1" in text(response) and "还行" in text(response)
    response = survey(client, url, satisfaction="9")
    assert response.status_code == 200 and "Choose from 1" in text(response)
    assert visits(session, ticket) == [(None, "", None, False)]


def test_nothing_to_rate_before_the_service_is_done(app, client, session):
    customer = f.make_customer(session, f.make_outlet(session))
    ticket = f.make_ticket(session, customer)
    session.commit()
    url = f"/t/{token_of(app, ticket)}/survey"
    response = survey(client, url, satisfaction="5")
    assert response.status_code == 200 and 'data-testid="survey-not-due"' in text(response)
    assert visits(session, ticket) == []


def test_the_survey_is_rate_limited_per_client(app, client, session):
    app.config["PUBLIC_RATE_LIMITS"] = {**app.config["PUBLIC_RATE_LIMITS"], "survey": (2, 60)}
    ticket = resolved_ticket(session)
    url = f"/t/{token_of(app, ticket)}/survey"
    for _ in range(2):
        assert survey(client, url, satisfaction="").status_code == 200
    assert survey(client, url, satisfaction="5").status_code == 429
    assert visits(session, ticket) == [(None, "", None, False)]


def test_the_survey_without_csrf_token_is_refused(app, client, session):
    ticket = resolved_ticket(session)
    url = f"/t/{token_of(app, ticket)}/survey"
    assert client.post(url, data={"satisfaction": "5"}).status_code == 400
    assert visits(session, ticket) == [(None, "", None, False)]


def test_the_receipts_link_opens_the_ticket(app, client, session):
    """The journey of issue 17: registered with consent, the receipt's link shows the ticket."""
    outlet = f.make_outlet(session)
    session.commit()
    caller = phone()
    client.post("/report", data=report_form(client, outlet, caller, consent="y"))
    [message] = receipts(session, caller)
    path = re.search(r"https?://[^/]+(/t/\S+)", message.body).group(1)
    page = text(client.get(path))
    assert session.get(Ticket, message.ticket_id).number in page
