"""Meeting search: where (a bounding box, then the great-circle distance) and when.

The nearest N (``Criteria.nearest``) are found in two steps, both exact: a probe
finds N meetings that pass every filter and are near the point (any N will do:
their farthest bounds how far the Nth nearest can be), then the search is a radius
search out to that bound, ordered by distance. The probe walks an index in order of
nearness, so it reads about N rows however large the directory: on PostgreSQL a
GiST index on the point (its k-nearest-neighbour scan, ordered by the flat
distance in degrees, which needs no extension); elsewhere the grid cells of
backend.meetings.cells, 3 x 3 blocks of ever larger cells around the point.

Time filters and the order count minutes on each meeting's own clock: for every
time zone in the directory, "now" is turned into that zone's minute of the week
(0 = Sunday 00:00) and the database computes, per meeting,
``minutes_until = (start_minute - now_minute) mod 10080``. A meeting that
crosses midnight, or the end of the week, needs no special case. Within a week of
a daylight-saving change in a zone, a per-arc correction (backend.meetings.clock)
makes the count exact there too: the database counts what next_start shows.
"""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache, reduce
from operator import or_

from django.conf import settings
from django.db import connection
from django.db.models import (
    BooleanField,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
)

from backend.meetings import cells, clock, weekminutes
from backend.meetings.clock import MINUTES_PER_WEEK, minute_of_week, zone_clock, zone_named
from backend.meetings.models import Meeting, MeetingFeed, SavedMeeting

EARTH_RADIUS_KM = 6371.0088
# Half the circumference: no two points are farther apart.
FARTHEST_KM = math.pi * EARTH_RADIUS_KM
MAX_NEAREST = 100
KM_PER_MILE = 1.609344
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


def box_ranges(where: Where) -> tuple[float, float, list[tuple[float, float]]]:
    """The south and north edges and the west-east ranges of the bounding box (degrees).

    The latitude band is the radius as an angle; the longitude half-width is
    asin(sin(r) / cos(lat)) (the meridians tangent to the circle). A circle that
    reaches a pole spans every longitude (no ranges); one that crosses +-180 degrees
    has two.
    """
    angle = where.radius_km / EARTH_RADIUS_KM
    lat = math.radians(where.latitude)
    low, high = lat - angle, lat + angle
    south = math.degrees(max(low, -math.pi / 2))
    north = math.degrees(min(high, math.pi / 2))
    if low <= -math.pi / 2 or high >= math.pi / 2 or math.cos(lat) <= math.sin(angle):
        return south, north, []
    half_width = math.degrees(math.asin(math.sin(angle) / math.cos(lat)))
    west, east = where.longitude - half_width, where.longitude + half_width
    if west < -180:
        return south, north, [(west + 360, 180.0), (-180.0, east)]
    if east > 180:
        return south, north, [(west, 180.0), (-180.0, east - 360)]
    return south, north, [(west, east)]


def bounding_box(where: Where) -> Q:
    """Rows whose point may lie within the radius (exact: the distance decides after)."""
    south, north, ranges = box_ranges(where)
    band = Q(latitude__gte=south) & Q(latitude__lte=north)
    if not ranges:
        return band
    if len(ranges) == 2:
        (west, _), (_, east) = ranges
        return band & (Q(longitude__gte=west) | Q(longitude__lte=east))
    ((west, east),) = ranges
    return band & Q(longitude__gte=west, longitude__lte=east)


