"""Approximate or a real door: from the feed's own word, an address of areas only, a shared point."""

import json
from datetime import UTC, datetime

import pytest

from backend.meetings import search
from backend.meetings.importer import Report, normalize
from tests.helpers import client_for
from tests.meetings.helpers import make_meetings, record, shared_feed

pytestmark = pytest.mark.django_db

URL = "/api/v1/meetings/"
# A numbered street of the same feed: it teaches the feed's names for its towns.
STREET = record(formatted_address="12 Elm St, Springfield, PA 19000, USA")


def _judged(*records: dict) -> dict[str, dict]:
    report = Report()
    fields = normalize(
        [STREET, *records],
        fmt="meeting_guide",
        fellowship="AA",
        default_tz="America/New_York",
        report=report,
    )
    return {f["name"]: f for f in fields}


def test_a_named_place_or_a_corner_with_precise_coordinates_is_found_near_me(patient):
    make_meetings(
        STREET,
        record(
            name="In the park",
            formatted_address="Riverside Park, Springfield, PA, USA",
            latitude=40.0011,
            longitude=-75.0002,
        ),
        record(
            name="On the corner",
            formatted_address="Corner of Main Street and Elm Avenue, Springfield, PA, USA",
            latitude=40.0021,
            longitude=-75.0003,
        ),
        record(
            name="Numbered corner",
            formatted_address="corner of Main St & 3rd Ave, Springfield, PA",
            latitude=40.0031,
            longitude=-75.0004,
        ),
    )
    response = client_for(patient).get(URL, {"lat": 40.0, "lng": -75.0, "radius": 2})
    found = {m["name"]: m["location"]["approximate"] for m in response.json()["results"]}
    assert found["In the park"] is False
    assert found["On the corner"] is False
    assert found["Numbered corner"] is False


@pytest.mark.parametrize(
    "address",
    [
        "Philadelphia, PA, USA",
        "Springfield, PA, USA",
        "Concord, MA 01742, USA",
        "Springfield, Pennsylvania, 19000",
        "Bucks County, PA",
        "PA, USA",
        "Springfield, PA, USA, Springfield, PA, USA",
    ],
)
def test_an_address_of_only_a_town_region_or_postal_code_is_approximate(address):
    judged = _judged(
        record(name="Town", formatted_address=address, regions=["Pennsylvania"]),
        record(name="Street", formatted_address=f"4 Oak St, {address}"),
    )
    assert judged["Town"]["approximate"] is True
    assert judged["Street"]["approximate"] is False


def test_a_town_in_the_records_own_fields_is_an_area():
    judged = _judged(
        record(name="Parts", formatted_address="", city="Lansdale", state="PA", postal_code=""),
        record(name="Named", formatted_address="Lansdale Library", city="Lansdale"),
        record(name="Town by name", formatted_address="Lansdale", city="Lansdale"),
    )
    assert judged["Parts"]["approximate"] is True
    assert judged["Named"]["approximate"] is False
    assert judged["Town by name"]["approximate"] is True


@pytest.mark.parametrize(
    "address",
    [
        "Riverside Park, Springfield, PA, USA",
        "325 Cherry St. Philadelphia, PA 19106",
        "Hall B, 12 Elm St, Springfield",
        "Herringbone Lane & Station Avenue, Media, PA, USA",
        "St Paul Lutheran Church",
    ],
)
def test_a_place_is_not_approximate_with_or_without_a_house_number(address):
    assert _judged(record(name="Place", formatted_address=address))["Place"]["approximate"] is False


def test_one_point_for_meetings_at_several_addresses_is_a_centroid_but_a_clubhouse_is_not():
    town = {"latitude": 40.1, "longitude": -75.1}
    club = {"latitude": 40.2, "longitude": -75.2}
    judged = _judged(
        record(name="A", formatted_address="1 Oak St, Springfield, PA, USA", **town),
        record(name="B", formatted_address="2 Pine St, Springfield, PA, USA", **town),
        record(name="C", formatted_address="3 Ash St, Springfield, PA, USA", **town),
        *(
            record(name=f"Club {n}", formatted_address=address, **club)
            for n, address in enumerate(
                ["320 E Swamp Rd, Doylestown, PA", "320 Swamp Rd, Doylestown, PA"] * 20
            )
        ),
    )
    assert {judged[name]["approximate"] for name in "ABC"} == {True}
    assert not any(f["approximate"] for name, f in judged.items() if name.startswith("Club"))
    # Shared with only one other address: a corner building with two doors, not a centroid.
    pair = _judged(
        record(name="North door", formatted_address="5 Oak St, Springfield, PA", **town),
        record(name="South door", formatted_address="7 Elm St, Springfield, PA", **town),
    )
    assert not pair["North door"]["approximate"]


