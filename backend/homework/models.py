"""Homework a therapist assigns to a patient on their caseload, and its review.

States: assigned -> in_progress (a draft saved) -> submitted -> reviewed, or
returned for revision (-> in_progress again when the patient edits, and
submitted again). "Overdue" is not stored: it is derived from the due date on
the patient's clock. A weekly homework is one row per week, sharing a series.
Instructions, answers and feedback are encrypted at rest.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from backend.core.crypto import EncryptedJSONField, EncryptedTextField


class HomeworkKind(models.TextChoices):
    WORKSHEET = "worksheet", "Worksheet"
    READING = "reading", "Reading"
    PRACTICE = "practice", "Practice a skill"
    MEETING_ATTENDANCE = "meeting_attendance", "Attend a meeting"
    JOURNALING = "journaling", "Journaling"


class QuestionType(models.TextChoices):
    TEXT = "text", "Free text"
    SCALE = "scale", "0 to 10 scale"
    YES_NO = "yes_no", "Yes or no"
    SINGLE_CHOICE = "single_choice", "One choice"
    MULTIPLE_CHOICE = "multiple_choice", "Several choices"


class Recurrence(models.TextChoices):
    NONE = "none", "Once"
    WEEKLY = "weekly", "Every week"


class HomeworkTemplate(models.Model):
    """A ready-made assignment (seeded by migration 0002); assigning copies it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=HomeworkKind.choices)
    instructions = models.TextField()
    questions = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Homework(models.Model):
    class State(models.TextChoices):
        ASSIGNED = "assigned", "Assigned"
        IN_PROGRESS = "in_progress", "In progress (a draft is saved)"
        SUBMITTED = "submitted", "Submitted, waiting for review"
        REVIEWED = "reviewed", "Reviewed"
        RETURNED = "returned", "Returned for revision"

    # States in which the patient may still change answers, and which can be overdue.
    OPEN_STATES = (State.ASSIGNED, State.IN_PROGRESS, State.RETURNED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    template = models.ForeignKey(
        HomeworkTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=120)
    instructions = EncryptedTextField(blank=True)
    kind = models.CharField(max_length=20, choices=HomeworkKind.choices)
    questions = models.JSONField(default=list)
    due_date = models.DateField(help_text="A local date in the patient's time zone.")
    recurrence = models.CharField(max_length=8, choices=Recurrence.choices, default=Recurrence.NONE)
    series = models.UUIDField(default=uuid.uuid4, help_text="Shared by a weekly homework's weeks.")
    occurrence = models.PositiveSmallIntegerField(default=1)
    occurrences = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(max_length=12, choices=State.choices, default=State.ASSIGNED)
    answers = EncryptedJSONField(default=dict, blank=True)
    answers_saved_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "homework"
        indexes = [
            models.Index(fields=["patient", "due_date"], name="homework_patient_due"),
            models.Index(
                fields=["assigned_by", "submitted_at"],
                condition=Q(state="submitted"),
                name="homework_review_queue",
            ),
            models.Index(fields=["series", "occurrence"], name="homework_series"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    state__in=["assigned", "in_progress", "submitted", "reviewed", "returned"]
                ),
                name="homework_state_known",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=HomeworkKind.values), name="homework_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(occurrence__gte=1, occurrence__lte=F("occurrences")),
                name="homework_occurrence_in_series",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["assigned", "in_progress"]) | Q(submitted_at__isnull=False),
                name="homework_submitted_at_set",
            ),
            models.CheckConstraint(
                condition=~Q(state="reviewed") | Q(reviewed_at__isnull=False),
                name="homework_reviewed_at_set",
            ),
            models.UniqueConstraint(fields=["series", "occurrence"], name="homework_series_once"),
        ]

    def __str__(self) -> str:
        return f"Homework {self.pk} ({self.state})"


class HomeworkReview(models.Model):
    """The therapist's verdict on one submission: reviewed, or returned for revision."""

    class Decision(models.TextChoices):
        REVIEWED = "reviewed", "Reviewed"
        RETURNED = "returned", "Returned for revision"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    homework = models.ForeignKey(Homework, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=8, choices=Decision.choices)
    feedback = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.decision} {self.homework_id}"
