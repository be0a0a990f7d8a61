"""Clinic staff change a program, its timetable and its staff after creation.

A changed line moves its sessions still to come, with the excused absences marked ahead on
them; past sessions and those with attendance already taken stay as they were; an ended line's later sessions are cancelled; bad input is a 400 naming
the field and changes nothing.
"""

from datetime import UTC, date, datetime, time

import pytest
import time_machine

from backend.program import services
from backend.program.models import Attendance, Program, Session, Slot
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

pytestmark = pytest.mark.django_db

START = date(2027, 3, 1)  # a Monday; New York's clocks go forward on 2027-03-14
NOW = datetime(2027, 3, 20, 16, 0, tzinfo=UTC)  # Saturday: three Mondays have passed
FUTURE_MONDAYS = 9  # 22 March to 17 May


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


@pytest.fixture
def slot(program, therapist):
    return services.slot_add(
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


@pytest.fixture
def admin(clinic_admin):
    return client_for(clinic_admin)


@pytest.fixture
def marked(program, therapist, slot):
    """An enrolled patient present on 8 March and excused ahead for 29 March; 5 April is a
    clinic holiday."""
    patient = PatientFactory()
    CareLinkFactory(patient=patient, therapist=therapist)
    enrolment = services.enrol(
        by=therapist, patient=patient, program=program, primary_therapist=therapist, starts_on=START
    )
    past = Session.objects.get(slot=slot, local_date=date(2027, 3, 8))
    with time_machine.travel(past.starts_at, tick=False):
        services.attendance_mark(
            session=past, patient_id=patient.pk, by=therapist, status="present"
        )
    excused = Session.objects.get(slot=slot, local_date=date(2027, 3, 29))
    services.attendance_mark(
        session=excused, patient_id=patient.pk, by=therapist, status="excused", note="Court date"
    )
    holiday = Session.objects.get(slot=slot, local_date=date(2027, 4, 5))
    services.session_cancel(session=holiday, by=therapist, reason="Clinic holiday")
    return enrolment, past, excused, holiday


def _times(slot):
    return dict(Session.objects.filter(slot=slot).values_list("local_date", "starts_at"))


def _patch_slot(admin, program, slot, body):
    return admin.patch(
        f"/api/v1/program/programs/{program.pk}/slots/{slot.pk}/", body, format="json"
    )


# --- a line of the timetable ---------------------------------------------------------------


def test_a_new_start_time_moves_the_sessions_to_come_with_their_marks_and_leaves_past_ones(
    admin, program, slot, marked
):
    _, past, excused, holiday = marked
    next_one = Session.objects.get(slot=slot, local_date=date(2027, 3, 22))
    response = _patch_slot(admin, program, slot, {"start_time": "17:00", "title": "Relapse group"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["start_time"], body["title"]) == ("17:00", "Relapse group")
    assert body["sessions"] == {
        "updated": FUTURE_MONDAYS,
        "made": 0,
        "removed": 0,
        "kept": 0,
        "cancelled": 0,
    }
    # The same row (its id, any invitation) at 17:00 New York time (EDT).
    next_one.refresh_from_db()
    assert next_one.starts_at == datetime(2027, 3, 22, 21, 0, tzinfo=UTC)
    assert next_one.title == "Relapse group"
    # The group of 29 March moved with the others, the excused absence marked ahead on it.
    excused.refresh_from_db()
    assert (excused.starts_at, excused.title) == (
        datetime(2027, 3, 29, 21, 0, tzinfo=UTC),
        "Relapse group",
    )
    mark = Attendance.objects.get(session=excused)
    assert (mark.status, mark.note) == ("excused", "Court date")
    starts_at = past.starts_at
    past.refresh_from_db()
    assert (past.starts_at, past.title) == (starts_at, "Relapse prevention group")
    holiday.refresh_from_db()
    assert (holiday.status, holiday.starts_at.hour) == ("cancelled", 21)
    assert Attendance.objects.count() == 2


def test_a_new_weekday_replaces_the_sessions_to_come(admin, program, slot, marked):
    enrolment, _, excused, _ = marked
    response = _patch_slot(admin, program, slot, {"weekday": 2})
    assert response.status_code == 200, response.content
    # Wednesdays 24 March to 19 May; the Mondays to come go, but the one holding an excused
    # absence, which is cancelled with its mark kept.
    assert response.json()["sessions"] == {
        "updated": 0,
        "made": 9,
        "removed": 8,
        "kept": 0,
        "cancelled": 1,
    }
    days = sorted(_times(slot))
    assert [d for d in days if d.weekday() == 0] == [
        date(2027, 3, 1),
        date(2027, 3, 8),
        date(2027, 3, 15),
        excused.local_date,
    ]
    excused.refresh_from_db()
    assert excused.status == "cancelled"
    assert Attendance.objects.get(session=excused).note == "Court date"
    wednesdays = [d for d in days if d.weekday() == 2]
    assert (wednesdays[0], wednesdays[-1], len(wednesdays)) == (
        date(2027, 3, 24),
        date(2027, 5, 19),
        9,
    )
    # Making sessions again adds none.
    assert services.sessions_generate(program=program, until=date(2027, 5, 23)) == 0
    # Back on Mondays, the cancelled date runs again with its mark; the holiday stays off.
    response = _patch_slot(admin, program, slot, {"weekday": 0})
    assert response.json()["sessions"] == {
        "updated": 1,
        "made": 8,
        "removed": 9,
        "kept": 0,
        "cancelled": 0,
    }
    excused.refresh_from_db()
    assert (excused.status, excused.cancel_reason) == ("scheduled", "")
    assert Session.objects.get(slot=slot, local_date=date(2027, 4, 5)).status == "cancelled"
    enrolment.refresh_from_db()
    assert (enrolment.attended_count, enrolment.missed_in_a_row) == (1, 0)


def test_a_session_under_way_keeps_its_time_when_its_line_moves(
    clinic_admin, program, slot, marked
):
    enrolment, _, excused, _ = marked
    today = Session.objects.get(slot=slot, local_date=date(2027, 3, 22))  # 18:00 EDT
    with time_machine.travel(datetime(2027, 3, 22, 21, 50, tzinfo=UTC), tick=False):
        services.check_in(session=today, patient=enrolment.patient)
        response = _patch_slot(client_for(clinic_admin), program, slot, {"start_time": "18:30"})
    assert response.status_code == 200, response.content
    # Checked in ten minutes before the start: that session is held as announced.
    assert response.json()["sessions"] == {
        "updated": FUTURE_MONDAYS - 1,
        "made": 0,
        "removed": 0,
        "kept": 1,
        "cancelled": 0,
    }
    today.refresh_from_db()
    assert today.starts_at == datetime(2027, 3, 22, 22, 0, tzinfo=UTC)
    excused.refresh_from_db()
    assert excused.starts_at == datetime(2027, 3, 29, 22, 30, tzinfo=UTC)


def test_todays_session_whose_new_time_has_passed_stays_as_announced(clinic_admin, program, slot):
    today = Session.objects.get(slot=slot, local_date=date(2027, 3, 22))
    with time_machine.travel(datetime(2027, 3, 22, 20, 30, tzinfo=UTC), tick=False):  # 16:30
        response = _patch_slot(client_for(clinic_admin), program, slot, {"start_time": "16:00"})
    assert response.status_code == 200, response.content
    assert response.json()["sessions"] == {
        "updated": FUTURE_MONDAYS - 1,
        "made": 0,
        "removed": 0,
        "kept": 1,
        "cancelled": 0,
    }
    today.refresh_from_db()
    assert (today.status, today.starts_at) == (
        "scheduled",
        datetime(2027, 3, 22, 22, 0, tzinfo=UTC),
    )
    assert Session.objects.get(slot=slot, local_date=date(2027, 3, 29)).starts_at.hour == 20


def test_a_clash_with_another_session_of_the_therapist_is_a_400_and_nothing_changes(
    admin, program, slot, therapist
):
    other = program_make(therapists=[therapist], starts_on=date(2027, 3, 15), name="Day IOP")
    services.slot_add(
        program=other,
        data={
            "kind": "education",
            "title": "Class elsewhere",
            "weekday": 2,
            "start_time": time(10, 0),
            "duration_minutes": 60,
            "therapist": therapist,
        },
    )
    before = _times(slot)
    response = _patch_slot(admin, program, slot, {"weekday": 2, "start_time": "09:30"})
    assert_problem(response, 400)
    assert response.json()["errors"][0]["field"] == "start_time"
    assert "Class elsewhere" in response.json()["errors"][0]["message"]
    assert _times(slot) == before
    assert Slot.objects.get(pk=slot.pk).weekday == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"weekday": 7}, "weekday"),
        ({"start_time": "23:30"}, "duration_minutes"),
        ({"duration_minutes": True}, "duration_minutes"),
        ({"therapist": "outsider"}, "therapist"),
        ({"kind": "individual"}, "kind"),
        ({"valid_from": "2027-03-01"}, "valid_from"),
        ({"telehealth_url": "not a link"}, "telehealth_url"),
    ],
)
def test_a_bad_change_to_a_line_is_a_400_naming_the_field(admin, program, slot, change, field):
    if change.get("therapist") == "outsider":
        change = {"therapist": str(TherapistFactory().pk)}
    before = _times(slot)
    response = _patch_slot(admin, program, slot, change)
    assert_problem(response, 400)
    assert field in {error["field"] for error in response.json()["errors"]}
    assert _times(slot) == before
    assert Slot.objects.get(pk=slot.pk).start_time == time(18, 0)


