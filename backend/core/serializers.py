from datetime import datetime
from typing import Any, Protocol

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from backend.core.time import parse_api_datetime, validate_api_date


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


def validated(serializer: serializers.Serializer, data: Any) -> dict[str, Any]:
    """``data`` validated by a serializer made once, errors as ``is_valid`` reports them.

    For hot write paths: DRF deep-copies every declared field into each new serializer,
    which cost more than the rest of validating a journal entry. The serializer is
    only read here, so one instance serves every request.
    """
    try:
        return dict(serializer.run_validation(data))
    except serializers.ValidationError as exc:
        detail = exc.detail
        if (
            isinstance(detail, list)
            and len(detail) == 1
            and getattr(detail[0], "code", "") == "null"
        ):
            # A JSON null body: the words is_valid() uses for it.
            detail = {
                api_settings.NON_FIELD_ERRORS_KEY: [
                    serializers.ErrorDetail("No data provided", code="null")
                ]
            }
        raise serializers.ValidationError(detail) from None


def _as_drf_error(error: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(error.messages, code=error.code)


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(serializers.Field):
    """The API's one datetime input: ISO 8601 with its UTC offset, which is kept.

    DRF's DateTimeField would quietly read a naive time in the server's zone and
    drop the device's offset; for a journal both matter. Offsets and years are
    held to what both databases store and the date arithmetic holds
    (backend.core.time.validate_api_datetime).
    """

    def to_internal_value(self, data):
        try:
            return parse_api_datetime(data)
        except DjangoValidationError as error:
            raise _as_drf_error(error) from None

    def to_representation(self, value):
        return value.isoformat()


class BoundedDateField(serializers.DateField):
    """The API's one date input: YYYY-MM-DD in the years the date arithmetic holds."""

    def to_internal_value(self, value):
        result = super().to_internal_value(value)
        try:
            validate_api_date(result)
        except DjangoValidationError as error:
            raise _as_drf_error(error) from None
        return result


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


class _Invite(Protocol):
    """What invite_status reads of a care or family invite (both sit above core)."""

    @property
    def revoked_at(self) -> datetime | None: ...
    @property
    def used_at(self) -> datetime | None: ...
    @property
    def expires_at(self) -> datetime: ...


def invite_status(invite: _Invite) -> str:
    """Where a single-use invite code stands now: active, used, revoked or expired."""
    if invite.revoked_at:
        return "revoked"
    if invite.used_at:
        return "used"
    if invite.expires_at <= timezone.now():
        return "expired"
    return "active"
