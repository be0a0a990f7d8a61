"""The share feed: only what a grant covers, with review state, notice and disclosure log."""

import pytest
from django.db import connection

from backend.disclosure.models import DisclosureLog
from backend.disclosure.notice import REDISCLOSURE_HEADER, REDISCLOSURE_NOTICE
from backend.journal.models import FeedItem
from backend.sharing.models import FeedReview
from tests.factories import (
    CareLinkFactory,
    CheckInFactory,
    EntryFactory,
    FamilyLinkFactory,
    PatientFactory,
    entry_payload,
    grant_for,
)
from tests.helpers import assert_flat_queries, assert_problem, client_for, full_page
from tests.journal.helpers import ENTRIES

pytestmark = pytest.mark.django_db

FEED = "/api/v1/care/feed/"
FAMILY_FEED = "/api/v1/family/feed/"


def _ids(response, kind="entry") -> list[str]:
    assert response.status_code == 200, response.content
    return [item[kind]["id"] for item in response.json()["results"] if item["kind"] == kind]


def test_journal_shared_shows_only_entries_the_patient_marked_shared(patient, linked_therapist):
    grant_for(patient, linked_therapist, ["journal.shared"])
    shared = EntryFactory(patient=patient, shared=True)
    EntryFactory(patient=patient, shared=False)
    assert _ids(client_for(linked_therapist).get(FEED)) == [str(shared.client_id)]


def test_journal_all_shows_every_live_entry(patient, linked_therapist):
    grant_for(patient, linked_therapist, ["journal.all"])
    a, b = EntryFactory(patient=patient), EntryFactory(patient=patient, shared=True)
    assert set(_ids(client_for(linked_therapist).get(FEED))) == {str(a.client_id), str(b.client_id)}


def test_sharing_an_entry_later_puts_it_in_the_feed_and_unsharing_takes_it_out(
    patient, linked_therapist
):
    grant_for(patient, linked_therapist, ["journal.shared"])
    body = entry_payload()
    owner, therapist = client_for(patient), client_for(linked_therapist)
    created = owner.post(ENTRIES, body, format="json")
    url = f"{ENTRIES}{body['id']}/"
    assert _ids(therapist.get(FEED)) == []
    shared = owner.patch(url, {"shared": True}, format="json", HTTP_IF_MATCH=created["ETag"])
    assert shared.json()["shared"] is True
    assert _ids(therapist.get(FEED)) == [body["id"]]
    owner.patch(url, {"shared": False}, format="json", HTTP_IF_MATCH=shared["ETag"])
    assert _ids(therapist.get(FEED)) == []


def test_a_deleted_entry_leaves_the_feed(patient, linked_therapist):
    grant_for(patient, linked_therapist, ["journal.all"])
    entry = EntryFactory(patient=patient)
    client_for(patient).delete(f"{ENTRIES}{entry.client_id}/")
    assert _ids(client_for(linked_therapist).get(FEED)) == []


def test_without_a_grant_nothing_shows_not_even_a_count(patient, linked_therapist):
    EntryFactory(patient=patient, shared=True)
    CheckInFactory(patient=patient)
    EntryFactory(patient=patient, intensity=9)
    body = client_for(linked_therapist).get(FEED).json()
    assert body["results"] == []
    assert body["next"] is None
    assert not DisclosureLog.objects.exists()


def test_each_scope_opens_only_its_kind(patient, linked_therapist):
    grant_for(patient, linked_therapist, ["checkins"])
    EntryFactory(patient=patient, shared=True)
    checkin = CheckInFactory(patient=patient)
    items = client_for(linked_therapist).get(FEED).json()["results"]
    assert [(i["kind"], i["checkin"]["id"]) for i in items] == [("checkin", str(checkin.client_id))]


def test_a_crisis_alert_is_an_urgent_item_without_the_entrys_words(patient, linked_therapist):
    grant_for(patient, linked_therapist, ["crisis_alerts"])
    EntryFactory(patient=patient, intensity=9, situation="Private words")
    [item] = client_for(linked_therapist).get(FEED).json()["results"]
    assert item["kind"] == "alert"
    assert item["urgent"] is True
    assert item["alert"]["reason"] == "high_intensity"
    assert item["entry"] is None
    assert "Private words" not in str(item)


