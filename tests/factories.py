"""Synthetic people and records for tests, one factory per kind. No real patient data, ever.

Records a patient writes are made through the same validation and services the API
uses (so a record built here is one the API could have made); plain rows only where
no service writes them (links made by an admin, outbox rows the scheduler writes).
"""

import uuid
from datetime import UTC, datetime, timedelta

import factory
from django.utils import timezone

from backend.accounts.models import User
from backend.care.models import CareLink
from backend.consent import services as consent_services
from backend.coping import services as coping_services
from backend.core.time import local_today
from backend.homework import services as homework_services
from backend.homework.models import HomeworkTemplate
from backend.journal import services as journal_services
from backend.journal.models import CheckIn, JournalEntry, SobrietyCounter
from backend.journal.serializers import CheckInUpdateSerializer, EntryUpdateSerializer
from backend.measures import services as measure_services
from backend.measures.models import Instrument
from backend.meetings import services as meeting_services
from backend.meetings.models import Attendance
from backend.nudges import services as nudge_services
from backend.nudges.models import Nudge, NudgeRule, PushSubscription
from backend.program import services as program_services

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    display_name = factory.Faker("first_name")
    role = User.Role.PATIENT
    time_zone = "America/New_York"
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


class PatientFactory(UserFactory):
    role = User.Role.PATIENT


class TherapistFactory(UserFactory):
    role = User.Role.THERAPIST
    display_name = factory.Sequence(lambda n: f"Dr. Therapist {n}")


class FamilyFactory(UserFactory):
    role = User.Role.FAMILY


class ClinicAdminFactory(UserFactory):
    role = User.Role.CLINIC_ADMIN
    is_staff = True
    is_superuser = True


class CareLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareLink

    patient = factory.SubFactory(PatientFactory)
    therapist = factory.SubFactory(TherapistFactory)
    source = CareLink.Source.ADMIN


class FamilyLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "family.FamilyLink"

    patient = factory.SubFactory(PatientFactory)
    member = factory.SubFactory(FamilyFactory)


def grant_for(patient, recipient, scopes, *, purpose=None, **kwargs):
    """A signed consent grant through the real service (the recipient must be connected)."""

    if purpose is None:
        purpose = "family_support" if recipient.role == User.Role.FAMILY else "treatment"
    return consent_services.grant_create(
        patient=patient,
        recipient_id=recipient.pk,
        scopes=list(scopes),
        purpose=purpose,
        signature_name=patient.display_name or "Patient",
        allow_journal_text=True,
        **kwargs,
    )


# --- journal --------------------------------------------------------------------------------


def entry_payload(**overrides) -> dict:
    """A journal entry as the phone sends it (with the id it chose)."""
    occurred = (timezone.now() - timedelta(hours=2)).astimezone(timezone.get_fixed_timezone(-300))
    payload = {
        "id": str(uuid.uuid4()),
        "occurred_at": occurred.isoformat(),
        "intensity": 6,
        "intensity_after": 3,
        "duration_minutes": 20,
        "substance": "alcohol",
        "triggers": [
            {"category": "places", "label": "Bar on 5th"},
            {"category": "emotions", "label": "Lonely"},
        ],
        "halt": ["lonely", "tired"],
        "mood": -1,
        "emotions": ["anxious"],
        "place_label": "Home",
        "situation": "Friends texted about going out.",
        "thoughts": "Just one would be fine.",
        "coping_skills": ["urge surfing"],
        "outcome": "resisted",
    }
    payload.update(overrides)
    return payload


class EntryFactory(factory.Factory):
    """``EntryFactory(patient=..., intensity=9, shared=True)``: through the API's
    validation and the journal service, as an upload would be."""

    class Meta:
        model = JournalEntry

    patient = factory.SubFactory(PatientFactory)

    @classmethod
    def _create(cls, model_class, patient, **overrides):
        payload = entry_payload(**overrides)
        entry_id = uuid.UUID(str(payload.pop("id")))
        serializer = EntryUpdateSerializer(data=payload)
        serializer.is_valid(raise_exception=True)
        [result] = journal_services.entries_apply(
            patient=patient,
            ops=[
                journal_services.EntryOp("upsert", entry_id, None, dict(serializer.validated_data))
            ],
        )
        return result.entry


class CheckInFactory(factory.Factory):
    """``CheckInFactory(patient=..., local_date="2026-11-01", mood=2)``: validated as the
    API does, written by the journal service."""

    class Meta:
        model = CheckIn

    patient = factory.SubFactory(PatientFactory)

    @classmethod
    def _create(cls, model_class, patient, **overrides):
        serializer = CheckInUpdateSerializer(
            data={
                "local_date": "2026-11-01",
                "mood": 1,
                "peak_craving": 3,
                "used_today": False,
                "medication": "yes",
                **overrides,
            }
        )
        serializer.is_valid(raise_exception=True)
        checkin, _ = journal_services.checkin_create(
            patient=patient, checkin_id=uuid.uuid4(), data=dict(serializer.validated_data)
        )
        return checkin


class CounterFactory(factory.Factory):
    class Meta:
        model = SobrietyCounter

    patient = factory.SubFactory(PatientFactory)
    substance = "alcohol"
    start_date = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=30))

    @classmethod
    def _create(cls, model_class, **kwargs):
        return journal_services.counter_create(**kwargs)


# --- coping, homework -----------------------------------------------------------------------


