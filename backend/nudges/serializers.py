import base64
import binascii
import re

from rest_framework import serializers

from backend.core.serializers import StrictSerializer
from backend.meetings.models import Meeting
from backend.nudges.models import Nudge, NudgePreferences, NudgeRule

WEEKDAY_HELP = "0 = Monday .. 6 = Sunday; empty means every day."


class LocalTimeField(serializers.CharField):
    default_error_messages = {"invalid_time": "Use a local time as HH:MM, e.g. 20:30."}

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
            self.fail("invalid_time")
        return text


class RuleWriteSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=NudgeRule.Kind.choices)
    times = serializers.ListField(
        child=LocalTimeField(max_length=5), required=False, default=list, max_length=12
    )
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        required=False,
        default=list,
        max_length=7,
        help_text=WEEKDAY_HELP,
    )
    lead_minutes = serializers.IntegerField(
        min_value=0,
        max_value=24 * 60,
        required=False,
        default=0,
        help_text=(
            "Meeting reminders: minutes before the meeting starts. Homework reminders: "
            "minutes before the end of the due date (e.g. 240 for 8 p.m.). Session reminders: "
            "minutes before each program session (5 to 1440; 60 when made at enrolment)."
        ),
    )
    meeting = serializers.PrimaryKeyRelatedField(
        queryset=Meeting.objects.filter(retired_at__isnull=True), required=False, allow_null=True
    )
    message = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        help_text=(
            "What the lock screen shows. Neutral words only: nothing about substances, "
            "cravings, recovery, treatment, therapy or a program. Default: a neutral phrase "
            "per kind."
        ),
    )
    quiet_hours = serializers.ChoiceField(
        choices=NudgeRule.Quiet.choices,
        default=NudgeRule.Quiet.SHIFT,
        help_text="Due inside your quiet hours: shift to their end, or drop.",
    )

    def validate_weekdays(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Name each weekday once.")
        return sorted(value)

    def validate_times(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Name each time once.")
        return sorted(value)


class RuleUpdateSerializer(RuleWriteSerializer):
    status = serializers.ChoiceField(
        choices=[NudgeRule.Status.ACTIVE, NudgeRule.Status.PAUSED], required=False
    )

    def get_fields(self):
        # Used with partial=True: only what is sent changes; the kind never does.
        fields = super().get_fields()
        fields.pop("kind")
        return fields


class RuleSerializer(serializers.ModelSerializer):
    suggested_by = serializers.SerializerMethodField()

    class Meta:
        model = NudgeRule
        fields = [
            "id", "kind", "status", "times", "weekdays", "lead_minutes", "meeting", "message",
            "quiet_hours", "suggested_by", "suggestion_reason", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_suggested_by(self, rule) -> str | None:
        """Who suggested the rule: a therapist's name, "your journal", or null (you)."""
        if rule.suggested_by_id:
            return rule.suggested_by.display_name or "your therapist"
        if rule.kind == NudgeRule.Kind.HIGH_RISK and rule.suggestion_reason:
            return "your journal"
        return None


class SuggestionSerializer(RuleWriteSerializer):
    suggestion_reason = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def get_fields(self):
        fields = super().get_fields()
        fields.pop("meeting")  # a therapist cannot see which meetings a patient saved
        fields["kind"] = serializers.ChoiceField(
            choices=[NudgeRule.Kind.CHECKIN, NudgeRule.Kind.CUSTOM]
        )
        return fields


class WindowSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(help_text="0 = Monday.")
    hour = serializers.IntegerField(help_text="Local hour the window starts.")
    entries = serializers.IntegerField()
    description = serializers.CharField()


class WindowsSerializer(serializers.Serializer):
    windows = WindowSerializer(many=True)
    reason = serializers.CharField(help_text="Why there are none, when there are none.")


class PreferencesSerializer(serializers.ModelSerializer):
    class Meta:
        model = NudgePreferences
        fields = ["daily_cap"]


class PreferencesWriteSerializer(StrictSerializer):
    daily_cap = serializers.IntegerField(min_value=1, max_value=48)


class Base64UrlField(serializers.CharField):
    default_error_messages = {"invalid_b64": "Not base64url."}

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            self.fail("invalid_b64")


class PushKeysSerializer(StrictSerializer):
    p256dh = Base64UrlField(max_length=200)
    auth = Base64UrlField(max_length=100)


class PushSubscriptionWriteSerializer(StrictSerializer):
    endpoint = serializers.URLField(max_length=1000)
    keys = PushKeysSerializer()
    expirationTime = serializers.IntegerField(required=False, allow_null=True)  # noqa: N815 (the Push API's key)


class PushSubscriptionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    endpoint = serializers.CharField()
    created_at = serializers.DateTimeField()


class InboxSerializer(serializers.ModelSerializer):
    kind = serializers.SerializerMethodField()

    class Meta:
        model = Nudge
        fields = ["id", "kind", "title", "urgent", "due_at", "sent_at", "opened_at", "dismissed_at"]
        read_only_fields = fields

    def get_kind(self, nudge) -> str:
        if nudge.alert_id:
            return "crisis_alert"
        return nudge.rule.kind if nudge.rule_id else "reminder"
