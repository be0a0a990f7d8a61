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


def answer_without_ids(response, ids: dict[str, str]) -> tuple:
    """(status, id-bearing headers, body) with each of ``ids`` written as its placeholder.

    Two answers that differ only in those ids compare equal, so a test can show
    that a patient's answers for one id are exactly their answers for another.
    """
    import json

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