class SkillFactory(factory.Factory):
    """A custom skill written for a patient (by the patient unless an author is given)."""

    class Meta:
        model = "coping.Skill"

    patient = factory.SubFactory(PatientFactory)
    name = factory.Sequence(lambda n: f"Custom skill {n}")

    @classmethod
    def _create(cls, model_class, patient, name, author=None, **data):
        return coping_services.skill_create(
            author=author or patient,
            patient=patient,
            data={"name": name, "category": "social_support", "duration_minutes": 10, **data},
        )


class ChecklistFactory(factory.Factory):
    class Meta:
        model = "coping.Checklist"

    patient = factory.SubFactory(PatientFactory)
    title = factory.Sequence(lambda n: f"Checklist {n}")
    items = factory.LazyFunction(lambda: [{"text": "Drink water"}])

    @classmethod
    def _create(cls, model_class, patient, author=None, **kwargs):
        return coping_services.checklist_create(author=author or patient, patient=patient, **kwargs)


class PlanFactory(factory.Factory):
    """A patient's relapse-prevention plan (one per patient)."""

    class Meta:
        model = "coping.RelapsePlan"

    patient = factory.SubFactory(PatientFactory)
    content = factory.LazyFunction(lambda: {"reasons": ["My health"]})

    @classmethod
    def _create(cls, model_class, **kwargs):
        return coping_services.plan_create(**kwargs)


class HomeworkFactory(factory.Factory):
    """Homework assigned from a template, due in a week; the therapist must be on the care team."""

    class Meta:
        model = "homework.Homework"

    patient = factory.SubFactory(PatientFactory)
    template = "halt-log"

    @classmethod
    def _create(cls, model_class, patient, therapist, template, **data):
        data.setdefault("due_date", local_today(patient) + timedelta(days=7))
        [homework] = homework_services.homework_assign(
            therapist=therapist,
            patient=patient,
            data=data,
            template=HomeworkTemplate.objects.get(slug=template),
        )
        return homework


class ScheduleFactory(factory.Factory):
    """A questionnaire scheduled from today; the therapist must be on the care team."""

    class Meta:
        model = "measures.MeasureSchedule"

    patient = factory.SubFactory(PatientFactory)
    instrument = "phq-9"

    @classmethod
    def _create(cls, model_class, patient, therapist, instrument, **data):
        return measure_services.schedule_create(
            therapist=therapist,
            patient=patient,
            instrument=Instrument.objects.get(slug=instrument),
            **data,
        )


class ResponseFactory(factory.Factory):
    """A complete answer to a schedule's current window: every item at ``value`` unless
    ``answers`` says otherwise (an item's own options bound the value)."""

    class Meta:
        model = "measures.MeasureResponse"

    value = 0

    @classmethod
    def _create(cls, model_class, schedule, value, answers=None, answered_at=None, **_):
        chosen = {}
        for item in schedule.instrument.items:
            if "enable_when" in item:
                continue
            values = [option["value"] for option in item["options"]]
            chosen[item["link_id"]] = min(values, key=lambda v: abs(v - value))
        chosen.update(answers or {})
        response, _ = measure_services.response_submit(
            schedule=schedule,
            response_id=uuid.uuid4(),
            answered_at=answered_at or timezone.now(),
            answers=chosen,
        )
        return response


# --- meetings, nudges -----------------------------------------------------------------------


class AttendanceFactory(factory.Factory):
    """A meeting the patient logged going to (a month ago unless told)."""

    class Meta:
        model = Attendance

    patient = factory.SubFactory(PatientFactory)
    attendance_id = None
    meeting = None
    name = "Tuesday group"
    attended_at = factory.LazyFunction(
        lambda: (timezone.now() - timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
    )
    duration_minutes = 60

    @classmethod
    def _create(cls, model_class, **kwargs):
        return meeting_services.attendance_log(**kwargs)


class NudgeRuleFactory(factory.Factory):
    class Meta:
        model = NudgeRule

    patient = factory.SubFactory(PatientFactory)
    data = factory.LazyFunction(lambda: {"kind": "checkin", "times": ["20:00"]})

    @classmethod
    def _create(cls, model_class, **kwargs):
        return nudge_services.rule_create(**kwargs)


class NudgeFactory(factory.django.DjangoModelFactory):
    """A nudge the scheduler wrote to the outbox, already sent to the in-app inbox."""

    class Meta:
        model = Nudge

    rule = factory.SubFactory(NudgeRuleFactory)
    recipient = factory.SelfAttribute("rule.patient")
    slot = datetime(2026, 11, 1, 1, tzinfo=UTC)
    due_at = factory.SelfAttribute("slot")
    next_attempt_at = factory.SelfAttribute("slot")
    title = "Time for your daily note"
    tolerance = timedelta(hours=1)
    state = Nudge.State.SENT


class PushSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PushSubscription

    user = factory.SubFactory(PatientFactory)
    endpoint = factory.Sequence(lambda n: f"https://push.example.test/{n}")
    p256dh = "x"
    auth = "y"


# --- program ------------------------------------------------------------------------------


def program_make(*, therapists, starts_on, ends_on=None, time_zone="America/New_York", **extra):
    """A program through the real service, with its staff."""
    return program_services.program_create(
        data={
            "name": extra.pop("name", "Evening IOP"),
            "time_zone": time_zone,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "therapists": [t.pk for t in therapists],
            **extra,
        }
    )
