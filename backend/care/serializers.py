from rest_framework import serializers

from backend.accounts.models import User
from backend.care.models import CareInvite, CareLink
from backend.core.serializers import StrictSerializer, invite_status


class CareInviteSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()

    class Meta:
        model = CareInvite
        fields = ["id", "created_at", "expires_at", "used_at", "revoked_at", "status"]
        read_only_fields = fields

    def get_status(self, invite: CareInvite) -> str:
        return invite_status(invite)


class CareInviteCreatedSerializer(CareInviteSerializer):
    code = serializers.CharField(
        read_only=True, help_text="Shown only once; give it to the patient."
    )

    class Meta(CareInviteSerializer.Meta):
        fields = [*CareInviteSerializer.Meta.fields, "code"]
        read_only_fields = fields


class RedeemSerializer(StrictSerializer):
    code = serializers.CharField(max_length=32)


class TherapistSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "display_name", "email"]
        read_only_fields = fields


class PatientSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "display_name", "time_zone"]
        read_only_fields = fields


class CareTeamMemberSerializer(serializers.ModelSerializer):
    therapist = TherapistSummarySerializer(read_only=True)
    since = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = CareLink
        fields = ["id", "therapist", "since"]
        read_only_fields = fields


class CaseloadEntrySerializer(serializers.ModelSerializer):
    patient = PatientSummarySerializer(read_only=True)
    since = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = CareLink
        fields = ["id", "patient", "since"]
        read_only_fields = fields
