"""The share feed runs a fixed number of queries, whatever the page size and the caseload."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.core.time import local_today
from backend.journal import services as journal_services
from backend.journal.models import FeedItem
from backend.sharing.services import feed_item_review
from tests.factories import CareLinkFactory, FamilyFactory, FamilyLinkFactory, grant_for
from tests.helpers import client_for
from tests.journal.helpers import make_entry

pytestmark = pytest.mark.django_db

FEED = "/api/v1/care/feed/"
FAMILY_FEED = "/api/v1/family/feed/"
# Authentication, the grants in force, the page, the entries' triggers, the viewer's
# reviews, and the disclosure-log insert with its transaction (three statements).
FEED_QUERIES = 8


def _caseload(therapist, family, patients: int) -> None:
    """Patients sharing entries (all, or those marked), check-ins and crisis alerts."""
    earlier = timezone.now() - timedelta(hours=6)
    people = []
    for number in range(patients):
        patient = CareLinkFactory(therapist=therapist).patient
        FamilyLinkFactory(patient=patient, member=family)
        journal = "journal.all" if number % 2 else "journal.shared"
        grant_for(patient, therapist, [journal, "checkins", "crisis_alerts"])
        grant_for(patient, family, ["journal.shared", "checkins", "crisis_alerts"])
        people.append(patient)
    with time_machine.travel(earlier, tick=False):
        for patient in people:
            make_entry(patient, intensity=9, shared=True)  # raises a crisis alert
            journal_services.checkin_create(
                patient=patient,
                checkin_id=uuid.uuid4(),
                data={
                    "local_date": local_today(patient),  # on the patient's clock, not UTC's
                    "mood": 1,
                    "peak_craving": 4,
                    "used_today": False,
                    "medication": "yes",
                },
            )
            for _ in range(4):
                make_entry(patient, shared=True)
                make_entry(patient, shared=False)
    # The newest items are entries, so that even a page of one reads their triggers.
    for patient in people:
        make_entry(patient, shared=True)
    for item in FeedItem.objects.filter(patient__in=people).order_by("-at")[:6]:
        feed_item_review(item=item, reviewer=therapist, comment="Seen, thank you.")


def _queries(client, path: str) -> tuple[int, int]:
    """(queries run, items shown) for one GET."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries), len(response.json()["results"])


def test_the_feed_runs_the_same_queries_for_one_item_as_for_a_full_page(
    linked_therapist, django_assert_max_num_queries
):
    family = FamilyFactory()
    _caseload(linked_therapist, family, patients=4)
    client = client_for(linked_therapist)

    one, shown_one = _queries(client, f"{FEED}?page_size=1")
    full, shown_full = _queries(client, f"{FEED}?page_size=25")
    assert (shown_one, shown_full) == (1, 25)
    assert one == full
    with django_assert_max_num_queries(FEED_QUERIES):
        client.get(f"{FEED}?page_size=100")


def test_the_feed_query_count_does_not_grow_with_the_caseload(linked_therapist):
    family = FamilyFactory()
    _caseload(linked_therapist, family, patients=2)
    client = client_for(linked_therapist)
    small, _ = _queries(client, f"{FEED}?page_size=100")

    _caseload(linked_therapist, family, patients=4)
    large, shown = _queries(client, f"{FEED}?page_size=100")
    assert shown > 25
    assert small == large <= FEED_QUERIES


def test_the_family_feed_runs_as_few_queries(linked_therapist, django_assert_max_num_queries):
    family = FamilyFactory()
    _caseload(linked_therapist, family, patients=3)
    client = client_for(family)
    one, _ = _queries(client, f"{FAMILY_FEED}?page_size=1")
    full, shown = _queries(client, f"{FAMILY_FEED}?page_size=25")
    assert shown > 1
    assert one == full <= FEED_QUERIES
