import uuid
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from backend.journal.models import CareTeamAlert, JournalEntry
from tests.factories import EntryFactory, entry_payload
from tests.helpers import assert_flat_queries, assert_problem, client_for, full_page, problem_fields
from tests.journal.helpers import ENTRIES

pytestmark = pytest.mark.django_db


def test_a_patient_logs_an_entry_and_reads_it_back_in_the_devices_offset(patient):
    client = client_for(patient)
    payload = entry_payload(occurred_at="2026-11-20T21:30:00-05:00")
    response = client.post(ENTRIES, payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["occurred_at"] == "2026-11-20T21:30:00-05:00"
    assert body["version"] == 1
    assert response["ETag"] == '"1"'
    assert response["Location"].endswith(f"{payload['id']}/")
    assert body["triggers"] == payload["triggers"]
    assert body["halt"] == ["lonely", "tired"]
    assert body["support"] is None
    assert client.get(f"{ENTRIES}{payload['id']}/").json()["situation"] == payload["situation"]


def test_a_retried_upload_never_duplicates(patient):
    client = client_for(patient)
    payload = entry_payload()
    first = client.post(ENTRIES, payload, format="json")
    again = client.post(ENTRIES, payload, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["version"] == 1
    assert JournalEntry.objects.count() == 1


def test_another_entry_under_a_used_id_is_a_conflict_with_the_stored_copy(patient):
    client = client_for(patient)
    payload = entry_payload()
    client.post(ENTRIES, payload, format="json")
    response = client.post(ENTRIES, {**payload, "intensity": 9}, format="json")
    body = assert_problem(response, 409)
    assert body["current"]["intensity"] == 6


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"intensity": 11}, "intensity"),
        ({"intensity": -1}, "intensity"),
        ({"intensity": "5"}, "intensity"),
        ({"intensity": True}, "intensity"),
        ({"intensity": 5.5}, "intensity"),
        ({"intensity_after": 12}, "intensity_after"),
        ({"mood": 4}, "mood"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2026-11-20T21:30:00"}, "occurred_at"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        ({"occurred_at": "1999-12-31T23:00:00Z"}, "occurred_at"),
        ({"substance": "chocolate"}, "substance"),
        ({"outcome": "maybe"}, "outcome"),
        ({"halt": ["sleepy"]}, "halt.0"),
        ({"triggers": [{"category": "weather", "label": "rain"}]}, "triggers.0.category"),
        ({"triggers": [{"category": "people"}]}, "triggers.0.label"),
        ({"situation": "x" * 10_001}, "situation"),
        ({"thoughts": "x" * 10_001}, "thoughts"),
        ({"id": "not-a-uuid"}, "id"),
        ({"version": 3}, "version"),
        ({"patient": "someone"}, "patient"),
    ],
)
def test_bad_entry_input_gets_a_field_error_and_stores_nothing(patient, overrides, field):
    response = client_for(patient).post(ENTRIES, entry_payload(**overrides), format="json")
    assert_problem(response, 400)
    assert field in problem_fields(response), problem_fields(response)
    assert not JournalEntry.objects.exists()


def test_a_time_ten_minutes_ahead_is_accepted_for_clock_drift(patient):
    soon = (timezone.now() + timedelta(minutes=9)).isoformat()
    assert (
        client_for(patient)
        .post(ENTRIES, entry_payload(occurred_at=soon), format="json")
        .status_code
        == 201
    )


@pytest.mark.parametrize(
    ("overrides", "reasons"),
    [
        ({"intensity": 8}, ["high_intensity"]),
        ({"intensity": 3, "outcome": "lapsed"}, ["lapse"]),
        ({"intensity": 9, "outcome": "used"}, ["high_intensity", "use"]),
    ],
)
def test_a_very_high_craving_or_a_lapse_answers_with_crisis_support(patient, overrides, reasons):
    response = client_for(patient).post(ENTRIES, entry_payload(**overrides), format="json")
    support = response.json()["support"]
    assert support["reasons"] == reasons
    phones = {r["phone"] for r in support["resources"]}
    assert {"988", "1-800-662-4357"} <= phones
    assert support["next_step"]
    assert sorted(CareTeamAlert.objects.values_list("reason", flat=True)) == sorted(reasons)