class InBoxes(Func):
    """The row's point lies in the bounding box, as PostgreSQL's GiST point index reads it.

    ``point(lng, lat) <@ box(...)``, one box per west-east range, is what the index of
    the near-me rows (migration 0004) answers by walking only the box; the B-tree on
    (latitude, longitude) reads the whole latitude band round the globe, which holds
    cities at a million meetings (the nearest search's box is 200 km tall or more).
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, where: Where):
        super().__init__(F("longitude"), F("latitude"))
        self.where = where

    def as_sql(self, compiler, connection, **extra_context):
        (lng, lng_params), (lat, lat_params) = (
            compiler.compile(column) for column in self.get_source_expressions()
        )
        south, north, ranges = box_ranges(self.where)
        boxes, params = [], []
        for west, east in ranges or [(-180.0, 180.0)]:
            boxes.append(f"point({lng}, {lat}) <@ box(point(%s, %s), point(%s, %s))")
            params += [*lng_params, *lat_params, west, south, east, north]
        return f"({' OR '.join(boxes)})", tuple(params)


class InCells(Func):
    """The row's grid cell lies in one of the key ranges (backend.meetings.cells), in SQL.

    Written out: the ranges as one OR of BETWEENs, which SQLite reads as one index seek
    per range; built from Q objects, the same condition took longer to compile than the
    statement took to run. The bounds may be slots (_probe_by_cells).
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, ranges: list[tuple[int, int]]):
        super().__init__(F("cell"))
        self.ranges = ranges

    def as_sql(self, compiler, connection, **extra_context):
        ((cell, cell_params),) = (
            compiler.compile(column) for column in self.get_source_expressions()
        )
        params: list = []
        for first, last in self.ranges:
            params += [*cell_params, first, *cell_params, last]
        between = f"{cell} BETWEEN %s AND %s"
        return f"({' OR '.join([between] * len(self.ranges))})", tuple(params)


# A box is read through at most this many grid cells where the point has no index of its
# own (SQLite): the finest cells that cover it in so few. A 10 km circle is read through
# cells of about 5 x 7 km, the 200 km box of a rural point's nearest through cells of 80 x 110 km.
MOST_COVER_CELLS = 64


def box_filter(where: Where) -> Q | InBoxes | InCells:
    """The bounding box in the form the database's index reads best.

    PostgreSQL: the GiST index on the point (InBoxes). Elsewhere: the grid cells that
    cover the box (InCells), whatever its latitude; the B-tree on (latitude, longitude)
    would read the box's whole latitude band round the globe, and a band 200 km tall
    holds cities. Either is wider than the circle: the distance decides after.

    Only for near-me rows (active, not approximate, with a point): the GiST index holds
    only those.
    """
    if connection.vendor == "postgresql":
        return InBoxes(where)
    south, north, ranges = box_ranges(where)
    return InCells(cells.cover(south, north, ranges or [(-180.0, 180.0)], MOST_COVER_CELLS))


class HaversineTerm(Func):
    """hav of the central angle between ``where`` and each row (0 to 1, up to rounding).

    sin²(Δφ/2) + cos φ₀ cos φ sin²(Δλ/2) grows with the great-circle distance, so the
    database bounds and orders by it directly and leaves the asin and square root
    (km_from_term) to the page's few rows. Written out as SQL over the row's two
    columns: compiling the same composition of Django's math functions cost more per
    request than the query. The columns compile through the ORM, so the expression
    holds in a subquery too.
    """

    output_field = FloatField()

    def __init__(self, where: Where):
        super().__init__(F("latitude"), F("longitude"))
        self.where = where

    def as_sql(self, compiler, connection, **extra_context):
        (lat, lat_params), (lng, lng_params) = (
            compiler.compile(column) for column in self.get_source_expressions()
        )
        lat0, lng0 = math.radians(self.where.latitude), math.radians(self.where.longitude)
        sql = (
            f"(POWER(SIN((RADIANS({lat}) - %s) / 2.0), 2)"
            f" + %s * COS(RADIANS({lat})) * POWER(SIN((RADIANS({lng}) - %s) / 2.0), 2))"
        )
        params = (lat0, *lat_params, math.cos(lat0), *lat_params, *lng_params, lng0)
        return sql, params


class PlanarDistance(Func):
    """The flat distance in degrees from ``where`` to each row, as the GiST point index orders.

    PostgreSQL only (its built-in ``point`` and ``<->``), and only ever an order in
    which to look: never a distance anyone is shown.
    """

    output_field = FloatField()

    def __init__(self, where: Where):
        super().__init__(F("longitude"), F("latitude"))
        self.where = where

    def as_sql(self, compiler, connection, **extra_context):
        (lng, lng_params), (lat, lat_params) = (
            compiler.compile(column) for column in self.get_source_expressions()
        )
        sql = f"(point({lng}, {lat}) <-> point(%s, %s))"
        return sql, (*lng_params, *lat_params, self.where.longitude, self.where.latitude)


