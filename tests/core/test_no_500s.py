"""No input, however odd, makes any write endpoint answer 500."""

import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from urllib.parse import parse_qsl

import pytest
from django.utils.dateparse import parse_date, parse_datetime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import (
    assert_problem,
    client_for,
    let_through,
    query_parameters,
    request_body_slots,
)
from tests.test_access_matrix import CASES, world  # noqa: F401  (world: a fixture used below)

pytestmark = pytest.mark.django_db

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
FIELD_NAMES = [
    "email", "password", "display_name", "time_zone", "locale", "token", "refresh", "uid",
    "new_password", "current_password", "code", "quiet_hours_start", "quiet_hours_end", "role",
    "scopes", "purpose", "recipient", "signature_name", "expires_at", "starts_at", "grant_days",
    "allow_journal_text", "comment", "reason", "recipient_name", "meeting", "attended_at",
    "duration_minutes", "neutral_titles", "name", "id", "kind", "times", "weekdays",
    "lead_minutes", "message", "quiet_hours", "daily_cap", "endpoint", "keys", "status",
    "suggestion_reason", "category", "summary", "steps", "approach", "patient", "title", "items",
    "skill", "text", "done", "reasons", "triggers", "warning_signs", "coping_strategies",
    "support_contacts", "after_lapse", "crisis_lines", "relation", "phone", "section", "proposed",
    "note", "decision", "feedback", "template", "instructions", "questions", "due_date",
    "recurrence", "occurrences", "answers", "type", "prompt", "choices", "required",
]  # fmt: skip
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=5),
    json_values,
)
WRITE_ROUTES = sorted({(c.method, c.route) for c in CASES if c.method in {"POST", "PATCH"}})


@pytest.mark.parametrize(("method", "route"), WRITE_ROUTES)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
def test_random_json_never_causes_a_500(personas, method, route, body):
    case = next(c for c in CASES if (c.method, c.route) == (method, route))
    # Path ids are not needed: every write route under test takes no id.
    for persona in ("anonymous", "patient", "linked_therapist", "family"):
        client = client_for(personas[persona].user)
        response = client.generic(
            method, "/" + route, json.dumps(body), content_type="application/json"
        )
        assert response.status_code < 500, (persona, body, response.content[:300])
    assert case


# Routes that write into one record: fuzzed at a real record's URL, by its owner and by
# therapists with and without a grant, so validation past the 404 is exercised too.
RECORD_ROUTES = sorted(
    {
        (c.method, c.route)
        for c in CASES
        if c.method in {"POST", "PATCH", "PUT"}
        and "<" in c.route
        and c.route.startswith(("api/v1/coping/", "api/v1/homework/", "api/v1/nudges/"))
    }
)


@pytest.mark.parametrize(("method", "route"), RECORD_ROUTES)
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
def test_random_json_to_a_record_never_causes_a_500(world, method, route, body):  # noqa: F811
    case = next(c for c in CASES if (c.method, c.route) == (method, route))
    for persona in ("patient", "granted_therapist", "linked_therapist"):
        client = world.personas[persona].client
        response = client.generic(
            method, case.url(world), json.dumps(body), content_type="application/json"
        )
        assert response.status_code < 500, (persona, body, response.content[:300])


# --- Classes of input that once answered 500, on every write route and list filter ---------
# Routes come from the access matrix (which every URL pattern must join) and the fields and
# query parameters from the committed OpenAPI schema (tests.helpers), so a new route or field
# joins these tests by itself.

# API writes (the bare address only redirects, whatever the method and body).
WRITES = [c for c in CASES if c.method in {"POST", "PATCH", "PUT"} and c.route.startswith("api/")]
READS = [c for c in CASES if c.method == "GET"]


def _body_slots(value, path: tuple = ()) -> Iterator[tuple]:
    """Paths to the strings of a body that read as a date or a datetime."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _body_slots(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _body_slots(child, (*path, index))
    elif isinstance(value, str) and (parse_date_or_none(value) or parse_datetime_or_none(value)):
        yield path


def parse_date_or_none(text: str):
    try:
        return parse_date(text)
    except ValueError:
        return None


def parse_datetime_or_none(text: str):
    try:
        return parse_datetime(text)
    except ValueError:
        return None


def _set(body, path: tuple, value):
    """A copy of ``body`` with ``value`` at ``path``; None when the path's parent is absent."""
    if not path:
        return value
    head, *rest = path
    if isinstance(body, dict):
        copy = dict(body)
        if rest and head not in copy:
            return None
        inner = _set(copy.get(head), tuple(rest), value)
    elif isinstance(body, list) and isinstance(head, int) and head < len(body):
        copy = list(body)
        inner = _set(copy[head], tuple(rest), value)
    else:
        return None
    if rest and inner is None:
        return None
    copy[head] = inner
    return copy


def _send(at, case, persona: str, body, **environ):
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return at.personas[persona].client.generic(
        case.method,
        case.url(at),
        raw,
        content_type="application/json",
        headers=case.headers(at),
        **environ,
    )


def _assert_no_500(response, *context) -> None:
    assert response.status_code < 500, (*context, response.content[:300])
    if response.status_code >= 400:
        assert_problem(response, response.status_code)


def _wrapped(value, levels: int):
    for _ in range(levels):
        value = [value]
    return value


def _non_object_items(body) -> Iterator:
    """The body with non-objects (null, a string, a number, a list) among each list's objects."""
    for path in {p[:-1] for p in _all_paths(body) if p and isinstance(p[-1], int)}:
        items = _get(body, path)
        if any(isinstance(item, dict) for item in items):
            yield _set(body, path, [None, *items, "text", 5, [], None])


