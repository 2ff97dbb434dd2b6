"""Labels of backoffice.labels: a label that names a policy number reads it from the policy when
it is shown, so changing the policy changes the text (R-WAR-5, R-SLA-1)."""
from decimal import Decimal

from backoffice.labels import CLOCK_STATES, LABELS, PolicyLabel, label, number
from models.choices import ApprovalGrounds, WarrantyWindow
from tests import factories as f


def test_window_labels_show_the_policy_days(session):  # R-WAR-5
    assert label(WarrantyWindow, "return", session) == "7-day return window"
    assert label(WarrantyWindow, "exchange", session) == "15-day exchange window"
    f.make_policy_setting(session, "warranty.return_days", "10")
    f.make_policy_setting(session, "warranty.exchange_days", "20")
    assert label(WarrantyWindow, "return", session) == "10-day return window"
    assert label(WarrantyWindow, "exchange", session) == "20-day exchange window"


def test_sanbao_grounds_label_shows_both_policy_windows(session):  # R-WAR-5, R-RET-4
    assert label(ApprovalGrounds, "sanbao_window", session) == "Inside the 7 / 15-day window"
    f.make_policy_setting(session, "warranty.return_days", "10")
    f.make_policy_setting(session, "warranty.exchange_days", "20")
    assert label(ApprovalGrounds, "sanbao_window", session) == "Inside the 10 / 20-day window"


def test_due_soon_state_shows_the_policy_hours(session):  # R-SLA-1
    assert CLOCK_STATES["due_soon"].render(session) == "due within 1 h"
    f.make_policy_setting(session, "sla.due_soon_hours", "1.5")
    assert CLOCK_STATES["due_soon"].render(session) == "due within 1.5 h"


def test_outside_a_request_a_policy_label_shows_the_default():
    assert str(LABELS[WarrantyWindow][WarrantyWindow.RETURN]) == "7-day return window"
    assert label(WarrantyWindow, "exchange") == "15-day exchange window"


def test_a_number_given_to_render_wins_over_the_policy(session):
    f.make_policy_setting(session, "warranty.return_days", "10")
    text = LABELS[WarrantyWindow][WarrantyWindow.RETURN]
    assert isinstance(text, PolicyLabel) and text.render(session, days=7) == "7-day return window"


def test_policy_numbers_are_shown_without_trailing_zeros():
    assert [number(Decimal(v)) for v in ("7", "7.00", "10", "0.50", "1.5")] == ["7", "7", "10", "0.5", "1.5"]


def test_labels_without_numbers_are_unchanged(session):
    assert label(WarrantyWindow, "repair", session) == "In warranty (repair)"
    assert label(WarrantyWindow, "not-a-window", session) == "not-a-window"
    assert label(WarrantyWindow, None, session) == ""
