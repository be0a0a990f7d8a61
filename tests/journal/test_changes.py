import threading
import uuid

import pytest
from django.db import connection, transaction

from backend.journal import selectors, services
from backend.journal.serializers import EntryUpdateSerializer
from tests.factories import EntryFactory, entry_payload
from tests.helpers import (
    assert_flat_queries,
    assert_problem,
    client_for,
    problem_fields,
    requires_postgres,
)
from tests.journal.helpers import ENTRIES

CHANGES = "/api/v1/journal/changes/"


def _sync(client, cursor="0", limit=100):
    seen, pages = [], 0
    while True:
        response = client.get(f"{CHANGES}?cursor={cursor}&limit={limit}")
        assert response.status_code == 200, response.content
        body = response.json()
        seen.extend(body["changes"])
        cursor, pages = body["next_cursor"], pages + 1
        if not body["has_more"]:
            return seen, cursor, pages


@pytest.mark.django_db
def test_the_feed_replays_creates_updates_and_deletes_in_order(patient, other_patient):
    client = client_for(patient)
    a = EntryFactory(patient=patient)
    b = EntryFactory(patient=patient)
    client.post("/api/v1/journal/checkins/", {
        "id": str(uuid.uuid4()), "local_date": "2026-11-01", "mood": 0, "peak_craving": 2,
        "used_today": False, "medication": "yes"}, format="json")  # fmt: skip
    EntryFactory(patient=other_patient)
    changes, cursor, _ = _sync(client)
    assert [c["kind"] for c in changes] == ["entry", "entry", "checkin"]
    assert [c["seq"] for c in changes] == sorted(c["seq"] for c in changes)

    client.patch(
        f"{ENTRIES}{a.client_id}/", {"intensity": 1}, format="json", headers={"If-Match": '"1"'}
    )
    client.delete(f"{ENTRIES}{b.client_id}/")
    later, cursor2, _ = _sync(client, cursor)
    assert [(c["id"], c["deleted"], c["version"]) for c in later] == [
        (str(a.client_id), False, 2),
        (str(b.client_id), True, 2),
    ]
    assert later[0]["data"]["intensity"] == 1
    assert later[1]["data"] is None
    assert _sync(client, cursor2)[0] == []


@pytest.mark.django_db
def test_small_pages_see_everything_once(patient):
    for _ in range(23):
        EntryFactory(patient=patient)
    changes, _, pages = _sync(client_for(patient), limit=5)
    assert pages == 5
    assert len({c["id"] for c in changes}) == len(changes) == 23


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["cursor=-1", "cursor=abc", "limit=0", "limit=501", "cursor=999"])
def test_bad_cursors_are_400(patient, query):
    EntryFactory(patient=patient)
    response = client_for(patient).get(f"{CHANGES}?{query}")
    assert_problem(response, 400)
    assert set(problem_fields(response)) & {"cursor", "limit"}


@pytest.mark.django_db
def test_the_feed_query_count_does_not_grow_with_the_page(patient):
    for _ in range(60):
        EntryFactory(patient=patient)
    client = client_for(patient)

    def changes(limit: int) -> None:
        assert len(client.get(f"{CHANGES}?limit={limit}").json()["changes"]) == limit

    assert_flat_queries(changes, (5, 60), at_most=5)


@pytest.mark.django_db
def test_the_feed_never_shows_another_patients_records(patient, other_patient):
    theirs = EntryFactory(patient=other_patient)
    EntryFactory(patient=patient)
    changes, _, _ = _sync(client_for(patient))
    assert str(theirs.client_id) not in {c["id"] for c in changes}


@requires_postgres("transactions on concurrent connections")
@pytest.mark.django_db(transaction=True)
def test_a_sync_during_concurrent_writes_that_commit_out_of_order_misses_nothing(patient):
    """Writer A starts first and commits last; a reader syncs in between and again after.

    With a plain auto-increment or updated_at cursor, B's later-numbered write would be
    seen before A's commits and the reader's cursor would pass over A for good.
    """
    a_started, b_committed, a_may_commit = threading.Event(), threading.Event(), threading.Event()
    errors = []

    def op():
        data = dict(entry_payload())
        entry_id = uuid.UUID(data.pop("id"))

        serializer = EntryUpdateSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        return [services.EntryOp("upsert", entry_id, None, dict(serializer.validated_data))]

    def writer_a():
        try:
            with transaction.atomic():
                connection.cursor().execute("SELECT 1")  # the transaction has begun
                a_started.set()
                b_committed.wait(5)  # B asks for its number later and would commit first...
                services.entries_apply(patient=patient, ops=op())
                a_may_commit.wait(10)
        except Exception as exc:  # pragma: no cover - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    def writer_b():
        try:
            a_started.wait(5)
            services.entries_apply(patient=patient, ops=op())
            b_committed.set()
        except Exception as exc:  # pragma: no cover
            errors.append(exc)
        finally:
            connection.close()

    # Second act: A holds its number (uncommitted) while B waits behind it.
    def writer_c(done):
        try:
            services.entries_apply(patient=patient, ops=op())
        finally:
            done.set()
            connection.close()

    ta, tb = threading.Thread(target=writer_a), threading.Thread(target=writer_b)
    ta.start()
    tb.start()
    tb.join(10)
    # B committed; A has reserved its number after B and is still open.
    page, cursor, _ = selectors.changes_since(patient=patient, cursor=0, limit=100)
    assert len(page) == 1
    c_done = threading.Event()
    tc = threading.Thread(target=writer_c, args=(c_done,))
    tc.start()
    assert not c_done.wait(1), "C must wait for A's lock: numbers commit in order"
    # While A is open, the reader sees only what is committed below A's number.
    page2, cursor2, _ = selectors.changes_since(patient=patient, cursor=cursor, limit=100)
    assert page2 == []
    assert cursor2 == cursor
    a_may_commit.set()
    ta.join(10)
    tc.join(10)
    page3, _, _ = selectors.changes_since(patient=patient, cursor=cursor2, limit=100)
    assert not errors
    assert len(page3) == 2, "A and C, neither skipped"
    assert [kind for kind, _ in page3] == ["entry", "entry"]
