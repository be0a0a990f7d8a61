import re

import pytest
from django.core import mail

from backend.accounts import services
from tests.factories import PASSWORD
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def _code(message) -> dict:
    return {
        "uid": re.search(r"uid: (\S+)", message.body).group(1),
        "token": re.search(r"token: (\S+)", message.body).group(1),
    }


def test_a_reset_code_sets_a_new_password_once_and_revokes_old_tokens(
    api, patient, django_capture_on_commit_callbacks
):
    old = services.tokens_issue(user=patient)
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            api.post(
                "/api/v1/auth/password/reset/", {"email": patient.email}, format="json"
            ).status_code
            == 202
        )
    code = _code(mail.outbox[0])
    confirm = {**code, "new_password": "reset-passphrase-2026"}
    assert (
        api.post("/api/v1/auth/password/reset/confirm/", confirm, format="json").status_code == 204
    )
    assert_problem(api.post("/api/v1/auth/password/reset/confirm/", confirm, format="json"), 400)
    patient.refresh_from_db()
    assert patient.check_password("reset-passphrase-2026")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {old['access']}")
    assert_problem(api.get("/api/v1/me/"), 401)


def test_reset_for_an_unknown_email_answers_the_same_and_sends_nothing(
    api, patient, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        known = api.post("/api/v1/auth/password/reset/", {"email": patient.email}, format="json")
        unknown = api.post(
            "/api/v1/auth/password/reset/", {"email": "ghost@example.test"}, format="json"
        )
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert [m.to for m in mail.outbox] == [[patient.email]]


@pytest.mark.parametrize(
    "body",
    [
        {"uid": "garbage", "token": "garbage", "new_password": "reset-passphrase-2026"},
        {"uid": "", "token": "", "new_password": "reset-passphrase-2026"},
        {"uid": "AAAA", "token": "x-y", "new_password": "reset-passphrase-2026"},
    ],
)
def test_bad_reset_codes_are_refused(api, patient, body):
    assert_problem(api.post("/api/v1/auth/password/reset/confirm/", body, format="json"), 400)
    patient.refresh_from_db()
    assert patient.check_password(PASSWORD)
