"""A meeting's start as a minute of the UTC week, roughly: what lets an index find "soon".

The exact count of minutes to a meeting's next start is computed per row from its
wall-clock minute and its zone (search.MinutesUntil), which no index can order. So
each meeting also stores ``utc_minute``, its start minute of the week moved to UTC by
its zone's standard offset (the offset without daylight saving). Its real start in
UTC is that minute shifted by the zone's daylight saving then (an hour, mostly), so
the meetings starting in the next W minutes all have a ``utc_minute`` within W
minutes of now, widened on each side by the largest such shift among the
directory's zones (``slack``). That wider window is only what an index reads; the
exact count still decides.
"""

from datetime import UTC, datetime, timedelta

from backend.meetings.clock import MINUTES_PER_WEEK, minute_of_week, zone_named

# Beyond the shifts measured: room for a zone whose rules changed since its meetings
# were last stored (apply() rewrites them at the next import).
MARGIN = 30
# Offsets are read now and a little over a week on: a change in between is on one side.
AHEAD = timedelta(days=8, hours=1)


def standard_offset(zone: str, at: datetime) -> int:
    """The zone's UTC offset without daylight saving, in minutes."""
    moment = at.astimezone(zone_named(zone))
    return round((moment.utcoffset() - moment.dst()).total_seconds() / 60)


def utc_minute(start_minute: int | None, zone: str, at: datetime) -> int | None:
    """``start_minute`` (on the meeting's wall clock) as a minute of the UTC week."""
    if start_minute is None:
        return None
    return (start_minute - standard_offset(zone, at)) % MINUTES_PER_WEEK


def slack(zones: list[str], at: datetime) -> int:
    """The most any of ``zones`` reads off its standard offset from ``at`` to a week on, plus MARGIN."""
    most = 0
    for zone in zones:
        standard = standard_offset(zone, at)
        for moment in (at, at + AHEAD):
            local = moment.astimezone(zone_named(zone))
            most = max(most, abs(round(local.utcoffset().total_seconds() / 60) - standard))
    return most + MARGIN


def utc_now_minute(at: datetime) -> int:
    return minute_of_week(at.astimezone(UTC))
