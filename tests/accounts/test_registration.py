import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from backend.accounts.models import User
from tests.factories import PASSWORD, PatientFactory
from tests.helpers import assert_problem, problem_fields

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
GOOD = {
    "email": "New.Person@Example.test",
    "password": "a-long-passphrase-42",
    "time_zone": "Europe/Berlin",
}


def _link_path(message) -> str:
    return re.search(
        r"https?://[^/\s]+(/api/v1/auth/verify-email/\?token=\S+)", message.body
    ).group(1)


def test_a_patient_registers_verifies_and_signs_in(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(REGISTER, GOOD, format="json")
    assert response.status_code == 202
    user = User.objects.get(email="new.person@example.test")
    assert user.role == User.Role.PATIENT
    assert user.time_zone == "Europe/Berlin"
    assert not user.email_verified
    assert len(mail.outbox) == 1

    login = {"email": "new.person@example.test", "password": GOOD["password"]}
    assert_problem(api.post("/api/v1/auth/token/", login, format="json"), 403)

    assert api.get(_link_path(mail.outbox[0])).status_code == 200
    user.refresh_from_db()
    assert user.email_verified
    assert api.post("/api/v1/auth/token/", login, format="json").status_code == 200


def test_registering_a_known_email_answers_exactly_like_a_new_one(
    api, django_capture_on_commit_callbacks
):
    existing = PatientFactory(email="known@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        new = api.post(REGISTER, {**GOOD, "email": "fresh@example.test"}, format="json")
        known = api.post(REGISTER, {**GOOD, "email": "KNOWN@example.test"}, format="json")
    assert (new.status_code, new.json()) == (known.status_code, known.json())
    assert User.objects.filter(email="known@example.test").count() == 1
    existing.refresh_from_db()
    assert existing.check_password(PASSWORD), "registration must never change an existing account"
    assert [m.subject for m in mail.outbox if m.to == ["known@example.test"]] == [
        "Sign-up attempt with your email address"
    ]


def test_registering_again_before_verifying_resends_the_link(
    api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api.post(REGISTER, GOOD, format="json")
        api.post(REGISTER, GOOD, format="json")
    assert [m.subject for m in mail.outbox] == ["Confirm your email address"] * 2


def test_an_unconfirmed_sign_up_cannot_be_claimed_ahead_of_the_addresss_owner(
    api, django_capture_on_commit_callbacks
):
    """Someone signs up first with another person's address and their own password.

    When the owner signs up, their password and choices replace the stranger's, and
    only the link sent for the owner's password confirms the address.
    """
    with django_capture_on_commit_callbacks(execute=True):
        api.post(REGISTER, {**GOOD, "password": "strangers-own-passphrase-1"}, format="json")
        api.post(REGISTER, {**GOOD, "time_zone": "Asia/Tokyo"}, format="json")
    strangers_link, owners_link = (_link_path(m) for m in mail.outbox)
    assert_problem(api.get(strangers_link), 400)
    assert api.get(owners_link).status_code == 200
    user = User.objects.get()
    assert user.email_verified
    assert user.check_password(GOOD["password"])
    assert not user.check_password("strangers-own-passphrase-1")
    assert user.time_zone == "Asia/Tokyo"
    login = {"email": user.email, "password": "strangers-own-passphrase-1"}
    assert_problem(api.post("/api/v1/auth/token/", login, format="json"), 401)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**GOOD, "password": "short"}, "password"),
        ({**GOOD, "password": "new.person@example.test"}, "password"),
        ({**GOOD, "email": "not-an-email"}, "email"),
        ({**GOOD, "time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({**GOOD, "time_zone": 5}, "time_zone"),
        ({**GOOD, "locale": "xx"}, "locale"),
        ({**GOOD, "role": "therapist"}, "role"),
        ({"password": "a-long-passphrase-42"}, "email"),
    ],
)
def test_bad_registration_input_gets_field_errors_and_creates_nothing(api, payload, field):
    response = api.post(REGISTER, payload, format="json")
    assert_problem(response, 400)
    assert field in problem_fields(response)
    assert not User.objects.exists()


def test_an_expired_verification_link_is_refused(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.post(REGISTER, GOOD, format="json")
    path = _link_path(mail.outbox[0])
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        response = api.get(path)
    assert_problem(response, 400)
    assert "token" in problem_fields(response)
    assert not User.objects.get().email_verified


@pytest.mark.parametrize("token", ["", "garbage", "eyJ1IjoiMSJ9:1abc:forged"])
def test_a_tampered_verification_token_is_refused(api, token):
    response = api.post("/api/v1/auth/verify-email/", {"token": token}, format="json")
    assert_problem(response, 400)
    assert "token" in problem_fields(response)
