import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.journal.models import JournalEntry
from tests.factories import EntryFactory, entry_payload
from tests.helpers import assert_problem, client_for, problem_fields, requires_postgres
from tests.journal.helpers import BATCH

pytestmark = pytest.mark.django_db


def upsert(payload: dict, base_version=None) -> dict:
    data = dict(payload)
    item = {"op": "upsert", "id": data.pop("id"), "data": data}
    if base_version is not None:
        item["base_version"] = base_version
    return item


def test_a_batch_creates_updates_deletes_and_reports_each_item(patient):
    keep = EntryFactory(patient=patient)
    gone = EntryFactory(patient=patient)
    new = entry_payload()
    changed = {**entry_payload(id=str(keep.client_id)), "intensity": 1}
    response = client_for(patient).post(
        BATCH,
        {
            "items": [
                upsert(new),
                upsert(changed, base_version=1),
                {"op": "delete", "id": str(gone.client_id), "base_version": 1},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["index"], r["status"], r["version"]) for r in results] == [
        (0, "created", 1),
        (1, "updated", 2),
        (2, "updated", 2),
    ]
    assert results[2]["deleted"] is True
    assert response.json()["counts"] == {
        "created": 1,
        "updated": 2,
        "unchanged": 0,
        "conflict": 0,
        "invalid": 0,
    }
    keep.refresh_from_db()
    assert keep.intensity == 1
    assert JournalEntry.objects.get(pk=gone.pk).deleted_at is not None


def test_sending_the_same_batch_again_changes_nothing(patient):
    existing = EntryFactory(patient=patient)
    items = [
        upsert(entry_payload()),
        upsert({**entry_payload(id=str(existing.client_id)), "intensity": 2}, base_version=1),
        {"op": "delete", "id": str(uuid.uuid4())},
    ]
    client = client_for(patient)
    first = client.post(BATCH, {"items": items}, format="json").json()
    before = {e.pk: (e.version, e.seq) for e in JournalEntry.objects.all()}
    second = client.post(BATCH, {"items": items}, format="json").json()
    assert [r["status"] for r in first["results"]] == ["created", "updated", "unchanged"]
    assert [r["status"] for r in second["results"]] == ["unchanged"] * 3
    assert {e.pk: (e.version, e.seq) for e in JournalEntry.objects.all()} == before


def test_a_stale_item_is_a_conflict_carrying_the_servers_copy(patient):
    entry = EntryFactory(patient=patient)
    client = client_for(patient)
    client.post(
        BATCH,
        {
            "items": [
                upsert({**entry_payload(id=str(entry.client_id)), "intensity": 1}, base_version=1)
            ]
        },
        format="json",
    )
    stale = client.post(
        BATCH,
        {
            "items": [
                upsert({**entry_payload(id=str(entry.client_id)), "intensity": 9}, base_version=1)
            ]
        },
        format="json",
    )
    [result] = stale.json()["results"]
    assert result["status"] == "conflict"
    assert result["current"]["intensity"] == 1
    assert result["version"] == 2


def test_valid_items_are_kept_when_others_are_invalid(patient):
    good = entry_payload()
    dup = str(uuid.uuid4())
    items = [
        upsert(good),
        upsert(entry_payload(intensity=11)),
        upsert(entry_payload(occurred_at="2026-01-01T10:00:00")),
        {"op": "upsert", "id": "not-a-uuid", "data": {}},
        upsert(entry_payload(id=dup)),
        upsert(entry_payload(id=dup, intensity=2)),
        {"op": "explode", "id": str(uuid.uuid4())},
        "not an object",
        {"op": "delete", "id": str(uuid.uuid4()), "data": {"intensity": 1}},
    ]
    response = client_for(patient).post(BATCH, {"items": items}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created"] + ["invalid"] * 8
    fields = [{e["field"] for e in r["errors"]} for r in results[1:]]
    assert fields == [
        {"data.intensity"},
        {"data.occurred_at"},
        {"id"},
        {"id"},
        {"id"},
        {"op"},
        {None},
        {"data"},
    ]
    assert set(
        JournalEntry.objects.filter(patient=patient).values_list("client_id", flat=True)
    ) == {uuid.UUID(good["id"])}


def test_items_that_are_not_objects_are_each_invalid_and_the_rest_are_stored(patient):
    good, also_good = entry_payload(), entry_payload()
    far_offset = upsert(entry_payload(occurred_at="2026-11-20T09:30:00+16:00"))
    items = [None, upsert(good), 5, [], True, far_offset, upsert(also_good), None]
    response = client_for(patient).post(BATCH, {"items": items}, format="json")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    statuses = ["invalid", "created", "invalid", "invalid", "invalid", "invalid", "created"]
    assert [r["status"] for r in results] == [*statuses, "invalid"]
    assert [r["index"] for r in results] == list(range(len(items)))
    assert {e["field"] for e in results[5]["errors"]} == {"data.occurred_at"}
    assert {r["id"] for r in results if r["status"] == "invalid"} == {None, far_offset["id"]}
    assert set(
        JournalEntry.objects.filter(patient=patient).values_list("client_id", flat=True)
    ) == {
        uuid.UUID(good["id"]),
        uuid.UUID(also_good["id"]),
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": []}, "items"),
        ({"items": "nope"}, "items"),
        ({}, "items"),
        ({"items": [{"op": "delete", "id": str(uuid.uuid4())}] * 501}, "items"),
    ],
)
def test_a_bad_batch_envelope_is_a_400(patient, body, field):
    response = client_for(patient).post(BATCH, body, format="json")
    assert_problem(response, 400)
    assert field in problem_fields(response)


def test_a_batch_item_with_a_crisis_carries_support(patient):
    response = client_for(patient).post(
        BATCH, {"items": [upsert(entry_payload(intensity=10))]}, format="json"
    )
    assert response.json()["results"][0]["support"]["reasons"] == ["high_intensity"]


def _batch_queries(client, size: int) -> int:
    items = [upsert(entry_payload()) for _ in range(size)]
    with CaptureQueriesContext(connection) as captured:
        response = client.post(BATCH, {"items": items}, format="json")
    assert response.json()["counts"]["created"] == size
    updates = [
        upsert({**entry_payload(id=item["id"]), "intensity": 1}, base_version=1) for item in items
    ]
    with CaptureQueriesContext(connection) as captured_update:
        response = client.post(BATCH, {"items": updates}, format="json")
    assert response.json()["counts"]["updated"] == size
    return max(len(captured), len(captured_update))


@requires_postgres("the 15-statement bound; SQLite splits bulk inserts at 999 parameters")
def test_a_500_entry_batch_runs_at_most_15_statements(patient):
    client = client_for(patient)
    assert _batch_queries(client, 500) <= 15
    assert _batch_queries(client, 10) == _batch_queries(client, 500)


def test_the_batch_statement_count_does_not_grow_per_item(patient):
    # SQLite caps a statement at 999 parameters, so Django splits bulk inserts
    # into chunks: the count grows by chunk, never by item.
    client = client_for(patient)
    small, large = _batch_queries(client, 10), _batch_queries(client, 200)
    assert large <= small + 2 * (200 * 30 // 999 + 1)