def term_within(radius_km: float) -> float:
    """The largest haversine term of a point within ``radius_km``."""
    return math.sin(min(radius_km / (2 * EARTH_RADIUS_KM), math.pi / 2)) ** 2


def km_from_term(term: float) -> float:
    # Clamped: rounding may push the term a hair outside [0, 1], outside sqrt and asin.
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(max(term, 0.0), 1.0)))


class MinutesUntil(Func):
    """Minutes from ``at`` to the next time each meeting's clock reads a wall minute.

    The wall minute of the week is the meeting's start (MinutesUntilStart) or its
    listed end (MinutesUntilEnd); 0 means this minute. ``at`` is turned into each
    zone's clock once, here; zones that read the same minute share one branch of the
    CASE. A zone within a week of an offset change adds its arcs' corrections
    (clock.ZoneClock), so the count is exact there too. A zone missing from ``zones``
    reads UTC's minute.
    """

    output_field = IntegerField()

    def __init__(self, wall_minute, zones: list[str], at: datetime):
        super().__init__(wall_minute, F("time_zone"))
        by_minute: dict[int, list[str]] = defaultdict(list)
        self.arcs: dict[str, tuple] = {}
        for zone in zones:
            reading = zone_clock(zone, at)
            by_minute[reading.minute].append(zone)
            if reading.arcs:
                self.arcs[zone] = reading.arcs
        self.by_minute = dict(by_minute)
        self.utc_minute = minute_of_week(at.astimezone(UTC))

    def as_sql(self, compiler, connection, **extra_context):
        (wall, wall_params), (zone, zone_params) = (
            compiler.compile(column) for column in self.get_source_expressions()
        )
        branches, params = [], [*wall_params]
        for minute, names in self.by_minute.items():
            branches.append(f"WHEN {zone} IN ({', '.join(['%s'] * len(names))}) THEN %s")
            params += [*zone_params, *names, minute]
        now = f"(CASE {' '.join(branches)} ELSE %s END)" if branches else "%s"
        params += [self.utc_minute, MINUTES_PER_WEEK, MINUTES_PER_WEEK]
        sql = f"(({wall} - {now} + %s) %% %s)"
        if not self.arcs:
            return sql, tuple(params)
        corrections = []
        for name, arcs in self.arcs.items():
            inner = " ".join(f"WHEN {wall} >= %s THEN %s" for _ in arcs)
            corrections.append(f"WHEN {zone} = %s THEN (CASE {inner} ELSE %s END)")
            params += [*zone_params, name]
            for first, correction in reversed(arcs):
                params += [*wall_params, first, correction]
            params.append(arcs[-1][1])  # before the first arc: the last one, wrapped round
        return f"({sql} + (CASE {' '.join(corrections)} ELSE 0 END))", tuple(params)


class MinutesUntilStart(MinutesUntil):
    def __init__(self, zones: list[str], at: datetime):
        super().__init__(F("start_minute"), zones, at)


class MinutesUntilEnd(MinutesUntil):
    def __init__(self, zones: list[str], at: datetime):
        wall_end = (F("start_minute") + F("duration_minutes")) % MINUTES_PER_WEEK
        super().__init__(wall_end, zones, at)


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
    nearest: int | None = None  # the N nearest, however far (with ``where``; its radius unused)


