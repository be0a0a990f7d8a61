"""Idempotency-Key on POST: a retry gets the first answer and does nothing twice."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from backend.care import services as care_services
from backend.care.models import CareInvite
from backend.core.idempotency import REPLAYED_HEADER, idempotency_keys_purge
from backend.core.models import IdempotencyKey
from backend.core.time import local_today
from backend.journal import services as journal_services
from backend.journal.models import JournalEntry, SobrietyCounter
from tests.factories import entry_payload
from tests.helpers import assert_problem, client_for, problem_fields, requires_postgres
from tests.journal.helpers import ENTRIES

pytestmark = pytest.mark.django_db

INVITES = "/api/v1/care/invites/"
COUNTERS = "/api/v1/journal/counters/"


def _post(client, url, body=None, key="key-1", **headers):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **headers)


def test_a_retry_gets_the_first_answer_and_creates_nothing_new(linked_therapist):
    client = client_for(linked_therapist)
    first = _post(client, INVITES)
    again = _post(client, INVITES)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again[REPLAYED_HEADER] == "true"
    assert REPLAYED_HEADER not in first
    assert CareInvite.objects.filter(therapist=linked_therapist).count() == 1
    # A new key is a new request.
    assert _post(client, INVITES, key="key-2").json()["code"] != first.json()["code"]
    assert CareInvite.objects.filter(therapist=linked_therapist).count() == 2


def test_without_the_header_every_post_runs(linked_therapist):
    client = client_for(linked_therapist)
    client.post(INVITES)
    client.post(INVITES)
    assert CareInvite.objects.filter(therapist=linked_therapist).count() == 2
    assert not IdempotencyKey.objects.exists()


def test_replay_keeps_status_location_and_etag(patient):
    client = client_for(patient)
    body = entry_payload()
    first = _post(client, ENTRIES, body)
    again = _post(client, ENTRIES, body)
    assert first.status_code == again.status_code == 201
    assert again["Location"] == first["Location"]
    assert again["ETag"] == first["ETag"]
    assert again["Content-Type"] == first["Content-Type"]
    assert again.json() == first.json()
    assert JournalEntry.objects.filter(patient=patient).count() == 1


def test_the_same_json_in_another_key_order_is_the_same_request(patient):
    client = client_for(patient)
    # Today on the patient's clock (New York), not UTC's: a later date is in the future.
    body = {"substance": "alcohol", "start_date": local_today(patient).isoformat()}
    first = _post(client, COUNTERS, body)
    again = client.post(
        COUNTERS,
        f'{{ "start_date": "{body["start_date"]}", "substance": "alcohol" }}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )
    assert first.status_code == again.status_code == 201
    assert again[REPLAYED_HEADER] == "true"
    assert SobrietyCounter.objects.filter(patient=patient).count() == 1


def test_the_same_key_with_another_body_is_refused(patient):
    client = client_for(patient)
    _post(client, COUNTERS, {"substance": "alcohol", "start_date": "2026-11-01"})
    other = _post(client, COUNTERS, {"substance": "nicotine", "start_date": "2026-11-01"})
    body = assert_problem(other, 422)
    assert body["code"] == "idempotency_key_reused"
    assert SobrietyCounter.objects.filter(patient=patient).count() == 1


def test_the_same_key_on_another_endpoint_is_refused(patient):
    client = client_for(patient)
    _post(client, COUNTERS, {"substance": "alcohol", "start_date": "2026-11-01"})
    other = _post(client, ENTRIES, entry_payload())
    assert assert_problem(other, 422)["code"] == "idempotency_key_reused"
    assert not JournalEntry.objects.filter(patient=patient).exists()


def test_keys_belong_to_one_user(patient, other_patient):
    body = {"substance": "alcohol", "start_date": "2026-11-01"}
    mine = _post(client_for(patient), COUNTERS, body)
    theirs = _post(client_for(other_patient), COUNTERS, body)
    assert mine.status_code == theirs.status_code == 201
    assert REPLAYED_HEADER not in theirs
    assert mine.json()["id"] != theirs.json()["id"]
    assert SobrietyCounter.objects.count() == 2


def test_an_invalid_request_is_kept_too(patient):
    client = client_for(patient)
    bad = {"substance": "alcohol", "start_date": "not a date"}
    first = _post(client, COUNTERS, bad)
    again = _post(client, COUNTERS, bad)
    assert_problem(first, 400)
    assert_problem(again, 400)
    assert again[REPLAYED_HEADER] == "true"
    assert again.json() == first.json()


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("", "empty"),
        ("x" * 256, "too long"),
        ("caf\u00e9", "not ASCII"),
        ("   ", "only spaces"),
    ],
)
def test_a_malformed_key_is_a_field_error(patient, key, why):
    response = _post(
        client_for(patient), COUNTERS, {"substance": "alcohol", "start_date": "2026-11-01"}, key
    )
    assert_problem(response, 400)
    assert "Idempotency-Key" in problem_fields(response), why
    assert not SobrietyCounter.objects.exists()


def test_a_request_still_running_answers_409_and_runs_nothing(patient):
    IdempotencyKey.objects.create(
        user=patient, key="key-1", method="POST", path=COUNTERS, fingerprint="0" * 64
    )
    response = _post(client_for(patient), COUNTERS, {"substance": "alcohol"})
    # The fingerprint differs, so this is reuse: 422 wins over "in progress".
    assert assert_problem(response, 422)["code"] == "idempotency_key_reused"

    body = {"substance": "alcohol", "start_date": "2026-11-01"}
    client = client_for(patient)
    _post(client, COUNTERS, body, key="key-2")
    IdempotencyKey.objects.filter(key="key-2").update(
        response_status=None, response_body="", created_at=timezone.now()
    )
    running = _post(client, COUNTERS, body, key="key-2")
    assert assert_problem(running, 409)["code"] == "idempotency_request_in_progress"
    assert running["Retry-After"]
    assert SobrietyCounter.objects.count() == 1


def test_a_request_left_running_by_a_dead_worker_is_taken_over(patient):
    body = {"substance": "alcohol", "start_date": "2026-11-01"}
    client = client_for(patient)
    _post(client, COUNTERS, body)
    SobrietyCounter.objects.all().delete()  # the dead worker's writes rolled back
    IdempotencyKey.objects.update(
        response_status=None, response_body="", created_at=timezone.now() - timedelta(minutes=6)
    )
    response = _post(client, COUNTERS, body)
    assert response.status_code == 201
    assert REPLAYED_HEADER not in response
    assert SobrietyCounter.objects.count() == 1
    assert IdempotencyKey.objects.get().response_status == 201


def test_keys_expire_after_24_hours(linked_therapist):
    client = client_for(linked_therapist)
    first = _post(client, INVITES)
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    later = _post(client, INVITES)
    assert later.status_code == 201
    assert REPLAYED_HEADER not in later
    assert later.json()["code"] != first.json()["code"]
    assert IdempotencyKey.objects.count() == 1  # the expired row was reused in place


def test_a_key_just_under_24_hours_old_still_replays(linked_therapist):
    client = client_for(linked_therapist)
    _post(client, INVITES)
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=23, minutes=59))
    assert _post(client, INVITES)[REPLAYED_HEADER] == "true"


def test_a_server_error_is_not_kept_so_the_client_can_retry(linked_therapist, monkeypatch):
    client = client_for(linked_therapist)
    client.raise_request_exception = False
    real = care_services.invite_create

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(care_services, "invite_create", broken)
    assert _post(client, INVITES).status_code == 500
    assert not IdempotencyKey.objects.exists()

    monkeypatch.setattr(care_services, "invite_create", real)
    retry = _post(client, INVITES)
    assert retry.status_code == 201
    assert REPLAYED_HEADER not in retry


def test_a_view_failure_rolls_back_its_writes_with_the_key(patient, monkeypatch):

    client = client_for(patient)
    client.raise_request_exception = False
    real = journal_services.counter_create

    def create_then_fail(**kwargs):
        real(**kwargs)
        raise RuntimeError("crash after the write")

    monkeypatch.setattr(journal_services, "counter_create", create_then_fail)
    response = _post(client, COUNTERS, {"substance": "alcohol", "start_date": "2026-11-01"})
    assert response.status_code == 500
    assert not SobrietyCounter.objects.exists()
    assert not IdempotencyKey.objects.exists()


def test_the_stored_answer_is_encrypted_at_rest(linked_therapist):
    code = _post(client_for(linked_therapist), INVITES).json()["code"]
    with connection.cursor() as cursor:
        table = IdempotencyKey._meta.db_table
        cursor.execute(f"SELECT response_body FROM {table}")  # noqa: S608 - our table name
        [(raw,)] = cursor.fetchall()
    assert code not in raw


def test_anonymous_requests_ignore_the_header(api):
    response = api.post(INVITES, HTTP_IDEMPOTENCY_KEY="key-1")
    assert_problem(response, 401)
    assert not IdempotencyKey.objects.exists()


def test_purge_deletes_only_expired_keys(patient, other_patient):
    now = timezone.now()
    for user, key, age in [
        (patient, "old", timedelta(hours=25)),
        (patient, "new", timedelta(hours=1)),
        (other_patient, "old", timedelta(days=3)),
    ]:
        IdempotencyKey.objects.create(
            user=user,
            key=key,
            method="POST",
            path="/",
            fingerprint="0" * 64,
            created_at=now - age,
            response_status=201,
        )
    assert idempotency_keys_purge(now=now) == 2
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


def test_purge_command_reports_the_count(patient, capsys):
    IdempotencyKey.objects.create(
        user=patient,
        key="old",
        method="POST",
        path="/",
        fingerprint="0" * 64,
        created_at=timezone.now() - timedelta(days=2),
        response_status=200,
    )
    call_command("purge_idempotency_keys")
    assert "Purged 1 expired idempotency keys." in capsys.readouterr().out
    assert not IdempotencyKey.objects.exists()


def test_purge_command_is_silent_at_verbosity_0(patient, capsys):
    call_command("purge_idempotency_keys", verbosity=0)
    assert capsys.readouterr().out == ""


def test_the_schema_documents_the_header_and_its_answers():

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in (
        "/api/v1/journal/entries/",
        "/api/v1/journal/entries/batch/",
        "/api/v1/journal/checkins/",
        "/api/v1/journal/counters/",
        "/api/v1/journal/counters/{counter_id}/decisions/",
        "/api/v1/care/invites/",
        "/api/v1/care/invites/redeem/",
    ):
        post = schema["paths"][path]["post"]
        assert "Idempotency-Key" in [p["name"] for p in post.get("parameters", [])], path
        assert {"409", "422"} <= set(post["responses"]), path


@requires_postgres("a duplicate must see the first request's key while it runs")
@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_gets_409_then_the_replay(linked_therapist, monkeypatch):
    inside, release = threading.Event(), threading.Event()
    real = care_services.invite_create

    def slow(**kwargs):
        result = real(**kwargs)
        inside.set()
        assert release.wait(timeout=20)
        return result

    monkeypatch.setattr(care_services, "invite_create", slow)
    first: dict = {}

    def run_first():
        try:
            first["response"] = _post(client_for(linked_therapist), INVITES, key="k")
        finally:
            connection.close()

    thread = threading.Thread(target=run_first)
    thread.start()
    try:
        assert inside.wait(timeout=20)
        duplicate = _post(client_for(linked_therapist), INVITES, key="k")
        assert assert_problem(duplicate, 409)["code"] == "idempotency_request_in_progress"
    finally:
        release.set()
        thread.join(timeout=30)
    assert first["response"].status_code == 201
    replay = _post(client_for(linked_therapist), INVITES, key="k")
    assert replay[REPLAYED_HEADER] == "true"
    assert replay.json() == first["response"].json()
    assert CareInvite.objects.count() == 1


@requires_postgres("racing claims need concurrent connections")
@pytest.mark.django_db(transaction=True)
def test_racing_duplicates_run_the_view_once(patient):
    body = entry_payload(id=str(uuid.uuid4()))
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def send():
        try:
            client = client_for(patient)
            barrier.wait()
            statuses.append(_post(client, ENTRIES, body, key="race").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(statuses) == 6
    assert set(statuses) <= {201, 409}
    assert statuses.count(201) >= 1
    assert JournalEntry.objects.filter(patient=patient).count() == 1
    assert IdempotencyKey.objects.get().response_status == 201
