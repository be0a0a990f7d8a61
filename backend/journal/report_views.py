"""Reports over the journal: insights and export of the patient's own journal, and
which coping skills work (for the patient, or a therapist under a consent).

Insights and export answer with ``Cache-Control: no-store``: they are health records,
and no browser, proxy or shared device should keep a copy.
"""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.consent import policy
from backend.consent.scopes import Scope
from backend.core.permissions import IsPatient, role_permission
from backend.core.renderers import JSONRenderer
from backend.core.time import local_today
from backend.disclosure.notice import DisclosesRecordsToOthers, discloses
from backend.disclosure.services import Disclosure
from backend.journal import effectiveness, reports
from backend.journal.access import COUNTER, ENTRY_FIGURES
from backend.journal.renderers import CSVRenderer
from backend.journal.report_serializers import (
    EffectivenessQuerySerializer,
    EffectivenessSerializer,
    ExportQuerySerializer,
    ExportSerializer,
    InsightsQuerySerializer,
    InsightsSerializer,
)

IsPatientOrTherapist = role_permission(
    User.Role.PATIENT,
    User.Role.THERAPIST,
    message="Skill effectiveness is for patients and their therapists.",
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
        patient = request.user
        insights = reports.insights_for(
            patient,
            query.validated_data["from"],
            query.validated_data["to"],
            entries=policy.readable(patient, ENTRY_FIGURES),
            counters=policy.readable(patient, COUNTER),
            trigger_labels=True,
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


@extend_schema(tags=["coping"])
class SkillEffectivenessView(DisclosesRecordsToOthers, APIView):
    permission_classes = [IsPatientOrTherapist]

    @extend_schema(
        summary="Which coping skills work, from the journal",
        description=(
            "For each coping skill logged in journal entries: how often it was used, the share of "
            "those cravings that ended resisted (of those that ended: resisted, lapsed or used), "
            "and the mean drop in intensity (intensity minus intensity after). Logged skills "
            'match library skills by id, name or a common phrasing ("called my sponsor"), or the '
            "patient's custom skills. Patients see their own; a therapist names `patient`, who "
            "must have granted them `insights` or `journal.all`. Under `insights` alone, skills "
            "in the patient's own words are counted together without their label. "
            "`from`/`to` (local dates) narrow the range; by default the whole journal."
        ),
        parameters=[EffectivenessQuerySerializer],
        responses={200: EffectivenessSerializer},
    )
    def get(self, request):
        query = EffectivenessQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        now = timezone.now()
        patient, held = effectiveness.effectiveness_patient(
            viewer=request.user, patient_id=params.get("patient"), now=now
        )
        scopes = held.get(patient.pk, {})
        report = effectiveness.skill_effectiveness(
            request.user,
            patient,
            start=params.get("from"),
            end=params.get("to"),
            own_words=request.user == patient or Scope.JOURNAL_ALL in scopes,
            now=now,
        )
        if request.user != patient:
            scope = next(s for s in effectiveness.FIGURE_SCOPES if s in scopes)
            policy.disclose(
                request=request,
                viewer=request.user,
                held=held,
                items=[Disclosure(patient.pk, scope, "skill_effectiveness", None, 1)],
            )
        context = {"request": request, "disclosed": discloses(request)}
        return Response(EffectivenessSerializer(report, context=context).data)
