"""The plain rules behind issue 11's input checks, without a request."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from backoffice import customers, input_guard, network, tickets
from backoffice.errors import FieldErrors
from backoffice.timezones import DEFAULT_TZ, is_zone_name, local_today, zone_of
from models import Outlet


@pytest.mark.parametrize("code", ["GZ-TH", "SC-GZ", "GZ-TH-01", "T001-AB12", "9X"])
def test_outlet_codes_of_capitals_digits_and_dashes_pass(code):
    network.check_outlet_fields(Outlet(code=code, timezone=DEFAULT_TZ))


@pytest.mark.parametrize("code", ["GZ TH", "GZ\r\nTH", "<b>", "gz-th", "-GZ", "A", "X" * 21, ""])
def test_outlet_codes_outside_the_pattern_are_a_field_error(code):
    with pytest.raises(FieldErrors) as refused:
        network.check_outlet_fields(Outlet(code=code, timezone=DEFAULT_TZ))
    assert set(refused.value.errors) == {"code"}


@pytest.mark.parametrize("name,known", [("Asia/Shanghai", True), ("Asia/Urumqi", True), ("-3", False),
                                        ("../../etc/passwd", False), ("UTC+8", False), (None, False)])
def test_time_zone_names_come_from_the_time_zone_database(name, known):
    assert is_zone_name(name) is known


def test_a_bad_stored_zone_reads_as_the_service_zone(app):
    with app.app_context():
        assert zone_of(Outlet(code="X", timezone="Mars/Olympus")).key == DEFAULT_TZ
        assert zone_of(Outlet(code="X", timezone="Asia/Urumqi")).key == "Asia/Urumqi"


def test_invoice_dates_run_from_2000_to_today(app):
    with app.app_context():
        assert customers.invoice_date_problem(date(2000, 1, 1)) is None
        assert customers.invoice_date_problem(local_today()) is None
        assert customers.invoice_date_problem(date(1999, 12, 31))
        assert customers.invoice_date_problem(local_today() + timedelta(days=1))


def test_a_fault_occurred_within_the_years_before_the_report_and_not_after_it(app):
    now = datetime.now(timezone.utc)
    with app.app_context():
        assert tickets.occurrence_problem(now - timedelta(days=3)) is None
        assert tickets.occurrence_problem(now + timedelta(minutes=5)) is None  # the caller's clock
        assert tickets.occurrence_problem(now + timedelta(hours=2))
        assert tickets.occurrence_problem(now - timedelta(days=366 * tickets.OCCURRENCE_YEARS_BACK))
        old_report = now - timedelta(days=400)
        assert tickets.occurrence_problem(old_report - timedelta(days=30), old_report) is None


def test_json_deeper_than_the_limit_or_with_unstorable_text_is_refused(app):
    with app.app_context():
        deep = current = []
        for _ in range(input_guard.MAX_JSON_DEPTH + 1):
            current.append([])
            current = current[0]
        assert input_guard.json_problem(deep)
        assert input_guard.json_problem({"customer": {"name": "王\x00芳"}})
        assert input_guard.json_problem({"fault\ud800": "x"})
        assert input_guard.json_problem({"customer": {"name": "王芳"}, "unit": [{"serial": "SN-1"}]}) is None
