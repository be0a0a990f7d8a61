from datetime import timedelta

import jwt
import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from backend.accounts import services
from tests.factories import PASSWORD
from tests.helpers import assert_problem, client_for

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
ME = "/api/v1/me/"


def _login(api, email="patient@example.test", password=PASSWORD, **extra):
    return api.post(TOKEN, {"email": email, "password": password}, format="json", **extra)


def _bearer(api, access):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return api


def test_login_issues_short_lived_tokens_with_issuer_and_audience(api, patient):
    response = _login(api)
    assert response.status_code == 200
    access = response.json()["access"]
    claims = jwt.decode(
        access,
        settings.JWT_SIGNING_KEY,
        algorithms=["HS256"],
        audience=settings.SIMPLE_JWT["AUDIENCE"],
        issuer=settings.SIMPLE_JWT["ISSUER"],
    )
    assert claims["exp"] - claims["iat"] <= 15 * 60
    assert claims["sub"] == str(patient.pk)
    assert _bearer(api, access).get(ME).json()["email"] == "patient@example.test"


def test_login_is_case_insensitive_about_the_email(api, patient):
    assert _login(api, email="PATIENT@Example.TEST").status_code == 200


def test_unknown_email_and_wrong_password_get_the_same_answer(api, patient):
    unknown = _login(api, email="nobody@example.test")
    wrong = _login(api, password="not-the-password")
    assert_problem(unknown, 401)
    assert unknown.json() == wrong.json()


def _forge(claims: dict, key: str | None = None, algorithm: str = "HS256") -> str:
    if algorithm == "none":
        key = None
    elif key is None:
        key = settings.JWT_SIGNING_KEY
    base = {
        "token_type": "access",
        "iss": settings.SIMPLE_JWT["ISSUER"],
        "aud": settings.SIMPLE_JWT["AUDIENCE"],
        "iat": int(timezone.now().timestamp()),
        "exp": int((timezone.now() + timedelta(minutes=5)).timestamp()),
        "jti": "x",
        "gen": 0,
    }
    return jwt.encode({**base, **claims}, key, algorithm=algorithm)


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda user: "not.a.jwt", id="garbage"),
        pytest.param(
            lambda user: _forge({"sub": str(user.pk)}, key="someone-elses-key-" + "x" * 30),
            id="forged",
        ),
        pytest.param(lambda user: _forge({"sub": str(user.pk)}, algorithm="none"), id="alg-none"),
        pytest.param(
            lambda user: _forge({"sub": str(user.pk), "aud": "another-app"}), id="wrong-audience"
        ),
        pytest.param(
            lambda user: _forge({"sub": str(user.pk), "iss": "someone-else"}), id="wrong-issuer"
        ),
        pytest.param(
            lambda user: _forge({"sub": str(user.pk), "token_type": "refresh"}),
            id="refresh-as-access",
        ),
        pytest.param(
            lambda user: _forge({"sub": "00000000-0000-0000-0000-000000000000"}), id="unknown-user"
        ),
        pytest.param(lambda user: _forge({"sub": "not-a-uuid"}), id="malformed-user-id"),
    ],
)
def test_bad_access_tokens_get_401(api, patient, make_token):
    response = _bearer(api, make_token(patient)).get(ME)
    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_valid_forged_looking_token_with_the_real_key_works(api, patient):
    # Control for the test above: the same claims, correctly signed, are accepted.
    assert _bearer(api, _forge({"sub": str(patient.pk)})).get(ME).status_code == 200


def test_an_expired_access_token_gets_401(api, patient):
    access = services.tokens_issue(user=patient)["access"]
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert_problem(_bearer(api, access).get(ME), 401)


def test_refresh_rotates_and_the_old_refresh_token_is_refused(api, patient):
    first = services.tokens_issue(user=patient)
    rotated = api.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != first["refresh"]
    assert (
        api.post(REFRESH, {"refresh": rotated.json()["refresh"]}, format="json").status_code == 200
    )
    assert_problem(api.post(REFRESH, {"refresh": first["refresh"]}, format="json"), 401)


@pytest.mark.parametrize("body", [{"refresh": "garbage"}, {"refresh": ""}, {}, {"refresh": 5}])
def test_bad_refresh_input_is_a_clear_4xx(api, body):
    assert api.post(REFRESH, body, format="json").status_code in (400, 401)


def test_an_access_token_cannot_be_used_as_a_refresh_token(api, patient):
    access = services.tokens_issue(user=patient)["access"]
    assert_problem(api.post(REFRESH, {"refresh": access}, format="json"), 401)


def test_logout_blacklists_the_refresh_token_and_is_idempotent(api, patient):
    tokens = services.tokens_issue(user=patient)
    assert (
        api.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json").status_code
        == 204
    )
    assert (
        api.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json").status_code
        == 204
    )
    assert_problem(api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json"), 401)
    assert_problem(api.post("/api/v1/auth/logout/", {"refresh": "garbage"}, format="json"), 401)


def test_changing_the_password_revokes_every_earlier_token(api, patient):
    old = services.tokens_issue(user=patient)
    client = client_for(patient)
    response = client.post(
        "/api/v1/me/password/",
        {"current_password": PASSWORD, "new_password": "a-new-passphrase-11"},
        format="json",
    )
    assert response.status_code == 200
    assert_problem(_bearer(api, old["access"]).get(ME), 401)
    assert_problem(api.post(REFRESH, {"refresh": old["refresh"]}, format="json"), 401)
    assert _bearer(api, response.json()["access"]).get(ME).status_code == 200
    assert _login(api, password="a-new-passphrase-11").status_code == 200


def test_password_change_needs_the_current_password_and_a_strong_new_one(patient):
    client = client_for(patient)
    wrong = client.post(
        "/api/v1/me/password/",
        {"current_password": "nope", "new_password": "a-new-passphrase-11"},
        format="json",
    )
    weak = client.post(
        "/api/v1/me/password/",
        {"current_password": PASSWORD, "new_password": "12345"},
        format="json",
    )
    assert assert_problem(wrong, 400)["errors"][0]["field"] == "current_password"
    assert assert_problem(weak, 400)["errors"][0]["field"] == "new_password"
    patient.refresh_from_db()
    assert patient.check_password(PASSWORD)


def test_deactivation_locks_out_every_token_and_sign_in(api, patient):
    old = services.tokens_issue(user=patient)
    client = client_for(patient)
    assert (
        client.post("/api/v1/me/deactivate/", {"password": PASSWORD}, format="json").status_code
        == 204
    )
    assert_problem(_bearer(api, old["access"]).get(ME), 401)
    assert_problem(api.post(REFRESH, {"refresh": old["refresh"]}, format="json"), 401)
    api.credentials()
    assert _login(api).json() == _login(api, email="nobody@example.test").json()
    patient.refresh_from_db()
    assert not patient.is_active
    assert patient.deactivated_at is not None


def test_deactivation_needs_the_password(patient):
    response = client_for(patient).post(
        "/api/v1/me/deactivate/", {"password": "wrong"}, format="json"
    )
    assert_problem(response, 400)
    patient.refresh_from_db()
    assert patient.is_active


def test_auth_requests_are_throttled_per_ip(api, patient):
    statuses = [
        _login(api, REMOTE_ADDR="192.0.2.7", password=PASSWORD).status_code for _ in range(31)
    ]
    assert statuses[:30] == [200] * 30
    assert statuses[30] == 429
    assert _login(api, REMOTE_ADDR="192.0.2.8").status_code == 200
