"""Failed sign-ins slow the next attempt down; a stranger cannot lock the owner out."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from backend.accounts import services
from tests.factories import PASSWORD, ClinicAdminFactory, PatientFactory
from tests.helpers import assert_problem, client_for

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _login(api, ip, email="patient@example.test", password=PASSWORD):
    return api.post(TOKEN, {"email": email, "password": password}, REMOTE_ADDR=ip)


def _strangers_fail(api, times, email="patient@example.test", first=0):
    # Each guess from another address, as a botnet would.
    return [
        _login(api, f"10.1.{(first + n) // 250}.{(first + n) % 250 + 1}", email, "wrong-guess")
        for n in range(times)
    ]


def test_ten_failures_from_strangers_hold_the_owner_for_a_minute_not_an_hour(api, patient, clock):
    assert {r.status_code for r in _strangers_fail(api, 10)} == {401}
    held = _login(api, "192.0.2.50")
    assert int(assert_problem(held, 429) and held["Retry-After"]) == 60
    clock.shift(60)
    assert _login(api, "192.0.2.50").status_code == 200


def test_a_stranger_guessing_all_day_never_holds_the_owner_longer_than_the_cap(api, patient, clock):
    sent = 0
    for _ in range(40):
        # The stranger takes every attempt the account allows, as soon as it allows it.
        while _strangers_fail(api, 1, first=sent)[0].status_code == 401:
            sent += 1
        held = _login(api, "192.0.2.50")
        assert_problem(held, 429)
        wait = int(held["Retry-After"])
        assert wait <= 300
        clock.shift(wait)
    # Ten free guesses, then one each time the account opened again.
    assert sent == 10 + 39


def test_guesses_from_one_address_wait_longer_and_longer(api, patient, clock):
    assert [_login(api, "203.0.113.9", password="wrong").status_code for _ in range(5)] == [401] * 5
    waits = []
    for _ in range(8):
        held = _login(api, "203.0.113.9", password="wrong")
        assert_problem(held, 429)
        waits.append(int(held["Retry-After"]))
        clock.shift(waits[-1])
        assert _login(api, "203.0.113.9", password="wrong").status_code == 401
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    # Meanwhile the owner, elsewhere, was only ever held by the account's short cap.
    assert _login(api, "192.0.2.50").status_code in (200, 429)
    clock.shift(300)
    assert _login(api, "192.0.2.50").status_code == 200


def test_the_same_wait_holds_a_correct_password_from_the_guessing_address(api, patient, clock):
    for _ in range(5):
        _login(api, "203.0.113.9", password="wrong")
    assert_problem(_login(api, "203.0.113.9"), 429)


def test_a_password_reset_lets_the_owner_in_at_once(api, patient, clock):
    _strangers_fail(api, 12)
    assert_problem(_login(api, "192.0.2.50"), 429)
    services.password_reset_confirm(
        uid=urlsafe_base64_encode(force_bytes(patient.pk)),
        token=default_token_generator.make_token(patient),
        new_password="a-brand-new-passphrase-7",
    )
    assert _login(api, "192.0.2.50", password="a-brand-new-passphrase-7").status_code == 200


def test_unknown_addresses_are_slowed_exactly_like_known_ones(api, patient, clock):
    known = [r.status_code for r in _strangers_fail(api, 12)]
    unknown = [
        r.status_code for r in _strangers_fail(api, 12, email="ghost@example.test", first=12)
    ]
    assert known == unknown == [401] * 10 + [429] * 2


def test_one_address_trying_many_accounts_is_slowed(api, clock):
    PatientFactory(email="victim.21@example.test")
    statuses = [
        _login(api, "198.51.100.4", f"victim.{n}@example.test", "wrong").status_code
        for n in range(21)
    ]
    assert statuses == [401] * 20 + [429]
    # Another address is not held.
    assert _login(api, "198.51.100.5", "victim.21@example.test").status_code == 200


def test_a_successful_sign_in_forgets_the_accounts_failures(api, patient, clock):
    _strangers_fail(api, 5)
    for _ in range(3):
        for _ in range(4):
            assert _login(api, "192.0.2.50", password="typo").status_code == 401
        assert _login(api, "192.0.2.50").status_code == 200


def test_failures_are_forgotten_a_day_after_the_last(api, patient, clock):
    for _ in range(5):
        _login(api, "203.0.113.9", password="wrong")
    _strangers_fail(api, 5)
    clock.shift(24 * 3600)
    assert [_login(api, "203.0.113.9", password="wrong").status_code for _ in range(5)] == [401] * 5


@pytest.mark.parametrize(
    ("route", "field"),
    [("/api/v1/me/password/", "current_password"), ("/api/v1/me/deactivate/", "password")],
)
def test_a_stolen_token_cannot_guess_the_password_faster_than_sign_in(patient, clock, route, field):
    thief = client_for(patient)

    def attempt(n, password):
        body = {field: password}
        if field == "current_password":
            body["new_password"] = "a-brand-new-passphrase-99"
        return thief.post(route, body, format="json", REMOTE_ADDR=f"10.2.0.{n + 1}")

    assert {attempt(n, "wrong-guess").status_code for n in range(10)} == {400}
    held = attempt(10, PASSWORD)
    assert_problem(held, 429)
    assert int(held["Retry-After"]) == 60
    patient.refresh_from_db()
    assert patient.is_active
    assert patient.check_password(PASSWORD)


def test_the_admin_sign_in_waits_under_the_same_back_off(client, clock):
    staff = ClinicAdminFactory(email="staff@example.test")

    def admin_login(n, password):
        return client.post(
            "/admin/login/?next=/admin/",
            {"username": staff.email, "password": password},
            REMOTE_ADDR=f"10.3.0.{n + 1}",
        )

    assert {admin_login(n, "wrong-guess").status_code for n in range(10)} == {200}
    held = admin_login(10, PASSWORD)
    assert held.status_code == 200
    assert "Too many failed sign-in attempts: wait 60 seconds" in held.content.decode()
    assert "_auth_user_id" not in client.session
    clock.shift(60)
    assert admin_login(11, PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)
