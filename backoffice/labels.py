"""Labels of enumerated values in the user's language (values stay English in the data).

A label that names a policy number (the 三包 windows, "due within N h") is a `PolicyLabel`:
it reads the number from the policy each time it is shown, so a policy change cannot make
the interface lie.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from models.choices import (
    AppraisalDimension,
    AppraisalPeriod,
    ApprovalGrounds,
    ApprovalKind,
    ApprovalStatus,
    Area,
    Channel,
    ClaimPartBasis,
    Clock,
    CodeKind,
    ComplaintClass,
    DisputeOutcome,
    DisputeResolution,
    FeeClaimStatus,
    FeeKind,
    GasType,
    InspectionResult,
    IssueCategory,
    JobStatus,
    LedgerKind,
    NonCreditable,
    NotifyChannel,
    OldPartDisposal,
    OldPartState,
    OutboxStatus,
    PartsRequestStatus,
    PartsReturnStatus,
    ProductCategory,
    PurchaseChannel,
    Queue,
    ReconciliationStatus,
    Role,
    ServiceMode,
    Settlement,
    Severity,
    TicketKind,
    TicketStatus,
    VisitKind,
    WarrantyExclusion,
    WarrantyWindow,
)

from . import policy


def number(value: Decimal) -> str:
    """A policy number as a text shows it: 7, not 7.00; 0.5, not 5E-1."""
    value = Decimal(value)
    return str(int(value)) if value == value.to_integral_value() else str(value.normalize())


class PolicyLabel:
    """A translatable text whose %(name)s placeholders are policy values: `keys` maps each
    placeholder to its policy key. `render(session)` fills them from the policy; `str()` reads
    them once per request (a list shows a label on every row), or takes the default outside an
    app (e.g. in a CLI job). A number given to `render` wins (e.g. the window a past verdict was
    decided under)."""

    def __init__(self, text, **keys: str):
        self.text, self.keys = text, keys

    def render(self, session=None, **numbers) -> str:
        values = {name: number(numbers[name]) if numbers.get(name) is not None else
                  number(policy.value(session, key)) for name, key in self.keys.items()}
        return str(self.text) % values

    def __str__(self) -> str:
        return self.render(**{name: policy.shown(key) for name, key in self.keys.items()})

    def __repr__(self) -> str:
        return f"PolicyLabel({str(self.text)!r}, {self.keys!r})"



LABELS = {
    Role: {Role.ADMIN: _l("Administrator"), Role.MANAGER: _l("Manager"), Role.CLERK: _l("Clerk"),
           Role.ENGINEER: _l("Engineer"), Role.DEALER: _l("Dealer")},
    Area: {Area.URBAN: _l("Urban"), Area.SUBURBAN: _l("Suburban / county")},
    ProductCategory: {
        ProductCategory.GAS_WATER_HEATER: _l("Gas water heater"),
        ProductCategory.RANGE_HOOD: _l("Range hood"),
        ProductCategory.DISINFECTION_CABINET: _l("Disinfection cabinet"),
        ProductCategory.GAS_STOVE: _l("Gas stove"),
        ProductCategory.SHOES: _l("Shoes"),
        ProductCategory.OTHER: _l("Other"),
    },
    TicketKind: {TicketKind.REPAIR: _l("Repair"), TicketKind.INSTALLATION: _l("Installation"),
                 TicketKind.CONSULTATION: _l("Consultation"), TicketKind.COMPLAINT: _l("Complaint"),
                 TicketKind.RETURN_EXCHANGE: _l("Return / exchange")},
    Channel: {Channel.HOTLINE: _l("Hotline"), Channel.EMAIL: _l("Email"), Channel.WEB: _l("Web form"),
              Channel.WECHAT: _l("WeChat"), Channel.WALK_IN: _l("Walk-in"),
              Channel.DEALER: _l("Dealer-reported")},
    PurchaseChannel: {PurchaseChannel.STORE: _l("Brand store"), PurchaseChannel.DEALER: _l("Dealer"),
                      PurchaseChannel.ONLINE: _l("Online shop"),
                      PurchaseChannel.PROJECT: _l("Builder / group purchase"),
                      PurchaseChannel.OTHER: _l("Other")},
    IssueCategory: {IssueCategory.QUALITY: _l("Quality"), IssueCategory.SIZE: _l("Size"),
                    IssueCategory.DISCOMFORT: _l("Discomfort"), IssueCategory.OTHER: _l("Other")},
    TicketStatus: {
        TicketStatus.REGISTERED: _l("Registered"), TicketStatus.DIAGNOSED: _l("Diagnosed"),
        TicketStatus.SOLUTION_PROPOSED: _l("Solution proposed"), TicketStatus.AGREED: _l("Customer agreed"),
        TicketStatus.DISPATCHED: _l("Dispatched"), TicketStatus.IN_SERVICE: _l("In service"),
        TicketStatus.RETURNING: _l("Return / exchange under way"),
        TicketStatus.RESOLVED: _l("Resolved"), TicketStatus.RETURN_VISIT: _l("Return visit"),
        TicketStatus.CLOSED: _l("Closed"),
    },
    AppraisalPeriod: {AppraisalPeriod.WEEKLY: _l("Weekly check"), AppraisalPeriod.MONTHLY: _l("Monthly appraisal"),
                      AppraisalPeriod.YEAR_END: _l("Year-end appraisal"),
                      AppraisalPeriod.MONTHLY_CHECK: _l("Monthly check")},
    AppraisalDimension: {AppraisalDimension.CONDUCT: _l("Conduct (德)"),
                         AppraisalDimension.DILIGENCE: _l("Diligence (勤)"),
                         AppraisalDimension.ABILITY: _l("Ability (能)"),
                         AppraisalDimension.RESULTS: _l("Results (绩)")},
    Clock: {Clock.RESPONSE: _l("First response"), Clock.DISPATCH: _l("Technician dispatched"),
            Clock.ONSITE: _l("On site"), Clock.RESOLVE: _l("Resolution"), Clock.ANSWER: _l("Complaint answered")},
    WarrantyWindow: {WarrantyWindow.RETURN: PolicyLabel(_l("%(days)s-day return window"),
                                                        days="warranty.return_days"),
                     WarrantyWindow.EXCHANGE: PolicyLabel(_l("%(days)s-day exchange window"),
                                                          days="warranty.exchange_days"),
                     WarrantyWindow.REPAIR: _l("In warranty (repair)"),
                     WarrantyWindow.NONE: _l("Out of warranty")},
    ServiceMode: {ServiceMode.REMOTE: _l("Remote answer"), ServiceMode.ONSITE: _l("On-site service"),
                  ServiceMode.MAIL_IN: _l("Mail-in repair")},
    FeeKind: {FeeKind.INSTALLATION: _l("Installation fee"), FeeKind.TRAVEL: _l("Travel fee"),  # R-INST-1/2
              FeeKind.MATERIAL: _l("Installation materials")},
    Severity: {Severity.MINOR: _l("Minor"), Severity.MAJOR: _l("Major"), Severity.CRITICAL: _l("Critical")},
    WarrantyExclusion: {WarrantyExclusion.MISUSE: _l("Misuse"), WarrantyExclusion.THIRD_PARTY: _l("Third party"),
                        WarrantyExclusion.TRANSPORT: _l("Transport damage"),
                        WarrantyExclusion.GAS_SUPPLY_CHANGED: _l("Changed gas supply")},
    ComplaintClass: {
        ComplaintClass.PRODUCT_QUALITY: _l("Product quality"), ComplaintClass.SERVICE_QUALITY: _l("Service quality"),
        ComplaintClass.APPEARANCE: _l("Appearance (damaged or missing at unboxing)"),
        ComplaintClass.CHARGES: _l("Charges"), ComplaintClass.STRUCTURE: _l("Product structure"),
        ComplaintClass.ACCIDENT: _l("Accident"), ComplaintClass.BATCH_QUALITY: _l("Batch quality (outlet)"),
        ComplaintClass.PARTS: _l("Parts late, wrong or missing (outlet)"),
    },
    Queue: {Queue.SERVICE: _l("Service desk"), Queue.QA: _l("Production / QA"), Queue.SALES: _l("Sales"),
            Queue.RND: _l("R&D / repair team"), Queue.COMPLAINTS: _l("Complaints desk")},
    VisitKind: {VisitKind.SERVICE: _l("After service"), VisitKind.COMPLAINT: _l("After a complaint")},
    CodeKind: {CodeKind.FAULT: _l("Fault (symptom)"), CodeKind.CAUSE: _l("Cause"), CodeKind.REMEDY: _l("Remedy")},
    ApprovalKind: {
        ApprovalKind.RETURN_REFUND: _l("Return with refund"), ApprovalKind.EXCHANGE: _l("Exchange"),
        ApprovalKind.REPAIR_COMPENSATION: _l("Repair compensation (transport, lost time)"),
        ApprovalKind.EXTRA_COMPENSATION: _l("Extra compensation"), ApprovalKind.FEE_WAIVER: _l("Fee waiver"),
        ApprovalKind.VERDICT_OVERRIDE: _l("Warranty verdict override"),
        ApprovalKind.PARTS_EXTRA_BATCH: _l("Extra parts batch this week"),
        ApprovalKind.PARTS_INCIDENT: _l("Parts on account beyond the quota"),
        ApprovalKind.FEE_CHARGEBACK: _l("Service-fee charge-back"),
        ApprovalKind.PARTS_CREDIT: _l("Credit to a parts account"),
    },
    ApprovalGrounds: {
        ApprovalGrounds.SANBAO_WINDOW: PolicyLabel(_l("Inside the %(return_days)s / %(exchange_days)s-day window"),
                                                   return_days="warranty.return_days",
                                                   exchange_days="warranty.exchange_days"),
        ApprovalGrounds.UNREPAIRABLE: _l("Unrepairable"),
        ApprovalGrounds.STILL_FAULTY: _l("Still faulty after repair"),
        ApprovalGrounds.SIZE: _l("Size problem"),
        ApprovalGrounds.UNBOXING_APPEARANCE: _l("Damaged or missing at unboxing"),
        ApprovalGrounds.BATCH_FAILURE: _l("Batch failure"),
        ApprovalGrounds.QUALITY_REPAIRED: _l("Quality problem, repaired"),
        ApprovalGrounds.GOODWILL: _l("Goodwill"),
        ApprovalGrounds.INJURY: _l("Injury"),
        ApprovalGrounds.EXTRA_BATCH: _l("Weekly batches used"),
        ApprovalGrounds.QUALITY_INCIDENT: _l("Special quality incident"),
        ApprovalGrounds.OVERCHARGE: _l("Overcharge confirmed"),
        ApprovalGrounds.CORRECTION: _l("Correction of the account"),
    },
    ApprovalStatus: {ApprovalStatus.PENDING: _l("Waiting for a decision"),
                     ApprovalStatus.INFO_REQUESTED: _l("More information asked"),
                     ApprovalStatus.APPROVED: _l("Approved"), ApprovalStatus.REJECTED: _l("Rejected"),
                     ApprovalStatus.WITHDRAWN: _l("Withdrawn")},
    GasType: {GasType.NATURAL_GAS: _l("Natural gas"), GasType.LPG: _l("LPG"), GasType.TOWN_GAS: _l("Town gas")},
    LedgerKind: {LedgerKind.QUOTA: _l("Quota"), LedgerKind.ISSUE: _l("Issued on account"),
                 LedgerKind.PURCHASE: _l("Purchase (cash)"), LedgerKind.RETURN_CREDIT: _l("Old part credited"),
                 LedgerKind.CHARGE: _l("Charged to the outlet"), LedgerKind.ADJUSTMENT: _l("Adjustment"),
                 LedgerKind.FREIGHT: _l("Freight (cash)"), LedgerKind.CASH_REFUND: _l("Refund (cash)")},
    PartsRequestStatus: {
        PartsRequestStatus.AWAITING_EXCEPTION: _l("Exception to decide"),
        PartsRequestStatus.AWAITING_INCIDENT: _l("Quality incident to decide"),
        PartsRequestStatus.SUBMITTED: _l("Waiting for review"), PartsRequestStatus.REVIEWED: _l("Picking"),
        PartsRequestStatus.SHIPPED: _l("Shipped"), PartsRequestStatus.DELIVERED: _l("Delivered"),
        PartsRequestStatus.DISPUTED: _l("Delivery difference"), PartsRequestStatus.REJECTED: _l("Refused"),
        PartsRequestStatus.WITHDRAWN: _l("Withdrawn"),
    },
    Settlement: {Settlement.ON_ACCOUNT: _l("On account"), Settlement.PURCHASE: _l("Purchase")},
    DisputeResolution: {DisputeResolution.RESHIP: _l("Missing parts reshipped"),
                        DisputeResolution.CREDIT: _l("Missing parts credited")},
    OldPartState: {OldPartState.OWED: _l("To be returned"), OldPartState.SCRAP_LOCAL: _l("Scrapped locally, to verify"),
                   OldPartState.IN_RETURN: _l("On its way back"), OldPartState.CREDITED: _l("Credited"),
                   OldPartState.CHARGED: _l("Charged")},
    NonCreditable: {
        NonCreditable.NOT_COMPANY_PART: _l("Not the company's part"),
        NonCreditable.HUMAN_DAMAGE: _l("Damaged by people"),
        NonCreditable.TRANSPORT_DAMAGE: _l("Damaged in transport"),
        NonCreditable.GAS_SUPPLY_CHANGED: _l("Burnt by a changed gas supply"),
        NonCreditable.OUT_OF_WARRANTY: _l("Out of warranty"),
        NonCreditable.NO_FAULT_FOUND: _l("No fault found"),
        NonCreditable.NEW_PART_NON_COMPANY_REASON: _l("New part returned for non-company reasons"),
        NonCreditable.BURNT_UNDIAGNOSABLE: _l("Burnt beyond diagnosis"),
        NonCreditable.CUSTOM_PART: _l("Custom part, not taken back"),
        NonCreditable.NOT_RECEIVED: _l("Not in the parcel"),
    },
    PartsReturnStatus: {PartsReturnStatus.REQUESTED: _l("Waiting for authorisation"),
                        PartsReturnStatus.AUTHORISED: _l("Authorised, to ship"),
                        PartsReturnStatus.SHIPPED: _l("On its way"), PartsReturnStatus.RECEIVED: _l("Counted"),
                        PartsReturnStatus.INSPECTED: _l("Inspected"),
                        PartsReturnStatus.REFUSED: _l("Application refused"),
                        PartsReturnStatus.WITHDRAWN: _l("Withdrawn")},
    OldPartDisposal: {OldPartDisposal.SEND_BACK: _l("Send back to the outlet"),
                      OldPartDisposal.SCRAP: _l("Scrap at the center")},
    ReconciliationStatus: {ReconciliationStatus.OPEN: _l("To confirm"), ReconciliationStatus.CONFIRMED: _l("Confirmed"),
                           ReconciliationStatus.DISPUTED: _l("Disputed"), ReconciliationStatus.CLOSED: _l("Closed")},
    DisputeOutcome: {DisputeOutcome.CORRECTIONS: _l("Corrected"), DisputeOutcome.NO_CHANGE: _l("No change")},
    FeeClaimStatus: {FeeClaimStatus.CLAIMED: _l("To audit"), FeeClaimStatus.APPROVED: _l("Approved"),
                     FeeClaimStatus.ADJUSTED: _l("Adjusted"), FeeClaimStatus.REJECTED: _l("Rejected"),
                     FeeClaimStatus.SETTLED: _l("Settled")},
    ClaimPartBasis: {  # R-FEE-3: a part is paid for once
        ClaimPartBasis.ON_ACCOUNT: _l("Issued on account: not paid here, its old part's credit refills the account"),
        ClaimPartBasis.PURCHASE: _l("Bought for cash: paid here once, its old part credits nothing"),
        ClaimPartBasis.NOT_CREDITABLE: _l("Bought for cash, old part not creditable: not paid")},
}

# R-APR-5 (004 年度检查考核): an outlet's annual inspection.
LABELS[InspectionResult] = {InspectionResult.PASS: _l("Inspection passed"),
                            InspectionResult.RECTIFY: _l("Rectification required"),
                            InspectionResult.FAIL: _l("Inspection failed")}

# Issue 17: how a customer is told, what became of a message, how a periodic job's run went.
LABELS[NotifyChannel] = {NotifyChannel.SMS: _l("SMS"), NotifyChannel.WECHAT: _l("WeChat"),
                         NotifyChannel.EMAIL: _l("Email")}
LABELS[OutboxStatus] = {OutboxStatus.QUEUED: _l("Waiting to be sent"), OutboxStatus.SENT: _l("Sent out"),
                        OutboxStatus.FAILED: _l("Not delivered")}
LABELS[JobStatus] = {JobStatus.RUNNING: _l("Running"), JobStatus.DONE: _l("Done"), JobStatus.FAILED: _l("Run failed")}


def choices(enum) -> list[tuple[str, object]]:
    return [(member.value, label) for member, label in LABELS[enum].items()]


def label(enum, value, session=None) -> str:
    """The label of `value`; policy numbers in it are read with `session` (the request's if None)."""
    if value is None:
        return ""
    try:
        text = LABELS[enum][enum(value)]
    except ValueError:
        return str(value)
    return text.render(session) if isinstance(text, PolicyLabel) and session is not None else str(text)


def label_of(labels: Mapping, value) -> str:
    """The label of `value` in a value → (lazy) label mapping, e.g. JOB_LABELS; a value without
    one shows as it is (a name renamed since its row was written)."""
    if value is None:
        return ""
    return str(labels.get(value, value))


# Issue 17: the periodic jobs (backoffice.scheduled.JOBS) named for people, and their schedules
# (Job.schedule, keyed by its English text so that a changed schedule shows as written, not stale).
JOB_LABELS = {"sla_sweep": _l("SLA sweep"), "visits_due": _l("Return visits due"),
              "month_end": _l("Month end"), "nightly_purge": _l("Nightly purge")}
JOB_SCHEDULES = {"every 5 minutes": _l("every 5 minutes"), "daily from 08:00": _l("daily from 08:00"),
                 "monthly, from 01:00 on the 1st": _l("monthly, from 01:00 on the 1st"),
                 "daily from 02:00": _l("daily from 02:00")}

# What a run did (job_runs.Outcome.counts), worded for the reader of the job runs screen.
JOB_COUNTS = {"notified": _l("staff told"), "visits_due": _l("return visits due"),
              "surveys": _l("surveys sent"), "month": _l("month"), "statements": _l("statements issued"),
              "claims": _l("fee claims made"), "batches": _l("settlement batches"),
              "batch_alerts": _l("batch alerts"), "old_appraisal_records": _l("old appraisal and training records"),
              "old_rate_events": _l("old rate-limit records"), "old_messages": _l("old customer messages"),
              "old_notifications": _l("old notifications"), "old_job_runs": _l("old job runs")}


CLOCK_STATES = {"met": _l("met"), "breached": _l("breached"), "paused": _l("paused"),
                "due_soon": PolicyLabel(_l("due within %(hours)s h"), hours="sla.due_soon_hours"),
                "running": _l("running"),
                "superseded": _l("stopped at reopening"), "not_needed": _l("not needed")}
