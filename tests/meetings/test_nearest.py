"""GET /api/v1/meetings/?lat=&lng=&nearest=N: the N nearest in-person meetings, however far."""

import itertools
import math
import random
import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.meetings import cells, search
from backend.meetings.models import Meeting
from tests.helpers import _resolve, api_schema, assert_problem, client_for, problem_fields
from tests.meetings.helpers import make_meetings, record
from tests.meetings.test_search import haversine_km

pytestmark = pytest.mark.django_db

URL = "/api/v1/meetings/"
AT = datetime(2026, 11, 25, 12, tzinfo=UTC)
# Where a probe can be used: the cells everywhere, PostgreSQL's GiST index there only.
PROBES = [
    "cells",
    pytest.param(
        "knn",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                connection.vendor != "postgresql",
                reason="needs PostgreSQL (its GiST k-nearest scan); set DATABASE_URL to run it",
            ),
        ],
    ),
]


def _scattered(rng: random.Random, count: int) -> list[dict]:
    """Meetings everywhere, crowded near the poles and the antimeridian, on several days."""
    records = []
    for number in range(count):
        kind = rng.random()
        polar = kind < 0.2
        lat = rng.choice([1, -1]) * rng.uniform(84, 90) if polar else rng.uniform(-70, 70)
        if rng.random() < 0.3:
            lng = rng.choice([1, -1]) * rng.uniform(176, 180)
        else:
            lng = rng.uniform(-180, 180)
        records.append(
            record(
                slug=f"s{number}",
                name=f"Scattered {number}",
                latitude=round(lat, 6),
                longitude=round(lng, 6),
                day=number % 7,
                types=["O"] if number % 3 else ["C"],
            )
        )
    return records


def _brute_force(table, lat, lng, count):
    """The ``count`` nearest by great-circle distance, in plain Python, ties by name."""
    ranked = sorted(table, key=lambda row: (haversine_km(lat, lng, row[1], row[2]), row[3]))
    return [(row[0], haversine_km(lat, lng, row[1], row[2])) for row in ranked[:count]]


