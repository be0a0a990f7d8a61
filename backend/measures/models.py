"""Standard clinical measures (PHQ-9, GAD-7, BAM, PACS): definitions, schedules, answers.

An instrument is data: its items, their answer options and how it is scored
(``backend.measures.scoring`` reads the definition; a clinic can add another
validated instrument through the admin without code). A therapist schedules an
instrument for a patient at a cadence; each cadence window (its first day a
local date on the patient's clock) asks for one response. Answers are encrypted
at rest; the scores are kept beside them so that trends read without decrypting.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from backend.core.crypto import EncryptedJSONField
from backend.measures.scoring import validate_definition


class Instrument(models.Model):
    """A validated questionnaire, as data (the four standard ones are seeded by migration)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=20, help_text="Short name, e.g. PHQ-9.")
    title = models.CharField(max_length=120)
    version = models.CharField(max_length=20, default="1")
    preamble = models.TextField(help_text="The instructions and recall period, as validated.")
    items = models.JSONField(help_text="Items with their answer options (see scoring.py).")
    scoring = models.JSONField(help_text="Scores, bands, flags and crisis items (see scoring.py).")
    default_every_days = models.PositiveSmallIntegerField(
        default=14, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    # The code of the whole questionnaire: LOINC where it has one, else the local system.
    code_system = models.CharField(
        max_length=200, help_text="A URI: LOINC's, or the local system's."
    )
    code = models.CharField(max_length=40)
    source = models.TextField(help_text="Where the wording and scoring come from.")
    copyright = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Changes with every save: the answer path keeps parsed definitions by (id, updated_at).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # The definition is checked where it is written (admin, migration tests): an
        # instrument that cannot be scored is refused before anyone is asked it.
        validate_definition(self.items, self.scoring)


class MeasureSchedule(models.Model):
    """An instrument a therapist asks a patient to answer every ``every_days`` days.

    Window k starts on ``starts_on + k * every_days`` (local dates on the patient's
    clock); window 0 is the baseline. Stopping keeps the answers.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    every_days = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    starts_on = models.DateField(help_text="The baseline's day, on the patient's clock.")
    stopped_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "instrument"],
                condition=Q(stopped_at__isnull=True),
                name="measure_schedule_one_running",
            ),
            models.CheckConstraint(
                condition=Q(every_days__gte=1, every_days__lte=365),
                name="measure_schedule_cadence_range",
            ),
        ]
        indexes = [models.Index(fields=["patient", "stopped_at"], name="measure_schedule_patient")]

    def __str__(self) -> str:
        return f"{self.instrument_id} every {self.every_days} days"


class MeasureResponse(models.Model):
    """One complete, scored answer to a scheduled instrument; the phone makes its id."""

    id = models.UUIDField(primary_key=True, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    schedule = models.ForeignKey(MeasureSchedule, on_delete=models.PROTECT, related_name="+")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    # Copied from the schedule: the therapist who asked sees the answer as treatment.
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    window_start = models.DateField(help_text="The first day of the window it answers.")
    answered_at = models.DateTimeField()
    answers = EncryptedJSONField()
    # code -> value for each score the definition names (total, subscales).
    scores = models.JSONField()
    total = models.SmallIntegerField(null=True, blank=True)
    band = models.CharField(max_length=40, blank=True)
    crisis = models.BooleanField(default=False, help_text="A crisis item was answered above 0.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["answered_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "window_start"], name="measure_response_once_per_window"
            )
        ]
        indexes = [
            models.Index(fields=["patient", "instrument", "answered_at"], name="measure_trend"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} answered {self.answered_at:%Y-%m-%d}"


class MeasureDraft(models.Model):
    """Answers saved before they are complete, so that they survive a lost phone."""

    schedule = models.ForeignKey(MeasureSchedule, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    window_start = models.DateField()
    answers = EncryptedJSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "window_start"], name="measure_draft_once_per_window"
            )
        ]

    def __str__(self) -> str:
        return f"Draft for {self.schedule_id} {self.window_start}"
