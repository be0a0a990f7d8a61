from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not accept instead of silently dropping them.

    A client that tries to set a read-only field (owner, role, ids) or misspells
    one learns it at once, field by field.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            errors = {}
            for key in data:
                if key in writable:
                    continue
                field = self.fields.get(key)
                errors[key] = [
                    "This field is read-only." if field is not None else "Unknown field."
                ]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(serializers.Field):
    """An ISO 8601 datetime that must carry its UTC offset; the offset is kept.

    DRF's DateTimeField would quietly read a naive time in the server's zone and
    drop the device's offset; for a journal both matter.
    """

    default_error_messages = {
        "invalid": "Use an ISO 8601 date and time with a UTC offset, e.g. 2026-11-24T21:30:00-05:00.",
        "naive": "Include the UTC offset (e.g. -05:00 or Z): a time without one is ambiguous.",
    }

    def to_internal_value(self, data):
        from django.utils.dateparse import parse_datetime

        if not isinstance(data, str) or len(data) > 64:
            self.fail("invalid")
        try:
            value = parse_datetime(data.strip())
        except ValueError:
            value = None
        if value is None:
            self.fail("invalid")
        if value.tzinfo is None or value.utcoffset() is None:
            self.fail("naive")
        return value

    def to_representation(self, value):
        return value.isoformat()


class ReferenceField(serializers.UUIDField):
    """The id of another record the request points at; one the viewer may not see, or
    that does not exist, answers 404 (``unknown_is_404``, which the schema documents)."""

    unknown_is_404 = True


class ForPatientField(ReferenceField):
    """The patient a write or a read is for: a therapist must name one, a patient names
    themselves or leaves it out.

    The schema lists it as required (``schema_required``, read by backend.core.schema):
    one schema serves both roles, and a client that always sends it is right for both,
    where an optional field would let a therapist's client send requests that fail.
    """

    schema_required = True

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


class StrictIntegerField(serializers.IntegerField):
    """An integer that is a JSON number: no booleans, no strings, no 5.5."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        if isinstance(data, float) and not data.is_integer():
            self.fail("invalid")
        return super().to_internal_value(data)


def invite_status(invite) -> str:
    """Where a single-use invite code stands now: active, used, revoked or expired."""
    if invite.revoked_at:
        return "revoked"
    if invite.used_at:
        return "used"
    if invite.expires_at <= timezone.now():
        return "expired"
    return "active"
