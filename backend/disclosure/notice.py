"""What every response that shows a patient's records to someone else carries."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.core.pagination import CursorPagination

# 42 CFR 2.32(a)(2): the short statement that must accompany a disclosure made with consent.
REDISCLOSURE_NOTICE = "42 CFR part 2 prohibits unauthorized use or disclosure of these records."
REDISCLOSURE_HEADER = "Redisclosure-Notice"
NOTICE_FIELD = "redisclosure_notice"


class DisclosesRecords:
    """View mixin: successful answers carry the 42 CFR 2.32 notice as a header.

    Bodies carry it too, as ``redisclosure_notice`` (see NoticeField), so a
    client that stores the body keeps the notice with it. Such answers are
    never cached by a browser or a proxy.
    """

    def shows_others_records(self, request) -> bool:
        return True

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code < 400 and self.shows_others_records(request):
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

    def carries_notice(self, request) -> bool:
        return True

    def paginate_queryset(self, queryset, request, view=None):
        self._notice = self.carries_notice(request)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        if getattr(self, "_notice", True):
            response.data[NOTICE_FIELD] = REDISCLOSURE_NOTICE
        return response

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"][NOTICE_FIELD] = {"type": "string", "example": REDISCLOSURE_NOTICE}
        schema["required"] = [*schema.get("required", []), NOTICE_FIELD]
        return schema


# Endpoints that answer patients about their own records and others about a
# patient's records through the policy: the notice goes only to the others.


def discloses(request) -> bool:
    """True when the answer shows a patient's records to someone else.

    Through the policy a patient only ever sees their own records, so anyone
    who is not a patient is being shown someone else's.
    """
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user.role != "patient")


class DisclosesRecordsToOthers(DisclosesRecords):
    """View mixin: like DisclosesRecords, for answers that show a patient's records to others."""

    def shows_others_records(self, request) -> bool:
        return discloses(request)


@extend_schema_field(OpenApiTypes.STR)
class NoticeToOthersField(serializers.Field):
    """The notice in a body, present only when the serializer context says ``disclosed``."""

    may_be_absent = True  # backend.core.schema: listed, not required (patients get none)

    def __init__(self, **kwargs):
        kwargs.update(source="*", read_only=True, required=False)
        kwargs.setdefault(
            "help_text",
            "Present when these are someone else's records (42 CFR 2.32): they may not be used "
            "or disclosed further.",
        )
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        if not self.context.get("disclosed"):
            raise serializers.SkipField()
        return instance

    def to_representation(self, value) -> str:
        return REDISCLOSURE_NOTICE


class NoticeToOthersPagination(DisclosingPagination):
    """Cursor pages whose envelope carries the notice when they show someone else's records."""

    def carries_notice(self, request) -> bool:
        return discloses(request)

    def get_paginated_response_schema(self, schema):
        # The notice is optional here: patients reading their own records get none.
        schema = CursorPagination.get_paginated_response_schema(self, schema)
        schema["properties"][NOTICE_FIELD] = {
            "type": "string",
            "example": REDISCLOSURE_NOTICE,
            "description": "Present when the page shows someone else's records (42 CFR 2.32).",
        }
        return schema
