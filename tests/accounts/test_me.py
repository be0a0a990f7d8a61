import pytest

from tests.helpers import assert_problem, client_for, problem_fields

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"


def test_me_shows_the_profile_with_aware_iso_times(patient):
    body = client_for(patient).get(ME).json()
    assert body["email"] == "patient@example.test"
    assert body["role"] == "patient"
    assert body["time_zone"] == "America/New_York"
    assert body["email_verified"] is True
    assert body["date_joined"].endswith("Z") or "+" in body["date_joined"][-6:]


def test_patch_updates_profile_fields(patient):
    response = client_for(patient).patch(
        ME,
        {"display_name": "Sammy", "time_zone": "Asia/Kolkata", "locale": "es"},
        format="json",
    )
    assert response.status_code == 200
    patient.refresh_from_db()
    assert (patient.display_name, patient.time_zone, patient.locale) == (
        "Sammy",
        "Asia/Kolkata",
        "es",
    )


def test_quiet_hours_may_wrap_midnight(patient):
    response = client_for(patient).patch(
        ME, {"quiet_hours_start": "22:30", "quiet_hours_end": "07:00"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["quiet_hours_start"] == "22:30:00"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"time_zone": "Not/AZone"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"quiet_hours_start": "22:00"}, "quiet_hours_end"),
        ({"quiet_hours_start": "25:00", "quiet_hours_end": "07:00"}, "quiet_hours_start"),
        ({"quiet_hours_start": "07:00", "quiet_hours_end": "07:00"}, "quiet_hours_end"),
        ({"role": "therapist"}, "role"),
        ({"email": "someone.else@example.test"}, "email"),
        ({"id": "00000000-0000-0000-0000-000000000000"}, "id"),
        ({"display_name": "x" * 81}, "display_name"),
        ({"locale": "klingon"}, "locale"),
        ({"is_staff": True}, "is_staff"),
    ],
)
def test_bad_profile_input_gets_field_errors_and_changes_nothing(patient, payload, field):
    response = client_for(patient).patch(ME, {"display_name": "Changed", **payload}, format="json")
    assert_problem(response, 400)
    assert field in problem_fields(response)
    patient.refresh_from_db()
    assert patient.display_name == "Sam"
    assert patient.role == "patient"
