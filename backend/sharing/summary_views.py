"""Patient summaries for therapists and family: only what the patient's consents allow.

Every answer carries the 42 CFR 2.32 notice (header and body) and writes the
disclosure log. A patient who granted the viewer nothing in force is a 404.
Patients see their own figures through their own endpoints (/journal/...).
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.consent import policy
from backend.core.permissions import IsFamily, IsTherapist
from backend.disclosure.notice import DisclosesRecords, DisclosingPagination
from backend.sharing import summaries
from backend.sharing.summary_serializers import (
    CaseloadSummaryQuerySerializer,
    SharedPatientSummarySerializer,
    SharedSummarySerializer,
)

SUMMARY_DESCRIPTION = (
    "What the patient's consents in force give you, on the patient's clock (their time zone): "
    "`checkins` (current streak, last check-in) under checkins, `counters` (days sober) under "
    "counters, the two weeks of `craving_trend` under insights or journal.all, `program` "
    "(week N of M, sessions attended of those held, absences in a row) under program, and the "
    "`flags` "
    "those scopes cover. Sections and flags your scopes do not cover are absent. "
    "A patient who gave you no consent in force answers 404."
)


class PatientSummaryView(DisclosesRecords, APIView):
    @extend_schema(
        summary="One patient's summary: streak, counters, flags and insights",
        description=SUMMARY_DESCRIPTION
        + " Under the insights scope, `insights` covers the last 30 days.",
        responses={200: SharedPatientSummarySerializer},
    )
    def get(self, request, patient_id):
        now = timezone.now()
        summary, _held = summaries.patient_summary_disclosed(
            request=request, viewer=request.user, patient_id=patient_id, now=now
        )
        return Response(SharedPatientSummarySerializer(summary).data)


@extend_schema(tags=["care"])
class CarePatientSummaryView(PatientSummaryView):
    permission_classes = [IsTherapist]


@extend_schema(tags=["family"])
class FamilyPatientSummaryView(PatientSummaryView):
    permission_classes = [IsFamily]


@extend_schema(tags=["care"])
class CaseloadSummariesView(DisclosesRecords, generics.ListAPIView):
    """Every patient who gave you a consent in force, with their summary and flags."""

    permission_classes = [IsTherapist]
    serializer_class = SharedSummarySerializer
    pagination_class = DisclosingPagination
    filter_backends: list = []
    queryset = User.objects.none()
    ordering = ("display_name", "id")

    @extend_schema(
        summary="Summaries of your caseload, to spot who is struggling",
        description=SUMMARY_DESCRIPTION.replace("A patient who", "Patients who").replace(
            "answers 404", "are not listed"
        )
        + " Ordered by name. `flag` keeps the patients with that flag raised.",
        parameters=[CaseloadSummaryQuerySerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        query = CaseloadSummaryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        now = timezone.now()
        patients = policy.patients_granting(request.user, now=now)
        flag = query.validated_data.get("flag")
        if flag:
            patients = patients.filter(
                pk__in=summaries.patients_flagged(request.user, flag, now=now)
            )
        page = self.paginate_queryset(patients)
        held = policy.scopes_held(request.user, [p.pk for p in page], now=now)
        found = summaries.summaries_for(request.user, page, now=now, held=held)
        # A grant revoked between the two reads leaves its patient out of the page.
        shown = [found[p.pk] for p in page if p.pk in found]
        policy.disclose(
            request=request,
            viewer=request.user,
            held=held,
            items=summaries.summary_disclosures(shown),
        )
        return self.get_paginated_response(self.get_serializer(shown, many=True).data)
