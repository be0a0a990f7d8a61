from rest_framework import serializers

from backend.accounts.serializers import RegisterSerializer
from backend.consent.scopes import FAMILY_DEFAULT_SCOPES, Scope
from backend.core.serializers import StrictSerializer, invite_status
from backend.family.models import FamilyInvite, FamilyLink
from backend.family.services import MAX_GRANT_DAYS


class FamilyInviteCreateSerializer(StrictSerializer):
    email = serializers.EmailField(
        max_length=254, help_text="Only an account with this address can accept."
    )
    recipient_name = serializers.CharField(
        max_length=150, help_text="Who you are inviting, as you know them (e.g. 'Aunt May')."
    )
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=Scope.choices),
        min_length=1,
        max_length=len(Scope),
        default=lambda: [str(s) for s in FAMILY_DEFAULT_SCOPES],
        help_text=(
            "What they will see once they accept. Default: "
            f"{', '.join(str(s) for s in FAMILY_DEFAULT_SCOPES)}. Journal scopes need "
            "allow_journal_text."
        ),
    )
    allow_journal_text = serializers.BooleanField(
        default=False,
        help_text="Needed for journal.shared or journal.all: they would read your own words.",
    )
    grant_days = serializers.IntegerField(
        min_value=1,
        max_value=MAX_GRANT_DAYS,
        default=365,
        help_text="How long the consent lasts from acceptance, in days (default one year).",
    )
    signature_name = serializers.CharField(
        max_length=150, help_text="Type your full name to sign the consent this invite carries."
    )

    def validate_scopes(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Name each scope once.")
        return value


class FamilyInviteSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField(help_text="active, used, revoked or expired.")
    scopes = serializers.ListField(child=serializers.CharField(), source="scope_list")

    class Meta:
        model = FamilyInvite
        fields = [
            "id", "email", "recipient_name", "scopes", "allow_journal_text", "grant_days",
            "signature_name", "signed_at", "created_at", "expires_at", "used_at", "revoked_at",
            "status",
        ]  # fmt: skip
        read_only_fields = fields

    def get_status(self, invite: FamilyInvite) -> str:
        return invite_status(invite)


class FamilyInviteCreatedSerializer(FamilyInviteSerializer):
    code = serializers.CharField(
        read_only=True,
        help_text="Shown only once, and never emailed: pass it on yourself.",
    )

    class Meta(FamilyInviteSerializer.Meta):
        fields = [*FamilyInviteSerializer.Meta.fields, "code"]
        read_only_fields = fields


class InviteCodeSerializer(StrictSerializer):
    code = serializers.CharField(max_length=32)


class FamilyRegisterSerializer(RegisterSerializer):
    code = serializers.CharField(
        max_length=32, help_text="The invite code; it must have been made for this email."
    )


class LinkedPersonSerializer(serializers.Serializer):
    """The other side of a family link. Named apart from consent's Person: a generated
    client derives class names from component names, and two alike lose one."""

    id = serializers.UUIDField(read_only=True)
    display_name = serializers.CharField(read_only=True)


class LinkedMemberSerializer(LinkedPersonSerializer):
    email = serializers.EmailField(read_only=True)


class _LinkSerializer(serializers.ModelSerializer):
    since = serializers.DateTimeField(source="created_at", read_only=True)
    scopes = serializers.ListField(
        child=serializers.CharField(),
        source="open_scopes",
        read_only=True,
        help_text="What the patient shares with this person now; empty when nothing is in force.",
    )


class FamilyPatientSerializer(_LinkSerializer):
    patient = LinkedPersonSerializer(read_only=True)

    class Meta:
        model = FamilyLink
        fields = ["id", "patient", "since", "scopes"]
        read_only_fields = fields


class FamilyMemberSerializer(_LinkSerializer):
    member = LinkedMemberSerializer(read_only=True)
    invited_as = serializers.CharField(
        source="invite.recipient_name",
        default=None,
        allow_null=True,
        read_only=True,
        help_text="The name you gave when inviting them (null if linked otherwise).",
    )

    class Meta:
        model = FamilyLink
        fields = ["id", "member", "invited_as", "since", "scopes"]
        read_only_fields = fields
