"""Customers and the units sold to them: a purchase invoice is dated from 2000 to today (R-WAR-1)."""
from datetime import date, timedelta

from backoffice import customers
from backoffice.timezones import local_today


def test_invoice_dates_run_from_2000_to_today(app):
    with app.app_context():
        assert customers.invoice_date_problem(date(2000, 1, 1)) is None
        assert customers.invoice_date_problem(local_today()) is None
        assert customers.invoice_date_problem(date(1999, 12, 31))
        assert customers.invoice_date_problem(local_today() + timedelta(days=1))