@pytest.mark.parametrize("probe", PROBES)
def test_the_nearest_equal_a_brute_force_ranking_near_the_poles_and_across_180_degrees(probe):
    rng = random.Random(20261207)
    make_meetings(*_scattered(rng, 500))
    rows = Meeting.objects.values_list("pk", "latitude", "longitude", "name", "day", "types_key")
    table = list(rows)
    points = [(90.0, 0.0), (-90.0, 45.0), (89.99, 179.99), (-88.5, -179.9), (0.0, 180.0)]
    points += [(0.0, -180.0), (12.5, 179.999), (-40.0, -179.999), (45.0, 10.0)]
    points += [
        (round(rng.uniform(-90, 90), 4), round(rng.uniform(-180, 180), 4)) for _ in range(20)
    ]
    for lat, lng in points:
        for count in (1, 7, 40):
            criteria = search.Criteria(where=search.Where(lat, lng, 0.0), nearest=count)
            found = list(search.search(criteria, at=AT, zones=["America/New_York"], probe=probe))
            expected = _brute_force(table, lat, lng, count)
            assert [m.pk for m in found] == [pk for pk, _ in expected], (lat, lng, count)
            for meeting, (_, km) in zip(found, expected, strict=True):
                assert meeting.distance_km == pytest.approx(km, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("probe", PROBES)
def test_every_other_filter_applies_before_the_nearest_are_chosen(probe):
    rng = random.Random(7)
    make_meetings(*_scattered(rng, 300))
    table = [
        row
        for row in Meeting.objects.values_list(
            "pk", "latitude", "longitude", "name", "day", "types_key"
        )
        if row[4] == 3 and ",C," in row[5]
    ]
    criteria = search.Criteria(
        where=search.Where(51.5, -0.1, 0.0), nearest=10, days=(3,), types=("C",)
    )
    found = list(search.search(criteria, at=AT, zones=["America/New_York"], probe=probe))
    assert [m.pk for m in found] == [pk for pk, _ in _brute_force(table, 51.5, -0.1, 10)]
    assert {m.day for m in found} == {3}


@pytest.mark.parametrize("probe", PROBES)
def test_fewer_meetings_than_asked_for_answers_all_of_them_and_none_answers_none(probe):
    make_meetings(
        record(name="Near", latitude=10.0, longitude=10.0),
        record(name="Far", latitude=-60.0, longitude=-100.0),
    )
    where = search.Where(10.0, 10.2, 0.0)
    found = search.search(search.Criteria(where=where, nearest=25), at=AT, zones=[], probe=probe)
    assert [m.name for m in found] == ["Near", "Far"]
    nothing = search.Criteria(where=where, nearest=25, text="no such words")
    assert list(search.search(nothing, at=AT, zones=[], probe=probe)) == []


def test_the_nearest_leave_out_online_only_centroids_and_retired_meetings(patient):
    make_meetings(
        record(name="Door", latitude=40.0, longitude=-75.0),
        record(name="Hybrid", latitude=40.5, longitude=-75.0, conference_url="https://x.test/1"),
        record(
            name="Centroid", latitude=40.0, longitude=-75.0, formatted_address="Philadelphia, PA"
        ),
        record(
            name="Online",
            latitude=40.0,
            longitude=-75.0,
            formatted_address="Philadelphia, PA",
            conference_url="https://x.test/2",
        ),
        record(name="Far away", latitude=-33.9, longitude=151.2),
    )
    response = client_for(patient).get(URL, {"lat": 40.0, "lng": -75.0, "nearest": 10})
    assert response.status_code == 200, response.content
    body = response.json()
    assert [m["name"] for m in body["results"]] == ["Door", "Hybrid", "Far away"]
    assert body["results"][2]["distance"] > 15_000


def test_the_nearest_are_paged_by_distance_and_stop_at_n(patient):
    make_meetings(
        *(record(name=f"M{n:02d}", latitude=40.0 + n * 0.01, longitude=-75.0) for n in range(30))
    )
    client = client_for(patient)
    first = client.get(URL, {"lat": 40.0, "lng": -75.0, "nearest": 12, "page_size": 5})
    assert first.status_code == 200, first.content
    names = [m["name"] for m in first.json()["results"]]
    assert names == ["M00", "M01", "M02", "M03", "M04"]
    last = client.get(URL, {"lat": 40.0, "lng": -75.0, "nearest": 12, "page_size": 5, "page": 3})
    assert [m["name"] for m in last.json()["results"]] == ["M10", "M11"]
    assert last.json()["next"] is None
    distances = [m["distance"] for m in first.json()["results"]]
    assert distances == sorted(distances)


def test_a_point_on_a_pole_or_on_the_antimeridian_is_answered(patient):
    make_meetings(
        record(name="Polar", latitude=89.5, longitude=100.0),
        record(name="Date line east", latitude=0.0, longitude=179.9),
        record(name="Date line west", latitude=0.0, longitude=-179.8),
    )
    client = client_for(patient)
    polar = client.get(URL, {"lat": 90, "lng": 0, "nearest": 1})
    assert [m["name"] for m in polar.json()["results"]] == ["Polar"]
    for lng in (180, -180):
        line = client.get(URL, {"lat": 0, "lng": lng, "nearest": 2})
        assert [m["name"] for m in line.json()["results"]] == ["Date line east", "Date line west"]
        radius = client.get(URL, {"lat": 0, "lng": lng, "radius": 30})
        assert radius.status_code == 200
        assert len(radius.json()["results"]) == 2
    south = client.get(URL, {"lat": -90, "lng": 0, "radius": 10})
    assert south.status_code == 200
    assert south.json()["results"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": 40, "lng": -75, "nearest": 5, "radius": 10}, "radius"),
        ({"lat": 40, "lng": -75, "nearest": 0}, "nearest"),
        ({"lat": 40, "lng": -75, "nearest": 101}, "nearest"),
        ({"lat": 40, "lng": -75, "nearest": "many"}, "nearest"),
        ({"lat": 40, "lng": -75, "nearest": -3}, "nearest"),
        ({"nearest": 5}, "nearest"),
        ({"lat": 40, "nearest": 5}, "lng"),
        ({"lat": 40, "lng": -75, "nearest": 5, "order": "next"}, "order"),
        ({"lat": 90.0001, "lng": 0, "nearest": 5}, "lat"),
        ({"lat": 0, "lng": 180.5, "nearest": 5}, "lng"),
        ({"lat": "nan", "lng": 0, "nearest": 5}, "lat"),
    ],
)
def test_bad_nearest_searches_answer_400_with_the_field_at_fault(patient, params, field):
    response = client_for(patient).get(URL, params)
    assert_problem(response, 400)
    assert field in problem_fields(response)


