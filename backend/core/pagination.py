from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param


class BoundedPageSize:
    """``?page_size=1..100`` (default 25); anything else answers 400 with a field error."""

    page_size = 25
    max_page_size = 100
    page_size_query_param = "page_size"

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"Must be a whole number from 1 to {self.max_page_size}."
                    ]
                }
            )
        return size


# The mixin's sizes are always set, where DRF's allow None (no paging); mypy holds
# attributes invariant across two bases, so it cannot accept the narrower types.
class CursorPagination(BoundedPageSize, pagination.CursorPagination):  # type: ignore[misc]
    """Cursor pagination with a bounded page size; bad parameters answer 400."""

    ordering = "-created_at"

    def get_ordering(self, request, queryset, view):
        # Each list view names its own stable ordering (e.g. "-occurred_at").
        ordering = getattr(view, "ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
        return parameters

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise ValidationError({self.cursor_query_param: ["This cursor is not valid."]}) from exc


class PinnedPagePagination(BoundedPageSize, pagination.BasePagination):
    """Numbered pages of a search whose order depends on the moment it runs.

    The view sets ``pinned`` (query parameter -> value, e.g. ``at``); the next and
    previous links carry it, so every page is cut from the same ordering. No total
    is counted: one query per page (a row past the page tells whether there is a
    next one), which halves the work of a costly search.
    """

    page_query_param = "page"
    max_page = 10_000
    pinned: dict[str, str] = {}

    def paginate_queryset(self, queryset, request, view=None):
        size = self.get_page_size(request)
        raw = request.query_params.get(self.page_query_param, "1")
        number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 0
        if not 1 <= number <= self.max_page:
            raise ValidationError({self.page_query_param: ["Use a page number from 1."]})
        offset = (number - 1) * size
        rows = list(queryset[offset : offset + size + 1])
        if number > 1 and not rows:
            raise ValidationError({self.page_query_param: ["There is no such page."]})
        self.request, self.number, self.has_next = request, number, len(rows) > size
        return rows[:size]

    def _link(self, number: int) -> str:
        url = self.request.build_absolute_uri()
        url = replace_query_param(url, self.page_query_param, number)
        for name, value in self.pinned.items():
            url = replace_query_param(url, name, value)
        return url

    def get_paginated_response(self, data):
        return Response(
            {
                "next": self._link(self.number + 1) if self.has_next else None,
                "previous": self._link(self.number - 1) if self.number > 1 else None,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": self.page_query_param, "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1}},
            {"name": self.page_size_query_param, "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size}},
        ]  # fmt: skip
