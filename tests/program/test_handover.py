"""Handing an enrolment to another primary therapist: who may, what it does to the care
team and the consents, and bad input (400 naming the field, nothing changed)."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from backend.care.models import CareLink
from backend.consent.models import ConsentGrant
from backend.program import services
from backend.program.models import Enrolment, EnrolmentChange
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

START = date(2027, 3, 1)
NOW = datetime(2027, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def therapist(db):
    return TherapistFactory()


@pytest.fixture
def colleague(db):
    return TherapistFactory()


@pytest.fixture
def program(therapist, colleague):
    return program_make(therapists=[therapist, colleague], starts_on=START)


@pytest.fixture
def intake(clinic_admin, program, therapist):
    """A patient enrolled by clinic staff: the enrolment put the therapist on the care team,
    and the patient then consented to share check-ins with them."""
    patient = PatientFactory()
    enrolment = services.enrol(
        by=clinic_admin, patient=patient, program=program, primary_therapist=therapist,
        starts_on=START,
    )  # fmt: skip
    grant_for(patient, therapist, ["checkins", "program"])
    return enrolment


def _hand_over(user, enrolment, body):
    return client_for(user).post(
        f"/api/v1/program/enrolments/{enrolment.pk}/primary-therapist/", body, format="json"
    )


def _open_link(patient, therapist):
    return CareLink.objects.filter(patient=patient, therapist=therapist, ended_at__isnull=True)


def test_clinic_staff_hand_an_enrolment_to_a_colleague_who_joins_the_care_team(
    clinic_admin, intake, therapist, colleague
):
    patient = intake.patient
    member = FamilyFactory()
    FamilyLinkFactory(patient=patient, member=member)
    family_grant = grant_for(patient, member, ["checkins"])
    response = _hand_over(
        clinic_admin,
        intake,
        {"primary_therapist": str(colleague.pk), "reason": "Dr. Lee leaves the evening group"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["primary_therapist"]["id"] == str(colleague.pk)
    change = body["history"][-1]
    assert (change["what"], change["from_value"], change["to_value"], change["reason"]) == (
        "therapist",
        str(therapist.pk),
        str(colleague.pk),
        "Dr. Lee leaves the evening group",
    )
    assert change["by"] == str(clinic_admin.pk)
    assert _open_link(patient, colleague).get().source == CareLink.Source.PROGRAM
    # The former one was on the team for this enrolment only: they leave it, as a therapist
    # leaving does, and the consents given to them end; nobody else's.
    ended = CareLink.objects.get(patient=patient, therapist=therapist)
    assert (ended.ended_at, ended.ended_by) == (NOW, clinic_admin)
    assert not ConsentGrant.objects.filter(recipient=therapist, revoked_at__isnull=True).exists()
    family_grant.refresh_from_db()
    assert family_grant.revoked_at is None
    # Still on the program's staff, they read the enrolment, not the patient's check-ins.
    assert client_for(therapist).get(f"/api/v1/program/enrolments/{intake.pk}/").status_code == 200
    summary = client_for(therapist).get(f"/api/v1/care/patients/{patient.pk}/summary/")
    assert_problem(summary, 404)


def test_a_therapist_of_the_program_hands_over_and_keeps_a_link_the_patient_made(
    program, therapist, colleague
):
    patient = PatientFactory()
    CareLinkFactory(patient=patient, therapist=therapist, source=CareLink.Source.INVITE)
    enrolment = services.enrol(
        by=therapist, patient=patient, program=program, primary_therapist=therapist,
        starts_on=START,
    )  # fmt: skip
    grant = grant_for(patient, therapist, ["checkins"])
    response = _hand_over(
        therapist, enrolment, {"primary_therapist": str(colleague.pk), "reason": "Caseload"}
    )
    assert response.status_code == 200, response.content
    assert Enrolment.objects.get(pk=enrolment.pk).primary_therapist == colleague
    # On the team before the program, by the patient's own invite: nothing of it ends.
    assert _open_link(patient, therapist).exists()
    grant.refresh_from_db()
    assert grant.revoked_at is None
    assert _open_link(patient, colleague).exists()


def test_a_former_primary_therapist_who_still_runs_the_patients_individual_session_stays(
    clinic_admin, intake, program, therapist, colleague
):
    services.slot_add(
        program=program,
        data={
            "kind": "individual", "title": "Individual", "weekday": 3,
            "start_time": time(16, 0), "duration_minutes": 50, "therapist": therapist,
            "patient": intake.patient,
        },
    )  # fmt: skip
    response = _hand_over(
        clinic_admin, intake, {"primary_therapist": str(colleague.pk), "reason": "Caseload"}
    )
    assert response.status_code == 200, response.content
    assert _open_link(intake.patient, therapist).exists()
    assert ConsentGrant.objects.filter(recipient=therapist, revoked_at__isnull=True).exists()


def test_a_colleague_already_on_the_care_team_keeps_their_own_link(clinic_admin, intake, colleague):
    mine = CareLinkFactory(
        patient=intake.patient, therapist=colleague, source=CareLink.Source.INVITE
    )
    response = _hand_over(
        clinic_admin, intake, {"primary_therapist": str(colleague.pk), "reason": "Caseload"}
    )
    assert response.status_code == 200, response.content
    assert list(_open_link(intake.patient, colleague)) == [mine]
    assert _open_link(intake.patient, colleague).get().source == CareLink.Source.INVITE


def test_a_closed_patient_account_is_handed_over_without_a_second_link(
    program, therapist, colleague
):
    patient = PatientFactory()
    CareLinkFactory(patient=patient, therapist=therapist)
    CareLinkFactory(patient=patient, therapist=colleague)
    enrolment = services.enrol(
        by=therapist, patient=patient, program=program, primary_therapist=therapist,
        starts_on=START,
    )  # fmt: skip
    patient.is_active = False
    patient.save(update_fields=["is_active"])
    response = _hand_over(
        therapist, enrolment, {"primary_therapist": str(colleague.pk), "reason": "Caseload"}
    )
    assert response.status_code == 200, response.content
    assert _open_link(patient, colleague).count() == 1


def _outsider(program):
    return TherapistFactory()


def _inactive(program):
    therapist = TherapistFactory()
    services.program_staff_add(program=program, therapist_ids=[therapist.pk])
    therapist.is_active = False
    therapist.save(update_fields=["is_active"])
    return therapist


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (lambda w: {"primary_therapist": str(_outsider(w["program"]).pk), "reason": "x"},
         "primary_therapist"),
        (lambda w: {"primary_therapist": str(_inactive(w["program"]).pk), "reason": "x"},
         "primary_therapist"),
        (lambda w: {"primary_therapist": str(w["therapist"].pk), "reason": "x"},
         "primary_therapist"),
        (lambda w: {"primary_therapist": str(w["patient"].pk), "reason": "x"},
         "primary_therapist"),
        (lambda w: {"primary_therapist": "not-an-id", "reason": "x"}, "primary_therapist"),
        (lambda w: {"primary_therapist": str(w["colleague"].pk)}, "reason"),
        (lambda w: {"primary_therapist": str(w["colleague"].pk), "reason": ""}, "reason"),
        (lambda w: {"reason": "x"}, "primary_therapist"),
    ],
    ids=["not-on-staff", "inactive", "the-same", "a-patient", "not-an-id", "no-reason",
         "blank-reason", "no-therapist"],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    clinic_admin, intake, program, therapist, colleague, body, field
):
    sent = body(
        {"program": program, "therapist": therapist, "colleague": colleague,
         "patient": intake.patient}
    )  # fmt: skip
    links = set(CareLink.objects.values_list("pk", "ended_at"))
    response = _hand_over(clinic_admin, intake, sent)
    assert_problem(response, 400)
    assert field in {error["field"] for error in response.json()["errors"]}
    assert Enrolment.objects.get(pk=intake.pk).primary_therapist == therapist
    assert not EnrolmentChange.objects.filter(enrolment=intake, what="therapist").exists()
    assert set(CareLink.objects.values_list("pk", "ended_at")) == links


def test_an_enrolment_no_longer_active_is_a_400(clinic_admin, intake, therapist, colleague):
    services.enrolment_status_set(
        enrolment=intake, by=therapist, status="completed", reason="Goals met"
    )
    response = _hand_over(
        clinic_admin, intake, {"primary_therapist": str(colleague.pk), "reason": "Caseload"}
    )
    assert_problem(response, 400)
    assert response.json()["errors"][0]["field"] == "primary_therapist"
    assert "completed" in response.json()["errors"][0]["message"]
    assert Enrolment.objects.get(pk=intake.pk).primary_therapist == therapist


def test_who_may_not_hand_over(intake, program, therapist, colleague):
    patient = intake.patient
    body = {"primary_therapist": str(colleague.pk), "reason": "Caseload"}
    # The patient and their family: a role that never does this.
    member = FamilyFactory()
    FamilyLinkFactory(patient=patient, member=member)
    grant_for(patient, member, ["program"])
    assert_problem(_hand_over(patient, intake, body), 403)
    assert_problem(_hand_over(member, intake, body), 403)
    # A therapist who may not see the enrolment: 404.
    assert_problem(_hand_over(TherapistFactory(), intake, body), 404)
    # One who sees it under the program scope, outside its staff: 403.
    granted = TherapistFactory()
    CareLinkFactory(patient=patient, therapist=granted)
    grant_for(patient, granted, ["program"])
    assert_problem(_hand_over(granted, intake, body), 403)
    assert Enrolment.objects.get(pk=intake.pk).primary_therapist == therapist


def _after_a_former_program(clinic_admin, therapist, colleague):
    """A patient who completed a program with ``former``, now in the therapist's and
    colleague's; the patient shows ``former`` this program under a consent."""
    former = TherapistFactory()
    patient = PatientFactory()
    CareLinkFactory(patient=patient, therapist=former)
    earlier = program_make(therapists=[former], starts_on=START, name="Day IOP")
    first = services.enrol(
        by=former, patient=patient, program=earlier, primary_therapist=former, starts_on=START
    )
    services.enrolment_status_set(enrolment=first, by=former, status="completed", reason="Done")
    later = program_make(
        therapists=[therapist, colleague], starts_on=START + timedelta(days=7), name="Evening"
    )
    now = services.enrol(
        by=clinic_admin, patient=patient, program=later, primary_therapist=therapist,
        starts_on=START + timedelta(days=7),
    )  # fmt: skip
    grant_for(patient, former, ["program"])
    return former, now


