"""The therapist's pages: caseload, a patient, the share feed, homework, suggestions.

Thin views over the selectors and services the API uses. Every page that shows a patient's
records writes the disclosure rows the API writes for the same records (through
policy.hand_out / policy.disclose) and carries the 42 CFR 2.32 notice.
"""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.exceptions import APIException, NotFound, ValidationError

from backend.accounts.models import User
from backend.care import selectors as care
from backend.consent import policy
from backend.consent.policy import Action
from backend.console import forms, selectors
from backend.console.access import console_page, home_for, page_of, private
from backend.coping import selectors as coping_selectors
from backend.coping import services as coping_services
from backend.coping.access import PLAN, PLAN_SUGGESTION
from backend.coping.models import PlanSection
from backend.disclosure.notice import REDISCLOSURE_NOTICE
from backend.disclosure.services import Disclosure
from backend.homework import selectors as homework_selectors
from backend.homework import services as homework_services
from backend.homework.access import HOMEWORK
from backend.homework.models import Homework
from backend.journal import effectiveness
from backend.journal.access import CHECKIN, FEED_ITEM
from backend.nudges import services as nudge_services
from backend.nudges.models import NudgeRule
from backend.sharing import selectors as sharing_selectors
from backend.sharing import services as sharing_services
from backend.sharing import summaries
from backend.sharing.serializers import FeedItemSerializer

Role = User.Role
require_get_or_post = require_http_methods(["GET", "POST"])
RANGES = (30, 90)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return private(redirect("console:sign-in"))
    return private(redirect(home_for(request.user)))


# --- caseload ---------------------------------------------------------------------------


