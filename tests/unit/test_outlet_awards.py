"""R-APR-5 / R-CMP-3: an outlet penalised for overcharging is not eligible for the annual award."""
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from backoffice import fee_claims, outlet_awards
from models import FeeClaim
from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")


def approved_claim(session, code="DG-NC") -> FeeClaim:
    claim = session.scalars(select(FeeClaim).where(FeeClaim.outlet_id == f.outlet(session, code).id,
                                                   FeeClaim.status == "claimed").order_by(FeeClaim.id)).first()
    f.bring_back_old_parts(session, claim)
    fee_claims.audit(session, claim, f.make_user(session, "clerk"), "approve")
    return claim


def test_a_confirmed_overcharge_bars_the_outlet_for_that_year(session):  # R-CMP-3
    claim = approved_claim(session)
    assert outlet_awards.eligible(session, claim.outlet_id, 2031)
    new_year = datetime(2031, 1, 1, 0, 30, tzinfo=SHANGHAI).astimezone(UTC)  # still 2030 in UTC
    fee_claims.confirm_overcharge(session, claim, f.make_user(session, "manager"), Decimal("8.00"), "多报路程",
                                  at=new_year)
    session.flush()
    assert not outlet_awards.eligible(session, claim.outlet_id, 2031)
    assert outlet_awards.eligible(session, claim.outlet_id, 2030)  # the service zone's year
    assert outlet_awards.eligible(session, claim.outlet_id, 2032)
    [penalty] = outlet_awards.penalties(session, 2031)[claim.outlet_id]
    assert (penalty.claim_number, penalty.charge_back) == (claim.number, Decimal("80.00"))


def test_other_outlets_stay_eligible(session):  # R-APR-5
    claim = approved_claim(session)
    fee_claims.confirm_overcharge(session, claim, f.make_user(session, "manager"), Decimal("1.00"), "多报")
    session.flush()
    assert outlet_awards.eligible(session, f.outlet(session, "FS-SD").id)
    assert not outlet_awards.eligible(session, claim.outlet_id)
