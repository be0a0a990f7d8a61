"""The id the phone picks is unique per patient: another patient's use of it is invisible.

Each journey below runs every write path on one id. A patient whose ids another
patient already used gets, step by step, exactly the answers a patient gets for
ids nobody ever used; the first patient's records stay as they were.
"""

import uuid
from datetime import UTC, datetime

import pytest
import time_machine

from backend.journal.models import CheckIn, JournalEntry
from tests.factories import (
    CareLinkFactory,
    PatientFactory,
    TherapistFactory,
    entry_payload,
    grant_for,
)
from tests.helpers import answer_without_ids, client_for
from tests.journal.helpers import BATCH, ENTRIES

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
CHECKINS = "/api/v1/journal/checkins/"
CHANGES = "/api/v1/journal/changes/"
COUNTERS = "/api/v1/journal/counters/"
IF_MATCH_1 = {"HTTP_IF_MATCH": '"1"'}


def _fields(payload: dict) -> dict:
    return {k: v for k, v in payload.items() if k != "id"}


def _entry_journey(client, posted: str, batched: str) -> list:
    """Every entry write path: one id created by POST, one by the batch."""
    post = entry_payload(id=posted, intensity=5, situation="Mine.")
    batch = _fields(entry_payload(id=batched, intensity=2, situation="Also mine."))

    def sync(op: str, base_version=None, key=None, **data):
        item = {"op": op, "id": batched}
        if base_version is not None:
            item["base_version"] = base_version
        if op == "upsert":
            item["data"] = {**batch, **data}
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        return client.post(BATCH, {"items": [item]}, format="json", **headers)

    url = f"{ENTRIES}{posted}/"
    steps = [
        # Before the patient uses the ids: unknown to them, whoever else uses them.
        client.get(url),
        client.patch(url, {"intensity": 3}, format="json", **IF_MATCH_1),
        client.delete(url),
        sync("delete"),
        sync("upsert", base_version=1),
        # Create, with an Idempotency-Key, and the replay of that key.
        client.post(ENTRIES, post, format="json", HTTP_IDEMPOTENCY_KEY="entry-create"),
        client.post(ENTRIES, post, format="json", HTTP_IDEMPOTENCY_KEY="entry-create"),
        # A retried upload without a key, and a different entry under the same id.
        client.post(ENTRIES, post, format="json"),
        client.post(ENTRIES, {**post, "intensity": 9}, format="json"),
        # The batch: create, retry, update, a keyed update and its replay, a stale update.
        sync("upsert"),
        sync("upsert"),
        sync("upsert", base_version=1, intensity=4),
        sync("upsert", base_version=2, key="entry-batch", intensity=8),
        sync("upsert", base_version=2, key="entry-batch", intensity=8),
        sync("upsert", base_version=2, intensity=1),
        # Read and change the other one.
        client.get(url),
        client.patch(url, {"intensity": 3}, format="json", **IF_MATCH_1),
        client.patch(url, {"intensity": 1}, format="json", **IF_MATCH_1),
        client.get(f"{ENTRIES}?ordering=occurred_at"),
        client.get(CHANGES),
        # Delete: one by the batch (and again), one by DELETE (and again).
        sync("delete", base_version=3),
        sync("delete"),
        client.delete(url, HTTP_IF_MATCH='"2"'),
        client.delete(url),
        client.get(url),
        client.get(CHANGES),
    ]
    return [answer_without_ids(step, {posted: "<posted>", batched: "<batched>"}) for step in steps]


