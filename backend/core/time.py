"""Time helpers: aware datetimes only, stored in UTC, converted per user."""

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Protocol, cast
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError as FieldErrors


class Zoned(Protocol):
    """Anything with an IANA time zone name: a user, a program, a meeting feed."""

    time_zone: str


@cache
def known_time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(value: object) -> bool:
    """An IANA name the system's zoneinfo database lists.

    Stricter than "ZoneInfo(value) loads": that also takes file names such as
    ``posixrules`` or ``localtime`` and, on some systems, paths below the tz directory.
    """
    return isinstance(value, str) and value in known_time_zones()


def validate_time_zone(value: str) -> None:
    """Django validator: an IANA name the system's zoneinfo database knows."""
    if not is_time_zone(value):
        raise ValidationError(
            "%(value)s is not a known IANA time zone (for example America/New_York).",
            code="invalid_time_zone",
            params={"value": str(value)[:64]},
        )


def local_now(time_zone: str, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(time_zone))


def local_today(who: Zoned, now: datetime | None = None) -> date:
    """Today's date on ``who``'s clock (at ``now``, else the current time)."""
    return (now or timezone.now()).astimezone(ZoneInfo(who.time_zone)).date()


# Daylight-saving changes are months apart; sampling the offset this often finds each.
OFFSET_PROBE = timedelta(hours=6)


def check_day_ahead(who: Zoned, day: date, *, field: str, within: timedelta, too_far: str) -> None:
    """A 400 on ``field`` unless ``day`` runs from today on ``who``'s clock to ``within`` on
    (a due date, a schedule's start)."""
    today = local_today(who)
    if day < today:
        raise FieldErrors(
            {field: [f"This date is past in the patient's time zone (today is {today})."]}
        )
    if day > today + within:
        raise FieldErrors({field: [too_far]})


def offset_periods(zone: ZoneInfo, lower: datetime, upper: datetime) -> list[tuple[datetime, int]]:
    """The zone's UTC offset (seconds) from ``lower`` to ``upper``: [(from instant, offset)].

    The first period starts at ``lower`` (in UTC); each next one at the exact second
    the zone's rules change the offset.
    """

    def offset(instant: datetime) -> int:
        # An aware datetime in a ZoneInfo zone always has an offset.
        return int(cast(timedelta, instant.astimezone(zone).utcoffset()).total_seconds())

    # In UTC: arithmetic on datetimes in a ZoneInfo zone is wall-clock arithmetic,
    # which is off by the change itself around a daylight-saving change.
    lower, upper = lower.astimezone(UTC), upper.astimezone(UTC)
    periods = [(lower, offset(lower))]
    probe = lower
    while probe < upper:
        step_end = min(probe + OFFSET_PROBE, upper)
        if offset(step_end) != periods[-1][1]:
            # Bisect to the second: the first instant with the new offset.
            before, after = probe, step_end
            while after - before > timedelta(seconds=1):
                middle = before + timedelta(seconds=(after - before) // timedelta(seconds=2))
                if offset(middle) == periods[-1][1]:
                    before = middle
                else:
                    after = middle
            periods.append((after, offset(after)))
        probe = step_end
    return periods


# What the API takes at every datetime and date boundary. PostgreSQL's timestamptz
# holds UTC offsets under 16 hours (Python's go to 23:59); offsets are whole minutes,
# as every zone's have been since 1972. Within these years a date's day after, a
# consent's five years and any UTC conversion stay inside Python's and SQLite's range.
MAX_UTC_OFFSET = timedelta(hours=16)
FIRST_YEAR, LAST_YEAR = 1900, 2999
_OFFSET_MESSAGE = "Use a UTC offset between -15:59 and +15:59, in whole minutes."
_YEAR_MESSAGE = f"Use a year from {FIRST_YEAR} to {LAST_YEAR}."


def validate_api_date(value: date) -> None:
    """Django validator: a date in the years the API's date arithmetic holds."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(_YEAR_MESSAGE, code="year_out_of_range")


def validate_api_datetime(value: datetime) -> None:
    """Django validator: an aware datetime both databases store and the arithmetic holds."""
    offset = value.utcoffset()
    if offset is None:
        raise ValidationError(
            "Include the UTC offset (e.g. -05:00 or Z): a time without one is ambiguous.",
            code="naive",
        )
    if abs(offset) >= MAX_UTC_OFFSET or offset % timedelta(minutes=1):
        raise ValidationError(_OFFSET_MESSAGE, code="offset_out_of_range")
    validate_api_date(value.date())


def parse_api_datetime(text: object) -> datetime:
    """An ISO 8601 date and time with its UTC offset, as the API takes it; else ValidationError."""
    value = None
    if isinstance(text, str) and len(text) <= 64:
        try:
            value = parse_datetime(text.strip())
        except ValueError:
            value = None
    if value is None:
        raise ValidationError(
            "Use an ISO 8601 date and time with a UTC offset, e.g. 2026-11-24T21:30:00-05:00.",
            code="invalid",
        )
    validate_api_datetime(value)
    return value


def date_runs(dates: Sequence[date]) -> tuple[int, int, date | None]:
    """(last run's length, longest run, last date) of sorted distinct dates."""
    longest = run = 0
    previous = None
    for day in dates:
        run = run + 1 if previous is not None and (day - previous).days == 1 else 1
        longest = max(longest, run)
        previous = day
    return run, longest, previous
