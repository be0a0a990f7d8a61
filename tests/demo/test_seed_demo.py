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


def test_the_demo_patient_is_in_week_5_of_a_12_week_program_with_some_absences():
    call_command("seed_demo")
    call_command("seed_demo")
    patient = User.objects.get(email="patient@demo.recovery.test")
    therapist = User.objects.get(email="therapist@demo.recovery.test")
    family = User.objects.get(email="family@demo.recovery.test")
    [enrolment] = client_for(therapist).get("/api/v1/program/enrolments/").json()["results"]
    detail = client_for(therapist).get(f"/api/v1/program/enrolments/{enrolment['id']}/").json()
    progress = detail["progress"]
    assert (progress["week"], progress["weeks"]) == (5, 12)
    assert 18 <= progress["scheduled"] <= 22
    assert progress["scheduled"] - progress["attended"] == 3
    program = client_for(therapist).get("/api/v1/program/programs/").json()["results"][0]
    kinds = sorted(slot["kind"] for slot in program["timetable"])
    assert kinds == ["education", "group", "group", "group", "individual"]
    sessions = client_for(patient).get("/api/v1/program/sessions/", {"page_size": 100}).json()
    assert 2 <= sum(s["kind"] == "family" for s in sessions["results"]) <= 4
    invitations = client_for(family).get("/api/v1/program/invitations/").json()["results"]
    assert len(invitations) <= 1
