"""Create (or reuse) the benchmarks' verified patients and print an access token.

Run by bench/run.sh as `python bench/seed.py` with DJANGO_SETTINGS_MODULE=bench.settings
and the repository root on PYTHONPATH. Prints the token and nothing else on stdout.

`python bench/seed.py insights` instead seeds a second patient whose journal holds
INSIGHTS_ENTRIES entries over the last year (kept apart from the patient the write
benchmarks add to, so the count is exact) and prints that patient's token.
"""

import os
import random
import sys
import uuid
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402 (after django.setup)
from django.utils import timezone  # noqa: E402

from backend.accounts.models import User  # noqa: E402
from backend.accounts.services import tokens_issue  # noqa: E402
from backend.journal.models import (  # noqa: E402
    EntryTrigger,
    JournalEntry,
    Outcome,
    SobrietyCounter,
    Substance,
    SyncState,
    Trigger,
    TriggerCategory,
)

EMAIL = "bench-patient@bench.invalid"
INSIGHTS_EMAIL = "bench-insights@bench.invalid"
INSIGHTS_ENTRIES = 10_000
# The entries fall between INSIGHTS_DAYS and one day ago, so a range from 365 days
# ago to today (the widest the API allows) holds every one of them.
INSIGHTS_DAYS = 360


def bench_patient(email: str = EMAIL, time_zone: str = "America/Chicago") -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        # No password: this account can never sign in, it only holds a token.
        user = User.objects.create_user(
            email,
            password=None,
            role=User.Role.PATIENT,
            display_name="Bench Patient Ñandú",  # non-ASCII: the JSON encodings must agree
            time_zone=time_zone,
            quiet_hours_start=time(22, 0),
            quiet_hours_end=time(7, 30),
            locale="es",
        )
    if user.email_verified_at is None or not user.is_active:
        user.email_verified_at = user.email_verified_at or timezone.now()
        user.is_active = True
        user.save(update_fields=["email_verified_at", "is_active"])
    return user


TRIGGERS = [
    (TriggerCategory.PLACES, "Bar on 5th"),
    (TriggerCategory.PLACES, "Liquor store"),
    (TriggerCategory.PEOPLE, "Old friends"),
    (TriggerCategory.PEOPLE, "Brother"),
    (TriggerCategory.EMOTIONS, "Lonely"),
    (TriggerCategory.EMOTIONS, "Stressed"),
    (TriggerCategory.EMOTIONS, "Bored"),
    (TriggerCategory.PHYSICAL, "Pain"),
    (TriggerCategory.SOCIAL, "Party"),
    (TriggerCategory.TIME_OF_DAY, "After work"),
    (TriggerCategory.THINGS, "Payday"),
    (TriggerCategory.THINGS, "Ads"),
]


def _is_seeded(user: User) -> bool:
    entries = JournalEntry.objects.filter(patient=user, deleted_at__isnull=True)
    newest = entries.order_by("-occurred_at").values_list("occurred_at", flat=True).first()
    # Entries are placed relative to now: a copy from an earlier day is seeded again.
    return (
        entries.count() == INSIGHTS_ENTRIES
        and newest is not None
        and newest > timezone.now() - timedelta(days=2)
    )


@transaction.atomic
def seed_insights(user: User) -> None:
    """INSIGHTS_ENTRIES synthetic entries with triggers, HALT and coping, by bulk insert."""
    JournalEntry.objects.filter(patient=user).delete()
    Trigger.objects.filter(patient=user).delete()
    SobrietyCounter.objects.filter(patient=user).delete()
    rng = random.Random(20261124)
    tz = ZoneInfo(user.time_zone)
    now = timezone.now()
    triggers = Trigger.objects.bulk_create(
        [
            Trigger(patient=user, category=category, label=label, key=label.lower())
            for category, label in TRIGGERS
        ]
    )
    entries, links = [], []
    for seq in range(1, INSIGHTS_ENTRIES + 1):
        occurred = now - timedelta(days=1, seconds=rng.randrange(INSIGHTS_DAYS * 86400))
        offset = occurred.astimezone(tz).utcoffset()
        intensity = rng.randint(0, 10)
        coping = rng.random() < 0.6
        entry = JournalEntry(
            client_id=uuid.uuid4(),
            patient=user,
            seq=seq,
            occurred_at=occurred,
            utc_offset_minutes=int(offset.total_seconds() // 60),
            local_date=occurred.astimezone(tz).date(),
            intensity=intensity,
            intensity_after=rng.randint(0, intensity) if rng.random() < 0.7 else None,
            substance=rng.choice([Substance.ALCOHOL, Substance.ALCOHOL, Substance.NICOTINE]),
            halt_hungry=rng.random() < 0.2,
            halt_angry=rng.random() < 0.15,
            halt_lonely=rng.random() < 0.3,
            halt_tired=rng.random() < 0.35,
            emotions=["anxious"] if rng.random() < 0.5 else [],
            situation="Synthetic benchmark entry about a hard evening.",
            coping_skills=["urge surfing"] if coping else [],
            coping_used=coping,
            outcome=rng.choice(
                [Outcome.RESISTED, Outcome.RESISTED, Outcome.RESISTED, Outcome.LAPSED, Outcome.USED]
            ),
        )
        entries.append(entry)
        for position, trigger in enumerate(rng.sample(triggers, rng.randint(0, 3))):
            links.append(EntryTrigger(entry=entry, trigger=trigger, position=position))
    JournalEntry.objects.bulk_create(entries, batch_size=1000)
    EntryTrigger.objects.bulk_create(links, batch_size=1000)
    SyncState.objects.update_or_create(patient=user, defaults={"last_seq": INSIGHTS_ENTRIES})
    if connection.vendor == "postgresql":
        # What autovacuum does soon after a bulk load: without statistics the planner
        # takes 10,000 fresh rows for one and picks nested loops.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE journal_journalentry, journal_entrytrigger, journal_trigger")
    today = timezone.localdate(timezone=tz)
    SobrietyCounter.objects.bulk_create(
        [
            SobrietyCounter(patient=user, substance=Substance.ALCOHOL, start_date=today - timedelta(days=40)),
            SobrietyCounter(patient=user, substance=Substance.NICOTINE, start_date=today - timedelta(days=3)),
        ]
    )  # fmt: skip


def insights_patient() -> User:
    user = bench_patient(INSIGHTS_EMAIL, time_zone="America/New_York")
    if not _is_seeded(user):
        seed_insights(user)
    return user


if __name__ == "__main__":
    if sys.argv[1:] == ["insights"]:
        print(tokens_issue(user=insights_patient())["access"])
    elif sys.argv[1:]:
        sys.exit(f"usage: {sys.argv[0]} [insights]")
    else:
        print(tokens_issue(user=bench_patient())["access"])
