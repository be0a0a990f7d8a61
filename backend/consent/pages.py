"""A list endpoint of one kind of record, as the gate hands it out."""

from datetime import datetime

from django.db.models import QuerySet
from rest_framework import generics
from rest_framework.response import Response

from backend.consent import policy
from backend.disclosure.notice import (
    DisclosesRecordsToOthers,
    NoticeToOthersPagination,
    discloses,
)


class HandedOutPage(DisclosesRecordsToOthers, generics.ListAPIView):
    """Cursor pages of ``kind``'s records: of each page, what the gate hands out now (a grant
    ended mid-request drops its records; each read by someone else is logged), serialized
    with the redisclosure notice for anyone but the patient."""

    kind: policy.Kind
    pagination_class = NoticeToOthersPagination
    filter_backends: list = []

    def page_response(self, request, queryset: QuerySet, now: datetime) -> Response:
        page = self.paginate_queryset(queryset)
        shown = policy.hand_out(
            request=request, viewer=request.user, kind=self.kind, records=page, now=now
        )
        context = {"request": request, "disclosed": discloses(request), "now": now}
        serializer = self.get_serializer_class()(shown, many=True, context=context)
        return self.get_paginated_response(serializer.data)
