"""Meeting search: where (a bounding box, then the great-circle distance) and when.

Time filters compare minutes of the week on each meeting's own clock: for every
time zone in the directory, "now" is turned into that zone's minute of the week
(0 = Sunday 00:00) and the database computes, per meeting,
``minutes_until = (start_minute - now_minute) mod 10080``. A meeting that
crosses midnight, or the end of the week, needs no special case. Within the
coming week this ignores a daylight-saving change in the meeting's zone (at most
an hour near the change); the exact next start shown is computed per meeting.
"""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.expressions import RawSQL

from backend.meetings.models import Meeting, SavedMeeting

EARTH_RADIUS_KM = 6371.0088
KM_PER_MILE = 1.609344
MINUTES_PER_WEEK = 7 * 24 * 60
# Local start times; night wraps past midnight.
BUCKETS = {
    "morning": (time(5, 0), time(12, 0)),
    "midday": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time(21, 0)),
    "night": (time(21, 0), time(5, 0)),
}


@dataclass(frozen=True)
class Where:
    latitude: float
    longitude: float
    radius_km: float


def minute_of_week(moment: datetime) -> int:
    """Minutes since Sunday 00:00 on the clock of moment's own zone."""
    sunday_based = (moment.weekday() + 1) % 7
    return sunday_based * 1440 + moment.hour * 60 + moment.minute


def bounding_box(where: Where) -> Q:
    """Rows whose point may lie within the radius (exact: the distance decides after).

    The latitude band is the radius as an angle; the longitude half-width is
    asin(sin(r) / cos(lat)) (the meridians tangent to the circle). A circle that
    reaches a pole spans every longitude; one that crosses +-180 degrees becomes
    two ranges.
    """
    angle = where.radius_km / EARTH_RADIUS_KM
    lat = math.radians(where.latitude)
    low, high = lat - angle, lat + angle
    band = Q(latitude__gte=math.degrees(max(low, -math.pi / 2))) & Q(
        latitude__lte=math.degrees(min(high, math.pi / 2))
    )
    if low <= -math.pi / 2 or high >= math.pi / 2 or math.cos(lat) <= math.sin(angle):
        return band
    half_width = math.degrees(math.asin(math.sin(angle) / math.cos(lat)))
    west, east = where.longitude - half_width, where.longitude + half_width
    if west < -180:
        return band & (Q(longitude__gte=west + 360) | Q(longitude__lte=east))
    if east > 180:
        return band & (Q(longitude__gte=west) | Q(longitude__lte=east - 360))
    return band & Q(longitude__gte=west, longitude__lte=east)


TABLE = Meeting._meta.db_table