def _all_paths(value, path: tuple = ()) -> Iterator[tuple]:
    yield path
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in children:
        yield from _all_paths(child, (*path, key))


def _get(value, path: tuple):
    for key in path:
        value = value[key]
    return value


@pytest.mark.parametrize("case", WRITES, ids=str)
def test_deep_nesting_and_non_object_items_never_cause_a_500(world, case):  # noqa: F811
    persona = let_through(case)
    valid = case.body(world, world.personas[persona]) or {}
    bodies = [
        "[" * 5000 + "]" * 5000,
        '{"a":' * 3000 + "1" + "}" * 3000,
        {key: _wrapped(value, 40) for key, value in valid.items()},
        None,
        [valid],
        *_non_object_items(valid),
    ]
    for body in bodies:
        for who in ("anonymous", persona):
            response = _send(world, case, who, body)
            _assert_no_500(response, who, str(body)[:200])
            if who == persona and isinstance(body, str) and response.status_code == 400:
                assert response.json()["code"] == "parse_error"


@pytest.mark.parametrize("case", WRITES, ids=str)
def test_a_chunked_body_is_refused_with_411_or_read_whole(world, case):  # noqa: F811
    persona = let_through(case)
    raw = json.dumps(case.body(world, world.personas[persona]) or {}).encode()
    refused = _send(world, case, persona, raw, HTTP_TRANSFER_ENCODING="chunked", CONTENT_LENGTH="")
    assert assert_problem(refused, 411)["code"] == "length_required"
    read = _send(
        world,
        case,
        persona,
        raw,
        HTTP_TRANSFER_ENCODING="chunked",
        CONTENT_LENGTH="",
        **{"wsgi.input_terminated": True, "wsgi.input": io.BytesIO(raw)},
    )
    assert read.status_code == case.expect[persona], read.content[:300]


# Offsets PostgreSQL refuses, years whose day after or UTC instant overflows, both at once.
EDGE_DATES = [
    "2026-11-20T09:30:00+16:00",
    "2026-11-20T09:30:00-23:59",
    "2026-11-20T09:30:00+05:30:15.5",
    "9999-12-31T23:59:59-15:59",
    "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:00:00+15:59",
    "9999-12-31",
    "0001-01-01",
]
_offsets = st.timedeltas(
    min_value=timedelta(hours=-24) + timedelta(microseconds=1),
    max_value=timedelta(hours=24) - timedelta(microseconds=1),
)
date_like = st.one_of(
    st.sampled_from(EDGE_DATES),
    st.datetimes(timezones=_offsets.map(dt_timezone)).map(datetime.isoformat),
    st.datetimes().map(datetime.isoformat),
    st.dates().map(date.isoformat),
)
# Every write whose schema takes a date, a datetime or free-form JSON (the batch's items).
DATED_WRITES = [c for c in WRITES if request_body_slots(c)]


def _write_slots(case, valid) -> list[tuple]:
    return sorted({*request_body_slots(case), *_body_slots(valid)}, key=str)


@pytest.mark.parametrize("case", DATED_WRITES, ids=str)
def test_edge_offsets_and_years_in_each_date_of_a_write_never_cause_a_500(world, case):  # noqa: F811
    persona = let_through(case)
    valid = case.body(world, world.personas[persona]) or {}
    for slot in _write_slots(case, valid):
        for value in EDGE_DATES:
            body = _set(valid, slot, value)
            if body is not None:
                _assert_no_500(_send(world, case, persona, body), persona, slot, value)


@pytest.mark.parametrize("case", DATED_WRITES, ids=str)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_offset_and_year_in_a_write_never_causes_a_500(world, case, data):  # noqa: F811
    persona = let_through(case)
    valid = case.body(world, world.personas[persona]) or {}
    body = valid
    for slot in data.draw(
        st.lists(st.sampled_from(_write_slots(case, valid)), min_size=1, unique=True)
    ):
        changed = _set(body, slot, data.draw(date_like, label=str(slot)))
        body = body if changed is None else changed
    _assert_no_500(_send(world, case, persona, body), persona, body)


@pytest.mark.parametrize(
    "case", [c for c in READS if query_parameters(c, {"date", "date-time"})], ids=str
)
def test_edge_offsets_and_years_in_each_date_filter_never_cause_a_500(world, case):  # noqa: F811
    persona = let_through(case)
    path, _, query = case.url(world).partition("?")
    for name in query_parameters(case, {"date", "date-time"}):
        for value in EDGE_DATES:
            params = {**dict(parse_qsl(query)), name: value}
            response = world.personas[persona].client.get(path, params)
            _assert_no_500(response, persona, params)


query_values = st.one_of(
    date_like,
    st.text(max_size=30),
    st.integers().map(str),
    st.floats().map(str),
    st.sampled_from(["", "-1", "1e400", "99999999999999999999", "true", "[]"]),
)
FILTERED_READS = [c for c in READS if query_parameters(c)]


@pytest.mark.parametrize("case", FILTERED_READS, ids=str)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_value_in_any_list_filter_never_causes_a_500(world, case, data):  # noqa: F811
    persona = let_through(case)
    url = case.url(world)
    path, _, query = url.partition("?")
    params = dict(parse_qsl(query))
    names = data.draw(st.lists(st.sampled_from(query_parameters(case)), min_size=1, unique=True))
    params.update({name: data.draw(query_values, label=name) for name in names})
    response = world.personas[persona].client.get(path, params)
    _assert_no_500(response, persona, params)
