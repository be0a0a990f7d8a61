"""The craving and trigger journal: entries, daily check-ins, sobriety counters.

Entries and check-ins are created offline on the phone, so the phone chooses
their ids (``client_id``). Such an id is unique per patient only: two patients
may pick the same UUID and neither can tell, so the server keys rows by its own
``id`` and every lookup by a phone's id goes through the patient. Every write takes the next number of the patient's sync sequence
(``SyncState``); the changes feed reads by that number. Deletes keep a
tombstone (``deleted_at``) so other devices learn of them.
"""

import uuid
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db import models
from django.db.models import Q

from backend.core.crypto import EncryptedTextField


class Substance(models.TextChoices):
    ALCOHOL = "alcohol", "Alcohol"
    OPIOIDS = "opioids", "Opioids"
    STIMULANTS = "stimulants", "Stimulants"
    CANNABIS = "cannabis", "Cannabis"
    PRESCRIPTION = "prescription", "Prescription drugs / benzodiazepines"
    NICOTINE = "nicotine", "Nicotine"
    GAMBLING = "gambling", "Gambling"
    SEX = "sex", "Sex"
    EATING = "eating", "Eating"
    OTHER = "other", "Other"


class TriggerCategory(models.TextChoices):
    PEOPLE = "people", "People"
    PLACES = "places", "Places"
    THINGS = "things", "Things"
    EMOTIONS = "emotions", "Emotions"
    PHYSICAL = "physical", "Physical"
    SOCIAL = "social", "Social"
    TIME_OF_DAY = "time_of_day", "Time of day"


class Outcome(models.TextChoices):
    RESISTED = "resisted", "Resisted"
    LAPSED = "lapsed", "Lapsed"
    USED = "used", "Used"
    ONGOING = "ongoing", "Ongoing"


class SyncState(models.Model):
    """The patient's sync sequence.

    Writers lock this row (an UPDATE) until they commit, so a patient's sequence
    numbers become visible strictly in order: a reader that has seen number N
    has seen every number below N, and the changes feed never skips a write
    that commits late.
    """

    patient = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Sync state at {self.last_seq}"


class Trigger(models.Model):
    """One patient's trigger vocabulary: grows from what they log, offered back."""

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    category = models.CharField(max_length=16, choices=TriggerCategory.choices)
    label = models.CharField(max_length=60)
    # Lower-cased label: "Work" and "work" are one trigger.
    key = models.CharField(max_length=60, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "category", "key"], name="trigger_unique_per_patient"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.label}"