def test_alerts_are_recorded_once_however_often_the_entry_is_synced(patient):
    client = client_for(patient)
    payload = entry_payload(intensity=10)
    client.post(ENTRIES, payload, format="json")
    client.post(ENTRIES, payload, format="json")
    assert CareTeamAlert.objects.count() == 1


def test_the_threshold_is_configurable(patient, settings):
    settings.CRISIS_INTENSITY_THRESHOLD = 5
    assert (
        client_for(patient)
        .post(ENTRIES, entry_payload(intensity=5), format="json")
        .json()["support"]
    )


def test_an_update_needs_if_match_and_a_stale_one_gets_412_with_the_current_version(patient):
    entry = EntryFactory(patient=patient)
    client = client_for(patient)
    url = f"{ENTRIES}{entry.client_id}/"
    assert_problem(client.patch(url, {"intensity": 2}, format="json"), 428)
    ok = client.patch(url, {"intensity": 2}, format="json", headers={"If-Match": '"1"'})
    assert ok.status_code == 200
    assert (ok.json()["version"], ok["ETag"]) == (2, '"2"')
    stale = client.patch(url, {"intensity": 4}, format="json", headers={"If-Match": '"1"'})
    body = assert_problem(stale, 412)
    assert body["current"]["intensity"] == 2
    assert body["current"]["version"] == 2
    weak = client.patch(url, {"intensity": 4}, format="json", headers={"If-Match": 'W/"2"'})
    assert_problem(weak, 412)


def test_an_update_that_changes_nothing_keeps_the_version(patient):
    entry = EntryFactory(patient=patient)
    response = client_for(patient).patch(
        f"{ENTRIES}{entry.client_id}/", {"intensity": 6}, format="json", headers={"If-Match": '"1"'}
    )
    assert response.json()["version"] == 1


def test_get_answers_if_none_match_with_304(patient):
    entry = EntryFactory(patient=patient)
    client = client_for(patient)
    response = client.get(f"{ENTRIES}{entry.client_id}/", headers={"If-None-Match": '"1"'})
    assert response.status_code == 304
    assert (
        client.get(f"{ENTRIES}{entry.client_id}/", headers={"If-None-Match": '"0"'}).status_code
        == 200
    )


def test_delete_leaves_a_tombstone_without_the_text(patient):
    entry = EntryFactory(patient=patient)
    client = client_for(patient)
    assert (
        client.delete(f"{ENTRIES}{entry.client_id}/", headers={"If-Match": '"1"'}).status_code
        == 204
    )
    entry.refresh_from_db()
    assert entry.deleted_at is not None
    assert (entry.situation, entry.thoughts, entry.version) == ("", "", 2)
    assert_problem(client.get(f"{ENTRIES}{entry.client_id}/"), 404)
    assert client.get(ENTRIES).json()["results"] == []


def test_a_stale_delete_is_refused(patient):
    entry = EntryFactory(patient=patient)
    client_for(patient).patch(
        f"{ENTRIES}{entry.client_id}/", {"intensity": 1}, format="json", headers={"If-Match": '"1"'}
    )
    assert_problem(
        client_for(patient).delete(f"{ENTRIES}{entry.client_id}/", headers={"If-Match": '"1"'}), 412
    )