def _conditions(criteria: Criteria) -> list[Q]:
    """The filters on the meeting's own columns, as one list (one filter() call is cheaper)."""
    conditions = [Q(retired_at__isnull=True)]
    attendance = Meeting.Attendance
    if criteria.attendance is None:
        conditions.append(~Q(attendance_option=attendance.INACTIVE))
    elif criteria.attendance in (attendance.ONLINE, attendance.IN_PERSON):
        conditions.append(Q(attendance_option__in=[criteria.attendance, attendance.HYBRID]))
    else:
        conditions.append(Q(attendance_option=criteria.attendance))
    if criteria.fellowships:
        conditions.append(reduce(or_, (Q(fellowship__iexact=f) for f in criteria.fellowships)))
    conditions += [Q(types_key__contains=f",{code},") for code in criteria.types]
    if criteria.region:
        conditions.append(Q(regions_key__contains=f"|{criteria.region.lower()}|"))
    conditions += [Q(search_text__contains=word) for word in criteria.text.lower().split()]
    if criteria.days:
        conditions.append(Q(day__in=criteria.days))
    if criteria.window:
        conditions.append(_local_window(*criteria.window))
    if criteria.bucket:
        conditions.append(_local_window(*BUCKETS[criteria.bucket]))
    if criteria.in_progress:
        # Running: its listed end comes before its next start, or it starts this minute
        # (search aliases minutes_to_end when asked). See in_progress.
        conditions.append(
            Q(minutes_to_end__gt=0)
            & (Q(minutes_to_end__lt=F("minutes_until")) | Q(minutes_until=0))
        )
    if criteria.starting_within is not None:
        conditions.append(Q(minutes_until__lte=criteria.starting_within))
    return conditions


# Columns a result does not show: the search keys and the row's own bookkeeping.
DETAIL_DEFERRED = (
    "search_text",
    "content_hash",
    "types_key",
    "regions_key",
    "created_at",
    "updated_at",
    "cell",
)
# A page is read by primary key in batches of at most this many (iterating a whole search).
READ_BATCH = 500


@lru_cache(maxsize=64)
def _page_sql(vendor: str, count: int, saved: bool) -> str:
    """The statement that reads ``count`` meetings by key, with their feed's name and (with
    ``saved``) whether the viewer saved them.

    Written out once per size: the ORM compiled the same statement (select_related, defer,
    an Exists) anew for every page, at more than a millisecond each time.
    """
    quote = connection.ops.quote_name
    meeting, feed, saved_meeting = Meeting._meta, MeetingFeed._meta, SavedMeeting._meta
    table = quote(meeting.db_table)
    columns = [
        f"{table}.{quote(field.column)}"
        for field in meeting.concrete_fields
        if field.name not in DETAIL_DEFERRED
    ]
    columns.append(f"{quote(feed.db_table)}.{quote(feed.get_field('name').column)} AS feed_name")
    if saved:
        marks = quote(saved_meeting.db_table)
        columns.append(
            f"EXISTS (SELECT 1 FROM {marks} WHERE {marks}."  # noqa: S608 - names from our models
            f"{quote(saved_meeting.get_field('meeting').column)} = {table}.{quote(meeting.pk.column)}"
            f" AND {marks}.{quote(saved_meeting.get_field('patient').column)} = %s) AS is_saved"
        )
    keys = ", ".join(["%s"] * count)
    return (
        f"SELECT {', '.join(columns)} FROM {table} INNER JOIN {quote(feed.db_table)} ON "  # noqa: S608 - names from our models
        f"{quote(feed.db_table)}.{quote(feed.pk.column)} = {table}.{quote(meeting.get_field('feed').column)}"
        f" WHERE {table}.{quote(meeting.pk.column)} IN ({keys})"
    )


