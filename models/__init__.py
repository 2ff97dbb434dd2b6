"""SQLAlchemy models, one module per domain. Import from here."""
from .appraisal import AppraisalDeduction, AppraisalRecord
from .approvals import ApprovalEvent, ApprovalRequest, FinishedGoodsStock, MoneyPosting, ReturnHandling
from .audit import AuditEntry, AuthEvent, RateEvent
from .base import Audited, Base, db, utcnow
from .customers import Customer, ModelSales, ProductModel, Unit
from .fees import FeeBatch, FeeClaim, FeeClaimPart, TravelBand
from .network import Outlet
from .parts import Part
from .parts_ledger import LedgerEntry, PartsAccount, PartsReconciliation
from .parts_supply import OldPart, PartsRequest, PartsRequestLine, PartsReturn
from .people import User
from .service import (
                      ApiToken,
                      Attachment,
                      Complaint,
                      FaultCode,
                      MailIn,
                      ReplacedPart,
                      ReturnVisit,
                      ServiceReport,
                      TicketFee,
)
from .service_levels import SlaPolicy, TicketClock
from .settings import PolicySetting
from .stats import ClockStat, QualityStat
from .tickets import Ticket, TicketCounter, TicketEvent
from .training import TrainingAttendee, TrainingCourse, TrainingSession

__all__ = [
                      "ApiToken",
                      "AppraisalDeduction",
                      "AppraisalRecord",
                      "ApprovalEvent",
                      "ApprovalRequest",
                      "Attachment",
                      "AuditEntry",
                      "Audited",
                      "AuthEvent",
                      "Base",
                      "ClockStat",
                      "Complaint",
                      "Customer",
                      "FaultCode",
                      "FeeBatch",
                      "FeeClaim",
                      "FeeClaimPart",
                      "FinishedGoodsStock",
                      "LedgerEntry",
                      "MailIn",
                      "MoneyPosting",
                      "OldPart",
                      "Outlet",
                      "Part",
                      "PartsAccount",
                      "PartsReconciliation",
                      "PartsRequest",
                      "PartsRequestLine",
                      "PartsReturn",
                      "PolicySetting",
                      "ProductModel",
                      "QualityStat",
                      "RateEvent",
                      "ReplacedPart",
                      "ReturnHandling",
                      "ReturnVisit",
                      "ServiceReport",
                      "SlaPolicy",
                      "Ticket",
                      "TicketClock",
                      "TicketCounter",
                      "TicketEvent",
                      "TicketFee",
                      "TrainingAttendee",
                      "TrainingCourse",
                      "TrainingSession",
                      "TravelBand",
                      "Unit",
                      "User",
                      "db",
                      "utcnow",
]

# R-APR-5: the outlets' annual evaluation (issue 14, point 5).
from .evaluation import OutletAward, OutletInspection, OutletQualification

# Issue 17: work without a click: the outbox, staff notifications and the periodic jobs' runs.
from .jobs import JobRun
from .notifications import OutboxMessage, StaffNotification

__all__ += ["OutletAward", "OutletInspection", "OutletQualification"]
__all__ += ["ModelSales"]
__all__ += ["JobRun", "OutboxMessage", "StaffNotification"]
