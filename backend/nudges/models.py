import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class NudgeRule(models.Model):
    """A reminder a patient set (or accepted from their therapist or from their own history)."""

    class Kind(models.TextChoices):
        CHECKIN = "checkin", "Daily check-in at a local time"
        MEETING = "meeting", "Before a saved meeting"
        HOMEWORK = "homework", "Before homework is due"
        HIGH_RISK = "high_risk", "Before a personal high-risk window"
        SESSION = "session", "Before my next program session"
        CUSTOM = "custom", "A message on chosen weekdays and times"
        MEASURE = "measure", "When a questionnaire is due"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        SUGGESTED = "suggested", "Suggested, waiting for the patient"
        DECLINED = "declined", "Declined"

    class Quiet(models.TextChoices):
        SHIFT = "shift", "Move to the end of quiet hours"
        DROP = "drop", "Drop"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="nudge_rules"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    # Local times on the patient's clock; weekdays 0 = Monday .. 6 = Sunday.
    times = models.JSONField(default=list, help_text="'HH:MM' local times.")
    weekdays = models.JSONField(default=list, help_text="0 = Monday .. 6 = Sunday.")
    lead_minutes = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(24 * 60)]
    )
    meeting = models.ForeignKey(
        "meetings.Meeting", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    message = models.CharField(max_length=120, help_text="Lock-screen text: neutral words only.")
    quiet_hours = models.CharField(max_length=10, choices=Quiet.choices, default=Quiet.SHIFT)
    suggested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suggestion_reason = models.CharField(max_length=200, blank=True)
    # The first moment not yet planned (null: plan at the next sweep). A sweep reads only
    # rules whose next moment enters its horizon, so its cost follows the nudges due,
    # not the number of rules.
    next_due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "kind"], name="nudge_rule_status"),
            models.Index(
                fields=["next_due_at"], name="nudge_rule_next_due", condition=Q(status="active")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} rule of {self.patient_id}"


class NudgePreferences(models.Model):
    patient = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="nudge_preferences"
    )
    daily_cap = models.PositiveSmallIntegerField(
        default=6, validators=[MinValueValidator(1), MaxValueValidator(48)]
    )

    def __str__(self) -> str:
        return f"Nudge preferences of {self.patient_id}"


class Nudge(models.Model):
    """The outbox: one row per reminder due, per recipient; sent once."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Claimed by a sender"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed; will be retried"
        DEAD = "dead", "Gave up after retries"
        SKIPPED = "skipped", "Missed its moment; not sent late"

    # Came due and went to the in-app inbox (Web Push may still be retrying, or gave up).
    INBOX_STATES = (State.SENDING, State.SENT, State.FAILED, State.DEAD)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="nudges"
    )
    rule = models.ForeignKey(
        NudgeRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="nudges"
    )
    alert = models.ForeignKey(
        "journal.CareTeamAlert", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The slot the rule planned (before quiet hours moved it); the unique key of planning.
    slot = models.DateTimeField()
    due_at = models.DateTimeField()
    title = models.CharField(max_length=120)
    urgent = models.BooleanField(default=False)
    tolerance = models.DurationField(help_text="Skipped when not sent this long after due_at.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim = models.UUIDField(null=True, blank=True, help_text="The sender round holding it.")
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "slot"], condition=Q(rule__isnull=False), name="nudge_rule_slot"
            ),
            models.UniqueConstraint(
                fields=["alert", "recipient"],
                condition=Q(alert__isnull=False),
                name="nudge_alert_recipient",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="nudge_deliverable",
                condition=Q(state__in=["pending", "failed", "sending"]),
            ),
            models.Index(fields=["recipient", "-due_at"], name="nudge_inbox"),
        ]

    def __str__(self) -> str:
        return f"Nudge {self.pk} ({self.state})"


class PushSubscription(models.Model):
    """A browser's Web Push subscription (endpoint and keys, RFC 8030 / 8291)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Push subscription of {self.user_id}"


class Delivery(models.Model):
    """What happened to one nudge on one channel (kept for support and for the tests)."""

    nudge = models.ForeignKey(Nudge, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=20)
    ok = models.BooleanField()
    detail = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.channel} {'ok' if self.ok else 'failed'} for {self.nudge_id}"
