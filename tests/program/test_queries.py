"""Every list of the program: paginated, and its query count flat with the page size."""

from datetime import UTC, date, datetime, time

import pytest
import time_machine

from backend.program import services
from backend.program.models import Session
from tests.factories import (
    CareLinkFactory,
    FamilyFactory,
    FamilyLinkFactory,
    PatientFactory,
    TherapistFactory,
    grant_for,
    program_make,
)
from tests.helpers import assert_flat_queries, client_for, full_page

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 5, 20, 12, 0, tzinfo=UTC)  # after 12 Mondays of the program


@pytest.fixture
def lists():
    with time_machine.travel(NOW, tick=False):
        therapist = TherapistFactory()
        program = program_make(therapists=[therapist], starts_on=date(2027, 3, 1))
        services.slot_add(
            program=program,
            data={
                "kind": "group",
                "title": "Group",
                "weekday": 0,
                "start_time": time(18, 0),
                "duration_minutes": 90,
                "therapist": therapist,
            },
        )
        patients = [PatientFactory() for _ in range(10)]
        for patient in patients:
            CareLinkFactory(patient=patient, therapist=therapist)
            services.enrol(
                by=therapist,
                patient=patient,
                program=program,
                primary_therapist=therapist,
                starts_on=date(2027, 3, 1),
            )
        sessions = list(Session.objects.order_by("starts_at"))
        first = patients[0]
        for session in sessions[:10]:
            services.attendance_mark(
                session=session, patient_id=first.pk, by=therapist, status="present"
            )
        for patient in patients[1:]:
            services.attendance_mark(
                session=sessions[0], patient_id=patient.pk, by=therapist, status="absent"
            )
        family = FamilyFactory()
        FamilyLinkFactory(patient=first, member=family)
        grant_for(first, family, ["program"])
        yield therapist, program, first, family, sessions


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("therapist", "/api/v1/program/enrolments/"),
        ("therapist", "/api/v1/program/attendance/"),
        ("therapist", "/api/v1/program/sessions/{session}/attendance/"),
        ("therapist", "/api/v1/program/sessions/?patient={patient}"),
        ("therapist", "/api/v1/program/programs/{program}/sessions/"),
        ("patient", "/api/v1/program/sessions/"),
        ("patient", "/api/v1/program/attendance/"),
        ("family", "/api/v1/program/attendance/"),
        ("family", "/api/v1/program/sessions/?patient={patient}"),
    ],
)
def test_a_list_costs_the_same_queries_whatever_the_page_size(lists, who, path):
    therapist, program, patient, family, sessions = lists
    user = {"therapist": therapist, "patient": patient, "family": family}[who]
    url, _, query = path.format(
        session=sessions[0].pk, patient=patient.pk, program=program.pk
    ).partition("?")
    params = dict(part.split("=") for part in query.split("&") if part)
    with time_machine.travel(NOW, tick=False):
        client = client_for(user)
        assert_flat_queries(lambda size: full_page(client, url, size, **params), sizes=(1, 9))
