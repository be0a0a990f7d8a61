"""OpenAPI generation: every operation documents its error responses."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiParameter
from rest_framework import permissions, serializers

from backend.core import idempotency
from backend.core.errors import PROBLEM_CONTENT_TYPE
from backend.core.serializers import StrictSerializer

# Serializer fields tell the schema what their type alone cannot, by attribute:
# - may_be_absent: some answers leave the field out (it raises SkipField), so it is
#   listed but not required: a client reading a required key never misses it;
# - schema_required: a request must send it (backend.core.serializers.ForPatientField);
# - unknown_is_404: it names another record, and one not to be seen answers 404
#   (backend.core.serializers.ReferenceField).

# JSON Schema's `format: time` is RFC 3339's full-time (seconds and an offset); our
# times are wall-clock times without an offset, so they are described by a pattern.
_HH_MM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_ISO_TIME_OUT = r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?$"
_ISO_TIME_IN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    idempotency.HEADER,
    type={
        "type": "string",
        "minLength": 1,
        "maxLength": idempotency.KEY_MAX_LENGTH,
        # Printable ASCII (space included), not only spaces.
        "pattern": "^[ -~]*[!-~][ -~]*$",
    },
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any 1-255 printable ASCII characters. A retry with the same key and body gets the "
        "first answer again (Idempotent-Replayed: true); the same key with another body is a "
        "422; while the first request still runs, a 409 with Retry-After."
    ),
)


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(
        allow_null=True, help_text="Dotted path to the field; null for the request."
    )
    code = serializers.CharField()
    message = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, the body of every error response."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    instance = serializers.CharField(required=False)
    # The serializer's metaclass takes declared fields off the class, so this field
    # does not replace Serializer.errors; the stubs cannot know that.
    errors = FieldErrorSerializer(many=True, required=False)  # type: ignore[assignment]

    class Meta:
        ref_name = "Problem"


ERROR_DESCRIPTIONS = {
    "400": "Invalid input; `errors` lists each field's problem.",
    "401": "Missing, expired or revoked credentials.",
    "403": "Your role may not do this.",
    "404": "Not found, or not yours to see.",
    "409": "Conflicts with the current state.",
    "411": "A chunked body this server cannot read; send Content-Length.",
    "412": "The resource changed since you read it.",
    "413": "The request body is too large.",
    "422": "The request cannot be processed as sent.",
    "428": "Send If-Match with the ETag you last read.",
    "415": "Send application/json.",
    "429": "Too many requests; see Retry-After.",
}


class AutoSchema(SpectacularAutoSchema):
    def get_summary(self):
        summary = super().get_summary()
        if summary:
            return summary
        doc = super().get_description() or ""
        return doc.strip().splitlines()[0].rstrip(".") if doc.strip() else None

    # drf-spectacular drops DRF's (path, method) arguments and ignores this error itself.
    def get_description(self):  # type: ignore[override]
        doc = (super().get_description() or "").strip()
        lines = doc.splitlines()
        return "\n".join(lines[1:]).strip() if len(lines) > 1 else ""

    def _handler(self):
        return getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)

    def _is_idempotent(self) -> bool:
        # Set by backend.core.idempotency.idempotent on the handler it wraps.
        return bool(getattr(self._handler(), "idempotent", False))

    def _takes_query_parameters(self) -> bool:
        """Declared query parameters are validated: a bad one answers 400."""
        for parameter in self.get_override_parameters():
            if not isinstance(parameter, OpenApiParameter):
                return True  # a serializer of query parameters
            if parameter.location == OpenApiParameter.QUERY:
                return True
        return False

    def _refers_to_other_records(self) -> bool:
        """A body or query field naming another record (ReferenceField) may answer 404."""
        candidates = [
            p for p in self.get_override_parameters() if not isinstance(p, OpenApiParameter)
        ]
        if self.method in ("POST", "PUT", "PATCH"):
            candidates.append(self.get_request_serializer())
        for candidate in candidates:
            serializer = force_instance(candidate)
            fields = getattr(serializer, "fields", None) or {}
            if any(getattr(field, "unknown_is_404", False) for field in fields.values()):
                return True
        return False

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._is_idempotent():
            parameters.append(IDEMPOTENCY_KEY_PARAMETER)
        return parameters

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        fields = getattr(serializer, "fields", {})
        absent = {name for name, field in fields.items() if getattr(field, "may_be_absent", False)}
        if absent and "required" in schema:
            schema["required"] = [name for name in schema["required"] if name not in absent]
            if not schema["required"]:
                del schema["required"]
        declared = [n for n, f in fields.items() if getattr(f, "schema_required", False)]
        if declared and direction == "request":
            schema["required"] = sorted({*schema.get("required", []), *declared})
        if direction == "request" and isinstance(serializer, StrictSerializer):
            schema["additionalProperties"] = False  # unknown keys are refused by name
        return schema

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.TimeField) and schema.get("format") == "time":
            del schema["format"]
            if direction == "response":
                output = getattr(field, "format", None)
                schema["pattern"] = _HH_MM if output == "%H:%M" else _ISO_TIME_OUT
            else:
                formats = getattr(field, "input_formats", None) or ()
                schema["pattern"] = _HH_MM if list(formats) == ["%H:%M"] else _ISO_TIME_IN
        return schema

    def _error_codes(self) -> set[str]:
        codes: set[str] = set()
        has_body = self.method in ("POST", "PUT", "PATCH")
        if has_body:
            codes |= {"400", "411", "413", "415"}
        if (
            self._is_list_view()
            or self.get_filter_backends()
            or self._get_paginator()
            or self._takes_query_parameters()
        ):
            codes.add("400")
        perms = self.view.get_permissions()
        if not all(isinstance(p, permissions.AllowAny) for p in perms):
            codes |= {"401", "403"}
        if "{" in self.path or self._refers_to_other_records():
            codes.add("404")
        if self.view.get_throttles():
            codes.add("429")
        if self._is_idempotent():
            codes |= {"409", "422"}
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        # Error codes a view declares itself (`responses={409: None}`) get the problem body too.
        declared = {
            code for code, body in responses.items() if code[0] in "45" and "content" not in body
        }
        for code in sorted(self._error_codes() - set(responses) | declared):
            responses[code] = self._get_response_for_code(
                ProblemSerializer, code, media_types=[PROBLEM_CONTENT_TYPE], direction=direction
            )
            responses[code]["description"] = ERROR_DESCRIPTIONS.get(
                code, "An error; see the problem document."
            )
        return responses