class Results:
    """A search's meetings in order; slice it for a page (two queries per slice).

    Not a QuerySet: slicing and iterating are all it offers (the search view has no
    filter backends). The first query ranks: it reads only the columns the filters
    and the order need (through the bounding box's index, for a near-me search) and
    returns the page's primary keys with their sort keys. The second reads those
    rows whole by primary key, with their feed and whether the viewer saved them.
    Each meeting carries ``minutes_until`` (to its next start; None by appointment),
    ``distance_km`` (None without a point) and ``is_saved``.

    A meeting deleted between the two queries is left out of its page (meetings
    leave a feed by being retired, so only an administrator's delete can do this).
    """

    def __init__(
        self, ranked: QuerySet | None, keys: tuple[str, ...], viewer, limit=None, soon=None
    ):
        # None: known to be empty without asking the database.
        self._ranked, self._soon = ranked, soon
        self._keys, self._viewer, self._limit = keys, viewer, limit

    def _rows(self, ids: list) -> list[Meeting]:
        """The meetings with these keys (any order), each with its feed (its name only) and
        ``is_saved``: one statement (_page_sql); the ORM's converters read its columns."""
        saved = self._viewer is not None and self._viewer.is_authenticated
        prepare = Meeting._meta.pk.get_db_prep_value
        params = [prepare(pk, connection) for pk in ids]
        if saved:
            params.insert(0, self._viewer._meta.pk.get_db_prep_value(self._viewer.pk, connection))
        sql = _page_sql(connection.vendor, len(ids), saved)
        feeds: dict = {}
        meetings = list(Meeting.objects.raw(sql, params))
        for meeting in meetings:
            feed = feeds.get(meeting.feed_id)
            if feed is None:
                feed = MeetingFeed.from_db(
                    connection.alias, ["id", "name"], [meeting.feed_id, meeting.feed_name]
                )
                feeds[meeting.feed_id] = feed
            Meeting.feed.field.set_cached_value(meeting, feed)
            meeting.is_saved = bool(getattr(meeting, "is_saved", False))
        return meetings

    def _read(self, ranked: list[tuple]) -> list[Meeting]:
        by_id: dict = {}
        for first in range(0, len(ranked), READ_BATCH):
            ids = [row[0] for row in ranked[first : first + READ_BATCH]]
            by_id.update((meeting.pk, meeting) for meeting in self._rows(ids))
        meetings = []
        for pk, *values in ranked:
            meeting = by_id.get(pk)
            if meeting is None:
                continue
            keys = dict(zip(self._keys, values, strict=True))
            meeting.minutes_until = keys["minutes_until"]
            term = keys.get("nearness")
            meeting.distance_km = None if term is None else km_from_term(term)
            meetings.append(meeting)
        return meetings

    def __getitem__(self, page: slice) -> list[Meeting]:
        if not isinstance(page, slice) or page.step not in (None, 1):
            raise TypeError("Slice a search's results to read a page of them.")
        start, stop = page.start or 0, page.stop
        if self._limit is not None:
            stop = self._limit if stop is None else min(stop, self._limit)
        if self._ranked is None or (stop is not None and stop <= start):
            return []
        ranked = self._ranked
        if self._soon is not None:
            ranked = (
                ranked.filter(self._soon.box) if stop is None else self._soon.narrow(ranked, stop)
            )
        return self._read(list(ranked.values_list("pk", *self._keys)[start:stop]))

    def __iter__(self):
        return iter(self[0:None])


# The probe's blocks of cells (see cells.block): 3 x 3 cells of about 0.3 x 0.6 km, 1.2 x 2.4
# km ... up to the whole world, so that a point with no meeting for thousands of km has N too.
PROBE_SHIFTS = (4, 6, 8, 10, 12, 14, 16, 18)
# A block is at most 9 key ranges; fewer are padded with empty ones, so that every block
# reads as the same SQL.
BLOCK_RANGES = 9
_NO_RANGE = (1, 0)


