"""OpenAPI generation: every operation documents its error responses."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import permissions, serializers

from backend.core.errors import PROBLEM_CONTENT_TYPE


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
    errors = FieldErrorSerializer(many=True, required=False)

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

    def get_description(self):
        doc = (super().get_description() or "").strip()
        lines = doc.splitlines()
        return "\n".join(lines[1:]).strip() if len(lines) > 1 else ""

    def _error_codes(self) -> set[str]:
        codes: set[str] = set()
        has_body = self.method in ("POST", "PUT", "PATCH")
        if has_body:
            codes |= {"400", "411", "413", "415"}
        if self._is_list_view() or self.get_filter_backends() or self._get_paginator():
            codes.add("400")
        perms = self.view.get_permissions()
        if not all(isinstance(p, permissions.AllowAny) for p in perms):
            codes |= {"401", "403"}
        if "{" in self.path:
            codes.add("404")
        if self.view.get_throttles():
            codes.add("429")
        handler = getattr(
            self.view, getattr(self.view, "action", None) or self.method.lower(), None
        )
        if getattr(handler, "idempotent", False):  # backend.core.idempotency.idempotent
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