def test_the_list_filters_by_date_outcome_intensity_substance_and_trigger(patient):
    now = timezone.now()
    old = EntryFactory(
        patient=patient, occurred_at=(now - timedelta(days=10)).isoformat(), intensity=2
    )
    lapse = EntryFactory(
        patient=patient, outcome="lapsed", substance="opioids", intensity=9, triggers=[]
    )
    work = EntryFactory(
        patient=patient, triggers=[{"category": "places", "label": "Work"}], intensity=5
    )
    client = client_for(patient)

    def ids(query):
        response = client.get(f"{ENTRIES}?{query}")
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    after = (now - timedelta(days=5)).isoformat().replace("+", "%2B")
    assert ids(f"occurred_after={after}") == {str(lapse.client_id), str(work.client_id)}
    assert ids("outcome=lapsed") == {str(lapse.client_id)}
    assert ids("min_intensity=6") == {str(lapse.client_id)}
    assert ids("substance=opioids") == {str(lapse.client_id)}
    assert ids("trigger=work") == {str(work.client_id)}
    assert ids("trigger=bar%20on%205th") == {str(old.client_id)}


@pytest.mark.parametrize(
    "query", ["outcome=maybe", "min_intensity=abc", "occurred_after=yesterday", "substance=x"]
)
def test_bad_filters_are_400(patient, query):
    assert_problem(client_for(patient).get(f"{ENTRIES}?{query}"), 400)


def test_the_list_is_newest_first_and_its_query_count_is_flat(patient):
    for hours in range(40):
        EntryFactory(
            patient=patient, occurred_at=(timezone.now() - timedelta(hours=hours + 1)).isoformat()
        )
    client = client_for(patient)

    def newest_first(size: int) -> None:
        rows = full_page(client, ENTRIES, size)
        assert rows == sorted(rows, key=lambda r: r["occurred_at"], reverse=True)

    assert_flat_queries(newest_first, (5, 40), at_most=3)


def test_the_trigger_vocabulary_grows_from_use_and_is_offered_back(patient, other_patient):
    EntryFactory(patient=patient, triggers=[{"category": "people", "label": "My ex"}])
    EntryFactory(
        patient=patient,
        triggers=[
            {"category": "people", "label": "my  EX"},
            {"category": "places", "label": "Bar"},
        ],
    )
    EntryFactory(patient=other_patient, triggers=[{"category": "people", "label": "Boss"}])
    rows = client_for(patient).get("/api/v1/journal/triggers/").json()["results"]
    assert [(r["category"], r["label"], r["uses"]) for r in rows] == [
        ("people", "My ex", 2),
        ("places", "Bar", 1),
    ]


def test_journal_text_is_encrypted_at_rest(patient):
    entry = EntryFactory(
        patient=patient, situation="Walked past the liquor store", thoughts="secret thought 42"
    )
    table = JournalEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT situation, thoughts FROM {table} WHERE id = %s",  # noqa: S608 - our table name
            [entry.pk.hex if connection.vendor == "sqlite" else entry.pk],
        )
        raw = cursor.fetchone()
    assert raw[0]
    assert raw[1]
    assert "liquor" not in raw[0]
    assert "secret" not in raw[1]
    entry.refresh_from_db()
    assert entry.situation == "Walked past the liquor store"


def test_keys_rotate_old_text_stays_readable_and_is_rewritten(patient, settings):

    entry = EntryFactory(patient=patient, situation="before rotation")
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *old_keys]
    entry.refresh_from_db()
    assert entry.situation == "before rotation"
    call_command("rotate_encryption_keys")
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]
    entry.refresh_from_db()
    assert entry.situation == "before rotation"


def test_entry_text_never_reaches_the_logs(patient, caplog):
    caplog.set_level("DEBUG")
    client_for(patient).post(
        ENTRIES, entry_payload(situation="UNIQUE-SECRET-TEXT-9"), format="json"
    )
    assert "UNIQUE-SECRET-TEXT-9" not in caplog.text
    assert str(JournalEntry.objects.get()).startswith("Entry ")


def test_a_new_id_is_needed_per_entry(patient):
    client = client_for(patient)
    first = entry_payload()
    client.post(ENTRIES, first, format="json")
    second = client.post(ENTRIES, entry_payload(id=str(uuid.uuid4())), format="json")
    assert second.status_code == 201
    assert JournalEntry.objects.count() == 2