class Syncable(models.Model):
    """Fields every offline-synced record carries."""

    # The server's key, never shown: rows made before client ids were per patient
    # kept their phone's id as this key (migration journal 0003).
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    client_id = models.UUIDField(
        help_text="Chosen by the phone; unique per patient; the API's id for the record."
    )
    version = models.PositiveIntegerField(default=1)
    seq = models.BigIntegerField(help_text="Position in the patient's sync sequence.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class JournalEntry(Syncable):
    occurred_at = models.DateTimeField()
    utc_offset_minutes = models.SmallIntegerField(
        help_text="The device's UTC offset when it happened."
    )
    local_date = models.DateField(
        editable=False,
        help_text="occurred_at's date on the patient's clock (their time zone); the journal "
        "sets it on every write and again for every entry when the patient's zone changes.",
    )
    intensity = models.PositiveSmallIntegerField()
    intensity_after = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    substance = models.CharField(max_length=16, choices=Substance.choices)
    triggers = models.ManyToManyField(Trigger, through="EntryTrigger", related_name="entries")
    halt_hungry = models.BooleanField(default=False)
    halt_angry = models.BooleanField(default=False)
    halt_lonely = models.BooleanField(default=False)
    halt_tired = models.BooleanField(default=False)
    mood = models.SmallIntegerField(null=True, blank=True)
    emotions = models.JSONField(default=list, blank=True)
    place_label = models.CharField(max_length=80, blank=True)
    situation = EncryptedTextField(blank=True)
    thoughts = EncryptedTextField(blank=True)
    coping_skills = models.JSONField(
        default=list, blank=True, help_text="What the patient tried, as text."
    )
    coping_used = models.BooleanField(default=False, editable=False)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    shared = models.BooleanField(
        default=False, help_text="Marked by the patient for recipients of journal.shared."
    )

    class Meta:
        verbose_name_plural = "journal entries"
        indexes = [
            models.Index(fields=["patient", "-occurred_at"], name="entry_patient_occurred"),
            models.Index(fields=["patient", "seq"], name="entry_patient_seq"),
            # A caseload's last fortnight of entries, for a hundred patients at once, grouped
            # by day on each one's clock, with no time-zone arithmetic per row. PostgreSQL's
            # planner takes one range of the first index; SQLite's (no statistics) takes the
            # patients' ids first, and then only the second spares it every entry of theirs.
            models.Index(fields=["local_date"], name="entry_local_date"),
            models.Index(fields=["patient", "local_date"], name="entry_patient_local_date"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(intensity__gte=0, intensity__lte=10), name="entry_intensity_0_10"
            ),
            models.CheckConstraint(
                condition=Q(intensity_after__isnull=True)
                | Q(intensity_after__gte=0, intensity_after__lte=10),
                name="entry_intensity_after_0_10",
            ),
            models.CheckConstraint(
                condition=Q(mood__isnull=True) | Q(mood__gte=-3, mood__lte=3),
                name="entry_mood_minus3_3",
            ),
            models.CheckConstraint(
                condition=Q(utc_offset_minutes__gte=-16 * 60, utc_offset_minutes__lte=16 * 60),
                name="entry_utc_offset_range",
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=Outcome.values), name="entry_outcome_known"
            ),
            models.CheckConstraint(
                condition=Q(substance__in=Substance.values), name="entry_substance_known"
            ),
            models.UniqueConstraint(fields=["patient", "seq"], name="entry_seq_unique"),
            models.UniqueConstraint(
                fields=["patient", "client_id"], name="entry_client_id_per_patient"
            ),
        ]

    def __str__(self) -> str:
        return f"Entry {self.client_id}"  # never the text: it may reach logs and the admin

    HALT_FIELDS = (
        ("hungry", "halt_hungry"),
        ("angry", "halt_angry"),
        ("lonely", "halt_lonely"),
        ("tired", "halt_tired"),
    )

    @property
    def occurred_at_local(self) -> datetime:
        return self.occurred_at.astimezone(dt_timezone(timedelta(minutes=self.utc_offset_minutes)))

    @property
    def halt_list(self) -> list[str]:
        return [name for name, field in self.HALT_FIELDS if getattr(self, field)]

    @property
    def trigger_list(self) -> list[dict[str, str]]:
        """Needs ``prefetched_triggers`` (selectors and services set it)."""
        return [
            {"category": et.trigger.category, "label": et.trigger.label}
            for et in self.prefetched_triggers
        ]


class EntryTrigger(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.CASCADE, related_name="entry_triggers")
    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "trigger"], name="entry_trigger_unique")
        ]

    def __str__(self) -> str:
        return f"Trigger {self.trigger_id} on entry {self.entry_id}"


class Medication(models.TextChoices):
    YES = "yes", "Taken"
    NO = "no", "Not taken"
    NOT_PRESCRIBED = "not_prescribed", "Not prescribed"


class CheckIn(Syncable):
    """One per patient per local date."""

    local_date = models.DateField()
    mood = models.SmallIntegerField()
    sleep_hours = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    peak_craving = models.PositiveSmallIntegerField()
    used_today = models.BooleanField()
    medication = models.CharField(max_length=16, choices=Medication.choices)
    note = EncryptedTextField(blank=True, help_text="An intention or a gratitude.")

    class Meta:
        indexes = [
            models.Index(fields=["patient", "-local_date"], name="checkin_patient_date"),
            models.Index(fields=["patient", "seq"], name="checkin_patient_seq"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "local_date"],
                condition=Q(deleted_at__isnull=True),
                name="checkin_one_per_local_date",
            ),
            models.UniqueConstraint(fields=["patient", "seq"], name="checkin_seq_unique"),
            models.UniqueConstraint(
                fields=["patient", "client_id"], name="checkin_client_id_per_patient"
            ),
            models.CheckConstraint(
                condition=Q(mood__gte=-3, mood__lte=3), name="checkin_mood_minus3_3"
            ),
            models.CheckConstraint(
                condition=Q(peak_craving__gte=0, peak_craving__lte=10), name="checkin_peak_0_10"
            ),
            models.CheckConstraint(
                condition=Q(sleep_hours__isnull=True) | Q(sleep_hours__gte=0, sleep_hours__lte=24),
                name="checkin_sleep_0_24",
            ),
        ]

    def __str__(self) -> str:
        return f"Check-in {self.local_date}"