@require_GET
@console_page(Role.THERAPIST)
def caseload(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows, held = selectors.caseload(request.user, now=now)
    page = page_of(request, rows)
    shown = [row.summary for row in page if row.summary]
    policy.disclose(
        request=request,
        viewer=request.user,
        held=held,
        items=summaries.summary_disclosures(shown),
    )
    context = {
        "nav": "caseload",
        "notice": REDISCLOSURE_NOTICE,
        "page": page,
        "attention": sum(1 for row in rows if row.score),
    }
    return render(request, "console/caseload.html", context)


# --- one patient ------------------------------------------------------------------------


def _range_days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", RANGES[0]))
    except ValueError:
        return RANGES[0]
    return days if days in RANGES else RANGES[0]


def _checkins(request: HttpRequest, patient_id: UUID, *, now, held) -> list:
    rows = list(
        policy.readable(request.user, CHECKIN, now=now, held=held)
        .filter(patient_id=patient_id)
        .order_by("-local_date")[:14]
    )
    return policy.hand_out(
        request=request, viewer=request.user, kind=CHECKIN, records=rows, now=now, held=held
    )


def _effectiveness(request: HttpRequest, patient: User, *, now, held) -> dict | None:
    scopes = held.get(patient.pk, {})
    scope = next((s for s in effectiveness.FIGURE_SCOPES if s in scopes), None)
    if scope is None:
        return None
    report = effectiveness.skill_effectiveness(
        request.user,
        patient,
        start=None,
        end=None,
        own_words="journal.all" in scopes,
        now=now,
    )
    policy.disclose(
        request=request,
        viewer=request.user,
        held=held,
        items=[Disclosure(patient.pk, scope, "skill_effectiveness", None, 1)],
    )
    return report


def _homework(request: HttpRequest, patient_id: UUID, *, now) -> list[Homework]:
    rows = list(
        homework_selectors.homework_for(request.user, now=now)
        .filter(patient_id=patient_id)
        .order_by("-due_date", "-id")[:20]
    )
    shown = policy.hand_out(
        request=request, viewer=request.user, kind=HOMEWORK, records=rows, now=now
    )
    for row in shown:
        row.overdue = homework_selectors.is_overdue(row, now=now)
    return shown


def _plan(request: HttpRequest, patient_id: UUID, *, now) -> dict | None:
    plans = list(coping_selectors.plans_for(request.user, now=now).filter(patient_id=patient_id))
    shown = policy.hand_out(request=request, viewer=request.user, kind=PLAN, records=plans, now=now)
    rendered = coping_selectors.plans_rendered(shown)
    return rendered[0] if rendered else None


def _patient_context(request: HttpRequest, patient_id: UUID, *, days: int) -> dict[str, Any]:
    """Everything the patient page shows, each section only under a consent in force."""
    now = timezone.now()
    summary, held = summaries.patient_summary_disclosed(
        request=request, viewer=request.user, patient_id=patient_id, now=now, insights_days=days
    )
    patient = summary["patient"]
    sections = summaries.sections_shown(held[patient.pk])
    context: dict[str, Any] = {
        "patient": patient,
        "summary": summary,
        "sections": sections,
        "days": days,
        "ranges": RANGES,
        "notice": REDISCLOSURE_NOTICE,
        "weekdays": WEEKDAYS,
        "hours": range(24),
    }
    insights = summary.get("insights")
    if insights:
        context["heat"] = list(
            zip(WEEKDAYS, selectors.heat_levels(insights["heatmap"]), strict=True)
        )
        context["chart"] = {
            "days": [
                {
                    "date": day["date"].isoformat(),
                    "mean_intensity": day["mean_intensity"],
                    "peak_intensity": day["peak_intensity"],
                    "lapses": day["lapses"],
                }
                for day in insights["days"]
            ]
        }
    if "checkins" in sections:
        context["checkins"] = _checkins(request, patient.pk, now=now, held=held)
    context["effectiveness"] = _effectiveness(request, patient, now=now, held=held)
    context["homework"] = _homework(request, patient.pk, now=now)
    plan = context["plan"] = _plan(request, patient.pk, now=now)
    if plan:
        context["plan_sections"] = [
            (label, plan["sections"].get(value, [])) for value, label in PlanSection.choices
        ]
    context["raised"] = [
        (label, style)
        for key, label, _weight, style in selectors.ATTENTION
        if summary["flags"].get(key)
    ]
    return context


@require_GET
@console_page(Role.THERAPIST)
def patient(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    context = _patient_context(request, patient_id, days=_range_days(request))
    context["nav"] = "caseload"
    context["suggest_form"] = forms.PlanSuggestionForm()
    return render(request, "console/patient.html", context)


@require_GET
@console_page(Role.THERAPIST)
def patient_print(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    context = _patient_context(request, patient_id, days=_range_days(request))
    context["printed_at"] = timezone.now()
    return render(request, "console/patient_print.html", context)


@require_POST
@console_page(Role.THERAPIST)
def plan_suggest(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    now = timezone.now()
    plan = coping_selectors.plans_for(request.user, now=now).filter(patient_id=patient_id).first()
    if plan is None:
        raise NotFound()
    policy.authorize(request.user, Action.CREATE, PLAN_SUGGESTION, patient_id=patient_id, now=now)
    form = forms.PlanSuggestionForm(request.POST)
    if form.is_valid():
        try:
            coping_services.suggestion_create(
                plan=plan,
                author=request.user,
                section=form.cleaned_data["section"],
                proposed=form.cleaned_data["proposed"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            messages.success(request, "Your suggestion was sent; the patient decides on it.")
            return redirect(reverse("console:patient", args=[patient_id]) + "#plan")
    context = _patient_context(request, patient_id, days=RANGES[0])
    context.update({"nav": "caseload", "suggest_form": form})
    return render(request, "console/patient.html", context, status=400)


@require_get_or_post
@console_page(Role.THERAPIST)
def nudge_suggestions(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    """Suggest a reminder; a suggestion reveals nothing of the records, so a care link suffices."""
    link = care.caseload_for(request.user).filter(patient_id=patient_id).select_related("patient")
    link = link.first()
    if link is None:
        raise NotFound()
    form = forms.NudgeSuggestionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                nudge_services.rule_create(
                    patient=link.patient, data=form.cleaned_data["rule"], suggested_by=request.user
                )
            except ValidationError as exc:
                forms.add_errors(form, exc)
            else:
                messages.success(request, "Suggested. Nothing is sent before the patient accepts.")
                return redirect("console:nudge-suggestions", patient_id=patient_id)
        status = 400
    suggested = page_of(
        request,
        NudgeRule.objects.filter(patient=link.patient, suggested_by=request.user).order_by(
            "-created_at", "-id"
        ),
    )
    context = {"nav": "caseload", "patient": link.patient, "form": form, "page": suggested}
    return render(request, "console/nudge_suggestions.html", context, status=status)


# --- the share feed ---------------------------------------------------------------------


def _feed_filters(request: HttpRequest) -> tuple[UUID | None, str]:
    try:
        patient_id = UUID(request.GET["patient"]) if request.GET.get("patient") else None
    except ValueError:
        patient_id = None
    state = request.GET.get("state", "unread")
    return patient_id, state if state in ("unread", "reviewed", "all") else "unread"


@require_GET
@console_page(Role.THERAPIST)
def feed(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    patient_id, state = _feed_filters(request)
    items, held = selectors.feed_page(request.user, now=now, patient_id=patient_id, state=state)
    page = page_of(request, items)
    shown = policy.hand_out(
        request=request,
        viewer=request.user,
        kind=FEED_ITEM,
        records=list(page),
        now=now,
        held=held,
        log_as=sharing_selectors.feed_log_as,
    )
    context = {
        "nav": "feed",
        "notice": REDISCLOSURE_NOTICE,
        "page": page,
        "items": list(zip(shown, FeedItemSerializer(shown, many=True).data, strict=True)),
        "state": state,
        "patient_id": patient_id,
        "review_form": forms.FeedReviewForm(),
    }
    return render(request, "console/feed.html", context)


@require_POST
@console_page(Role.THERAPIST)
def feed_review(request: HttpRequest, item_id: UUID) -> HttpResponse:
    item = sharing_selectors.feed_item_get(viewer=request.user, item_id=item_id)
    form = forms.FeedReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("comment", ["The comment is not valid."])))
        return redirect(reverse("console:feed") + f"?state=unread#item-{item_id}")
    sharing_services.feed_item_review(
        item=item, reviewer=request.user, comment=form.cleaned_data["comment"]
    )
    messages.success(
        request,
        "Marked reviewed." + (" Your comment was sent." if form.cleaned_data["comment"] else ""),
    )
    return redirect(reverse("console:feed") + "?state=unread")


# --- homework ---------------------------------------------------------------------------


def _assign(request: HttpRequest, form: forms.AssignHomeworkForm) -> bool:
    data = form.cleaned_data
    patient = data["patient"]
    now = timezone.now()
    policy.authorize(request.user, Action.CREATE, HOMEWORK, patient_id=patient.pk, now=now)
    try:
        homework_services.homework_assign(
            therapist=request.user,
            patient=patient,
            data={"due_date": data["due_date"]},
            template=data["template"],
        )
    except ValidationError as exc:
        forms.add_errors(form, exc)
        return False
    return True


@require_get_or_post
@console_page(Role.THERAPIST)
def homework(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    patients = care.caseload_for(request.user).select_related("patient")
    form = forms.AssignHomeworkForm(
        request.POST or None, patients=[link.patient for link in patients]
    )
    status = 200
    if request.method == "POST":
        if form.is_valid() and _assign(request, form):
            messages.success(
                request,
                f"Assigned to {form.cleaned_data['patient'].display_name or 'the patient'}.",
            )
            return redirect("console:homework")
        status = 400
    queue = page_of(
        request,
        homework_selectors.review_queue(request.user, now=now).order_by("submitted_at", "id"),
    )
    shown = policy.hand_out(
        request=request, viewer=request.user, kind=HOMEWORK, records=list(queue), now=now
    )
    context = {
        "nav": "homework",
        "notice": REDISCLOSURE_NOTICE,
        "form": form,
        "page": queue,
        "queue": shown,
        "review_form": forms.HomeworkReviewForm(),
    }
    return render(request, "console/homework.html", context, status=status)


@require_POST
@console_page(Role.THERAPIST)
def homework_review(request: HttpRequest, homework_id: UUID) -> HttpResponse:
    item = homework_selectors.homework_get(viewer=request.user, homework_id=homework_id)
    if item.assigned_by_id != request.user.pk:
        raise NotFound()
    form = forms.HomeworkReviewForm(request.POST)
    if not form.is_valid():
        # The form's own words: a missing decision, or no feedback on a return.
        messages.error(request, " ".join(m for errors in form.errors.values() for m in errors))
        return redirect("console:homework")
    try:
        homework_services.homework_review(
            homework=item,
            reviewer=request.user,
            decision=form.cleaned_data["decision"],
            feedback=form.cleaned_data["feedback"],
        )
    except APIException as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, f"“{item.title}” {form.cleaned_data['decision']}.")
    return redirect("console:homework")
