"""The ticket page shows its warranty verdict and SLA clocks; the list shows an SLA badge."""
from tests import factories as f


def test_ticket_details_show_verdict_and_clocks(login_as, session):  # R-WAR-3, R-SLA-1
    ticket = f.ticket_of(session, "SC-GZ", status="registered")
    page = login_as("clerk").get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
    assert 'data-testid="warranty-verdict"' in page and 'data-testid="sla-clocks"' in page
    assert page.count("sla-badge") >= len(ticket.clocks) >= 2


def test_ticket_list_shows_the_most_urgent_open_clock(login_as):
    page = login_as("clerk").get("/admin/ticket/").get_data(as_text=True)
    assert "sla-badge" in page


def post_step(client, ticket, name, **data):
    return client.post(f"/admin/ticket/transition/{name}/?id={ticket.id}",
                       data={"csrf_token": client.csrf, "loaded_version": ticket.version_id, **data})


def test_ticket_page_offers_the_steps_the_user_may_take_now(login_as, session):  # R-TKT-5
    ticket = f.ticket_of(session, "SC-GZ", status="registered", kind="repair")
    page = login_as("clerk").get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
    assert 'data-step="diagnose"' in page and 'data-step="resolve"' not in page


def test_a_step_posted_from_the_page_moves_the_ticket_and_lands_on_the_timeline(login_as, session):
    ticket = f.ticket_of(session, "SC-GZ", status="registered", kind="repair")
    clerk = login_as("clerk")
    response = post_step(clerk, ticket, "diagnose", note="点火针积碳", service_mode="onsite",
                         severity="minor")
    assert response.status_code == 302
    session.expire_all()
    ticket = session.get(type(ticket), ticket.id)
    assert ticket.status == "diagnosed" and ticket.events[-1].note == "点火针积碳"


def test_an_illegal_step_changes_nothing_and_says_why(login_as, session):
    ticket = f.ticket_of(session, "SC-GZ", status="registered", kind="repair")
    clerk = login_as("clerk")
    response = post_step(clerk, ticket, "close")
    assert response.status_code == 302
    page = clerk.get(response.location).get_data(as_text=True)
    assert "alert-danger" in page
    session.expire_all()
    assert session.get(type(ticket), ticket.id).status == "registered"


def test_a_step_on_a_stale_page_is_refused(login_as, session):
    ticket = f.ticket_of(session, "SC-GZ", status="registered", kind="repair")
    clerk = login_as("clerk")
    stale = ticket.version_id
    assert post_step(clerk, ticket, "diagnose", note="第一次", service_mode="onsite",
                     severity="minor").status_code == 302
    session.expire_all()
    ticket = session.get(type(ticket), ticket.id)
    clerk.post(f"/admin/ticket/transition/propose/?id={ticket.id}",
               data={"csrf_token": clerk.csrf, "loaded_version": stale, "note": "旧页面"})
    session.expire_all()
    assert session.get(type(ticket), ticket.id).status == "diagnosed"


def test_dealer_cannot_move_another_outlets_ticket(login_as, session):
    ticket = f.ticket_of(session, "FS-SD", status="registered")
    dealer1 = login_as("dealer1")
    assert post_step(dealer1, ticket, "diagnose", note="越权").status_code == 404


def test_status_filter_lists_tickets_of_that_status(login_as, session):
    from sqlalchemy import func, select

    from models import Ticket

    clerk = login_as("clerk")
    expected = session.scalar(select(func.count()).select_from(Ticket).where(Ticket.status == "closed"))
    page = clerk.get("/admin/ticket/?flt0_0=closed&page_size=100").get_data(as_text=True)
    assert page.count("badge-status-closed") == min(expected, 100) > 0


def test_a_step_with_missing_fields_comes_back_with_the_typed_values(login_as, session):
    ticket = f.ticket_of(session, "SC-GZ", status="registered", kind="repair")
    clerk = login_as("clerk")
    response = post_step(clerk, ticket, "diagnose", note="燃气阀异响，需上门")  # no mode/severity
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "燃气阀异响，需上门" in page and "is-invalid" in page
    session.expire_all()
    assert session.get(type(ticket), ticket.id).status == "registered"


