"""The IOP program: timetable and sessions across daylight saving, enrolment, attendance."""

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.care.selectors import is_linked_pair
from backend.disclosure.models import DisclosureLog
from backend.program import selectors, services
from backend.program.models import Attendance, Enrolment, Program, Session
from backend.program.serializers import SheetRowSerializer
from backend.program.signals import patient_enrolled
from backend.program.views import sheet_body
from tests.factories import (
    CareLinkFactory,
    FamilyFactory,
    FamilyLinkFactory,
    PatientFactory,
    TherapistFactory,
    grant_for,
    program_make,
)
from tests.helpers import assert_flat_queries, assert_problem, client_for, requires_postgres

pytestmark = pytest.mark.django_db

# Monday 2027-03-01, a fortnight before New York's clocks go forward (Sunday 2027-03-14).
START = date(2027, 3, 1)
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
    return program_make(therapists=[therapist], starts_on=START, ends_on=date(2027, 5, 23))


def _slot(program, therapist, **extra):
    data = {
        "kind": "group",
        "title": "Relapse prevention group",
        "weekday": 0,
        "start_time": time(18, 0),
        "duration_minutes": 90,
        "therapist": therapist,
        **extra,
    }
    return services.slot_add(program=program, data=data)


def _enrolled(program, therapist, patient=None):
    patient = patient or PatientFactory()
    CareLinkFactory(patient=patient, therapist=therapist)
    return services.enrol(
        by=therapist, patient=patient, program=program, primary_therapist=therapist, starts_on=START
    )


# --- sessions ------------------------------------------------------------------------------


def test_a_weekly_session_keeps_its_local_time_across_the_clock_change(program, therapist):
    slot = _slot(program, therapist)
    before, after = Session.objects.filter(
        slot=slot, local_date__in=[date(2027, 3, 8), date(2027, 3, 15)]
    )
    assert before.starts_at == datetime(2027, 3, 8, 23, 0, tzinfo=UTC)  # 18:00 EST
    assert after.starts_at == datetime(2027, 3, 15, 22, 0, tzinfo=UTC)  # 18:00 EDT
    assert after.duration_minutes == 90


def test_a_session_in_the_skipped_hour_moves_forward_by_the_gap(program, therapist):
    slot = _slot(program, therapist, weekday=6, start_time=time(2, 30), duration_minutes=60)
    session = Session.objects.get(slot=slot, local_date=date(2027, 3, 14))
    assert session.starts_at == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)  # 03:30 EDT


def test_sessions_exist_up_to_the_program_end_and_regenerating_makes_none_twice(program, therapist):
    slot = _slot(program, therapist)
    count = Session.objects.filter(slot=slot).count()
    assert count == 12  # Mondays from 1 March to 17 May
    assert services.sessions_generate(program=program, until=date(2028, 1, 1)) == 0
    assert Session.objects.filter(slot=slot).count() == count


def test_a_rolling_program_makes_sessions_only_to_its_horizon(therapist):
    program = program_make(therapists=[therapist], starts_on=START)
    slot = _slot(program, therapist)
    last = Session.objects.filter(slot=slot).order_by("-local_date").first().local_date
    assert last <= START + services.HORIZON
    later = START + timedelta(weeks=20)
    assert services.programs_extend(today=later) > 0
    assert Session.objects.filter(slot=slot).order_by("-local_date").first().local_date > last


def test_sessions_made_by_the_sweep_read_back_as_the_timetable_says(therapist):
    program = program_make(therapists=[therapist], starts_on=START)
    patient = PatientFactory()
    slot = _slot(
        program,
        therapist,
        kind="individual",
        title="Individual",
        patient=patient,
        place="Room 3",
        telehealth_url="https://video.example.test/r/3",
    )
    # Made to 24 May (12 weeks ahead); the sweep on 19 July makes them to 11 October.
    made = services.programs_extend(today=START + timedelta(weeks=20))
    assert made == 20
    session = Session.objects.get(slot=slot, local_date=date(2027, 7, 12))
    assert (session.starts_at, session.ends_at) == (
        datetime(2027, 7, 12, 22, 0, tzinfo=UTC),  # 18:00 EDT
        datetime(2027, 7, 12, 23, 30, tzinfo=UTC),
    )
    assert (session.program_id, session.therapist_id, session.patient_id) == (
        program.pk,
        therapist.pk,
        patient.pk,
    )
    assert (session.kind, session.title, session.place, session.status) == (
        "individual",
        "Individual",
        "Room 3",
        "scheduled",
    )
    assert session.telehealth_url == "https://video.example.test/r/3"
    assert session.cancel_reason == ""
    assert Session.objects.filter(slot=slot).values("id").distinct().count() == 13 + 20


