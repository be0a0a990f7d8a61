"""A family member's console pages: who shares with them, and exactly what each one granted."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from backend.consent import policy
from backend.consent import services as consent_services
from backend.consent.scopes import Scope
from backend.disclosure.models import DisclosureLog
from backend.disclosure.notice import REDISCLOSURE_NOTICE
from backend.journal.models import CheckIn
from backend.program import services as program_services
from tests.console.helpers import console_client, verified_device
from tests.factories import (
    AttendanceFactory,
    CheckInFactory,
    CounterFactory,
    EntryFactory,
    FamilyFactory,
    FamilyLinkFactory,
    PatientFactory,
    ResponseFactory,
    ScheduleFactory,
    TherapistFactory,
    grant_for,
    program_make,
)
from tests.helpers import assert_flat_queries

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # 10:00 in New York, the patients' zone
TODAY = date(2026, 11, 18)
SECTIONS = (
    "checkins",
    "counters",
    "craving-trend",
    "insights",
    "meetings",
    "measures",
    "program",
    "feed",
)
SITUATION = "Friends texted about going out."  # the factory's entry text
NOTE = "Rough evening, called my sponsor."


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def records(patient):
    """A week of the patient's records of every kind a family page can show."""
    for days_ago in range(3):
        CheckInFactory(patient=patient, local_date=str(TODAY - timedelta(days=days_ago)), note=NOTE)
    CounterFactory(patient=patient, substance="alcohol", start_date=TODAY - timedelta(days=45))
    for hours_ago in (2, 30, 50):
        EntryFactory(
            patient=patient,
            occurred_at=(NOW - timedelta(hours=hours_ago)).isoformat(),
            intensity=5,
            shared=True,
        )
    AttendanceFactory(patient=patient, attended_at=NOW - timedelta(days=1))
    return patient


def _page(user, patient):
    return console_client(user, verified=False).get(
        reverse("console:family-patient", args=[patient.pk])
    )


def _sections(response) -> set[str]:
    text = response.content.decode()
    return {name for name in SECTIONS if f'id="section-{name}"' in text}


# --- who may open the family pages ---------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(patient):
    for url in (
        reverse("console:family-home"),
        reverse("console:family-patient", args=[patient.pk]),
    ):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("console:sign-in"))