def filter_index(app, label_key):
    """Position of a filter in the ticket list (URLs use flt0_<position>)."""
    from views.tickets import TicketView

    view = next(v for admin in app.extensions["admin"] for v in admin._views if isinstance(v, TicketView))
    names = [getattr(flt, "_labels", None) for flt in view.column_filters]
    return next(i for i, labels in enumerate(names) if labels and label_key in labels)


def listed(client, url):
    import re
    return {int(i) for i in re.findall(r"/details/\?id=(\d+)", client.get(url).get_data(as_text=True))}


def test_overdue_filter_lists_tickets_with_an_open_clock_past_due(app, login_as, session):  # R-SLA-1
    from sqlalchemy import select

    from models import Ticket, TicketClock, utcnow

    clerk = login_as("clerk")
    index = filter_index(app, "overdue")
    expected = set(session.scalars(select(Ticket.id).join(TicketClock).where(
        TicketClock.met_at.is_(None), TicketClock.paused_since.is_(None), TicketClock.due_at < utcnow())))
    shown = listed(clerk, f"/admin/ticket/?flt0_{index}=overdue&page_size=100")
    assert shown and shown <= expected


def test_due_soon_filter_finds_a_clock_due_in_30_minutes(app, login_as, session):  # R-SLA-1
    from datetime import timedelta

    from models import utcnow

    ticket = f.ticket_of(session, "SC-GZ", status="registered")
    for clock in ticket.clocks:
        clock.due_at = utcnow() + timedelta(minutes=30 if clock.clock == "response" else 3000)
    session.commit()
    clerk = login_as("clerk")
    index = filter_index(app, "due_soon")
    assert ticket.id in listed(clerk, f"/admin/ticket/?flt0_{index}=due_soon&page_size=100")


def test_my_tickets_queue_shows_the_engineers_open_tickets(app, login_as, session):
    from sqlalchemy import select

    from models import Ticket

    engineer = login_as("engineer")
    index = filter_index(app, "mine")
    mine = set(session.scalars(select(Ticket.id).where(
        Ticket.assigned_engineer_id == f.user(session, "engineer").id, Ticket.status != "closed")))
    shown = listed(engineer, f"/admin/ticket/?flt0_{index}=mine&page_size=100")
    assert shown and shown <= mine


def test_dealer_sees_only_own_tickets_timeline_and_visits(login_as, session):
    from sqlalchemy import select

    from backoffice.access import criteria, scope_for
    from models import ReturnVisit, Ticket, TicketEvent

    dealer = f.user(session, "dealer1")
    scope = scope_for(session, dealer)
    events = session.scalars(select(TicketEvent).options(*criteria(scope))).all()
    own = set(session.scalars(select(Ticket.id).join(Ticket.outlet).where(
        Ticket.outlet_id.in_(scope.outlet_ids))))
    assert events and {e.ticket_id for e in events} <= own
    visits = session.scalars(select(ReturnVisit).options(*criteria(scope))).all()
    assert {v.ticket_id for v in visits} <= own


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def attach(client, ticket, name, data):
    import io

    return client.post(f"/admin/ticket/attach/?id={ticket.id}", content_type="multipart/form-data",
                       data={"csrf_token": client.csrf, "file": (io.BytesIO(data), name)})


def test_a_photo_is_attached_and_downloaded(login_as, session):  # R-TKT-8
    from models import Attachment

    ticket = f.ticket_of(session, "SC-GZ")
    clerk = login_as("clerk")
    assert attach(clerk, ticket, "铭牌照片.png", PNG).status_code == 302
    found = session.query(Attachment).filter_by(ticket_id=ticket.id).one()
    response = clerk.get(f"/admin/ticket/attachment/{found.id}")
    assert response.data == PNG and "attachment" in response.headers["Content-Disposition"]


def test_a_renamed_program_is_not_accepted_as_a_photo(login_as, session):
    from models import Attachment

    ticket = f.ticket_of(session, "SC-GZ")
    clerk = login_as("clerk")
    attach(clerk, ticket, "photo.jpg", b"MZ\x90\x00 not a jpeg")
    assert session.query(Attachment).filter_by(ticket_id=ticket.id).count() == 0
    page = clerk.get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
    assert "alert-danger" in page


def test_a_file_over_the_limit_is_refused(app, login_as, session):
    from models import Attachment

    app.config["ATTACHMENT_MAX_BYTES"] = 1000
    ticket = f.ticket_of(session, "SC-GZ")
    clerk = login_as("clerk")
    attach(clerk, ticket, "big.png", PNG + b"\x00" * 2000)
    assert session.query(Attachment).filter_by(ticket_id=ticket.id).count() == 0


