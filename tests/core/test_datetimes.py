"""Every datetime and date the API takes holds what both databases store and the arithmetic holds.

PostgreSQL refuses UTC offsets of 16 hours or more (Python reads up to 23:59), and
dates near year 9999 overflow a day-after or a UTC conversion. One field
(backend.core.serializers, backend.core.filters) answers a field error instead.
"""

# ruff: noqa: F811  (world: the access matrix's fixture, imported by name)
import json
import uuid

import pytest

from tests.helpers import assert_problem, problem_fields
from tests.test_access_matrix import CASES, ENTRY, world  # noqa: F401  (world: a fixture)

pytestmark = pytest.mark.django_db


def _case(method: str, route: str):
    return next(c for c in CASES if (c.method, c.route) == (method, route))


def _send(world, persona: str, method: str, route: str, **fields):
    case = _case(method, route)
    body = {**case.body(world, world.personas[persona]), **fields}
    return world.personas[persona].client.generic(
        method,
        case.url(world),
        json.dumps(body),
        content_type="application/json",
        headers=case.headers(world),
    )


# (persona, method, route, field): every body field taking a datetime.
DATETIME_FIELDS = [
    ("patient", "POST", "api/v1/journal/entries/", "occurred_at"),
    ("patient", "PATCH", "api/v1/journal/entries/<uuid:entry_id>/", "occurred_at"),
    ("patient", "POST", "api/v1/meetings/attendance/", "attended_at"),
    ("patient", "POST", "api/v1/consents/", "starts_at"),
    ("patient", "POST", "api/v1/consents/", "expires_at"),
]
DATE_FIELDS = [
    ("patient", "POST", "api/v1/journal/checkins/", "local_date"),
    ("patient", "PATCH", "api/v1/journal/checkins/<uuid:checkin_id>/", "local_date"),
    ("other_patient", "POST", "api/v1/journal/counters/", "start_date"),
    ("linked_therapist", "POST", "api/v1/homework/", "due_date"),
    ("linked_therapist", "PATCH", "api/v1/homework/<uuid:homework_id>/", "due_date"),
]
BAD_OFFSETS = ["+16:00", "-16:00", "+23:59", "-23:59", "+05:30:15"]
BAD_YEARS = ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00", "3000-01-01T00:00:00Z"]
BAD_DATES = ["9999-12-31", "0001-01-01", "1899-12-31", "3000-01-01"]


@pytest.mark.parametrize("offset", BAD_OFFSETS)
@pytest.mark.parametrize(("persona", "method", "route", "field"), DATETIME_FIELDS)
def test_an_offset_no_database_stores_is_a_field_error(
    world, persona, method, route, field, offset
):
    response = _send(world, persona, method, route, **{field: f"2026-11-20T09:30:00{offset}"})
    assert_problem(response, 400)
    assert "offset" in " ".join(problem_fields(response)[field])


@pytest.mark.parametrize("value", BAD_YEARS)
@pytest.mark.parametrize(("persona", "method", "route", "field"), DATETIME_FIELDS)
def test_a_datetime_in_a_year_the_arithmetic_cannot_hold_is_a_field_error(
    world,
    persona,
    method,
    route,
    field,
    value,
):
    response = _send(world, persona, method, route, **{field: value})
    assert_problem(response, 400)
    assert field in problem_fields(response)


@pytest.mark.parametrize("value", BAD_DATES)
@pytest.mark.parametrize(("persona", "method", "route", "field"), DATE_FIELDS)
def test_a_date_in_a_year_the_arithmetic_cannot_hold_is_a_field_error(
    world,
    persona,
    method,
    route,
    field,
    value,
):
    extra = {"recurrence": "weekly", "occurrences": 26} if route == "api/v1/homework/" else {}
    response = _send(world, persona, method, route, **{field: value, **extra})
    assert_problem(response, 400)
    assert "year" in " ".join(problem_fields(response)[field])


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/v1/journal/entries/", "occurred_after"),
        ("/api/v1/journal/entries/", "occurred_before"),
        ("/api/v1/meetings/", "at"),
    ],
)
@pytest.mark.parametrize("value", [f"2026-11-20T09:30:00{o}" for o in BAD_OFFSETS] + BAD_YEARS)
def test_a_datetime_filter_out_of_range_is_a_field_error(world, url, param, value):
    response = world.personas["patient"].client.get(url, {param: value})
    assert_problem(response, 400)
    assert param in problem_fields(response)


@pytest.mark.parametrize(
    ("url", "param"),
    [("/api/v1/journal/insights/", "to"), ("/api/v1/coping/effectiveness/", "to")],
)
@pytest.mark.parametrize("value", BAD_DATES)
def test_a_date_filter_out_of_range_is_a_field_error(world, url, param, value):
    response = world.personas["patient"].client.get(url, {"from": "2026-11-01", param: value})
    assert_problem(response, 400)
    assert param in problem_fields(response)


@pytest.mark.parametrize("offset", ["-15:59", "+15:59", "+05:45"])
def test_the_widest_offsets_both_databases_hold_are_stored_and_kept(world, offset):
    occurred_at = f"2026-11-20T09:30:00{offset}"
    entry_id = str(uuid.uuid4())
    client = world.personas["patient"].client
    created = client.post(
        "/api/v1/journal/entries/",
        {**ENTRY, "id": entry_id, "occurred_at": occurred_at},
        format="json",
    )
    assert created.status_code == 201, created.content
    listed = client.get("/api/v1/journal/entries/", {"occurred_after": occurred_at})
    assert listed.status_code == 200, listed.content
    [row] = [row for row in listed.json()["results"] if row["id"] == entry_id]
    assert row["occurred_at"] == occurred_at