def test_a_nearest_search_runs_as_many_queries_whatever_n_and_the_directory_size(patient):
    client = client_for(patient)
    make_meetings(*(record(latitude=40.0 + n * 0.001, longitude=-75.0) for n in range(5)))

    def queries(**params) -> int:
        client.get(URL, {"lat": 40.0, "lng": -75.0, **params})  # the directory's zones cached
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL, {"lat": 40.0, "lng": -75.0, **params})
        assert response.status_code == 200, response.content
        return len(captured.captured_queries)

    small = queries(nearest=3)
    make_meetings(*(record(latitude=40.0 + n * 0.001, longitude=-74.0) for n in range(150)))
    assert queries(nearest=3) == small
    assert queries(nearest=100, page_size=100) == small
    assert queries(nearest=100, page_size=100, day=1, q="hall") == small


@time_machine.travel(AT, tick=False)
def test_nearest_with_starting_within_keeps_only_those_starting_soon(patient):
    # 12:00 UTC is 07:00 in New York, a Wednesday (day 3).
    make_meetings(
        record(name="Soon far", latitude=41.0, longitude=-75.0, day=3, time="07:30"),
        record(name="Later near", latitude=40.0, longitude=-75.0, day=3, time="19:00"),
    )
    response = client_for(patient).get(
        URL, {"lat": 40.0, "lng": -75.0, "nearest": 5, "starting_within": 60}
    )
    assert [m["name"] for m in response.json()["results"]] == ["Soon far"]


def test_a_cell_block_holds_the_cells_around_the_point_across_the_antimeridian():
    east, west = cells.cell_of(0.0, 179.9999), cells.cell_of(0.0, -179.9999)
    for shift in (4, 10):
        ranges = cells.block(0.0, 179.9999, shift)
        assert any(first <= west <= last for first, last in ranges)
        assert any(first <= east <= last for first, last in ranges)
    assert cells.block(12.0, 34.0, cells.BITS) == [cells.WHOLE_WORLD]
    assert cells.cell_of(90.0, 180.0) == cells.cell_of(90.0, -180.0)
    assert cells.cell_of(None, 3.0) is None


# --- the response is the documented serializer's ------------------------------------------

JSON_TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
}


def _conforms(value, node: dict, path: str) -> None:
    """``value`` has the committed schema's shape: its keys, types, nulls and enums."""
    node = _resolve(node)
    for part in node.get("allOf", []):
        _conforms(value, part, path)
    if value is None:
        assert node.get("nullable") or not (node.get("type") or node.get("allOf")), path
        return
    kind = node.get("type")
    if kind:
        assert isinstance(value, JSON_TYPES[kind]), (path, value)
        if kind in {"integer", "number"}:
            assert not isinstance(value, bool), (path, value)
    if "enum" in node:
        assert value in node["enum"], (path, value)
    if "pattern" in node:
        assert re.fullmatch(node["pattern"], value), (path, value)
    if kind == "object" and "properties" in node:
        assert set(value) == set(node["properties"]), path
        assert set(node.get("required", [])) <= set(value), path
        for name, child in node["properties"].items():
            _conforms(value[name], child, f"{path}.{name}")
    if kind == "object" and "additionalProperties" in node:
        for name, child in value.items():
            _conforms(child, node["additionalProperties"], f"{path}.{name}")
    if kind == "array" and "items" in node:
        for index, item in enumerate(value):
            _conforms(item, node["items"], f"{path}[{index}]")


