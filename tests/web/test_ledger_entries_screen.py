"""The ledger entries screen (配件台账流水, R-PART-8, R-ROLE-1): every movement of the parts
accounts as booked, read only, each role seeing only the outlets in its scope."""
import csv
import io
import re
import uuid
from decimal import Decimal

from sqlalchemy import func, select

from backoffice import ledger
from backoffice.timezones import to_local
from models import ApprovalRequest, LedgerEntry, OldPart, Outlet, PartsRequestLine
from models.choices import LedgerKind
from tests import factories as f
from tests.web.test_approval_screens import decide

URL = "/admin/ledger_entry/"
EN = {"Accept-Language": "en"}
DEALER1_OUTLETS = ("GZ-TH", "GZ-TH-01")
SOURCE_CELL = re.compile(r'<td[^>]* class="col-source">\s*(?:<a [^>]*>)?([^<\s]+)')


def text(response):
    return response.get_data(as_text=True)


def listed_sources(client, query="") -> list[str]:
    """The source of every entry on the page, in the order shown."""
    separator = "&" if query else ""
    return SOURCE_CELL.findall(text(client.get(f"{URL}?page_size=100{separator}{query}", headers=EN)))


def entries(session, *where) -> list[LedgerEntry]:
    session.expire_all()
    return session.scalars(select(LedgerEntry).where(*where).order_by(LedgerEntry.id)).all()


def outlet_ids(session, *codes) -> list[int]:
    return [f.outlet(session, code).id for code in codes]


def entry_count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count(LedgerEntry.id)))


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text(response).lstrip("\ufeff"))))


def test_dealer_sees_only_own_outlets_ledger_entries(login_as, session):
    own = entries(session, LedgerEntry.outlet_id.in_(outlet_ids(session, *DEALER1_OUTLETS)))
    foreign = entries(session, LedgerEntry.outlet_id == f.outlet(session, "FS-SD").id)
    assert own and foreign  # the demo books movements for each dealer outlet
    dealer = login_as("dealer1")
    page = text(dealer.get(f"{URL}?page_size=100", headers=EN))
    assert sorted(listed_sources(dealer)) == sorted(e.source for e in own)
    assert "FS-SD" not in page and "顺德" not in page
    # Another outlet's entry is not found at all, not merely hidden from the list.
    assert dealer.get(f"{URL}details/?id={foreign[0].id}").status_code == 404
    assert dealer.get(f"{URL}details/?id={own[0].id}").status_code == 200
    # The outlet filter offers the dealer's own outlets only.
    assert f'["{f.outlet(session, "FS-SD").id}", ' not in page


def test_staff_see_every_dealer_outlets_ledger_entries_newest_first(login_as, session):
    every = entries(session)
    clerk = login_as("clerk")
    shown = listed_sources(clerk)
    assert sorted(shown) == sorted(e.source for e in every)
    newest_first = sorted(every, key=lambda e: (e.at, e.id), reverse=True)
    assert shown == [e.source for e in newest_first]


def test_engineer_cannot_open_ledger_entries(login_as, session):
    engineer = login_as("engineer")
    some = entries(session)[0]
    for url in (URL, f"{URL}details/?id={some.id}", f"{URL}export/csv/"):
        response = engineer.get(url)
        assert response.status_code == 403, url
        assert some.source not in text(response)


def test_ledger_entries_cannot_be_edited_or_deleted_from_the_screen(login_as, session):
    """R-PART-8: append-only; a correction is a new adjustment entry, never an edit."""
    before = entry_count(session)
    for username in ("admin", "dealer1"):
        client = login_as(username)
        own = entries(session, LedgerEntry.outlet_id.in_(outlet_ids(session, *DEALER1_OUTLETS)))[0]
        page = text(client.get(URL, headers=EN))
        assert "/admin/ledger_entry/edit/" not in page and "/admin/ledger_entry/delete/" not in page
        assert client.get(f"{URL}new/").status_code == 403
        assert client.post(f"{URL}new/", data={"csrf_token": client.csrf, "reason": "x"}).status_code == 403
        assert client.get(f"{URL}edit/?id={own.id}").status_code == 403
        edited = client.post(f"{URL}edit/?id={own.id}",
                             data={"csrf_token": client.csrf, "delta": "9999.00", "reason": "改一下"})
        assert edited.status_code == 403
        deleted = client.post(f"{URL}delete/", data={"csrf_token": client.csrf, "id": str(own.id)})
        assert deleted.status_code == 403
        bulk = client.post(f"{URL}action/", data={"csrf_token": client.csrf, "action": "delete",
                                                  "rowid": [str(own.id)]})
        assert bulk.status_code in (302, 403)
        session.expire_all()
        unchanged = session.get(LedgerEntry, own.id)
        assert unchanged.reason != "改一下" and unchanged.delta != Decimal("9999.00")
    assert entry_count(session) == before


