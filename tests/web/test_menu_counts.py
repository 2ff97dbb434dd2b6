"""Issue 15: queue counts beside the queue links in the menu — for the signed-in user, under the
row scope, by the rule of the list each link opens (backoffice.dashboard.queue_counts), read once
per request."""
import re

from tests import factories as f
from tests.web.conftest import listed, overdue


def badges(page: str) -> dict[str, tuple[str, int]]:
    """{queue: (the link's address, the badge's count)} as the menu shows them."""
    found = re.findall(r'href="([^"]+)"[^>]*>\s*[^<]*<span[^>]*data-testid="menu-count-([a-z_]+)">(\d+)</span>', page)
    return {key: (url.replace("&amp;", "&"), int(n)) for url, key, n in found}


def counts(client) -> dict[str, int]:
    return {key: n for key, (_url, n) in badges(client.get("/admin/").get_data(as_text=True)).items()}


def assert_badges_equal_their_lists(client) -> dict[str, int]:
    shown = badges(client.get("/admin/").get_data(as_text=True))
    assert {key: listed(client, url) for key, (url, _n) in shown.items()} == {
        key: n for key, (_url, n) in shown.items()}
    return {key: n for key, (_url, n) in shown.items()}


def test_clerk_sees_each_queue_count_and_its_list_holds_as_many_rows(session, world, as_user):
    client = as_user(world["clerk"])
    before = counts(client)
    assert set(before) == {"mine", "unassigned", "overdue", "complaints_awaiting_answer"}
    f.make_ticket(session, world["customer"])
    f.make_ticket(session, world["customer"], kind="complaint")
    overdue(f.make_ticket(session, world["customer"], assigned_engineer=world["engineer_a"]))
    session.commit()
    after = assert_badges_equal_their_lists(client)
    assert {key: after[key] - before[key] for key in after} == {
        "mine": 0, "unassigned": 2, "overdue": 1, "complaints_awaiting_answer": 1}


def test_engineer_counts_his_tickets_and_his_outlets_unassigned_ones(session, world, as_user):
    engineer = world["engineer_a"]
    f.make_ticket(session, world["customer"], assigned_engineer=engineer)
    overdue(f.make_ticket(session, world["customer"], assigned_engineer=engineer))
    f.make_ticket(session, world["customer"], assigned_engineer=engineer, status="closed")  # not in "mine"
    f.make_ticket(session, world["customer"])  # unassigned at his outlet
    f.make_ticket(session, world["customer"], assigned_engineer=world["center_engineer"])  # someone else's
    f.make_ticket(session, f.make_customer(session, world["b"]))  # another outlet's queue
    session.commit()
    client = as_user(engineer)
    assert assert_badges_equal_their_lists(client) == {"mine": 2, "unassigned": 1, "overdue": 1}


def test_manager_sees_the_approvals_to_decide_count(session, world, as_user):
    client = as_user(world["manager"])
    before = counts(client)
    assert "approvals_to_decide" in before
    f.make_refund_request(session, world)
    session.commit()
    after = assert_badges_equal_their_lists(client)
    assert after["approvals_to_decide"] == before["approvals_to_decide"] + 1


def test_dealer_counts_its_outlets_queues_only(session, world, as_user):
    f.make_ticket(session, world["customer"])
    f.make_ticket(session, world["customer"], kind="complaint")
    overdue(f.make_ticket(session, world["customer"], assigned_engineer=world["engineer_a"]))
    session.commit()
    client = as_user(world["dealer_a"])
    assert assert_badges_equal_their_lists(client) == {"unassigned": 2, "overdue": 1, "complaints_awaiting_answer": 1}


def test_another_outlets_tickets_do_not_change_the_dealers_badges(session, world, as_user):  # R-ROLE-1
    client = as_user(world["dealer_a"])
    before = counts(client)
    elsewhere = f.make_customer(session, world["b"])
    f.make_ticket(session, elsewhere)
    f.make_ticket(session, elsewhere, kind="complaint")
    overdue(f.make_ticket(session, elsewhere, assigned_engineer=world["engineer_b"]))
    session.commit()
    assert counts(client) == before
    assert counts(as_user(world["dealer_b"])) == {"unassigned": 2, "overdue": 1, "complaints_awaiting_answer": 1}


def test_the_badge_says_its_count_in_words_to_a_screen_reader(session, world, as_user):
    world["dealer_a"].locale = "en"
    f.make_ticket(session, world["customer"])
    session.commit()
    page = as_user(world["dealer_a"]).get("/admin/").get_data(as_text=True)
    assert re.search(r'aria-hidden="true" data-testid="menu-count-unassigned">1</span>'
                     r'<span class="sr-only">\(1 in this queue\)</span>', page)



def test_the_counts_are_read_once_per_page(world, as_user, statements):
    client = as_user(world["manager"])
    statements.clear()
    client.get("/admin/customer/").get_data()
    assert sum("FROM ticket" in s for s in statements) == 1  # every ticket queue, in one statement
    assert sum("FROM approval_request" in s for s in statements) == 1
    statements.clear()
    client.get("/admin/").get_data()  # the home page's figure and the badge share the count
    assert sum("FROM approval_request WHERE approval_request.status" in " ".join(s.split())
               for s in statements) == 1


def test_a_page_without_the_menu_counts_nothing(app, statements):
    statements.clear()
    app.test_client().get("/login").get_data()
    assert not any("FROM ticket" in s for s in statements)


# --- the menu is drawn once per role, language and page (views/menu.py, issue 16) ----------------

def menu_of(page: str) -> str:
    start = page.index('<ul class="nav navbar-nav mr-auto">')
    return page[start:page.index("navbar-right", start)]


def test_each_role_keeps_its_own_menu_on_the_same_page(world, as_user):
    menus = {role: menu_of(as_user(world[role]).get("/admin/ticket/").get_data(as_text=True))
             for role in ("manager", "clerk", "dealer_a")}
    assert 'data-testid="menu-count-approvals_to_decide"' in menus["manager"]
    assert 'data-testid="menu-count-approvals_to_decide"' not in menus["clerk"]
    links = {role: set(re.findall(r'href="(/admin/[a-z_]+/)', menu)) for role, menu in menus.items()}
    assert links["dealer_a"] < links["manager"] and links["clerk"] != links["dealer_a"]
    assert menu_of(as_user(world["manager"]).get("/admin/ticket/").get_data(as_text=True)) == menus["manager"]


def test_the_menu_follows_the_users_language_and_marks_the_page_it_is_on(session, world, as_user):
    clerk = world["clerk"]
    clerk.locale = "en"
    session.commit()
    client = as_user(clerk)
    english = menu_of(client.get("/admin/customer/").get_data(as_text=True))
    clerk.locale = "zh_Hans_CN"
    session.commit()
    chinese = menu_of(client.get("/admin/customer/").get_data(as_text=True))
    assert "Unassigned" in english and "未指派" in chinese and "Unassigned" not in chinese
    on_tickets = menu_of(client.get("/admin/ticket/").get_data(as_text=True))
    assert 'class="dropdown-item active' in on_tickets and on_tickets != chinese  # the page it is on is marked
