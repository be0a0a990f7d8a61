"""The shared time helpers in backend.core.time: one of each, used by every app."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from backend.core.time import is_time_zone, local_today, offset_periods, validate_time_zone
from backend.meetings.models import MeetingFeed


@dataclass
class Someone:
    time_zone: str


def test_today_is_the_date_on_their_own_clock_not_utcs():
    late_evening_in_chicago = datetime(2026, 3, 8, 3, 30, tzinfo=UTC)
    assert local_today(Someone("America/Chicago"), late_evening_in_chicago) == date(2026, 3, 7)
    assert local_today(Someone("Asia/Tokyo"), late_evening_in_chicago) == date(2026, 3, 8)


def test_offset_periods_find_a_daylight_saving_change_to_the_second():
    new_york = ZoneInfo("America/New_York")
    lower = datetime(2026, 3, 7, tzinfo=UTC)
    upper = datetime(2026, 3, 10, tzinfo=UTC)
    assert offset_periods(new_york, lower, upper) == [
        (lower, -5 * 3600),
        (datetime(2026, 3, 8, 7, 0, tzinfo=UTC), -4 * 3600),
    ]


def test_a_file_that_zoneinfo_loads_but_iana_does_not_list_is_not_a_time_zone():
    try:
        ZoneInfo("posixrules")
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        pytest.skip("this system's tz database has no posixrules file")
    assert not is_time_zone("posixrules")
    with pytest.raises(ValidationError):
        validate_time_zone("posixrules")


@pytest.mark.parametrize("name", ["posixrules", "Mars/Olympus_Mons", "../etc/passwd", ""])
def test_a_meeting_feed_takes_only_iana_zone_names(name):
    feed = MeetingFeed(name="aa-test", fellowship="AA", time_zone=name)
    with pytest.raises(ValidationError) as caught:
        feed.clean_fields()
    assert "time_zone" in caught.value.message_dict


def test_a_meeting_feed_takes_an_iana_zone_name():
    MeetingFeed(name="aa-test", fellowship="AA", time_zone="America/Chicago").clean_fields()
