from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from backend.accounts.models import User
from backend.care.models import CareLink

# Synthetic people only. Demo logins share one password, printed for the tour.
DEMO_PASSWORD = "demo-recovery-2026"  # noqa: S105 - printed for local demos; refused in production
DEMO_USERS = [
    ("admin@demo.recovery.test", User.Role.CLINIC_ADMIN, "Clinic Admin", "America/New_York"),
    ("therapist@demo.recovery.test", User.Role.THERAPIST, "Dr. Rivera", "America/New_York"),
    ("patient@demo.recovery.test", User.Role.PATIENT, "Sam", "America/New_York"),
    ("patient2@demo.recovery.test", User.Role.PATIENT, "Alex", "America/Los_Angeles"),
    ("family@demo.recovery.test", User.Role.FAMILY, "Jordan", "America/New_York"),
]


def _seed_journal(patient: User) -> None:
    """Two synthetic weeks of Sam's journal, written through the real services."""
    import random
    import uuid
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from backend.journal import services as journal
    from backend.journal.models import JournalEntry

    if JournalEntry.objects.filter(patient=patient).exists():
        return
    rng = random.Random(42)  # the same demo every time  # noqa: S311
    tz = ZoneInfo(patient.time_zone)
    today = timezone.localdate(timezone=tz)
    triggers = [
        {"category": "emotions", "label": "Stress at work"},
        {"category": "places", "label": "Drive past the bar"},
        {"category": "time_of_day", "label": "Friday evening"},
        {"category": "people", "label": "Old friends"},
    ]
    ops = []
    for day in range(14, 0, -1):
        local = datetime.combine(today - timedelta(days=day), time.min, tz)
        occurred = local + timedelta(
            hours=rng.choice([8, 13, 18, 19, 21, 22]), minutes=rng.randrange(60)
        )
        intensity = rng.randint(2, 8)
        ops.append(
            journal.EntryOp(
                "upsert",
                uuid.uuid4(),
                data={
                    "occurred_at": occurred,
                    "intensity": intensity,
                    "intensity_after": max(0, intensity - rng.randint(1, 4)),
                    "duration_minutes": rng.choice([10, 15, 20, 30]),
                    "substance": "alcohol",
                    "triggers": rng.sample(triggers, k=rng.randint(1, 2)),
                    "halt": rng.sample(["hungry", "angry", "lonely", "tired"], k=rng.randint(0, 2)),
                    "coping_skills": rng.sample(
                        ["urge surfing", "called my sponsor", "went for a walk"], k=1
                    ),
                    "outcome": "resisted",
                    "situation": "Synthetic demo entry.",
                    "shared": day % 3 == 0,
                },
            )
        )
    journal.entries_apply(patient=patient, ops=ops)
    journal.counter_create(
        patient=patient, substance="alcohol", start_date=today - timedelta(days=40)
    )


def _seed_sharing(patient: User, therapist: User, family: User) -> None:
    """Sam shares some of the journal with Dr. Rivera and a little with Jordan."""
    from backend.consent import services as consent
    from backend.consent.models import ConsentGrant
    from backend.family.models import FamilyLink

    if ConsentGrant.objects.filter(patient=patient).exists():
        return
    FamilyLink.objects.get_or_create(patient=patient, member=family, ended_at=None)
    consent.grant_create(
        patient=patient,
        recipient_id=therapist.pk,
        scopes=["journal.shared", "checkins", "insights", "counters", "crisis_alerts"],
        purpose="treatment",
        signature_name=patient.display_name,
    )
    consent.grant_create(
        patient=patient,
        recipient_id=family.pk,
        scopes=["checkins", "counters", "meetings"],
        purpose="family_support",
        signature_name=patient.display_name,
    )


DEMO_FEED = Path(__file__).resolve().parents[3] / "meetings" / "fixtures" / "demo_feed.json"


def _seed_meetings(patient: User) -> None:
    """The synthetic demo directory; Sam saves two meetings and went to one last week."""
    from datetime import timedelta

    from backend.meetings import services as meeting_services
    from backend.meetings.importer import import_feed
    from backend.meetings.models import Attendance, Meeting, MeetingFeed

    feed, _ = MeetingFeed.objects.get_or_create(
        name="demo",
        defaults={"fellowship": "AA", "time_zone": "America/New_York"},
    )
    import_feed(feed, source=str(DEMO_FEED))
    if Attendance.objects.filter(patient=patient).exists():
        return
    first, second = Meeting.objects.filter(feed=feed, day__isnull=False).order_by("slug")[:2]
    for meeting in (first, second):
        meeting_services.meeting_save(patient=patient, meeting=meeting)
    meeting_services.attendance_log(
        patient=patient,
        attendance_id=None,
        meeting=first,
        name="",
        attended_at=timezone.now().replace(second=0, microsecond=0) - timedelta(days=6),
        duration_minutes=None,
    )


class Command(BaseCommand):
    help = "Create the demo accounts and care link (idempotent) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Allow in production (never do this)."
        )

    @transaction.atomic
    def handle(self, *args, force: bool = False, **options):
        if settings.PRODUCTION and not force:
            raise CommandError("Refusing to create demo accounts with DJANGO_ENV=production.")
        users = {}
        for email, role, name, tz in DEMO_USERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User(
                    email=email,
                    role=role,
                    display_name=name,
                    time_zone=tz,
                    email_verified_at=timezone.now(),
                    is_staff=role == User.Role.CLINIC_ADMIN,
                    is_superuser=role == User.Role.CLINIC_ADMIN,
                )
                user.set_password(DEMO_PASSWORD)
                user.save()
            users[email.split("@")[0]] = user
        if not CareLink.objects.filter(
            patient=users["patient"], therapist=users["therapist"], ended_at__isnull=True
        ).exists():
            CareLink.objects.create(
                patient=users["patient"], therapist=users["therapist"], source=CareLink.Source.ADMIN
            )

        _seed_journal(users["patient"])
        _seed_sharing(users["patient"], users["therapist"], users["family"])
        _seed_meetings(users["patient"])

        self.stdout.write(f"\nDemo logins (synthetic accounts; password for all: {DEMO_PASSWORD})")
        for email, role, name, _tz in DEMO_USERS:
            self.stdout.write(f"  {role:<13} {email:<32} {name}")
        self.stdout.write(
            "\nSam (patient) is linked to Dr. Rivera (therapist) and shares some entries, check-ins, "
            "insights, counters and crisis alerts with them; Jordan (family) sees Sam's check-ins, "
            "counters and meeting attendance. A synthetic meeting directory is loaded "
            "(GET /api/v1/meetings/). Admin: http://127.0.0.1:8000/admin/ "
            "· API docs: http://127.0.0.1:8000/api/docs/\n"
        )