def test_a_line_of_another_program_is_a_404(admin, program, slot, therapist):
    other = program_make(therapists=[therapist], starts_on=START, name="Other")
    response = admin.patch(
        f"/api/v1/program/programs/{other.pk}/slots/{slot.pk}/", {"title": "X"}, format="json"
    )
    assert_problem(response, 404)


def test_ending_a_line_cancels_its_sessions_after_the_last_day(
    admin, clinic_admin, program, slot, marked
):
    _, _, excused, _ = marked
    response = admin.post(
        f"/api/v1/program/programs/{program.pk}/slots/{slot.pk}/end/",
        {"last_day": "2027-03-28", "reason": "Group merged into the day program"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    # 29 March to 17 May, less the holiday already off.
    assert (body["valid_until"], body["cancelled"]) == ("2027-03-28", 7)
    after = Session.objects.filter(slot=slot, local_date__gt=date(2027, 3, 28))
    assert set(after.values_list("status", flat=True)) == {"cancelled"}
    excused.refresh_from_db()
    assert excused.cancel_reason == "Group merged into the day program"
    assert Session.objects.get(slot=slot, local_date=date(2027, 3, 22)).status == "scheduled"
    assert services.sessions_generate(program=program, until=date(2027, 5, 23)) == 0
    # Past its last day the line no longer changes.
    with time_machine.travel(datetime(2027, 3, 30, 12, tzinfo=UTC), tick=False):
        response = _patch_slot(client_for(clinic_admin), program, slot, {"title": "Again"})
    assert_problem(response, 409)


@pytest.mark.parametrize(
    ("last_day", "field"),
    [("2027-03-10", "last_day"), ("2027-06-01", "last_day"), ("2027-13-01", "last_day")],
)
def test_ending_a_line_on_a_past_day_or_after_the_program_is_a_400(
    admin, program, slot, last_day, field
):
    response = admin.post(
        f"/api/v1/program/programs/{program.pk}/slots/{slot.pk}/end/",
        {"last_day": last_day},
        format="json",
    )
    assert_problem(response, 400)
    assert response.json()["errors"][0]["field"] == field
    assert Slot.objects.get(pk=slot.pk).valid_until is None
    assert not Session.objects.filter(status="cancelled").exists()


# --- the program ---------------------------------------------------------------------------


def test_clinic_staff_rename_and_regrade_a_program(admin, program):
    response = admin.patch(
        f"/api/v1/program/programs/{program.pk}/",
        {"name": "Evening PHP", "level_of_care": "php", "planned_weeks": 8},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["level_of_care"], body["planned_weeks"]) == ("Evening PHP", "php", 8)
    assert body["sessions"] == {
        "updated": 0,
        "made": 0,
        "removed": 0,
        "kept": 0,
        "cancelled": 0,
    }
    program.refresh_from_db()
    assert program.planned_weeks == 8


def test_a_new_zone_keeps_the_wall_clock_time_of_the_sessions_to_come(
    admin, program, slot, marked, therapist
):
    _, past, excused, _ = marked
    extra = services.session_add(
        program=program,
        data={
            "kind": "education",
            "title": "Open house",
            "local_date": date(2027, 4, 7),
            "start_time": time(10, 0),
            "duration_minutes": 60,
            "therapist": therapist,
        },
    )
    response = admin.patch(
        f"/api/v1/program/programs/{program.pk}/", {"time_zone": "America/Chicago"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["sessions"] == {
        # The nine Mondays to come, the holiday and the excused one among them, and the one-off.
        "updated": FUTURE_MONDAYS + 1,
        "made": 0,
        "removed": 0,
        "kept": 0,
        "cancelled": 0,
    }
    # 18:00 in Chicago (CDT) is 23:00 UTC; 10:00 is 15:00 UTC.
    assert Session.objects.get(slot=slot, local_date=date(2027, 3, 22)).starts_at == datetime(
        2027, 3, 22, 23, 0, tzinfo=UTC
    )
    extra.refresh_from_db()
    assert extra.starts_at == datetime(2027, 4, 7, 15, 0, tzinfo=UTC)
    excused.refresh_from_db()
    assert excused.starts_at == datetime(2027, 3, 29, 23, 0, tzinfo=UTC)
    assert Attendance.objects.filter(session=excused, status="excused").exists()
    starts_at = past.starts_at
    past.refresh_from_db()
    assert past.starts_at == starts_at


def test_a_new_zone_leaves_a_session_under_way_where_it_is(clinic_admin, program, slot, marked):
    enrolment, _, excused, _ = marked
    today = Session.objects.get(slot=slot, local_date=date(2027, 3, 22))
    with time_machine.travel(datetime(2027, 3, 22, 21, 50, tzinfo=UTC), tick=False):
        services.check_in(session=today, patient=enrolment.patient)
        response = client_for(clinic_admin).patch(
            f"/api/v1/program/programs/{program.pk}/",
            {"time_zone": "America/Chicago"},
            format="json",
        )
    assert response.status_code == 200, response.content
    assert response.json()["sessions"]["kept"] == 1
    today.refresh_from_db()
    assert today.starts_at == datetime(2027, 3, 22, 22, 0, tzinfo=UTC)
    excused.refresh_from_db()
    assert excused.starts_at == datetime(2027, 3, 29, 23, 0, tzinfo=UTC)


def test_a_new_zone_that_makes_a_clash_is_a_400_and_nothing_changes(admin, program, therapist):
    services.slot_add(
        program=program,
        data={
            "kind": "group",
            "title": "Morning group",
            "weekday": 1,
            "start_time": time(9, 0),
            "duration_minutes": 60,
            "therapist": therapist,
        },
    )
    # The same therapist runs a Chicago program at 9:00 Chicago time: New York's 9:00 moved
    # to Chicago's clock meets it.
    other = program_make(
        therapists=[therapist], starts_on=date(2027, 3, 22), time_zone="America/Chicago"
    )
    services.slot_add(
        program=other,
        data={
            "kind": "group",
            "title": "Chicago group",
            "weekday": 1,
            "start_time": time(9, 30),
            "duration_minutes": 60,
            "therapist": therapist,
        },
    )
    before = dict(Session.objects.filter(program=program).values_list("pk", "starts_at"))
    response = admin.patch(
        f"/api/v1/program/programs/{program.pk}/", {"time_zone": "America/Chicago"}, format="json"
    )
    assert_problem(response, 400)
    assert response.json()["errors"][0]["field"] == "time_zone"
    assert dict(Session.objects.filter(program=program).values_list("pk", "starts_at")) == before
    assert Program.objects.get(pk=program.pk).time_zone == "America/New_York"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"planned_weeks": 0}, "planned_weeks"),
        ({"planned_weeks": "12"}, "planned_weeks"),
        ({"level_of_care": "inpatient"}, "level_of_care"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"name": ""}, "name"),
        ({"ends_on": "2027-06-30"}, "ends_on"),
    ],
)
def test_a_bad_change_to_a_program_is_a_400_naming_the_field(admin, program, change, field):
    response = admin.patch(f"/api/v1/program/programs/{program.pk}/", change, format="json")
    assert_problem(response, 400)
    assert field in {error["field"] for error in response.json()["errors"]}
    fresh = Program.objects.get(pk=program.pk)
    assert (fresh.name, fresh.planned_weeks, fresh.time_zone) == (
        "Evening IOP",
        12,
        "America/New_York",
    )


