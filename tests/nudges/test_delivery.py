"""Delivery: claims, the stale left unsent, retries with backoff, Web Push to a fake service."""

import itertools
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from backend.accounts import services as account_services
from backend.consent import services as consent_services
from backend.nudges import delivery
from backend.nudges.models import Delivery, Nudge, PushSubscription
from backend.nudges.wording import URGENT_TITLE, revealing_words
from tests.factories import (
    PASSWORD,
    CareLinkFactory,
    EntryFactory,
    FamilyLinkFactory,
    PatientFactory,
    grant_for,
)
from tests.helpers import (
    assert_flat_queries,
    assert_problem,
    client_for,
    problem_fields,
    requires_postgres,
)
from tests.nudges.helpers import b64url, browser_keys, push_subscription_body

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)


def _nudge(recipient, due=NOW, tolerance=timedelta(minutes=30), **extra) -> Nudge:
    return Nudge.objects.create(
        recipient=recipient,
        slot=due,
        due_at=due,
        next_attempt_at=due,
        title="Time for your daily note",
        tolerance=tolerance,
        **extra,
    )


def _ok(nudge):
    return delivery.Outcome(True)


def test_due_nudges_are_sent_once_and_reach_the_inbox():
    patient = PatientFactory()
    due, later = _nudge(patient), _nudge(patient, due=NOW + timedelta(hours=1))
    first = delivery.deliver(NOW, sender=_ok)
    assert first == {"sent": 1, "failed": 0, "skipped": 0, "claimed": 1}
    assert delivery.deliver(NOW, sender=_ok)["claimed"] == 0
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.state, later.state) == ("sent", "pending")
    assert Delivery.objects.filter(nudge=due, channel="inbox").count() == 1
    with time_machine.travel(NOW + timedelta(minutes=5)):
        inbox = client_for(patient).get("/api/v1/nudges/inbox/").json()["results"]
        assert [item["id"] for item in inbox] == [str(due.pk)]
        opened = client_for(patient).post(f"/api/v1/nudges/inbox/{due.pk}/opened/")
        assert opened.json()["opened_at"] is not None


def test_a_nudge_whose_moment_passed_while_no_scheduler_ran_is_skipped():
    patient = PatientFactory()
    stale = _nudge(patient, due=NOW - timedelta(hours=5))  # 3 a.m. is no time for it
    assert delivery.deliver(NOW, sender=_ok)["skipped"] == 1
    stale.refresh_from_db()
    assert stale.state == "skipped"
    assert not Delivery.objects.exists()


def test_failures_back_off_exponentially_then_the_nudge_is_dead():
    patient = PatientFactory()
    nudge = _nudge(patient, tolerance=timedelta(hours=6))

    def broken(nudge):
        return delivery.Outcome(False, "push service answered 503")

    moments = []
    at = NOW
    for _ in range(delivery.MAX_ATTEMPTS):
        with time_machine.travel(at, tick=False):
            delivery.deliver(at, sender=broken)
        nudge.refresh_from_db()
        moments.append(nudge.next_attempt_at)
        at = nudge.next_attempt_at
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(moments)]
    assert gaps[:3] == [60, 120, 240]
    assert nudge.state == "dead"
    assert nudge.last_error == "push service answered 503"
    assert nudge.attempts == delivery.MAX_ATTEMPTS


def test_a_claimed_row_is_not_claimed_twice_until_its_lease_runs_out():
    patient = PatientFactory()
    _nudge(patient)
    first = delivery.claim(NOW)
    assert len(first) == 1
    assert delivery.claim(NOW) == []
    lease = timedelta(seconds=121)
    taken_again = delivery.claim(NOW + lease)
    assert [n.pk for n in taken_again] == [first[0].pk]
    # The first sender's late answer changes nothing: the claim is no longer its own.
    delivery._finish(first[0], delivery.Outcome(True), NOW + lease)
    assert Nudge.objects.get().state == "sending"
    delivery._finish(taken_again[0], delivery.Outcome(True), NOW + lease)
    assert Nudge.objects.get().state == "sent"
    assert Delivery.objects.count() == 1