def test_crisis_alerts_reach_family_with_that_scope(patient, family_granted, family):
    EntryFactory(patient=patient, outcome="lapsed")
    [item] = client_for(family_granted).get(FAMILY_FEED).json()["results"]
    assert (item["kind"], item["urgent"], item["alert"]["reason"]) == ("alert", True, "lapse")
    assert client_for(family).get(FAMILY_FEED).json()["results"] == []


def test_one_therapist_sees_each_patient_only_through_that_patients_grant(
    patient, linked_therapist
):
    other = PatientFactory()
    CareLinkFactory(patient=other, therapist=linked_therapist)
    grant_for(patient, linked_therapist, ["journal.all"])
    mine = EntryFactory(patient=patient)
    EntryFactory(patient=other, shared=True)
    assert _ids(client_for(linked_therapist).get(FEED)) == [str(mine.client_id)]


def test_the_feed_filters_by_patient_kind_and_state(patient, linked_therapist):
    other = PatientFactory()
    CareLinkFactory(patient=other, therapist=linked_therapist)
    grant_for(patient, linked_therapist, ["journal.all", "checkins"])
    grant_for(other, linked_therapist, ["journal.all"])
    first = EntryFactory(patient=patient)
    EntryFactory(patient=other)
    CheckInFactory(patient=patient)
    client = client_for(linked_therapist)
    by_patient = client.get(FEED, {"patient": str(patient.pk)}).json()["results"]
    assert {i["patient"]["id"] for i in by_patient} == {str(patient.pk)}
    assert len(by_patient) == 2
    assert len(client.get(FEED, {"kind": "checkin"}).json()["results"]) == 1
    item = FeedItem.objects.get(entry=first)
    client.post(f"{FEED}{item.pk}/review/", {}, format="json")
    reviewed = client.get(FEED, {"state": "reviewed"}).json()["results"]
    assert [i["id"] for i in reviewed] == [str(item.pk)]
    assert str(item.pk) not in {
        i["id"] for i in client.get(FEED, {"state": "unread"}).json()["results"]
    }
    assert_problem(client.get(FEED, {"kind": "gossip"}), 400)
    assert_problem(client.get(FEED, {"patient": "nope"}), 400)


def test_a_review_comment_reaches_the_patient(patient, linked_therapist):
    grant_for(patient, linked_therapist, ["journal.shared"])
    entry = EntryFactory(patient=patient, shared=True)
    item = FeedItem.objects.get(entry=entry)
    therapist = client_for(linked_therapist)
    reviewed = therapist.post(
        f"{FEED}{item.pk}/review/", {"comment": "Proud of you for resisting."}, format="json"
    )
    assert reviewed.status_code == 200
    assert reviewed.json()["state"] == "reviewed"
    assert reviewed[REDISCLOSURE_HEADER] == REDISCLOSURE_NOTICE
    [feedback] = client_for(patient).get("/api/v1/me/feedback/").json()["results"]
    assert feedback["comment"] == "Proud of you for resisting."
    assert feedback["record_id"] == str(entry.client_id)
    assert feedback["reviewer"]["id"] == str(linked_therapist.pk)
    # The comment is encrypted at rest like the patient's own words.
    with connection.cursor() as cursor:
        table = FeedReview._meta.db_table
        cursor.execute(f"SELECT comment FROM {table}")  # noqa: S608 - our table name
        [(raw,)] = cursor.fetchall()
    assert "Proud" not in raw


def test_reviewing_an_item_you_cannot_see_is_404(patient, linked_therapist):
    entry = EntryFactory(patient=patient, shared=False)
    grant_for(patient, linked_therapist, ["journal.shared"])
    item = FeedItem.objects.get(entry=entry)
    response = client_for(linked_therapist).post(f"{FEED}{item.pk}/review/", {}, format="json")
    assert_problem(response, 404)
    assert not FeedReview.objects.exists()


def test_a_long_or_unknown_review_field_is_refused(patient, linked_therapist):
    grant_for(patient, linked_therapist, ["journal.all"])
    item = FeedItem.objects.get(entry=EntryFactory(patient=patient))
    client = client_for(linked_therapist)
    assert_problem(
        client.post(f"{FEED}{item.pk}/review/", {"comment": "x" * 1001}, format="json"), 400
    )
    assert_problem(client.post(f"{FEED}{item.pk}/review/", {"score": 5}, format="json"), 400)