def _probe_by_cells(near: QuerySet, where: Where, count: int) -> float | None:
    """The nearest bound from 3 x 3 blocks of ever larger cells, in one statement.

    The first block (smallest first) that holds ``count`` meetings bounds the answer by
    the ``count``-th smallest term among its own meetings: those ``count`` are all within
    it, so the nearest ``count`` are too. COALESCE asks the blocks in turn and stops at
    the first that holds enough (both databases evaluate its subqueries lazily); a block
    that holds fewer costs at most ``count`` rows. When none does, the whole world bounds
    it: the ``count``-th smallest term of all, or the largest when there are fewer.

    Every block is the same SQL with its own ranges: compiled once, with slots for them.
    """
    slots = [(_Slot(), _Slot()) for _ in range(BLOCK_RANGES)]
    ordered = near.order_by("nearness").values_list("nearness")
    block_sql, block_params = ordered.filter(InCells(slots))[:count].query.sql_with_params()
    world_sql, world_params = ordered[:count].query.sql_with_params()
    # The ORM's own SQL with its parameters apart, and constants: nothing from the request.
    full = "(SELECT CASE WHEN COUNT(*) >= %s THEN MAX(block.nearness) END FROM ({}) block)"
    terms, params = [], []
    for shift in PROBE_SHIFTS:
        ranges = cells.block(where.latitude, where.longitude, shift)
        ranges += [_NO_RANGE] * (BLOCK_RANGES - len(ranges))
        filled = {
            slot: value
            for pair, values in zip(slots, ranges, strict=True)
            for slot, value in zip(pair, values, strict=True)
        }
        terms.append(full.format(block_sql))
        params += [count, *(filled[p] if isinstance(p, _Slot) else p for p in block_params)]
    terms.append(f"(SELECT MAX(world.nearness) FROM ({world_sql}) world)")  # noqa: S608
    params += world_params
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE({', '.join(terms)})", params)
        return cursor.fetchone()[0]


def _probe_by_knn(near: QuerySet, where: Where, count: int) -> float | None:
    """The nearest bound from the first ``count`` meetings of the GiST index's nearness order.

    The flat order in degrees is not the great-circle one, but any ``count`` meetings
    bound the answer, and these are about the right ones (within 1/cos(latitude)).
    """
    ordered = near.order_by(PlanarDistance(where)).values_list("nearness")[:count]
    sql, params = ordered.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(probe.nearness) FROM ({sql}) probe", params)  # noqa: S608
        return cursor.fetchone()[0]


def default_probe() -> str:
    return "knn" if connection.vendor == "postgresql" else "cells"


def nearest_bound(near: QuerySet, where: Where, count: int, probe: str | None = None):
    """The haversine term the ``count`` nearest of ``near`` lie within; None when it is empty."""
    probe = probe or default_probe()
    return (_probe_by_knn if probe == "knn" else _probe_by_cells)(near, where, count)


def search(
    criteria: Criteria,
    *,
    at: datetime,
    zones: list[str],
    viewer=None,
    use_box: bool = True,
    probe: str | None = None,
    use_window: bool | None = None,
) -> Results:
    """Active meetings matching ``criteria`` at ``at``, in order (see Results).

    ``use_box=False`` leaves out the indexed bounding box, so that the database
    measures every row: the same answer, as a full scan (the benchmark's baseline).
    ``probe`` chooses how the nearest are bounded ("knn" or "cells"; by default the
    database's best), ``use_window`` says whether a near-me search by next start reads
    through a SoonWindow (by default the MEETING_SEARCH_SOON_WINDOW setting): the answer
    is the same.
    """
    if use_window is None:
        use_window = settings.MEETING_SEARCH_SOON_WINDOW
    keys: dict = {"minutes_until": MinutesUntilStart(zones, at)}
    # Only a filter reads this one: aliased, not selected.
    end = {"minutes_to_end": MinutesUntilEnd(zones, at)} if criteria.in_progress else {}
    conditions = _conditions(criteria)
    where, limit = criteria.where, None
    if where is not None:
        keys["nearness"] = HaversineTerm(where)
        # Near me: real places only, not centroids or online-only meetings.
        conditions += [
            Q(approximate=False, latitude__isnull=False),
            ~Q(attendance_option=Meeting.Attendance.ONLINE),
        ]
    # The filters, built once: the nearest's probe reads them too.
    matching = Meeting.objects.annotate(**keys).alias(**end).filter(*conditions)
    conditions = []
    if where is not None:
        radius_term = term_within(where.radius_km)
        if criteria.nearest:
            radius_term = nearest_bound(matching, where, criteria.nearest, probe)
            if radius_term is None:
                return Results(None, tuple(keys), viewer)
            # The box a hair wider than the bound: the term decides, exactly.
            where = Where(
                where.latitude, where.longitude, km_from_term(radius_term) * 1.000001 + 1e-6
            )
            limit = criteria.nearest
        conditions.append(Q(nearness__lte=radius_term))
    window = None
    if where is not None and not criteria.nearest and criteria.order == "next" and use_window:
        window = SoonWindow.over(where, zones, at) if use_box else None
    if where is not None and use_box and window is None:
        conditions.append(box_filter(where))
    soon = F("minutes_until").asc(nulls_last=True)
    ordering = (soon,)
    if where is not None:
        near_first = criteria.order == "distance" or criteria.nearest
        ordering = (F("nearness").asc(), soon) if near_first else (soon, F("nearness").asc())
    ordering += ("name", "id")
    ranked = matching.filter(*conditions).order_by(*ordering)
    return Results(ranked, tuple(keys), viewer, limit, window)