def test_a_therapist_of_a_former_program_of_the_patient_does_not_hand_over_this_one(
    clinic_admin, therapist, colleague
):
    """The staff of a program the patient was in before treat them there, not here."""
    former, now = _after_a_former_program(clinic_admin, therapist, colleague)
    response = _hand_over(
        former, now, {"primary_therapist": str(colleague.pk), "reason": "Caseload"}
    )
    assert_problem(response, 403)
    assert (
        _hand_over(
            therapist, now, {"primary_therapist": str(colleague.pk), "reason": "Caseload"}
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("status/", "post", {"status": "discharged", "reason": "Moved away"}),
        ("planned-end/", "post", {"planned_end": "2027-06-30", "reason": "Setback"}),
        ("aftercare/", "put", {"level_of_care": "outpatient"}),
    ],
)
def test_a_therapist_of_a_former_program_changes_nothing_of_this_enrolment(
    clinic_admin, therapist, colleague, path, method, body
):
    """Its status, planned end and aftercare plan are this program's therapists' to change,
    though a consent shows the enrolment to the staff of the patient's earlier program."""
    former, now = _after_a_former_program(clinic_admin, therapist, colleague)
    url = f"/api/v1/program/enrolments/{now.pk}/{path}"
    before = Enrolment.objects.filter(pk=now.pk).values().get()

    assert client_for(former).get(f"/api/v1/program/enrolments/{now.pk}/").status_code == 200
    assert_problem(getattr(client_for(former), method)(url, body, format="json"), 403)
    assert Enrolment.objects.filter(pk=now.pk).values().get() == before
    assert not EnrolmentChange.objects.filter(enrolment=now).exclude(by=clinic_admin).exists()
    assert getattr(client_for(colleague), method)(url, body, format="json").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_links_enrolments_made_before_are_marked_as_the_programs():
    """program 0003: the link ``enrol`` made with an enrolment becomes a "program" link (it
    follows a handover); a link that was there before, or made later, stays as it was."""
    before = [("program", "0002_alter_enrolmentchange_from_value_and_more")]
    after = [("program", "0003_enrolment_links_of_the_program")]
    executor = MigrationExecutor(connection)
    try:
        others = [n for n in executor.loader.graph.leaf_nodes() if n[0] != "program"]
        executor.migrate(before)
        old = executor.loader.project_state(before + others).apps
        User = old.get_model("accounts", "User")
        Link = old.get_model("care", "CareLink")
        Program = old.get_model("program", "Program")
        OldEnrolment = old.get_model("program", "Enrolment")
        program = Program.objects.create(
            name="IOP", time_zone="UTC", starts_on=START, planned_weeks=12
        )
        made, earlier, other = [], [], []
        for n, (at, link_at) in enumerate(
            [(NOW, NOW + timedelta(seconds=1)), (NOW, NOW - timedelta(days=3))]
        ):
            patient = User.objects.create(email=f"p{n}@example.test", role="patient")
            therapist = User.objects.create(email=f"t{n}@example.test", role="therapist")
            with time_machine.travel(at, tick=False):
                OldEnrolment.objects.create(
                    patient=patient, program=program, primary_therapist=therapist,
                    starts_on=START, planned_end=START + timedelta(weeks=12),
                )  # fmt: skip
            with time_machine.travel(link_at, tick=False):
                link = Link.objects.create(patient=patient, therapist=therapist, source="admin")
            (made if n == 0 else earlier).append(link.pk)
            with time_machine.travel(NOW + timedelta(days=1), tick=False):
                someone = User.objects.create(email=f"s{n}@example.test", role="therapist")
                other.append(
                    Link.objects.create(patient=patient, therapist=someone, source="admin").pk
                )
        executor.loader.build_graph()
        executor.migrate(after)
        new = executor.loader.project_state(after + others).apps
        sources = dict(new.get_model("care", "CareLink").objects.values_list("pk", "source"))
        assert [sources[pk] for pk in made] == ["program"]
        assert [sources[pk] for pk in (*earlier, *other)] == ["admin"] * 3
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
