"""What every response that shows a patient's records to someone else carries."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.consent.scopes import REDISCLOSURE_HEADER, REDISCLOSURE_NOTICE
from backend.core.pagination import CursorPagination

NOTICE_FIELD = "redisclosure_notice"


class DisclosesRecords:
    """View mixin: successful answers carry the 42 CFR 2.32 notice as a header.

    Bodies carry it too, as ``redisclosure_notice`` (see NoticeField), so a
    client that stores the body keeps the notice with it. Such answers are
    never cached by a browser or a proxy.
    """

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code < 400:
            response[REDISCLOSURE_HEADER] = REDISCLOSURE_NOTICE
            response["Cache-Control"] = "no-store, private"
        return response


@extend_schema_field(OpenApiTypes.STR)
class NoticeField(serializers.Field):
    """The 42 CFR 2.32 redisclosure notice, as a read-only string in a body."""

    def __init__(self, **kwargs):
        kwargs.update(source="*", read_only=True)
        kwargs.setdefault(
            "help_text", "42 CFR 2.32: these records may not be used or disclosed further."
        )
        super().__init__(**kwargs)

    def to_representation(self, value) -> str:
        return REDISCLOSURE_NOTICE


class DisclosingPagination(CursorPagination):
    """Cursor pages of someone else's records, with the notice in the envelope."""

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data[NOTICE_FIELD] = REDISCLOSURE_NOTICE
        return response

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"][NOTICE_FIELD] = {"type": "string", "example": REDISCLOSURE_NOTICE}
        schema["required"] = [*schema.get("required", []), NOTICE_FIELD]
        return schema