def _checkin_journey(client, checkin_id: str) -> list:
    body = {
        "id": checkin_id,
        "local_date": "2026-11-24",
        "mood": 1,
        "peak_craving": 3,
        "used_today": False,
        "medication": "yes",
        "note": "Mine.",
    }
    url = f"{CHECKINS}{checkin_id}/"
    steps = [
        client.get(url),
        client.patch(url, {"mood": 2}, format="json", **IF_MATCH_1),
        client.delete(url),
        client.post(CHECKINS, body, format="json", HTTP_IDEMPOTENCY_KEY="checkin-create"),
        client.post(CHECKINS, body, format="json", HTTP_IDEMPOTENCY_KEY="checkin-create"),
        client.post(CHECKINS, body, format="json"),
        client.post(CHECKINS, {**body, "mood": -2}, format="json"),
        client.get(url),
        client.patch(url, {"mood": 2}, format="json", **IF_MATCH_1),
        client.get(CHECKINS),
        client.get(CHANGES),
        client.delete(url, HTTP_IF_MATCH='"2"'),
        client.delete(url),
        client.get(url),
        client.post(CHECKINS, body, format="json"),
        client.get(CHANGES),
    ]
    return [answer_without_ids(step, {checkin_id: "<id>"}) for step in steps]


def _statuses(journey: list) -> list:
    return [step[0] for step in journey]


def _batch_statuses(journey: list) -> list:
    return [
        [result["status"] for result in body["results"]]
        for _, _, body in journey
        if isinstance(body, dict) and "counts" in body
    ]


@time_machine.travel(NOW, tick=False)
def test_entry_ids_another_patient_used_answer_as_fresh_ids_on_every_write_path():
    first, second, fresh = PatientFactory(), PatientFactory(), PatientFactory()
    posted, batched = str(uuid.uuid4()), str(uuid.uuid4())
    first_client = client_for(first)
    kept = entry_payload(id=posted, intensity=7, situation="The first patient's words.")
    assert first_client.post(ENTRIES, kept, format="json").status_code == 201
    other = {"op": "upsert", "id": batched, "data": _fields(entry_payload(id=batched))}
    assert first_client.post(BATCH, {"items": [other]}, format="json").status_code == 200

    taken = _entry_journey(client_for(second), posted, batched)
    unused = _entry_journey(client_for(fresh), str(uuid.uuid4()), str(uuid.uuid4()))

    assert taken == unused
    assert _statuses(taken) == [
        404, 404, 404, 200, 200, 201, 201, 200, 409, 200, 200, 200, 200, 200, 200,
        200, 200, 412, 200, 200, 200, 200, 204, 404, 404, 200,
    ]  # fmt: skip
    assert _batch_statuses(taken) == [
        ["unchanged"], ["invalid"], ["created"], ["unchanged"], ["updated"], ["updated"],
        ["updated"], ["conflict"], ["updated"], ["unchanged"],
    ]  # fmt: skip
    replays = [headers.get("Idempotent-Replayed") for _, headers, _ in taken]
    assert [i for i, value in enumerate(replays) if value == "true"] == [6, 13]
    assert "The first patient's words." not in str(taken)
    # The first patient's records are as they left them.
    mine = first_client.get(f"{ENTRIES}{posted}/").json()
    assert (mine["intensity"], mine["situation"], mine["version"]) == (7, kept["situation"], 1)
    assert first_client.get(f"{ENTRIES}{batched}/").status_code == 200
    assert JournalEntry.objects.filter(client_id=posted).count() == 2


@time_machine.travel(NOW, tick=False)
def test_check_in_ids_another_patient_used_answer_as_fresh_ids_on_every_write_path():
    first, second, fresh = PatientFactory(), PatientFactory(), PatientFactory()
    checkin_id = str(uuid.uuid4())
    first_client = client_for(first)
    kept = {
        "id": checkin_id,
        "local_date": "2026-11-24",
        "mood": -1,
        "peak_craving": 8,
        "used_today": False,
        "medication": "no",
        "note": "The first patient's note.",
    }
    assert first_client.post(CHECKINS, kept, format="json").status_code == 201

    taken = _checkin_journey(client_for(second), checkin_id)
    unused = _checkin_journey(client_for(fresh), str(uuid.uuid4()))

    assert taken == unused
    print(_statuses(taken), _batch_statuses(taken))
    assert _statuses(taken) == [
        404,
        404,
        404,
        201,
        201,
        200,
        409,
        200,
        200,
        200,
        200,
        204,
        404,
        404,
        409,
        200,
    ]
    assert taken[4][1]["Idempotent-Replayed"] == "true"
    assert "The first patient's note." not in str(taken)
    mine = first_client.get(f"{CHECKINS}{checkin_id}/").json()
    assert (mine["mood"], mine["note"], mine["version"]) == (-1, kept["note"], 1)
    assert CheckIn.objects.filter(client_id=checkin_id).count() == 2


