import pytest
from django.core.management import CommandError, call_command

from backend.accounts.models import User

pytestmark = pytest.mark.django_db


def test_create_therapist_makes_a_verified_therapist(monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a-strong-passphrase-77")
    call_command(
        "create_therapist",
        "New.Therapist@Clinic.test",
        "--name",
        "Dr. New",
        "--time-zone",
        "America/Denver",
    )
    user = User.objects.get(email="new.therapist@clinic.test")
    assert (user.role, user.display_name, user.time_zone) == (
        "therapist",
        "Dr. New",
        "America/Denver",
    )
    assert user.email_verified
    assert user.check_password("a-strong-passphrase-77")


def test_create_therapist_refuses_a_weak_password_and_duplicates(monkeypatch, patient):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "123")
    with pytest.raises(CommandError):
        call_command("create_therapist", "weak@clinic.test", "--name", "Dr. Weak")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_therapist", patient.email, "--name", "Dr. Dup", "--no-password")
    assert not User.objects.filter(role="therapist").exists()


def test_create_therapist_without_password_needs_a_reset():
    call_command("create_therapist", "nopw@clinic.test", "--name", "Dr. Reset", "--no-password")
    assert not User.objects.get(email="nopw@clinic.test").has_usable_password()
