"""The old-part return screens for each role (R-PART-9, R-PART-4, R-ROLE-1): the outlet applies,
the center authorises (striking lines) or refuses, the outlet ships the printed list, the center
counts it (with the freight it paid) and inspects, the outlet chooses send back or scrap for a
part not credited, the center carries it out. Each form is posted by every role allowed and read
back by the role that must see it; roles that may not are refused and change nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from backoffice import old_parts
from models import OldPart, PartsReturn
from tests import factories as f
from tests.web.test_parts_screens import EN, post_action, text

CENTER = ("admin", "manager", "clerk")
DESK = ("dealer1", *CENTER)


def owed(session, code="GZ-TH", count=2) -> list[OldPart]:
    """Owed old parts of the outlet on no return application (the demo leaves two at GZ-TH)."""
    found = session.scalars(select(OldPart).where(
        OldPart.outlet_id == f.outlet(session, code).id, OldPart.state == "owed", OldPart.return_id.is_(None))
        .order_by(OldPart.id)).all()
    assert len(found) >= count, code
    return list(found[:count])


def prepared(session, step: str, code="GZ-TH") -> tuple[PartsReturn, list[OldPart]]:
    """A return of two owed parts of `code`, walked by the services up to `step`, committed."""
    dealer, clerk = f.user(session, "dealer1"), f.user(session, "clerk")
    parts = owed(session, code)
    parcel = old_parts.apply(session, parts[0].outlet_id, dealer, parts, "保修旧件")
    walk = ["authorised", "shipped", "received", "inspected", "chosen"]
    steps = walk[: walk.index(step) + 1] if step in walk else []
    if "authorised" in steps:
        old_parts.authorise(session, parcel, clerk)
    if "shipped" in steps:
        old_parts.ship(session, parcel, dealer, "德邦物流", "DB5566")
    if "received" in steps:
        old_parts.receive(session, parcel, clerk, {o.id: o.qty for o in parts})
    if "inspected" in steps:
        old_parts.inspect(session, parcel, clerk, {parts[0].id: "quality", parts[1].id: "human_damage"},
                          {parts[1].id: "外壳摔裂"})
    if "chosen" in steps:
        old_parts.choose_disposal(session, parcel, dealer, {parts[1].id: "send_back"})
    session.commit()
    return parcel, parts


def status_of(session, parcel_id) -> str:
    session.expire_all()
    return session.get(PartsReturn, parcel_id).status


def details(client, parcel_id) -> str:
    return text(client.get(f"/admin/parts_return/details/?id={parcel_id}", headers=EN))


# --- apply (退货申请) ---------------------------------------------------------------------------

@pytest.mark.parametrize("username", DESK)
def test_the_outlet_applies_to_return_owed_old_parts(login_as, session, username):  # R-PART-9
    client, dealer, clerk = login_as(username), login_as("dealer1"), login_as("clerk")
    parts = owed(session)
    form = text(client.get("/admin/old_part/return/"))
    assert all(o.tag in form for o in parts)
    response = client.post("/admin/old_part/return/", data={
        "csrf_token": client.csrf, "old_part": [str(o.id) for o in parts], "note": "本周旧件"})
    assert response.status_code == 302, text(response)[:500]
    session.expire_all()
    parcel = session.get(OldPart, parts[0].id).parts_return
    assert parcel.status == "requested" and parcel.on_paper == (username != "dealer1")
    seen = details(dealer, parcel.id)  # the outlet reads its application, tags and all
    assert "Waiting for authorisation" in seen and "本周旧件" in seen and all(o.tag in seen for o in parts)
    assert 'data-testid="authorise"' not in seen and 'data-testid="withdraw"' in seen
    assert ('data-testid="on-paper"' in seen) == (username != "dealer1")
    assert 'data-testid="authorise"' in details(clerk, parcel.id)  # the center has it to authorise


def test_an_engineer_may_not_apply(login_as, session):  # R-ROLE-1
    engineer = login_as("engineer")
    parts = owed(session)
    response = engineer.post("/admin/old_part/return/", data={"csrf_token": engineer.csrf,
                                                              "old_part": [str(o.id) for o in parts]})
    assert response.status_code in (302, 403)
    assert len(owed(session)) == 2


# --- authorise (核准), strike, refuse ------------------------------------------------------------

@pytest.mark.parametrize("username", CENTER)
def test_the_center_authorises_striking_a_line_with_its_reason(login_as, session, username):  # R-PART-9
    parcel, (kept, struck) = prepared(session, "requested")
    client, dealer = login_as(username), login_as("dealer1")
    no_reason = post_action(client, "parts_return", "authorise", parcel.id, **{f"strike-{struck.id}": "yes"})
    assert no_reason.status_code == 200 and "is-invalid" in text(no_reason)
    assert status_of(session, parcel.id) == "requested"
    assert post_action(client, "parts_return", "authorise", parcel.id, **{
        f"strike-{struck.id}": "yes", f"strike_reason-{struck.id}": "型号不符，不予退回"}).status_code == 302
    assert status_of(session, parcel.id) == "authorised"
    seen = details(dealer, parcel.id)
    assert "Authorised, to ship" in seen and f'data-testid="struck-{struck.id}"' in seen
    assert "型号不符，不予退回" in seen
    assert 'data-testid="ship"' in seen and 'data-testid="print-return-list"' in seen
    printed = text(dealer.get(f"/admin/parts_return/print/?id={parcel.id}", headers=EN))
    assert kept.tag in printed and struck.tag not in printed  # the list that travels: authorised lines
    assert session.get(OldPart, struck.id).return_id is None  # still owed, free to apply again


@pytest.mark.parametrize("username", CENTER)
def test_the_center_refuses_an_application_with_its_reason(login_as, session, username):  # R-PART-9
    parcel, _parts = prepared(session, "requested")
    client, dealer = login_as(username), login_as("dealer1")
    empty = post_action(client, "parts_return", "refuse", parcel.id, refusal_reason=" ")
    assert empty.status_code == 200 and "is-invalid" in text(empty)
    assert post_action(client, "parts_return", "refuse", parcel.id, refusal_reason="旧件未贴标签").status_code == 302
    seen = details(dealer, parcel.id)
    assert status_of(session, parcel.id) == "refused"
    assert 'data-testid="refusal-reason"' in seen and "旧件未贴标签" in seen and 'data-testid="ship"' not in seen
    assert len(owed(session)) == 2  # owed again, on no application


def test_the_outlet_may_not_authorise_or_refuse(login_as, session):  # R-PART-9
    parcel, _parts = prepared(session, "requested")
    dealer = login_as("dealer1")
    page = details(dealer, parcel.id)
    assert 'data-testid="authorise"' not in page and 'data-testid="refuse"' not in page
    post_action(dealer, "parts_return", "authorise", parcel.id)
    post_action(dealer, "parts_return", "refuse", parcel.id, refusal_reason="自己拒绝")
    assert status_of(session, parcel.id) == "requested"


def test_of_two_center_users_deciding_at_once_one_wins(login_as, session):  # R-PART-9 (version_id)
    parcel, _parts = prepared(session, "requested")
    clerk, manager = login_as("clerk"), login_as("manager")
    url = f"/admin/parts_return/details/?id={parcel.id}"
    loaded = parcel.version_id
    assert str(loaded) in text(clerk.get(url))
    assert post_action(manager, "parts_return", "refuse", parcel.id, refusal_reason="不收").status_code == 302
    late = clerk.post(f"/admin/parts_return/authorise/?id={parcel.id}",
                      data={"csrf_token": clerk.csrf, "loaded_version": str(loaded)})
    assert late.status_code == 302
    assert status_of(session, parcel.id) == "refused"


# --- ship, withdraw, print ---------------------------------------------------------------------

@pytest.mark.parametrize("username", DESK)
def test_the_outlet_ships_an_authorised_return(login_as, session, username):  # R-PART-9
    parcel, parts = prepared(session, "authorised")
    client, dealer, clerk = login_as(username), login_as("dealer1"), login_as("clerk")
    assert post_action(client, "parts_return", "ship", parcel.id, courier="顺丰速运",
                       tracking_no="SF778899").status_code == 302
    assert status_of(session, parcel.id) == "shipped"
    assert "SF778899" in details(dealer, parcel.id)
    assert f'name="received-{parts[0].id}"' in details(clerk, parcel.id)  # the center counts it next


def test_a_waiting_application_does_not_ship_and_says_why(login_as, session):  # R-PART-9
    parcel, _parts = prepared(session, "requested")
    dealer = login_as("dealer1")
    page = details(dealer, parcel.id)
    assert 'data-testid="ship"' not in page and 'data-testid="ship-why-not"' in page
    assert str(old_parts.NOT_AUTHORISED) in page
    post_action(dealer, "parts_return", "ship", parcel.id, courier="顺丰速运", tracking_no="SF1")
    assert status_of(session, parcel.id) == "requested"
    assert dealer.get(f"/admin/parts_return/print/?id={parcel.id}").status_code == 302  # printed once authorised


@pytest.mark.parametrize("username", DESK)
def test_the_outlet_withdraws_an_application_not_yet_shipped(login_as, session, username):  # R-PART-9
    parcel, _parts = prepared(session, "authorised")
    client, dealer = login_as(username), login_as("dealer1")
    assert post_action(client, "parts_return", "withdraw", parcel.id).status_code == 302
    assert status_of(session, parcel.id) == "withdrawn"
    assert 'data-testid="withdrawn"' in details(dealer, parcel.id) and len(owed(session)) == 2


def test_a_shipped_return_is_not_withdrawn(login_as, session):  # R-PART-9
    parcel, _parts = prepared(session, "shipped")
    dealer = login_as("dealer1")
    assert 'data-testid="withdraw-why-not"' in details(dealer, parcel.id)
    post_action(dealer, "parts_return", "withdraw", parcel.id)
    assert status_of(session, parcel.id) == "shipped"


# --- receive (with freight), inspect ------------------------------------------------------------

@pytest.mark.parametrize("username", CENTER)
def test_the_center_counts_the_parcel_and_records_the_freight_it_paid(login_as, session, username):  # 004
    parcel, parts = prepared(session, "shipped")
    client, dealer = login_as(username), login_as("dealer1")
    counts = {f"received-{o.id}": str(o.qty) for o in parts}
    bad = post_action(client, "parts_return", "receive", parcel.id, freight="十八元", **counts)
    assert bad.status_code == 200 and 'value="十八元"' in text(bad)
    assert post_action(client, "parts_return", "receive", parcel.id, freight="18.50", **counts).status_code == 302
    assert status_of(session, parcel.id) == "received"
    seen = details(dealer, parcel.id)
    assert 'data-testid="freight"' in seen and "¥18.50" in seen


def test_the_outlet_may_not_count_or_inspect(login_as, session):  # R-PART-4
    parcel, parts = prepared(session, "shipped")
    dealer = login_as("dealer1")
    post_action(dealer, "parts_return", "receive", parcel.id, freight="0",
                **{f"received-{o.id}": str(o.qty) for o in parts})
    assert status_of(session, parcel.id) == "shipped"


@pytest.mark.parametrize("username", CENTER)
def test_the_center_inspects_and_the_outlet_reads_the_outcome(login_as, session, username):  # R-PART-4
    parcel, (good, broken) = prepared(session, "received")
    client, dealer = login_as(username), login_as("dealer1")
    assert post_action(client, "parts_return", "inspect", parcel.id, **{
        f"verdict-{good.id}": "quality", f"verdict-{broken.id}": "human_damage"}).status_code == 302
    seen = details(dealer, parcel.id)
    assert f'data-testid="credited-{good.id}"' in seen and f'data-testid="charged-{broken.id}"' in seen
    assert f'data-testid="awaits-choice-{broken.id}"' in seen and 'data-testid="choose-disposal"' in seen


# --- send back or scrap (R-PART-9) --------------------------------------------------------------

@pytest.mark.parametrize("username", DESK)
def test_the_outlet_chooses_to_have_a_part_sent_back_or_scrapped(login_as, session, username):  # R-PART-9
    parcel, (good, broken) = prepared(session, "inspected")
    client, dealer, clerk = login_as(username), login_as("dealer1"), login_as("clerk")
    assert f'name="disposal-{good.id}"' not in details(dealer, parcel.id)  # credited: the center keeps it
    bogus = post_action(client, "parts_return", "choose", parcel.id, **{f"disposal-{broken.id}": "keep"})
    assert bogus.status_code == 200 and "is-invalid" in text(bogus)
    assert post_action(client, "parts_return", "choose", parcel.id,
                       **{f"disposal-{broken.id}": "scrap"}).status_code == 302
    assert f'data-testid="disposal-{broken.id}"' in details(dealer, parcel.id)
    assert "Scrap at the center" in text(dealer.get(f"/admin/old_part/details/?id={broken.id}", headers=EN))
    assert f'data-testid="dispose-{broken.id}"' in details(clerk, parcel.id)  # the center carries it out


def test_an_engineer_may_not_choose(login_as, session):  # R-ROLE-1
    parcel, (_good, broken) = prepared(session, "inspected")
    engineer = login_as("engineer")
    response = engineer.post(f"/admin/parts_return/choose/?id={parcel.id}",
                             data={"csrf_token": engineer.csrf, f"disposal-{broken.id}": "scrap"})
    assert response.status_code in (302, 403, 404)
    session.expire_all()
    assert session.get(OldPart, broken.id).disposal is None


@pytest.mark.parametrize("username", CENTER)
def test_the_center_records_the_part_sent_back(login_as, session, username):  # R-PART-9
    parcel, (_good, broken) = prepared(session, "chosen")
    client, dealer = login_as(username), login_as("dealer1")
    url = f"/admin/old_part/dispose/?id={broken.id}"
    untracked = client.post(url, data={"csrf_token": client.csrf, "courier": "顺丰速运"})
    assert untracked.status_code == 200 and "is-invalid" in text(untracked)
    assert client.post(url, data={"csrf_token": client.csrf, "courier": "顺丰速运",
                                  "tracking_no": "SF2468"}).status_code == 302
    session.expire_all()
    assert session.get(OldPart, broken.id).disposed_at is not None
    assert "SF2468" in text(dealer.get(f"/admin/old_part/details/?id={broken.id}"))
    assert "SF2468" in details(dealer, parcel.id)


def test_the_outlet_may_not_record_the_send_back(login_as, session):  # R-PART-9
    _parcel, (_good, broken) = prepared(session, "chosen")
    dealer = login_as("dealer1")
    assert 'data-testid="dispose"' not in text(dealer.get(f"/admin/old_part/details/?id={broken.id}"))
    dealer.post(f"/admin/old_part/dispose/?id={broken.id}",
                data={"csrf_token": dealer.csrf, "courier": "顺丰速运", "tracking_no": "SF1"})
    session.expire_all()
    assert session.get(OldPart, broken.id).disposed_at is None


# --- scope, tags, late ----------------------------------------------------------------------------

def test_a_dealer_cannot_open_or_act_on_another_outlets_application(login_as, session):  # R-ROLE-1
    dealer = login_as("dealer1")
    foreign = session.scalar(select(PartsReturn).where(PartsReturn.outlet_id == f.outlet(session, "FS-SD").id,
                                                       PartsReturn.status == "authorised"))
    assert foreign is not None
    assert dealer.get(f"/admin/parts_return/details/?id={foreign.id}").status_code == 404
    assert dealer.get(f"/admin/parts_return/print/?id={foreign.id}").status_code == 404
    for action in ("ship", "withdraw"):
        response = dealer.post(f"/admin/parts_return/{action}/?id={foreign.id}",
                               data={"csrf_token": dealer.csrf, "courier": "顺丰", "tracking_no": "SF1"})
        assert response.status_code == 404, action
    assert status_of(session, foreign.id) == "authorised"
    assert str(foreign) not in text(dealer.get("/admin/parts_return/"))
    assert str(foreign) in text(login_as("dealer2").get("/admin/parts_return/"))


def test_old_parts_list_shows_tags_and_finds_one(login_as, session):  # R-PART-9
    clerk = login_as("clerk")
    tagged = owed(session)[0]
    page = text(clerk.get("/admin/old_part/?page_size=100"))
    assert tagged.tag in page
    found = text(clerk.get(f"/admin/old_part/?search={tagged.tag}"))
    assert tagged.ticket.number in found and owed(session)[1].tag not in found


def test_a_late_return_is_flagged_on_the_screens(login_as, session):  # R-PART-9
    parcel = session.scalar(select(PartsReturn).where(PartsReturn.status == "shipped"))
    late = [o for o in parcel.old_parts if o.returned_late]
    assert late, "the demo's shipped parcel came back after the cycle"
    clerk = login_as("clerk")
    assert f'data-testid="late-{late[0].id}"' in details(clerk, parcel.id)
    assert f'data-testid="late-{late[0].id}"' in text(clerk.get(f"/admin/old_part/details/?id={late[0].id}"))
