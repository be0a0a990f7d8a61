"""Seed (or reuse) a therapist's caseload for the `caseload` benchmark and measure its queries.

Run by bench/run.sh as `python bench/seed_caseload.py` with DJANGO_SETTINGS_MODULE=bench.settings
and the repository root on PYTHONPATH. A therapist with PATIENTS patients, each with
ENTRIES_PER_PATIENT journal entries over the last ENTRY_DAYS days, daily check-ins
with gaps, sobriety counters, feed items and a consent grant of every scope a
therapist can hold. Patients live in several time zones; some have rising
cravings, some lapsed this week, some stopped checking in, so every flag is raised
for someone.

Prints four lines on stdout: the therapist's access token, one patient's id, a JSON
object with the queries each timed endpoint runs (measured in-process, the console's
pages included), and a console session cookie for the therapist (signed in, second
factor proved) for the console's pages.
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

from django.conf import settings  # noqa: E402 (after django.setup)
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from backend.accounts.models import User  # noqa: E402
from backend.accounts.services import tokens_issue  # noqa: E402
from backend.consent import policy  # noqa: E402
from backend.consent.scopes import Scope  # noqa: E402
from backend.consent.services import grant_create  # noqa: E402
from backend.journal.models import (  # noqa: E402
    CheckIn,
    FeedItem,
    JournalEntry,
    Medication,
    Outcome,
    SobrietyCounter,
    Substance,
    SyncState,
)
from bench.seeding import bench_caseload, bench_user  # noqa: E402

THERAPIST_EMAIL = "bench-caseload-therapist@bench.invalid"
PATIENTS = 100
ENTRIES_PER_PATIENT = 1_000
ENTRY_DAYS = 180
CHECKIN_DAYS = 90
ZONES = (
    "America/Chicago",
    "America/New_York",
    "America/Los_Angeles",
    "Pacific/Auckland",
    "Europe/London",
    "Asia/Kathmandu",
)
CASELOAD_PATH = "/api/v1/care/caseload/summaries/?page_size=100"


CONSOLE_CASELOAD_PATH = "/console/caseload/"


def console_patient_path(patient_id) -> str:
    return f"/console/patients/{patient_id}/?days=90"


def summary_path(patient_id) -> str:
    return f"/api/v1/care/patients/{patient_id}/summary/"


def _patients(therapist: User) -> list[User]:
    patients = bench_caseload(
        therapist,
        count=PATIENTS,
        address="bench-caseload-{number:03d}@bench.invalid",
        name="Caseload patient {number:03d}",
        zones=ZONES,
    )
    held = policy.scopes_held(therapist, [p.pk for p in patients])
    for patient in patients:
        if len(held.get(patient.pk, {})) != len(Scope):
            grant_create(
                patient=patient,
                recipient_id=therapist.pk,
                scopes=[s for s in Scope.values if s not in held.get(patient.pk, {})],
                purpose="treatment",
                signature_name=patient.display_name,
            )
    return patients


def _is_seeded(patients: list[User]) -> bool:
    entries = JournalEntry.objects.filter(patient__in=patients, deleted_at__isnull=True)
    newest = entries.order_by("-occurred_at").values_list("occurred_at", flat=True).first()
    # Entries are placed relative to now: a copy from an earlier day is seeded again.
    return (
        entries.count() == PATIENTS * ENTRIES_PER_PATIENT
        and newest is not None
        and newest > timezone.now() - timedelta(days=1)
    )


@transaction.atomic
def _seed_journals(patients: list[User]) -> None:
    """Every patient's entries, check-ins, counters and feed items, replaced by bulk insert."""
    JournalEntry.objects.filter(patient__in=patients).delete()  # cascades to feed items
    CheckIn.objects.filter(patient__in=patients).delete()
    SobrietyCounter.objects.filter(patient__in=patients).delete()
    rng = random.Random(20261124)
    now = timezone.now()
    entries, checkins, feed, counters = [], [], [], []
    for number, patient in enumerate(patients):
        tz = ZoneInfo(patient.time_zone)
        today = now.astimezone(tz).date()
        rising, lapsing, silent = number % 5 == 0, number % 7 == 0, number % 9 == 0
        seq = 0
        for _ in range(ENTRIES_PER_PATIENT):
            seq += 1
            age = timedelta(seconds=rng.randrange(ENTRY_DAYS * 86400))
            occurred = now - timedelta(minutes=5) - age
            recent = age < timedelta(days=7)
            base = rng.randint(0, 7) + (3 if rising and recent else 0)
            outcome = rng.choice([Outcome.RESISTED] * 8 + [Outcome.LAPSED, Outcome.USED])
            if recent and not lapsing and outcome != Outcome.RESISTED:
                outcome = Outcome.RESISTED
            entry = JournalEntry(
                client_id=uuid.uuid4(),
                patient=patient,
                seq=seq,
                occurred_at=occurred,
                utc_offset_minutes=int(occurred.astimezone(tz).utcoffset().total_seconds() // 60),
                local_date=occurred.astimezone(tz).date(),
                intensity=min(base, 10),
                substance=Substance.ALCOHOL,
                halt_tired=rng.random() < 0.3,
                situation="Synthetic benchmark entry.",
                outcome=outcome,
                shared=rng.random() < 0.3,
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
        for back in range(CHECKIN_DAYS):
            if (silent and back < 4) or rng.random() < 0.15:
                continue
            seq += 1
            day = today - timedelta(days=back)
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
            at = datetime.combine(day, time(9), tzinfo=tz)
            feed.append(
                FeedItem(patient=patient, kind=FeedItem.Kind.CHECKIN, checkin=checkin, at=at)
            )
        counters.append(
            SobrietyCounter(
                patient=patient,
                substance=Substance.ALCOHOL,
                start_date=today - timedelta(days=rng.randint(0, 120)),
            )
        )
        SyncState.objects.update_or_create(patient=patient, defaults={"last_seq": seq})
    JournalEntry.objects.bulk_create(entries, batch_size=2000)
    CheckIn.objects.bulk_create(checkins, batch_size=2000)
    SobrietyCounter.objects.bulk_create(counters)
    FeedItem.objects.bulk_create(feed, batch_size=2000)
    if connection.vendor == "postgresql":
        # What autovacuum does soon after a bulk load, so the planner knows the sizes.
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE journal_journalentry, journal_checkin, consent_feeditem, "
                "consent_grantscope"
            )


def _queries(token: str, patient: User) -> dict[str, int]:
    """Queries each timed request runs, from authentication to the disclosure-log insert."""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    counts = {}
    paths = (
        ("caseload", CASELOAD_PATH),
        ("page25", "/api/v1/care/caseload/summaries/"),
        ("summary", summary_path(patient.pk)),
    )
    for label, path in paths:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        counts[label] = len(captured.captured_queries)
    return counts


def console_session(therapist: User) -> str:
    """A Cookie header: the therapist signed in to the console with a proved second factor."""
    device = TOTPDevice.objects.filter(user=therapist, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=therapist, name="Bench phone", confirmed=True)
    session = SessionStore()
    session[SESSION_KEY] = str(therapist.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = therapist.get_session_auth_hash()
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def _console_queries(cookie: str, patient: User) -> dict[str, int]:
    client = Client(HTTP_COOKIE=cookie, HTTP_HOST="127.0.0.1")
    counts = {}
    for label, path in (
        ("console_caseload", CONSOLE_CASELOAD_PATH),
        ("console_patient", console_patient_path(patient.pk)),
    ):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        counts[label] = len(captured.captured_queries)
    return counts


def main() -> None:
    therapist = bench_user(
        THERAPIST_EMAIL, User.Role.THERAPIST, "Bench Caseload Therapist", "America/Chicago"
    )
    patients = _patients(therapist)
    if not _is_seeded(patients):
        _seed_journals(patients)
    token = tokens_issue(user=therapist)["access"]
    print(token)
    print(patients[0].pk)
    cookie = console_session(therapist)
    queries = {**_queries(token, patients[0]), **_console_queries(cookie, patients[0])}
    print(json.dumps(queries))
    print(cookie)


if __name__ == "__main__":
    main()
