"""Issue 18: an engineer on a phone. His home page starts with today's appointments, a card per
visit in time order: his own tickets only, today by the serving outlet's calendar (its time zone),
each with the time, the ticket's number linked to its page, the status, whom to ask for, a button
that calls (tel:) and the address with its map link (the same AMap search as the ticket's page)."""
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import quote
from zoneinfo import ZoneInfo

from backoffice import dashboard
from backoffice.timezones import format_local, local_day_bounds, local_today
from tests import factories as f
from views.tickets import MAP_SEARCH


def today_at(hours: float) -> datetime:
    """A moment of today (the service's zone, the test outlets'), `hours` after its midnight."""
    start, _end = local_day_bounds(local_today(), local_today())
    return start + timedelta(hours=hours)


def appointment(session, world, engineer, at, customer=None, **kw):
    return f.make_ticket(session, customer or world["customer"], assigned_engineer=engineer, appointment_at=at, **kw)


def cards(page: str) -> list[str]:
    """The HTML of each card of today's appointments, in the page's order."""
    start = page.index('data-testid="appointments"')
    section = page[start:page.index("</ul>", start)]
    return section.split('data-testid="appointment"')[1:]


def home(as_user, user) -> str:
    return as_user(user).get("/admin/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_engineer_sees_todays_appointments_first_in_time_order(session, world, as_user):
    engineer = world["engineer_a"]
    later = appointment(session, world, engineer, today_at(15), contact_phone="139 0000 0002")
    sooner = appointment(session, world, engineer, today_at(9), contact_phone="13900000001", contact_name="李先生",
                         address="广州市天河区天河路100号")
    session.commit()
    page = home(as_user, engineer)
    # first on the page: under its title, before the engineer's figures and the status table
    assert page.index('data-testid="appointments"') < page.index('data-testid="mine"')
    assert page.index('data-testid="appointments"') < page.index('data-testid="open-total"')
    first, second = cards(page)
    assert sooner.number in first and later.number in second
    assert f'href="/admin/ticket/details/?id={sooner.id}" data-testid="appointment-open">{sooner.number}<' in first
    assert "data-testid=\"appointment-open\"" not in second  # the first card's link is the one to find
    assert re.search(r'data-testid="appointment-time">09:00<', first) and ">15:00<" in second
    assert "李先生" in first and "广州市天河区天河路100号" in first
    assert 'href="tel:13900000001"' in first and 'href="tel:13900000002"' in second  # dialled digits only
    navigate = re.search(r'href="([^"]+)" target="_blank" rel="noopener"\s+data-testid="navigate"', first)
    assert unescape(navigate.group(1)) == f"{MAP_SEARCH}?keyword={quote('广州市天河区天河路100号')}"
    assert 'class="badge badge-status badge-status-registered"' in first


def test_a_card_falls_back_on_the_customers_phone_address_and_name(session, world, as_user):
    engineer, customer = world["engineer_a"], world["customer"]
    ticket = appointment(session, world, engineer, today_at(10), contact_phone="", address="", contact_name="")
    session.commit()
    (card,) = cards(home(as_user, engineer))
    assert ticket.number in card and customer.name in card
    assert f'href="tel:{customer.phone}"' in card
    assert customer.address in card and 'data-testid="navigate"' in card


def test_engineer_sees_only_his_own_appointments_of_today(session, world, as_user):
    engineer, colleague = world["engineer_a"], world["engineer_b"]
    mine = appointment(session, world, engineer, today_at(11))
    tomorrow = appointment(session, world, engineer, today_at(24 + 9))
    yesterday = appointment(session, world, engineer, today_at(-3))
    theirs = appointment(session, world, colleague, today_at(10), customer=f.make_customer(session, world["b"]))
    session.commit()
    page = home(as_user, engineer)
    section = "".join(cards(page))
    assert mine.number in section
    for other in (tomorrow, yesterday, theirs):
        assert other.number not in section
    assert theirs.number not in "".join(cards(home(as_user, world["center_engineer"])))
    assert theirs.number in "".join(cards(home(as_user, colleague)))


def test_an_empty_day_says_so(world, as_user):
    page = home(as_user, world["engineer_a"])
    assert cards(page) == []
    assert re.search(r'data-testid="no-appointments">\s*No appointments today\.', page)


def test_today_is_the_serving_outlets_day_in_its_time_zone(session, world, as_user):
    """At 23:00 in Shanghai it is 21:00 in Urumqi: a visit at 22:30 Urumqi time (00:30 tomorrow in
    Shanghai) is today's for an outlet there; 00:30 Urumqi time tomorrow is not."""
    world["a"].timezone = "Asia/Urumqi"
    engineer = world["engineer_a"]
    now = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai, 21:00 in Urumqi
    evening = appointment(session, world, engineer, datetime(2026, 6, 1, 16, 30, tzinfo=UTC))
    after_midnight = appointment(session, world, engineer, datetime(2026, 6, 1, 18, 30, tzinfo=UTC))
    session.commit()
    found = dashboard.appointments_today(session, engineer.id, now=now)
    assert [t.id for t in found] == [evening.id]
    assert after_midnight.id not in [t.id for t in found]
    shanghai = f.make_customer(session, world["b"])  # outlet B keeps the service's zone
    there = f.make_ticket(session, shanghai, assigned_engineer=world["engineer_b"],
                          appointment_at=datetime(2026, 6, 1, 16, 30, tzinfo=UTC))
    session.commit()
    assert there.id not in [t.id for t in dashboard.appointments_today(session, world["engineer_b"].id, now=now)]


def test_the_card_shows_the_time_in_the_serving_outlets_zone(session, world, as_user):
    world["a"].timezone = "Asia/Urumqi"
    at = datetime.now(UTC).replace(second=0, microsecond=0)  # now: today wherever the outlet is
    ticket = appointment(session, world, world["engineer_a"], at)
    session.commit()
    (card,) = cards(home(as_user, world["engineer_a"]))
    assert ticket.number in card
    assert f'data-testid="appointment-time">{format_local(at, ZoneInfo("Asia/Urumqi"))[11:]}<' in card
