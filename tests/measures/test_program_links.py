"""Measures and the IOP program: the baseline at enrolment, sessions in the FHIR Bundle."""

import json
from datetime import UTC, date, datetime, time

import pytest
import time_machine
from fhir.resources.R4B.appointment import Appointment

from backend.disclosure.models import DisclosureLog
from backend.journal.models import Substance
from backend.measures.models import MeasureSchedule
from backend.program import services as program_services
from tests.factories import (
    CareLinkFactory,
    CounterFactory,
    PatientFactory,
    ResponseFactory,
    TherapistFactory,
    program_make,
)
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

START = date(2027, 3, 1)  # a Monday
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def therapist(db):
    return TherapistFactory()


@pytest.fixture
def program(therapist):
    program = program_make(therapists=[therapist], starts_on=START, ends_on=date(2027, 5, 23))
    program_services.slot_add(
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
    return program


def _enrol(program, therapist, patient, capture):
    CareLinkFactory(patient=patient, therapist=therapist)
    with capture(execute=True):
        return program_services.enrol(
            by=therapist,
            patient=patient,
            program=program,
            primary_therapist=therapist,
            starts_on=START,
        )


@pytest.mark.parametrize(("alcohol", "expected"), [(False, 3), (True, 4)])
def test_enrolment_schedules_the_baseline_measures_by_the_primary_therapist(
    program, therapist, django_capture_on_commit_callbacks, alcohol, expected
):
    patient = PatientFactory()
    if alcohol:
        CounterFactory(patient=patient, substance=Substance.ALCOHOL)

    _enrol(program, therapist, patient, django_capture_on_commit_callbacks)

    schedules = MeasureSchedule.objects.filter(patient=patient)
    assert schedules.count() == expected
    assert {s.assigned_by for s in schedules} == {therapist}
    assert {s.starts_on for s in schedules} == {START}
    assert ("pacs" in {s.instrument.slug for s in schedules}) is alcohol


def test_the_bundle_carries_the_patients_sessions_as_appointments(
    program, therapist, django_capture_on_commit_callbacks
):
    patient = PatientFactory()
    _enrol(program, therapist, patient, django_capture_on_commit_callbacks)

    for viewer in (patient, therapist):
        response = client_for(viewer).get(f"/api/v1/fhir/Patient/{patient.pk}/$everything")
        assert response.status_code == 200
        appointments = [
            e["resource"]
            for e in json.loads(response.content)["entry"]
            if e["resource"]["resourceType"] == "Appointment"
        ]
        assert appointments
        for resource in appointments:
            Appointment.model_validate(resource)
        first = appointments[0]
        assert (first["status"], first["minutesDuration"], first["start"]) == (
            "booked",
            90,
            "2027-03-01T23:00:00Z",
        )


def test_the_programs_staff_see_its_patients_answers_as_treatment(
    program, therapist, django_capture_on_commit_callbacks
):
    patient = PatientFactory()
    _enrol(program, therapist, patient, django_capture_on_commit_callbacks)
    colleague = TherapistFactory()
    program_services.program_staff_add(program=program, therapist_ids=[colleague.pk])
    outsider = TherapistFactory()
    CareLinkFactory(patient=patient, therapist=outsider)
    bam = MeasureSchedule.objects.get(patient=patient, instrument__slug="bam")
    answer = ResponseFactory(schedule=bam)

    seen = client_for(colleague).get("/api/v1/measures/responses/").json()["results"]
    unseen = client_for(outsider).get("/api/v1/measures/responses/").json()["results"]

    assert [row["id"] for row in seen] == [str(answer.pk)]
    assert unseen == []
    log = DisclosureLog.objects.get(viewer=colleague)
    assert (log.grant_id, log.purpose, log.kind) == (None, "treatment", "measure_response")
    # Seeing is not changing: the schedule stays its asker's.
    changed = client_for(colleague).patch(
        f"/api/v1/measures/schedules/{bam.pk}/", {"every_days": 3}, format="json"
    )
    assert changed.status_code == 403
