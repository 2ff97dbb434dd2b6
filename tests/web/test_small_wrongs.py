"""Smaller wrongs, as the screens show them: the verdict badge, raw values
on the approval page, the return-visit search box, the timeline's first line, and refusals that
say why (R-WAR-1…4, R-TKT-5, R-ROLE-2)."""
import re
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from backoffice import approvals, fee_claims, intake, network_approvals, workflow
from backoffice.timezones import local_today
from models import ApprovalRequest, FeeClaim, Ticket
from tests import factories as f
from tests.conftest import login


def text(response):
    return response.get_data(as_text=True)


def in_english(session, *usernames):
    for username in usernames:
        f.user(session, username).locale = "en"
    session.commit()


def registered(session, outlet="GZ-TH", invoice_days=100, kind="repair", price=None) -> Ticket:
    unit = f.unit_of(session, outlet)
    unit.invoice_date = local_today() - timedelta(days=invoice_days) if invoice_days is not None else None
    if price is not None:
        unit.price = Decimal(price)
    ticket = intake.register_report(session, intake.Report(
        kind=kind, fault="热水器打不着火", customer_id=unit.customer_id, unit_id=unit.id,
        outlet_id=unit.outlet_id), f.user(session, "clerk"))
    session.commit()
    return ticket


def badge(page) -> str:
    return re.search(r'data-testid="warranty-badge">([^<]*)<', page).group(1).strip()


def flashes(client, response) -> str:
    """The flashed messages on the page the response redirects to (not the page's own notes)."""
    assert response.status_code == 302, text(response)[:300]
    page = text(client.get(response.location))
    return " ".join(re.findall(r'class="alert[^"]*alert-dismissable"[^>]*>(.*?)</div>', page, re.S))


# --- point 2: the badge says what the verdict is --------------------------------------------
def test_ticket_badge_names_a_missing_invoice_not_out_of_warranty(login_as, session):  # R-WAR-1
    ticket = registered(session, invoice_days=None)
    in_english(session, "clerk")
    page = text(login_as("clerk").get(f"/admin/ticket/details/?id={ticket.id}"))
    assert badge(page) == "No purchase invoice" and "badge-warning" in page  # unknown, not expired


def test_ticket_badge_names_the_exclusion_cause(login_as, session):  # R-WAR-4
    ticket = registered(session)
    workflow.perform(session, ticket, "diagnose", f.user(session, "clerk"), {
        "service_mode": "onsite", "severity": "minor", "exclusion": "misuse", "note": "进水短路"})
    session.commit()
    in_english(session, "clerk")
    assert badge(text(login_as("clerk").get(f"/admin/ticket/details/?id={ticket.id}"))) == "Not covered: misuse"


def test_chinese_badge_of_a_unit_without_invoice_is_not_out_of_warranty(login_as, session):
    ticket = registered(session, invoice_days=None)
    page = text(login_as("clerk").get(f"/admin/ticket/details/?id={ticket.id}"))
    verdict_card = page.split('data-testid="warranty-verdict"')[1].split("</div></div>")[0]
    assert "已过保修期" not in verdict_card


# --- point 4: labels, not stored values, on the approval page ---------------------------------
def test_approval_page_shows_the_warranty_window_label_not_its_value(login_as, session):  # R-WAR-5
    ticket = registered(session, invoice_days=3, kind="return_exchange", price="2599.00")
    asked = approvals.submit(session, ticket, f.user(session, "clerk"), approvals.Draft(
        kind="return_refund", grounds="sanbao_window", reason="7天内质量问题", amount=Decimal("2599.00")))
    session.commit()
    in_english(session, "manager")
    page = text(login_as("manager").get(f"/admin/approval/details/?id={asked.id}"))
    row = re.search(r">Warranty window</th>\s*<td>(.*?)</td>", page, re.S).group(1).strip()
    assert row == "7-day return window"


# --- point 5: the search box names its columns ------------------------------------------------
def test_return_visit_search_placeholder_names_the_columns(login_as, session):
    page = text(login_as("clerk").get("/admin/return_visit/"))
    placeholder = re.search(r'name="search"[^>]*placeholder="([^"]*)"', page, re.S).group(1)
    assert placeholder == "服务单号, 联系电话" and "ticket." not in page.split("<body")[1].split("</form>")[0]


def test_no_search_box_names_a_column_by_its_path(app):
    """Every list's placeholder is made of column labels (Flask-Admin falls back to the raw name)."""
    with app.test_request_context():
        views = [v for v in app.extensions["admin"][0]._views if getattr(v, "column_searchable_list", None)]
        raw = {v.endpoint: v.search_placeholder() for v in views if "." in v.search_placeholder()}
    assert views and raw == {}


# --- point 6: the timeline's first line --------------------------------------------------------
def test_timeline_first_line_says_registered_once(login_as, session):  # R-TKT-5
    ticket = registered(session)
    in_english(session, "clerk")
    page = text(login_as("clerk").get(f"/admin/ticket/details/?id={ticket.id}"))
    timeline = page.split('data-testid="timeline"')[1].split("</ul>")[0]
    first = " ".join(re.search(r"<li>.*?</li>", timeline, re.S).group(0).split())
    assert "Registered" in first and first.count("Registered") == 1 and "李晓敏" in first


# --- point 7: a step not open to the role -----------------------------------------------------
def post_step(client, ticket, name, **data):
    return client.post(f"/admin/ticket/transition/{name}/?id={ticket.id}",
                       data={"csrf_token": client.csrf, "loaded_version": ticket.version_id, **data})


def proposed(session) -> Ticket:
    ticket = registered(session)
    clerk = f.user(session, "clerk")
    workflow.perform(session, ticket, "diagnose", clerk, {"service_mode": "onsite", "severity": "minor",
                                                          "note": "点火针积碳"})
    workflow.perform(session, ticket, "propose", clerk, {"note": "更换点火针"})
    session.commit()
    return ticket


