"""Assertions and clients shared by tests."""

from rest_framework.test import APIClient

from backend.accounts import services as account_services
from backend.accounts.models import User


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        access = account_services.tokens_issue(user=user)["access"]
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


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
    import pytest
    from django.db import connection

    def mark(test):
        skip = pytest.mark.skipif(
            connection.vendor != "postgresql",
            reason=f"needs PostgreSQL ({why}); set DATABASE_URL to run it",
        )
        return pytest.mark.postgres(skip(test))

    return mark


REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_available() -> bool:
    """Whether the test Redis answers (tests that need it skip otherwise)."""
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_delete_prefix(prefix: str) -> None:
    """Delete the keys a test wrote under its own prefix on the shared Redis server."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for name in client.scan_iter(match=f"{prefix}:*"):
        client.delete(name)