def test_another_outlets_entry_is_a_404_even_for_a_refused_edit(login_as, session):
    foreign = entries(session, LedgerEntry.outlet_id == f.outlet(session, "FS-SD").id)[0]
    dealer = login_as("dealer1")
    assert dealer.get(f"{URL}edit/?id={foreign.id}").status_code == 404
    assert dealer.post(f"{URL}delete/", data={"csrf_token": dealer.csrf, "id": str(foreign.id)}).status_code == 404


def test_ledger_export_is_scoped(login_as, session):
    own = entries(session, LedgerEntry.outlet_id.in_(outlet_ids(session, *DEALER1_OUTLETS)))
    dealer = login_as("dealer1")
    response = dealer.get(f"{URL}export/csv/", headers=EN)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = csv_rows(response)
    assert sorted(row["Source document"] for row in rows) == sorted(e.source for e in own)
    names = {str(o) for o in session.scalars(select(Outlet).where(Outlet.code.in_(DEALER1_OUTLETS)))}
    assert {row["Outlet"] for row in rows} <= names
    assert "FS-SD" not in text(response)
    # Amounts are plain numbers with two decimals, the change of the balance signed.
    issued = next(row for row in rows if row["Movement"] == "Issued on account")
    assert re.fullmatch(r"-\d+\.\d{2}", issued["On account"]) and re.fullmatch(r"\d+\.\d{2}", issued["Balance"])


def test_kind_filter_and_date_filter(app, login_as, session):
    clerk = login_as("clerk")
    every = entries(session)
    quotas = [e.source for e in every if e.kind == LedgerKind.QUOTA]
    assert quotas and len(quotas) < len(every)
    assert sorted(listed_sources(clerk, "flt0_1=quota")) == sorted(quotas)
    kinds = re.findall(r'<td[^>]* class="col-kind">\s*([^<]*?)\s*</td>',
                       text(clerk.get(f"{URL}?flt0_1=quota", headers=EN)))
    assert kinds and set(kinds) == {"Quota"}
    # Dates are the service's local calendar days.
    with app.app_context():
        local_days = {e.source: to_local(e.at).date() for e in every}
    day = local_days[every[-1].source]
    expected = sorted(source for source, seen in local_days.items() if seen == day)
    assert sorted(listed_sources(clerk, f"flt0_2={day:%Y-%m-%d}+to+{day:%Y-%m-%d}")) == expected
    assert len(expected) < len(every)
    # Both together, and the outlet filter.
    fs = f.outlet(session, "FS-SD")
    fs_quota = [e.source for e in every if e.outlet_id == fs.id and e.kind == LedgerKind.QUOTA]
    assert listed_sources(clerk, f"flt0_0={fs.id}&flt0_1=quota") == fs_quota


def test_search_finds_entries_by_reason_or_source(login_as, session):
    issued = entries(session, LedgerEntry.kind == LedgerKind.ISSUE)[0]
    clerk = login_as("clerk")
    by_reason = listed_sources(clerk, f"search={issued.reason}")
    assert issued.source in by_reason
    assert set(by_reason) == {e.source for e in entries(session, LedgerEntry.reason == issued.reason)}
    by_source = listed_sources(clerk, f"search={issued.source}")  # a substring search
    assert issued.source in by_source and all(issued.source in source for source in by_source)
    assert len(by_source) < len(entries(session))


