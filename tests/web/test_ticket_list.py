"""Issue 18: the ticket list people work from. Saved filter tabs above it — mine (an engineer's:
assigned to him; the desk's: registered by the user), unassigned, overdue now, waiting for the
customer — each counting exactly the rows of the list it opens, under the user's row scope; the
ticket number links to the ticket's page; phones masked on the list (138****8000) but whole on the
ticket's page and in the desk's export; the fault cut short and the appointment in local time;
rows dense (table-sm) and the page size said "每页 20 条"."""
import re
from datetime import timedelta
from html import unescape

import pytest

from backoffice.timezones import format_local
from models import utcnow
from tests import factories as f
from tests.web.conftest import listed, overdue

TAB_RE = re.compile(r'<a class="nav-link[^"]*" href="([^"]+)" data-testid="tab-([a-z_]+)"([^>]*)>'
                    r'[^<]*<span[^>]*data-testid="tab-count-\2">([^<]+)</span>')
ROLES = ("clerk", "engineer_a", "dealer_a")
MINE = {"clerk": "registered_by_me", "engineer_a": "mine", "dealer_a": "registered_by_me"}


def tabs(page: str) -> dict[str, tuple[str, int, bool]]:
    """{tab: (its link, its count, whether it is the active one)} as the list shows them."""
    return {key: (unescape(url), int(n), "aria-current" in rest)
            for url, key, rest, n in TAB_RE.findall(page)}


def tab_counts(client) -> dict[str, int]:
    return {key: n for key, (_url, n, _active) in tabs(client.get("/admin/ticket/").get_data(as_text=True)).items()}


def row_of(page: str, number: str) -> str:
    """The HTML of the list row showing ticket `number`."""
    rows = [row for row in page.split("<tr>") if f">{number}<" in row]
    assert len(rows) == 1, number
    return rows[0]


def wait_for_customer(client, ticket):
    """The user takes the "waiting for the customer" step on the ticket's page (R-SLA-3)."""
    response = client.post(f"/admin/ticket/transition/wait_for_customer/?id={ticket.id}",
                           data={"csrf_token": client.csrf, "loaded_version": ticket.version_id,
                                 "note": "客户出差，下周再约"})
    assert response.status_code == 302


def make_work(session, world, role):
    """Tickets of outlet A that count as the user's own (registered by the desk user, assigned to
    the engineer), one unassigned, and one of outlet B that a dealer or engineer of A never sees.
    Returns (the user's own tickets, the unassigned one)."""
    user, customer = world[role], world["customer"]
    if role == "engineer_a":
        own = [f.make_ticket(session, customer, assigned_engineer=user) for _ in range(3)]
    else:
        own = [f.make_ticket(session, customer, actor=user) for _ in range(3)]
    overdue(own[0])
    spare = f.make_ticket(session, customer)  # unassigned, registered by nobody in particular
    f.make_ticket(session, f.make_customer(session, world["b"]))  # another outlet's
    session.commit()
    return own, spare


@pytest.mark.parametrize("role", ROLES)
def test_each_tab_counts_the_rows_of_the_list_it_opens(session, world, as_user, role):
    client = as_user(world[role])
    before = tab_counts(client)
    assert set(before) == {MINE[role], "unassigned", "overdue", "waiting_for_customer"}
    own, _spare = make_work(session, world, role)
    wait_for_customer(client, own[1])

    page = client.get("/admin/ticket/").get_data(as_text=True)
    shown = tabs(page)
    assert {key: listed(client, url) for key, (url, _n, _a) in shown.items()} == {
        key: n for key, (_url, n, _a) in shown.items()}
    after = {key: n for key, (_url, n, _a) in shown.items()}
    # Unassigned: the desk's own three and the spare; the center sees outlet B's too; an
    # engineer's own are assigned to him.
    unassigned = {"clerk": 5, "dealer_a": 4, "engineer_a": 1}[role]
    assert {key: after[key] - before[key] for key in after} == {
        MINE[role]: 3, "overdue": 1, "waiting_for_customer": 1, "unassigned": unassigned}


@pytest.mark.parametrize("role", ROLES)
def test_the_tab_whose_list_is_shown_is_marked(session, world, as_user, role):
    client = as_user(world[role])
    assert not any(active for _url, _n, active in tabs(client.get("/admin/ticket/").get_data(as_text=True)).values())
    for key, (url, _n, _active) in tabs(client.get("/admin/ticket/").get_data(as_text=True)).items():
        marked = [k for k, (_u, _n, active) in tabs(client.get(url).get_data(as_text=True)).items() if active]
        assert marked == [key], url


