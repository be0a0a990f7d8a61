from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
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


class CursorPagination(BoundedPageSize, pagination.CursorPagination):
    """Cursor pagination with a bounded page size; bad parameters answer 400."""

    ordering = "-created_at"

    def get_ordering(self, request, queryset, view):
        # Each list view names its own stable ordering (e.g. "-occurred_at").
        ordering = getattr(view, "ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise ValidationError({self.cursor_query_param: ["This cursor is not valid."]}) from exc


class PinnedPagePagination(BoundedPageSize, pagination.PageNumberPagination):
    """Numbered pages of a search whose order depends on the moment it runs.

    The view sets ``pinned`` (query parameter -> value, e.g. ``at``); the next and
    previous links carry it, so every page is cut from the same ordering.
    """

    pinned: dict[str, str] = {}

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            raise ValidationError({self.page_query_param: ["There is no such page."]}) from exc

    def _pin(self, url):
        for name, value in self.pinned.items():
            if url is not None:
                url = replace_query_param(url, name, value)
        return url

    def get_next_link(self):
        return self._pin(super().get_next_link())

    def get_previous_link(self):
        return self._pin(super().get_previous_link())