def test_a_cancelled_session_stays_cancelled_when_sessions_are_made_again(program, therapist):
    slot = _slot(program, therapist)
    session = Session.objects.get(slot=slot, local_date=date(2027, 4, 5))
    services.session_cancel(session=session, by=therapist, reason="Clinic holiday")
    Session.objects.filter(slot=slot, local_date__gte=date(2027, 4, 1)).exclude(
        pk=session.pk
    ).delete()
    session.delete()
    program.generated_until = date(2027, 3, 31)
    program.save()
    services.sessions_generate(program=program, until=date(2027, 5, 23))
    assert Session.objects.get(slot=slot, local_date=date(2027, 4, 5)).status == "cancelled"


def test_one_call_makes_several_programs_sessions_each_to_its_own_end(therapist):
    colleague = TherapistFactory()
    rolling = program_make(therapists=[therapist], starts_on=START, name="Rolling")
    ending = program_make(
        therapists=[colleague], starts_on=START, ends_on=date(2027, 3, 31), name="Ending"
    )
    _slot(rolling, therapist)
    _slot(ending, colleague, weekday=2)
    before = Session.objects.count()
    until = START + timedelta(weeks=30)
    made = services.programs_generate(plans=[(rolling, until), (ending, until)])
    # Rolling: the Mondays after its 12-week horizon up to the 30th week; the other had all of
    # its March already.
    assert made == Session.objects.count() - before == 18
    assert (rolling.generated_until, ending.generated_until) == (until, date(2027, 3, 31))
    last = Session.objects.filter(program=rolling).order_by("-local_date").first()
    assert last.local_date == until == date(2027, 9, 27)
    assert services.programs_generate(plans=[(rolling, until), (ending, until)]) == 0


def test_a_stale_copy_of_a_program_makes_no_session_twice(therapist):
    program = program_make(therapists=[therapist], starts_on=START)
    _slot(program, therapist)
    stale = Program.objects.get(pk=program.pk)
    until = START + timedelta(weeks=20)
    assert services.sessions_generate(program=program, until=until) == 8
    count = Session.objects.count()
    # Read before the sessions were made, its horizon is behind: the lock reads it again.
    assert services.sessions_generate(program=stale, until=until) == 0
    assert Session.objects.count() == count


def test_the_sweep_runs_the_same_statements_for_one_program_or_many(therapist):
    def prepare(size):
        for n in range(size):
            colleague = TherapistFactory()
            _slot(program_make(therapists=[colleague], starts_on=START, name=f"P{n}"), colleague)

    def run(size):
        services.programs_extend(today=START + timedelta(weeks=4 * size))

    assert_flat_queries(run, sizes=(1, 5), prepare=prepare, at_most=9)


# --- the clinic's API ------------------------------------------------------------------------


@pytest.fixture
def admin_client(clinic_admin):
    return client_for(clinic_admin)


