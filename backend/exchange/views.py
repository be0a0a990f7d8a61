"""FHIR R4 export: a patient's measures, questionnaires and consents as one Bundle.

The patient exports their own (right of access); a therapist exports what the gate
gives them (answers under a ``measures`` consent, or to questionnaires they
scheduled while on the care team), logged like every disclosure. Anyone else, or a
patient the viewer may not see, answers 404; family members never export (403).
"""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.consent import policy
from backend.consent.scopes import Scope
from backend.consent.selectors import grants_of
from backend.core.permissions import role_permission
from backend.core.renderers import JSONRenderer
from backend.disclosure.notice import DisclosesRecordsToOthers
from backend.disclosure.services import Disclosure
from backend.exchange import fhir
from backend.exchange.renderers import FhirJSONRenderer
from backend.measures import selectors as measures
from backend.measures.access import RESPONSE, SCHEDULE
from backend.program import selectors as program

CanExport = role_permission(
    User.Role.PATIENT,
    User.Role.THERAPIST,
    message="Only patients (their own records) and their therapists export health records.",
)


@extend_schema(tags=["fhir"])
class PatientEverythingView(DisclosesRecordsToOthers, APIView):
    permission_classes = [CanExport]
    renderer_classes = [FhirJSONRenderer, JSONRenderer]

    @extend_schema(
        summary="A patient's records as a FHIR R4 Bundle (application/fhir+json)",
        description=(
            "A `collection` Bundle: Patient (minimal), a Questionnaire per instrument, a "
            "QuestionnaireResponse per answer, an Observation per answer (the instrument's "
            "panel) with one per score as its members (LOINC 44261-6 for the PHQ-9 total, "
            "70274-6 for GAD-7; a local code system for BAM and PACS), a Consent per grant (the "
            "patient's own, or those naming you) and an Appointment per IOP session the patient "
            "was expected at (as the program's rules show them to you). Every resource is "
            "labelled as 42 CFR Part 2 data (42CFRPart2, NORDSCLCD, confidentiality R). A "
            "therapist gets the answers a `measures` consent opens and those to questionnaires "
            "they scheduled; a patient they may see nothing of answers 404."
        ),
        responses={(200, "application/fhir+json"): OpenApiTypes.OBJECT},
    )
    def get(self, request, patient_id):
        viewer = request.user
        now = timezone.now()
        patient = User.objects.filter(pk=patient_id, role=User.Role.PATIENT).first()
        if patient is None or (viewer.role == User.Role.PATIENT and viewer.pk != patient.pk):
            raise NotFound()
        responses = list(
            measures.responses_for(viewer, now=now)
            .filter(patient=patient)
            .order_by("answered_at", "id")
        )
        sessions = list(program.sessions_for_patient(viewer, patient))
        if viewer.role != User.Role.PATIENT:
            responses = self._handed_out(request, patient, responses, sessions, now=now)
        body = fhir.bundle(
            patient=patient,
            instruments=measures.instruments(),
            responses=responses,
            grants=grants_of(viewer).filter(patient=patient).order_by("created_at"),
            now=now,
            sessions=sessions,
        )
        return Response(body, content_type="application/fhir+json")

    @staticmethod
    def _handed_out(request, patient: User, responses: list, sessions: list, *, now) -> list:
        """For someone else: 404 unless the measures scope, questionnaires of their own or the
        program's sessions give them something of this patient; what is shown is logged."""
        viewer = request.user
        held = policy.scopes_held(
            viewer, [patient.pk], now=now, scopes=[Scope.MEASURES, Scope.PROGRAM]
        )
        scopes = held.get(patient.pk, {})
        asked = policy.readable(viewer, SCHEDULE, now=now).filter(patient=patient).exists()
        if Scope.MEASURES not in scopes and not asked and not sessions:
            raise NotFound()
        if sessions:
            # Sessions with their attendance: the program's staff see them as treatment,
            # anyone else under the program scope.
            ids = [str(s.pk) for s in sessions]
            scope = Scope.PROGRAM if Scope.PROGRAM in scopes else ""
            policy.disclose(
                request=request,
                viewer=viewer,
                held=held,
                items=[Disclosure(patient.pk, scope, "program_session", ids, len(ids))],
            )
        return policy.hand_out(
            request=request, viewer=viewer, kind=RESPONSE, records=responses, now=now, held=held
        )
