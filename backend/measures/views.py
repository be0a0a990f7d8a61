"""Measures: therapists schedule standard questionnaires; patients answer them offline-first.

Schedules and answers are visible to their patient, to the therapist who scheduled
them while on the patient's care team, and to anyone else only under a ``measures``
consent (such answers carry the redisclosure notice and write the disclosure log).
Anything else answers 404.
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.consent import policy
from backend.consent.pages import HandedOutPage
from backend.consent.policy import Action
from backend.core.crisis import DANGER_STEP, crisis_block
from backend.core.permissions import IsPatient, ReadWriteRoles
from backend.core.serializers import validated
from backend.disclosure.notice import (
    DisclosesRecordsToOthers,
    discloses,
)
from backend.measures import selectors, services
from backend.measures.access import RESPONSE, SCHEDULE
from backend.measures.models import Instrument, MeasureResponse, MeasureSchedule
from backend.measures.serializers import (
    DraftWriteSerializer,
    InstrumentSerializer,
    MeasureDraftSerializer,
    MeasureDueSerializer,
    MeasureResultsSerializer,
    ResponseQuerySerializer,
    ResponseSerializer,
    ResponseWriteSerializer,
    ResultsQuerySerializer,
    ScheduleChangeSerializer,
    ScheduleQuerySerializer,
    ScheduleSerializer,
    ScheduleWriteSerializer,
    StandardSetSerializer,
    SubmittedSerializer,
)

READERS = (User.Role.PATIENT, User.Role.THERAPIST, User.Role.FAMILY)
# One of each for every answer: DRF builds a serializer's fields per instance (deep copies).
RESPONSE_WRITE = ResponseWriteSerializer()
SUBMITTED = SubmittedSerializer()
CRISIS_REASON = "self_harm_thoughts"


class MeasuresAccess(ReadWriteRoles):
    message = "Only patients and the people they share with see questionnaires."
    readers = READERS
    write_message = "Only patients do this."
    writer_messages = {(User.Role.THERAPIST,): "Only therapists do this."}


def _context(request, now) -> dict:
    return {"request": request, "disclosed": discloses(request), "now": now}


def _patient(patient_id) -> User:
    patient = User.objects.filter(pk=patient_id, role=User.Role.PATIENT).first()
    if patient is None:
        raise NotFound()
    return patient


def _instrument(slug: str) -> Instrument:
    instrument = selectors.instruments().filter(slug=slug).first()
    if instrument is None:
        raise ValidationError({"instrument": ["No instrument has this slug."]})
    return instrument


def _schedule_shown(request, schedule_id, *, now) -> MeasureSchedule:
    schedule = selectors.schedule_get(request.user, schedule_id)
    shown = policy.hand_out(
        request=request, viewer=request.user, kind=SCHEDULE, records=[schedule], now=now
    )
    if not shown:
        raise NotFound()  # the grant ended while this request ran
    return schedule


@extend_schema(tags=["measures"])
class InstrumentListView(generics.ListAPIView):
    """The instruments a therapist can schedule, worded as validated, with how they score."""

    permission_classes = [MeasuresAccess]
    serializer_class = InstrumentSerializer
    filter_backends: list = []
    queryset = Instrument.objects.none()
    ordering = ("name", "id")

    def get_queryset(self):
        return selectors.instruments()


@extend_schema(tags=["measures"])
class InstrumentDetailView(APIView):
    permission_classes = [MeasuresAccess]

    @extend_schema(summary="One instrument", responses={200: InstrumentSerializer})
    def get(self, request, slug):
        instrument = selectors.instruments().filter(slug=slug).first()
        if instrument is None:
            raise NotFound()
        return Response(InstrumentSerializer(instrument).data)


class _SchedulePage(HandedOutPage):
    kind = SCHEDULE
    serializer_class = ScheduleSerializer
    queryset = MeasureSchedule.objects.none()


@extend_schema(tags=["measures"])
class ScheduleListCreateView(_SchedulePage):
    permission_classes = [MeasuresAccess]
    writers = (User.Role.THERAPIST,)
    ordering = ("created_at", "id")

    @extend_schema(
        summary="Questionnaire schedules you may see, oldest first",
        description=(
            "A patient's own; for a therapist, those they scheduled for patients on their care "
            "team and what a `measures` consent opens; for family, what a `measures` consent "
            "opens. `running=true` keeps schedules not stopped."
        ),
        parameters=[ScheduleQuerySerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        query = ScheduleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        now = timezone.now()
        schedules = selectors.schedules_for(request.user, now=now)
        if "patient" in params:
            schedules = schedules.filter(patient_id=params["patient"])
        if "running" in params:
            schedules = schedules.filter(stopped_at__isnull=params["running"] == "true")
        return self.page_response(request, schedules, now)

    @extend_schema(
        summary="Schedule a questionnaire for a patient on your caseload",
        description=(
            "The baseline is due on `starts_on` (default today on the patient's clock), then "
            "every `every_days` days. One running schedule per instrument and patient (409). "
            "A patient who is not on your caseload answers 404."
        ),
        request=ScheduleWriteSerializer,
        responses={201: ScheduleSerializer},
    )
    def post(self, request):
        serializer = ScheduleWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        patient = _patient(data["patient"])
        policy.authorize(request.user, Action.CREATE, SCHEDULE, patient_id=patient.pk)
        schedule = services.schedule_create(
            therapist=request.user,
            patient=patient,
            instrument=_instrument(data["instrument"]),
            every_days=data.get("every_days"),
            starts_on=data.get("starts_on"),
        )
        now = timezone.now()
        return Response(
            ScheduleSerializer(
                _schedule_shown(request, schedule.pk, now=now), context=_context(request, now)
            ).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(tags=["measures"])
class StandardSetView(DisclosesRecordsToOthers, APIView):
    permission_classes = [MeasuresAccess]
    writers = (User.Role.THERAPIST,)

    @extend_schema(
        summary="Schedule the standard set: PHQ-9, GAD-7 (every 2 weeks), BAM (weekly), PACS",
        description=(
            "PACS (weekly) joins when `alcohol` is true. Instruments already running are left "
            "as they are; the answer lists the new schedules."
        ),
        request=StandardSetSerializer,
        responses={201: ScheduleSerializer(many=True)},
    )
    def post(self, request):
        serializer = StandardSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        patient = _patient(data["patient"])
        policy.authorize(request.user, Action.CREATE, SCHEDULE, patient_id=patient.pk)
        created = services.standard_set_schedule(
            therapist=request.user,
            patient=patient,
            alcohol=data["alcohol"],
            starts_on=data.get("starts_on"),
        )
        now = timezone.now()
        shown = policy.hand_out(
            request=request, viewer=request.user, kind=SCHEDULE, records=created, now=now
        )
        return Response(
            ScheduleSerializer(shown, many=True, context=_context(request, now)).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(tags=["measures"])
class ScheduleDetailView(DisclosesRecordsToOthers, APIView):
    permission_classes = [MeasuresAccess]
    writers = (User.Role.THERAPIST,)

    @extend_schema(summary="One schedule", responses={200: ScheduleSerializer})
    def get(self, request, schedule_id):
        now = timezone.now()
        return Response(
            ScheduleSerializer(
                _schedule_shown(request, schedule_id, now=now), context=_context(request, now)
            ).data
        )

    @extend_schema(
        summary="Change a schedule's cadence, or stop it",
        description="The therapist who scheduled it (403 for others who can see it).",
        request=ScheduleChangeSerializer,
        responses={200: ScheduleSerializer, 409: None},
    )
    def patch(self, request, schedule_id):
        schedule = selectors.schedule_get(request.user, schedule_id)
        policy.authorize(
            request.user, Action.CHANGE, SCHEDULE, patient_id=schedule.patient_id, record=schedule
        )
        serializer = ScheduleChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.schedule_change(schedule=schedule, **serializer.validated_data)
        return self.get(request, schedule_id)


@extend_schema(tags=["measures"])
class DueListView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="Your questionnaires waiting for an answer now",
        description=(
            "One per running schedule whose current window (on your clock) has no answer yet, "
            "with any saved draft. At most one per instrument, so the list is never long."
        ),
        responses={200: MeasureDueSerializer(many=True)},
    )
    def get(self, request):
        return Response(MeasureDueSerializer(selectors.due_for(request.user), many=True).data)


def _own_schedule(request, schedule_id) -> MeasureSchedule:
    schedule = selectors.schedule_to_answer(request.user, schedule_id)
    policy.authorize(
        request.user, Action.ANSWER, SCHEDULE, patient_id=schedule.patient_id, record=schedule
    )
    return schedule


@extend_schema(tags=["measures"])
class DraftView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="Your saved unfinished answers for the current window",
        responses={200: MeasureDraftSerializer},
    )
    def get(self, request, schedule_id):
        draft = selectors.draft_for(_own_schedule(request, schedule_id))
        if draft is None:
            raise NotFound("No draft is saved for this questionnaire's current window.")
        return Response(MeasureDraftSerializer(draft).data)

    @extend_schema(
        summary="Save unfinished answers",
        description=(
            "Replaces the saved draft for the current window. Each answer must be one of its "
            "item's options (400 naming the item); items may wait until you submit. A window "
            "already answered, or a schedule not running, is a 409."
        ),
        request=DraftWriteSerializer,
        responses={200: MeasureDraftSerializer, 409: None},
    )
    def put(self, request, schedule_id):
        schedule = _own_schedule(request, schedule_id)
        serializer = DraftWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        draft = services.draft_save(schedule=schedule, answers=serializer.validated_data["answers"])
        return Response(MeasureDraftSerializer(draft).data)


def _crisis_support() -> dict:
    return crisis_block(
        reasons=[CRISIS_REASON],
        message=(
            "Thank you for answering honestly. You said you have had thoughts of being better "
            "off dead or of hurting yourself: you do not have to carry that alone. Your "
            "therapist has been told, so that they can reach out."
        ),
        next_step=f"Talk to someone now: call or text 988 any time. {DANGER_STEP}",
    )


class _ResponsePage(HandedOutPage):
    kind = RESPONSE
    serializer_class = ResponseSerializer
    queryset = MeasureResponse.objects.none()


@extend_schema(tags=["measures"])
class ResponseListCreateView(_ResponsePage):
    permission_classes = [MeasuresAccess]
    writers = (User.Role.PATIENT,)
    ordering = ("-answered_at", "id")

    @extend_schema(
        summary="Answers you may see, newest first",
        description=(
            "A patient's own; for a therapist, the answers to questionnaires they scheduled for "
            "patients on their care team and what a `measures` consent opens; for family, what "
            "a `measures` consent opens."
        ),
        parameters=[ResponseQuerySerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        query = ResponseQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        now = timezone.now()
        responses = selectors.responses_for(request.user, now=now)
        if "patient" in params:
            responses = responses.filter(patient_id=params["patient"])
        if "instrument" in params:
            responses = responses.filter(instrument__slug=params["instrument"])
        return self.page_response(request, responses, now)

    @extend_schema(
        summary="Answer a questionnaire that is due",
        description=(
            "Offline-first: the phone makes the `id`, and an upload retried with the same id and "
            "answers returns the first answer (200). `answered_at` places the answer in its "
            "window on your clock, so an answer made offline counts for the window it was made "
            "in. Every item asked must be answered with one of its options (400 naming each "
            "item); a window already answered is a 409, a moment outside the schedule a 400. "
            "The answer is scored at once; thoughts of self-harm (PHQ-9 item 9 above 0) answer "
            "with crisis support and alert the therapist who scheduled it."
        ),
        request=ResponseWriteSerializer,
        responses={201: SubmittedSerializer, 200: SubmittedSerializer, 409: None},
    )
    def post(self, request):
        data = validated(RESPONSE_WRITE, request.data)
        schedule = _own_schedule(request, data["schedule"])
        response, created = services.response_submit(
            schedule=schedule,
            response_id=data["id"],
            answered_at=data["answered_at"],
            answers=data["answers"],
        )
        # The patient's own answer: no notice, so the shared serializer's empty context holds.
        response.crisis_support = _crisis_support() if response.crisis else None
        return Response(
            SUBMITTED.to_representation(response),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@extend_schema(tags=["measures"])
class ResponseDetailView(DisclosesRecordsToOthers, APIView):
    permission_classes = [MeasuresAccess]

    @extend_schema(summary="One answer, with its scores", responses={200: ResponseSerializer})
    def get(self, request, response_id):
        now = timezone.now()
        response = policy.get_or_404(
            request.user, RESPONSE, selectors.responses_for(request.user, now=now), pk=response_id
        )
        if not policy.hand_out(
            request=request, viewer=request.user, kind=RESPONSE, records=[response], now=now
        ):
            raise NotFound()
        return Response(ResponseSerializer(response, context=_context(request, now)).data)


@extend_schema(tags=["measures"])
class ResultsView(DisclosesRecordsToOthers, APIView):
    permission_classes = [MeasuresAccess]

    @extend_schema(
        summary="Trends: each instrument's latest score, change since baseline, and flags",
        description=(
            "Flags are what a clinician acts on: PHQ-9 or GAD-7 up 5 points or more since "
            "baseline; BAM Use above 0 or Risk rising; PACS rising two weeks running. A patient "
            "reads their own (no `patient`); anyone else names the patient and sees only the "
            "answers the access rules give them (404 when none could be)."
        ),
        parameters=[ResultsQuerySerializer],
        responses={200: MeasureResultsSerializer},
    )
    def get(self, request):
        query = ResultsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        patient_id = query.validated_data.get("patient")
        user = request.user
        if user.role == User.Role.PATIENT:
            if patient_id not in (None, user.pk):
                raise NotFound()
            patient_id = user.pk
        elif patient_id is None:
            raise ValidationError({"patient": ["Name the patient whose results you want."]})
        now = timezone.now()
        responses = list(selectors.responses_for(user, now=now).filter(patient_id=patient_id))
        shown = policy.hand_out(
            request=request, viewer=user, kind=RESPONSE, records=responses, now=now
        )
        if not shown and user.role != User.Role.PATIENT:
            raise NotFound()
        results = selectors.results_from(shown)
        return Response(
            MeasureResultsSerializer(
                {"patient": patient_id, "results": results}, context=_context(request, now)
            ).data
        )