def test_source_links_to_its_document(login_as, session):
    """A parts-request line opens its request; an old part's credit opens the old part."""
    dealer_ids = outlet_ids(session, *DEALER1_OUTLETS)
    issued = entries(session, LedgerEntry.kind == LedgerKind.ISSUE, LedgerEntry.outlet_id.in_(dealer_ids))[0]
    line = session.get(PartsRequestLine, int(issued.source.split(":")[1]))
    old = session.scalars(select(OldPart).where(OldPart.outlet_id.in_(dealer_ids)).order_by(OldPart.id)).first()
    assert old is not None
    credit = ledger.post(session, old.outlet_id, LedgerKind.RETURN_CREDIT, Decimal("12.50"),
                         source=f"old_part:{old.id}:credit", reason="旧件合格冲账", part_id=old.part_id, qty=1)
    session.commit()
    dealer = login_as("dealer1")
    page = text(dealer.get(f"{URL}?page_size=100", headers=EN))
    request_link = f'href="/admin/parts_request/details/?id={line.request_id}"'
    assert re.search(rf'<a {re.escape(request_link)}[^>]*>{re.escape(issued.source)}</a>', page)
    old_link = f'href="/admin/old_part/details/?id={old.id}"'
    assert re.search(rf'<a {re.escape(old_link)}[^>]*>{re.escape(credit.source)}</a>', page)
    assert "+¥12.50" in page  # a credit raises the balance on account
    # Both documents open for the same dealer.
    assert dealer.get(f"/admin/parts_request/details/?id={line.request_id}").status_code == 200
    assert dealer.get(f"/admin/old_part/details/?id={old.id}").status_code == 200
    # The details page of one entry links the same way.
    details = text(dealer.get(f"{URL}details/?id={issued.id}", headers=EN))
    assert request_link in details


def test_adjustment_links_to_its_approval_and_unknown_sources_stay_plain_text(login_as, session):
    gz = f.outlet(session, "GZ-TH")
    approval = session.scalars(select(ApprovalRequest).where(ApprovalRequest.outlet_id == gz.id)
                               .order_by(ApprovalRequest.id)).first()
    assert approval is not None
    ledger.post(session, gz.id, LedgerKind.ADJUSTMENT, Decimal("5.00"), source=f"approval:{approval.id}",
                reason="经理批准的调整")
    ledger.post(session, gz.id, LedgerKind.ADJUSTMENT, Decimal("1.00"), source="legacy:<b>2025</b>",
                reason="旧系统结转")
    session.commit()
    page = text(login_as("admin").get(f"{URL}?page_size=100", headers=EN))
    assert f'<a href="/admin/approval/details/?id={approval.id}"' in page
    legacy = re.search(r'<td[^>]* class="col-source">\s*([^<]*?)\s*</td>', page[page.index("旧系统结转"):])
    assert legacy and legacy.group(1) == "legacy:&lt;b&gt;2025&lt;/b&gt;"  # text, escaped, no link


def test_a_quota_links_to_the_statement_of_its_month_and_an_adjustment_stays_text(login_as, session):  # R-PART-7
    gz = f.outlet(session, "GZ-TH")
    quota = entries(session, LedgerEntry.kind == LedgerKind.QUOTA, LedgerEntry.outlet_id == gz.id)[0]
    adjusted = ledger.adjust(session, gz.id, f.user(session, "manager"), Decimal("-1.00"), "盘点短少一支点火针",
                             uuid.uuid4().hex)
    session.commit()
    page = text(login_as("dealer1").get(f"{URL}?page_size=100", headers=EN))
    statement = f'href="/admin/parts_account/details/?id={quota.account_id}&amp;month={to_local(quota.at):%Y-%m}"'
    assert re.search(rf'<a {re.escape(statement)}[^>]*>{re.escape(quota.source)}</a>', page)
    assert adjusted.source in page and f">{adjusted.source}</a>" not in page  # a correction opens no document


