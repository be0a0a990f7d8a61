"""Seed (or reuse) a therapist's share feed for the `feed` benchmark and measure its queries.

Run by bench/run.sh as `python bench/seed_feed.py` with DJANGO_SETTINGS_MODULE=bench.settings
and the repository root on PYTHONPATH. A therapist with PATIENTS linked patients, each
with ENTRIES_PER_PATIENT journal entries over the last ENTRY_DAYS days (SHARED_FRACTION
of them marked shared, a few deleted), daily check-ins with gaps, a crisis alert for
every very high craving or lapse, and the feed items the journal services write for
each. The patients' consents differ, so the feed query meets every branch of the
policy: a quarter grant journal.all, the others journal.shared; most grant check-ins
and crisis alerts; some hold a revoked or an expired older grant as well. Kept apart
from the `caseload` scenario's therapist, whose patients grant every scope.

Prints two lines on stdout: the therapist's access token, and a JSON object with the
queries each timed request runs (measured in-process).
"""

import json
import os
import random
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402 (after django.setup)
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from backend.accounts.models import User  # noqa: E402
from backend.accounts.services import tokens_issue  # noqa: E402
from backend.consent.models import ConsentGrant, GrantScope  # noqa: E402
from backend.consent.scopes import Scope  # noqa: E402
from backend.consent.services import describe  # noqa: E402
from backend.journal.models import (  # noqa: E402
    CareTeamAlert,
    CheckIn,
    FeedItem,
    JournalEntry,
    Medication,
    Outcome,
    Substance,
    SyncState,
)
from backend.journal.services import alert_reasons  # noqa: E402
from backend.sharing.models import FeedReview  # noqa: E402
from bench.seeding import bench_caseload, bench_user  # noqa: E402

THERAPIST_EMAIL = "bench-feed-therapist@bench.invalid"
PATIENTS = 100
ENTRIES_PER_PATIENT = 1_000
ENTRY_DAYS = 180
CHECKIN_DAYS = 90
SHARED_FRACTION = 0.3
DELETED_FRACTION = 0.02
ZONES = ("America/Chicago", "America/New_York", "Europe/London", "Pacific/Auckland")
FEED_PATHS = {
    "page25": "/api/v1/care/feed/",
    "page100": "/api/v1/care/feed/?page_size=100",
}


def _scopes(number: int) -> list[str]:
    """What patient ``number`` shares: every branch of the feed's policy appears."""
    journal = Scope.JOURNAL_ALL if number % 4 == 0 else Scope.JOURNAL_SHARED
    scopes = [journal, Scope.INSIGHTS, Scope.COUNTERS]
    if number % 10 != 3:
        scopes.append(Scope.CHECKINS)
    if number % 10 != 7:
        scopes.append(Scope.CRISIS_ALERTS)
    return scopes


def _grant(patient: User, therapist: User, scopes: list[str], *, start, end, revoked=None) -> None:
    # Inserted directly (grant_create checks the window against now): the same rows it writes.
    grant = ConsentGrant.objects.create(
        patient=patient,
        recipient=therapist,
        recipient_role=therapist.role,
        purpose="treatment",
        description=describe(scopes),
        starts_at=start,
        expires_at=end,
        signature_name=patient.display_name,
        signed_at=start,
        revoked_at=revoked,
        revoked_by=patient if revoked else None,
    )
    GrantScope.objects.bulk_create(
        GrantScope(
            grant=grant,
            patient=patient,
            recipient=therapist,
            scope=scope,
            starts_at=start,
            expires_at=end,
            ended_at=revoked or (end if end <= timezone.now() else None),
        )
        for scope in scopes
    )


def _consents(patients: list[User], therapist: User) -> None:
    """Each patient's grants: an open one, and for some an old revoked or expired one.

    Made once: the disclosure log refers to grants, so they are never replaced.
    """
    if ConsentGrant.objects.filter(recipient=therapist).exists():
        return
    now = timezone.now()
    for number, patient in enumerate(patients):
        if number % 5 == 1:
            _grant(
                patient,
                therapist,
                list(Scope.values),
                start=now - timedelta(days=300),
                end=now + timedelta(days=65),
                revoked=now - timedelta(days=200),
            )
        elif number % 5 == 2:
            _grant(
                patient,
                therapist,
                list(Scope.values),
                start=now - timedelta(days=400),
                end=now - timedelta(days=200),
            )
        _grant(
            patient,
            therapist,
            _scopes(number),
            start=now - timedelta(days=190),
            end=now + timedelta(days=175),
        )


def _patients(therapist: User) -> list[User]:
    return bench_caseload(
        therapist,
        count=PATIENTS,
        address="bench-feed-{number:03d}@bench.invalid",
        name="Feed patient {number:03d}",
        zones=ZONES,
    )