def test_a_step_not_open_to_the_role_goes_back_to_the_ticket_saying_so(login_as, session):  # R-TKT-5
    ticket = proposed(session)
    in_english(session, "engineer", "dealer1")
    engineer = login_as("engineer")
    said = flashes(engineer, post_step(engineer, ticket, "agree"))
    assert "Your role (Engineer) may not take the step “Customer agreed”" in said
    dealer = login_as("dealer1")
    said = flashes(dealer, post_step(dealer, ticket, "warranty_override", window="repair", note="好意"))
    assert "Your role (Dealer) may not take the step “Override warranty verdict”" in said
    session.expire_all()
    assert session.get(Ticket, ticket.id).status == "solution_proposed"
    assert session.get(Ticket, ticket.id).warranty_code != "override"


def test_a_step_open_to_the_role_but_not_now_says_not_possible_now(login_as, session):
    ticket = proposed(session)
    in_english(session, "clerk")
    clerk = login_as("clerk")
    assert "That step is not possible for this ticket now." in flashes(clerk, post_step(clerk, ticket, "close"))


def test_a_step_from_a_page_of_an_earlier_sign_in_goes_back_to_the_ticket(app, login_as, session):
    """The clerk's page, sent after the engineer signed in on the same browser: the security token
    belongs to the old session, so the step is refused before the ticket, but politely."""
    ticket = proposed(session)
    in_english(session, "engineer")
    browser = login_as("clerk")
    page = text(browser.get(f"/admin/ticket/details/?id={ticket.id}"))
    old_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    browser.post("/logout", data={"csrf_token": browser.csrf})
    login(browser, "engineer")
    response = browser.post(f"/admin/ticket/transition/agree/?id={ticket.id}",
                            data={"csrf_token": old_token, "loaded_version": ticket.version_id})
    assert response.location.endswith(f"/admin/ticket/details/?id={ticket.id}")
    assert "Nothing was changed" in flashes(browser, response)
    session.expire_all()
    assert session.get(Ticket, ticket.id).status == "solution_proposed"


# --- point 8: an approval decision refused for a reason says the reason ------------------------
def decide(client, request_id, decision="approve", note="同意"):
    page = text(client.get(f"/admin/approval/details/?id={request_id}"))
    version = re.search(r'name="loaded_version" value="(\d+)"', page)
    return client.post(f"/admin/approval/decide/?id={request_id}", data={
        "csrf_token": client.csrf, "decision": decision, "note": note,
        "loaded_version": version.group(1) if version else ""})


def refund_requested(session, by="clerk", amount="2599.00") -> ApprovalRequest:
    ticket = registered(session, outlet="SC-GZ", invoice_days=3, kind="return_exchange", price="4999.00")
    asked = approvals.submit(session, ticket, f.user(session, by), approvals.Draft(
        kind="return_refund", grounds="sanbao_window", reason="7天内质量问题", amount=Decimal(amount)))
    session.commit()
    return asked


def test_requester_posting_a_decision_is_told_why(login_as, session):  # R-ROLE-2
    asked = refund_requested(session, by="manager")
    in_english(session, "manager")
    manager = login_as("manager")
    said = flashes(manager, decide(manager, asked.id))
    assert "Whoever requested an approval can never approve it." in said and "meanwhile" not in said
    session.expire_all()
    assert session.get(ApprovalRequest, asked.id).status == "pending"


def test_non_manager_posting_a_decision_is_told_only_managers_decide(login_as, session):
    asked = refund_requested(session)
    in_english(session, "clerk")
    clerk = login_as("clerk")
    assert "Only a manager decides approval requests." in flashes(clerk, decide(clerk, asked.id))


def test_first_approver_approving_again_is_told_a_second_manager_must(login_as, session):  # R-RET-4
    asked = refund_requested(session, amount="4999.00")
    in_english(session, "manager")
    manager = login_as("manager")
    assert "Decision recorded." in flashes(manager, decide(manager, asked.id))
    said = flashes(manager, decide(manager, asked.id))  # the page offers no form now: no version
    assert "A second, different manager must approve this amount." in said
    session.expire_all()
    assert session.get(ApprovalRequest, asked.id).second_approver_id is None


def test_decision_on_a_request_decided_meanwhile_says_so(login_as, session):
    asked = refund_requested(session)
    in_english(session, "admin")
    manager, admin = login_as("manager"), login_as("admin")
    page = text(admin.get(f"/admin/approval/details/?id={asked.id}"))
    old_version = re.search(r'name="loaded_version" value="(\d+)"', page).group(1)
    decide(manager, asked.id, "reject", "不符合")
    response = admin.post(f"/admin/approval/decide/?id={asked.id}", data={
        "csrf_token": admin.csrf, "decision": "approve", "note": "同意", "loaded_version": old_version})
    assert "Someone decided this request meanwhile" in flashes(admin, response)


def test_manager_who_audited_the_claim_is_told_why_not_the_charge_back(login_as, session):  # R-ROLE-2
    claim = session.scalars(select(FeeClaim).where(FeeClaim.status == "claimed").order_by(FeeClaim.id)).first()
    manager = f.user(session, "manager")
    f.bring_back_old_parts(session, claim)
    fee_claims.audit(session, claim, manager, "approve", "单据齐全")
    asked = network_approvals.ask_chargeback(session, claim, f.user(session, "clerk"), Decimal("10.00"),
                                             "回访核实：多报差旅费")
    session.commit()
    in_english(session, "manager")
    client = login_as("manager")
    said = flashes(client, decide(client, asked.id))
    assert "You audited this claim: another manager decides the charge-back." in said