class SobrietyCounter(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    substance = models.CharField(max_length=16, choices=Substance.choices)
    start_date = models.DateField(help_text="The first sober day, in the patient's time zone.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["substance"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "substance"], name="counter_one_per_substance"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_substance_display()} since {self.start_date}"


class CounterDecision(models.Model):
    """What the patient decided about a counter after a "used" entry (or on their own).

    A "used" or "lapsed" entry never resets a counter by itself: it opens a
    pending decision, the patient chooses reset or keep, and this records it.
    """

    class Decision(models.TextChoices):
        PENDING = "pending", "Waiting for the patient"
        RESET = "reset", "Start again from a new date"
        KEEP = "keep", "Keep the counter as it is"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    counter = models.ForeignKey(SobrietyCounter, on_delete=models.CASCADE, related_name="decisions")
    entry = models.ForeignKey(
        JournalEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.CharField(max_length=8, choices=Decision.choices)
    previous_start_date = models.DateField()
    new_start_date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["counter", "entry"],
                condition=Q(entry__isnull=False),
                name="decision_once_per_entry",
            ),
            models.CheckConstraint(
                condition=Q(decision="pending", decided_at__isnull=True)
                | (~Q(decision="pending") & Q(decided_at__isnull=False)),
                name="decision_decided_at_matches",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} ({self.created_at:%Y-%m-%d})"


class CareTeamAlert(models.Model):
    """A moment the care team may need to know about (very high craving, lapse, use, thoughts
    of self-harm in a questionnaire's answer).

    Who is alerted is decided by consent (the crisis-alert scope) and, for an answer, also
    the therapist who asked for it (``asked_by``, while on the care team); delivery goes
    through the nudges outbox. One alert per entry (or answer) and reason.
    """

    class Reason(models.TextChoices):
        HIGH_INTENSITY = "high_intensity", "Very high craving"
        LAPSE = "lapse", "Lapse"
        USE = "use", "Use"
        SELF_HARM_THOUGHTS = "self_harm_thoughts", "Thoughts of self-harm in a questionnaire"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    entry = models.ForeignKey(
        JournalEntry, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    response = models.ForeignKey(
        "measures.MeasureResponse",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The therapist who asked for the answer that raised it.",
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "reason"], name="alert_once_per_entry_reason"),
            models.UniqueConstraint(
                fields=["response", "reason"], name="alert_once_per_response_reason"
            ),
            models.CheckConstraint(
                condition=Q(entry__isnull=False, response__isnull=True)
                | Q(entry__isnull=True, response__isnull=False),
                name="alert_from_entry_or_response",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason} alert"


class FeedItem(models.Model):
    """Something a patient logged that a recipient may see, if a grant covers it.

    Written for every entry, check-in and crisis alert; who sees it is decided
    at read time by the access policy, so a revocation hides it at once.
    """

    class Kind(models.TextChoices):
        ENTRY = "entry", "Journal entry"
        CHECKIN = "checkin", "Check-in"
        ALERT = "alert", "Crisis alert"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    entry = models.ForeignKey(
        JournalEntry, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    checkin = models.ForeignKey(
        CheckIn, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    alert = models.ForeignKey(
        CareTeamAlert, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    at = models.DateTimeField(help_text="When it happened: the entry's time, the check-in's day.")
    # Copies of the record's own state, kept in step by the journal's writes, so that who may
    # see an item is decided on its row alone: counting a caseload's unread items joined every
    # item to its entry or check-in, a scan of the whole journal on PostgreSQL.
    shared = models.BooleanField(
        default=False, help_text="Its entry is marked shared by the patient (entries only)."
    )
    withdrawn = models.BooleanField(
        default=False, help_text="Its entry or check-in was deleted by the patient."
    )

    class Meta:
        db_table = "consent_feeditem"  # made by the consent app; the table keeps its name
        indexes = [
            models.Index(fields=["patient", "-at"], name="feed_patient_at"),
            # The feed of a caseload, newest first: read in order, stopping at the page's end.
            models.Index(fields=["-at", "-id"], name="feed_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="entry", entry__isnull=False, checkin__isnull=True, alert__isnull=True)
                    | Q(
                        kind="checkin",
                        entry__isnull=True,
                        checkin__isnull=False,
                        alert__isnull=True,
                    )
                    | Q(kind="alert", entry__isnull=True, checkin__isnull=True, alert__isnull=False)
                ),
                name="feed_item_one_record",
            ),
            models.UniqueConstraint(fields=["entry"], name="feed_item_entry_once"),
            models.UniqueConstraint(fields=["checkin"], name="feed_item_checkin_once"),
            models.UniqueConstraint(fields=["alert"], name="feed_item_alert_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.patient_id} at {self.at:%Y-%m-%d %H:%M}"