def test_dealer_cannot_download_another_outlets_evidence(login_as, session):
    from models import Attachment

    ticket = f.ticket_of(session, "FS-SD")
    session.add(Attachment(ticket_id=ticket.id, filename="a.png", content_type="image/png", size=len(PNG),
                           data=PNG))
    session.commit()
    found = session.query(Attachment).filter_by(ticket_id=ticket.id).one()
    assert login_as("dealer1").get(f"/admin/ticket/attachment/{found.id}").status_code == 404
    assert login_as("dealer2").get(f"/admin/ticket/attachment/{found.id}").status_code == 200


def test_dashboard_shows_breaches_in_scope(login_as, session):  # R-SLA-1
    import re

    clerk_page = login_as("clerk").get("/admin/").get_data(as_text=True)
    dealer_page = login_as("dealer1").get("/admin/").get_data(as_text=True)
    overdue = lambda page: int(re.search(r'data-testid="overdue">(\d+)<', page).group(1))  # noqa: E731
    assert overdue(clerk_page) > 0 and overdue(dealer_page) < overdue(clerk_page)


def test_fault_time_is_typed_in_local_time_and_stored_in_utc(login_as, session):
    from models import Ticket

    unit = f.unit_of(session, "SC-GZ")
    clerk = login_as("clerk")
    form = clerk.get("/admin/ticket/new/").get_data(as_text=True)
    assert 'name="occurred_at"' in form and ">__None<" not in form
    clerk.post("/admin/ticket/new/", data={
        "customer": str(unit.customer_id), "unit": str(unit.id), "kind": "repair", "channel": "hotline",
        "category": "quality", "fault_description": "昨晚八点开始漏水", "occurred_at": "2026-11-21 20:00:00",
        "outlet": str(unit.outlet_id), "assigned_engineer": "__None", "csrf_token": clerk.csrf})
    ticket = session.query(Ticket).filter_by(fault_description="昨晚八点开始漏水").one()
    assert ticket.occurred_at.isoformat() == "2026-11-21T12:00:00+00:00"  # 20:00 in Guangzhou


def test_staff_must_choose_the_outlet_of_a_new_ticket(login_as):
    form = login_as("clerk").get("/admin/ticket/new/").get_data(as_text=True)
    outlet_select = form.split('id="outlet"')[1].split("</select>")[0]
    assert "selected" not in outlet_select.split("</option>")[1]  # nothing but the blank preselected


def test_resolved_tickets_are_never_overdue(app, login_as, session):  # R-SLA-1
    from sqlalchemy import select

    from backoffice import sla
    from models import Ticket

    clerk = login_as("clerk")
    index = filter_index(app, "overdue")
    finished = set(session.scalars(select(Ticket.id).where(Ticket.status.in_(sla.FINISHED))))
    assert not listed(clerk, f"/admin/ticket/?flt0_{index}=overdue&page_size=100") & finished


def test_return_visit_list_finds_the_caller_by_ticket_number_within_scope(login_as, session):
    from sqlalchemy import select

    from models import ReturnVisit

    visit = session.scalars(select(ReturnVisit).order_by(ReturnVisit.id)).first()
    number, outlet = visit.ticket.number, visit.ticket.outlet.code
    found = login_as("clerk").get(f"/admin/return_visit/?search={number}").get_data(as_text=True)
    assert f">{number}</a>" in found
    outsider = "dealer2" if outlet != "FS-SD" else "dealer1"
    hidden = login_as(outsider).get(f"/admin/return_visit/?search={number}").get_data(as_text=True)
    assert f">{number}</a>" not in hidden  # R-ROLE-1: the search goes through the same scope


def test_dealer_sees_the_center_as_actor_of_steps_by_staff_it_cannot_list(login_as, session):
    ticket = f.ticket_of(session, "GZ-TH", status="registered", kind="repair")
    assert post_step(login_as("clerk"), ticket, "diagnose", note="电话初诊", service_mode="onsite",
                     severity="minor").status_code == 302
    page = login_as("dealer1").get(f"/admin/ticket/details/?id={ticket.id}").get_data(as_text=True)
    timeline = page.split('data-testid="timeline"')[1]
    assert "电话初诊" in timeline and ("Service center" in timeline or "服务中心" in timeline)
