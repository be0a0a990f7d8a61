"""Signing in to the console: password, second factor, recovery codes, idle sign-out."""

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.console.conftest import signed_in
from tests.factories import PASSWORD, FamilyFactory, PatientFactory, TherapistFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def sign_in(client: Client, user, password: str = PASSWORD, **extra):
    return client.post("/console/sign-in/", {"email": user.email, "password": password, **extra})


def app_code(device: TOTPDevice, *, ahead: int = 0) -> str:
    return f"{totp(device.bin_key, drift=ahead):06d}"


def test_a_therapist_is_sent_to_set_up_a_second_factor_before_any_page():
    therapist = TherapistFactory()
    client = Client()
    response = sign_in(client, therapist)
    assert response.status_code == 302
    assert response["Location"].startswith("/console/two-factor/")
    # Signed in with a password only, no page opens.
    page = client.get("/console/caseload/")
    assert page.status_code == 302
    assert page["Location"].startswith("/console/two-factor/")


def test_enrolment_confirms_the_app_and_shows_ten_recovery_codes_once():
    therapist = TherapistFactory()
    client = Client()
    sign_in(client, therapist)
    setup = client.get("/console/two-factor/")
    assert setup.status_code == 200
    assert b"<svg" in setup.content  # the QR code, drawn inline
    secret = re.search(rb'id="totp-secret">([A-Z2-7 ]+)<', setup.content).group(1).decode()
    key = base64.b32decode(secret.replace(" ", ""))
    device = TOTPDevice.objects.get(user=therapist, confirmed=False)
    assert device.bin_key == key

    wrong = client.post("/console/two-factor/", {"code": "12345"})
    assert wrong.status_code == 400
    assert b"Enter the 6 digits" in wrong.content
    assert not TOTPDevice.objects.filter(user=therapist, confirmed=True).exists()

    done = client.post("/console/two-factor/", {"code": f"{totp(key):06d}"})
    assert done.status_code == 200
    codes = re.findall(rb"<li><code>([a-z0-9]+)</code></li>", done.content)
    assert len(codes) == 10
    assert StaticToken.objects.filter(device__user=therapist).count() == 10
    assert client.get("/console/caseload/").status_code == 200


def test_a_wrong_second_factor_is_refused_and_a_recovery_code_works_once():
    therapist = TherapistFactory()
    device = TOTPDevice.objects.create(user=therapist, name="phone", confirmed=True)
    recovery = therapist.staticdevice_set.create(name="Recovery codes", confirmed=True)
    recovery.token_set.create(token="abcd1234")
    client = Client()
    response = sign_in(client, therapist)
    assert response["Location"].startswith("/console/sign-in/code/")
    refused = client.post(
        "/console/sign-in/code/", {"code": "000000" if app_code(device) != "000000" else "111111"}
    )
    assert refused.status_code == 400
    assert b"That code is not right" in refused.content
    assert client.get("/console/caseload/")["Location"].startswith("/console/sign-in/code/")

    with time_machine.travel(timezone.now() + timedelta(seconds=5)):  # past the retry delay
        assert client.post("/console/sign-in/code/", {"code": "abcd-1234"}).status_code == 302
        assert client.get("/console/caseload/").status_code == 200
    other = Client()
    sign_in(other, therapist)
    with time_machine.travel(timezone.now() + timedelta(seconds=10)):
        assert other.post("/console/sign-in/code/", {"code": "abcd1234"}).status_code == 400


def test_wrong_passwords_get_one_answer_and_a_patient_is_sent_to_the_app():
    therapist = TherapistFactory()
    unknown = Client().post(
        "/console/sign-in/", {"email": "nobody@example.test", "password": "whatever-it-is"}
    )
    wrong = sign_in(Client(), therapist, password="not-the-password")
    assert unknown.status_code == wrong.status_code == 400
    assert b"The email or password is incorrect." in unknown.content
    assert b"The email or password is incorrect." in wrong.content
    patient = sign_in(Client(), PatientFactory())
    assert patient.status_code == 400
    assert b"patients use the app" in patient.content
    empty = Client().post("/console/sign-in/", {"email": "not an email"})
    assert empty.status_code == 400
    assert b"Enter a valid email address." in empty.content


def test_a_family_member_signs_in_without_a_second_factor_unless_they_set_one_up():
    member = FamilyFactory()
    client = Client()
    response = sign_in(client, member)
    assert response["Location"] == "/console/family/"
    TOTPDevice.objects.create(user=member, name="phone", confirmed=True)
    again = Client()
    assert sign_in(again, member)["Location"].startswith("/console/sign-in/code/")


def test_an_idle_session_is_signed_out_and_told_why(settings):
    settings.CONSOLE_IDLE_SECONDS = 15 * 60
    therapist = TherapistFactory()
    with time_machine.travel(NOW, tick=False) as clock:
        client = signed_in(therapist)
        assert client.get("/console/caseload/").status_code == 200
        clock.move_to(NOW + timedelta(minutes=14))
        assert client.get("/console/caseload/").status_code == 200  # activity: the clock restarts
        clock.move_to(NOW + timedelta(minutes=14 + 15, seconds=1))
        response = client.get("/console/caseload/")
        assert response.status_code == 302
        assert response["Location"].startswith("/console/sign-in/")
        page = client.get(response["Location"])
        assert b"You were signed out after 15 minutes without activity" in page.content


def test_console_pages_carry_the_security_headers():
    client = signed_in(TherapistFactory())
    response = client.get("/console/caseload/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert "no-store" in response["Cache-Control"]
    assert b"<script>" not in response.content  # no inline script
    assert b' style="' not in response.content  # no inline style


def test_sign_out_ends_the_session():
    client = signed_in(TherapistFactory())
    assert client.post("/console/sign-out/").status_code == 302
    assert client.get("/console/caseload/").status_code == 302


def test_an_unknown_console_address_is_the_not_found_page_and_the_api_keeps_its_shape():
    page = signed_in(TherapistFactory()).get("/console/no-such-page/")
    assert page.status_code == 404
    assert b"Not found" in page.content
    assert page["Content-Type"].startswith("text/html")
    api = Client().get("/api/v1/no-such-endpoint/")
    assert api.status_code == 404
    assert api["Content-Type"] == "application/problem+json"
