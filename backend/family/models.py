import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from backend.consent.scopes import Scope
from backend.core.invites import InviteCode


class FamilyInvite(InviteCode):
    """A patient's single-use, expiring code for one family member or friend.

    Holds the scopes the patient chose and their signature, so accepting the
    invite creates the consent grant the patient already signed. Only a hash of
    the code is stored.
    """

    code_purpose = "family.invite-code"

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="family_invites"
    )
    email = models.EmailField(max_length=254, help_text="Only this address can accept.")
    recipient_name = models.CharField(
        max_length=150, help_text="Who the patient means to share with, in their words."
    )
    scopes = models.JSONField(help_text="Scopes the grant will hold.")
    allow_journal_text = models.BooleanField(
        default=False, help_text="The patient agreed that journal scopes show their own words."
    )
    grant_days = models.PositiveSmallIntegerField(default=365)
    signature_name = models.CharField(max_length=150)
    signed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["patient", "-created_at"], name="family_invite_patient")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")),
                name="family_invite_expires_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"Family invite by {self.patient_id} ({self.created_at:%Y-%m-%d})"

    def scope_list(self) -> list[str]:
        return [s for s in self.scopes if s in Scope.values]


class FamilyLink(models.Model):
    """A family member or friend who accepted a patient's invite.

    Opens nothing on its own: what they see is what the patient's grants hold.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="family_links_as_patient"
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="family_links_as_member"
    )
    invite = models.ForeignKey(FamilyInvite, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    # Set by selectors.with_open_scopes (not a field).
    open_scopes: list[str]

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "member"],
                condition=Q(ended_at__isnull=True),
                name="family_link_one_active",
            ),
            models.CheckConstraint(condition=~Q(patient=F("member")), name="family_link_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} supports {self.patient_id}"
