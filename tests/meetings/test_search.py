"""GET /api/v1/meetings/: where (exact great-circle distance) and when (each meeting's own clock)."""

import math
import random
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers as rest_serializers

from backend.meetings import search, selectors, serializers, services
from backend.meetings.models import Meeting
from tests.helpers import (
    assert_flat_queries,
    assert_problem,
    client_for,
    full_page,
    problem_fields,
    requires_postgres,
)
from tests.meetings.helpers import make_feed, make_meetings, record

pytestmark = pytest.mark.django_db

URL = "/api/v1/meetings/"


def _names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [m["name"] for m in response.json()["results"]]


# --- distance --------------------------------------------------------------------------------


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """The great-circle distance, in plain Python: the brute force the search must equal."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * search.EARTH_RADIUS_KM * math.asin(math.sqrt(min(h, 1.0)))


def _random_point(rng: random.Random) -> tuple[float, float]:
    near_a_pole = rng.random() < 0.2
    lat = rng.choice([1, -1]) * rng.uniform(85, 90) if near_a_pole else rng.uniform(-80, 80)
    if rng.random() < 0.3:  # near the antimeridian
        lng = rng.choice([1, -1]) * rng.uniform(175, 180)
    else:
        lng = rng.uniform(-180, 180)
    return round(lat, 6), round(lng, 6)


def test_the_radius_search_equals_a_brute_force_haversine_over_the_whole_table():
    rng = random.Random(20261125)
    records = []
    for number in range(600):
        lat, lng = _random_point(rng)
        records.append(record(slug=f"p{number}", latitude=lat, longitude=lng))
    # Clusters around the awkward places, so that small radii find something.
    for number, (lat, lng) in enumerate([(89.95, 10), (-89.9, -170), (0.5, 179.95), (-12, -179.9)]):
        for k in range(25):
            records.append(
                record(
                    slug=f"c{number}-{k}",
                    latitude=max(-90, min(90, lat + rng.uniform(-0.4, 0.4))),
                    longitude=((lng + rng.uniform(-0.8, 0.8) + 180) % 360) - 180,
                )
            )
    make_meetings(*records)
    table = list(Meeting.objects.values_list("pk", "latitude", "longitude"))
    queries = [(89.99, 0.0), (-89.95, 120.0), (0.3, -179.99), (-12.1, 179.95), (45.0, 179.0)]
    queries += [_random_point(rng) for _ in range(40)]
    at = datetime(2026, 11, 25, 12, tzinfo=UTC)
    for lat, lng in queries:
        for radius in (1.0, 25.0, 120.0, 500.0):
            where = search.Where(lat, lng, radius)
            found = {
                m.pk: m.distance_km
                for m in search.search(
                    search.Criteria(where=where), at=at, zones=["America/New_York"]
                )
            }
            brute = {
                pk: haversine_km(lat, lng, plat, plng)
                for pk, plat, plng in table
                if haversine_km(lat, lng, plat, plng) <= radius
            }
            edge = {
                pk
                for pk, plat, plng in table
                if abs(haversine_km(lat, lng, plat, plng) - radius) < 1e-6
            }
            assert set(found) - edge == set(brute) - edge, (lat, lng, radius)
            for pk in set(found) & set(brute):
                assert found[pk] == pytest.approx(brute[pk], rel=1e-9, abs=1e-6)


def test_the_bounding_box_spans_every_longitude_at_a_pole_and_splits_at_180_degrees():
    polar = search.bounding_box(search.Where(89.9, 0, 50))
    assert "longitude" not in str(polar)
    split = search.bounding_box(search.Where(0, 179.9, 50))
    assert "(OR: ('longitude__gte'" in str(split)


def test_near_me_leaves_out_centroids_online_only_and_far_meetings(patient):
    make_meetings(
        record(name="Door", latitude=40.0, longitude=-75.0),
        record(name="Hybrid", latitude=40.01, longitude=-75.0, conference_url="https://x.test/1"),
        record(
            name="Centroid",
            latitude=40.0,
            longitude=-75.0,
            formatted_address="Philadelphia, PA, USA",
        ),
        record(
            name="Online",
            latitude=40.0,
            longitude=-75.0,
            formatted_address="Philadelphia, PA, USA",
            conference_url="https://x.test/2",
        ),
        record(name="Far", latitude=41.0, longitude=-75.0),
    )
    response = client_for(patient).get(URL, {"lat": 40.0, "lng": -75.0, "radius": 5})
    assert sorted(_names(response)) == ["Door", "Hybrid"]
    edge = client_for(patient).get(URL, {"lat": 40, "lng": -75, "radius": 310.7, "units": "mi"})
    assert edge.status_code == 200, "the largest radius in miles, as the error message says"
    miles = client_for(patient).get(
        URL, {"lat": 40.0, "lng": -75.0, "radius": 100, "units": "mi", "order": "distance"}
    )
    by_name = {m["name"]: m["distance"] for m in miles.json()["results"]}
    assert by_name["Door"] == 0
    assert by_name["Far"] == pytest.approx(111.2 / 1.609344, rel=0.01)


# --- time on each meeting's clock -------------------------------------------------------------


# "at" must lie within a year of now: the tests that search as of a moment in 2026 stand the
# clock here, so that they pass whatever the day the suite runs.
SEARCH_CLOCK = datetime(2026, 11, 24, 12, tzinfo=UTC)


def _at(client, when: str, **params):
    return client.get(URL, {"at": when, **params})


@time_machine.travel(SEARCH_CLOCK)
def test_in_progress_includes_a_meeting_that_crosses_midnight(patient):
    make_meetings(
        record(name="Late", day=1, time="23:30", end_time="00:30"),
        record(name="Early", day=2, time="07:00", end_time="08:00"),
    )
    client = client_for(patient)
    # Tuesday 00:10 in New York (05:10 UTC): Monday's 23:30 meeting is still on.
    assert _names(_at(client, "2026-11-24T00:10:00-05:00", in_progress="true")) == ["Late"]
    assert _names(_at(client, "2026-11-24T00:31:00-05:00", in_progress="true")) == []


@time_machine.travel(SEARCH_CLOCK)
def test_the_week_wraps_from_saturday_night_to_sunday(patient):
    make_meetings(record(name="Saturday late", day=6, time="23:45", end_time="00:45"))
    client = client_for(patient)
    assert _names(_at(client, "2026-11-29T00:15:00-05:00", in_progress="true")) == ["Saturday late"]
    assert _names(_at(client, "2026-11-28T23:20:00-05:00", starting_within=30)) == ["Saturday late"]
    assert _names(_at(client, "2026-11-28T23:10:00-05:00", starting_within=30)) == []


@time_machine.travel(SEARCH_CLOCK)
def test_each_meeting_is_judged_on_its_own_clock(patient):
    make_meetings(
        record(name="Tokyo", day=3, time="09:00"), feed=make_feed("jp", "AA", "Asia/Tokyo")
    )
    make_meetings(
        record(name="Los Angeles", day=2, time="16:00"),
        feed=make_feed("la", "AA", "America/Los_Angeles"),
    )
    client = client_for(patient)
    # 2026-11-25 00:05 UTC = Wednesday 09:05 in Tokyo = Tuesday 16:05 in Los Angeles.
    both = _at(client, "2026-11-25T00:05:00Z", in_progress="true")
    assert sorted(_names(both)) == ["Los Angeles", "Tokyo"]
    starts = {m["name"]: m["next_start"] for m in both.json()["results"]}
    # In progress: the next start is a week on, with each zone's own offset.
    assert starts == {
        "Tokyo": "2026-12-02T09:00:00+09:00",
        "Los Angeles": "2026-12-01T16:00:00-08:00",
    }


def test_next_start_crosses_a_daylight_saving_change():
    [sunday, gap] = make_meetings(
        record(name="Sunday", day=0, time="10:00"), record(name="In the gap", day=0, time="02:30")
    )
    saturday = datetime(2026, 3, 7, 17, tzinfo=UTC)  # noon in New York, EST
    assert search.next_start(sunday, saturday).isoformat() == "2026-03-08T10:00:00-04:00"
    # 02:30 does not exist on 8 March 2026 in New York: the clock jumps to 03:30.
    assert search.next_start(gap, saturday).isoformat() == "2026-03-08T03:30:00-04:00"
    autumn = datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert search.next_start(sunday, autumn).isoformat() == "2026-11-01T10:00:00-05:00"


@time_machine.travel(SEARCH_CLOCK)
def test_starting_within_and_in_progress_count_real_minutes_across_a_change(patient):
    make_meetings(
        record(name="After the jump", day=0, time="03:15", end_time="04:15"),
        record(name="Before the jump", day=0, time="01:00", end_time="02:30"),
    )
    client = client_for(patient)
    # 01:30 EST on 8 March 2026; at 02:00 the clock jumps to 03:00 EDT. 03:15 is 45 minutes off
    # (an hour and three quarters on the wall clock).
    soon = _at(client, "2026-03-08T01:30:00-05:00", starting_within=60)
    assert _names(soon) == ["After the jump"]
    assert soon.json()["results"][0]["next_start"] == "2026-03-08T03:15:00-04:00"
    # 03:20 EDT: the 01:00 meeting is listed to 02:30, a time the jump skips (03:30 EDT).
    both = _at(client, "2026-03-08T03:20:00-04:00", in_progress="true")
    assert sorted(_names(both)) == ["After the jump", "Before the jump"]
    assert _names(_at(client, "2026-03-08T03:31:00-04:00", in_progress="true")) == [
        "After the jump"
    ]


@pytest.mark.parametrize(
    ("day", "start", "end", "when", "running"),
    [
        # Autumn: 03:30 on the clock is still half an hour off at 03:00 EST.
        (6, "23:30", "03:30", "2026-11-01T03:00:00-05:00", True),
        # 01:30 on the second pass: it began at 01:00 EDT and runs to 02:00 EST.
        (0, "01:00", "02:00", "2026-11-01T06:30:00Z", True),
        (0, "01:00", "02:00", "2026-11-01T02:00:00-05:00", False),
        # Spring: 04:00 EDT is half an hour after the listed end.
        (6, "23:30", "03:30", "2026-03-08T04:00:00-04:00", False),
        (6, "23:30", "03:30", "2026-03-08T03:29:00-04:00", True),
    ],
)
@time_machine.travel(SEARCH_CLOCK)
def test_a_meeting_runs_to_its_listed_end_on_the_night_the_clocks_change(
    patient, day, start, end, when, running
):
    make_meetings(record(name="Night", day=day, time=start, end_time=end))
    found = _names(_at(client_for(patient), when, in_progress="true"))
    assert found == (["Night"] if running else [])


MOMENTS_AROUND_CHANGES = [
    change + timedelta(minutes=minutes, seconds=20)
    for change in (datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC))
    for minutes in (-1440, -61, -30, 0, 1, 45, 60, 61, 150, 6 * 1440)
]


@pytest.mark.parametrize("at", MOMENTS_AROUND_CHANGES, ids=lambda at: at.isoformat())
def test_the_database_counts_what_next_start_and_in_progress_say(at):
    # Sunday's small hours every 10 minutes on both sides of the changes, some running past
    # them, one from Saturday night, and zones that change on other days or never.
    records = [
        record(name=f"Sunday {m // 60:02d}:{m % 60:02d}", day=0, time=f"{m // 60:02d}:{m % 60:02d}",
               end_time=f"{(m + 70) // 60:02d}:{(m + 70) % 60:02d}")
        for m in range(0, 5 * 60, 10)
    ]  # fmt: skip
    records.append(record(name="Saturday night", day=6, time="23:30", end_time="03:30"))
    make_meetings(*records)
    make_meetings(
        record(name="London", day=0, time="01:30"), feed=make_feed("uk", "AA", "Europe/London")
    )
    make_meetings(
        record(name="Tokyo", day=0, time="16:30"), feed=make_feed("jp", "AA", "Asia/Tokyo")
    )
    zones = selectors.zones()
    whole = list(search.search(search.Criteria(), at=at, zones=zones))
    now = at.replace(second=0, microsecond=0)
    assert len(whole) == len(records) + 2
    for meeting in whole:
        exact = (search.next_start(meeting, at) - now) // timedelta(minutes=1)
        assert meeting.minutes_until == exact, (meeting.name, at)
    assert [m.minutes_until for m in whole] == sorted(m.minutes_until for m in whole)

    def found(**criteria):
        return {m.pk for m in search.search(search.Criteria(**criteria), at=at, zones=zones)}

    assert found(in_progress=True) == {m.pk for m in whole if search.in_progress(m, at)}
    assert found(starting_within=90) == {m.pk for m in whole if m.minutes_until <= 90}


@time_machine.travel(SEARCH_CLOCK)
def test_buckets_and_windows_use_local_start_times(patient):
    make_meetings(
        record(name="Dawn", time="06:00"),
        record(name="Lunch", time="12:30"),
        record(name="Dinner", time="18:00"),
        record(name="Late", time="23:00"),
        record(name="Small hours", time="02:00"),
    )
    client = client_for(patient)
    at = "2026-11-23T05:00:00-05:00"  # Monday before dawn
    assert sorted(_names(_at(client, at, time="night"))) == ["Late", "Small hours"]
    assert _names(_at(client, at, time="morning")) == ["Dawn"]
    assert _names(_at(client, at, time="midday")) == ["Lunch"]
    assert _names(_at(client, at, time="evening")) == ["Dinner"]
    window = _at(client, at, start_after="22:00", start_before="03:00")
    assert sorted(_names(window)) == ["Late", "Small hours"]


@time_machine.travel(SEARCH_CLOCK)
def test_results_come_by_next_start_then_distance_then_name(patient):
    make_meetings(
        record(name="B far", time="19:00", latitude=40.05, longitude=-75.0),
        record(name="A near", time="19:00", latitude=40.01, longitude=-75.0),
        record(name="C near", time="19:00", latitude=40.01, longitude=-75.0),
        record(name="Sooner", time="18:00", latitude=40.08, longitude=-75.0),
    )
    client = client_for(patient)
    at = "2026-11-23T12:00:00-05:00"
    assert _names(_at(client, at, lat=40.0, lng=-75.0, radius=20)) == [
        "Sooner",
        "A near",
        "C near",
        "B far",
    ]
    by_distance = _at(client, at, lat=40.0, lng=-75.0, radius=20, order="distance")
    assert _names(by_distance) == ["A near", "C near", "B far", "Sooner"]


# --- what a meeting is -------------------------------------------------------------------------


def test_types_must_all_match_and_attendance_options_overlap(patient):
    make_meetings(
        record(name="Women", types=["W"]),
        record(name="Women wheelchair", types=["W", "X"]),
        record(name="Hybrid", types=["O"], conference_url="https://x.test/h"),
        record(
            name="Online",
            formatted_address="Springfield, PA, USA",
            conference_url="https://x.test/o",
        ),
        record(name="Closed for now", types=["TC"]),
    )
    client = client_for(patient)
    assert _names(client.get(URL, {"types": "W,X"})) == ["Women wheelchair"]
    assert sorted(_names(client.get(URL, {"attendance": "online"}))) == ["Hybrid", "Online"]
    in_person = sorted(_names(client.get(URL, {"attendance": "in_person"})))
    assert in_person == ["Hybrid", "Women", "Women wheelchair"]
    assert "Closed for now" not in _names(client.get(URL))
    assert _names(client.get(URL, {"attendance": "inactive"})) == ["Closed for now"]


def test_fellowship_text_and_region(patient):
    make_meetings(
        record(name="Serenity", notes="Back door", regions=["Delaware County", "Media"]),
        record(name="Hope", location="St. Mark's Church", regions=["Chester County"]),
    )
    make_meetings(record(name="Family Group"), feed=make_feed("alanon", "Al-Anon"))
    client = client_for(patient)
    assert _names(client.get(URL, {"fellowship": "al-anon"})) == ["Family Group"]
    assert _names(client.get(URL, {"q": "mark church"})) == ["Hope"]
    assert _names(client.get(URL, {"q": "BACK door"})) == ["Serenity"]
    assert _names(client.get(URL, {"region": "media"})) == ["Serenity"]
    assert _names(client.get(URL, {"region": "Delaware"})) == []  # a region, not a substring
    one = client.get(URL, {"q": "serenity"}).json()["results"][0]
    assert one["types"] == [{"code": "O", "name": "Open"}]
    assert one["location"]["approximate"] is False


def test_retired_meetings_are_not_found(patient):
    feed = make_feed("shrinking")
    make_meetings(record(name="Stays", slug="s"), record(name="Goes", slug="g"), feed=feed)
    make_meetings(record(name="Stays", slug="s"), feed=feed)
    assert _names(client_for(patient).get(URL)) == ["Stays"]


# --- bad input and paging ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": 91, "lng": 0}, "lat"),
        ({"lat": 0, "lng": 181}, "lng"),
        ({"lat": "nan", "lng": 0}, "lat"),
        ({"lat": 0, "lng": 0, "radius": "inf"}, "radius"),
        ({"lat": 0, "lng": 0, "radius": 0}, "radius"),
        ({"lat": 0, "lng": 0, "radius": 501}, "radius"),
        ({"lat": 0, "lng": 0, "radius": 311, "units": "mi"}, "radius"),
        ({"lat": 0, "lng": 0, "units": "furlongs"}, "units"),
        ({"lat": 0}, "lng"),
        ({"radius": 5}, "radius"),
        ({"types": "O,NOPE"}, "types.1"),
        ({"start_after": "7pm", "start_before": "23:00"}, "start_after"),
        ({"start_after": "19:00"}, "start_before"),
        ({"day": "8"}, "day.0"),
        ({"day": "someday"}, "day.0"),
        ({"time": "teatime"}, "time"),
        ({"starting_within": -5}, "starting_within"),
        ({"order": "distance"}, "order"),
        ({"attendance": "teleport"}, "attendance"),
        ({"at": "yesterday"}, "at"),
        ({"page_size": 0}, "page_size"),
        ({"page": 99}, "page"),
        ({"at": "9999-12-31T23:59:00Z"}, "at"),
        ({"at": "0001-01-01T00:00:00Z"}, "at"),
        ({"day": "²"}, "day.0"),
        ({"start_after": "19:00", "start_before": "19:00"}, "start_before"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_search_parameters_get_field_errors(patient, params, field):
    make_meetings(record())
    response = client_for(patient).get(URL, params)
    assert_problem(response, 400)
    assert field in problem_fields(response), problem_fields(response)


def test_pages_are_cut_at_one_moment_and_cost_the_same_queries(patient):
    make_meetings(*(record(name=f"M{n:02d}", time=f"{6 + n % 15:02d}:00") for n in range(30)))
    client = client_for(patient)
    first = client.get(URL, {"page_size": 10, "lat": 40, "lng": -75, "radius": 50})
    assert first.status_code == 200
    link = first.json()["next"]
    at = parse_qs(urlsplit(link).query)["at"][0]
    # Ten minutes on (the access token lives fifteen): the order has moved on, the pages not.
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=10)):
        second = client.get(link)
    names = _names(first) + _names(second)
    assert len(set(names)) == 20, "the second page continues the first, whenever it is read"
    assert second.json()["results"][0]["next_start"] >= first.json()["results"][-1]["next_start"]
    assert datetime.fromisoformat(at)

    near = {"lat": 40, "lng": -75, "radius": 50}
    assert_flat_queries(lambda size: full_page(client, URL, size, **near), (1, 30))


def test_every_page_is_a_slice_of_the_one_whole_order():
    # Ties everywhere: few start times, a few places, repeated names; ids break the rest.
    # Two zones (19:00 in Chicago is 20:00 in New York), and meetings by appointment.
    rng = random.Random(7)

    def when(n):
        if n % 10 == 0:
            return {"day": "", "time": ""}
        return {"day": rng.choice([1, 2]), "time": rng.choice(["07:00", "19:00", "19:30"])}

    make_meetings(
        *(
            record(
                name=f"Group {n % 5}",
                **when(n),
                timezone=rng.choice(["America/New_York", "America/Chicago"]),
                latitude=40.0 + rng.choice([0.0, 0.01, 0.02]),
                longitude=-75.0,
            )
            for n in range(60)
        )
    )
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    for order in ("next", "distance"):
        criteria = search.Criteria(where=search.Where(40.0, -75.0, 10), order=order)
        results = search.search(criteria, at=at, zones=selectors.zones())
        whole = list(results)
        pages = [m for start in range(0, 70, 7) for m in results[start : start + 7]]
        assert [m.pk for m in pages] == [m.pk for m in whole]
        assert len(whole) == 60

        def key(m, order=order):
            start = search.next_start(m, at)
            soon = math.inf if start is None else (start - at).total_seconds()
            near = haversine_km(40.0, -75.0, m.latitude, m.longitude)
            first = (soon, near) if order == "next" else (near, soon)
            return (*first, m.name, m.pk)

        assert [m.pk for m in whole] == [m.pk for m in sorted(whole, key=key)]
        for meeting in whole:
            assert meeting.distance_km == pytest.approx(
                haversine_km(40.0, -75.0, meeting.latitude, meeting.longitude), abs=1e-9
            )
    assert {m.time_zone for m in whole} == {"America/New_York", "America/Chicago"}
    assert sum(m.day is None for m in whole) == 6


def test_a_meeting_deleted_between_ranking_and_reading_is_left_out_of_its_page(monkeypatch):
    make_meetings(*(record(name=f"M{n}", time=f"{8 + n:02d}:00") for n in range(6)))
    criteria = search.Criteria(where=search.Where(40.0, -75.0, 10))
    results = search.search(criteria, at=datetime(2026, 11, 23, 12, tzinfo=UTC), zones=[])
    whole = [m.pk for m in results]
    assert len(whole) == 6
    read_rows = search.Results._rows

    def rows_after_an_admin_delete(self, ids):
        Meeting.objects.filter(pk=whole[1]).delete()
        return read_rows(self, ids)

    monkeypatch.setattr(search.Results, "_rows", rows_after_an_admin_delete)
    assert [m.pk for m in results[0:4]] == [whole[0], whole[2], whole[3]]


def test_the_zones_with_the_most_meetings_come_first():
    make_meetings(record(timezone="Asia/Tokyo"), *(record() for _ in range(3)))
    make_meetings(*(record(timezone="Europe/London") for _ in range(2)))
    assert selectors.zones() == ["America/New_York", "Europe/London", "Asia/Tokyo"]


@requires_postgres("the query planner's choice of the bounding-box index")
@pytest.mark.parametrize("window", [False, True], ids=["box", "soon-window"])
def test_a_near_me_search_ranks_through_the_box_index_and_reads_a_page_by_key(
    patient, settings, window
):
    settings.MEETING_SEARCH_SOON_WINDOW = window
    rng = random.Random(11)
    cities = [(40.0 + 2 * n, -75.0 - 3 * n) for n in range(20)]
    make_meetings(
        *(
            record(latitude=lat + rng.gauss(0, 0.1), longitude=lng + rng.gauss(0, 0.1))
            for lat, lng in cities
            for _ in range(100)
        )
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE meetings_meeting")
    client = client_for(patient)
    near = {"lat": 40, "lng": -75, "radius": 10}
    assert client.get(URL, near).status_code == 200  # the directory's zones, now cached
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL, near).status_code == 200
    # With the soon window on, its probe (search.SoonWindow); the ranking; the page's rows.
    statements = [q["sql"] for q in captured.captured_queries if "meetings_meeting" in q["sql"]]
    assert len(statements) == (3 if window else 2)
    *probe, ranking, page = statements

    def plan_nodes(statement):
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}")
            (plan,) = cursor.fetchone()[0]

        def nodes(node):
            yield node
            for child in node.get("Plans", []):
                yield from nodes(child)

        return list(nodes(plan["Plan"]))

    boxed = {"meeting_point_knn", "meeting_area_utc_minute"}  # the box: search.InBoxes
    checks = [*((statement, boxed) for statement in probe), (ranking, boxed)]
    for statement, indexes in (*checks, (page, {"meetings_meeting_pkey"})):
        every = plan_nodes(statement)
        full_reads = [n for n in every if n["Node Type"] == "Seq Scan"]
        assert not [n for n in full_reads if n["Relation Name"] == "meetings_meeting"], every
        assert indexes & {n.get("Index Name") for n in every}, every


PARAMS = [
    "lat", "lng", "radius", "units", "day", "start_after", "start_before", "time", "in_progress",
    "starting_within", "types", "attendance", "fellowship", "q", "region", "order", "at", "page",
    "page_size",
]  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.dictionaries(
        st.sampled_from(PARAMS),
        st.one_of(
            st.text(max_size=12),
            st.integers(-1000, 100000).map(str),
            st.floats(allow_nan=True, allow_infinity=True).map(str),
            st.sampled_from(["O,W", "monday", "mi", "distance", "night", "23:00", "true", "NaN"]),
        ),
        max_size=6,
    )
)
def test_no_search_query_answers_500(patient, query):
    response = client_for(patient).get(URL, query)
    assert response.status_code in (200, 400), (query, response.content[:300])


@pytest.mark.parametrize("units", ["km", "mi"])
def test_a_meeting_reads_as_drfs_own_field_by_field_walk_would_read_it(patient, units):
    """MeetingSerializer writes its fields out for speed: the answer is DRF's, key for key."""
    meetings = make_meetings(
        record(name="Door", types=["O", "W"], regions=["Center City", "District 2"]),
        record(name="Hybrid", conference_url="https://x.test/1", updated="2026-11-01 10:00:00"),
        record(name="By appointment", day="", time="", end_time="", notes="Call first."),
        record(name="Late", time="23:30", end_time="01:00", timezone="Asia/Kolkata"),
        record(name="Far", latitude=-33.9, longitude=151.2, timezone="Australia/Sydney"),
        record(
            name="Centroid", latitude=40.0, longitude=-75.0, formatted_address="Springfield, PA"
        ),
    )
    make_meetings(record(name="Online only", formatted_address="", latitude="", longitude=""))
    services.meeting_save(patient=patient, meeting=meetings[0])
    Meeting.objects.filter(pk=meetings[3].pk).update(retired_at=datetime(2026, 11, 2, tzinfo=UTC))
    at = datetime(2026, 11, 25, 18, 45, tzinfo=UTC)
    context = {"at": at, "units": units}
    everywhere = search.Criteria(where=search.Where(40.0, -75.0, 10.0), nearest=10)
    read = [
        *search.search(everywhere, at=at, zones=selectors.zones(), viewer=patient),
        *search.search(search.Criteria(), at=at, zones=selectors.zones(), viewer=patient),
        *Meeting.objects.select_related("feed"),  # as the detail and saved views read them
    ]
    assert len(read) > 10
    for meeting in read:
        serializer = serializers.MeetingSerializer(meeting, context=context)
        generic = rest_serializers.ModelSerializer.to_representation(serializer, meeting)
        assert serializer.data == generic
        assert list(serializer.data) == list(generic)
