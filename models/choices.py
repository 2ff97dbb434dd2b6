"""Enumerated values stored in string columns (labels for the UI live in backoffice.labels)."""
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    CLERK = "clerk"
    ENGINEER = "engineer"
    DEALER = "dealer"


class Area(StrEnum):
    URBAN = "urban"
    SUBURBAN = "suburban"


class ProductCategory(StrEnum):
    GAS_WATER_HEATER = "gas_water_heater"
    RANGE_HOOD = "range_hood"
    DISINFECTION_CABINET = "disinfection_cabinet"
    GAS_STOVE = "gas_stove"
    SHOES = "shoes"
    OTHER = "other"


class TicketKind(StrEnum):  # R-TKT-3
    REPAIR = "repair"
    INSTALLATION = "installation"
    CONSULTATION = "consultation"
    COMPLAINT = "complaint"
    RETURN_EXCHANGE = "return_exchange"


class Channel(StrEnum):  # R-TKT-1
    HOTLINE = "hotline"
    EMAIL = "email"
    WEB = "web"
    WECHAT = "wechat"
    WALK_IN = "walk_in"
    DEALER = "dealer"


class IssueCategory(StrEnum):  # R-TKT-3, the 003 classes
    QUALITY = "quality"
    SIZE = "size"
    DISCOMFORT = "discomfort"
    OTHER = "other"


class TicketStatus(StrEnum):  # R-TKT-4
    REGISTERED = "registered"
    DIAGNOSED = "diagnosed"
    SOLUTION_PROPOSED = "solution_proposed"
    AGREED = "agreed"
    DISPATCHED = "dispatched"
    IN_SERVICE = "in_service"
    RESOLVED = "resolved"
    RETURN_VISIT = "return_visit"
    CLOSED = "closed"


class AppraisalPeriod(StrEnum):  # R-APR-1, R-APR-2
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEAR_END = "year_end"


class GasType(StrEnum):
    NATURAL_GAS = "natural_gas"
    LPG = "lpg"
    TOWN_GAS = "town_gas"


class Clock(StrEnum):  # DOMAIN §4
    RESPONSE = "response"
    DISPATCH = "dispatch"
    ONSITE = "onsite"
    RESOLVE = "resolve"
    ANSWER = "answer"  # complaint or letter answered


class WarrantyWindow(StrEnum):  # R-WAR-5
    RETURN = "return"
    EXCHANGE = "exchange"
    REPAIR = "repair"
    NONE = "none"


class WarrantyExclusion(StrEnum):  # R-WAR-4
    MISUSE = "misuse"
    THIRD_PARTY = "third_party"
    TRANSPORT = "transport"
    GAS_SUPPLY_CHANGED = "gas_supply_changed"


class Queue(StrEnum):  # R-TKT-3 routing of issue classes
    SERVICE = "service"  # repairs, installations, consultations: the service desk
    QA = "qa"  # quality -> production / QA
    SALES = "sales"  # size -> sales, with a stock check
    RND = "rnd"  # discomfort -> R&D or repair team
    COMPLAINTS = "complaints"


class ServiceMode(StrEnum):
    REMOTE = "remote"
    ONSITE = "onsite"
    MAIL_IN = "mail_in"


class Severity(StrEnum):
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class CodeKind(StrEnum):  # R-TKT-9 fault taxonomy
    FAULT = "fault"
    CAUSE = "cause"
    REMEDY = "remedy"


class ComplaintClass(StrEnum):  # R-CMP-1
    PRODUCT_QUALITY = "product_quality"
    SERVICE_QUALITY = "service_quality"
    APPEARANCE = "appearance"
    CHARGES = "charges"
    STRUCTURE = "structure"
    ACCIDENT = "accident"
    BATCH_QUALITY = "batch_quality"  # from outlets
    PARTS = "parts"  # from outlets: late / wrong / missing


class VisitKind(StrEnum):
    SERVICE = "service"
    COMPLAINT = "complaint"


class ApprovalKind(StrEnum):  # R-RET-4
    RETURN_REFUND = "return_refund"
    EXCHANGE = "exchange"
    REPAIR_COMPENSATION = "repair_compensation"  # transport, lost time
    EXTRA_COMPENSATION = "extra_compensation"
    FEE_WAIVER = "fee_waiver"
    VERDICT_OVERRIDE = "verdict_override"


class ApprovalGrounds(StrEnum):  # R-WAR-5, R-RET-1…3
    SANBAO_WINDOW = "sanbao_window"  # inside the 7 / 15-day window
    UNREPAIRABLE = "unrepairable"
    STILL_FAULTY = "still_faulty"  # still faulty after repair
    SIZE = "size"
    UNBOXING_APPEARANCE = "unboxing_appearance"
    BATCH_FAILURE = "batch_failure"
    QUALITY_REPAIRED = "quality_repaired"  # repairable quality problem: transport / lost time
    GOODWILL = "goodwill"
    INJURY = "injury"  # goes to legal handling, never an approval


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    INFO_REQUESTED = "info_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