def test_the_feed_carries_the_redisclosure_notice_and_is_not_cached(patient, linked_therapist):
    grant_for(patient, linked_therapist, ["journal.all"])
    EntryFactory(patient=patient)
    response = client_for(linked_therapist).get(FEED)
    assert response[REDISCLOSURE_HEADER] == REDISCLOSURE_NOTICE
    assert "no-store" in response["Cache-Control"]
    assert response.json()["redisclosure_notice"] == REDISCLOSURE_NOTICE


def test_every_feed_read_is_in_the_disclosure_log(patient, linked_therapist):
    grant = grant_for(patient, linked_therapist, ["journal.all", "checkins"])
    entries = {
        str(EntryFactory(patient=patient).client_id),
        str(EntryFactory(patient=patient).client_id),
    }
    checkin = CheckInFactory(patient=patient)
    client_for(linked_therapist).get(FEED, REMOTE_ADDR="203.0.113.9")
    rows = {row.kind: row for row in DisclosureLog.objects.all()}
    assert set(rows) == {"entry", "checkin"}
    assert set(rows["entry"].record_ids) == entries
    assert rows["entry"].record_count == 2
    assert rows["checkin"].record_ids == [str(checkin.client_id)]
    for row in rows.values():
        assert row.viewer == linked_therapist
        assert row.viewer_role == "therapist"
        assert row.patient == patient
        assert row.grant == grant
        assert row.purpose == "treatment"
        assert row.endpoint == "GET /api/v1/care/feed/"
        assert row.ip == "203.0.113.9"
    accounting = client_for(patient).get("/api/v1/me/disclosures/").json()["results"]
    assert {(a["kind"], a["record_count"]) for a in accounting} == {("entry", 2), ("checkin", 1)}
    assert all(a["viewer"]["id"] == str(linked_therapist.pk) for a in accounting)
    assert "ip" not in accounting[0]


def test_a_patient_sees_only_their_own_disclosures(patient, other_patient, linked_therapist):
    grant_for(patient, linked_therapist, ["journal.all"])
    EntryFactory(patient=patient)
    client_for(linked_therapist).get(FEED)
    assert len(client_for(patient).get("/api/v1/me/disclosures/").json()["results"]) == 1
    assert client_for(other_patient).get("/api/v1/me/disclosures/").json()["results"] == []


def test_the_disclosure_accounting_runs_a_fixed_number_of_queries(patient, linked_therapist):
    grant_for(patient, linked_therapist, ["journal.all"])
    EntryFactory(patient=patient)
    therapist = client_for(linked_therapist)
    for _ in range(10):
        therapist.get(FEED)
    client = client_for(patient)
    assert_flat_queries(
        lambda size: full_page(client, "/api/v1/me/disclosures/", size), (1, 10), at_most=4
    )


@pytest.mark.parametrize(
    ("scopes", "note_shown"),
    [
        (["checkins"], False),
        (["checkins", "journal.shared"], True),
        (["checkins", "journal.all"], True),
    ],
)
def test_a_check_in_note_is_the_patients_own_words_and_needs_a_journal_scope(
    patient, linked_therapist, scopes, note_shown
):
    family_member = FamilyLinkFactory(patient=patient).member
    grant_for(patient, linked_therapist, scopes)
    grant_for(patient, family_member, scopes)
    checkin = CheckInFactory(patient=patient, note="Synthetic: call my sister tonight")
    for viewer, path in ((linked_therapist, FEED), (family_member, FAMILY_FEED)):
        [item] = client_for(viewer).get(path).json()["results"]
        assert item["checkin"]["id"] == str(checkin.client_id)
        assert item["checkin"]["used_today"] is False
        expected = "Synthetic: call my sister tonight" if note_shown else None
        assert item["checkin"]["note"] == expected, (viewer.role, scopes)
        review = client_for(viewer).post(f"{path}{item['id']}/review/", {}, format="json")
        assert review.json()["checkin"]["note"] == expected