# --- the staff -----------------------------------------------------------------------------


def test_clinic_staff_add_and_remove_therapists_who_then_see_the_program_or_not(admin, program):
    colleague = TherapistFactory()
    response = admin.post(
        f"/api/v1/program/programs/{program.pk}/staff/",
        {"therapists": [str(colleague.pk)]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert str(colleague.pk) in response.json()["therapists"]
    assert client_for(colleague).get(f"/api/v1/program/programs/{program.pk}/").status_code == 200
    response = admin.delete(f"/api/v1/program/programs/{program.pk}/staff/{colleague.pk}/")
    assert response.status_code == 200, response.content
    assert str(colleague.pk) not in response.json()["therapists"]
    assert_problem(client_for(colleague).get(f"/api/v1/program/programs/{program.pk}/"), 404)
    assert_problem(
        admin.delete(f"/api/v1/program/programs/{program.pk}/staff/{colleague.pk}/"), 404
    )


def test_adding_someone_who_is_not_an_active_therapist_is_a_400_and_adds_no_one(admin, program):
    colleague, patient = TherapistFactory(), PatientFactory()
    response = admin.post(
        f"/api/v1/program/programs/{program.pk}/staff/",
        {"therapists": [str(colleague.pk), str(patient.pk)]},
        format="json",
    )
    assert_problem(response, 400)
    assert response.json()["errors"][0]["field"] == "therapists"
    assert program.staff.count() == 1


def test_a_therapist_who_runs_a_line_or_is_a_primary_therapist_stays_on_the_staff(
    admin, program, slot, marked, therapist
):
    response = admin.delete(f"/api/v1/program/programs/{program.pk}/staff/{therapist.pk}/")
    assert_problem(response, 400)
    assert response.json()["errors"][0]["field"] == "therapist"
    assert "Relapse prevention group" in response.json()["errors"][0]["message"]
    colleague = TherapistFactory()
    services.program_staff_add(program=program, therapist_ids=[colleague.pk])
    services.slot_update(program=program, slot=slot, data={"therapist": colleague})
    # The line's sessions to come went with it, the excused one too; a one-off stays theirs.
    assert not Session.objects.filter(
        therapist=therapist, local_date__gte=date(2027, 3, 21), status="scheduled"
    ).exists()
    extra = services.session_add(
        program=program,
        data={
            "kind": "education",
            "title": "Open house",
            "local_date": date(2027, 4, 7),
            "start_time": time(10, 0),
            "duration_minutes": 60,
            "therapist": therapist,
        },
    )
    response = admin.delete(f"/api/v1/program/programs/{program.pk}/staff/{therapist.pk}/")
    assert_problem(response, 400)
    assert "2027-04-07" in response.json()["errors"][0]["message"]
    assert admin.post(f"/api/v1/program/sessions/{extra.pk}/cancel/").status_code == 200
    response = admin.delete(f"/api/v1/program/programs/{program.pk}/staff/{therapist.pk}/")
    assert_problem(response, 400)
    assert "primary therapist" in response.json()["errors"][0]["message"]
    assert program.staff.filter(therapist=therapist).exists()


def test_an_invitation_to_a_family_session_follows_it_to_its_new_time(
    admin, program, therapist, marked
):
    enrolment, _, _, _ = marked
    family_line = services.slot_add(
        program=program,
        data={
            "kind": "family",
            "title": "Family session",
            "weekday": 3,
            "start_time": time(17, 0),
            "duration_minutes": 60,
            "therapist": therapist,
            "patient": enrolment.patient,
        },
    )
    member = FamilyFactory()
    FamilyLinkFactory(patient=enrolment.patient, member=member)
    grant_for(enrolment.patient, member, ["program"])
    session = Session.objects.get(slot=family_line, local_date=date(2027, 4, 1))
    invite, _ = services.session_invite(session=session, member=member, by=therapist)
    response = _patch_slot(admin, program, family_line, {"start_time": "18:30"})
    assert response.status_code == 200, response.content
    invite.refresh_from_db()
    assert invite.session_id == session.pk
    seen = client_for(member).get("/api/v1/program/invitations/").json()["results"]
    assert [row["starts_at"] for row in seen] == ["2027-04-01T22:30:00+00:00"]


def test_changing_a_line_that_ends_later_leaves_its_cancelled_sessions_after_the_end(
    admin, program, slot
):
    response = admin.post(
        f"/api/v1/program/programs/{program.pk}/slots/{slot.pk}/end/",
        {"last_day": "2027-04-30"},
        format="json",
    )
    assert response.json()["cancelled"] == 3  # 3, 10 and 17 May
    response = _patch_slot(admin, program, slot, {"start_time": "17:30"})
    assert response.json()["sessions"] == {
        "updated": 6,
        "made": 0,
        "removed": 0,
        "kept": 0,
        "cancelled": 0,
    }
    after = Session.objects.filter(slot=slot, local_date__gt=date(2027, 4, 30))
    assert [(s.status, s.starts_at.hour) for s in after.order_by("local_date")] == [
        ("cancelled", 22)
    ] * 3
