"""A weekly meeting's own clock: the exact minutes to its next start (or end).

A meeting recurs at a wall-clock minute of the week ``s`` (0 = Sunday 00:00) in its
zone. Where ``at`` reads minute ``m`` of the week, the minutes to the next start are
``(s - m) mod 10080``, as long as the zone's UTC offset stays put. Within a week of
a daylight-saving change that is off by a constant on each of a few arcs of the
week; the arcs begin at the change's wall times (on the old and on the new offset),
at ``m`` and at ``m`` shifted by the change. ZoneClock holds each arc's constant,
measured with next_start itself, so that the database, which sees only ``s``,
counts the same minutes as Python, which sees datetimes. A meeting's end is a wall
time too (its listed end time), counted the same way.

A wall time that a change skips counts on the old offset (02:30 on a spring-forward
night is 03:30 on the new clock); one that happens twice counts once, the first time
(``fold=0``), as the standard library does.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from backend.core.time import offset_periods

MINUTES_PER_WEEK = 7 * 24 * 60
# Offset changes this close to ``at`` (either way) can move a start within a week.
WINDOW = timedelta(days=8)


@lru_cache(maxsize=1024)
def zone_named(name: str) -> ZoneInfo:
    # ZoneInfo keeps only weak references: without this, a busy search reloads tz files.
    return ZoneInfo(name)


def minute_of_week(moment: datetime) -> int:
    """Minutes since Sunday 00:00 on the clock of moment's own zone (or its naive wall)."""
    sunday_based = (moment.weekday() + 1) % 7
    return sunday_based * 1440 + moment.hour * 60 + moment.minute


def _floor(at: datetime) -> datetime:
    """``at`` in UTC, to the minute (every offset in use is whole minutes)."""
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def _on_date(day_date: date, start: time, zone: ZoneInfo) -> datetime:
    # Through UTC and back: a skipped wall time becomes the real time it names.
    return datetime.combine(day_date, start, tzinfo=zone).astimezone(UTC).astimezone(zone)


def next_start(zone: ZoneInfo, day: int, start: time, at: datetime) -> datetime:
    """The first start at or after ``at`` (to the minute) of a meeting on ``day`` at ``start``."""
    now = _floor(at)
    local = now.astimezone(zone)
    ahead = (day - (local.weekday() + 1) % 7) % 7
    for extra in (0, 7):
        candidate = _on_date(local.date() + timedelta(days=ahead + extra), start, zone)
        if candidate >= now:  # different zones: compared as instants, not wall times
            return candidate
    raise AssertionError("a weekly meeting starts within a week")


@lru_cache(maxsize=4096)
def offset_changes(name: str, around: date) -> tuple[tuple[datetime, int, int], ...]:
    """The zone's offset changes from 9 days before ``around`` to 10 days after.

    Each is (instant in UTC, old offset, new offset), offsets in minutes, in time order.
    """
    start = datetime.combine(around, time(), tzinfo=UTC) - timedelta(days=9)
    periods = offset_periods(zone_named(name), start, start + timedelta(days=19))
    return tuple(
        (instant, round(old / 60), round(new / 60))
        for (_, old), (instant, new) in pairwise(periods)
    )


@dataclass(frozen=True)
class ZoneClock:
    """One zone's clock at one moment.

    ``minute`` is the moment's wall minute of the week. ``arcs`` is empty where the
    offset stays put within a week either side; otherwise (first minute, correction)
    per arc, in order of first minute, runs of equal corrections merged; the last arc
    wraps round to the first.
    """

    minute: int
    arcs: tuple[tuple[int, int], ...] = ()

    def until(self, wall_minute: int) -> int:
        plain = (wall_minute - self.minute) % MINUTES_PER_WEEK
        if not self.arcs:
            return plain
        below = [correction for first, correction in self.arcs if first <= wall_minute]
        return plain + (below[-1] if below else self.arcs[-1][1])


def split(wall_minute: int) -> tuple[int, time]:
    """A wall minute of the week as (day, 0 = Sunday; time of day)."""
    day, minute = divmod(wall_minute, 1440)
    return day, time(minute // 60, minute % 60)


def zone_clock(name: str, at: datetime) -> ZoneClock:
    """``name``'s clock at ``at`` (to the minute)."""
    return _zone_clock(name, _floor(at))


@lru_cache(maxsize=4096)
def _zone_clock(name: str, now: datetime) -> ZoneClock:
    # Cached: every search in the same minute reads the same clocks.
    zone = zone_named(name)
    minute = minute_of_week(now.astimezone(zone))
    changes = [c for c in offset_changes(name, now.date()) if abs(c[0] - now) <= WINDOW]
    if not changes:
        return ZoneClock(minute)
    turns = {minute}
    for instant, old, new in changes:
        shift = new - old
        turns |= {
            minute_of_week((instant + timedelta(minutes=old)).replace(tzinfo=None)),
            minute_of_week((instant + timedelta(minutes=new)).replace(tzinfo=None)),
            minute - shift,
            minute + shift,
        }
    arcs: list[tuple[int, int]] = []
    for first in sorted(turn % MINUTES_PER_WEEK for turn in turns):
        day, start = split(first)
        until = (next_start(zone, day, start, now) - now) // timedelta(minutes=1)
        correction = until - (first - minute) % MINUTES_PER_WEEK
        if not arcs or arcs[-1][1] != correction:
            arcs.append((first, correction))
    if arcs == [(arcs[0][0], 0)]:
        return ZoneClock(minute)
    return ZoneClock(minute, tuple(arcs))
