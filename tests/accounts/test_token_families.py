"""A sign-in's refresh tokens are one family: reusing a rotated one revokes them all."""

import pytest

from backend.accounts import services
from backend.accounts.tokens import RefreshToken
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/me/"


def _refresh(api, raw):
    return api.post(REFRESH, {"refresh": raw})


def _me(api, access):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    response = api.get(ME)
    api.credentials()
    return response


def test_replaying_a_rotated_refresh_token_revokes_every_token_of_the_sign_in(api, patient):
    first = services.tokens_issue(user=patient)
    second = _refresh(api, first["refresh"]).json()
    third = _refresh(api, second["refresh"]).json()
    assert _me(api, third["access"]).status_code == 200

    assert_problem(_refresh(api, first["refresh"]), 401)  # a thief, or a stale copy

    assert_problem(_refresh(api, third["refresh"]), 401)
    assert_problem(_me(api, third["access"]), 401)
    assert_problem(_me(api, second["access"]), 401)


def test_reuse_in_one_sign_in_leaves_the_others_alone(api, patient):
    phone = services.tokens_issue(user=patient)
    tablet = services.tokens_issue(user=patient)
    _refresh(api, phone["refresh"])
    _refresh(api, phone["refresh"])
    rotated = _refresh(api, tablet["refresh"])
    assert rotated.status_code == 200
    assert _me(api, rotated.json()["access"]).status_code == 200


def test_signing_out_revokes_the_access_tokens_of_that_sign_in_only(api, patient):
    phone = services.tokens_issue(user=patient)
    tablet = services.tokens_issue(user=patient)
    assert api.post(LOGOUT, {"refresh": phone["refresh"]}).status_code == 204
    assert_problem(_me(api, phone["access"]), 401)
    assert _me(api, tablet["access"]).status_code == 200


def test_signing_out_with_an_older_refresh_token_revokes_the_newest_one(api, patient):
    first = services.tokens_issue(user=patient)
    newest = _refresh(api, first["refresh"]).json()
    assert api.post(LOGOUT, {"refresh": first["refresh"]}).status_code == 204
    assert_problem(_refresh(api, newest["refresh"]), 401)


def test_a_refresh_token_issued_before_families_rotates_into_a_family(api, patient):
    legacy = str(RefreshToken.for_user(patient))
    rotated = _refresh(api, legacy).json()
    newer = _refresh(api, rotated["refresh"])
    assert newer.status_code == 200
    assert _me(api, newer.json()["access"]).status_code == 200


def test_replaying_a_refresh_token_issued_before_families_revokes_what_it_became(api, patient):
    legacy = str(RefreshToken.for_user(patient))
    rotated = _refresh(api, legacy).json()
    assert_problem(_refresh(api, legacy), 401)
    assert_problem(_me(api, rotated["access"]), 401)
    assert_problem(_refresh(api, rotated["refresh"]), 401)