@requires_postgres("SKIP LOCKED across connections")
@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_take_disjoint_rows():
    patient = PatientFactory()
    for minute in range(60):
        _nudge(patient, due=NOW - timedelta(minutes=minute % 10))
    claimed: list[list] = []
    barrier = threading.Barrier(4)

    def sender():
        barrier.wait()
        claimed.append([n.pk for n in delivery.claim(NOW, limit=20)])
        connection.close()

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [pk for batch in claimed for pk in batch]
    assert len(every) == len(set(every)) == 60


# --- crisis alerts through the same outbox --------------------------------------------------


def test_a_crisis_alert_reaches_only_recipients_with_the_scope_urgently_and_neutrally():
    patient = PatientFactory()
    therapist = CareLinkFactory(patient=patient).therapist
    family = FamilyLinkFactory(patient=patient).member
    quiet_family = FamilyLinkFactory(patient=patient).member
    grant_for(patient, therapist, ["crisis_alerts"])
    grant_for(patient, family, ["crisis_alerts", "checkins"])
    grant_for(patient, quiet_family, ["checkins"])
    EntryFactory(patient=patient, intensity=9)
    urgent = Nudge.objects.filter(urgent=True)
    assert sorted(n.recipient_id for n in urgent) == sorted([therapist.pk, family.pk])
    assert all(n.title == URGENT_TITLE for n in urgent)
    assert revealing_words(URGENT_TITLE) == []
    counts = delivery.deliver(timezone.now() + timedelta(hours=3), sender=_ok)
    assert counts["sent"] == 2, "urgent alerts are sent even late"
    inbox = client_for(therapist).get("/api/v1/nudges/inbox/").json()["results"]
    assert [(i["kind"], i["urgent"]) for i in inbox] == [("crisis_alert", True)]


# --- Web Push to a fake push service on loopback ----------------------------------------------


class _PushService(BaseHTTPRequestHandler):
    received: list
    status = 201

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.received.append((dict(self.headers), self.rfile.read(length)))
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def push_service():
    handler = type("Handler", (_PushService,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_port}/push/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def vapid_key():
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with override_settings(
        VAPID_PRIVATE_KEY=b64url(der),
        VAPID_SUBJECT="mailto:it@clinic.test",
        WEB_PUSH_ALLOW_LOOPBACK=True,
    ):
        yield key


def _subscribe(user, endpoint):
    response = client_for(user).post(
        "/api/v1/nudges/push-subscriptions/", push_subscription_body(endpoint), format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_web_push_sends_an_encrypted_neutral_message(push_service, vapid_key):
    handler, endpoint = push_service
    patient = PatientFactory()
    _subscribe(patient, f"{endpoint}device-1")
    nudge = _nudge(patient, due=timezone.now())
    counts = delivery.deliver()
    assert counts["sent"] == 1
    [(headers, body)] = handler.received
    headers = {k.lower(): v for k, v in headers.items()}
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["authorization"].startswith("vapid t=")
    assert int(headers["ttl"]) == 30 * 60
    private, auth = browser_keys()
    payload = json.loads(http_ece.decrypt(body, private_key=private, auth_secret=auth))
    assert payload == {"id": str(nudge.pk), "title": "Time for your daily note", "urgent": False}
    assert revealing_words(payload["title"]) == []


def test_a_gone_subscription_is_forgotten_and_a_failing_service_retried(push_service, vapid_key):
    handler, endpoint = push_service
    patient = PatientFactory()
    _subscribe(patient, f"{endpoint}gone")
    handler.status = 410
    first = _nudge(patient, due=timezone.now())
    assert delivery.deliver()["sent"] == 1
    assert not PushSubscription.objects.exists()
    first.refresh_from_db()
    assert first.state == "sent"

    _subscribe(patient, f"{endpoint}flaky")
    handler.status = 503
    second = _nudge(patient, due=timezone.now() + timedelta(seconds=1))
    with time_machine.travel(timezone.now() + timedelta(seconds=2)):
        assert delivery.deliver()["failed"] == 1
    second.refresh_from_db()
    assert (second.state, second.last_error) == ("failed", "push service answered 503")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"endpoint": "http://push.example.test/x"}, "endpoint"),
        ({"endpoint": "https://127.0.0.1/x"}, "endpoint"),
        ({"keys": {"p256dh": b64url(b"\x04" + b"\x00" * 64), "auth": b64url(b"a" * 16)}}, "p256dh"),
        ({"keys": {"p256dh": "!!!", "auth": b64url(b"a" * 16)}}, "keys.p256dh"),
        ({"keys": {"p256dh": None, "auth": "x"}}, "keys.p256dh"),
        ({"auth_only": True}, "auth_only"),
    ],
)
def test_bad_push_subscriptions_are_refused(body, field):

    good = push_subscription_body("https://push.example.test/device")
    if "keys" in body:
        good["keys"] = body.pop("keys")
    good.update(body)
    response = client_for(PatientFactory()).post(
        "/api/v1/nudges/push-subscriptions/", good, format="json"
    )
    assert_problem(response, 400)
    fields = problem_fields(response)
    assert any(name.startswith(field) or name == field.split(".")[-1] for name in fields), fields
    assert not PushSubscription.objects.exists()