# A 10 km circle lies in some 20 areas (cells.Area). Wider ones are searched without a window.
MOST_AREAS = 64
# How far ahead the window may look, in minutes: the first that holds a page is used.
SOON_LADDER = (30, 120, 480, 1440, 4320)


@dataclass(frozen=True)
class SoonWindow:
    """Which rows can be the first of a near-me search by next start, found through an index.

    A search ordered by next start needs only the meetings starting soonest, but the
    exact count (MinutesUntil) cannot be read from an index. The index on (area,
    utc_minute) can: the meetings in the circle's areas whose start, moved to UTC by
    their zone's standard offset, lies within [now + least - MARGIN, now + W + most + MARGIN]
    (weekminutes.shifts: least and most are 0 and 60 when some zones are on summer time) hold every
    meeting starting within W minutes (see backend.meetings.weekminutes). One probe
    statement counts, for each W of SOON_LADDER, up to a page of meetings starting
    within W; the ranking then reads only the smallest W's window, and still orders by
    the exact count. So a search in a city reads about a page of rows, however many
    meetings the city holds. When no W holds the page, the ranking reads the box.
    """

    areas: tuple[int, ...]
    now: int
    least: int  # minutes the directory's zones read off their standard offsets, at least
    most: int  # and at most, from now to the ladder's widest window on
    # The bounding box, for a ranking no window holds: the window's areas stand in for it
    # otherwise (the box's own index beside them only made PostgreSQL AND two bitmaps).
    box: "Q | InBoxes"

    @classmethod
    def over(cls, where: Where, zones: list[str], at: datetime) -> "SoonWindow | None":
        angle = where.radius_km / EARTH_RADIUS_KM
        lat = math.radians(where.latitude)
        if abs(lat) + angle >= math.pi / 2 or math.cos(lat) <= math.sin(angle):
            return None  # the box spans every longitude
        half_width = math.degrees(math.asin(math.sin(angle) / math.cos(lat)))
        areas = cells.keys_over(
            math.degrees(lat - angle),
            math.degrees(lat + angle),
            where.longitude - half_width,
            where.longitude + half_width,
            shift=cells.AREA_SHIFT,
            most=MOST_AREAS,
        )
        if areas is None:
            return None
        now = weekminutes.utc_now_minute(at)
        within = timedelta(minutes=max(SOON_LADDER))
        least, most = weekminutes.shifts(zones, at, within)
        return cls(tuple(areas), now, least, most, box_filter(where))

    @property
    def _spread(self) -> int:
        """How much wider than W minutes the window of W minutes is."""
        return self.most - self.least + 2 * weekminutes.MARGIN

    def _bounds(self, minutes: int) -> tuple[int, int]:
        """The first and last utc_minute of the window of ``minutes`` (last < first: it wraps)."""
        first = (self.now + self.least - weekminutes.MARGIN) % MINUTES_PER_WEEK
        last = (self.now + minutes + self.most + weekminutes.MARGIN) % MINUTES_PER_WEEK
        return first, last

    def _within(self, minutes: int) -> "InWindow":
        first, last = self._bounds(minutes)
        return InWindow(self.areas, first, last, minutes, wraps=last < first)

    def narrow(self, ranked: QuerySet, count: int) -> QuerySet:
        """``ranked`` cut to the smallest window holding its first ``count`` rows, if any."""
        ladder = [w for w in SOON_LADDER if w + self._spread < MINUTES_PER_WEEK]
        if not ladder:
            return ranked.filter(self.box)
        # One statement; CASE asks the windows in turn, so the larger ones run only when
        # the smaller ones fall short (both databases evaluate its subqueries lazily).
        # The windows differ only in their numbers: each form (wrapping round the end of the
        # week or not) is compiled once, with slots for them, and filled per window.
        forms: dict[bool, tuple[str, tuple]] = {}
        branches, params = [], []
        for minutes in ladder:
            first, last = self._bounds(minutes)
            wraps = last < first
            if wraps not in forms:
                slots = InWindow(self.areas, _FIRST, _LAST, _MINUTES, wraps=wraps)
                rows = ranked.filter(slots).order_by().values_list("pk")[:count]
                forms[wraps] = rows.query.sql_with_params()
            sql, row_params = forms[wraps]
            filled = {_FIRST: first, _LAST: last, _MINUTES: minutes}
            # The ORM's own SQL with its parameters apart, and a constant.
            branches.append(
                f"WHEN (SELECT COUNT(*) FROM ({sql}) soon_{minutes}) >= %s THEN {minutes}"  # noqa: S608
            )
            params += [filled[p] if isinstance(p, _Slot) else p for p in row_params]
            params.append(count)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT CASE {' '.join(branches)} ELSE 0 END", params)
            held = cursor.fetchone()[0]
        return ranked.filter(self._within(held) if held else self.box)


