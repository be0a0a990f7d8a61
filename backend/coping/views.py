"""Coping skills, checklists, skill effectiveness and the relapse-prevention plan.

One set of URLs for everyone: the access policy decides what each viewer sees.
A patient sees their own records; a therapist or family member sees a patient's
records only under a consent grant in force (coping; insights or journal.all for
effectiveness), and such answers carry the redisclosure notice and write the
disclosure log. Anything the viewer may not see answers 404.
"""

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.consent import policy
from backend.consent.policy import Action
from backend.coping import selectors, services
from backend.coping.access import (
    CHECKLIST,
    CHECKLIST_DAY,
    PLAN,
    PLAN_SUGGESTION,
    PLAN_VERSION,
    SKILL,
)
from backend.coping.models import (
    Checklist,
    ChecklistDay,
    PlanSuggestion,
    PlanVersion,
    RelapsePlan,
    Skill,
)
from backend.coping.serializers import (
    ChecklistCreateSerializer,
    ChecklistQuerySerializer,
    ChecklistSerializer,
    ChecklistUpdateSerializer,
    DaySerializer,
    DayWriteSerializer,
    PlanContentSerializer,
    PlanSerializer,
    PlanVersionSerializer,
    SkillCreateSerializer,
    SkillFieldsSerializer,
    SkillQuerySerializer,
    SkillSerializer,
    SuggestionDecisionSerializer,
    SuggestionQuerySerializer,
    SuggestionSerializer,
    SuggestionWriteSerializer,
)
from backend.core import conditional
from backend.core.errors import PreconditionFailed
from backend.core.idempotency import idempotent
from backend.core.permissions import ReadWriteRoles
from backend.disclosure.notice import (
    DisclosesRecordsToOthers,
    NoticeToOthersPagination,
    discloses,
)

READERS = (User.Role.PATIENT, User.Role.THERAPIST, User.Role.FAMILY)
WRITERS = (User.Role.PATIENT, User.Role.THERAPIST)

WRITER_MESSAGES = {
    WRITERS: "Only patients and their therapists change coping records.",
    (User.Role.PATIENT,): "Only the patient does this.",
    (User.Role.THERAPIST,): "Only a therapist does this: patients change their plan directly.",
}

IF_MATCH_PLAN = conditional.if_match_parameter(
    required=False,
    description='Change only if still at this version, e.g. "3" (412 otherwise).',
)


class CopingAccess(ReadWriteRoles):
    """Patients, therapists and family read (what the policy lets them); patients and therapists write."""

    message = "Only patients and the people they share with see coping records."
    readers, writers = READERS, WRITERS
    write_message = WRITER_MESSAGES[WRITERS]
    writer_messages = WRITER_MESSAGES


def _context(request) -> dict:
    return {"request": request, "disclosed": discloses(request)}


def _shown(request, kind: policy.Kind, records, *, now) -> list:
    """The records the viewer may be shown, each read by another logged (42 CFR 2.25)."""
    return policy.hand_out(
        request=request, viewer=request.user, kind=kind, records=records, now=now
    )


def _shown_or_404(request, kind: policy.Kind, record, *, now):
    if not _shown(request, kind, [record], now=now):
        raise NotFound()  # the grant ended while this request ran
    return record


# --- skills -------------------------------------------------------------------------------


def _skills_shown(request, skills: list[Skill], *, now) -> list[Skill]:
    """Library skills as they are; custom skills only as the policy and the log allow."""
    custom = _shown(request, SKILL, [s for s in skills if not s.is_system], now=now)
    allowed = {s.pk for s in custom}
    return [s for s in skills if s.is_system or s.pk in allowed]


