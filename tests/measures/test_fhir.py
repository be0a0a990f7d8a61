"""The FHIR R4 export: valid to FHIR's own models, labelled as Part 2 data, through the gate."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle

from backend.consent.scopes import Scope
from backend.consent.services import grant_revoke
from backend.disclosure.models import DisclosureLog
from backend.exchange import fhir
from tests.factories import (
    CareLinkFactory,
    ResponseFactory,
    ScheduleFactory,
    TherapistFactory,
    grant_for,
)
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
NOW = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _url(patient) -> str:
    return f"/api/v1/fhir/Patient/{patient.pk}/$everything"


@pytest.fixture
def answered(patient, linked_therapist):
    phq = ScheduleFactory(patient=patient, therapist=linked_therapist, instrument="phq-9")
    bam = ScheduleFactory(patient=patient, therapist=linked_therapist, instrument="bam")
    ResponseFactory(schedule=phq, value=1)
    ResponseFactory(schedule=bam, value=2, answers={"6": 0})
    return phq, bam


def test_a_patient_exports_their_own_bundle_and_every_resource_validates(api, patient, answered):
    response = client_for(patient).get(_url(patient))

    assert response.status_code == 200
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = json.loads(response.content)
    kinds = [entry["resource"]["resourceType"] for entry in body["entry"]]
    assert kinds.count("Patient") == 1
    assert kinds.count("Questionnaire") == 4
    assert kinds.count("QuestionnaireResponse") == 2
    # PHQ-9: panel + total; BAM: panel + use, risk, protective.
    assert kinds.count("Observation") == 6
    for entry in body["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        labels = {(s["system"].rsplit("/", 1)[-1], s["code"]) for s in resource["meta"]["security"]}
        assert labels == {
            ("v3-ActCode", "42CFRPart2"),
            ("v3-ActCode", "NORDSCLCD"),
            ("v3-Confidentiality", "R"),
        }


def test_the_bundle_round_trips_through_the_fhir_models(patient, answered):
    body = json.loads(client_for(patient).get(_url(patient)).content)

    parsed = Bundle.model_validate(body)
    again = json.loads(parsed.model_dump_json(exclude_none=True))

    assert again == body


def test_phq9_total_is_loinc_44261_6_in_panel_44249_1(patient, answered):
    body = json.loads(client_for(patient).get(_url(patient)).content)
    observations = [
        e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    codes = {o["code"]["coding"][0]["code"]: o for o in observations}

    assert codes["44261-6"]["valueInteger"] == 9
    assert codes["44261-6"]["interpretation"] == [{"text": "Mild"}]
    panel = codes["44249-1"]
    total_url = next(
        e["fullUrl"]
        for e in body["entry"]
        if e["resource"] is not None and e["resource"].get("id") == codes["44261-6"]["id"]
    )
    assert {"reference": total_url} in panel["hasMember"]
    assert {"bam-use", "bam-risk", "bam-protective", "bam"} <= set(codes)


def test_consents_carry_scopes_period_and_revocation(patient, answered):
    member = TherapistFactory()
    CareLinkFactory(patient=patient, therapist=member)
    grant = grant_for(patient, member, [Scope.MEASURES, Scope.CHECKINS])

    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        grant_revoke(grant=grant, by=patient)
        body = json.loads(client_for(patient).get(_url(patient)).content)

    [consent] = [e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "Consent"]
    assert consent["status"] == "inactive"
    assert {c["coding"][0]["code"] for c in consent["provision"]["code"]} == {
        "measures",
        "checkins",
    }
    assert consent["provision"]["period"] == {
        "start": fhir._when(grant.starts_at),
        "end": "2026-03-11T17:00:00Z",
    }


def test_a_therapist_with_the_measures_scope_exports_and_the_read_is_logged(patient, answered):
    therapist = TherapistFactory()
    CareLinkFactory(patient=patient, therapist=therapist)
    grant_for(patient, therapist, [Scope.MEASURES])

    response = client_for(therapist).get(_url(patient))

    assert response.status_code == 200
    body = json.loads(response.content)
    assert sum(e["resource"]["resourceType"] == "QuestionnaireResponse" for e in body["entry"]) == 2
    assert DisclosureLog.objects.filter(viewer=therapist, patient=patient).exists()


def test_a_therapist_without_consent_or_own_questionnaires_gets_404(
    patient, answered, unlinked_therapist
):
    therapist = TherapistFactory()
    CareLinkFactory(patient=patient, therapist=therapist)
    grant_for(patient, therapist, [Scope.CHECKINS])

    assert client_for(therapist).get(_url(patient)).status_code == 404
    assert client_for(unlinked_therapist).get(_url(patient)).status_code == 404


def test_a_patient_cannot_export_someone_else_and_family_never_exports(
    patient, other_patient, family_granted
):
    assert client_for(other_patient).get(_url(patient)).status_code == 404
    assert client_for(family_granted).get(_url(patient)).status_code == 403


@pytest.mark.parametrize(
    ("status", "attendance", "ahead", "expected"),
    [
        ("scheduled", None, True, "booked"),
        ("scheduled", None, False, "noshow"),
        ("scheduled", "present", False, "fulfilled"),
        ("scheduled", "late", False, "fulfilled"),
        ("scheduled", "absent", False, "noshow"),
        ("scheduled", "excused", False, "cancelled"),
        ("cancelled", None, True, "cancelled"),
    ],
)
def test_a_session_is_an_appointment_whose_status_follows_attendance(
    status, attendance, ahead, expected
):
    now = timezone.now()
    starts = now + timedelta(days=1 if ahead else -1)
    session = SimpleNamespace(
        pk=uuid.uuid4(),
        status=status,
        attendance_status=attendance,
        kind="group",
        get_kind_display=lambda: "Group therapy",
        title="Relapse prevention group",
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        duration_minutes=180,
        place="Room 2",
        telehealth_url="",
    )

    resource = fhir.appointment_resource(session, "urn:uuid:" + str(uuid.uuid4()), now)

    Appointment.model_validate(resource)
    assert (resource["status"], resource["minutesDuration"], resource["comment"]) == (
        expected,
        180,
        "Room 2",
    )
    assert {s["code"] for s in resource["meta"]["security"]} == {"42CFRPart2", "NORDSCLCD", "R"}
