from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command

from backend.accounts.models import User
from backend.care.models import CareLink
from backend.coping.models import Checklist, ChecklistDay, RelapsePlan
from backend.core.time import local_today
from backend.homework.models import Homework
from backend.journal.models import JournalEntry, SobrietyCounter
from backend.measures.models import MeasureResponse, MeasureSchedule
from backend.nudges.models import NudgeRule
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
    assert MeasureSchedule.objects.filter(patient=patient, assigned_by=therapist).count() == 4
    assert MeasureResponse.objects.filter(patient=patient).count() == 18
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


# Across the end of daylight saving time (1 November 2026 in New York): windows are local days.
MEASURES_NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def test_the_demo_patient_has_six_weeks_of_measures_with_a_trend_and_one_flag():
    with time_machine.travel(MEASURES_NOW, tick=False):
        call_command("seed_demo")
        call_command("seed_demo")  # idempotent: nothing answered twice
        patient = User.objects.get(email="patient@demo.recovery.test")
        therapist = User.objects.get(email="therapist@demo.recovery.test")
        today = local_today(patient)

        schedules = MeasureSchedule.objects.filter(patient=patient).select_related("instrument")
        assert {s.instrument.slug: s.every_days for s in schedules} == {
            "phq-9": 14,
            "gad-7": 14,
            "bam": 7,
            "pacs": 7,
        }
        for schedule in schedules:
            assert schedule.assigned_by == therapist
            assert schedule.starts_on == today - timedelta(weeks=6)
            windows = list(
                MeasureResponse.objects.filter(schedule=schedule)
                .order_by("window_start")
                .values_list("window_start", flat=True)
            )
            # Every past window of the six weeks answered; this week's is left due.
            assert windows == [
                schedule.starts_on + timedelta(days=n * schedule.every_days)
                for n in range(42 // schedule.every_days)
            ]
            assert windows[-1] + timedelta(days=schedule.every_days) == today
        assert not MeasureResponse.objects.filter(crisis=True).exists()
        # As schedule_create would: the patient is reminded when a window opens.
        assert NudgeRule.objects.filter(patient=patient, kind=NudgeRule.Kind.MEASURE).exists()
        due = client_for(patient).get("/api/v1/measures/due/").json()
        assert sorted(d["instrument"]["slug"] for d in due) == ["bam", "gad-7", "pacs", "phq-9"]

        body = (
            client_for(therapist)
            .get("/api/v1/measures/results/", {"patient": str(patient.pk)})
            .json()
        )
    results = {r["instrument"]["slug"]: r for r in body["results"]}

    def series(slug, code):
        return [point["scores"][code] for point in results[slug]["series"]]

    assert series("phq-9", "total") == [14, 10, 7]
    assert [p["band"] for p in results["phq-9"]["series"]] == ["Moderate", "Moderate", "Mild"]
    assert series("gad-7", "total") == [12, 9, 6]
    assert series("bam", "use") == [3, 2, 2, 1, 1, 0]
    assert series("bam", "risk") == [15, 13, 11, 9, 7, 10]
    assert series("bam", "protective") == [10, 13, 14, 17, 18, 19]
    assert series("pacs", "total") == [17, 15, 13, 12, 10, 9]
    assert results["phq-9"]["change"] == {"total": -7}
    # The one thing to act on: BAM Risk rose in the last week.
    flags = [(slug, f["score"], f["rule"]) for slug, r in results.items() for f in r["flags"]]
    assert flags == [("bam", "risk", "rising")]
