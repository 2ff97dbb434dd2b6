"""SQLAlchemy models, one module per domain. Import from here."""
from .appraisal import AppraisalRecord
from .approvals import ApprovalEvent, ApprovalRequest, FinishedGoodsStock, MoneyPosting, ReturnHandling
from .audit import AuditEntry, AuthEvent, RateEvent
from .base import Audited, Base, db, utcnow
from .customers import Customer, ProductModel, Unit
from .fees import FeeBatch, FeeClaim, FeeClaimPart, TravelBand
from .network import Outlet
from .parts import Part
from .parts_ledger import LedgerEntry, PartsAccount, PartsReconciliation
from .parts_supply import OldPart, PartsRequest, PartsRequestLine, PartsReturn
from .people import User
from .service import (ApiToken, Attachment, Complaint, FaultCode, MailIn, ReplacedPart, ReturnVisit,
                      ServiceReport, TicketFee)
from .service_levels import SlaPolicy, TicketClock
from .settings import PolicySetting
from .tickets import Ticket, TicketCounter, TicketEvent

__all__ = [
    "RateEvent", "LedgerEntry", "PartsAccount", "PartsReconciliation", "OldPart", "PartsRequest",
    "PartsRequestLine", "PartsReturn", "FeeBatch", "FeeClaim", "FeeClaimPart", "TravelBand",
    "ApprovalEvent", "ApprovalRequest", "FinishedGoodsStock", "MoneyPosting", "ReturnHandling",
    "AppraisalRecord", "AuditEntry", "AuthEvent", "Audited", "Base", "db", "utcnow",
    "Customer", "ProductModel", "Unit", "Outlet", "Part", "User", "PolicySetting",
    "Ticket", "TicketCounter", "TicketEvent", "SlaPolicy", "TicketClock", "ApiToken", "Attachment",
    "Complaint", "FaultCode", "MailIn", "ReplacedPart", "ReturnVisit", "ServiceReport", "TicketFee",
]
