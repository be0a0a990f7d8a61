"""Each meeting's own clock: exact minutes to the next start, near daylight-saving changes too."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from backend.meetings import clock

MINUTE = timedelta(minutes=1)
# Spring and autumn changes, north and south, an hour and half an hour, at 02:00 and midnight.
ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Santiago",
]
# Where "now" falls around a change: a week before to a week after, and the hour of it.
AROUND = [-8 * 1440, -1440, -61, -60, -59, -30, -1, 0, 1, 30, 59, 60, 61, 90, 1440, 10079]


def _changes(name: str) -> list[tuple[datetime, int, int]]:
    found: set = set()
    day = date(2026, 1, 1)
    while day < date(2027, 1, 1):
        found |= set(clock.offset_changes(name, day))
        day += timedelta(days=10)
    return sorted(found)


def _exact(name: str, wall_minute: int, at: datetime) -> int:
    day, start = clock.split(wall_minute)
    now = at.replace(second=0, microsecond=0)
    return (clock.next_start(clock.zone_named(name), day, start, at) - now) // MINUTE


def test_the_changes_of_a_year_are_found_to_the_minute():
    assert [(c[0].isoformat(), c[1], c[2]) for c in _changes("America/New_York")] == [
        ("2026-03-08T07:00:00+00:00", -300, -240),
        ("2026-11-01T06:00:00+00:00", -240, -300),
    ]
    lord_howe = _changes("Australia/Lord_Howe")
    assert {new - old for _, old, new in lord_howe} == {30, -30}
    assert _changes("Asia/Tokyo") == []


@pytest.mark.parametrize("name", ZONES)
def test_minutes_until_are_exact_for_every_wall_minute_around_each_change(name):
    changes = _changes(name)
    assert len(changes) == 2, changes
    for instant, _old, _new in changes:
        for offset in AROUND:
            at = instant + timedelta(minutes=offset, seconds=17)
            week_clock = clock.zone_clock(name, at)
            # Every minute near where an arc turns; every 7th elsewhere.
            near = {
                (first + step) % clock.MINUTES_PER_WEEK
                for first, _ in week_clock.arcs
                for step in range(-90, 91)
            }
            for wall_minute in sorted(near | set(range(0, clock.MINUTES_PER_WEEK, 7))):
                expected = _exact(name, wall_minute, at)
                assert week_clock.until(wall_minute) == expected, (
                    name,
                    at,
                    wall_minute,
                    week_clock,
                )


def test_a_zone_far_from_any_change_counts_plain_minutes_of_the_week():
    at = datetime(2026, 6, 17, 15, 42, 30, tzinfo=UTC)  # Wednesday 11:42 in New York
    week_clock = clock.zone_clock("America/New_York", at)
    assert week_clock.arcs == ()
    assert week_clock.minute == 3 * 1440 + 11 * 60 + 42
    assert week_clock.until(week_clock.minute) == 0
    assert week_clock.until(week_clock.minute - 1) == clock.MINUTES_PER_WEEK - 1


def test_in_the_repeated_hour_a_start_already_passed_is_next_week():
    # 01:30 on the second pass (EST): 01:45 happened at 01:45 EDT, three quarters of an hour ago.
    zone = clock.zone_named("America/New_York")
    at = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert clock.next_start(zone, 0, time(1, 45), at).isoformat() == "2026-11-08T01:45:00-05:00"
    assert clock.next_start(zone, 0, time(2, 0), at).isoformat() == "2026-11-01T02:00:00-05:00"