def test_mine_means_assigned_for_an_engineer_and_registered_for_the_desk(session, world, as_user):
    clerk, engineer = world["clerk"], world["engineer_a"]
    ticket = f.make_ticket(session, world["customer"], actor=clerk, assigned_engineer=engineer)
    session.commit()
    for user, key in ((clerk, "registered_by_me"), (engineer, "mine")):
        client = as_user(user)
        url = tabs(client.get("/admin/ticket/").get_data(as_text=True))[key][0]
        assert ticket.number in client.get(url).get_data(as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_the_number_links_to_the_ticket_page(session, world, as_user, role):
    (ticket, *_), _spare = make_work(session, world, role)
    client = as_user(world[role])
    row = row_of(client.get("/admin/ticket/").get_data(as_text=True), ticket.number)
    link = re.search(rf'<td[^>]* class="col-number">\s*<a href="([^"]+)">{ticket.number}</a>', row)
    assert link, row
    href = unescape(link.group(1))
    assert href.startswith(f"/admin/ticket/details/?id={ticket.id}&url="), href  # and back to this list
    page = client.get(href)
    assert page.status_code == 200 and ticket.number in page.get_data(as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_phones_are_masked_on_the_list_and_whole_on_the_ticket_page(session, world, as_user, role):
    ticket = f.make_ticket(session, world["customer"], contact_phone="13800138000",
                           assigned_engineer=world["engineer_a"])
    session.commit()
    client = as_user(world[role])
    listing = client.get("/admin/ticket/").get_data(as_text=True)
    row = row_of(listing, ticket.number)
    assert re.search(r'<td[^>]* class="col-contact_phone">\s*138\*\*\*\*8000\s*</td>', row), row
    assert "13800138000" not in listing and world["customer"].phone not in listing
    assert "13800138000" in client.get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)


def test_the_desks_export_keeps_the_whole_phone(session, world, as_user):
    """An export is a deliberate act of the desk (its roles alone may): the phone is whole there."""
    ticket = f.make_ticket(session, world["customer"], contact_phone="13800138000")
    session.commit()
    csv = as_user(world["clerk"]).get("/admin/ticket/export/csv/", query_string={"search": ticket.number})
    assert "13800138000" in csv.get_data(as_text=True)


def test_the_row_shows_the_fault_cut_short_and_the_appointment_in_local_time(session, world, as_user):
    fault = "燃气热水器点火后三秒熄火，显示E1故障代码，已更换电池仍然不行"
    at = utcnow().replace(second=0, microsecond=0) + timedelta(days=1)
    ticket = f.make_ticket(session, world["customer"], fault_description=fault, appointment_at=at,
                           assigned_engineer=world["engineer_a"])
    session.commit()
    row = row_of(as_user(world["clerk"]).get("/admin/ticket/").get_data(as_text=True), ticket.number)
    cell = re.search(r'<td[^>]* class="col-fault_description">\s*(.*?)\s*</td>', row, re.S).group(1)
    assert cell == f'<span title="{fault}">{fault[:14]}…</span>'
    assert re.search(rf'<td[^>]* class="col-appointment_at">\s*{format_local(at)}\s*</td>', row), row
    engineer = world["engineer_a"]
    # the engineer's name, no "(username)"
    assert re.search(rf'<td[^>]* class="col-assigned_engineer">\s*{engineer.full_name}\s*</td>', row), row


def test_rows_are_dense_and_the_page_size_is_said_per_page(session, world, as_user):
    client = as_user(world["clerk"])
    page = client.get("/admin/ticket/").get_data(as_text=True)
    assert "table table-sm" in page
    assert re.search(r'data-testid="page-size">\s*每页 20 条\s*<', page), "the page size menu in Chinese"
    assert "每页 50 条" in page and "20 items" not in page and "项目" not in page
    world["clerk"].locale = "en"
    session.commit()
    assert "20 per page" in as_user(world["clerk"]).get("/admin/ticket/").get_data(as_text=True)


def test_tab_counts_are_one_statement(session, world, as_user, statements):
    """All four counts in one statement, beside the menu's (backoffice.dashboard.queue_counts)."""
    client = as_user(world["clerk"])
    statements.clear()
    client.get("/admin/ticket/").get_data()
    counting = [s for s in statements if "paused_since IS NOT NULL" in s]
    assert len(counting) == 1, counting
    assert "registered_by_id =" in counting[0] and "assigned_engineer_id IS NULL" in counting[0]


def test_each_cell_carries_its_column_title_for_the_phone_cards(session, world, as_user):
    """On a phone a row is a card, each cell a line with its column's title before it (issue 18:
    static/css/backoffice.css draws the title from the cell's data-label)."""
    ticket = f.make_ticket(session, world["customer"], assigned_engineer=world["engineer_a"])
    session.commit()
    page = as_user(world["clerk"]).get("/admin/ticket/").get_data(as_text=True)
    head = page[page.index("<thead>"):page.index("</thead>")]
    titles = [unescape(re.sub(r"<[^>]+>", "", cell)).strip()
              for cell in re.findall(r'<th class="column-header[^"]*">(.*?)</th>', head, re.S)]
    cells = re.findall(r'<td data-label="([^"]*)" class="col-', row_of(page, ticket.number))
    assert [unescape(label) for label in cells] == titles and "服务单号" in titles
