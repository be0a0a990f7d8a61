"""Every datetime and date the API takes holds what both databases store and the arithmetic holds.

PostgreSQL refuses UTC offsets of 16 hours or more (Python reads up to 23:59), and
dates near year 9999 overflow a day-after or a UTC conversion. One field
(backend.core.serializers, backend.core.filters) answers a field error instead.
"""

# ruff: noqa: F811  (world: the access matrix's fixture, imported by name)
import json
import uuid
from urllib.parse import parse_qsl

import pytest

from tests.helpers import (
    assert_problem,
    let_through,
    problem_fields,
    query_parameters,
    request_body_slots,
)
from tests.test_access_matrix import CASES, ENTRY, world  # noqa: F401  (world: a fixture)

pytestmark = pytest.mark.django_db


def _send(world, case, **fields):
    persona = world.personas[let_through(case)]
    body = {**(case.body(world, persona) or {}), **fields}
    return persona.client.generic(
        case.method,
        case.url(world),
        json.dumps(body),
        content_type="application/json",
        headers=case.headers(world),
    )


def _fields(kind: str) -> list:
    """(case, field) for every top-level body field of this format, from the schema."""
    return [
        pytest.param(case, slot[0], id=f"{case} {slot[0]}")
        for case in CASES
        if case.method in {"POST", "PATCH", "PUT"}
        for slot, format_ in request_body_slots(case).items()
        if format_ == kind and len(slot) == 1
    ]


def _filters(kind: str) -> list:
    return [
        pytest.param(case, name, id=f"{case} {name}")
        for case in CASES
        if case.method == "GET"
        for name in query_parameters(case, {kind})
    ]


BAD_OFFSETS = ["+16:00", "-16:00", "+23:59", "-23:59", "+05:30:15"]
BAD_YEARS = ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00", "3000-01-01T00:00:00Z"]
BAD_DATES = ["9999-12-31", "0001-01-01", "1899-12-31", "3000-01-01"]


@pytest.mark.parametrize("offset", BAD_OFFSETS)
@pytest.mark.parametrize(("case", "field"), _fields("date-time"))
def test_an_offset_no_database_stores_is_a_field_error(world, case, field, offset):
    response = _send(world, case, **{field: f"2026-11-20T09:30:00{offset}"})
    assert_problem(response, 400)
    assert "offset" in " ".join(problem_fields(response)[field])


@pytest.mark.parametrize("value", BAD_YEARS)
@pytest.mark.parametrize(("case", "field"), _fields("date-time"))
def test_a_datetime_in_a_year_the_arithmetic_cannot_hold_is_a_field_error(
    world, case, field, value
):
    response = _send(world, case, **{field: value})
    assert_problem(response, 400)
    assert "year" in " ".join(problem_fields(response)[field])


@pytest.mark.parametrize("value", BAD_DATES)
@pytest.mark.parametrize(("case", "field"), _fields("date"))
def test_a_date_in_a_year_the_arithmetic_cannot_hold_is_a_field_error(world, case, field, value):
    response = _send(world, case, **{field: value})
    assert_problem(response, 400)
    assert "year" in " ".join(problem_fields(response)[field])


@pytest.mark.parametrize("value", [f"2026-11-20T09:30:00{o}" for o in BAD_OFFSETS] + BAD_YEARS)
@pytest.mark.parametrize(("case", "param"), _filters("date-time"))
def test_a_datetime_filter_out_of_range_is_a_field_error(world, case, param, value):
    response = world.personas[let_through(case)].client.get(case.url(world), {param: value})
    assert_problem(response, 400)
    assert param in problem_fields(response)


@pytest.mark.parametrize("value", BAD_DATES)
@pytest.mark.parametrize(("case", "param"), _filters("date"))
def test_a_date_filter_out_of_range_is_a_field_error(world, case, param, value):
    path, _, query = case.url(world).partition("?")
    params = {**dict(parse_qsl(query)), param: value}
    response = world.personas[let_through(case)].client.get(path, params)
    assert_problem(response, 400)
    assert "year" in " ".join(problem_fields(response)[param])


def test_every_boundary_the_schema_lists_is_covered():
    # The lists above come from the schema; this pins the ones known today, so a
    # schema that stopped declaring them would not shrink the tests to nothing.
    fields = {(str(p.values[0]), p.values[1]) for p in _fields("date-time") + _fields("date")}
    assert {
        ("POST api/v1/journal/entries/", "occurred_at"),
        ("POST api/v1/consents/", "starts_at"),
        ("POST api/v1/consents/", "expires_at"),
        ("POST api/v1/meetings/attendance/", "attended_at"),
        ("POST api/v1/homework/", "due_date"),
        ("POST api/v1/journal/checkins/", "local_date"),
    } <= fields
    filters = {(str(p.values[0]), p.values[1]) for p in _filters("date-time") + _filters("date")}
    assert {
        ("GET api/v1/journal/entries/", "occurred_after"),
        ("GET api/v1/meetings/", "at"),
        ("GET api/v1/journal/insights/", "to"),
    } <= filters


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