@pytest.mark.parametrize(
    ("stated", "expected"),
    [
        *[("yes", True), ("Yes", True), (True, True), ("true", True), ("1", True)],
        *[("no", False), ("NO", False), (False, False), ("false", False), ("0", False)],
    ],
)
def test_the_records_own_approximate_field_wins(stated, expected):
    judged = _judged(
        record(name="Town", formatted_address="Springfield, PA, USA", approximate=stated),
        record(name="Door", formatted_address="9 Oak St, Springfield, PA", approximate=stated),
    )
    assert judged["Town"]["approximate"] is expected
    assert judged["Door"]["approximate"] is expected


def test_an_approximate_value_not_understood_is_judged_from_the_address():
    report = Report()
    [fields] = normalize(
        [record(formatted_address="Springfield, PA, USA", approximate="maybe")],
        fmt="meeting_guide",
        fellowship="AA",
        default_tz="America/New_York",
        report=report,
    )
    assert fields["approximate"] is True
    assert report.warnings["approximate value not understood, judged from the address"] == 1


def test_missing_coordinates_say_nothing_about_a_street_address():
    judged = _judged(
        record(
            name="Both",
            formatted_address="8406 118 Avenue NW, Edmonton, Alberta, T5B 0S5, Canada",
            latitude=None,
            longitude=None,
            conference_url="https://zoom.us/j/1",
        )
    )
    assert judged["Both"]["approximate"] is False
    assert judged["Both"]["attendance_option"] == "hybrid"


def test_a_centroid_is_left_out_of_near_me_and_a_door_stays():
    make_meetings(
        STREET,
        record(name="Town", formatted_address="Springfield, PA, USA", latitude=40, longitude=-75),
        record(name="Door", formatted_address="Riverside Park, Springfield, PA", latitude=40.0001),
    )
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    near = search.search(search.Criteria(where=search.Where(40.0, -75.0, 1)), at=at, zones=[])
    assert "Town" not in {m.name for m in near}
    assert "Door" in {m.name for m in near}


# --- the real feeds (read in place) -------------------------------------------------------------


def _real(name: str, strip_field: bool = False, tz: str = "America/New_York") -> list[dict]:
    records = json.loads(shared_feed(name).read_text())
    if strip_field:
        records = [{k: v for k, v in r.items() if k != "approximate"} for r in records]
    return normalize(records, fmt="meeting_guide", fellowship="AA", default_tz=tz, report=Report())


def test_in_the_pennsylvania_feed_only_town_addresses_are_approximate():
    fields = _real("aasepia.json")
    approximate = {f["formatted_address"] for f in fields if f["approximate"]}
    assert approximate == {"Philadelphia, PA, USA", "Glen Mills, PA, USA", "Bucks County, PA, USA"}
    assert sum(f["approximate"] for f in fields) == 225
    # Named places without a house number in their first part stay findable.
    park = [f for f in fields if f["formatted_address"].startswith("Fort Washington State Park")]
    assert park
    assert not any(f["approximate"] for f in park)


def test_judged_without_its_field_the_al_anon_feed_never_hides_a_place_it_calls_precise():
    stated = {f["slug"]: f["approximate"] for f in _real("al-anon.json")}
    judged = {f["slug"]: f["approximate"] for f in _real("al-anon.json", strip_field=True)}
    assert sum(stated.values()) == 24
    assert not [slug for slug, value in judged.items() if value and not stated[slug]]
    # Town-only addresses are found; ten on "Cuttyhunk Island, Gosnold" (an island) are not.
    assert sum(judged.values()) == 14


def test_the_edmonton_feed_without_coordinates_keeps_street_addresses_and_hybrids():
    fields = _real("edmonton.json", tz="America/Edmonton")
    approximate = [f for f in fields if f["approximate"]]
    assert len(approximate) == 47
    assert all(f["formatted_address"].split(",")[0].strip()[0].isalpha() for f in approximate)
    assert sum(f["attendance_option"] == "hybrid" for f in fields) == 30