@extend_schema(tags=["coping"])
class SkillListCreateView(DisclosesRecordsToOthers, generics.ListAPIView):
    """The coping-skill library and the custom skills you may see, by name."""

    permission_classes = [CopingAccess]
    serializer_class = SkillSerializer
    pagination_class = NoticeToOthersPagination
    filter_backends: list = []
    queryset = Skill.objects.none()
    ordering = ("name", "id")

    @extend_schema(
        summary="Search the coping-skill library",
        description=(
            "The library's evidence-based skills (CBT, DBT, motivational, mindfulness, social "
            "support, physical, distraction), each with plain-language steps, typical duration "
            "and the approach it comes from, plus custom skills: a patient's own, and for "
            "therapists and family those of patients who granted them `coping`. "
            "`kind=library|custom`, `category`, `q` (words in name or summary), `patient`."
        ),
        parameters=[SkillQuerySerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        query = SkillQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        now = timezone.now()
        skills = selectors.skills_for(request.user, now=now)
        if "category" in params:
            skills = skills.filter(category=params["category"])
        if params.get("kind") == "library":
            skills = skills.filter(patient__isnull=True)
        elif params.get("kind") == "custom":
            skills = skills.filter(patient__isnull=False)
        if params.get("q"):
            for word in params["q"].split():
                skills = skills.filter(Q(name__icontains=word) | Q(summary__icontains=word))
        if "patient" in params:
            skills = skills.filter(patient_id=params["patient"])
        page = self.paginate_queryset(skills)
        shown = _skills_shown(request, page, now=now)
        return self.get_paginated_response(
            SkillSerializer(shown, many=True, context=_context(request)).data
        )

    @idempotent
    @extend_schema(
        summary="Write a custom coping skill",
        description=(
            "Patients write skills for themselves. A therapist writes one for a patient on their "
            "care team who granted them `coping` (`patient`); any other patient answers 404."
        ),
        request=SkillCreateSerializer,
        responses={201: SkillSerializer},
    )
    def post(self, request):
        serializer = SkillCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        patient = policy.writable_patient(request.user, SKILL, data.pop("patient", None))
        skill = services.skill_create(author=request.user, patient=patient, data=data)
        skill = _shown_or_404(request, SKILL, skill, now=timezone.now())
        return Response(
            SkillSerializer(skill, context=_context(request)).data, status=status.HTTP_201_CREATED
        )


@extend_schema(tags=["coping"])
class SkillDetailView(DisclosesRecordsToOthers, APIView):
    permission_classes = [CopingAccess]

    def _skill(self, request, skill_id, now) -> Skill:
        skill = selectors.skill_get(viewer=request.user, skill_id=skill_id, now=now)
        if not skill.is_system:
            _shown_or_404(request, SKILL, skill, now=now)
        return skill

    def _changeable(self, request, skill_id) -> Skill:
        now = timezone.now()
        skill = selectors.skill_get(viewer=request.user, skill_id=skill_id, now=now)
        if skill.is_system:
            raise PermissionDenied(
                "The library's skills cannot be changed; write your own instead."
            )
        policy.authorize(
            request.user, Action.CHANGE, SKILL, patient_id=skill.patient_id, record=skill, now=now
        )
        return skill

    @extend_schema(summary="One coping skill", responses={200: SkillSerializer})
    def get(self, request, skill_id):
        skill = self._skill(request, skill_id, timezone.now())
        return Response(SkillSerializer(skill, context=_context(request)).data)

    @extend_schema(
        summary="Change a custom skill",
        description="The patient it is for, or the therapist who wrote it. Library skills: 403.",
        request=SkillFieldsSerializer,
        responses={200: SkillSerializer},
    )
    def patch(self, request, skill_id):
        skill = self._changeable(request, skill_id)
        serializer = SkillFieldsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        skill = services.skill_update(skill=skill, data=dict(serializer.validated_data))
        skill = _shown_or_404(request, SKILL, skill, now=timezone.now())
        return Response(SkillSerializer(skill, context=_context(request)).data)

    @extend_schema(
        summary="Remove a custom skill from the library",
        description="Checklists and plans that name it keep showing it.",
        responses={204: None},
    )
    def delete(self, request, skill_id):
        services.skill_archive(skill=self._changeable(request, skill_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- checklists -----------------------------------------------------------------------------


def _with_progress(checklists: list[Checklist], now) -> list[Checklist]:
    progress = selectors.checklist_progress(checklists, now=now)
    for checklist in checklists:
        checklist.progress = progress[checklist.pk]
    return checklists


CHECKLIST_DESCRIPTION = (
    "Each checklist with its items in order (a library or custom skill, or text), today's ticks, "
    "the current and longest streak of completed days and the completion rate over the last 30 "
    "days, all on the patient's clock (their time zone). A day is completed when every item on "
    "the list that day was ticked."
)


@extend_schema(tags=["coping"])
class ChecklistListCreateView(DisclosesRecordsToOthers, generics.ListAPIView):
    """Checklists you may see: your own, or those of patients who granted you `coping`."""

    permission_classes = [CopingAccess]
    serializer_class = ChecklistSerializer
    pagination_class = NoticeToOthersPagination
    filter_backends: list = []
    queryset = Checklist.objects.none()
    ordering = ("created_at", "id")

    @extend_schema(
        summary="Checklists, with streaks and completion",
        description=CHECKLIST_DESCRIPTION + " Oldest first; `patient` keeps one patient's.",
        parameters=[ChecklistQuerySerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        query = ChecklistQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        now = timezone.now()
        checklists = selectors.checklists_for(request.user, now=now)
        if "patient" in query.validated_data:
            checklists = checklists.filter(patient_id=query.validated_data["patient"])
        page = self.paginate_queryset(checklists)
        shown = _shown(request, CHECKLIST, page, now=now)
        return self.get_paginated_response(
            ChecklistSerializer(
                _with_progress(shown, now), many=True, context=_context(request)
            ).data
        )

    @idempotent
    @extend_schema(
        summary="Make a checklist",
        description=(
            "Patients make their own. A therapist makes one for a patient on their care team who "
            "granted them `coping` (`patient`); any other patient answers 404."
        ),
        request=ChecklistCreateSerializer,
        responses={201: ChecklistSerializer},
    )
    def post(self, request):
        serializer = ChecklistCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        patient = policy.writable_patient(request.user, CHECKLIST, data.get("patient"))
        checklist = services.checklist_create(
            author=request.user, patient=patient, title=data["title"], items=data.get("items", [])
        )
        now = timezone.now()
        checklist = selectors.checklist_get(viewer=request.user, checklist_id=checklist.pk, now=now)
        _shown_or_404(request, CHECKLIST, checklist, now=now)
        return Response(
            ChecklistSerializer(
                _with_progress([checklist], now)[0], context=_context(request)
            ).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(tags=["coping"])
class ChecklistDetailView(DisclosesRecordsToOthers, APIView):
    permission_classes = [CopingAccess]

    def _shown(self, request, checklist_id, now) -> Checklist:
        checklist = selectors.checklist_get(viewer=request.user, checklist_id=checklist_id, now=now)
        _shown_or_404(request, CHECKLIST, checklist, now=now)
        return _with_progress([checklist], now)[0]

    @extend_schema(
        summary="One checklist",
        description=CHECKLIST_DESCRIPTION,
        responses={200: ChecklistSerializer},
    )
    def get(self, request, checklist_id):
        checklist = self._shown(request, checklist_id, timezone.now())
        return Response(ChecklistSerializer(checklist, context=_context(request)).data)

    @extend_schema(
        summary="Rename a checklist or change its items",
        description=(
            "The patient, or a therapist on their care team holding `coping`. `items` gives all "
            "the items in order: an item sent with its `id` keeps its history, one without is "
            "new, and those left out come off the list (the days they were ticked keep them)."
        ),
        request=ChecklistUpdateSerializer,
        responses={200: ChecklistSerializer},
    )
    def patch(self, request, checklist_id):
        checklist = selectors.checklist_get(
            viewer=request.user, checklist_id=checklist_id, items=False
        )
        policy.authorize(
            request.user,
            Action.CHANGE,
            CHECKLIST,
            patient_id=checklist.patient_id,
            record=checklist,
        )
        serializer = ChecklistUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.checklist_update(checklist=checklist, **serializer.validated_data)
        checklist = self._shown(request, checklist_id, timezone.now())
        return Response(ChecklistSerializer(checklist, context=_context(request)).data)

    @extend_schema(
        summary="Delete a checklist",
        description="The patient, or the therapist who made it (while holding `coping`).",
        responses={204: None},
    )
    def delete(self, request, checklist_id):
        checklist = selectors.checklist_get(
            viewer=request.user, checklist_id=checklist_id, items=False
        )
        policy.authorize(
            request.user,
            Action.DELETE,
            CHECKLIST,
            patient_id=checklist.patient_id,
            record=checklist,
        )
        services.checklist_archive(checklist=checklist)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["coping"])
class ChecklistDayListView(DisclosesRecordsToOthers, generics.ListAPIView):
    """A checklist's history: what was ticked on each day, newest day first."""

    permission_classes = [CopingAccess]
    serializer_class = DaySerializer
    pagination_class = NoticeToOthersPagination
    filter_backends: list = []
    queryset = ChecklistDay.objects.none()
    ordering = ("-local_date",)

    def list(self, request, *args, **kwargs):
        now = timezone.now()
        checklist = selectors.checklist_get(
            viewer=request.user, checklist_id=self.kwargs["checklist_id"], now=now, items=False
        )
        page = self.paginate_queryset(selectors.checklist_days(request.user, checklist, now=now))
        shown = _shown(request, CHECKLIST_DAY, page, now=now)
        return self.get_paginated_response(
            DaySerializer(shown, many=True, context=_context(request)).data
        )


@extend_schema(tags=["coping"])
class ChecklistDayView(APIView):
    permission_classes = [CopingAccess]
    writers = (User.Role.PATIENT,)

    @extend_schema(
        summary="Tick items for a day",
        description=(
            "The items done on `date`, a date on your clock (your time zone): all of them, so "
            "sending the same list again changes nothing, and an empty list unticks the day. "
            "Today and the 6 days before it may be written; a future date is a 400."
        ),
        request=DayWriteSerializer,
        responses={200: DaySerializer},
    )
    def put(self, request, checklist_id, date):
        checklist = selectors.checklist_get(
            viewer=request.user, checklist_id=checklist_id, items=False
        )
        serializer = DayWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        day = services.checklist_day_set(
            checklist=checklist, local_date=date, item_ids=serializer.validated_data["done"]
        )
        day = selectors.checklist_days(request.user, checklist).get(pk=day.pk)
        return Response(DaySerializer(day, context=_context(request)).data)


# --- effectiveness -----------------------------------------------------------------------------


# --- the relapse-prevention plan ---------------------------------------------------------------


def _plan_response(request, plan: RelapsePlan, status_code: int = 200) -> Response:
    [body] = selectors.plans_rendered([plan])
    response = Response(PlanSerializer(body, context=_context(request)).data, status=status_code)
    response["ETag"] = conditional.etag(plan.version)
    return response


@extend_schema(tags=["coping"])
class PlanListCreateView(DisclosesRecordsToOthers, generics.ListAPIView):
    """Relapse-prevention plans you may see: your own, or those of patients who granted you `coping`."""

    permission_classes = [CopingAccess]
    serializer_class = PlanSerializer
    pagination_class = NoticeToOthersPagination
    filter_backends: list = []
    queryset = RelapsePlan.objects.none()
    ordering = ("created_at", "id")
    writers = (User.Role.PATIENT,)

    def list(self, request, *args, **kwargs):
        now = timezone.now()
        page = self.paginate_queryset(selectors.plans_for(request.user, now=now))
        shown = _shown(request, PLAN, page, now=now)
        return self.get_paginated_response(
            PlanSerializer(
                selectors.plans_rendered(shown), many=True, context=_context(request)
            ).data
        )

    @idempotent
    @extend_schema(
        summary="Start your relapse-prevention plan",
        description=(
            "One per patient (a second is a 409). Every section is optional; crisis lines default "
            "to 988 and the SAMHSA helpline. Your support contacts are offered with crisis "
            "support when you log a very high craving or a lapse."
        ),
        request=PlanContentSerializer,
        responses={201: PlanSerializer, 409: None},
    )
    def post(self, request):
        serializer = PlanContentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = services.plan_create(patient=request.user, content=dict(serializer.validated_data))
        return _plan_response(
            request, selectors.plan_get(viewer=request.user, plan_id=plan.pk), 201
        )


@extend_schema(tags=["coping"])
class PlanDetailView(DisclosesRecordsToOthers, APIView):
    permission_classes = [CopingAccess]
    writers = (User.Role.PATIENT,)

    @extend_schema(
        summary="A relapse-prevention plan as it stands",
        description="The ETag is the current version.",
        responses={200: PlanSerializer},
    )
    def get(self, request, plan_id):
        now = timezone.now()
        plan = _shown_or_404(
            request,
            PLAN,
            selectors.plan_get(viewer=request.user, plan_id=plan_id, now=now),
            now=now,
        )
        return _plan_response(request, plan)

    @extend_schema(
        summary="Change your plan",
        description=(
            "Each section sent replaces that section; a change makes a new version and every "
            "earlier one is kept. With If-Match, a plan changed since is a 412 with the current "
            "version. Therapists suggest changes instead."
        ),
        parameters=[IF_MATCH_PLAN],
        request=PlanContentSerializer,
        responses={200: PlanSerializer, 412: None},
    )
    def patch(self, request, plan_id):
        plan = selectors.plan_get(viewer=request.user, plan_id=plan_id)
        serializer = PlanContentSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        expected = conditional.if_match_version(request)
        try:
            plan = services.plan_update(
                plan=plan,
                changes=dict(serializer.validated_data),
                author=request.user,
                expected_version=None if expected in (None, conditional.ANY) else expected,
            )
        except PreconditionFailed as exc:
            [current] = selectors.plans_rendered(
                [selectors.plan_get(viewer=request.user, plan_id=plan_id)]
            )
            exc.problem_extra = {"current": PlanSerializer(current, context=_context(request)).data}
            raise
        return _plan_response(request, selectors.plan_get(viewer=request.user, plan_id=plan.pk))


@extend_schema(tags=["coping"])
class PlanVersionListView(DisclosesRecordsToOthers, generics.ListAPIView):
    """Every version of a plan, newest first."""

    permission_classes = [CopingAccess]
    serializer_class = PlanVersionSerializer
    pagination_class = NoticeToOthersPagination
    filter_backends: list = []
    queryset = PlanVersion.objects.none()
    ordering = ("-number",)

    def list(self, request, *args, **kwargs):
        now = timezone.now()
        plan = selectors.plan_get(viewer=request.user, plan_id=self.kwargs["plan_id"], now=now)
        page = self.paginate_queryset(selectors.plan_versions(request.user, plan, now=now))
        shown = _shown(request, PLAN_VERSION, page, now=now)
        return self.get_paginated_response(
            PlanVersionSerializer(
                selectors.versions_rendered(shown), many=True, context=_context(request)
            ).data
        )


@extend_schema(tags=["coping"])
class PlanVersionDetailView(DisclosesRecordsToOthers, APIView):
    permission_classes = [CopingAccess]

    @extend_schema(summary="One version of a plan", responses={200: PlanVersionSerializer})
    def get(self, request, plan_id, number):
        now = timezone.now()
        plan = selectors.plan_get(viewer=request.user, plan_id=plan_id, now=now)
        version = _shown_or_404(
            request,
            PLAN_VERSION,
            selectors.plan_version_get(viewer=request.user, plan=plan, number=number, now=now),
            now=now,
        )
        [body] = selectors.versions_rendered([version])
        return Response(PlanVersionSerializer(body, context=_context(request)).data)


@extend_schema(tags=["coping"])
class SuggestionListCreateView(DisclosesRecordsToOthers, generics.ListAPIView):
    """Suggested changes to a plan, newest first."""

    permission_classes = [CopingAccess]
    serializer_class = SuggestionSerializer
    pagination_class = NoticeToOthersPagination
    filter_backends: list = []
    queryset = PlanSuggestion.objects.none()
    ordering = ("-created_at", "-id")
    writers = (User.Role.THERAPIST,)

    @extend_schema(
        summary="Suggested changes to a plan",
        description="`state=pending|accepted|rejected`.",
        parameters=[SuggestionQuerySerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        query = SuggestionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        now = timezone.now()
        plan = selectors.plan_get(viewer=request.user, plan_id=self.kwargs["plan_id"], now=now)
        suggestions = selectors.suggestions_for(request.user, plan, now=now)
        if "state" in query.validated_data:
            suggestions = suggestions.filter(state=query.validated_data["state"])
        page = self.paginate_queryset(suggestions)
        shown = _shown(request, PLAN_SUGGESTION, page, now=now)
        return self.get_paginated_response(
            SuggestionSerializer(shown, many=True, context=_context(request)).data
        )

    @idempotent
    @extend_schema(
        summary="Suggest a change to a patient's plan",
        description=(
            "A therapist on the patient's care team holding `coping` proposes the whole new "
            "content of one section (`proposed`, in that section's shape), with an optional "
            "note. The patient accepts or rejects it."
        ),
        request=SuggestionWriteSerializer,
        responses={201: SuggestionSerializer},
    )
    def post(self, request, plan_id):
        now = timezone.now()
        plan = selectors.plan_get(viewer=request.user, plan_id=plan_id, now=now)
        policy.authorize(
            request.user, Action.CREATE, PLAN_SUGGESTION, patient_id=plan.patient_id, now=now
        )
        serializer = SuggestionWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        suggestion = services.suggestion_create(
            plan=plan, author=request.user, **serializer.validated_data
        )
        suggestion = _shown_or_404(
            request,
            PLAN_SUGGESTION,
            selectors.suggestion_get(viewer=request.user, plan=plan, suggestion_id=suggestion.pk),
            now=timezone.now(),
        )
        return Response(
            SuggestionSerializer(suggestion, context=_context(request)).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(tags=["coping"])
class SuggestionDecisionView(APIView):
    permission_classes = [CopingAccess]
    writers = (User.Role.PATIENT,)

    @extend_schema(
        summary="Accept or reject a suggestion to your plan",
        description=(
            "Accepting replaces the section with the suggested content in a new version of your "
            "plan (your other sections stay as they are now). Deciding twice is a 409."
        ),
        request=SuggestionDecisionSerializer,
        responses={200: SuggestionSerializer, 409: None},
    )
    def post(self, request, plan_id, suggestion_id):
        plan = selectors.plan_get(viewer=request.user, plan_id=plan_id)
        suggestion = selectors.suggestion_get(
            viewer=request.user, plan=plan, suggestion_id=suggestion_id
        )
        serializer = SuggestionDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        suggestion = services.suggestion_decide(
            suggestion=suggestion,
            accept=serializer.validated_data["decision"] == "accept",
            by=request.user,
        )
        suggestion = selectors.suggestion_get(
            viewer=request.user, plan=plan, suggestion_id=suggestion.pk
        )
        return Response(SuggestionSerializer(suggestion, context=_context(request)).data)