def test_dealer_sees_that_the_center_posted_not_who(login_as, session):
    """Dealers do not see the center's staff (R-ROLE-1): the quota grant reads "Service center"."""
    quota = entries(session, LedgerEntry.kind == LedgerKind.QUOTA,
                    LedgerEntry.outlet_id == f.outlet(session, "GZ-TH").id)[0]
    manager = f.user(session, "manager")
    assert quota.actor_id == manager.id
    staff_view = text(login_as("admin").get(f"{URL}details/?id={quota.id}", headers=EN))
    assert (manager.full_name or manager.username) in staff_view
    dealer_view = text(login_as("dealer1").get(f"{URL}details/?id={quota.id}", headers=EN))
    assert "Service center" in dealer_view and manager.username not in dealer_view


def test_a_long_page_costs_no_more_queries_than_a_short_one(app, login_as, session):
    """Outlet, part, poster and source documents are loaded with the rows (no N+1)."""
    from sqlalchemy import event

    from models import Part, db

    parts = session.scalars(select(Part).order_by(Part.id).limit(5)).all()
    clerk_user = f.user(session, "clerk")
    lines = session.scalars(select(PartsRequestLine).order_by(PartsRequestLine.id)).all()
    for i in range(60):
        outlet = f.outlet(session, ("GZ-TH", "GZ-TH-01", "FS-SD")[i % 3])
        source = f"parts_request_line:{lines[i % len(lines)].id}:again{i}" if i % 2 else f"old_part:{i + 1}:credit"
        ledger.post(session, outlet.id, LedgerKind.ADJUSTMENT, Decimal("1.00"), source=source, actor=clerk_user,
                    part_id=parts[i % len(parts)].id, qty=1, reason=f"测试{i}")
    session.commit()
    seen = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    admin = login_as("admin")
    event.listen(engine, "before_cursor_execute", count)
    try:
        admin.get(f"{URL}?page_size=20").get_data()
        small, seen[:] = len(seen), []
        admin.get(f"{URL}?page_size=100").get_data()
        assert len(seen) <= small, seen[small:]
    finally:
        event.remove(engine, "before_cursor_execute", count)


# --- a manager's adjustment from the statement (R-PART-8) ----------------------------------------
def adjust(client, account_id, **data):
    page = client.get(f"/admin/parts_account/details/?id={account_id}").get_data(as_text=True)
    token = re.search(r'name="adjust_token" value="([0-9a-f]+)"', page)
    form = {"csrf_token": client.csrf, "adjust_token": token.group(1) if token else "", **data}
    return client.post(f"/admin/parts_account/adjust/?id={account_id}", data=form), form


def test_manager_debits_from_the_statement_and_a_double_click_books_once(login_as, session):  # R-PART-8
    manager = login_as("manager")
    account = ledger.account_of(session, f.outlet(session, "FS-SD").id)
    before = account.balance
    response, form = adjust(manager, account.id, adjust_amount="-12.30", adjust_reason="盘点短少两支点火针")
    assert response.status_code == 302
    assert manager.post(f"/admin/parts_account/adjust/?id={account.id}", data=form).status_code == 302
    session.expire_all()
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.reason == "盘点短少两支点火针")).all()
    assert len(entries) == 1 and entries[0].delta == Decimal("-12.30")
    assert ledger.balance_of(session, account.outlet_id) == before - Decimal("12.30")
    statement = login_as("dealer2").get(f"/admin/parts_account/details/?id={account.id}").get_data(as_text=True)
    assert "盘点短少两支点火针" in statement and 'data-testid="adjust"' not in statement


def test_a_credit_from_the_statement_waits_for_another_manager(login_as, session):  # R-PART-8, R-ROLE-2
    manager, admin = login_as("manager"), login_as("admin")
    account = ledger.account_of(session, f.outlet(session, "FS-SD").id)
    before = account.balance
    response, _form = adjust(manager, account.id, adjust_amount="88.00", adjust_reason="误扣冲回")
    assert response.status_code == 302
    assert ledger.balance_of(session, account.outlet_id) == before  # nothing posted yet
    session.expire_all()
    asked = session.scalar(select(ApprovalRequest).where(ApprovalRequest.parts_account_id == account.id))
    assert (asked.kind, asked.amount, asked.status) == ("parts_credit", Decimal("88.00"), "pending")
    assert 'data-testid="decide"' not in manager.get(f"/admin/approval/details/?id={asked.id}").get_data(as_text=True)
    page = admin.get(f"/admin/approval/details/?id={asked.id}").get_data(as_text=True)
    assert 'data-testid="credit"' in page and 'data-testid="approval-history"' in page and "误扣冲回" in page
    assert decide(admin, asked.id, "approve", "核实误扣").status_code == 302
    assert ledger.balance_of(session, account.outlet_id) == before + Decimal("88.00")


