"""Progress in a program counts homework done of assigned, through the access gate.

The program cannot read homework (a record app beside it): backend.sharing counts it and
hands the count to the enrolment's progress.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.disclosure.models import DisclosureLog
from backend.homework import services as homework_services
from backend.program import selectors, services
from tests.factories import (
    CareLinkFactory,
    FamilyFactory,
    FamilyLinkFactory,
    HomeworkFactory,
    PatientFactory,
    TherapistFactory,
    grant_for,
    program_make,
)
from tests.helpers import assert_flat_queries, client_for, full_page

pytestmark = pytest.mark.django_db

START = date(2027, 3, 1)  # a Monday
NOW = datetime(2027, 3, 10, 17, 0, tzinfo=UTC)  # week 2
HALT_ANSWERS = {"halt": ["Tired"], "strongest": 6, "what_i_did": "Slept early", "craving": False}


@pytest.fixture
def enrolled():
    """A patient in week 2 of a 12-week program (to 2027-05-23), with homework due before,
    within and after the enrolment: two done (one submitted, one reviewed), one open, one
    returned for revision, and one assigned by another therapist on the care team."""
    with time_machine.travel(datetime(2027, 2, 20, 12, tzinfo=UTC), tick=False):
        therapist, colleague = TherapistFactory(), TherapistFactory()
        program = program_make(therapists=[therapist], starts_on=START, ends_on=date(2027, 5, 23))
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
        patient = PatientFactory(time_zone="America/New_York")
        CareLinkFactory(patient=patient, therapist=therapist)
        CareLinkFactory(patient=patient, therapist=colleague)
        enrolment = services.enrol(
            by=therapist,
            patient=patient,
            program=program,
            primary_therapist=therapist,
            starts_on=START,
        )

        def homework(due, by=therapist):
            return HomeworkFactory(patient=patient, therapist=by, due_date=due)

        homework(date(2027, 2, 25))  # before the enrolment: not counted
        submitted = homework(START)
        reviewed = homework(date(2027, 3, 8))
        returned = homework(date(2027, 3, 15))
        homework(date(2027, 5, 23))  # open, due on the last day
        homework(date(2027, 5, 24))  # after the planned end: not counted
        homework(date(2027, 3, 20), by=colleague)  # open, the colleague's
    with time_machine.travel(NOW, tick=False):
        for done in (submitted, reviewed, returned):
            homework_services.homework_submit(homework=done, answers=HALT_ANSWERS)
        homework_services.homework_review(
            homework=reviewed, reviewer=therapist, decision="reviewed"
        )
        homework_services.homework_review(
            homework=returned, reviewer=therapist, decision="returned"
        )
    return enrolment, therapist, colleague


def _progress(user, enrolment):
    with time_machine.travel(NOW, tick=False):
        response = client_for(user).get(f"/api/v1/program/enrolments/{enrolment.pk}/")
    assert response.status_code == 200, response.content
    return response.json()["progress"]


def test_the_patient_sees_homework_done_of_assigned_within_the_enrolment_dates(enrolled):
    enrolment, _, _ = enrolled
    progress = _progress(enrolment.patient, enrolment)
    assert progress["homework"] == {"done": 2, "assigned": 5, "counted": "all"}
    assert (progress["week"], progress["weeks"]) == (2, 12)
    assert (progress["scheduled"], progress["attended"]) == (2, 0)


def test_a_program_therapist_counts_the_homework_they_assigned_and_the_read_is_logged(enrolled):
    enrolment, therapist, _ = enrolled
    assert _progress(therapist, enrolment)["homework"] == {
        "done": 2,
        "assigned": 4,
        "counted": "assigned_by_you",
    }
    log = DisclosureLog.objects.get(viewer=therapist, kind="homework_progress")
    assert (log.patient_id, log.record_count, log.grant_id) == (enrolment.patient_id, 4, None)


def test_the_homework_scope_counts_all_the_patients_homework_under_its_grant(enrolled):
    enrolment, therapist, _ = enrolled
    with time_machine.travel(NOW, tick=False):  # signed before the read, on any real day
        grant = grant_for(enrolment.patient, therapist, ["homework"])
    assert _progress(therapist, enrolment)["homework"] == {
        "done": 2,
        "assigned": 5,
        "counted": "all",
    }
    logs = DisclosureLog.objects.filter(viewer=therapist, kind="homework_progress")
    assert [(row.grant_id, row.record_count) for row in logs] == [(grant.pk, 5)]


def test_family_with_the_program_scope_alone_see_no_homework_count(enrolled):
    enrolment, _, _ = enrolled
    member = FamilyFactory()
    FamilyLinkFactory(patient=enrolment.patient, member=member)
    with time_machine.travel(NOW, tick=False):
        grant_for(enrolment.patient, member, ["program"])
    assert _progress(member, enrolment)["homework"] is None
    assert not DisclosureLog.objects.filter(viewer=member, kind="homework_progress").exists()


def test_homework_of_an_ended_enrolment_is_counted_to_its_end(enrolled):
    enrolment, therapist, _ = enrolled
    with time_machine.travel(NOW, tick=False):
        services.enrolment_status_set(
            enrolment=enrolment, by=therapist, status="discharged", reason="Moved away"
        )
    # Ended on 2027-03-10: the homework due on the 15th and later falls outside.
    assert _progress(enrolment.patient, enrolment)["homework"] == {
        "done": 2,
        "assigned": 2,
        "counted": "all",
    }


def test_the_progress_answer_costs_the_same_queries_whatever_the_homework(
    enrolled, django_assert_num_queries
):
    enrolment, therapist, _ = enrolled
    url = f"/api/v1/program/enrolments/{enrolment.pk}/"
    with time_machine.travel(NOW, tick=False):
        client = client_for(therapist)
        client.get(url)  # warm the token's user
        with CaptureQueriesContext(connection) as before:
            client.get(url)
        for offset in range(5):
            HomeworkFactory(
                patient=enrolment.patient,
                therapist=therapist,
                due_date=date(2027, 4, 1) + timedelta(days=offset),
            )
        with django_assert_num_queries(len(before.captured_queries)):
            response = client.get(url)
        assert response.status_code == 200, response.content
        assert response.json()["progress"]["homework"]["assigned"] == 9


def test_the_caseload_counts_the_sessions_held_as_the_enrolment_does(enrolled):
    """progress_for (many patients at once) and enrolment_progress (one) agree, one-patient
    sessions and later starts included."""
    enrolment, therapist, _ = enrolled
    with time_machine.travel(datetime(2027, 2, 20, 12, tzinfo=UTC), tick=False):
        services.slot_add(
            program=enrolment.program,
            data={
                "kind": "individual",
                "title": "Individual",
                "weekday": 2,
                "start_time": time(9, 0),
                "duration_minutes": 50,
                "therapist": therapist,
                "patient": enrolment.patient,
            },
        )
        later = PatientFactory()
        CareLinkFactory(patient=later, therapist=therapist)
        second = services.enrol(
            by=therapist,
            patient=later,
            program=enrolment.program,
            primary_therapist=therapist,
            starts_on=date(2027, 3, 3),
        )
    now = datetime(2027, 3, 17, 16, 0, tzinfo=UTC)
    many = selectors.progress_for(therapist, [enrolment.patient_id, later.pk], now=now)
    for one in (enrolment, second):
        one.refresh_from_db()
        assert many[one.patient_id] == selectors.enrolment_progress(one, now=now)
    # Mondays 1, 8, 15 March and Wednesdays 3, 10 March (the 17th's at 13:00 UTC is held too).
    assert many[enrolment.patient_id].scheduled == 6
    assert many[later.pk].scheduled == 2  # Mondays 8 and 15 March


def test_the_caseload_with_the_program_section_runs_two_queries_more_whatever_its_size(enrolled):
    """Caseload summaries of 1 and of 30 patients in the program, under checkins and the
    program scope: the same queries, two more than under checkins alone (the enrolments
    and the sessions held), and one statement logs every patient's sections."""
    enrolment, therapist, _ = enrolled
    url = "/api/v1/care/caseload/summaries/"
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        patients = [enrolment.patient]
        for _ in range(29):
            patient = PatientFactory()
            CareLinkFactory(patient=patient, therapist=therapist)
            services.enrol(
                by=therapist, patient=patient, program=enrolment.program,
                primary_therapist=therapist, starts_on=START,
            )  # fmt: skip
            patients.append(patient)
        only_checkins, both = TherapistFactory(), TherapistFactory()
        for patient in patients:
            for reader, scopes in ((only_checkins, ["checkins"]), (both, ["checkins", "program"])):
                CareLinkFactory(patient=patient, therapist=reader)
                grant_for(patient, reader, scopes)
    with time_machine.travel(NOW, tick=False):
        alone = client_for(only_checkins)
        plain = assert_flat_queries(lambda size: full_page(alone, url, size), (1, 30))
        client = client_for(both)
        with_program = assert_flat_queries(lambda size: full_page(client, url, size), (1, 30))
        assert with_program == plain + 2
        with CaptureQueriesContext(connection) as page:
            rows = full_page(client, url, 30)
    assert all(row["program"]["weeks"] == 12 for row in rows)
    logged = [q for q in page.captured_queries if "consent_disclosurelog" in q["sql"]]
    assert len(logged) == 1
    # A row per patient and page: the pages of 1 and 30 counted, then this one.
    assert DisclosureLog.objects.filter(viewer=both, kind="program_progress").count() == 1 + 30 + 30
