import random
import uuid
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from backend.accounts.models import User
from backend.care.models import CareLink
from backend.consent import services as consent
from backend.consent.models import ConsentGrant
from backend.coping import services as coping
from backend.coping.models import Checklist, RelapsePlan, Skill
from backend.core.time import local_today
from backend.family.models import FamilyLink
from backend.homework import services as homework
from backend.homework.models import Homework, HomeworkTemplate
from backend.journal import services as journal
from backend.journal.models import JournalEntry
from backend.measures import services as measures
from backend.measures.models import Instrument, MeasureSchedule
from backend.measures.signals import measure_scheduled
from backend.meetings import services as meeting_services
from backend.meetings.importer import import_feed
from backend.meetings.models import Attendance, Meeting, MeetingFeed
from backend.program import services as program
from backend.program.models import Program, Session

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
    # Daily check-ins until four days ago (one missed): Sam has gone quiet since, which the
    # care team's caseload flags.
    for day in range(16, 3, -1):
        if day == 9:
            continue
        journal.checkin_create(
            patient=patient,
            checkin_id=uuid.uuid4(),
            data={
                "local_date": today - timedelta(days=day),
                "mood": rng.randint(-1, 3),
                "peak_craving": rng.randint(1, 7),
                "used_today": False,
            },
        )


