"""Homework: therapists assign and review; patients draft, submit and revise.

Homework is visible to its patient, to the therapist who assigned it while on
the patient's care team, and to anyone else only under a consent grant of the
homework scope (such answers carry the redisclosure notice and write the
disclosure log). Anything else answers 404.
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
from backend.core.idempotency import idempotent
from backend.core.permissions import IsTherapist, ReadWriteRoles
from backend.disclosure.notice import (
    DisclosesRecordsToOthers,
    discloses,
)
from backend.homework import selectors, services
from backend.homework.access import HOMEWORK
from backend.homework.models import Homework, HomeworkTemplate
from backend.homework.serializers import (
    AnswersSerializer,
    AssignSerializer,
    HomeworkQuerySerializer,
    HomeworkSerializer,
    HomeworkUpdateSerializer,
    ReviewWriteSerializer,
    SubmitSerializer,
    TemplateSerializer,
)

READERS = (User.Role.PATIENT, User.Role.THERAPIST, User.Role.FAMILY)


class HomeworkAccess(ReadWriteRoles):
    """Patients, therapists and family read what the policy allows; the view's ``writers`` write."""

    message = "Only patients and the people they share with see homework."
    readers = READERS
    write_message = "Only patients do this."
    writer_messages = {(User.Role.THERAPIST,): "Only therapists do this."}


def _shown(request, homework: list[Homework], *, now) -> list[Homework]:
    """The homework the viewer may be shown now, each read by another logged (42 CFR 2.25).

    The assigning therapist reads as part of the patient's treatment, not under a
    consent: shown, and logged without a grant unless a homework grant covers it too.
    """
    return policy.hand_out(
        request=request, viewer=request.user, kind=HOMEWORK, records=homework, now=now
    )


def _body(request, homework: Homework, *, now) -> dict:
    return HomeworkSerializer(
        homework, context={"request": request, "disclosed": discloses(request), "now": now}
    ).data


def _detail(request, homework_id, *, now) -> Homework:
    homework = selectors.homework_get(viewer=request.user, homework_id=homework_id, now=now)
    if not _shown(request, [homework], now=now):
        raise NotFound()  # the grant ended while this request ran
    return homework


def _respond(request, homework_id, status_code: int = 200) -> Response:
    now = timezone.now()
    return Response(
        _body(request, _detail(request, homework_id, now=now), now=now), status=status_code
    )


class HomeworkPage(HandedOutPage):
    kind = HOMEWORK
    serializer_class = HomeworkSerializer
    queryset = Homework.objects.none()


