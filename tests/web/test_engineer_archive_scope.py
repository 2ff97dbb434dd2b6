"""R-ROLE-3: engineers see the customers and units of the tickets they may
see (assigned to them, or unassigned in their queue outlets) — in lists, details, search, ajax
lookups and exports — and no others."""
import pytest

from models.choices import Role
from tests import factories as f
from tests.conftest import csrf_token, login


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def world(session):
    a, b = f.make_outlet(session), f.make_outlet(session)
    engineer = f.make_user(session, Role.ENGINEER, outlet=a)
    queued = f.make_customer(session, a)  # an unassigned ticket in the engineer's queue outlet
    f.make_ticket(session, queued, unit=f.make_unit(session, queued))
    assigned = f.make_customer(session, b)  # served by another outlet, but his ticket is assigned to him
    f.make_ticket(session, assigned, unit=f.make_unit(session, assigned), outlet=a, assigned_engineer=engineer)
    stranger = f.make_customer(session, b)  # another outlet's unassigned ticket
    f.make_ticket(session, stranger, unit=f.make_unit(session, stranger))
    no_ticket = f.make_customer(session, a)  # in his own outlet, but no ticket at all
    f.make_unit(session, no_ticket)
    session.commit()
    return dict(engineer=engineer, queued=queued, assigned=assigned, stranger=stranger, no_ticket=no_ticket)


@pytest.fixture
def engineer(app, world):
    client = app.test_client()
    assert login(client, world["engineer"].username).status_code == 302
    client.csrf = csrf_token(client, "/admin/")
    return client


def test_engineer_customer_list_holds_only_customers_of_his_tickets(engineer, world):
    page = text(engineer.get("/admin/customer/?page_size=500"))
    assert world["queued"].phone in page and world["assigned"].phone in page
    assert world["stranger"].phone not in page and world["no_ticket"].phone not in page


def test_engineer_cannot_open_another_outlets_customer_by_id(engineer, world):
    assert engineer.get(f"/admin/customer/details/?id={world['stranger'].id}").status_code in (302, 404)
    assert engineer.get(f"/admin/customer/details/?id={world['assigned'].id}").status_code == 200


def test_engineer_search_spans_only_his_tickets_customers(engineer, world):
    assert world["stranger"].name not in text(engineer.get(f"/admin/customer/?search={world['stranger'].phone}"))
    assert world["queued"].name in text(engineer.get(f"/admin/customer/?search={world['queued'].phone}"))


def test_engineer_unit_list_holds_only_units_of_his_tickets(engineer, world):
    page = text(engineer.get("/admin/unit/?page_size=500"))
    assert world["queued"].units[0].serial in page and world["assigned"].units[0].serial in page
    assert world["stranger"].units[0].serial not in page and world["no_ticket"].units[0].serial not in page


def test_engineer_ajax_lookup_finds_no_other_customers(engineer, world):
    for endpoint in ("/admin/ticket/ajax/lookup/", "/admin/unit/ajax/lookup/"):
        response = engineer.get(f"{endpoint}?name=customer&query={world['stranger'].phone}")
        assert world["stranger"].name not in text(response)


def test_engineer_exports_hold_no_other_customers(engineer, world):
    for url in ("/admin/customer/export/csv/", "/admin/unit/export/csv/", "/admin/ticket/export/csv/"):
        response = engineer.get(url)
        assert response.status_code in (200, 302, 403)
        assert world["stranger"].name not in text(response) and world["no_ticket"].name not in text(response)


def test_center_engineer_keeps_the_customers_of_the_unassigned_queue(app, world, session):
    center = f.make_user(session, Role.ENGINEER)  # no outlet: the center's, every unassigned ticket
    session.commit()
    client = app.test_client()
    assert login(client, center.username).status_code == 302
    page = text(client.get("/admin/customer/?page_size=500"))
    assert world["stranger"].phone in page and world["queued"].phone in page
    assert world["assigned"].phone not in page and world["no_ticket"].phone not in page
