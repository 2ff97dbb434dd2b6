"""The monthly reconciliation screens, both sides signing (R-PART-7, R-ROLE-1): the outlet
confirms or disputes its statement, the center resolves a dispute (corrections with reasons,
or no change with the reason; a credit only by a manager, R-PART-8) and the statement is
reissued for the outlet to confirm; the closed month shows every dispute and its outcome.

Demo world: DG-NC's last month is still open and DG-NC has no dealer account; each test makes
its own dealer for it (`dealer_dg`)."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice import ledger
from models import LedgerEntry, PartsReconciliation
from tests import factories as f
from tests.web.test_parts_screens import EN, make_dealer, post_action, text, version


def month_of(session, code="DG-NC") -> PartsReconciliation:
    session.expire_all()
    return session.scalar(select(PartsReconciliation).where(
        PartsReconciliation.outlet_id == f.outlet(session, code).id))


def details(client, record, **headers):
    return text(client.get(f"/admin/parts_month/details/?id={record.id}", headers=headers or None))


@pytest.fixture
def dg(app, login_as, session):
    """(dealer of DG-NC, clerk, DG-NC's open month)."""
    make_dealer(app, session, "dealer_dg", "DG-NC")
    return login_as("dealer_dg"), login_as("clerk"), month_of(session)


def dispute(client, record, reason="10月3日的主控板没有收到"):
    return post_action(client, "parts_month", "dispute", record.id, dispute_reason=reason)


def corrections(*lines, outcome="corrections", note=""):
    data = {"outcome": outcome, "resolution_note": note}
    for n, (amount, reason) in enumerate(lines):
        data[f"correction-{n}-amount"], data[f"correction-{n}-reason"] = amount, reason
    return data


def test_only_the_outlet_has_the_confirm_and_dispute_buttons(dg, login_as, session):  # R-PART-7
    dealer, clerk, record = dg
    assert 'action="/admin/parts_month/confirm/' in details(dealer, record)
    assert 'action="/admin/parts_month/dispute/' in details(dealer, record)
    for username in ("clerk", "manager", "admin"):
        page = details(login_as(username), record)
        assert 'action="/admin/parts_month/confirm/' not in page and 'action="/admin/parts_month/dispute/' not in page
    # A forged confirmation by the center changes nothing.
    assert post_action(clerk, "parts_month", "confirm", record.id).status_code in (302, 403)
    assert month_of(session).status == "open"


def test_dealer_disputes_manager_credits_dealer_confirms_reissued(dg, login_as, session):  # R-PART-7, R-PART-8
    dealer, clerk, record = dg
    manager = login_as("manager")
    balance, closing = ledger.balance_of(session, record.outlet_id), record.closing
    assert dispute(dealer, record).status_code == 302
    assert 'data-testid="resolve"' not in details(dealer, record)  # the outlet never resolves
    assert 'data-testid="confirm-why-not"' in details(dealer, record)  # it waits for the center
    page = details(manager, record)
    assert 'data-testid="resolve"' in page and page.count('name="correction-') == 6  # 3 rows: amount + reason
    assert 'data-testid="credit-why-not"' not in page  # a manager credits
    refused = post_action(dealer, "parts_month", "resolve", record.id,
                          **corrections(("100.00", "自己冲账")))
    assert refused.status_code in (302, 403) and month_of(session).status == "disputed"

    assert post_action(manager, "parts_month", "resolve", record.id,
                       **corrections(("120.00", "主控板未到，冲回"), ("", ""), ("-20.00", "运费分摊"),
                                     note="核对签收单")).status_code == 302
    reissued = month_of(session)
    assert (reissued.status, reissued.revision, reissued.corrections) == ("open", 2, Decimal("100.00"))
    assert ledger.balance_of(session, record.outlet_id) == balance + Decimal("100.00")
    assert reissued.closing == closing + Decimal("100.00")

    page = details(dealer, reissued, **EN)
    assert 'data-testid="revision"' in page and 'data-testid="corrections"' in page
    assert re.search(r'data-testid="corrections-total">\+100\.00<', page)
    assert re.search(rf'data-testid="adjusted-closing">{reissued.closing:,.2f}<', page)
    assert "主控板未到，冲回" in page and "10月3日的主控板没有收到" in page
    assert 'action="/admin/parts_month/confirm/' in page  # the outlet confirms the reissued statement
    assert post_action(dealer, "parts_month", "confirm", record.id).status_code == 302
    assert post_action(clerk, "parts_month", "close", record.id).status_code == 302

    closed = month_of(session)
    assert (closed.status, closed.confirmed_by.username, closed.closed_by.username) == ("closed", "dealer_dg", "clerk")
    page = details(login_as("manager"), closed, **EN)
    history = page[page.index('data-testid="dispute-history"'):]
    for shown in ("10月3日的主控板没有收到", "Corrected", "主控板未到，冲回", "运费分摊", "核对签收单",
                  f.user(session, "manager").full_name, "revision 2"):
        assert shown in history, shown


def test_a_clerks_credit_is_refused_on_its_amount_line_nothing_posted(dg, session):  # R-PART-8, R-ROLE-2
    dealer, clerk, record = dg
    dispute(dealer, record)
    page = details(clerk, record, **EN)
    assert 'data-testid="resolve"' in page  # the clerk resolves, and is told up front a credit is not theirs
    assert re.search(r'data-testid="credit-why-not">[^<]*Only a manager credits', page)
    entries, balance = session.scalar(select(func.count(LedgerEntry.id))), ledger.balance_of(session, record.outlet_id)
    url = f"/admin/parts_month/details/?id={record.id}"
    refused = clerk.post(f"/admin/parts_month/resolve/?id={record.id}", headers=EN, data={
        "csrf_token": clerk.csrf, "loaded_version": version(clerk, url),
        **corrections(("-10.00", "多发垫圈，扣回"), ("120.00", "主控板未到，冲回"), note="核对签收单")})
    page = text(refused)
    assert refused.status_code == 200
    amount = re.search(r'name="correction-1-amount"[^>]*is-invalid[^>]*value="120.00">\s*'
                       r'<div class="invalid-feedback d-block">([^<]*)</div>', page)
    assert amount and "Only a manager credits" in amount.group(1)
    assert not re.search(r'name="correction-0-amount"[^>]*is-invalid', page)  # the debit line is fine
    for typed in ('value="-10.00"', 'value="多发垫圈，扣回"', 'value="主控板未到，冲回"', "核对签收单"):
        assert typed in page, typed  # nothing typed is lost
    session.expire_all()
    assert session.scalar(select(func.count(LedgerEntry.id))) == entries
    assert ledger.balance_of(session, record.outlet_id) == balance
    found = month_of(session)
    assert (found.status, found.revision, [d.outcome for d in found.disputes]) == ("disputed", 1, [None])
    assert 'data-testid="confirm-why-not"' in details(dealer, found)  # the outlet still waits


def test_a_clerk_resolves_with_a_debit_and_the_dealer_reads_it(dg, session):  # R-PART-7, R-PART-8
    dealer, clerk, record = dg
    dispute(dealer, record, "9月的运费没有分摊")
    balance = ledger.balance_of(session, record.outlet_id)
    assert post_action(clerk, "parts_month", "resolve", record.id,
                       **corrections(("-15.50", "运费分摊"))).status_code == 302
    found = month_of(session)
    assert (found.status, found.revision, found.corrections) == ("open", 2, Decimal("-15.50"))
    assert ledger.balance_of(session, record.outlet_id) == balance - Decimal("15.50")
    page = details(dealer, found, **EN)
    assert re.search(r'data-testid="corrections-total">-15\.50<', page) and "运费分摊" in page
    assert 'action="/admin/parts_month/confirm/' in page
    assert post_action(dealer, "parts_month", "confirm", record.id).status_code == 302
    assert month_of(session).status == "confirmed"


def test_no_change_needs_a_reason_and_typed_lines_are_kept(dg, session):  # R-PART-7
    dealer, clerk, record = dg
    dispute(dealer, record)
    no_reason = post_action(clerk, "parts_month", "resolve", record.id, outcome="no_change", resolution_note=" ")
    assert no_reason.status_code == 200 and re.search(r'name="resolution_note"[^>]*is-invalid', text(no_reason))
    bad = post_action(clerk, "parts_month", "resolve", record.id,
                      **corrections(("一百", "少发"), ("50.00", "")))
    page = text(bad)
    assert bad.status_code == 200
    assert re.search(r'name="correction-0-amount"[^>]*is-invalid[^>]*value="一百"', page)
    assert 'value="少发"' in page and 'value="50.00"' in page  # nothing typed is lost
    assert month_of(session).status == "disputed"
    assert post_action(clerk, "parts_month", "resolve", record.id, outcome="no_change",
                       resolution_note="签收单显示已全部收到").status_code == 302
    found = month_of(session)
    assert (found.status, found.revision, found.closing) == ("open", 2, record.closing)
    assert "签收单显示已全部收到" in details(dealer, found)


def test_a_correction_beyond_the_balance_is_refused_and_books_nothing(dg, session):  # R-PART-7, R-PART-8
    dealer, clerk, record = dg
    dispute(dealer, record)
    entries = session.scalar(select(func.count(LedgerEntry.id)))
    balance = ledger.balance_of(session, record.outlet_id)
    refused = post_action(clerk, "parts_month", "resolve", record.id,
                          **corrections((f"-{balance + 1}", "扣回多发的配件")))
    assert refused.status_code == 200 and re.search(r'name="correction-0-amount"[^>]*is-invalid', text(refused))
    session.expire_all()
    assert session.scalar(select(func.count(LedgerEntry.id))) == entries and month_of(session).status == "disputed"


def test_a_stale_second_resolution_is_refused(dg, login_as, session):  # R-PART-7
    dealer, clerk, record = dg
    dispute(dealer, record)
    url = f"/admin/parts_month/details/?id={record.id}"
    manager = login_as("manager")
    loaded = version(manager, url)  # the manager's page, loaded before the clerk resolves
    assert post_action(clerk, "parts_month", "resolve", record.id, outcome="no_change",
                       resolution_note="无误").status_code == 302
    late = manager.post(f"/admin/parts_month/resolve/?id={record.id}", data={
        "csrf_token": manager.csrf, "loaded_version": loaded, **corrections(("10.00", "补"))})
    assert late.status_code == 302
    found = month_of(session)
    assert (found.revision, found.corrections) == (2, Decimal("0.00"))
    assert [d.outcome for d in found.disputes] == ["no_change"]


def test_the_list_shows_the_period_and_the_revision(dg, session):  # R-PART-7, words
    dealer, clerk, record = dg
    dispute(dealer, record)
    post_action(clerk, "parts_month", "resolve", record.id, outcome="no_change", resolution_note="无误")
    listing = text(clerk.get("/admin/parts_month/", headers={"Accept-Language": "zh-CN"}))
    assert "对账期间" in listing and "考核周期" not in listing
    assert 'data-testid="revision"' in listing
    export = text(clerk.get("/admin/parts_month/export/csv/", headers=EN))
    assert "Revision" in export.splitlines()[0] and "Corrections" in export.splitlines()[0]


def test_an_engineer_sees_no_months(login_as, session):  # R-ROLE-1
    engineer = login_as("engineer")
    record = month_of(session)
    assert engineer.get(f"/admin/parts_month/details/?id={record.id}").status_code in (302, 403, 404)
    assert engineer.post(f"/admin/parts_month/resolve/?id={record.id}",
                         data={"csrf_token": engineer.csrf, "outcome": "no_change",
                               "resolution_note": "x"}).status_code in (302, 403, 404)
    assert month_of(session).status == "open"