def test_clinic_staff_create_a_program_and_its_timetable(admin_client, therapist):
    response = admin_client.post(
        "/api/v1/program/programs/",
        {
            "name": "Spring IOP",
            "time_zone": "America/Chicago",
            "starts_on": "2027-03-01",
            "ends_on": "2027-05-23",
            "therapists": [str(therapist.pk)],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    program_id = response.json()["id"]
    response = admin_client.post(
        f"/api/v1/program/programs/{program_id}/slots/",
        {
            "kind": "education",
            "title": "Understanding cravings",
            "weekday": 2,
            "start_time": "17:00",
            "duration_minutes": 60,
            "therapist": str(therapist.pk),
            "telehealth_url": "https://video.example.test/room/1",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = admin_client.get(f"/api/v1/program/programs/{program_id}/").json()
    assert [row["title"] for row in body["timetable"]] == ["Understanding cravings"]
    sessions = admin_client.get(f"/api/v1/program/programs/{program_id}/sessions/").json()
    assert sessions["results"][0]["starts_at"] == "2027-03-03T23:00:00+00:00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"valid_from": "2026-01-05"}, "valid_from"),
        ({"valid_until": "2027-12-31"}, "valid_until"),
        ({"weekday": 7}, "weekday"),
        ({"duration_minutes": 10**12}, "duration_minutes"),
        ({"duration_minutes": True}, "duration_minutes"),
        ({"start_time": "23:30", "duration_minutes": 60}, "duration_minutes"),
        ({"valid_from": "9999-01-04"}, "valid_from"),
        ({"kind": "individual"}, "patient"),
        ({"title": {"nested": ["junk"]}}, "title"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_slot_is_a_400_naming_the_field_and_nothing_is_made(
    admin_client, program, therapist, body, field
):
    payload = {
        "kind": "group",
        "title": "Group",
        "weekday": 0,
        "start_time": "18:00",
        "duration_minutes": 90,
        "therapist": str(therapist.pk),
        **body,
    }
    response = admin_client.post(
        f"/api/v1/program/programs/{program.pk}/slots/", payload, format="json"
    )
    assert_problem(response, 400)
    assert field in {error["field"] for error in response.json()["errors"]}
    assert not Session.objects.exists()


def test_overlapping_sessions_for_one_therapist_are_refused(admin_client, program, therapist):
    _slot(program, therapist)
    response = admin_client.post(
        f"/api/v1/program/programs/{program.pk}/slots/",
        {
            "kind": "education",
            "title": "Class",
            "weekday": 0,
            "start_time": "19:00",
            "duration_minutes": 60,
            "therapist": str(therapist.pk),
        },
        format="json",
    )
    assert_problem(response, 400)
    assert response.json()["errors"][0]["field"] == "start_time"
    assert Session.objects.count() == 12


def test_an_extra_session_outside_the_program_dates_is_refused(admin_client, program, therapist):
    response = admin_client.post(
        f"/api/v1/program/programs/{program.pk}/sessions/",
        {
            "kind": "group",
            "title": "Extra group",
            "local_date": "2027-06-01",
            "start_time": "10:00",
            "duration_minutes": 60,
            "therapist": str(therapist.pk),
        },
        format="json",
    )
    assert_problem(response, 400)
    assert response.json()["errors"][0]["field"] == "local_date"


# --- enrolment -----------------------------------------------------------------------------


def test_enrolling_sends_patient_enrolled_after_commit(
    program, therapist, django_capture_on_commit_callbacks
):
    received = []

    def receiver(sender, patient, enrolment, **kwargs):
        received.append((patient, enrolment))

    patient_enrolled.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            enrolment = _enrolled(program, therapist)
    finally:
        patient_enrolled.disconnect(receiver)
    assert received == [(enrolment.patient, enrolment)]
    assert enrolment.planned_end == START + timedelta(weeks=12, days=-1)


def test_a_patient_is_in_one_program_at_a_time(program, therapist):
    enrolment = _enrolled(program, therapist)
    other = program_make(therapists=[therapist], starts_on=START, name="Day program")
    client = client_for(therapist)
    response = client.post(
        "/api/v1/program/enrolments/",
        {"patient": str(enrolment.patient_id), "program": str(other.pk), "starts_on": "2027-03-01"},
        format="json",
    )
    assert_problem(response, 400)
    assert response.json()["errors"][0]["field"] == "patient"
    assert Enrolment.objects.count() == 1


def test_the_primary_therapist_joins_the_care_team(program, therapist):
    colleague = TherapistFactory()
    services.program_staff_add(program=program, therapist_ids=[colleague.pk])
    patient = PatientFactory()
    CareLinkFactory(patient=patient, therapist=therapist)
    response = client_for(therapist).post(
        "/api/v1/program/enrolments/",
        {
            "patient": str(patient.pk),
            "program": str(program.pk),
            "primary_therapist": str(colleague.pk),
            "starts_on": "2027-03-01",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["primary_therapist"]["id"] == str(colleague.pk)
    assert [row["what"] for row in body["history"]] == ["enrolled"]
    assert is_linked_pair(patient, colleague)


def test_clinic_staff_enrol_a_patient_with_no_care_team_and_see_the_enrolment(
    program, therapist, admin_client, clinic_admin
):
    patient = PatientFactory()  # intake: no therapist yet
    response = admin_client.post(
        "/api/v1/program/enrolments/",
        {
            "patient": str(patient.pk),
            "program": str(program.pk),
            "primary_therapist": str(therapist.pk),
            "starts_on": "2027-03-01",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["primary_therapist"]["id"] == str(therapist.pk)
    assert [(row["what"], row["by"]) for row in body["history"]] == [
        ("enrolled", str(clinic_admin.pk))
    ]
    # Clinic staff see no homework (nor attendance): the progress shows no homework count.
    assert body["progress"]["homework"] is None
    assert is_linked_pair(patient, therapist)
    listed = admin_client.get("/api/v1/program/enrolments/").json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    # Their reads are logged, without a grant, under their role.
    assert set(
        DisclosureLog.objects.filter(viewer=clinic_admin).values_list("kind", "viewer_role")
    ) == {("program_enrolment", "clinic_admin")}
    assert admin_client.get("/api/v1/program/attendance/").status_code == 403


def test_clinic_staff_name_the_primary_therapist_from_the_programs_staff(program, admin_client):
    patient = PatientFactory()
    body = {"patient": str(patient.pk), "program": str(program.pk), "starts_on": "2027-03-01"}
    response = admin_client.post("/api/v1/program/enrolments/", body, format="json")
    assert_problem(response, 400)
    assert response.json()["errors"][0]["field"] == "primary_therapist"
    outsider = TherapistFactory()
    response = admin_client.post(
        "/api/v1/program/enrolments/",
        {**body, "primary_therapist": str(outsider.pk)},
        format="json",
    )
    assert_problem(response, 400)
    assert response.json()["errors"][0]["field"] == "primary_therapist"
    assert not Enrolment.objects.exists()
    assert not is_linked_pair(patient, outsider)


def test_clinic_staff_do_not_end_an_enrolment(program, therapist, admin_client):
    enrolment = _enrolled(program, therapist)
    response = admin_client.post(
        f"/api/v1/program/enrolments/{enrolment.pk}/status/",
        {"status": "discharged", "reason": "Moved away"},
        format="json",
    )
    assert_problem(response, 403)
    enrolment.refresh_from_db()
    assert enrolment.status == "active"


def test_an_enrolment_cannot_complete_before_it_starts(therapist):
    program = program_make(therapists=[therapist], starts_on=START)
    patient = PatientFactory()
    CareLinkFactory(patient=patient, therapist=therapist)
    enrolment = services.enrol(
        by=therapist,
        patient=patient,
        program=program,
        primary_therapist=therapist,
        starts_on=date(2027, 4, 5),
    )
    response = client_for(therapist).post(
        f"/api/v1/program/enrolments/{enrolment.pk}/status/",
        {"status": "completed", "reason": "Goals met"},
        format="json",
    )
    assert_problem(response, 400)
    assert response.json()["errors"][0]["field"] == "status"
    enrolment.refresh_from_db()
    assert enrolment.status == "active"


def test_status_changes_and_extensions_keep_who_and_why(program, therapist):
    enrolment = _enrolled(program, therapist)
    client = client_for(therapist)
    response = client.post(
        f"/api/v1/program/enrolments/{enrolment.pk}/planned-end/",
        {"planned_end": "2027-05-23", "reason": "A setback in week 3"},
        format="json",
    )
    assert response.status_code == 200, response.content
    response = client.post(
        f"/api/v1/program/enrolments/{enrolment.pk}/status/",
        {"status": "stepped_down", "reason": "Moving to aftercare"},
        format="json",
    )
    assert response.status_code == 200, response.content
    history = response.json()["history"]
    assert [(h["what"], h["to_value"], h["reason"]) for h in history] == [
        ("enrolled", "active", ""),
        ("planned_end", "2027-05-23", "A setback in week 3"),
        ("status", "stepped_down", "Moving to aftercare"),
    ]
    again = client.post(
        f"/api/v1/program/enrolments/{enrolment.pk}/status/",
        {"status": "completed", "reason": "x"},
        format="json",
    )
    assert_problem(again, 400)


# --- attendance ----------------------------------------------------------------------------


def test_check_in_only_within_the_window_and_idempotently(program, therapist):
    _slot(program, therapist)
    enrolment = _enrolled(program, therapist)
    session = Session.objects.get(local_date=date(2027, 3, 8))
    url = f"/api/v1/program/sessions/{session.pk}/check-in/"
    with time_machine.travel(session.starts_at - timedelta(minutes=16), tick=False):
        client = client_for(enrolment.patient)
        response = client.post(url)
        assert_problem(response, 400)
        assert response.json()["errors"][0]["field"] == "session"
    with time_machine.travel(session.starts_at - timedelta(minutes=5), tick=False):
        client = client_for(enrolment.patient)
        first = client.post(url)
        assert first.status_code == 201, first.content
        assert first.json()["status"] == "present"
        again = client.post(url)
        assert again.status_code == 200
        assert again.json()["id"] == first.json()["id"]
    assert Attendance.objects.count() == 1
    later = Session.objects.get(local_date=date(2027, 3, 15))
    with time_machine.travel(later.starts_at + timedelta(minutes=20), tick=False):
        response = client_for(enrolment.patient).post(
            f"/api/v1/program/sessions/{later.pk}/check-in/"
        )
        assert response.json()["status"] == "late"
    with time_machine.travel(later.starts_at + timedelta(minutes=31), tick=False):
        third = Session.objects.get(local_date=date(2027, 3, 22))
        assert_problem(
            client_for(enrolment.patient).post(f"/api/v1/program/sessions/{third.pk}/check-in/"),
            400,
        )


def test_checking_in_to_someone_elses_session_is_a_404(program, therapist):
    enrolment = _enrolled(program, therapist)
    other = _enrolled(program, therapist)
    _slot(program, therapist, kind="individual", title="Individual", patient=other.patient)
    session = Session.objects.filter(patient=other.patient).first()
    with time_machine.travel(session.starts_at, tick=False):
        response = client_for(enrolment.patient).post(
            f"/api/v1/program/sessions/{session.pk}/check-in/"
        )
    assert_problem(response, 404)


def test_two_missed_sessions_in_a_row_raise_the_flag_and_progress_counts(program, therapist):
    _slot(program, therapist)
    enrolment = _enrolled(program, therapist)
    sessions = list(Session.objects.order_by("starts_at")[:3])
    with time_machine.travel(sessions[2].ends_at + timedelta(days=1), tick=False):
        client = client_for(therapist)
        for session, status in zip(sessions, ["present", "absent", "absent"], strict=True):
            response = client.post(
                f"/api/v1/program/sessions/{session.pk}/attendance/",
                {"patient": str(enrolment.patient_id), "status": status, "note": "Called in"},
                format="json",
            )
            assert response.status_code == 201, response.content
        enrolment.refresh_from_db()
        assert (enrolment.attended_count, enrolment.missed_in_a_row) == (1, 2)
        body = client.get(f"/api/v1/program/enrolments/{enrolment.pk}/").json()
        assert body["progress"] == {
            "week": 3,
            "weeks": 12,
            "scheduled": 3,
            "attended": 1,
            "missed_in_a_row": 2,
            "homework": {"done": 0, "assigned": 0, "counted": "assigned_by_you"},
        }
        sheet = client.get(f"/api/v1/program/sessions/{sessions[1].pk}/attendance/").json()
        assert [row["attendance"]["status"] for row in sheet["results"]] == ["absent"]


def test_marking_a_patient_not_in_the_session_is_a_400(program, therapist):
    _slot(program, therapist)
    stranger = PatientFactory()
    CareLinkFactory(patient=stranger, therapist=therapist)
    _enrolled(program, therapist)
    # On the care team of someone enrolled elsewhere: not this session's patient.
    other_program = program_make(therapists=[therapist], starts_on=START, name="Other")
    services.enrol(
        by=therapist,
        patient=stranger,
        program=other_program,
        primary_therapist=therapist,
        starts_on=START,
    )
    session = Session.objects.filter(program=program).first()
    with time_machine.travel(session.starts_at, tick=False):
        response = client_for(therapist).post(
            f"/api/v1/program/sessions/{session.pk}/attendance/",
            {"patient": str(stranger.pk), "status": "present"},
            format="json",
        )
    assert_problem(response, 400)
    assert response.json()["errors"][0]["field"] == "patient"


# --- who sees what -------------------------------------------------------------------------


def test_family_sees_attendance_only_under_the_program_scope(program, therapist):
    _slot(program, therapist)
    enrolment = _enrolled(program, therapist)
    patient = enrolment.patient
    session = Session.objects.order_by("starts_at").first()
    with time_machine.travel(session.starts_at, tick=False):
        services.attendance_mark(
            session=session,
            patient_id=patient.pk,
            by=therapist,
            status="present",
            note="Quiet today",
        )
    with_scope, without = FamilyFactory(), FamilyFactory()
    for member in (with_scope, without):
        FamilyLinkFactory(patient=patient, member=member)
    grant_for(patient, with_scope, ["program"])
    grant_for(patient, without, ["meetings"])
    seen = client_for(with_scope).get("/api/v1/program/attendance/").json()["results"]
    assert [(row["status"], row["note"]) for row in seen] == [("present", "")]
    assert client_for(without).get("/api/v1/program/attendance/").json()["results"] == []
    assert (
        client_for(patient).get("/api/v1/program/attendance/").json()["results"][0]["note"]
        == "Quiet today"
    )


def test_an_individual_session_is_seen_only_by_its_patient_and_therapist(program, therapist):
    colleague = TherapistFactory()
    services.program_staff_add(program=program, therapist_ids=[colleague.pk])
    enrolment = _enrolled(program, therapist)
    _slot(program, therapist, kind="individual", title="Individual", patient=enrolment.patient)
    _slot(program, colleague, title="Group", weekday=1)
    mine = {s.kind for s in selectors.sessions_for_patient(therapist, enrolment.patient)}
    theirs = {s.kind for s in selectors.sessions_for_patient(colleague, enrolment.patient)}
    own = {s.kind for s in selectors.sessions_for_patient(enrolment.patient, enrolment.patient)}
    assert mine == {"individual", "group"}
    assert theirs == {"group"}
    assert own == {"individual", "group"}
    assert list(selectors.sessions_for_patient(TherapistFactory(), enrolment.patient)) == []


def test_a_therapist_outside_the_program_gets_404_for_a_patients_sessions(program, therapist):
    enrolment = _enrolled(program, therapist)
    response = client_for(TherapistFactory()).get(
        "/api/v1/program/sessions/", {"patient": str(enrolment.patient_id)}
    )
    assert_problem(response, 404)


def test_sessions_for_patient_carries_what_an_appointment_needs(program, therapist):
    _slot(program, therapist, place="Room 2")
    enrolment = _enrolled(program, therapist)
    [first, *_] = selectors.sessions_for_patient(
        enrolment.patient, enrolment.patient, start=timezone.now()
    )
    assert (first.kind, first.title, first.place, first.status, first.attendance_status) == (
        "group",
        "Relapse prevention group",
        "Room 2",
        "scheduled",
        None,
    )
    assert first.duration_minutes == 90


def test_the_caseload_summary_flags_two_missed_sessions_under_the_program_scope(program, therapist):
    _slot(program, therapist)
    enrolment = _enrolled(program, therapist)
    outsider = TherapistFactory()
    CareLinkFactory(patient=enrolment.patient, therapist=outsider)
    grant_for(enrolment.patient, outsider, ["program"])
    sessions = list(Session.objects.order_by("starts_at")[:2])
    with time_machine.travel(sessions[1].ends_at + timedelta(hours=1), tick=False):
        for session in sessions:
            services.attendance_mark(
                session=session, patient_id=enrolment.patient_id, by=therapist, status="absent"
            )
        body = client_for(outsider).get("/api/v1/care/caseload/summaries/").json()
    [row] = body["results"]
    assert row["flags"] == {"missed_two_sessions_in_a_row": True}
    assert row["program"] == {
        "week": 2,
        "weeks": 12,
        "scheduled": 2,
        "attended": 0,
        "missed_in_a_row": 2,
    }


def test_the_daily_command_moves_the_horizon_on(therapist):
    from django.core.management import call_command  # noqa: PLC0415

    program = program_make(therapists=[therapist], starts_on=START)
    _slot(program, therapist)
    before = Session.objects.count()
    with time_machine.travel(NOW + timedelta(weeks=3), tick=False):
        call_command("program_sessions_extend", verbosity=0)
    assert Session.objects.count() == before + 3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"starts_on": "2025-01-01"}, "starts_on"),
        ({"ends_on": "2026-12-31"}, "ends_on"),
        ({"ends_on": "2999-12-31"}, "ends_on"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"planned_weeks": 0}, "planned_weeks"),
        ({"level_of_care": "spa"}, "level_of_care"),
        ({"therapists": ["not-a-uuid"]}, "therapists.0"),
    ],
)
def test_a_bad_program_is_a_400_naming_the_field(admin_client, therapist, change, field):
    body = {"name": "IOP", "time_zone": "America/New_York", "starts_on": "2027-03-01", **change}
    response = admin_client.post("/api/v1/program/programs/", body, format="json")
    assert_problem(response, 400)
    assert field in {e["field"] for e in response.json()["errors"]}


@requires_postgres("the commit of derived rows need not wait for the disk there")
@pytest.mark.django_db(transaction=True)
def test_the_sweep_commits_without_waiting_for_the_disk_only_in_its_own_transaction(therapist):
    program = program_make(therapists=[therapist], starts_on=START)
    _slot(program, therapist)
    later = START + timedelta(weeks=20)
    with CaptureQueriesContext(connection) as own:
        assert services.programs_extend(today=later) == 20
    assert any("synchronous_commit" in q["sql"] for q in own.captured_queries)
    # Inside a caller's transaction (a new slot's), the caller's commit is left as it is.
    with CaptureQueriesContext(connection) as inside, transaction.atomic():
        services.sessions_generate(program=program, until=later + timedelta(weeks=16))
    assert not any("synchronous_commit" in q["sql"] for q in inside.captured_queries)
    assert Session.objects.filter(program=program).count() == 13 + 20 + 4


def test_the_sheet_answers_what_its_serializer_documents(program, therapist):
    """The sheet's rows are built without serializers (speed): the same output, note rules
    included, as SheetRowSerializer gives."""
    colleague = TherapistFactory()
    services.program_staff_add(program=program, therapist_ids=[colleague.pk])
    _slot(program, therapist)
    came, missed, unmarked = (_enrolled(program, therapist) for _ in range(3))
    session = Session.objects.filter(program=program).order_by("starts_at").first()
    with time_machine.travel(session.starts_at + timedelta(minutes=12), tick=False):
        services.check_in(session=session, patient=came.patient)
        services.attendance_mark(
            session=session,
            patient_id=missed.patient_id,
            by=therapist,
            status="absent",
            note="Sick",
        )
    rows = selectors.sheet_rows(session, list(selectors.sheet_enrolments(session).order_by("id")))
    assert {row.enrolment.pk for row in rows if row.attendance is None} == {unmarked.pk}
    for viewer in (therapist, colleague, came.patient):
        request = RequestFactory().get("/")
        request.user = viewer
        documented = SheetRowSerializer(rows, many=True, context={"request": request}).data
        assert json.loads(json.dumps(sheet_body(rows, viewer=viewer))) == json.loads(
            json.dumps(documented, default=str)
        )
    notes = {r["enrolment"]: r["attendance"] for r in sheet_body(rows, viewer=colleague)}
    assert notes[str(missed.pk)]["note"] == ""
    assert sheet_body(rows, viewer=therapist)[0]["patient"]["role"] == "patient"