@time_machine.travel(NOW, tick=False)
def test_a_therapist_with_consent_from_two_patients_sees_both_entries_under_one_id():
    therapist = TherapistFactory()
    patients = [PatientFactory(display_name="Ana"), PatientFactory(display_name="Ben")]
    shared_id = str(uuid.uuid4())
    for number, patient in enumerate(patients):
        CareLinkFactory(patient=patient, therapist=therapist)
        grant_for(patient, therapist, ["journal.shared"])
        entry = entry_payload(id=shared_id, intensity=number + 2, shared=True)
        assert client_for(patient).post(ENTRIES, entry, format="json").status_code == 201

    feed = client_for(therapist).get("/api/v1/care/feed/?kind=entry").json()["results"]
    seen = {item["patient"]["id"]: item for item in feed}
    assert set(seen) == {str(p.pk) for p in patients}
    assert {item["entry"]["id"] for item in feed} == {shared_id}
    assert sorted(item["entry"]["intensity"] for item in feed) == [2, 3]
    assert len({item["id"] for item in feed}) == 2, "each feed item is its own"

    # A review reaches the patient whose entry it is, naming the id they know.
    ben_item = seen[str(patients[1].pk)]
    reviewed = client_for(therapist).post(
        f"/api/v1/care/feed/{ben_item['id']}/review/", {"comment": "Seen."}, format="json"
    )
    assert reviewed.status_code == 200
    assert reviewed.json()["entry"]["intensity"] == 3
    ana, ben = (client_for(p).get("/api/v1/me/feedback/").json()["results"] for p in patients)
    assert ana == []
    assert [(row["record_id"], row["comment"]) for row in ben] == [(shared_id, "Seen.")]

    # Each patient's accounting of disclosures names the id they know.
    for patient in patients:
        [row] = client_for(patient).get("/api/v1/me/disclosures/").json()["results"][-1:]
        assert row["record_ids"] == [shared_id]


@time_machine.travel(NOW, tick=False)
def test_a_use_under_an_id_another_patient_used_opens_that_patients_own_decision():
    used_id = str(uuid.uuid4())
    patients = [PatientFactory(), PatientFactory()]
    counters = []
    for patient in patients:
        client = client_for(patient)
        counter = client.post(
            COUNTERS, {"substance": "alcohol", "start_date": "2026-11-01"}, format="json"
        ).json()
        counters.append(counter)
        use = entry_payload(id=used_id, substance="alcohol", outcome="used")
        assert client.post(ENTRIES, use, format="json").status_code == 201
        pending = client.get(f"{COUNTERS}{counter['id']}/").json()["pending_decisions"]
        assert [p["entry"] for p in pending] == [used_id]

    second = client_for(patients[1])
    decided = second.post(
        f"{COUNTERS}{counters[1]['id']}/decisions/",
        {"decision": "keep", "entry": used_id},
        format="json",
    )
    assert decided.status_code == 201, decided.content
    assert decided.json()["entry"] == used_id
    first = client_for(patients[0]).get(f"{COUNTERS}{counters[0]['id']}/").json()
    assert [p["entry"] for p in first["pending_decisions"]] == [used_id], (
        "still the first's to decide"
    )
    export = second.get("/api/v1/journal/export/").json()
    assert [e["id"] for e in export["entries"]] == [used_id]
