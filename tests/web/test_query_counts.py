"""Lists load what a row shows together with the rows (Flask-Admin joins the related columns it
lists): the statement count does not grow with the page size (no N+1), on every list screen."""
import pytest

from tests.web.test_smoke_every_page import ENDPOINTS


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_list_statement_count_does_not_grow_with_rows(login_as, statements, endpoint):
    admin = login_as("admin")
    statements.clear()
    admin.get(f"/admin/{endpoint}/?page_size=20").get_data()
    small = len(statements)
    statements.clear()
    admin.get(f"/admin/{endpoint}/?page_size=100").get_data()
    assert len(statements) <= small + 1, statements[small:]


def _export_tickets(session, outlet, n, codes, part):
    """n tickets of `outlet`, each with what the export's extra columns read: a unit, fault /
    cause / remedy codes, a causal part, the ticket it repeats and a return visit done."""
    from datetime import timedelta

    from models import ReturnVisit, utcnow
    from tests import factories as f

    previous = None
    for _ in range(n):
        customer = f.make_customer(session, outlet)
        ticket = f.make_ticket(session, customer, unit=f.make_unit(session, customer))
        ticket.fault_code, ticket.cause_code, ticket.remedy_code = codes
        ticket.causal_part, ticket.repeat_of = part, previous
        session.add(ReturnVisit(ticket=ticket, due_at=utcnow(), done_at=utcnow() - timedelta(hours=1), satisfaction=5))
        previous = ticket
    session.commit()


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_ticket_export_statement_count_does_not_grow_with_rows(app, login_as, session, statements, kind):
    """Issue 15: the export's extra columns come with each batch, not one query per ticket."""
    from models import Ticket
    from tests import factories as f
    from tests.web.test_ticket_export import filter_arg

    outlet = f.make_outlet(session)
    codes = tuple(f.make_fault_code(session, kind=k) for k in ("fault", "cause", "remedy"))
    part = f.make_part(session)
    session.commit()  # SQLite: the sign-in below writes too
    url = f"/admin/ticket/export/{kind}/?flt0_{filter_arg(app, Ticket.outlet_id)}={outlet.id}"
    admin = login_as("admin")
    counted = []
    for more in (20, 40):  # 20 rows, then 60: both within one batch (EXPORT_BATCH_ROWS)
        _export_tickets(session, outlet, more, codes, part)
        statements.clear()
        response = admin.get(url)
        assert response.status_code == 200
        response.get_data()  # the CSV streams: its rows are read while the body is sent
        counted.append(len(statements))
    assert counted[0] == counted[1], statements