@extend_schema(tags=["homework"])
class HomeworkListCreateView(HomeworkPage):
    """Homework you may see, soonest due first."""

    permission_classes = [HomeworkAccess]
    writers = (User.Role.THERAPIST,)
    ordering = ("due_date", "id")

    @extend_schema(
        summary="Homework, soonest due first",
        description=(
            "A patient's own; for a therapist, what they assigned to patients on their care team "
            "and what a `homework` consent opens; for family, what a `homework` consent opens. "
            "`overdue=true` keeps open homework whose due date has passed on the patient's clock "
            "(their time zone)."
        ),
        parameters=[HomeworkQuerySerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        query = HomeworkQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        now = timezone.now()
        homework = selectors.homework_for(request.user, now=now)
        if "patient" in params:
            homework = homework.filter(patient_id=params["patient"])
        if "state" in params:
            homework = homework.filter(state=params["state"])
        if "overdue" in params:
            homework = selectors.filter_overdue(homework, params["overdue"] == "true", now=now)
        return self.page_response(request, homework, now)

    @idempotent
    @extend_schema(
        summary="Assign homework to a patient on your caseload",
        description=(
            "Title, instructions, kind, questions (free text, 0-10 scale, yes/no, single or "
            "multiple choice) and a due date on the patient's clock; or a `template` (see "
            "/homework/templates/), whose fields you may override. `recurrence: weekly` with "
            "`occurrences` (2-26) assigns one homework per week, each due a week after the last; "
            "the answer is the first. A patient who is not on your caseload answers 404."
        ),
        request=AssignSerializer,
        responses={201: HomeworkSerializer},
    )
    def post(self, request):
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        patient = User.objects.filter(pk=data.pop("patient"), role=User.Role.PATIENT).first()
        if patient is None:
            raise NotFound()
        policy.authorize(request.user, Action.CREATE, HOMEWORK, patient_id=patient.pk)
        template = None
        if "template" in data:
            template = selectors.template_by_slug(data.pop("template"))
            if template is None:
                raise ValidationError({"template": ["No template has this slug."]})
        rows = services.homework_assign(
            therapist=request.user, patient=patient, data=data, template=template
        )
        return _respond(request, rows[0].pk, status.HTTP_201_CREATED)


@extend_schema(tags=["homework"])
class TemplateListView(generics.ListAPIView):
    """Ready-made homework to assign: thought record, decisional balance, HALT log, and more."""

    permission_classes = [IsTherapist]
    serializer_class = TemplateSerializer
    filter_backends: list = []
    queryset = HomeworkTemplate.objects.none()
    ordering = ("title", "id")

    def get_queryset(self):
        return selectors.templates()


@extend_schema(tags=["homework"])
class ReviewQueueView(HomeworkPage):
    """Submissions waiting for your review, oldest submission first."""

    permission_classes = [IsTherapist]
    ordering = ("submitted_at", "id")

    def list(self, request, *args, **kwargs):
        now = timezone.now()
        return self.page_response(request, selectors.review_queue(request.user, now=now), now)


@extend_schema(tags=["homework"])
class HomeworkDetailView(DisclosesRecordsToOthers, APIView):
    permission_classes = [HomeworkAccess]
    writers = (User.Role.THERAPIST,)

    @extend_schema(
        summary="One homework, with answers and reviews", responses={200: HomeworkSerializer}
    )
    def get(self, request, homework_id):
        return _respond(request, homework_id)

    @extend_schema(
        summary="Change an assignment (title, instructions, due date)",
        description=(
            "The therapist who assigned it, until the patient submits it: after that, review it "
            "or return it (409)."
        ),
        request=HomeworkUpdateSerializer,
        responses={200: HomeworkSerializer, 409: None},
    )
    def patch(self, request, homework_id):
        homework = selectors.homework_get(viewer=request.user, homework_id=homework_id)
        policy.authorize(
            request.user, Action.CHANGE, HOMEWORK, patient_id=homework.patient_id, record=homework
        )
        serializer = HomeworkUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.homework_update(homework=homework, data=dict(serializer.validated_data))
        return _respond(request, homework_id)


def _own_homework(request, homework_id) -> Homework:
    homework = selectors.homework_get(viewer=request.user, homework_id=homework_id)
    policy.authorize(
        request.user, Action.ANSWER, HOMEWORK, patient_id=homework.patient_id, record=homework
    )
    return homework


@extend_schema(tags=["homework"])
class AnswersView(APIView):
    permission_classes = [HomeworkAccess]
    writers = (User.Role.PATIENT,)

    @extend_schema(
        summary="Save a draft of your answers",
        description=(
            "Replaces the saved draft. Each answer is checked against its question (a scale out "
            "of 0-10, an unknown choice or question: 400); required questions may wait until "
            "you submit. After you submit, or once reviewed, answers can no longer change (409)."
        ),
        request=AnswersSerializer,
        responses={200: HomeworkSerializer, 409: None},
    )
    def put(self, request, homework_id):
        homework = _own_homework(request, homework_id)
        serializer = AnswersSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.answers_save(homework=homework, answers=serializer.validated_data["answers"])
        return _respond(request, homework_id)


@extend_schema(tags=["homework"])
class SubmitView(APIView):
    permission_classes = [HomeworkAccess]
    writers = (User.Role.PATIENT,)

    @idempotent
    @extend_schema(
        summary="Submit your homework for review",
        description=(
            "Submits the saved draft, or `answers` sent here. Every required question needs an "
            "answer (400 naming the missing ones). Submitting again is a 409 until your "
            "therapist returns it for revision."
        ),
        request=SubmitSerializer,
        responses={
            200: HomeworkSerializer,
            409: None,
        },
    )
    def post(self, request, homework_id):
        homework = _own_homework(request, homework_id)
        serializer = SubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.homework_submit(
            homework=homework, answers=serializer.validated_data.get("answers")
        )
        return _respond(request, homework_id)


@extend_schema(tags=["homework"])
class ReviewView(DisclosesRecordsToOthers, APIView):
    permission_classes = [HomeworkAccess]
    writers = (User.Role.THERAPIST,)

    @idempotent
    @extend_schema(
        summary="Review a submission, or return it for revision",
        description=(
            "The therapist who assigned it. `reviewed` closes it; `returned` (with feedback on "
            "what to revise) lets the patient change and submit it again. Reviewing homework "
            "that is not submitted, or already reviewed, is a 409."
        ),
        request=ReviewWriteSerializer,
        responses={200: HomeworkSerializer, 409: None},
    )
    def post(self, request, homework_id):
        homework = selectors.homework_get(viewer=request.user, homework_id=homework_id)
        policy.authorize(
            request.user, Action.REVIEW, HOMEWORK, patient_id=homework.patient_id, record=homework
        )
        serializer = ReviewWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.homework_review(
            homework=homework, reviewer=request.user, **serializer.validated_data
        )
        return _respond(request, homework_id)
