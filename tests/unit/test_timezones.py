"""Time zones: names come from the time zone database; a bad stored one reads as the service zone."""
import pytest

from backoffice.timezones import DEFAULT_TZ, is_zone_name, zone_of
from models import Outlet


@pytest.mark.parametrize("name,known", [("Asia/Shanghai", True), ("Asia/Urumqi", True), ("-3", False),
                                        ("../../etc/passwd", False), ("UTC+8", False), (None, False)])
def test_time_zone_names_come_from_the_time_zone_database(name, known):
    assert is_zone_name(name) is known


def test_a_bad_stored_zone_reads_as_the_service_zone(app):
    with app.app_context():
        assert zone_of(Outlet(code="X", timezone="Mars/Olympus")).key == DEFAULT_TZ
        assert zone_of(Outlet(code="X", timezone="Asia/Urumqi")).key == "Asia/Urumqi"
