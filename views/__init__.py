"""Flask-Admin screens and blueprints. Thin: they call backoffice services."""
from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from backoffice import csp, return_path
from backoffice.extensions import csrf
from backoffice.labels import CLOCK_STATES, label
from backoffice.permissions import MANAGERS
from backoffice.timezones import format_local
from models import (
    ApiToken,
    AppraisalRecord,
    ApprovalRequest,
    AuditEntry,
    AuthEvent,
    Customer,
    FaultCode,
    FinishedGoodsStock,
    JobRun,
    LedgerEntry,
    ModelSales,
    MoneyPosting,
    OldPart,
    OutboxMessage,
    Outlet,
    Part,
    PartsAccount,
    PartsReconciliation,
    PartsRequest,
    PartsReturn,
    PolicySetting,
    ProductModel,
    ReturnVisit,
    SlaPolicy,
    StaffNotification,
    Ticket,
    Unit,
    User,
    choices,
)

from . import fees, kpis, list_rows, quality_report, training
from .appraisal import AppraisalRankingView, AppraisalView
from .approvals import ApprovalView
from .auth import bp as auth_bp
from .catalog import PartView
from .channel_api import bp as api_bp
from .customers import CustomerView, ModelSalesView, ProductModelView, UnitView
from .fields import LABELS
from .health import bp as health_bp
from .home import AccountView, HomeView
from .intake import IntakeView
from .job_runs import JobRunView
from .ledger_entries import LedgerEntryView
from .menu import APPROVALS, RoleMenuLink, add_notifications_link, add_queue_links
from .metrics import bp as metrics_bp
from .money_postings import MoneyPostingView
from .network import OutletView, UserView
from .notifications import NotificationView
from .old_parts import OldPartView, PartsReturnView
from .outbox import OutboxView
from .outlet_evaluation import OutletEvaluationView
from .parts_accounts import PartsAccountView, ReconciliationView
from .parts_requests import PartsRequestView
from .public_pages import bp as public_bp
from .records import ApiTokenView, AuditView, AuthEventView, PolicySettingView
from .service import FaultCodeView, ReturnVisitView, SlaPolicyView, StockView
from .tickets import TicketView

EVENT_LABELS = {"registered": _l("Registered"), "edited": _l("Edited"), "status": _l("Status changed"),
                "assigned": _l("Assigned"), "note": _l("Note"), "paused": _l("Clock paused: awaiting the customer"),
                "resumed": _l("Clock resumed"), "wait_for_customer": _l("Clock paused: awaiting the customer"),
                "customer_back": _l("Clock resumed"), "reopened": _l("Reopened (repeat repair)"),
                "warranty_override": _l("Warranty verdict overridden"),
                "installation_materials": _l("Installation materials used"),
                "approval_requested": _l("Approval requested"), "approval_approve": _l("Approved by a manager"),
                "approval_reject": _l("Rejected by a manager"),
                "approval_ask_info": _l("Manager asked for more information"),
                "approval_info_given": _l("Information given"),
                "approval_withdrawn": _l("Withdrawn with its parts request"),
                "caller_called": _l("Caller called again"),
                "handed_over": _l("Handed over: the outlet left the network")}


def event_label(action: str) -> str:
    """A timeline line's name: its own label, else the workflow step's (take_back_unit …)."""
    from backoffice.workflow import BY_NAME

    found = EVENT_LABELS.get(action) or (BY_NAME[action].label if action in BY_NAME else action)
    return str(found)


ENUMS = {"service_mode": choices.ServiceMode, "severity": choices.Severity,
         "complaint_class": choices.ComplaintClass, "queue": choices.Queue, "visit_kind": choices.VisitKind,
         "fee_kind": choices.FeeKind, "approval_kind": choices.ApprovalKind}


def _register_reports(admin) -> None:
    """The reports menu (issue 15): each report module registers its pages (R-RPT-*)."""
    reports = _l("Reports")
    quality_report.register(admin, reports)  # R-RPT-1
    kpis.register(admin, reports)  # R-RPT-2, R-CMP-4
    admin.add_view(ModelSalesView(ModelSales, _l("Sales per model"), category=reports, endpoint="model_sales"))


def _register_notifications(admin, service, system) -> None:
    """Issue 17: the customers' outbox, the periodic jobs' runs, and everyone's own notifications."""
    admin.add_view(OutboxView(OutboxMessage, _l("Messages to customers"), category=service, endpoint="outbox"))
    admin.add_view(JobRunView(JobRun, _l("Scheduled job runs"), category=system, endpoint="job_run"))
    notifications = NotificationView(StaffNotification, _l("My notifications"), endpoint="notification")
    admin.add_view(notifications)
    add_notifications_link(admin, notifications)  # with the unread badge


def _register_bench(app: Flask, admin: Admin) -> None:
    """Issue 16: bench/bench.py's stock and lean references, only in bench mode (never in production)."""
    if app.config.get("BENCH"):
        from . import bench

        bench.register(app, admin)