def _is_seeded(patients: list[User]) -> bool:
    entries = JournalEntry.objects.filter(patient__in=patients)
    newest = entries.order_by("-occurred_at").values_list("occurred_at", flat=True).first()
    # Entries are placed relative to now: a copy from an earlier day is seeded again.
    try:
        # bench/run.sh makes new encryption keys each run: older text cannot be read.
        entries.exclude(situation="").only("situation").first()
    except ValueError:
        return False
    return (
        entries.count() == PATIENTS * ENTRIES_PER_PATIENT
        and FeedItem.objects.filter(patient__in=patients, kind=FeedItem.Kind.ENTRY).count()
        == PATIENTS * ENTRIES_PER_PATIENT
        and newest is not None
        and newest > timezone.now() - timedelta(days=1)
    )


@transaction.atomic
def _seed_journals(patients: list[User], therapist: User) -> None:
    """Entries, check-ins, alerts and their feed items, as the journal services write them."""
    # Cascades to alerts and feed items; only ids are read, so old keys do not matter.
    JournalEntry.objects.filter(patient__in=patients).only("pk").delete()
    CheckIn.objects.filter(patient__in=patients).only("pk").delete()
    rng = random.Random(20261125)
    now = timezone.now()
    entries, checkins, alerts, feed = [], [], [], []
    for patient in patients:
        tz = ZoneInfo(patient.time_zone)
        today = now.astimezone(tz).date()
        seq = 0
        for _ in range(ENTRIES_PER_PATIENT):
            seq += 1
            occurred = now - timedelta(minutes=5, seconds=rng.randrange(ENTRY_DAYS * 86400))
            deleted = rng.random() < DELETED_FRACTION
            entry = JournalEntry(
                client_id=uuid.uuid4(),
                patient=patient,
                seq=seq,
                occurred_at=occurred,
                utc_offset_minutes=int(occurred.astimezone(tz).utcoffset().total_seconds() // 60),
                local_date=occurred.astimezone(tz).date(),
                intensity=min(10, max(0, round(rng.gauss(5, 2.2)))),
                substance=Substance.ALCOHOL,
                halt_tired=rng.random() < 0.3,
                situation="" if deleted else "Synthetic benchmark entry.",
                outcome=rng.choice([Outcome.RESISTED] * 12 + [Outcome.LAPSED, Outcome.USED]),
                shared=not deleted and rng.random() < SHARED_FRACTION,
                deleted_at=occurred + timedelta(hours=1) if deleted else None,
            )
            entries.append(entry)
            feed.append(
                FeedItem(
                    patient=patient,
                    kind=FeedItem.Kind.ENTRY,
                    entry=entry,
                    at=occurred,
                    shared=entry.shared,
                )
            )
            for reason in alert_reasons(entry):
                alert = CareTeamAlert(patient=patient, entry=entry, reason=reason)
                alerts.append(alert)
                # The services stamp an alert's item with when it was raised: the upload.
                feed.append(
                    FeedItem(patient=patient, kind=FeedItem.Kind.ALERT, alert=alert, at=occurred)
                )
        for back in range(CHECKIN_DAYS):
            day = today - timedelta(days=back)
            # Stamped, as the services do, with when the patient checked in that day.
            at = datetime.combine(day, time(7), tzinfo=tz) + timedelta(
                minutes=rng.randrange(15 * 60)
            )
            if rng.random() < 0.15 or at > now:
                continue  # a day missed, or today's check-in not made yet
            seq += 1
            checkin = CheckIn(
                client_id=uuid.uuid4(),
                patient=patient,
                seq=seq,
                local_date=day,
                mood=rng.randint(-3, 3),
                peak_craving=rng.randint(0, 10),
                used_today=False,
                medication=Medication.YES,
            )
            checkins.append(checkin)
            feed.append(
                FeedItem(patient=patient, kind=FeedItem.Kind.CHECKIN, checkin=checkin, at=at)
            )
        SyncState.objects.update_or_create(patient=patient, defaults={"last_seq": seq})
    JournalEntry.objects.bulk_create(entries, batch_size=2000)
    CareTeamAlert.objects.bulk_create(alerts, batch_size=2000)
    CheckIn.objects.bulk_create(checkins, batch_size=2000)
    FeedItem.objects.bulk_create(feed, batch_size=2000)
    # The therapist has worked through part of the feed: some items carry a review.
    FeedReview.objects.bulk_create(
        [
            FeedReview(item=item, reviewer=therapist, reviewed_at=now)
            for item in rng.sample(feed, len(feed) // 20)
        ],
        batch_size=2000,
    )
    if connection.vendor == "postgresql":
        # What autovacuum does soon after a bulk load, so the planner knows the sizes.
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE journal_journalentry, journal_checkin, journal_careteamalert, "
                "consent_feeditem, consent_feedreview, consent_grantscope, consent_consentgrant"
            )


def _queries(token: str) -> dict[str, int]:
    """Queries each timed request runs, from authentication to the disclosure-log insert."""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    counts = {}
    for label, path in FEED_PATHS.items():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        counts[label] = len(captured.captured_queries)
    return counts


def main() -> None:
    therapist = bench_user(THERAPIST_EMAIL, User.Role.THERAPIST, "Bench Feed Therapist", "UTC")
    patients = _patients(therapist)
    _consents(patients, therapist)
    if not _is_seeded(patients):
        _seed_journals(patients, therapist)
    token = tokens_issue(user=therapist)["access"]
    print(token)
    print(json.dumps(_queries(token)))


if __name__ == "__main__":
    main()