def _seed_sharing(patient: User, therapist: User, family: User) -> None:
    """Sam shares some of the journal with Dr. Rivera and a little with Jordan."""

    if ConsentGrant.objects.filter(patient=patient).exists():
        return
    FamilyLink.objects.get_or_create(patient=patient, member=family, ended_at=None)
    consent.grant_create(
        patient=patient,
        recipient_id=therapist.pk,
        scopes=[
            "journal.shared",
            "checkins",
            "insights",
            "counters",
            "crisis_alerts",
            "coping",
            "homework",
        ],
        purpose="treatment",
        signature_name=patient.display_name,
    )
    # A second consent, signed apart, so that revoking it takes only these sections away
    # (the console's browser test does; the first consent stays in force).
    consent.grant_create(
        patient=patient,
        recipient_id=therapist.pk,
        scopes=["measures", "program", "meetings"],
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


def _seed_coping(patient: User) -> None:
    """Sam's morning checklist, ticked most of the last week, and a relapse-prevention plan."""

    if not Checklist.objects.filter(patient=patient).exists():
        skills = {s.slug: s for s in Skill.objects.filter(slug__in=["halt-check", "box-breathing"])}
        checklist = coping.checklist_create(
            author=patient,
            patient=patient,
            title="Morning routine",
            items=[
                {"skill": skills["halt-check"].pk},
                {"skill": skills["box-breathing"].pk},
                {"text": "Read my reasons for recovery"},
            ],
        )
        items = list(checklist.items.order_by("position").values_list("pk", flat=True))
        today = local_today(patient)
        for days_ago, done in [
            (6, items),
            (5, items),
            (4, items[:2]),
            (3, items),
            (2, items),
            (1, items),
        ]:
            coping.checklist_day_set(
                checklist=checklist, local_date=today - timedelta(days=days_ago), item_ids=done
            )
    if not RelapsePlan.objects.filter(patient=patient).exists():
        coping.plan_create(
            patient=patient,
            content={
                "reasons": ["Being there for my kids", "Feeling clear-headed at work"],
                "triggers": ["Friday evenings", "Driving past the bar on 5th"],
                "warning_signs": ["Skipping meetings", "Sleeping badly"],
                "coping_strategies": [
                    {"skill": Skill.objects.get(slug="urge-surfing").pk, "text": ""},
                    {"skill": None, "text": "Take the long way home on Fridays"},
                ],
                # Fictional numbers (555-01xx is reserved for fiction).
                "support_contacts": [
                    {"name": "Jordan", "relation": "brother", "phone": "555-0142"},
                    {"name": "Casey", "relation": "sponsor", "phone": "555-0177"},
                ],
                "after_lapse": ["Tell Casey the same day", "Log it and look at what led to it"],
            },
        )


def _seed_homework(patient: User, therapist: User) -> None:
    """Dr. Rivera assigns Sam a HALT log, and has a decisional balance waiting for review."""

    if Homework.objects.filter(patient=patient).exists():
        return
    today = local_today(patient)
    homework.homework_assign(
        therapist=therapist,
        patient=patient,
        data={"due_date": today + timedelta(days=5), "recurrence": "weekly", "occurrences": 4},
        template=HomeworkTemplate.objects.get(slug="halt-log"),
    )
    [balance] = homework.homework_assign(
        therapist=therapist,
        patient=patient,
        data={"due_date": today + timedelta(days=2)},
        template=HomeworkTemplate.objects.get(slug="decisional-balance"),
    )
    homework.homework_submit(
        homework=balance,
        answers={
            "using_benefits": "It takes the edge off after work.",
            "using_costs": "Hangovers, arguments at home.",
            "not_using_benefits": "Mornings with the kids.",
            "not_using_costs": "Evenings feel long.",
            "importance": 9,
            "confidence": 6,
        },
    )


# Sam's demo program week: 3 groups, 1 individual session, 1 education class (18:00 is the
# usual evening IOP hour), and a family session on the first Saturday of each month.
DEMO_TIMETABLE = [
    ("group", "Relapse prevention group", 0, time(18, 0), 90),
    ("education", "Understanding cravings", 1, time(18, 0), 60),
    ("group", "Process group", 2, time(18, 0), 90),
    ("individual", "Individual session", 3, time(17, 0), 50),
    ("group", "Skills group", 4, time(18, 0), 90),
]
ABSENT_SESSIONS = (3, 9, 10)  # of Sam's sessions so far, in order: some absences


def _first_saturdays(first, last):
    day = first.replace(day=1)
    while day <= last:
        saturday = day + timedelta(days=(5 - day.weekday()) % 7)
        if first <= saturday <= last:
            yield saturday
        day = (day + timedelta(days=32)).replace(day=1)


def _seed_program(patient: User, therapist: User, family: User) -> None:
    """A 12-week evening IOP; Sam is in week 5 with a few absences; Jordan is invited to the
    next family session."""

    if Program.objects.filter(name="Evening IOP").exists():
        return
    today = local_today(patient)
    enrolled_on = today - timedelta(weeks=4)  # week 5 today
    started = enrolled_on - timedelta(days=enrolled_on.weekday())  # the Monday before
    iop = program.program_create(
        data={
            "name": "Evening IOP",
            "time_zone": "America/New_York",
            "starts_on": started,
            "therapists": [therapist.pk],
        }
    )
    for kind, title, weekday, start, minutes in DEMO_TIMETABLE:
        program.slot_add(
            program=iop,
            data={
                "kind": kind,
                "title": title,
                "weekday": weekday,
                "start_time": start,
                "duration_minutes": minutes,
                "therapist": therapist,
                "patient": patient if kind == "individual" else None,
                "place": "Room 2" if kind != "individual" else "Room 5",
            },
        )
    enrolment = program.enrol(
        by=therapist,
        patient=patient,
        program=iop,
        primary_therapist=therapist,
        starts_on=enrolled_on,
    )
    for saturday in _first_saturdays(enrolled_on, enrolment.planned_end):
        program.session_add(
            program=iop,
            data={
                "kind": "family",
                "title": "Family session",
                "local_date": saturday,
                "start_time": time(10, 0),
                "duration_minutes": 60,
                "therapist": therapist,
                "patient": patient,
                "place": "Room 5",
            },
        )
    now = timezone.now()
    held = Session.objects.filter(
        program=iop, starts_at__lt=now, local_date__gte=enrolled_on, status="scheduled"
    ).order_by("starts_at")
    for number, session in enumerate(held):
        status = "absent" if number in ABSENT_SESSIONS else "late" if number == 5 else "present"
        program.attendance_mark(session=session, patient_id=patient.pk, by=therapist, status=status)
    # Jordan sees the family sessions' time and place: Sam shares the program with them.
    consent.grant_create(
        patient=patient,
        recipient_id=family.pk,
        scopes=["program"],
        purpose="family_support",
        signature_name=patient.display_name,
    )
    upcoming = Session.objects.filter(program=iop, kind="family", starts_at__gte=now).first()
    if upcoming is not None:
        program.session_invite(session=upcoming, member=family, by=therapist)


# Six weeks of Sam's measures, oldest window first: improving, with one thing a clinician
# acts on in the last week (BAM Risk back up: worse sleep, more time around risky people).
# Each row is one window's answers to the items asked, in order; the comments give the scores.
MEASURES_WEEKS = 6
DEMO_MEASURES = {
    # PHQ-9 every 2 weeks, totals 14 -> 10 -> 7 (moderate to mild); item 9 always 0.
    "phq-9": [
        [2, 2, 2, 2, 1, 2, 2, 1, 0],
        [1, 2, 1, 2, 1, 1, 1, 1, 0],
        [1, 1, 1, 1, 1, 1, 1, 0, 0],
    ],
    # GAD-7 every 2 weeks, totals 12 -> 9 -> 6.
    "gad-7": [
        [2, 2, 2, 2, 1, 2, 1],
        [2, 1, 2, 1, 1, 1, 1],
        [1, 1, 1, 1, 0, 1, 1],
    ],
    # BAM weekly, items 1-6 and 8-17 in order (alcohol only: item 6 is 0, so 7A-7G are not
    # asked). Use (4, 5, 6) 3 2 2 1 1 0; Risk (1, 2, 3, 8, 11, 15) 15 13 11 9 7 10, rising
    # in the last week; Protective (9, 10, 12, 13, 14, 16) 10 13 14 17 18 19.
    #  1  2  3  4  5  6  8  9 10 11 12 13 14 15 16 17
    "bam": [
        [2, 3, 3, 2, 1, 0, 3, 1, 0, 2, 1, 3, 4, 2, 1, 1],
        [2, 3, 2, 1, 1, 0, 3, 2, 1, 1, 1, 3, 4, 2, 2, 1],
        [2, 2, 2, 1, 1, 0, 2, 2, 2, 1, 1, 3, 4, 2, 2, 2],
        [1, 2, 2, 1, 0, 0, 2, 3, 2, 1, 2, 3, 4, 1, 3, 2],
        [1, 1, 1, 1, 0, 0, 2, 3, 3, 1, 2, 3, 4, 1, 3, 3],
        [1, 2, 1, 0, 0, 0, 2, 3, 3, 3, 2, 4, 4, 1, 3, 3],
    ],
    # PACS weekly (alcohol is Sam's substance), totals 17 15 13 12 10 9.
    "pacs": [
        [4, 4, 3, 3, 3],
        [3, 4, 3, 3, 2],
        [3, 3, 2, 3, 2],
        [2, 3, 2, 3, 2],
        [2, 2, 2, 2, 2],
        [2, 2, 1, 2, 2],
    ],
}
DEMO_MEASURE_IDS = uuid.UUID("6d2f1c1e-3b0a-4f61-9d0e-5a8f5b1c7e21")


def _seed_measures(patient: User, therapist: User) -> None:
    """Dr. Rivera scheduled the standard set six weeks ago; Sam answered every past window.

    The schedules start in the past, which schedule_create refuses, so they are made
    here; every answer goes through the real service, offline-style: its answered_at
    places it in its window. This week's windows are left due.
    """
    if MeasureSchedule.objects.filter(patient=patient).exists():
        return
    tz = ZoneInfo(patient.time_zone)
    now = timezone.now()
    starts_on = local_today(patient, now) - timedelta(weeks=MEASURES_WEEKS)
    instruments = Instrument.objects.in_bulk(list(DEMO_MEASURES), field_name="slug")
    for slug, windows in DEMO_MEASURES.items():
        instrument = instruments[slug]
        schedule = MeasureSchedule.objects.create(
            patient=patient,
            instrument=instrument,
            assigned_by=therapist,
            every_days=instrument.default_every_days,
            starts_on=starts_on,
        )
        asked = [item["link_id"] for item in instrument.items if "enable_when" not in item]
        for number, row in enumerate(windows):
            # Answered the evening after the window opened, at a minute that varies.
            day = starts_on + timedelta(days=number * schedule.every_days + 1)
            answered_at = datetime.combine(day, time(19, 5 + 7 * number), tz)
            measures.response_submit(
                schedule=schedule,
                response_id=uuid.uuid5(DEMO_MEASURE_IDS, f"{slug}:{number}"),
                answered_at=answered_at,
                answers=dict(zip(asked, row, strict=True)),
            )
    # What schedule_create announces: the reminders of what is due, kept with the schedules.
    measure_scheduled.send(sender=MeasureSchedule, patient=patient)


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
        _seed_coping(users["patient"])
        _seed_homework(users["patient"], users["therapist"])
        # Measures first: the enrolment asks for the baseline questionnaires (after commit),
        # and finds them already running.
        _seed_measures(users["patient"], users["therapist"])
        _seed_program(users["patient"], users["therapist"], users["family"])

        self.stdout.write(f"\nDemo logins (synthetic accounts; password for all: {DEMO_PASSWORD})")
        for email, role, name, _tz in DEMO_USERS:
            self.stdout.write(f"  {role:<13} {email:<32} {name}")
        self.stdout.write(
            "\nSam (patient) is linked to Dr. Rivera (therapist) and shares some entries, check-ins, "
            "insights, counters, crisis alerts, coping (a morning checklist and a relapse-prevention "
            "plan) and homework with them, and in a second consent questionnaires, program "
            "attendance and meetings; Dr. Rivera assigned Sam a weekly HALT log and has a "
            "decisional balance to review. Dr. Rivera scheduled PHQ-9, GAD-7 (every 2 weeks), BAM and "
            "PACS (weekly) six weeks ago: Sam's answers improve, with BAM Risk up in the last "
            "week (GET /api/v1/measures/results/?patient=<Sam's id>). Jordan (family) sees Sam's check-ins, counters and "
            "meeting attendance. A synthetic meeting directory is loaded (GET /api/v1/meetings/). "
            "Sam is in week 5 of Dr. Rivera's 12-week Evening IOP (3 groups, an individual session "
            "and an education class a week, a family session a month; a few absences): "
            "GET /api/v1/program/sessions/. Jordan is invited to the next family session. "
            "Console (therapists, clinic staff, family): http://127.0.0.1:8000/console/ "
            "(therapist and clinic admin set up an authenticator app at first sign-in). "
            "Admin: http://127.0.0.1:8000/admin/ "
            "· API docs: http://127.0.0.1:8000/api/docs/\n"
        )
