"""Family sessions under the program consent; the aftercare plan and the step-down."""

from datetime import UTC, date, datetime, time

import pytest
import time_machine

from backend.consent import services as consent_services
from backend.nudges.models import NudgeRule
from backend.program import services
from backend.program.models import AftercarePlan, Session
from tests.factories import (
    CareLinkFactory,
    FamilyFactory,
    FamilyLinkFactory,
    PatientFactory,
    TherapistFactory,
    grant_for,
    program_make,
)
from tests.helpers import assert_problem, client_for
from tests.meetings.helpers import make_meetings, record

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    therapist = TherapistFactory()
    program = program_make(therapists=[therapist], starts_on=date(2027, 3, 1))
    patient = PatientFactory()
    CareLinkFactory(patient=patient, therapist=therapist)
    with django_capture_on_commit_callbacks(execute=True):
        enrolment = services.enrol(
            by=therapist,
            patient=patient,
            program=program,
            primary_therapist=therapist,
            starts_on=date(2027, 3, 1),
        )
    family_session = services.session_add(
        program=program,
        data={
            "kind": "family",
            "title": "Family session",
            "local_date": date(2027, 3, 20),
            "start_time": time(10, 0),
            "duration_minutes": 60,
            "therapist": therapist,
            "patient": patient,
            "place": "Room 4",
        },
    )
    member = FamilyFactory()
    FamilyLinkFactory(patient=patient, member=member)
    return therapist, patient, enrolment, family_session, member


def test_a_consenting_family_member_is_invited_and_sees_time_and_place_only(world):
    therapist, patient, _, session, member = world
    url = f"/api/v1/program/sessions/{session.pk}/invites/"
    refused = client_for(therapist).post(url, {"member": str(member.pk)}, format="json")
    assert_problem(refused, 400)
    assert refused.json()["errors"][0]["field"] == "member"
    grant = grant_for(patient, member, ["program"])
    first = client_for(therapist).post(url, {"member": str(member.pk)}, format="json")
    assert first.status_code == 201, first.content
    again = client_for(therapist).post(url, {"member": str(member.pk)}, format="json")
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    [row] = client_for(member).get("/api/v1/program/invitations/").json()["results"]
    assert set(row) == {
        "id",
        "session",
        "starts_at",
        "ends_at",
        "place",
        "telehealth_url",
        "cancelled",
    }
    assert (row["starts_at"], row["place"]) == ("2027-03-20T14:00:00+00:00", "Room 4")
    consent_services.grant_revoke(grant=grant, by=patient)
    assert client_for(member).get("/api/v1/program/invitations/").json()["results"] == []


def test_only_a_family_session_takes_family_members(world):
    therapist, patient, _, _, member = world
    grant_for(patient, member, ["program"])
    group = services.session_add(
        program=Session.objects.first().program,
        data={
            "kind": "group",
            "title": "Group",
            "local_date": date(2027, 3, 21),
            "start_time": time(10, 0),
            "duration_minutes": 60,
            "therapist": therapist,
        },
    )
    response = client_for(therapist).post(
        f"/api/v1/program/sessions/{group.pk}/invites/", {"member": str(member.pk)}, format="json"
    )
    assert_problem(response, 400)


def test_the_plan_is_drafted_accepted_and_then_the_reminders_follow_it(
    world, django_capture_on_commit_callbacks
):
    therapist, patient, enrolment, _, _ = world
    [meeting] = make_meetings(record(name="Thursday Step Study", day=4, time="19:00"))
    url = f"/api/v1/program/enrolments/{enrolment.pk}/aftercare/"
    assert_problem(client_for(patient).get(url), 404)  # nothing drafted yet
    plan = {
        "level_of_care": "outpatient",
        "follow_ups": [{"date": "2027-06-01", "time": "09:00", "kind": "case manager"}],
        "meetings": [{"meeting": str(meeting.pk), "name": "Thursday Step Study"}],
        "weekly_checkin_weekday": 6,
        "weekly_checkin_time": "18:00",
        "support_contacts": [{"name": "May", "relation": "aunt", "phone": "555 0101"}],
        "relapse_plan_linked": True,
    }
    drafted = client_for(therapist).put(url, plan, format="json")
    assert drafted.status_code == 200, drafted.content
    assert_problem(client_for(therapist).post(url + "accept/"), 403)
    accepted = client_for(patient).post(url + "accept/")
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["accepted_at"] is not None
    assert_problem(client_for(therapist).put(url, plan, format="json"), 409)

    with django_capture_on_commit_callbacks(execute=True):
        client_for(therapist).post(
            f"/api/v1/program/enrolments/{enrolment.pk}/status/",
            {"status": "stepped_down", "reason": "Into aftercare"},
            format="json",
        )
    rules = {(r.kind, r.status) for r in NudgeRule.objects.filter(patient=patient)}
    # The questionnaires scheduled at enrolment go on into aftercare, with their reminder.
    assert rules == {
        ("session", "paused"),
        ("meeting", "active"),
        ("checkin", "active"),
        ("measure", "active"),
    }
    checkin = NudgeRule.objects.get(patient=patient, kind="checkin")
    assert (checkin.times, checkin.weekdays) == (["18:00"], [6])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"level_of_care": "spa"}, "level_of_care"),
        ({"weekly_checkin_weekday": 2}, "weekly_checkin_time"),
        ({"follow_ups": [{"date": "9999-01-01", "kind": "x"}]}, "follow_ups.0.date"),
        ({"meetings": [{"meeting": "not-a-uuid"}]}, "meetings.0.meeting"),
        ({"support_contacts": "May"}, "support_contacts"),
    ],
)
def test_a_bad_plan_is_a_400_and_nothing_is_kept(world, change, field):
    therapist, _, enrolment, _, _ = world
    response = client_for(therapist).put(
        f"/api/v1/program/enrolments/{enrolment.pk}/aftercare/",
        {"level_of_care": "outpatient", **change},
        format="json",
    )
    assert_problem(response, 400)
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not AftercarePlan.objects.exists()
