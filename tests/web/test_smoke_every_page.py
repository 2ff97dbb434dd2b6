"""Every screen every role can reach answers without a server error."""
import pytest
from flask_admin.contrib.sqla import ModelView

ROLES = ["admin", "manager", "clerk", "engineer", "dealer1", "dealer2"]
ENDPOINTS = ["ticket", "customer", "unit", "product_model", "outlet", "part", "appraisal", "user",
             "policy", "audit", "auth_event", "return_visit", "fault_code", "sla_policy", "approval", "stock",
             "api_token",
             "parts_request", "parts_account", "ledger_entry", "old_part", "parts_return", "parts_month",
             "fee_claim", "fee_batch", "travel_band", "money_posting",
             "training_course", "training_session", "training_record", "model_sales",
             "outbox", "job_run", "notification"]
PAGES = ["/admin/parts_request/request/", "/admin/parts_request/picking/?id=1",
         "/admin/parts_request/picking/?id=5", "/admin/parts_account/statement.csv?id=1",
         "/admin/parts_account/statement.csv?id=2&from=2026-01-01&to=2026-12-31",
         "/admin/parts_account/details/?id=1&month=2026-13", "/admin/parts_account/details/?id=1&month=nonsense",
         "/admin/parts_account/details/?id=2&from=2026-01-01&to=2026-12-31",
         "/admin/parts_account/details/?id=1&from=2026-02-30&to=x", "/admin/old_part/return/",
         "/admin/old_part/?flt0_2=yes", "/admin/parts_request/?flt0_2=2026-10-01+to+2026-10-31",
         "/admin/appraisal_ranking/", "/admin/appraisal_ranking/?year=2025", "/admin/appraisal_ranking/?year=x",
         "/admin/appraisal_ranking/export/csv/", "/admin/appraisal_ranking/export/xlsx/",
         "/admin/appraisal_ranking/print/?staff=2&year=2025", "/admin/outlet_evaluation/",
         "/admin/outlet_evaluation/?year=2025", "/admin/outlet_evaluation/?year=99999",
         "/admin/outlet_evaluation/export.csv", "/admin/outlet_evaluation/export.xlsx?year=x",
         "/admin/outlet_evaluation/outlet/2/", "/admin/parts_account/statement.xlsx?id=1&month=2026-13",
         "/admin/outlet_evaluation/outlet/2/?year=abc", "/admin/training_due/",
         "/admin/quality_report/", "/admin/quality_report/?month=2026-13&outlet=x",
         "/admin/quality_report/?export=xlsx", "/admin/quality_report/?export=csv&outlet=3",
         "/admin/kpis/", "/admin/kpis/?from=x&to=2026-02-30", "/admin/kpis/?export=xlsx",
         "/admin/kpis/?export=csv&outlet=3",
         "/admin/ticket/?flt0_11=fault_reports&flt1_10=1", "/admin/ticket/?flt0_11=x&flt1_10=abc",
         *(f"/admin/ticket/{page}/?id={ticket_id}" for page in ("service_report", "signature")
           for ticket_id in (1, 5, "x", "")),
         *(f"/admin/{endpoint}/details/?id={record_id}"
           for endpoint in ("parts_request", "parts_account", "old_part", "parts_return", "parts_month")
           for record_id in (2, 3, 4, 5))]


def test_every_registered_list_screen_is_in_the_smoke_test(app):
    """A new Flask-Admin model screen must be added to ENDPOINTS above, so that every role opens it."""
    registered = {view.endpoint for admin in app.extensions["admin"] for view in admin._views
                  if isinstance(view, ModelView)}
    assert registered - set(ENDPOINTS) == set()


@pytest.mark.parametrize("username", ROLES)
def test_no_page_reachable_by_any_role_answers_5xx(login_as, username):
    client = login_as(username)
    urls = ["/", "/admin/", "/admin/account/", *PAGES]
    for endpoint in ENDPOINTS:
        urls += [f"/admin/{endpoint}/", f"/admin/{endpoint}/new/",
                 f"/admin/{endpoint}/details/?id=1", f"/admin/{endpoint}/edit/?id=1",
                 f"/admin/{endpoint}/export/csv/", f"/admin/{endpoint}/?search=1"]
    for url in urls:
        response = client.get(url)
        response.get_data()
        assert response.status_code < 500, url


ODD_QUERIES = ["?sort=99", "?sort=2&desc=1", "?page=-1", "?page=99999", "?page_size=100000",
               "?flt0_0=nonsense", "?flt0_5=2026-13-45+to+2026-01-01", "?flt9_9=x",
               "?search=%25%27%22<script>", "?search=" + "长" * 300]


@pytest.mark.parametrize("username", ["clerk", "dealer1"])
def test_odd_list_parameters_never_fail(login_as, username):
    client = login_as(username)
    for endpoint in ("ticket", "customer", "unit", "parts_request", "parts_account", "old_part", "parts_return",
                     "parts_month"):
        for query in ODD_QUERIES:
            response = client.get(f"/admin/{endpoint}/{query}")
            response.get_data()
            assert response.status_code < 500, (endpoint, query)
            assert "\"<script>" not in response.get_data(as_text=True)  # echoed escaped


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "<html" in response.get_data(as_text=True)