def test_a_refused_adjustment_keeps_what_was_typed(login_as, session):  # R-RPT-3
    manager = login_as("manager")
    account = ledger.account_of(session, f.outlet(session, "FS-SD").id)
    response, _form = adjust(manager, account.id, adjust_amount="-99999999", adjust_reason="冲减错账")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "is-invalid" in page
    assert 'value="-99999999"' in page and 'value="冲减错账"' in page
    response, _form = adjust(manager, account.id, adjust_amount="9999999999.00", adjust_reason="超出上限")
    assert response.status_code == 200 and "is-invalid" in response.get_data(as_text=True)  # beyond Numeric(12, 2)
    response, _form = adjust(manager, account.id, adjust_amount="abc", adjust_reason="")
    assert response.status_code == 200 and response.get_data(as_text=True).count("is-invalid") >= 1
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.reason == "冲减错账")) == 0


def test_only_managers_adjust_and_never_another_outlets_account_by_id(login_as, session):  # R-ROLE-1
    clerk, dealer1 = login_as("clerk"), login_as("dealer1")
    account = ledger.account_of(session, f.outlet(session, "FS-SD").id)
    assert 'data-testid="adjust"' not in clerk.get(f"/admin/parts_account/details/?id={account.id}").get_data(
        as_text=True)
    adjust(clerk, account.id, adjust_amount="10", adjust_reason="职员调账")
    response = dealer1.post(f"/admin/parts_account/adjust/?id={account.id}", data={
        "csrf_token": dealer1.csrf, "adjust_token": "0" * 32, "adjust_amount": "10", "adjust_reason": "跨网点"})
    assert response.status_code == 404
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.reason.in_(("职员调账", "跨网点")))) == 0


def test_a_credit_request_and_its_history_are_scoped_to_the_outlet(login_as, session):  # R-ROLE-1
    account = ledger.account_of(session, f.outlet(session, "GZ-TH-01").id)
    adjust(login_as("manager"), account.id, adjust_amount="15.00", adjust_reason="误扣冲回")
    session.expire_all()
    asked = session.scalar(select(ApprovalRequest).where(ApprovalRequest.parts_account_id == account.id))
    own = login_as("dealer1").get(f"/admin/approval/details/?id={asked.id}").get_data(as_text=True)
    assert 'data-testid="approval-history"' in own and "误扣冲回" in own
    assert "陈志强" not in own.split('data-testid="approval-history"')[1]  # the center, not its staff
    for username in ("dealer2", "engineer", "engineer2"):
        assert login_as(username).get(f"/admin/approval/details/?id={asked.id}").status_code in (403, 404)


def test_held_on_account_is_what_was_issued_and_not_yet_returned(login_as, session):  # R-PART-2
    account = ledger.account_of(session, f.outlet(session, "FS-SD").id)
    issued = -sum((e.delta for e in session.scalars(select(LedgerEntry).where(
        LedgerEntry.outlet_id == account.outlet_id, LedgerEntry.kind.in_(ledger.HELD_KINDS)))), Decimal("0"))
    manager = login_as("manager")
    adjust(manager, account.id, adjust_amount="-40.00", adjust_reason="盘点短少")  # a correction is not a part held
    statement = manager.get(f"/admin/parts_account/details/?id={account.id}").get_data(as_text=True)
    assert f"¥{issued:,.2f}" in statement.split('data-testid="statement-period"')[0]
    listed = manager.get("/admin/parts_account/").get_data(as_text=True)
    assert f"¥{issued:,.2f}" in listed