@pytest.mark.parametrize("persona", ["granted_therapist", "clinic_admin", "patient"])
def test_other_roles_get_the_403_page_even_with_a_grant(request, patient, persona):
    user = request.getfixturevalue(persona)
    client = console_client(user, verified=persona != "patient")

    for url in (
        reverse("console:family-home"),
        reverse("console:family-patient", args=[patient.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 403
        assert "no-store" in response["Cache-Control"]
    assert not DisclosureLog.objects.exists()


def test_a_family_member_who_set_up_a_second_factor_must_use_it(family_granted):
    client = console_client(family_granted, verified=False)
    verified_device(family_granted)  # set up after this session signed in

    response = client.get(reverse("console:family-home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:verify"))


# --- home --------------------------------------------------------------------------------------


def test_home_lists_the_people_who_share_with_me_and_what(family_granted, patient):
    response = console_client(family_granted, verified=False).get(reverse("console:family-home"))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [row] = response.context["rows"]
    assert row["patient"] == patient
    assert row["scopes"] == [
        Scope.CHECKINS.label,
        Scope.COUNTERS.label,
        Scope.CRISIS_ALERTS.label,
        Scope.INSIGHTS.label,
    ]
    text = response.content.decode()
    assert reverse("console:family-patient", args=[patient.pk]) in text
    assert REDISCLOSURE_NOTICE in text


def test_home_is_empty_once_the_grant_is_revoked(family_revoked):
    response = console_client(family_revoked, verified=False).get(reverse("console:family-home"))

    assert response.status_code == 200
    assert response.context["rows"] == []
    assert b"No one shares anything with you" in response.content


def test_home_costs_the_same_queries_for_1_and_10_people(db):
    member = FamilyFactory()
    client = console_client(member, verified=False)

    def prepare(size):
        while policy.patients_granting(member).count() < size:
            someone = PatientFactory()
            FamilyLinkFactory(patient=someone, member=member)
            grant_for(someone, member, [Scope.CHECKINS, Scope.MEETINGS])

    assert_flat_queries(
        lambda size: client.get(reverse("console:family-home")), prepare=prepare, at_most=11
    )


# --- one person's page ------------------------------------------------------------------------


def test_family_sees_exactly_the_granted_sections_with_the_notice(family_granted, records):
    response = _page(family_granted, records)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    # check-ins, counters, insights (which also give the two-week trend) and crisis alerts
    assert _sections(response) == {"checkins", "counters", "craving-trend", "insights", "feed"}
    text = response.content.decode()
    assert REDISCLOSURE_NOTICE in text
    summary = response.context["summary"]
    assert summary["checkins"]["current_streak"] == 3
    assert summary["counters"][0]["days_sober"] == 45
    assert summary["craving_trend"]["recent"]["entries"] == 3
    assert summary["insights"]["totals"]["entries"] == 3
    assert "3 days" in text
    assert ">45<" in text
    assert "<td>3 (100%)</td>" in text  # all three cravings resisted
    # Check-ins are dated on the patient's own calendar.
    for day in ("Wed 18 Nov", "Tue 17 Nov", "Mon 16 Nov"):
        assert f">{day}</time>" in text
    # The feed holds the check-ins only: no journal scope, so no entry and no note.
    assert [item.kind for item in response.context["feed"]] == ["checkin"] * 3
    assert SITUATION not in text
    assert NOTE not in text


def test_a_family_member_granted_meetings_only_sees_meetings_only(family, records):
    response = _page(family, records)

    assert response.status_code == 200
    assert _sections(response) == {"meetings"}
    assert response.context["summary"]["meetings"]["this_week"] == 1
    assert response.context["feed"] is None


def test_a_family_member_granted_every_summary_scope_sees_every_section(
    patient, records, linked_therapist
):
    ResponseFactory(schedule=ScheduleFactory(patient=patient, therapist=linked_therapist), value=1)
    program = program_make(therapists=[linked_therapist], starts_on=TODAY - timedelta(days=20))
    program_services.enrol(
        by=linked_therapist,
        patient=patient,
        program=program,
        primary_therapist=linked_therapist,
        starts_on=TODAY - timedelta(days=14),
    )
    member = FamilyFactory()
    FamilyLinkFactory(patient=patient, member=member)
    scopes = [Scope.CHECKINS, Scope.COUNTERS, Scope.INSIGHTS, Scope.MEETINGS]
    grant_for(patient, member, [*scopes, Scope.MEASURES, Scope.PROGRAM])

    response = _page(member, patient)

    assert response.status_code == 200
    assert _sections(response) == set(SECTIONS)
    text = response.content.decode()
    assert "PHQ-9" in text
    assert "Week 3 of" in text
    kinds = set(DisclosureLog.objects.filter(viewer=member).values_list("kind", flat=True))
    assert {"measure_results", "program_progress", "meeting_attendance"} <= kinds


def test_a_section_is_gone_on_the_next_load_after_the_patient_revokes_it(patient, records):
    member = FamilyFactory()
    FamilyLinkFactory(patient=patient, member=member)
    counters = grant_for(patient, member, [Scope.COUNTERS])
    grant_for(patient, member, [Scope.CHECKINS])
    assert _sections(_page(member, patient)) == {"checkins", "counters", "feed"}

    consent_services.grant_revoke(grant=counters, by=patient)

    after = _page(member, patient)
    assert after.status_code == 200
    assert _sections(after) == {"checkins", "feed"}
    assert "Days sober" not in after.content.decode()


def test_a_journal_grant_with_text_shows_shared_entries_and_notes(patient, records):
    member = FamilyFactory()
    FamilyLinkFactory(patient=patient, member=member)
    grant_for(patient, member, [Scope.JOURNAL_SHARED, Scope.CHECKINS])

    response = _page(member, patient)

    kinds = sorted(item.kind for item in response.context["feed"])
    assert kinds == ["checkin"] * 3 + ["entry"] * 3
    assert NOTE in response.content.decode()


@pytest.mark.parametrize("case", ["revoked", "other_patient", "unknown"])
def test_a_family_member_without_a_grant_gets_the_404_page(
    patient, other_patient, family_granted, family_revoked, case
):
    viewer, target_id = {
        "revoked": (family_revoked, patient.pk),
        "other_patient": (family_granted, other_patient.pk),
        "unknown": (family_granted, uuid.uuid4()),
    }[case]

    response = console_client(viewer, verified=False).get(
        reverse("console:family-patient", args=[target_id])
    )

    assert response.status_code == 404
    assert b"Not found" in response.content
    assert "no-store" in response["Cache-Control"]
    assert REDISCLOSURE_NOTICE not in response.content.decode()
    assert not DisclosureLog.objects.exists()


def test_every_record_shown_is_written_to_the_disclosure_log(family_granted, records):
    _page(family_granted, records)

    rows = DisclosureLog.objects.filter(viewer=family_granted, patient=records)
    by_kind = {row.kind: row for row in rows}
    assert set(by_kind) == {"checkin_streak", "counter", "craving_flags", "insights", "checkin"}
    assert by_kind["checkin"].record_count == 3
    assert by_kind["counter"].record_count == 1
    assert {row.purpose for row in rows} == {"family_support"}
    assert all(row.grant_id is not None for row in rows)
    assert all(
        row.endpoint.endswith(reverse("console:family-patient", args=[records.pk])) for row in rows
    )


def test_the_page_costs_the_same_queries_for_1_and_10_shared_check_ins(family_granted, patient):
    CounterFactory(patient=patient)
    client = console_client(family_granted, verified=False)
    url = reverse("console:family-patient", args=[patient.pk])

    def prepare(size):
        for days_ago in range(size):
            day = str(TODAY - timedelta(days=days_ago))
            if not CheckIn.objects.filter(patient=patient, local_date=day).exists():
                CheckInFactory(patient=patient, local_date=day)

    assert_flat_queries(lambda size: client.get(url), prepare=prepare, at_most=24)


def test_a_therapist_sees_nothing_through_the_family_pages(patient, records):
    therapist = TherapistFactory()
    response = console_client(therapist).get(reverse("console:family-patient", args=[patient.pk]))

    assert response.status_code == 403
    assert SITUATION not in response.content.decode()