def _register_blueprints(app: Flask) -> None:
    app.register_blueprint(auth_bp)
    csrf.exempt(api_bp)  # bearer tokens, never cookies: nothing for a forged form to ride on
    app.register_blueprint(api_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(health_bp)  # /healthz, /readyz
    app.register_blueprint(metrics_bp)  # /metrics: public like /healthz, or a bearer METRICS_TOKEN


def init_views(app: Flask) -> None:
    _register_blueprints(app)
    admin = Admin(app, name=_l("After-sales service"), url="/admin",
                  theme=Bootstrap4Theme(base_template="backoffice_base.html", fluid=True),
                  index_view=HomeView(name=_l("Overview"), url="/admin"),
                  csp_nonce_generator=csp.nonce)  # Flask-Admin's inline scripts carry the nonce
    service = _l("Service")
    archive = _l("Archive")
    network = _l("Dealer network")
    staff = _l("Staff")
    system = _l("System")
    admin.add_view(IntakeView(_l("Register fault"), category=service, endpoint="intake", url="/admin/intake"))
    tickets = TicketView(Ticket, _l("Tickets"), category=service, endpoint="ticket")
    admin.add_view(tickets)
    add_queue_links(app, admin, tickets, service)
    admin.add_view(ReturnVisitView(ReturnVisit, _l("Return visits"), category=service, endpoint="return_visit"))
    approvals_view = ApprovalView(ApprovalRequest, _l("Approvals"), category=service, endpoint="approval")
    admin.add_view(approvals_view)
    admin.add_menu_item(RoleMenuLink(_l("Approvals to decide"), MANAGERS, count=APPROVALS,
                                     url=approvals_view.queue_url("mine_to_decide")), target_category=service)
    admin.add_view(MoneyPostingView(MoneyPosting, _l("Money postings"), category=service, endpoint="money_posting"))
    admin.add_view(CustomerView(Customer, _l("Customers"), category=archive, endpoint="customer"))
    admin.add_view(UnitView(Unit, _l("Units sold"), category=archive, endpoint="unit"))
    admin.add_view(ProductModelView(ProductModel, _l("Product models"), category=archive,
                                    endpoint="product_model"))
    admin.add_view(OutletView(Outlet, _l("Outlets"), category=network, endpoint="outlet"))
    admin.add_view(PartView(Part, _l("Parts price list"), category=network, endpoint="part"))
    admin.add_view(FaultCodeView(FaultCode, _l("Fault codes"), category=archive, endpoint="fault_code"))
    admin.add_view(StockView(FinishedGoodsStock, _l("Finished-goods stock"), category=network, endpoint="stock"))
    admin.add_view(OutletEvaluationView(_l("Outlet evaluation"), category=network, endpoint="outlet_evaluation",
                                        url="/admin/outlet_evaluation"))  # R-APR-5
    parts = _l("Spare parts")
    admin.add_view(PartsRequestView(PartsRequest, _l("Parts requests"), category=parts, endpoint="parts_request"))
    admin.add_view(PartsAccountView(PartsAccount, _l("Parts accounts"), category=parts, endpoint="parts_account"))
    admin.add_view(LedgerEntryView(LedgerEntry, _l("Ledger entries"), category=parts, endpoint="ledger_entry"))
    admin.add_view(OldPartView(OldPart, _l("Old parts"), category=parts, endpoint="old_part"))
    admin.add_view(PartsReturnView(PartsReturn, _l("Old-part returns"), category=parts, endpoint="parts_return"))
    admin.add_view(ReconciliationView(PartsReconciliation, _l("Monthly reconciliation"), category=parts,
                                      endpoint="parts_month"))
    fees.register(admin)
    admin.add_view(AppraisalView(AppraisalRecord, _l("Appraisals"), category=staff, endpoint="appraisal"))
    admin.add_view(AppraisalRankingView(_l("Annual appraisal ranking"), category=staff, endpoint="appraisal_ranking",
                                        url="/admin/appraisal_ranking"))
    training.register(admin, staff)  # R-APR-6: courses, sessions, records, due for retraining
    _register_reports(admin)
    admin.add_view(UserView(User, _l("Users"), category=system, endpoint="user"))
    admin.add_view(PolicySettingView(PolicySetting, _l("Policies"), category=system, endpoint="policy"))
    admin.add_view(SlaPolicyView(SlaPolicy, _l("SLA policies"), category=system, endpoint="sla_policy"))
    admin.add_view(AuditView(AuditEntry, _l("Audit trail"), category=system, endpoint="audit"))
    admin.add_view(AuthEventView(AuthEvent, _l("Sign-in log"), category=system, endpoint="auth_event"))
    admin.add_view(ApiTokenView(ApiToken, _l("Channel API tokens"), category=system, endpoint="api_token"))
    _register_notifications(admin, service, system)
    admin.add_view(AccountView(_l("My account"), endpoint="account", url="/admin/account"))
    _register_bench(app, admin)

    app.jinja_env.filters["localtime"] = format_local
    app.jinja_env.filters["field_label"] = lambda key: str(LABELS.get(key, key))
    app.jinja_env.globals.update(
        role_label=lambda value: label(choices.Role, value),
        status_label=lambda value: label(choices.TicketStatus, value),
        kind_label=lambda value: label(choices.TicketKind, value),
        window_label=lambda value: label(choices.WarrantyWindow, value),
        enum_label=lambda enum_name, value: label(ENUMS[enum_name], value),
        old_unit_how_label=lambda value: str(return_path.OLD_UNIT_HOW.get(value, value)),
        approval_kind_label=lambda value: label(choices.ApprovalKind, value),
        approval_status_label=lambda value: label(choices.ApprovalStatus, value),
        clock_state_label=lambda value: str(CLOCK_STATES.get(value, value)),
        event_label=event_label,
        csp_nonce=csp.nonce,  # <script nonce="{{ csp_nonce() }}"> in our templates
        list_row_actions_html=list_rows.row_actions,  # admin/model/list.html
    )