@time_machine.travel(AT, tick=False)
def test_every_search_result_has_exactly_the_committed_schemas_shape(patient):
    make_meetings(
        record(name="Full", types=["O", "W"], regions=["North", "Lakes"], website="https://a.test"),
        record(name="By appointment", time="", day="", updated="2024-01-02 03:04:05"),
        record(name="Online", conference_url="https://x.test/1", latitude=None, longitude=None),
        record(name="Late", time="23:30", end_time="01:00", notes="Side door."),
    )
    operation = api_schema()["paths"]["/api/v1/meetings/"]["get"]
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]
    client = client_for(patient)
    for params in ({}, {"lat": 40.0, "lng": -75.0, "nearest": 10, "units": "mi"}):
        response = client.get(URL, params)
        assert response.status_code == 200, response.content
        assert response.json()["results"], params
        _conforms(response.json(), page, "page")


def _finest(box: tuple[float, float, float, float]) -> int:
    """How many of the finest cells a box spans (its area in cells)."""
    south, north, west, east = box
    rows = (north - south) / 180.0 * cells.SIDE
    columns = (east - west) / 360.0 * cells.SIDE
    return math.ceil(rows) * math.ceil(columns)


def test_the_cells_that_cover_a_box_hold_every_point_in_it_and_little_more():
    rng = random.Random(64)
    for _ in range(200):
        lat, lng = rng.uniform(-80, 80), rng.uniform(-180, 180)
        radius = rng.choice([1.0, 10.0, 80.0, 400.0])
        south, north, spans = search.box_ranges(search.Where(lat, lng, radius))
        ranges = cells.cover(south, north, spans, search.MOST_COVER_CELLS)
        assert ranges == sorted(ranges)
        assert all(a[1] + 1 < b[0] for a, b in itertools.pairwise(ranges))  # merged
        for _ in range(30):
            west, east = rng.choice(spans)
            point = cells.cell_of(rng.uniform(south, north), rng.uniform(west, east))
            assert any(first <= point <= last for first, last in ranges), (lat, lng, radius)
        # At most some 64 cells of one size, so within a few times the box itself.
        covered = sum(last - first + 1 for first, last in ranges)
        assert covered <= 16 * sum(_finest((south, north, w, e)) for w, e in spans)


def test_a_cover_across_the_antimeridian_or_round_a_pole_holds_both_sides():
    south, north, spans = search.box_ranges(search.Where(0.0, 179.99, 10.0))
    assert len(spans) == 2
    ranges = cells.cover(south, north, spans, search.MOST_COVER_CELLS)
    for lng in (179.99, 179.95, -179.97):
        point = cells.cell_of(0.0, lng)
        assert any(first <= point <= last for first, last in ranges)
    polar = cells.cover(89.9, 90.0, [(-180.0, 180.0)], search.MOST_COVER_CELLS)
    for lng in (-180.0, -90.0, 0.0, 179.999):
        point = cells.cell_of(89.95, lng)
        assert any(first <= point <= last for first, last in polar)
    assert cells.cover(-90.0, 90.0, [(-180.0, 180.0)], 1) == [cells.WHOLE_WORLD]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan (PostgreSQL: GiST)")
def test_on_sqlite_the_nearest_read_the_cells_of_their_box_not_its_latitude_band(patient):
    # A band of cities round the globe at the point's latitude, and a few meetings near it.
    make_meetings(
        *(record(latitude=40.0 + n % 7 * 0.01, longitude=-170.0 + n % 300) for n in range(600)),
        *(record(name=f"Near {n}", latitude=40.0, longitude=-75.5 + n * 0.01) for n in range(5)),
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE meetings_meeting")
    client = client_for(patient)
    params = {"lat": 40.0, "lng": -75.5, "nearest": 5}
    assert client.get(URL, params).status_code == 200  # the zones, now cached
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, params)
    assert [m["name"] for m in response.json()["results"]] == [f"Near {n}" for n in range(5)]
    ranking = next(q["sql"] for q in captured.captured_queries if "ORDER BY" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {ranking}")
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "meeting_cell" in plan, plan
    assert "meeting_lat_lng" not in plan, plan
