"""Policy values: defaults here, overrides as PolicySetting rows an admin edits.

Rules read numbers through `value()` so nothing is a literal scattered in code, and texts that
show a policy number take it from here when they are shown (`labels.PolicyLabel`). Keys are
written literally where they are used, so a grep finds every reader. A new key needs no
migration: a default lives here, and only an admin's override is a row.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from models import PolicySetting

# key -> (default, description). Decimal keeps maxima and weights exact.
DEFAULTS: dict[str, tuple[Decimal, str]] = {
    # R-APR-1: maximum points per appraisal dimension (德 20, 勤 20, 能 30, 绩 30).
    "appraisal.max.conduct": (Decimal("20"), "R-APR-1 conduct (德) maximum"),
    "appraisal.max.diligence": (Decimal("20"), "R-APR-1 diligence (勤) maximum"),
    "appraisal.max.ability": (Decimal("30"), "R-APR-1 ability (能) maximum"),
    "appraisal.max.results": (Decimal("30"), "R-APR-1 results (绩) maximum"),
    # R-APR-3: a commendation adds 1-10 points after normal scoring.
    "appraisal.max.commendation": (Decimal("10"), "R-APR-3 commendation maximum"),
    # R-APR-1: scores (and deductions, commendations, penalties) are given in steps of this size.
    "appraisal.score_step": (Decimal("0.5"), "R-APR-1 scores are given in steps of"),
    # R-APR-2: annual composite weights.
    "appraisal.weight.checks": (Decimal("0.20"), "R-APR-2 weekly/monthly checks weight"),
    "appraisal.weight.monthly": (Decimal("0.30"), "R-APR-2 monthly appraisals weight"),
    "appraisal.weight.year_end": (Decimal("0.50"), "R-APR-2 year-end appraisal weight"),
    # R-PART-2: parts account quota as a share of the outlet's total purchases.
    "parts.quota_rate": (Decimal("0.003"), "R-PART-2 quota = rate x total purchase amount"),
    # R-PART-3: request batches, urgent shipping, delivery check.
    "parts.batches_per_week": (Decimal("2"), "R-PART-3 request batches per outlet per week"),
    "parts.urgent_ship_hours": (Decimal("24"), "R-PART-3 urgent lines shipped within (hours)"),
    "parts.delivery_check_days": (Decimal("7"), "R-PART-3 outlet raises delivery differences within (days)"),
    # R-PART-4/6: old parts come back within a week; cheap parts are scrapped locally.
    "parts.return_cycle_days": (Decimal("7"), "R-PART-4 old parts returned within (days)"),
    "parts.scrap_price_below": (Decimal("5"), "R-PART-6 no physical return below this unit price (yuan)"),
    "parts.scrap_qty_max": (Decimal("5"), "R-PART-6 ... and at most this quantity"),
    # R-PART-9: an old part shipped after the return cycle is flagged late; an account-issued part
    # is then credited at this share (1 = in full, flagged; 0 = refused, charged to the outlet).
    "parts.late_return_credit_rate": (Decimal("1.00"), "R-PART-9 share credited for an old part returned "
                                      "after the return cycle (1 = in full, 0 = none)"),
    # R-FEE-1/2: service fees paid to outlets, and the charge-back of a confirmed overcharge.
    "fees.labor_rate_per_hour": (Decimal("60"), "R-FEE-1 labour paid per standard hour (yuan)"),
    "fees.default_hours": (Decimal("1"), "R-FEE-1 standard hours when the remedy has none"),
    "fees.overcharge_multiple": (Decimal("10"), "R-FEE-2 overcharge charged back at this multiple"),
    "fees.audit_within_days": (Decimal("7"), "R-FEE-2 claims waiting for audit longer are highlighted (days)"),
    # R-WAR-5: the statutory 三包 windows, and which product categories they cover (1 = yes).
    "warranty.return_days": (Decimal("7"), "R-WAR-5 return/exchange/repair window (days from purchase)"),
    "warranty.exchange_days": (Decimal("15"), "R-WAR-5 exchange/repair window (days from purchase)"),
    "warranty.sanbao.gas_water_heater": (Decimal("1"), "R-WAR-5 gas water heaters covered (1/0)"),
    "warranty.sanbao.range_hood": (Decimal("1"), "R-WAR-5 range hoods covered (1/0)"),
    "warranty.sanbao.gas_stove": (Decimal("1"), "R-WAR-5 gas stoves covered (1/0)"),
    "warranty.sanbao.disinfection_cabinet": (Decimal("1"), "R-WAR-5 disinfection cabinets covered (1/0)"),
    "warranty.sanbao.shoes": (Decimal("0"), "R-WAR-5 shoes covered (1/0)"),
    "warranty.sanbao.other": (Decimal("0"), "R-WAR-5 other products covered (1/0)"),
    # R-WAR-2: a part replaced under service has its own warranty.
    "warranty.part_months": (Decimal("3"), "R-WAR-2 replaced part warranty (months)"),
    # Return visits (001, 002): after service within 7 days; after a complaint within 3 days.
    "returns.visit_days": (Decimal("7"), "Return visit due after service (days)"),
    "returns.complaint_visit_days": (Decimal("3"), "Return visit due after a complaint (days)"),
    "returns.satisfied_from": (Decimal("3"), "Lowest satisfaction (1-5) that counts as satisfied"),
    # R-RET-1: compensation standards and caps; R-RET-4: approval thresholds.
    "returns.extra_compensation_rate": (Decimal("0.10"),
                                        "R-RET-1 extra compensation cap (share of the purchase price)"),
    "returns.repair_compensation_max": (Decimal("200"), "R-RET-1 transport / lost-time compensation standard (yuan)"),
    "approvals.second_manager_above": (Decimal("3000"), "R-RET-4 amounts above this need a second manager (yuan)"),
    "approvals.decide_within_hours": (Decimal("24"), "Approval requests decided within (hours)"),
    # R-SLA-4: a resolution is due no earlier than this long after the on-site visit it needs.
    "sla.resolve_after_onsite_hours": (Decimal("24"), "R-SLA-4 resolution due at least this long after the "
                                       "on-site due time (hours)"),
    # R-SLA-1: lists and the dashboard warn of a running clock this long before it is due.
    "sla.due_soon_hours": (Decimal("1"), "R-SLA-1 a running clock is shown as due soon this long before "
                           "its due time (hours)"),
    # Issue 17: the SLA sweep escalates clocks that ran out this recently (older ones are on the lists).
    "sla.escalate_lookback_hours": (Decimal("24"), "R-SLA-1 the sweep escalates to the managers clocks that ran "
                                    "out within the last (hours)"),
    # Issue 17: how long messages, notifications and job runs are kept (PIPL: phone numbers in the outbox).
    "retention.outbox_days": (Decimal("180"), "Messages to customers kept (days)"),
    "retention.notifications_days": (Decimal("90"), "Staff notifications kept (days)"),
    "retention.job_runs_days": (Decimal("90"), "Scheduled job runs kept (days)"),
    # R-TKT-9: window in which a new ticket on the same serial is a repeat repair.
    "tickets.repeat_repair_days": (Decimal("90"), "R-TKT-9 repeat repair window (days)"),
    # R-APR-1, §8 "suggested from the data" (backoffice.appraisal_suggestions): how the person's service
    # record in the period suggests 勤 and 绩.
    "appraisal.suggest.diligence.per_overdue": (Decimal("0.5"), "R-APR-1 suggested diligence: points lost per "
                                                "clock or approval decision not on time"),
    "appraisal.suggest.results.weight_first_time_fix": (Decimal("0.5"), "R-APR-1 suggested results: weight of the "
                                                        "first-time-fix rate"),
    "appraisal.suggest.results.weight_satisfaction": (Decimal("0.5"), "R-APR-1 suggested results: weight of the "
                                                      "return-visit satisfaction (average / 5)"),
    "appraisal.suggest.results.per_repeat_repair": (Decimal("1"), "R-APR-1 suggested results: points lost per repair "
                                                    "that came back"),
    "appraisal.suggest.results.per_complaint": (Decimal("5"), "R-APR-1, R-CMP-3 suggested results: points lost per "
                                                "complaint confirmed against the person"),
    # R-INST-1/2 (004 第五章二): free installation except special-price models; beyond 20 km the
    # user pays the travel fee (上门路费) of the visit; a repeat installation is charged.
    "installation.fee": (Decimal("100"), "R-INST-1/2 installation fee when not free: special-price or "
                         "ineligible model, repeat installation (yuan)"),
    "installation.free_distance_km": (Decimal("20"), "R-INST-2 no travel fee up to this distance (km)"),
    "installation.travel_fee_per_km": (Decimal("2"), "R-INST-2 travel fee beyond the free distance: yuan per km "
                                       "of the customer's whole distance"),
    # R-APR-4: appraisal and training records are kept this long, then purged (flask purge-appraisals).
    "appraisal.retention_years": (Decimal("2"), "R-APR-4 appraisal and training records kept (years)"),
    # R-APR-5 (004 年度检查考核): the dealer outlets' annual evaluation (backoffice.outlet_evaluation).
    # The weights are each component's points (100 in all); the rest say how a figure costs points.
    "outlet_eval.weight.sla": (Decimal("30"), "R-APR-5 points for SLA compliance (x share of clocks met on time)"),
    "outlet_eval.weight.complaints": (Decimal("15"), "R-APR-5 points for complaints (less a deduction each)"),
    "outlet_eval.weight.satisfaction": (Decimal("20"), "R-APR-5 points for return-visit satisfaction "
                                        "(x average / 5)"),
    "outlet_eval.weight.repeat_repairs": (Decimal("15"), "R-APR-5 points for repeat repairs (fewer is better)"),
    "outlet_eval.weight.parts": (Decimal("10"), "R-APR-5 points for parts-account discipline "
                                 "(less a deduction per late part or statement)"),
    "outlet_eval.weight.fee_claims": (Decimal("10"), "R-APR-5 points for service-fee claims "
                                      "(fewer adjusted is better)"),
    "outlet_eval.complaint_deduction": (Decimal("5"), "R-APR-5 points lost per confirmed complaint"),
    "outlet_eval.repeat_share_zero": (Decimal("0.20"), "R-APR-5 share of repeat repairs at which that component "
                                      "scores nothing"),
    "outlet_eval.late_part_deduction": (Decimal("1"), "R-APR-5 points lost per old part returned late or overdue"),
    "outlet_eval.late_statement_deduction": (Decimal("2"), "R-APR-5 points lost per statement not confirmed in time"),
    "outlet_eval.statement_confirm_days": (Decimal("10"), "R-APR-5 a month's statement is confirmed in time within "
                                           "(days after the month)"),
    "outlet_eval.claim_adjusted_share_zero": (Decimal("0.50"), "R-APR-5 share of claims adjusted or rejected at "
                                              "which that component scores nothing"),
    # R-RPT-1 (000, 004): the monthly quality report's batch alerts (backoffice.quality_report).
    "quality.batch_min_faults": (Decimal("5"), "R-RPT-1 a batch alert needs at least this many fault reports "
                                 "of a model in the month"),
    "quality.batch_rate_percent": (Decimal("1.0"), "R-RPT-1 batch alert when a model's faults in the month exceed "
                                   "this percentage of its units sold"),
    "quality.sales_months": (Decimal("12"), "R-RPT-1 units sold over this many months (up to the report's month) "
                             "are the fault rate's base"),
    "quality.batch_trailing_factor": (Decimal("2.0"), "R-RPT-1 batch alert when a model's faults reach this multiple "
                                      "of its trailing monthly average"),
    "quality.trailing_months": (Decimal("3"), "R-RPT-1 the trailing average covers this many months before the "
                                "month compared"),
    # R-APR-6 (manual 003 §八.4): an exam at or above the pass mark passes and earns the certificate;
    # the list of certificates to renew looks this far ahead.
    "training.pass_mark": (Decimal("60"), "R-APR-6 training exam pass mark (of 100)"),
    "training.expiring_within_days": (Decimal("30"), "R-APR-6 certificates listed as expiring this many days ahead"),
}


def value(session: Session | None, key: str) -> Decimal:
    """The policy's value: the admin's override, else the default. Without a session (a text
    shown outside a request, e.g. in a CLI job) the default."""
    if key not in DEFAULTS:
        raise KeyError(f"unknown policy {key!r}")
    if session is None:
        return DEFAULTS[key][0]
    stored = _stored(session).get(key)
    return Decimal(stored) if stored is not None else DEFAULTS[key][0]


def _stored(session: Session) -> dict[str, str]:
    """Every override, read once per transaction of the session (a page asks for several
    policies; a ticket page for five). A commit, a rollback or a flush touching a setting
    forgets them, so a change is seen as soon as it is written."""
    if (cached := session.info.get(_CACHE)) is None:
        cached = session.info[_CACHE] = dict(session.execute(select(PolicySetting.key, PolicySetting.value)).all())
    return cached


_CACHE = "policy_settings"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _forget(session, *args) -> None:
    session.info.pop(_CACHE, None)


@event.listens_for(Session, "after_flush")
def _forget_changed(session, flush_context) -> None:
    if any(isinstance(row, PolicySetting) for row in (*session.new, *session.dirty, *session.deleted)):
        session.info.pop(_CACHE, None)


def shown(key: str) -> Decimal:
    """The value a page shows or decides a row's look by, read once per request (a list asks on
    every row); outside an app (a CLI job) the default."""
    from flask import g, has_app_context

    from models import db

    if not has_app_context():
        return value(None, key)
    read = g.setdefault("policy_values_read", {})
    if key not in read:
        read[key] = value(db.session, key)
    return read[key]
