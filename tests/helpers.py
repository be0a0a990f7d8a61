"""Assertions and clients shared by tests."""

import json
import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from backend.accounts import services as account_services
from backend.accounts.models import User


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        access = account_services.tokens_issue(user=user)["access"]
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def assert_flat_queries(
    run: Callable[[int], Any],
    sizes: Iterable[int] = (1, 10),
    *,
    prepare: Callable[[int], Any] | None = None,
    at_most: int | None = None,
) -> int:
    """The one query-count check: ``run(size)`` costs the same SQL queries for every size.

    ``size`` is a page size, or a number of records that ``prepare(size)`` makes first
    (outside the count). With ``at_most``, that count is also a ceiling. Returns the count.
    """
    counts = {}
    for size in sizes:
        if prepare is not None:
            prepare(size)
        with CaptureQueriesContext(connection) as captured:
            run(size)
        counts[size] = len(captured)
    assert len(set(counts.values())) == 1, f"the query count grows: {counts}"
    [count] = set(counts.values())
    if at_most is not None:
        assert count <= at_most, f"{count} queries, more than {at_most}"
    return count


def full_page(client: APIClient, path: str, size: int, **params) -> list[dict]:
    """GET one page of ``size`` rows of a list, asserting it is full."""
    response = client.get(path, {**params, "page_size": size})
    assert response.status_code == 200, response.content[:500]
    rows = response.json()["results"]
    assert len(rows) == size, (len(rows), size)
    return rows


def problem_fields(response) -> dict[str, list[str]]:
    """Field path -> messages, from a problem document's errors list."""
    fields: dict[str, list[str]] = {}
    for error in response.json().get("errors", []):
        fields.setdefault(error["field"], []).append(error["message"])
    return fields


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    for key in ("type", "title", "detail", "code"):
        assert body[key], key
    return body


def requires_postgres(why: str):
    """Mark a test that needs PostgreSQL; skipped elsewhere, saying why."""

    def mark(test):
        skip = pytest.mark.skipif(
            connection.vendor != "postgresql",
            reason=f"needs PostgreSQL ({why}); set DATABASE_URL to run it",
        )
        return pytest.mark.postgres(skip(test))

    return mark


def answer_without_ids(response, ids: dict[str, str]) -> tuple:
    """(status, id-bearing headers, body) with each of ``ids`` written as its placeholder.

    Two answers that differ only in those ids compare equal, so a test can show
    that a patient's answers for one id are exactly their answers for another.
    """

    def hide(text: str) -> str:
        for value, placeholder in ids.items():
            text = text.replace(value, placeholder)
        return text

    headers = {
        name: hide(response[name])
        for name in ("Location", "ETag", "Idempotent-Replayed")
        if response.has_header(name)
    }
    content = response.content.decode()
    return response.status_code, headers, json.loads(hide(content)) if content else None


def let_through(case) -> str:
    """The first persona an access-matrix case lets through, so a request reaches validation."""
    return next(name for name, status in case.expect.items() if status < 300)


# --- The committed OpenAPI schema (tests/core/test_schema.py keeps it equal to the code) ------


@cache
def api_schema() -> dict:
    return yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "api_schema/openapi.yaml").read_text()
    )


def schema_operation(case) -> dict:
    """The schema's operation for an access-matrix case (its method and URL pattern)."""
    path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", case.route)
    return api_schema()["paths"].get(path, {}).get(case.method.lower(), {})


def _resolve(node: dict) -> dict:
    while "$ref" in node:
        node = api_schema()["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _slots(node: dict, path: tuple) -> Iterator[tuple[tuple, str]]:
    node = _resolve(node)
    for part in node.get("allOf", []) + node.get("oneOf", []) + node.get("anyOf", []):
        yield from _slots(part, path)
    if node.get("format") in {"date", "date-time"}:
        yield path, node["format"]
    elif path and not node.keys() - {"nullable"}:
        yield path, "any"  # free-form JSON, such as the batch's items
    for name, child in node.get("properties", {}).items():
        if not child.get("readOnly"):
            yield from _slots(child, (*path, name))
    if "items" in node:
        yield from _slots(node["items"], (*path, 0))


def request_body_slots(case) -> dict[tuple, str]:
    """Paths into a case's request body where it takes a date, a date-time or any JSON."""
    content = schema_operation(case).get("requestBody", {}).get("content", {})
    return dict(_slots(content.get("application/json", {}).get("schema", {}), ()))


def query_parameters(case, formats: set[str] | None = None) -> list[str]:
    """A case's query parameters, or those of the given formats (date, date-time)."""
    return [
        p["name"]
        for p in schema_operation(case).get("parameters", [])
        if p["in"] == "query" and (formats is None or p["schema"].get("format") in formats)
    ]


REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_available() -> bool:
    """Whether the test Redis answers (tests that need it skip otherwise)."""

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_delete_prefix(prefix: str) -> None:
    """Delete the keys a test wrote under its own prefix on the shared Redis server."""

    client = redis.Redis.from_url(REDIS_URL)
    for name in client.scan_iter(match=f"{prefix}:*"):
        client.delete(name)
