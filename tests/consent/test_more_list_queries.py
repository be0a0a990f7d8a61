"""The remaining lists: the same queries for one row as for many."""

import uuid

import pytest
from django.utils import timezone

from backend.disclosure.models import DisclosureLog
from backend.family import services as family_services
from backend.journal.models import FeedItem
from backend.sharing.models import FeedReview
from backend.sharing.services import feed_item_review
from tests.factories import CareLinkFactory, CheckInFactory, EntryFactory, grant_for
from tests.helpers import assert_flat_queries, client_for, full_page

pytestmark = pytest.mark.django_db


def test_family_invites(patient):
    for number in range(5):
        family_services.invite_create(
            patient=patient,
            email=f"friend{number}@example.test",
            recipient_name=f"Friend {number}",
            scopes=["checkins"],
            signature_name="Sam",
        )
    client = client_for(patient)
    assert_flat_queries(lambda size: full_page(client, "/api/v1/family/invites/", size), (1, 5))


def test_the_accounting_of_disclosures_and_the_feedback(patient):
    therapists = [CareLinkFactory(patient=patient).therapist for _ in range(4)]
    grants = [grant_for(patient, therapist, ["journal.all"]) for therapist in therapists]
    EntryFactory(patient=patient)
    item = FeedItem.objects.get()
    for therapist, grant in zip(therapists, grants, strict=True):
        DisclosureLog.objects.create(
            viewer=therapist,
            viewer_role="therapist",
            patient=patient,
            kind="entry",
            record_ids=[str(uuid.uuid4())],
            record_count=1,
            grant=grant,
            purpose="treatment",
            at=timezone.now(),
            endpoint="GET /api/v1/care/feed/",
        )
        feed_item_review(item=item, reviewer=therapist, comment="Seen.")
    assert FeedReview.objects.count() == 4
    client = client_for(patient)
    for path in ("/api/v1/me/disclosures/", "/api/v1/me/feedback/"):
        assert_flat_queries(lambda size, path=path: full_page(client, path, size), (1, 4))


def test_check_ins(patient):
    for day in range(1, 6):
        CheckInFactory(patient=patient, local_date=f"2026-11-0{day}", peak_craving=2)
    client = client_for(patient)
    path = "/api/v1/journal/checkins/"
    assert_flat_queries(lambda size: full_page(client, path, size), (1, 5))
