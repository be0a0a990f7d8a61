"""The accounting of disclosures: who saw which of a patient's records, under which grant."""

from django.conf import settings
from django.db import models


class Purpose(models.TextChoices):
    """Why records are disclosed: signed in each consent, copied into each disclosure."""

    TREATMENT = "treatment", "Treatment"
    CARE_COORDINATION = "care_coordination", "Care coordination"
    FAMILY_SUPPORT = "family_support", "Family support"


class DisclosureLog(models.Model):
    """One read of a patient's records by someone else (42 CFR 2.25 accounting).

    Append-only: database triggers (consent migration 0002) refuse UPDATE and DELETE,
    on PostgreSQL and on SQLite. Holds ids and counts, never record content.
    """

    id = models.BigAutoField(primary_key=True)
    viewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    viewer_role = models.CharField(max_length=16)
    # No index of its own: disclosure_patient_at leads with it (one index less to write on
    # every row a caseload page logs).
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=24, help_text="What kind of record was seen.")
    record_ids = models.JSONField(default=list, blank=True)
    record_count = models.PositiveIntegerField()
    grant = models.ForeignKey(
        "consent.ConsentGrant",
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
        # Made by the consent app, whose part of the code this was; the table keeps its name.
        db_table = "consent_disclosurelog"
        indexes = [models.Index(fields=["patient", "-at"], name="disclosure_patient_at")]

    def __str__(self) -> str:
        return f"{self.viewer_id} saw {self.record_count} {self.kind} of {self.patient_id}"
