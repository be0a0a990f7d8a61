"""The remaining lists: the same queries for one row as for many."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.disclosure.models import DisclosureLog
from backend.family import services as family_services
from backend.journal.models import FeedItem
from backend.sharing.models import FeedReview
from backend.sharing.services import feed_item_review
from tests.factories import CareLinkFactory, grant_for
from tests.helpers import client_for
from tests.journal.helpers import make_checkin, make_entry

pytestmark = pytest.mark.django_db


def _queries(client, path: str, size: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, {"page_size": size})
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == size, path
    return len(captured)


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
    assert _queries(client, "/api/v1/family/invites/", 1) == _queries(
        client, "/api/v1/family/invites/", 5
    )


def test_the_accounting_of_disclosures_and_the_feedback(patient):
    therapists = [CareLinkFactory(patient=patient).therapist for _ in range(4)]
    grants = [grant_for(patient, therapist, ["journal.all"]) for therapist in therapists]
    make_entry(patient)
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
        assert _queries(client, path, 1) == _queries(client, path, 4), path


def test_check_ins(patient):
    for day in range(1, 6):
        make_checkin(patient, f"2026-11-0{day}", peak_craving=2)
    client = client_for(patient)
    path = "/api/v1/journal/checkins/"
    assert _queries(client, path, 1) == _queries(client, path, 5)
