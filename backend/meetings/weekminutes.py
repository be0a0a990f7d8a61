"""A meeting's start as a minute of the UTC week, roughly: what lets an index find "soon".

The exact count of minutes to a meeting's next start is computed per row from its
wall-clock minute and its zone (search.MinutesUntil), which no index can order. So
each meeting also stores ``utc_minute``, its start minute of the week moved to UTC by
its zone's standard offset (the offset without daylight saving). Its real start in
UTC is that minute shifted by the zone's daylight saving then (an hour, mostly), so
the meetings starting in the next W minutes all have a ``utc_minute`` within W
minutes of now, moved and widened by the least and most such shift among the
directory's zones then (``shifts``), and by MARGIN. That wider window is only what an index reads; the
exact count still decides.
"""

from datetime import UTC, datetime, timedelta

from backend.meetings.clock import MINUTES_PER_WEEK, minute_of_week, zone_named

# Beyond the shifts measured: room for a zone whose rules changed since its meetings
# were last stored (apply() rewrites them at the next import).
MARGIN = 30


def standard_offset(zone: str, at: datetime) -> int:
    """The zone's UTC offset without daylight saving, in minutes."""
    moment = at.astimezone(zone_named(zone))
    return round((moment.utcoffset() - moment.dst()).total_seconds() / 60)


def utc_minute(start_minute: int | None, zone: str, at: datetime) -> int | None:
    """``start_minute`` (on the meeting's wall clock) as a minute of the UTC week."""
    if start_minute is None:
        return None
    return (start_minute - standard_offset(zone, at)) % MINUTES_PER_WEEK


def shifts(zones: list[str], at: datetime, within: timedelta) -> tuple[int, int]:
    """The least and the most any of ``zones`` reads off its standard offset, in minutes,
    from ``at`` to ``within`` later (0 and 60 for a mix of zones on winter and summer time).

    A meeting of a zone that reads ``d`` minutes off its standard offset when it starts
    starts at its ``utc_minute`` less ``d``: the meetings starting in the next W minutes
    have a ``utc_minute`` from now + least to now + W + most. Offsets change at most once
    in a few days (months apart), so ``at`` and ``at + within`` are all there is to read.
    """
    if not zones:
        return 0, 0
    readings = []
    for zone in zones:
        standard = standard_offset(zone, at)
        for moment in (at, at + within):
            local = moment.astimezone(zone_named(zone))
            readings.append(round(local.utcoffset().total_seconds() / 60) - standard)
    return min(readings), max(readings)


def utc_now_minute(at: datetime) -> int:
    return minute_of_week(at.astimezone(UTC))