def test_a_failing_push_never_hides_the_inbox_copy(push_service, vapid_key):
    handler, endpoint = push_service
    patient = PatientFactory()
    _subscribe(patient, f"{endpoint}down")
    handler.status = 503
    nudge = _nudge(patient, due=timezone.now())
    delivery.deliver()
    nudge.refresh_from_db()
    assert nudge.state == "failed", "push is retried"
    inbox = client_for(patient).get("/api/v1/nudges/inbox/").json()["results"]
    assert [item["id"] for item in inbox] == [str(nudge.pk)], "but the inbox has it already"


def test_a_withdrawn_consent_stops_a_queued_crisis_alert_and_hides_it():
    patient = PatientFactory()
    therapist = CareLinkFactory(patient=patient).therapist
    grant = grant_for(patient, therapist, ["crisis_alerts"])
    EntryFactory(patient=patient, intensity=9)

    consent_services.grant_revoke(grant=grant, by=patient)
    assert delivery.deliver(timezone.now() + timedelta(seconds=1), sender=_ok)["skipped"] == 1
    assert client_for(therapist).get("/api/v1/nudges/inbox/").json()["results"] == []


def test_a_closed_account_receives_nothing_more(push_service, vapid_key):

    handler, endpoint = push_service
    patient = PatientFactory()
    _subscribe(patient, f"{endpoint}phone")
    nudge = _nudge(patient, due=timezone.now())
    account_services.user_deactivate(user=patient, password=PASSWORD)
    delivery.deliver(timezone.now() + timedelta(seconds=1))
    nudge.refresh_from_db()
    assert nudge.state == "skipped"
    assert handler.received == []
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    "endpoint",
    ["https://10.0.0.5/x", "https://169.254.169.254/latest", "https://[::1]/x", "https://127.1/x"],
)
def test_a_push_endpoint_must_be_on_the_public_internet(endpoint):
    response = client_for(PatientFactory()).post(
        "/api/v1/nudges/push-subscriptions/", push_subscription_body(endpoint), format="json"
    )
    assert response.status_code == 400
    assert not PushSubscription.objects.exists()


def test_inbox_only_nudges_are_delivered_a_batch_at_a_time():
    def due(nudges: int) -> None:
        for _ in range(nudges):
            _nudge(PatientFactory())

    def deliver(nudges: int) -> None:
        assert delivery.deliver(NOW)["sent"] == nudges

    assert_flat_queries(deliver, (1, 30), prepare=due)
    assert Delivery.objects.filter(channel="inbox").count() == 31
