from django.conf import settings
from rest_framework import serializers

from backend.accounts.models import User, default_time_zone, normalize_email
from backend.accounts.services import check_new_password
from backend.core.serializers import StrictModelSerializer, StrictSerializer
from backend.core.time import validate_time_zone


class TimeZoneField(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("validators", [validate_time_zone])
        kwargs.setdefault("help_text", "IANA time zone, e.g. America/New_York.")
        super().__init__(**kwargs)


class RegisterSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        write_only=True, max_length=128, style={"input_type": "password"}
    )
    display_name = serializers.CharField(
        max_length=80, required=False, default="", allow_blank=True
    )
    time_zone = TimeZoneField(required=False, default=default_time_zone)
    locale = serializers.ChoiceField(choices=settings.LANGUAGES, default="en")

    def validate(self, attrs):
        provisional = User(
            email=normalize_email(attrs["email"]), display_name=attrs["display_name"]
        )
        check_new_password(attrs["password"], provisional, field="password")
        return attrs


class AcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField(read_only=True)


class VerifyEmailSerializer(StrictSerializer):
    token = serializers.CharField(max_length=1024)


class TokenObtainSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        write_only=True, max_length=128, style={"input_type": "password"}
    )


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(
        read_only=True, help_text="Bearer token; lives at most 15 minutes."
    )
    refresh = serializers.CharField(
        read_only=True, help_text="Single-use: each refresh returns a new one."
    )


class RefreshSerializer(StrictSerializer):
    refresh = serializers.CharField(max_length=2048)


class PasswordResetRequestSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(StrictSerializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = serializers.CharField(
        write_only=True, max_length=128, style={"input_type": "password"}
    )


class PasswordChangeSerializer(StrictSerializer):
    current_password = serializers.CharField(
        write_only=True, max_length=128, style={"input_type": "password"}
    )
    new_password = serializers.CharField(
        write_only=True, max_length=128, style={"input_type": "password"}
    )


class DeactivateSerializer(StrictSerializer):
    password = serializers.CharField(
        write_only=True, max_length=128, style={"input_type": "password"}
    )


class MeSerializer(StrictModelSerializer):
    email_verified = serializers.BooleanField(read_only=True)
    time_zone = TimeZoneField(required=False)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "role",
            "display_name",
            "time_zone",
            "quiet_hours_start",
            "quiet_hours_end",
            "locale",
            "email_verified",
            "date_joined",
        ]
        read_only_fields = ["id", "email", "role", "email_verified", "date_joined"]


class UserSummarySerializer(serializers.ModelSerializer):
    """What one side of a care link sees of the other."""

    class Meta:
        model = User
        fields = ["id", "display_name", "role"]
        read_only_fields = fields


# Someone named in another person's records: id, the name they go by, and role.
class PersonSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField()
    role = serializers.CharField()