def distance_km(where: Where) -> RawSQL:
    """The haversine great-circle distance from ``where`` to each row, in km (SQL).

    Written as SQL rather than composed from Django's expressions: compiling that
    composition cost more per request than the query itself.
    """
    lat0, lng0 = math.radians(where.latitude), math.radians(where.longitude)
    # LEAST (MIN on SQLite): rounding may push the argument a hair above 1, outside asin.
    least = "MIN" if connection.vendor == "sqlite" else "LEAST"
    sql = (
        f"%s * ASIN(SQRT({least}("
        f"POWER(SIN((RADIANS({TABLE}.latitude) - %s) / 2.0), 2)"
        f" + %s * COS(RADIANS({TABLE}.latitude))"
        f" * POWER(SIN((RADIANS({TABLE}.longitude) - %s) / 2.0), 2), 1.0)))"
    )
    # Every value is a query parameter; the text holds only our table name.
    return RawSQL(sql, (2 * EARTH_RADIUS_KM, lat0, math.cos(lat0), lng0), FloatField())  # noqa: S611


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """The same distance in Python (for tests and for single meetings)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(h, 1.0)))


@lru_cache(maxsize=1024)
def zone_named(name: str) -> ZoneInfo:
    # ZoneInfo keeps only weak references: without this, a busy search reloads tz files.
    return ZoneInfo(name)


def minutes_until_start(zones: list[str], at: datetime) -> RawSQL:
    """SQL: minutes from ``at`` to each meeting's next start, on the meeting's own clock.

    ``at`` is turned into each zone's minute of the week once, here; zones that read
    the same minute share one branch of the CASE.
    """
    by_minute: dict[int, list[str]] = defaultdict(list)
    for zone in zones:
        by_minute[minute_of_week(at.astimezone(zone_named(zone)))].append(zone)
    branches, params = [], []
    for minute, names in by_minute.items():
        branches.append(f"WHEN {TABLE}.time_zone IN ({', '.join(['%s'] * len(names))}) THEN %s")
        params.extend([*names, minute])
    now_minute = f"(CASE {' '.join(branches)} ELSE %s END)" if branches else "%s"
    params.append(minute_of_week(at))
    sql = f"(({TABLE}.start_minute - {now_minute} + %s) %% %s)"
    # Zone names and minutes are query parameters; the text holds only our table name.
    return RawSQL(sql, (*params, MINUTES_PER_WEEK, MINUTES_PER_WEEK), IntegerField())  # noqa: S611


def _local_window(start: time, end: time) -> Q:
    if start <= end:
        return Q(start_time__gte=start, start_time__lt=end)
    return Q(start_time__gte=start) | Q(start_time__lt=end)


@dataclass
class Criteria:
    where: Where | None = None
    days: tuple[int, ...] = ()
    window: tuple[time, time] | None = None
    bucket: str | None = None
    in_progress: bool = False
    starting_within: int | None = None
    types: tuple[str, ...] = ()
    attendance: str | None = None
    fellowships: tuple[str, ...] = ()
    text: str = ""
    region: str = ""
    order: str = "next"


def search(
    criteria: Criteria, *, at: datetime, zones: list[str], viewer=None, use_box: bool = True
) -> QuerySet:
    """Active meetings matching ``criteria`` at ``at``, annotated and ordered.

    ``use_box=False`` skips the indexed bounding box and measures every row: the
    same answer, as a full scan (the benchmark's baseline).
    """
    meetings = (
        Meeting.objects.filter(retired_at__isnull=True)
        .select_related("feed")
        .defer("search_text", "content_hash", "types_key", "regions_key")
    )
    if criteria.attendance is None:
        meetings = meetings.exclude(attendance_option=Meeting.Attendance.INACTIVE)
    elif criteria.attendance in (Meeting.Attendance.ONLINE, Meeting.Attendance.IN_PERSON):
        meetings = meetings.filter(
            attendance_option__in=[criteria.attendance, Meeting.Attendance.HYBRID]
        )
    else:
        meetings = meetings.filter(attendance_option=criteria.attendance)
    if criteria.fellowships:
        match = Q()
        for fellowship in criteria.fellowships:
            match |= Q(fellowship__iexact=fellowship)
        meetings = meetings.filter(match)
    for code in criteria.types:
        meetings = meetings.filter(types_key__contains=f",{code},")
    if criteria.region:
        meetings = meetings.filter(regions_key__contains=f"|{criteria.region.lower()}|")
    for word in criteria.text.lower().split():
        meetings = meetings.filter(search_text__contains=word)
    if criteria.days:
        meetings = meetings.filter(day__in=criteria.days)
    if criteria.window:
        meetings = meetings.filter(_local_window(*criteria.window))
    if criteria.bucket:
        meetings = meetings.filter(_local_window(*BUCKETS[criteria.bucket]))

    meetings = meetings.annotate(minutes_until=minutes_until_start(zones, at))
    if criteria.in_progress:
        # Started (minutes_until wrapped round to near a week) and not yet over.
        meetings = meetings.filter(
            minutes_until__gt=Value(MINUTES_PER_WEEK) - F("duration_minutes")
        ) | meetings.filter(minutes_until=0)
    if criteria.starting_within is not None:
        meetings = meetings.filter(minutes_until__lte=criteria.starting_within)

    if criteria.where is not None:
        # Near me: real places only, not centroids or online-only meetings.
        meetings = (
            meetings.filter(approximate=False, latitude__isnull=False)
            .exclude(attendance_option=Meeting.Attendance.ONLINE)
            .filter(bounding_box(criteria.where) if use_box else Q())
            .annotate(distance_km=distance_km(criteria.where))
            .filter(distance_km__lte=criteria.where.radius_km)
        )
    else:
        meetings = meetings.annotate(distance_km=Value(None, output_field=FloatField()))
    if viewer is not None and viewer.is_authenticated:
        meetings = meetings.annotate(
            is_saved=Exists(SavedMeeting.objects.filter(patient=viewer, meeting=OuterRef("pk")))
        )
    else:
        meetings = meetings.annotate(is_saved=Value(False))

    soon = F("minutes_until").asc(nulls_last=True)
    near = F("distance_km").asc(nulls_last=True)
    if criteria.order == "distance":
        return meetings.order_by(near, soon, "name", "id")
    return meetings.order_by(soon, near, "name", "id")


def next_start(meeting: Meeting, at: datetime) -> datetime | None:
    """The next time the meeting starts at or after ``at``, aware, in the meeting's zone."""
    if meeting.day is None:
        return None
    zone = zone_named(meeting.time_zone)
    local_now = at.astimezone(zone)
    days_ahead = (meeting.day - (local_now.weekday() + 1) % 7) % 7
    for extra in (0, 7):
        date = local_now.date() + timedelta(days=days_ahead + extra)
        candidate = datetime.combine(date, meeting.start_time, tzinfo=zone)
        # Normalise a wall-clock time skipped by a daylight-saving change.
        candidate = candidate.astimezone(UTC).astimezone(zone)
        if candidate >= local_now.replace(second=0, microsecond=0):
            return candidate
    return None  # unreachable: a week ahead is always later


def in_progress(meeting: Meeting, at: datetime) -> bool:
    if meeting.day is None:
        return False
    local_now = at.astimezone(zone_named(meeting.time_zone))
    since = (minute_of_week(local_now) - meeting.start_minute) % MINUTES_PER_WEEK
    return since < meeting.duration_minutes
