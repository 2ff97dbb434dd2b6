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


class PurchaseChannel(StrEnum):  # R-TKT-2: where the unit was bought (purchase data)
    STORE = "store"  # the brand's own store or counter
    DEALER = "dealer"  # a dealer of the network
    ONLINE = "online"  # an online shop
    PROJECT = "project"  # a builder's or group purchase
    OTHER = "other"


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
    RETURNING = "returning"  # R-RET-5: an approved return / exchange / refund on its return path
    RESOLVED = "resolved"
    RETURN_VISIT = "return_visit"
    CLOSED = "closed"


class AppraisalPeriod(StrEnum):  # R-APR-1, R-APR-2: the kind of record, which fixes its period
    WEEKLY = "weekly"  # weekly check (周检)
    MONTHLY_CHECK = "monthly_check"  # monthly check (月检)
    MONTHLY = "monthly"  # monthly appraisal (月考核)
    YEAR_END = "year_end"  # year-end appraisal (年终考核)


class AppraisalDimension(StrEnum):  # R-APR-1: 德 勤 能 绩
    CONDUCT = "conduct"
    DILIGENCE = "diligence"
    ABILITY = "ability"
    RESULTS = "results"


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


class FeeKind(StrEnum):  # R-INST-1/2: the charges of an installation (other fee lines have none)
    INSTALLATION = "installation"  # not free: special-price or ineligible model, repeat installation
    TRAVEL = "travel"  # beyond the free distance
    MATERIAL = "material"  # pipes, valves, tees …


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
    # The dealer network's parts and fees (DOMAIN §6, §6b): not tied to a ticket.
    PARTS_EXTRA_BATCH = "parts_extra_batch"  # R-PART-3: a batch over the weekly limit
    PARTS_INCIDENT = "parts_incident"  # R-PART-2: on account beyond the quota, quality incident
    FEE_CHARGEBACK = "fee_chargeback"  # R-FEE-2, R-CMP-3: an overcharge charged back at 10x
    PARTS_CREDIT = "parts_credit"  # R-PART-8: a correction in the outlet's favour


class ApprovalGrounds(StrEnum):  # R-WAR-5, R-RET-1…3
    SANBAO_WINDOW = "sanbao_window"  # inside the return / exchange window (policy warranty.*_days)
    UNREPAIRABLE = "unrepairable"
    STILL_FAULTY = "still_faulty"  # still faulty after repair
    SIZE = "size"
    UNBOXING_APPEARANCE = "unboxing_appearance"
    BATCH_FAILURE = "batch_failure"
    QUALITY_REPAIRED = "quality_repaired"  # repairable quality problem: transport / lost time
    GOODWILL = "goodwill"
    INJURY = "injury"  # goes to legal handling, never an approval
    EXTRA_BATCH = "extra_batch"  # R-PART-3
    QUALITY_INCIDENT = "quality_incident"  # R-PART-2
    OVERCHARGE = "overcharge"  # R-CMP-3
    CORRECTION = "correction"  # R-PART-8


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    INFO_REQUESTED = "info_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # its parts request was withdrawn before a decision (R-PART-10)


class LedgerKind(StrEnum):  # R-PART-8: every movement of a parts account is one of these
    QUOTA = "quota"  # quota granted or changed (R-PART-2)
    ISSUE = "issue"  # parts issued on account
    PURCHASE = "purchase"  # parts bought in cash (no effect on the account)
    RETURN_CREDIT = "return_credit"  # old part credited in full (冲账, R-PART-4)
    CHARGE = "charge"  # outlet bears the loss: the part is charged in cash (R-PART-4/5)
    ADJUSTMENT = "adjustment"  # a correction, always with a reason
    FREIGHT = "freight"  # freight of a parts shipment, paid by the receiver in cash (R-PART-7, manual 004)
    CASH_REFUND = "cash_refund"  # cash paid back to the outlet (a bought part found missing): cash < 0


class PartsRequestStatus(StrEnum):  # R-PART-3: review → picking → shipped → delivered
    AWAITING_EXCEPTION = "awaiting_exception"  # over the weekly limit: a manager decides
    AWAITING_INCIDENT = "awaiting_incident"  # on account beyond the quota: a manager decides
    SUBMITTED = "submitted"
    REVIEWED = "reviewed"  # each line settled on account or purchase; picking list printable
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    DISPUTED = "disputed"  # the outlet found a difference on delivery
    REJECTED = "rejected"  # refused by the center, with its reason (R-PART-10)
    WITHDRAWN = "withdrawn"  # withdrawn by the outlet before the review (R-PART-10)


