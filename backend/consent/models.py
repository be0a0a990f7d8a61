import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from backend.consent.scopes import Purpose, Scope
from backend.core.crypto import EncryptedTextField


class ConsentGrant(models.Model):
    """A patient's signed consent for one recipient to see named kinds of records.

    Holds what 42 CFR 2.31 asks of a consent. Never edited and never deleted:
    to change what is shared the patient revokes it and signs a new one. The
    scopes live in GrantScope rows, which the access policy reads.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consents_given"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consents_received"
    )
    recipient_role = models.CharField(max_length=16, help_text="The recipient's role when signed.")
    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    description = models.TextField(help_text="The information disclosed, in words, as signed.")
    starts_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    signature_name = models.CharField(max_length=150, help_text="The name the patient typed.")
    signed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="grant_patient_created"),
            models.Index(fields=["recipient", "-created_at"], name="grant_recipient_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("starts_at")), name="grant_expires_after_start"
            ),
            models.CheckConstraint(condition=~Q(patient=F("recipient")), name="grant_not_to_self"),
            models.CheckConstraint(
                condition=Q(purpose__in=Purpose.values), name="grant_purpose_known"
            ),
        ]

    def __str__(self) -> str:
        return f"Consent {self.patient_id} -> {self.recipient_id} ({self.purpose})"


class GrantScope(models.Model):
    """One scope of one grant, with the grant's window copied for the policy's lookups.

    ``ended_at`` is set when the grant is revoked or, after it expired, when a
    new grant for the same scope replaces it: at most one open row per patient,
    recipient and scope.
    """

    grant = models.ForeignKey(ConsentGrant, on_delete=models.PROTECT, related_name="scope_rows")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    scope = models.CharField(max_length=16, choices=Scope.choices)
    starts_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["recipient", "scope", "patient"],
                condition=Q(ended_at__isnull=True),
                name="grant_scope_open_recipient",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "recipient", "scope"],
                condition=Q(ended_at__isnull=True),
                name="grant_scope_one_open",
            ),
            models.UniqueConstraint(fields=["grant", "scope"], name="grant_scope_once"),
            models.CheckConstraint(condition=Q(scope__in=Scope.values), name="grant_scope_known"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} of {self.grant_id}"


class DisclosureLog(models.Model):
    """One read of a patient's records by someone else (42 CFR 2.25 accounting).

    Append-only: database triggers (migration 0002) refuse UPDATE and DELETE,
    on PostgreSQL and on SQLite. Holds ids and counts, never record content.
    """

    id = models.BigAutoField(primary_key=True)
    viewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    viewer_role = models.CharField(max_length=16)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=24, help_text="What kind of record was seen.")
    record_ids = models.JSONField(default=list, blank=True)
    record_count = models.PositiveIntegerField()
    grant = models.ForeignKey(
        ConsentGrant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Null when seen without a consent, as the therapist who assigned it.",
    )
    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    at = models.DateTimeField()
    endpoint = models.CharField(max_length=200, help_text="Method and path, without query string.")
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["patient", "-at"], name="disclosure_patient_at")]

    def __str__(self) -> str:
        return f"{self.viewer_id} saw {self.record_count} {self.kind} of {self.patient_id}"


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
        "journal.JournalEntry", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    checkin = models.ForeignKey(
        "journal.CheckIn", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    alert = models.ForeignKey(
        "journal.CareTeamAlert", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    at = models.DateTimeField(help_text="When it happened: the entry's time, the check-in's day.")

    class Meta:
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


class FeedReview(models.Model):
    """A recipient's acknowledgement of a feed item, with an optional comment the patient sees."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey(FeedItem, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    comment = EncryptedTextField(blank=True)
    reviewed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "reviewer"], name="feed_review_once"),
        ]

    def __str__(self) -> str:
        return f"Review of {self.item_id} by {self.reviewer_id}"
