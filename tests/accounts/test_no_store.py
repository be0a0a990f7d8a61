"""Answers that carry tokens or codes are never kept by a cache."""

import pytest

from backend.accounts import services
from tests.factories import PASSWORD
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def _tokens(patient):
    return services.tokens_issue(user=patient)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/auth/token/", lambda p: {"email": p.email, "password": PASSWORD}),
        ("/api/v1/auth/token/", lambda p: {"email": p.email, "password": "wrong"}),
        ("/api/v1/auth/token/refresh/", lambda p: {"refresh": _tokens(p)["refresh"]}),
        ("/api/v1/auth/token/refresh/", lambda p: {"refresh": "garbage"}),
        ("/api/v1/auth/logout/", lambda p: {"refresh": _tokens(p)["refresh"]}),
        ("/api/v1/auth/verify-email/", lambda p: {"token": "garbage"}),
        ("/api/v1/auth/password/reset/", lambda p: {"email": p.email}),
        (
            "/api/v1/auth/password/reset/confirm/",
            lambda p: {"uid": "x", "token": "y", "new_password": "a-long-passphrase-1"},
        ),
        (
            "/api/v1/auth/register/",
            lambda p: {"email": "new@example.test", "password": "a-long-passphrase-1"},
        ),
    ],
)
def test_auth_answers_say_no_store_whatever_the_outcome(api, patient, path, body):
    response = api.post(path, body(patient))
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_a_password_change_answer_with_new_tokens_says_no_store(patient):
    response = client_for(patient).post(
        "/api/v1/me/password/",
        {"current_password": PASSWORD, "new_password": "a-new-passphrase-11"},
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