class DisputeResolution(StrEnum):  # R-PART-10: how the center settles a delivery difference
    RESHIP = "reship"  # the missing lines go out in a new parcel
    CREDIT = "credit"  # the missing lines' value is credited to the outlet's parts account


class Settlement(StrEnum):  # R-PART-2/3: how a requested line is supplied
    ON_ACCOUNT = "on_account"
    PURCHASE = "purchase"


class OldPartState(StrEnum):  # R-PART-4…6
    OWED = "owed"  # to be returned
    SCRAP_LOCAL = "scrap_local"  # no physical return (R-PART-6): listed, verified, credited
    IN_RETURN = "in_return"  # on a return list on its way
    CREDITED = "credited"
    CHARGED = "charged"


class NonCreditable(StrEnum):  # R-PART-5, the reasons an old part is not credited
    NOT_COMPANY_PART = "not_company_part"
    HUMAN_DAMAGE = "human_damage"
    TRANSPORT_DAMAGE = "transport_damage"
    GAS_SUPPLY_CHANGED = "gas_supply_changed"
    OUT_OF_WARRANTY = "out_of_warranty"
    NO_FAULT_FOUND = "no_fault_found"
    NEW_PART_NON_COMPANY_REASON = "new_part_returned"
    BURNT_UNDIAGNOSABLE = "burnt_undiagnosable"
    CUSTOM_PART = "custom_part"
    NOT_RECEIVED = "not_received"  # listed but missing from the parcel


class PartsReturnStatus(StrEnum):  # R-PART-4/9: applied → authorised → shipped → counted → inspected
    SHIPPED = "shipped"
    RECEIVED = "received"
    INSPECTED = "inspected"
    REQUESTED = "requested"  # the outlet's return application (退货申请), waiting for the center
    AUTHORISED = "authorised"  # the center authorised the list (核准): the outlet may ship it
    REFUSED = "refused"  # the center refused the whole application, with a reason
    WITHDRAWN = "withdrawn"  # the outlet withdrew it before shipping


class OldPartDisposal(StrEnum):  # R-PART-9: a non-creditable returned part, as the outlet chooses
    SEND_BACK = "send_back"  # the center sends it back to the outlet
    SCRAP = "scrap"  # scrapped at the center


class ReconciliationStatus(StrEnum):  # R-PART-7
    OPEN = "open"  # statement issued by the center
    CONFIRMED = "confirmed"  # the outlet confirmed in writing
    DISPUTED = "disputed"
    CLOSED = "closed"  # the center closed the month


class FeeClaimStatus(StrEnum):  # R-FEE-1/2: claimed → audited → settled in a monthly batch
    CLAIMED = "claimed"
    APPROVED = "approved"
    ADJUSTED = "adjusted"  # approved at a lower amount, with a reason
    REJECTED = "rejected"
    SETTLED = "settled"


class ClaimPartBasis(StrEnum):  # R-FEE-3: how a fitted part is paid for, once
    ON_ACCOUNT = "on_account"  # issued on the parts account: its old part's credit refills it; ¥0 here
    PURCHASE = "purchase"  # bought by the outlet for cash: the claim pays it at list price
    NOT_CREDITABLE = "not_creditable"  # bought for cash, old part not creditable (R-PART-5): not paid


class DisputeOutcome(StrEnum):  # R-PART-7: how the center resolves a disputed statement
    CORRECTIONS = "corrections"  # correction entries, each with its reason; the statement is reissued
    NO_CHANGE = "no_change"  # the figures stand, with the reason; the statement is reissued as it was


class InspectionResult(StrEnum):  # R-APR-5 (004 年度检查考核): an outlet's annual inspection
    PASS = "pass"  # 合格
    RECTIFY = "rectify"  # 整改: passes once the listed defects are put right
    FAIL = "fail"  # 不合格


class NotifyChannel(StrEnum):  # how a customer is told (issue 17): their preferred channel
    SMS = "sms"
    WECHAT = "wechat"
    EMAIL = "email"


class OutboxStatus(StrEnum):  # a message to a customer: queued -> sent, or failed after its retries
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class JobStatus(StrEnum):  # one run of a periodic job
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
