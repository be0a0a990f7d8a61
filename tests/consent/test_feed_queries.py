"""The share feed runs a fixed number of queries, whatever the page size and the caseload."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from backend.core.time import local_today
from backend.journal import services as journal_services
from backend.journal.models import FeedItem
from backend.sharing.services import feed_item_review
from tests.factories import (
    CareLinkFactory,
    EntryFactory,
    FamilyFactory,
    FamilyLinkFactory,
    grant_for,
)
from tests.helpers import assert_flat_queries, client_for

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
            EntryFactory(patient=patient, intensity=9, shared=True)  # raises a crisis alert
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
                EntryFactory(patient=patient, shared=True)
                EntryFactory(patient=patient, shared=False)
    # The newest items are entries, so that even a page of one reads their triggers.
    for patient in people:
        EntryFactory(patient=patient, shared=True)
    for item in FeedItem.objects.filter(patient__in=people).order_by("-at")[:6]:
        feed_item_review(item=item, reviewer=therapist, comment="Seen, thank you.")


def _page(client, path: str, size: int) -> None:
    """One page of the feed: full, or the last page holding more than one item."""
    response = client.get(path, {"page_size": size})
    assert response.status_code == 200, response.content
    body = response.json()
    shown = len(body["results"])
    assert shown == size or (body["next"] is None and shown > 1), (size, shown)


def test_the_feed_runs_the_same_queries_for_one_item_as_for_a_full_page(linked_therapist):
    family = FamilyFactory()
    _caseload(linked_therapist, family, patients=4)
    client = client_for(linked_therapist)
    assert_flat_queries(lambda size: _page(client, FEED, size), (1, 25, 100), at_most=FEED_QUERIES)


def test_the_feed_query_count_does_not_grow_with_the_caseload(linked_therapist):
    family = FamilyFactory()
    client = client_for(linked_therapist)

    def feed(patients: int) -> None:
        response = client.get(FEED, {"page_size": 100})
        assert response.status_code == 200, response.content
        assert len(response.json()["results"]) > (25 if patients > 2 else 0)

    # Two patients, then four more: the same queries for the bigger caseload.
    assert_flat_queries(
        feed,
        (2, 4),
        prepare=lambda patients: _caseload(linked_therapist, family, patients=patients),
        at_most=FEED_QUERIES,
    )


def test_the_family_feed_runs_as_few_queries(linked_therapist):
    family = FamilyFactory()
    _caseload(linked_therapist, family, patients=3)
    client = client_for(family)
    assert_flat_queries(
        lambda size: _page(client, FAMILY_FEED, size), (1, 25), at_most=FEED_QUERIES
    )
