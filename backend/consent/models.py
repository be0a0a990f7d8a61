import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from backend.consent.scopes import Purpose, Scope


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


class GrantScopeQuerySet(models.QuerySet):
    def in_force(self, *, now: datetime | None = None) -> "GrantScopeQuerySet":
        """Scope rows of grants in force at ``now``: not revoked, started, not expired.

        The one definition of "a grant in force"; the access policy reads through it.
        """
        now = now or timezone.now()
        return self.filter(ended_at__isnull=True, starts_at__lte=now, expires_at__gt=now)


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

    objects = GrantScopeQuerySet.as_manager()

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