class _Slot:
    """A parameter of a statement compiled once and filled in per use (SoonWindow.narrow,
    _probe_by_cells): the ORM passes a Func's parameters through untouched."""


_FIRST, _LAST, _MINUTES = _Slot(), _Slot(), _Slot()


class InWindow(Func):
    """A SoonWindow's window of W minutes: the row's area is one of the window's, its
    ``utc_minute`` lies from ``first`` to ``last`` (round the end of the week when it
    ``wraps``), and it starts within W minutes (the exact count decides).

    Written out, as the index on (area, utc_minute) reads it; the numbers may be slots.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, areas: tuple[int, ...], first, last, minutes, *, wraps: bool):
        super().__init__(cells.Area("cell"), F("utc_minute"), F("minutes_until"))
        self.areas, self.first, self.last, self.minutes, self.wraps = (
            areas, first, last, minutes, wraps,
        )  # fmt: skip

    def as_sql(self, compiler, connection, **extra_context):
        (area, area_params), (utc, utc_params), (until, until_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        either = "OR" if self.wraps else "AND"
        sql = (
            f"({area} IN ({', '.join(['%s'] * len(self.areas))})"
            f" AND ({utc} >= %s {either} {utc} <= %s) AND {until} < %s)"
        )
        params = (
            *area_params, *self.areas, *utc_params, self.first, *utc_params, self.last,
            *until_params, self.minutes,
        )  # fmt: skip
        return sql, params


def next_start(meeting: Meeting, at: datetime) -> datetime | None:
    """The next time the meeting starts at or after ``at``, aware, in the meeting's zone."""
    if meeting.day is None:
        return None
    return clock.next_start(zone_named(meeting.time_zone), meeting.day, meeting.start_time, at)


def in_progress(meeting: Meeting, at: datetime) -> bool:
    """Running at ``at`` (to the minute): started, and its listed end not yet reached.

    That is, its next end comes before its next start (or it starts this minute),
    counted on the meeting's clock as the database counts them (MinutesUntil). The
    end is a wall time, like the start: a meeting listed 23:30 to 03:30 runs to 03:30
    on the clock even on the night the clocks change.
    """
    if meeting.day is None:
        return False
    reading = zone_clock(meeting.time_zone, at)
    to_start = reading.until(meeting.start_minute)
    to_end = reading.until((meeting.start_minute + meeting.duration_minutes) % MINUTES_PER_WEEK)
    return to_end > 0 and (to_end < to_start or to_start == 0)
