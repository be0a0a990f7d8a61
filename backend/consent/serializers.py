from django.utils import timezone
from rest_framework import serializers

from backend.accounts.serializers import PersonSerializer
from backend.consent.models import ConsentGrant
from backend.consent.scopes import (
    FAMILY_DEFAULT_SCOPES,
    PURPOSES_BY_ROLE,
    REVEALS_JOURNAL_TEXT,
    REVOCATION_INSTRUCTIONS,
    Purpose,
    Scope,
)
from backend.core.serializers import AwareDateTimeField, StrictSerializer


class ScopeInfoSerializer(serializers.Serializer):
    scope = serializers.CharField()
    description = serializers.CharField()
    reveals_journal_text = serializers.BooleanField(
        help_text="Shows the patient's own words (situation, thoughts)."
    )
    family_default = serializers.BooleanField(
        help_text="Offered to family by default. Journal-text scopes never are."
    )
    for_roles = serializers.ListField(child=serializers.CharField())


def scope_catalogue() -> list[dict]:
    return [
        {
            "scope": scope.value,
            "description": str(scope.label),
            "reveals_journal_text": scope in REVEALS_JOURNAL_TEXT,
            "family_default": scope in FAMILY_DEFAULT_SCOPES,
            "for_roles": ["therapist", "family"],
        }
        for scope in Scope
    ]


class GrantCreateSerializer(StrictSerializer):
    recipient = serializers.UUIDField(
        help_text="A therapist on your care team, or a family member who accepted your invite."
    )
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=Scope.choices), min_length=1, max_length=len(Scope)
    )
    purpose = serializers.ChoiceField(
        choices=Purpose.choices,
        help_text=(
            "treatment or care_coordination for a therapist; family_support for family. "
            f"Allowed: {', '.join(f'{r}: {sorted(p)}' for r, p in PURPOSES_BY_ROLE.items())}."
        ),
    )
    starts_at = AwareDateTimeField(required=False, help_text="Default: now.")
    expires_at = AwareDateTimeField(
        required=False, help_text="Default: one year after the start; at most five years."
    )
    signature_name = serializers.CharField(
        max_length=150, help_text="Type your full name to sign this consent."
    )
    allow_journal_text = serializers.BooleanField(
        default=False,
        help_text="Needed to give family a journal scope: they would read your own words.",
    )

    def validate_scopes(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Name each scope once.")
        return value


class GrantSerializer(serializers.ModelSerializer):
    patient = PersonSerializer()
    recipient = PersonSerializer()
    scopes = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField(
        help_text="active, scheduled (starts later), expired or revoked."
    )
    how_to_revoke = serializers.SerializerMethodField()

    class Meta:
        model = ConsentGrant
        fields = [
            "id", "patient", "recipient", "purpose", "scopes", "description", "starts_at",
            "expires_at", "signature_name", "signed_at", "state", "revoked_at", "revoked_reason",
            "how_to_revoke", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_scopes(self, grant) -> list[str]:
        return sorted(row.scope for row in grant.scope_rows.all())

    def get_state(self, grant) -> str:
        now = self.context.get("now") or timezone.now()
        if grant.revoked_at is not None:
            return "revoked"
        if grant.expires_at <= now:
            return "expired"
        if grant.starts_at > now:
            return "scheduled"
        return "active"

    def get_how_to_revoke(self, grant) -> str:
        return REVOCATION_INSTRUCTIONS.replace("{id}", str(grant.pk))


class RevokeSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)
