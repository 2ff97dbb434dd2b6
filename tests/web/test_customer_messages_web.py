"""Customers hear about their service (R-NTF-1, issue 17) from every door a report comes in by —
the clerk's intake, the public form, the channel API — only when they agree (PIPL); and the
link in their messages opens their ticket's public status, the return-visit survey and the button
that stops the messages. An anonymous door never undoes an opt-out."""
import re
from datetime import timedelta

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import object_session

from backoffice import notifications
from backoffice.timezones import local_today
from models import Customer, OutboxMessage, ReturnVisit, Ticket, utcnow
from tests import factories as f
from tests.conftest import csrf_token
from tests.web.test_forms_per_role import FormPage

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
    """The ticket's link token, made as a message would make it; committed."""
    with app.app_context():
        token = notifications.tracking_token(ticket)
    object_session(ticket).commit()
    return token


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
    signed_id = URLSafeSerializer(app.config["SECRET_KEY"], salt="track").dumps(ticket.id)  # the old scheme
    return [good[:-1] + ("A" if good[-1] != "A" else "B"), good.upper() if good.upper() != good else good.lower(),
            good + "x", "abc", "MQ", signed_id, "x" * 5000, "x" * 33, "%E2%9C%93.abc", "..",
            str(ticket.id), "a%20b", "'; DROP TABLE ticket; --"]


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
        stop = client.post(f"/t/{bad}/stop", data={"csrf_token": csrf_token(client, "/track")})
        assert stop.status_code == 404


def test_a_ticket_without_a_token_has_no_link(client, session):
    """Tokens are made when a message needs one; a ticket never told about has none to guess."""
    customer = f.make_customer(session, f.make_outlet(session))
    ticket = f.make_ticket(session, customer)
    session.commit()
    assert ticket.tracking_token is None
    assert client.get("/t/None").status_code == 404 and client.get("/t/").status_code == 404


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


# --- PIPL: an anonymous door never undoes an opt-out; the link's page stops the messages ---------

def opted_out(session, outlet) -> Customer:
    customer = f.make_customer(session, outlet, name="何美玲")
    notifications.record_consent(customer, "hotline", verified=True)
    session.flush()
    notifications.record_opt_out(session, customer)
    session.commit()
    return customer


def consent_of(session, customer) -> tuple:
    session.expire_all()
    found = session.get(Customer, customer.id)
    return found.notify_consent_source, found.notify_opt_out_at is not None, notifications.may_tell(found)


def test_the_public_form_with_a_known_phone_does_not_undo_an_opt_out(client, session):
    outlet = f.make_outlet(session)
    customer = opted_out(session, outlet)
    response = client.post("/report", data=report_form(client, outlet, customer.phone, consent="y"))
    assert response.status_code == 200 and 'data-testid="receipt-number"' in text(response)
    assert consent_of(session, customer) == ("hotline", True, False)
    assert receipts(session, customer.phone) == []


def test_the_api_with_a_known_phone_does_not_undo_an_opt_out(client, token, session):
    outlet = f.make_outlet(session)
    customer = opted_out(session, outlet)
    body = api_body(outlet, customer.phone, consent=True)
    body["customer"]["name"] = customer.name
    response = client.post("/api/v1/tickets", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.json
    assert consent_of(session, customer) == ("hotline", True, False)
    assert receipts(session, customer.phone) == []


def told_ticket(session):
    """A ticket of a customer who agreed, with a message still queued; committed."""
    customer = f.make_customer(session, f.make_outlet(session))
    notifications.record_consent(customer, "hotline", verified=True)
    ticket = f.make_ticket(session, customer)
    notifications.tell_customer(session, ticket, "receipt", key="stop")
    session.commit()
    return ticket


def stop(client, link):
    return client.post(f"{link}/stop", data={"csrf_token": csrf_token(client, link)},
                       headers={"Accept-Language": "en"})


def test_the_customer_stops_the_messages_with_one_button_on_the_link_page(app, client, session):
    with app.app_context():
        ticket = told_ticket(session)
    link = f"/t/{ticket.tracking_token}"
    page = text(client.get(link, headers={"Accept-Language": "en"}))
    assert 'data-testid="stop-messages"' in page and "Stop service messages" in page
    response = stop(client, link)
    assert response.status_code == 200 and 'data-testid="messages-stopped"' in text(response)
    assert ticket.number in text(response)
    session.expire_all()
    customer = session.get(Customer, ticket.customer_id)
    assert customer.notify_opt_out_at is not None and not notifications.may_tell(customer)
    [queued] = session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)).all()
    assert (queued.status, queued.last_error) == ("failed", notifications.OPTED_OUT)
    assert 'data-testid="stop-messages"' not in text(client.get(link))  # nothing left to stop


def test_stopping_twice_keeps_the_first_opt_out(app, client, session):
    with app.app_context():
        ticket = told_ticket(session)
    link = f"/t/{ticket.tracking_token}"
    stop(client, link)
    first = session.get(Customer, ticket.customer_id).notify_opt_out_at
    assert stop(client, link).status_code == 200
    session.expire_all()
    assert session.get(Customer, ticket.customer_id).notify_opt_out_at == first


def test_stopping_without_csrf_token_is_refused(app, client, session):
    with app.app_context():
        ticket = told_ticket(session)
    assert client.post(f"/t/{ticket.tracking_token}/stop").status_code == 400
    session.expire_all()
    assert notifications.may_tell(session.get(Customer, ticket.customer_id))


def test_stopping_is_rate_limited_per_client(app, client, session):
    app.config["PUBLIC_RATE_LIMITS"] = {**app.config["PUBLIC_RATE_LIMITS"], "stop": (1, 60)}
    with app.app_context():
        ticket, other = told_ticket(session), told_ticket(session)
    assert stop(client, f"/t/{ticket.tracking_token}").status_code == 200
    assert stop(client, f"/t/{other.tracking_token}").status_code == 429
    session.expire_all()
    assert notifications.may_tell(session.get(Customer, other.customer_id))


def test_the_archive_form_can_record_consent_again_after_an_opt_out(as_user, session):
    """Staff took the customer's word: the archive's consent box undoes an opt-out (PIPL)."""
    outlet = f.make_outlet(session)
    customer, clerk = opted_out(session, outlet), f.make_user(session, "clerk")
    session.commit()
    client, url = as_user(clerk), f"/admin/customer/edit/?id={customer.id}"
    before = utcnow()
    saved = client.post(url, data={**FormPage(text(client.get(url))).values, "notify_consent": "y"})
    assert saved.status_code == 302, text(saved)[:2000]
    session.expire_all()
    found = session.get(Customer, customer.id)
    assert found.notify_opt_out_at is None and found.notify_consent_source == "archive"
    assert found.notify_consent_at >= before
