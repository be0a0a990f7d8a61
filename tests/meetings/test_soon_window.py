"""A near-me search by next start reads only the meetings starting soonest, and answers the same."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.meetings import search, weekminutes
from backend.meetings.models import Meeting
from tests.meetings.helpers import make_feed, make_meetings, record

pytestmark = pytest.mark.django_db

# Zones with daylight saving both ways, half-hour and 45-minute offsets, and none.
ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/St_Johns",
    "Pacific/Chatham",
    "Asia/Tokyo",
    "Europe/Dublin",
]
MOMENTS = [
    datetime(2026, 3, 8, 6, 59, tzinfo=UTC),  # New York springs forward at 07:00 UTC
    datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # London springs forward at 01:00 UTC
    datetime(2026, 4, 4, 15, 30, tzinfo=UTC),  # Sydney falls back at 16:00 UTC
    datetime(2026, 10, 31, 20, 0, tzinfo=UTC),  # Europe falls back in five hours
    datetime(2026, 11, 1, 5, 45, tzinfo=UTC),  # New York falls back at 06:00 UTC
    datetime(2026, 11, 28, 23, 50, tzinfo=UTC),  # the end of the UTC week
    datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
]


def _crowd(rng: random.Random, count: int) -> list[dict]:
    records = []
    for number in range(count):
        hour, minute = rng.randrange(24), rng.choice([0, 15, 30, 45, 59])
        records.append(
            record(
                slug=f"w{number}",
                name=f"Soon {number:03d}",
                latitude=round(40.0 + rng.uniform(-0.08, 0.08), 6),
                longitude=round(-75.0 + rng.uniform(-0.1, 0.1), 6),
                day=rng.randrange(7) if number % 40 else "",  # a few by appointment
                time=f"{hour:02d}:{minute:02d}" if number % 40 else "",
                end_time=f"{(hour + 1) % 24:02d}:{minute:02d}" if number % 40 else "",
                timezone=rng.choice(ZONES),
            )
        )
    return records


def _page(criteria, at, zones, window: bool, first: int, size: int) -> list:
    results = search.search(criteria, at=at, zones=zones, use_window=window)
    return [(m.pk, m.minutes_until) for m in results[first : first + size]]


@pytest.mark.parametrize("at", MOMENTS, ids=lambda at: at.isoformat())
def test_the_window_answers_every_page_as_the_whole_circle_does(at):
    rng = random.Random(at.toordinal())
    make_meetings(*_crowd(rng, 300), feed=make_feed("crowd", time_zone="America/New_York"))
    zones = sorted(set(Meeting.objects.values_list("time_zone", flat=True)))
    for criteria in (
        search.Criteria(where=search.Where(40.0, -75.0, 10.0)),
        search.Criteria(where=search.Where(40.0, -75.0, 6.0), days=(1, 2, 3)),
        search.Criteria(where=search.Where(40.02, -75.01, 10.0), starting_within=600),
        search.Criteria(where=search.Where(40.0, -75.0, 10.0), in_progress=True),
    ):
        for first, size in ((0, 5), (0, 26), (20, 26), (150, 26), (280, 40)):
            windowed = _page(criteria, at, zones, True, first, size)
            whole = _page(criteria, at, zones, False, first, size)
            assert windowed == whole, (criteria, first, size)


def test_a_city_search_reads_a_narrow_window_when_the_city_is_full(patient):
    # The window is on for national directories (MEETING_SEARCH_SOON_WINDOW); asked for here.
    rng = random.Random(3)
    make_meetings(*_crowd(rng, 400))
    at = datetime(2026, 11, 25, 12, tzinfo=UTC)
    criteria = search.Criteria(where=search.Where(40.0, -75.0, 10.0))
    with CaptureQueriesContext(connection) as captured:
        page = search.search(criteria, at=at, zones=ZONES, use_window=True)[0:6]
    assert len(page) == 6
    ranking = [q["sql"] for q in captured.captured_queries if "ORDER BY" in q["sql"]]
    assert len(ranking) == 1
    assert '"utc_minute" <=' in ranking[0] or '"utc_minute" >=' in ranking[0]
    assert all(m.minutes_until < 120 for m in page)


def test_the_window_moves_by_the_zones_shifts_off_standard_time_and_no_more():
    summer, winter = datetime(2026, 7, 1, 12, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    days = timedelta(days=3)
    assert weekminutes.shifts(["Asia/Tokyo"], summer, days) == (0, 0)
    assert weekminutes.shifts(["America/New_York"], summer, days) == (60, 60)
    assert weekminutes.shifts(["America/New_York", "Asia/Tokyo"], summer, days) == (0, 60)
    assert weekminutes.shifts(["Australia/Lord_Howe"], summer, days) == (0, 0)
    assert weekminutes.shifts(["Australia/Lord_Howe"], winter, days) == (30, 30)
    # Dublin's standard time is its summer's: in winter it reads an hour below it.
    assert weekminutes.shifts(["Europe/Dublin", "Australia/Sydney"], winter, days) == (-60, 60)
    # New York falls back at 06:00 UTC on 1 November: both readings of the days ahead count.
    fall_back = datetime(2026, 10, 31, 12, tzinfo=UTC)
    assert weekminutes.shifts(["America/New_York"], fall_back, days) == (0, 60)
    assert weekminutes.utc_minute(1 * 1440 + 19 * 60, "Asia/Kolkata", summer) == 1440 + 13 * 60 + 30
    # A Sunday 02:00 meeting in Tokyo is Saturday 17:00 UTC: the week wraps.
    assert weekminutes.utc_minute(120, "Asia/Tokyo", summer) == 6 * 1440 + 17 * 60


def test_an_import_keeps_the_utc_minute_and_refreshes_only_a_stale_one(tmp_path):
    meetings = make_meetings(record(slug="one", day=2, time="19:00", timezone="Asia/Tokyo"))
    row = Meeting.objects.get(pk=meetings[0].pk)
    assert row.utc_minute == 2 * 1440 + 10 * 60
    Meeting.objects.filter(pk=row.pk).update(utc_minute=5)  # as if Tokyo's rules had changed
    make_meetings(record(slug="one", day=2, time="19:00", timezone="Asia/Tokyo"), feed=row.feed)
    assert Meeting.objects.get(pk=row.pk).utc_minute == 2 * 1440 + 10 * 60


def test_a_wide_or_polar_circle_is_searched_without_a_window():
    at = datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert search.SoonWindow.over(search.Where(40.0, -75.0, 10.0), ZONES, at) is not None
    assert search.SoonWindow.over(search.Where(40.0, -75.0, 300.0), ZONES, at) is None
    assert search.SoonWindow.over(search.Where(89.99, 0.0, 5.0), ZONES, at) is None
    across = search.SoonWindow.over(search.Where(0.0, 179.99, 10.0), ZONES, at)
    assert across is not None
    assert len(across.areas) <= search.MOST_AREAS


def test_a_window_across_the_antimeridian_finds_both_sides():
    rng = random.Random(180)
    records = []
    for number in range(120):
        hour = rng.randrange(24)
        records.append(
            record(
                slug=f"x{number}",
                latitude=round(rng.uniform(-0.05, 0.05), 6),
                longitude=rng.choice([179.97, -179.97]) + round(rng.uniform(-0.02, 0.02), 6),
                day=rng.randrange(7),
                time=f"{hour:02d}:00",
                end_time=f"{(hour + 1) % 24:02d}:00",
                timezone="Pacific/Fiji",
            )
        )
    make_meetings(*records)
    at = datetime(2026, 11, 25, 12, tzinfo=UTC)
    criteria = search.Criteria(where=search.Where(0.0, 180.0, 10.0))
    windowed = _page(criteria, at, ["Pacific/Fiji"], True, 0, 26)
    assert windowed == _page(criteria, at, ["Pacific/Fiji"], False, 0, 26)
    found = Meeting.objects.filter(pk__in=[pk for pk, _ in windowed])
    assert {m.longitude > 0 for m in found} == {True, False}
