import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from backend.core.invites import InviteCode


class CareInvite(InviteCode):
    """A single-use, expiring code a therapist hands to a patient to link up.

    Only a hash of the code is stored: a database dump cannot be used to link.
    """

    code_purpose = "care.invite-code"

    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_invites"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["therapist", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="care_invite_expires_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"Invite by {self.therapist_id} ({self.created_at:%Y-%m-%d})"


class CareLink(models.Model):
    """A therapist on a patient's care team. On its own it opens no record: consent does."""

    class Source(models.TextChoices):
        INVITE = "invite", "Invite code"
        ADMIN = "admin", "Clinic admin"
        # Made for a program enrolment's primary therapist (backend.program): the link goes
        # when that enrolment is handed to someone else, unless something else keeps it.
        PROGRAM = "program", "Program enrolment"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_links_as_patient"
    )
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_links_as_therapist"
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["therapist", "-created_at"],
                condition=Q(ended_at__isnull=True),
                name="care_link_active_therapist",
            ),
            models.Index(
                fields=["patient", "-created_at"],
                condition=Q(ended_at__isnull=True),
                name="care_link_active_patient",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "therapist"],
                condition=Q(ended_at__isnull=True),
                name="care_link_one_active",
            ),
            models.CheckConstraint(
                condition=~Q(patient=models.F("therapist")), name="care_link_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.therapist} -> {self.patient}"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None
