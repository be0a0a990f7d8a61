"""'Before my next session': on at enrolment, planned from the timetable, off when it ends."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from backend.nudges import planning
from backend.nudges.models import Nudge, NudgeRule
from backend.nudges.wording import revealing_words
from backend.program import services
from tests.factories import CareLinkFactory, PatientFactory, TherapistFactory, program_make
from tests.helpers import assert_problem, client_for

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 8, 12, 0, tzinfo=UTC)  # a Monday, 7 a.m. in New York


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def setup(django_capture_on_commit_callbacks):
    therapist = TherapistFactory()
    program = program_make(therapists=[therapist], starts_on=date(2027, 3, 1))
    services.slot_add(
        program=program,
        data={
            "kind": "group",
            "title": "Relapse prevention group",
            "weekday": 0,
            "start_time": time(18, 0),
            "duration_minutes": 90,
            "therapist": therapist,
        },
    )
    patient = PatientFactory(time_zone="America/Los_Angeles")
    CareLinkFactory(patient=patient, therapist=therapist)
    with django_capture_on_commit_callbacks(execute=True):
        enrolment = services.enrol(
            by=therapist,
            patient=patient,
            program=program,
            primary_therapist=therapist,
            starts_on=date(2027, 3, 1),
        )
    return therapist, patient, enrolment


def test_enrolment_turns_on_a_neutral_reminder_an_hour_before_each_session(setup):
    _, patient, _ = setup
    rule = NudgeRule.objects.get(patient=patient, kind="session")
    assert (rule.status, rule.lead_minutes) == ("active", 60)
    assert not revealing_words(rule.message)
    planning.plan(NOW)
    [nudge] = Nudge.objects.filter(rule=rule)
    # The group starts at 18:00 New York time (23:00 UTC): reminded at 17:00 there.
    assert nudge.due_at == datetime(2027, 3, 8, 22, 0, tzinfo=UTC)
    assert nudge.title == rule.message


def test_the_reminder_respects_the_patients_quiet_hours(setup):
    _, patient, _ = setup
    patient.quiet_hours_start, patient.quiet_hours_end = time(13, 0), time(14, 30)
    patient.save()
    planning.plan(NOW)
    nudge = Nudge.objects.get(rule__kind="session")
    # 17:00 New York is 14:00 in Los Angeles, inside quiet hours: moved to their end.
    assert nudge.due_at == datetime(2027, 3, 8, 22, 30, tzinfo=UTC)  # 14:30 PST


@pytest.mark.parametrize("word", ["program", "Programme", "therapy", "treatment"])
def test_lock_screen_words_that_reveal_the_program_are_refused(setup, word):
    _, patient, _ = setup
    rule = NudgeRule.objects.get(patient=patient, kind="session")
    response = client_for(patient).patch(
        f"/api/v1/nudges/rules/{rule.pk}/", {"message": f"Your {word} starts soon"}, format="json"
    )
    assert_problem(response, 400)
    assert response.json()["errors"][0]["field"] == "message"


def test_a_session_reminder_takes_no_times_and_a_sane_lead(setup):
    _, patient, _ = setup
    response = client_for(patient).post(
        "/api/v1/nudges/rules/",
        {"kind": "session", "times": ["08:00"], "lead_minutes": 1},
        format="json",
    )
    assert_problem(response, 400)
    assert {e["field"] for e in response.json()["errors"]} == {"times", "lead_minutes"}


def test_ending_the_enrolment_pauses_the_reminder_and_drops_what_was_planned(
    setup, django_capture_on_commit_callbacks
):
    therapist, patient, enrolment = setup
    planning.plan(NOW)
    assert Nudge.objects.filter(rule__kind="session").exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.enrolment_status_set(
            enrolment=enrolment, by=therapist, status="completed", reason="Goals met"
        )
    rule = NudgeRule.objects.get(patient=patient, kind="session")
    assert rule.status == "paused"
    assert not Nudge.objects.filter(rule=rule).exists()
    planning.plan(NOW + timedelta(hours=1))
    assert not Nudge.objects.filter(rule=rule).exists()
