"""The therapist's console pages: only what consents cover, logged as the API logs it."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.consent import services as consent_services
from backend.consent.scopes import Scope
from backend.disclosure.models import DisclosureLog
from backend.homework import services as homework_services
from backend.homework.models import Homework
from backend.journal.models import FeedItem
from backend.sharing.models import FeedReview
from tests.console.conftest import signed_in
from tests.factories import (
    CareLinkFactory,
    CheckInFactory,
    EntryFactory,
    HomeworkFactory,
    PatientFactory,
    TherapistFactory,
    grant_for,
)
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    """Frozen before the people and grants are made: ask for it first."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def entry(patient, days_ago: int, **fields):
    at = (NOW - timedelta(days=days_ago)).isoformat()
    return EntryFactory(patient=patient, occurred_at=at, **fields)


def test_the_patient_page_shows_only_the_sections_the_consents_cover_and_logs_them(clock, patient):
    therapist = TherapistFactory()
    CareLinkFactory(patient=patient, therapist=therapist)
    insights = grant_for(patient, therapist, [Scope.INSIGHTS])
    grant_for(patient, therapist, [Scope.COUNTERS])
    entry(patient, 1, intensity=7, outcome="lapsed")
    client = signed_in(therapist)

    page = client.get(f"/console/patients/{patient.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Cravings, last 30 days" in html
    assert "Sobriety counters" in html
    assert "Check-ins and mood" not in html  # no checkins scope
    assert 'id="homework-h"' not in html
    assert "42 CFR part 2 prohibits unauthorized use or disclosure" in html
    assert "no-store" in page["Cache-Control"]
    logged = set(DisclosureLog.objects.filter(viewer=therapist).values_list("kind", flat=True))
    assert {"insights", "craving_flags", "skill_effectiveness"} <= logged

    consent_services.grant_revoke(grant=insights, by=patient)
    after = client.get(f"/console/patients/{patient.pk}/").content.decode()
    assert "Cravings, last 30 days" not in after
    assert "Sobriety counters" in after


def test_a_linked_therapist_without_consent_gets_the_not_found_page(
    clock, patient, linked_therapist
):
    page = signed_in(linked_therapist).get(f"/console/patients/{patient.pk}/")
    assert page.status_code == 404
    assert patient.display_name not in page.content.decode()
    assert not DisclosureLog.objects.filter(viewer=linked_therapist).exists()


def test_the_caseload_puts_who_needs_attention_first_with_a_sparkline(
    clock, patient, granted_therapist
):
    calm = PatientFactory(display_name="Aaron")
    CareLinkFactory(patient=calm, therapist=granted_therapist)
    grant_for(calm, granted_therapist, [Scope.CHECKINS])
    CheckInFactory(patient=calm, local_date=str(NOW.date()), mood=1)
    entry(patient, 2, intensity=9, outcome="lapsed")
    entry(patient, 3, intensity=4)

    html = signed_in(granted_therapist).get("/console/caseload/").content.decode()
    assert html.index(str(patient.pk)) < html.index(str(calm.pk))  # Sam before Aaron
    assert "Lapse in the last 7 days" in html
    assert "<polyline" in html
    assert 'aria-label="Mean craving over 14 days' in html


def _caseload_of(therapist, size: int) -> None:
    for number in range(size):
        patient = PatientFactory(display_name=f"Patient {number}")
        CareLinkFactory(patient=patient, therapist=therapist)
        grant_for(patient, therapist, Scope.values)
        entry(patient, 1, intensity=6)
        CheckInFactory(patient=patient, local_date=str(NOW.date()), mood=0)


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_the_caseload_and_feed_pages_read_a_fixed_number_of_queries(clock):
    therapist = TherapistFactory()
    client = signed_in(therapist)
    _caseload_of(therapist, 2)
    small = (_queries(client, "/console/caseload/"), _queries(client, "/console/feed/?state=all"))
    _caseload_of(therapist, 8)
    large = (_queries(client, "/console/caseload/"), _queries(client, "/console/feed/?state=all"))
    assert large == small


def test_reviewing_a_shared_entry_sends_the_comment_to_the_patient(
    clock, patient, granted_therapist
):
    shared = entry(patient, 1, intensity=6, shared=True)
    item = FeedItem.objects.get(entry=shared)
    client = signed_in(granted_therapist)
    assert str(item.pk) in client.get("/console/feed/").content.decode()
    response = client.post(f"/console/feed/{item.pk}/review/", {"comment": "Well noticed."})
    assert response.status_code == 302
    assert FeedReview.objects.get(item=item).comment == "Well noticed."
    feedback = client_for(patient).get("/api/v1/me/feedback/").json()["results"]
    assert [f["comment"] for f in feedback] == ["Well noticed."]
    too_long = client.post(f"/console/feed/{item.pk}/review/", {"comment": "x" * 1001})
    assert too_long.status_code == 302
    assert FeedReview.objects.filter(item=item).count() == 1


def test_assigning_homework_refuses_a_past_due_date_and_keeps_nothing(
    clock, patient, granted_therapist
):
    client = signed_in(granted_therapist)
    bad = client.post(
        "/console/homework/",
        {"patient": str(patient.pk), "template": "halt-log", "due_date": "2026-11-01"},
    )
    assert bad.status_code == 400
    assert not Homework.objects.filter(patient=patient).exists()
    missing = client.post("/console/homework/", {"patient": str(patient.pk)})
    assert missing.status_code == 400
    assert b"This field is required." in missing.content
    good = client.post(
        "/console/homework/",
        {"patient": str(patient.pk), "template": "halt-log", "due_date": "2026-12-14"},
    )
    assert good.status_code == 302
    assert Homework.objects.filter(patient=patient, assigned_by=granted_therapist).count() == 1


def test_an_empty_plan_suggestion_is_refused_on_its_field(clock, patient, granted_therapist):
    client = signed_in(granted_therapist)
    client_for(patient).post("/api/v1/coping/plans/", {"reasons": ["My kids"]}, format="json")
    response = client.post(
        f"/console/patients/{patient.pk}/plan/suggest/", {"section": "reasons", "lines": ""}
    )
    assert response.status_code in (400, 404)


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999999999999999999", "2.5"])
def test_odd_page_numbers_give_the_nearest_page(clock, granted_therapist, page):
    client = signed_in(granted_therapist)
    for path in ("/console/caseload/", "/console/feed/", "/console/homework/"):
        assert client.get(path, {"page": page}).status_code == 200
    assert client.get("/console/feed/", {"patient": "not-a-uuid", "state": "??"}).status_code == 200
    assert (
        client.get(f"/console/patients/{granted_therapist.pk}/", {"days": "9999"}).status_code
        == 404
    )


def test_returning_homework_without_feedback_is_refused_with_the_reason(
    clock, patient, linked_therapist
):
    homework = HomeworkFactory(patient=patient, therapist=linked_therapist)
    homework_services.homework_submit(
        homework=homework,
        answers={"halt": ["Tired"], "strongest": 6, "what_i_did": "Slept", "craving": False},
    )
    client = signed_in(linked_therapist)
    response = client.post(
        f"/console/homework/{homework.pk}/review/", {"decision": "returned"}, follow=True
    )
    assert b"Say what to revise when you return homework." in response.content
    homework.refresh_from_db()
    assert homework.state == Homework.State.SUBMITTED
    done = client.post(
        f"/console/homework/{homework.pk}/review/",
        {"decision": "returned", "feedback": "Add what you did after."},
    )
    assert done.status_code == 302
    homework.refresh_from_db()
    assert homework.state == Homework.State.RETURNED
