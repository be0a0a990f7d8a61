import pytest
from django.core.management import CommandError, call_command

from backend.accounts.models import User
from backend.care.models import CareLink
from backend.coping.models import Checklist, ChecklistDay, RelapsePlan
from backend.homework.models import Homework
from backend.journal.models import JournalEntry, SobrietyCounter
from tests.helpers import client_for

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
    patient = User.objects.get(email="patient@demo.recovery.test")
    therapist = User.objects.get(email="therapist@demo.recovery.test")
    assert Checklist.objects.filter(patient=patient).count() == 1
    assert ChecklistDay.objects.filter(checklist__patient=patient).count() == 6
    assert RelapsePlan.objects.filter(patient=patient).count() == 1
    states = sorted(
        Homework.objects.filter(patient=patient, assigned_by=therapist).values_list(
            "state", flat=True
        )
    )
    assert states == ["assigned"] * 4 + ["submitted"]


def test_the_demo_therapist_sees_the_demo_patients_checklist_and_homework():

    call_command("seed_demo")
    therapist = User.objects.get(email="therapist@demo.recovery.test")
    client = client_for(therapist)
    checklists = client.get("/api/v1/coping/checklists/").json()["results"]
    assert [c["title"] for c in checklists] == ["Morning routine"]
    assert checklists[0]["streak"]["longest"] == 3
    assert len(client.get("/api/v1/homework/review-queue/").json()["results"]) == 1


def test_seed_demo_refuses_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("seed_demo")
    assert not User.objects.exists()
