"""Insights and export of the patient's own journal.

Both answer with ``Cache-Control: no-store``: they are health records, and no
browser, proxy or shared device should keep a copy.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.permissions import IsPatient
from backend.core.renderers import JSONRenderer
from backend.core.time import local_today
from backend.journal import reports
from backend.journal.renderers import CSVRenderer
from backend.journal.report_serializers import (
    ExportQuerySerializer,
    ExportSerializer,
    InsightsQuerySerializer,
    InsightsSerializer,
)


def _private(response: Response) -> Response:
    response["Cache-Control"] = "no-store"
    return response


@extend_schema(tags=["journal"])
class InsightsView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="Patterns in your cravings over a range of days",
        description=(
            "For the local dates `from` to `to` in your time zone (both included; by default the "
            "last 30 days, at most 366): totals, every day (days without entries too), your top 10 "
            "triggers, how often each HALT state and each outcome came up, a 7 x 24 heatmap of "
            "cravings by weekday (0 = Monday) and hour on your clock, how much intensity dropped "
            "when you used a coping skill, and your sober days per counter. Days and hours follow "
            "your zone's daylight-saving rules: a day may have 23 or 25 hours."
        ),
        parameters=[InsightsQuerySerializer],
        responses={200: InsightsSerializer, 400: None},
    )
    def get(self, request):
        query = InsightsQuerySerializer(
            data=request.query_params, context={"today": local_today(request.user)}
        )
        query.is_valid(raise_exception=True)
        insights = reports.insights_for(
            request.user, query.validated_data["from"], query.validated_data["to"]
        )
        return _private(Response(InsightsSerializer(insights).data))


@extend_schema(tags=["journal"])
class ExportView(APIView):
    permission_classes = [IsPatient]
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        summary="Download all of your journal",
        description=(
            "Everything you logged that is not deleted: entries (with triggers, HALT, emotions, "
            "coping skills and your text), check-ins, sobriety counters with every decision, and "
            "your trigger vocabulary, with `exported_at` and your time zone.\n\n"
            "`?format=csv` answers one table instead, chosen by `kind`: `entries` (default), "
            "`checkins`, `counters` or `decisions`. Lists in a cell are joined by `; `; text "
            "starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` so a "
            "spreadsheet shows it instead of running it. UTF-8 without a byte-order mark, a header "
            "row first. An unknown `format` answers 404."
        ),
        parameters=[ExportQuerySerializer],
        responses={
            (200, "application/json"): ExportSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One table (`kind`)."),
            400: None,
            404: None,  # an unknown `format`
        },
    )
    def get(self, request, *args, **kwargs):
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        today = local_today(request.user)
        if request.accepted_renderer.format == CSVRenderer.format:
            kind = query.validated_data["kind"]
            response = Response(reports.export_table(request.user, kind))
            filename = f"recovery-journal-{kind}-{today}.csv"
        else:
            response = Response(ExportSerializer(reports.export_for(request.user)).data)
            filename = f"recovery-journal-{today}.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return _private(response)
