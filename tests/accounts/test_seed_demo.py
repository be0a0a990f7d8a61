import pytest
from django.core.management import CommandError, call_command

from backend.accounts.models import User
from backend.care.models import CareLink
from backend.journal.models import JournalEntry, SobrietyCounter

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_prints_the_logins(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "therapist@demo.recovery.test" in out
    assert "demo-recovery-2026" in out
    assert User.objects.count() == 5
    assert CareLink.objects.count() == 1
    assert JournalEntry.objects.count() == 14
    assert SobrietyCounter.objects.count() == 1


def test_seed_demo_refuses_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("seed_demo")
    assert not User.objects.exists()
