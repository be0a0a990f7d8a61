"""Reads of skills, checklists with their progress, skill effectiveness and the plan.

Every read goes through backend.consent.policy with the viewer; a record the
viewer may not see is a 404. Progress, effectiveness and plan rendering run a
fixed number of queries for a whole page, whatever its size.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Count, F, Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from backend.accounts.models import User
from backend.consent import policy
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
    ChecklistItem,
    ChecklistTick,
    PlanSection,
    PlanSuggestion,
    PlanVersion,
    RelapsePlan,
    Skill,
)
from backend.core.time import date_runs, local_today

COMPLETION_WINDOW_DAYS = 30


# --- skills -------------------------------------------------------------------------------


def skills_for(viewer: User, *, now: datetime | None = None) -> QuerySet[Skill]:
    return policy.readable(viewer, SKILL, now=now).select_related("patient")


def skill_get(*, viewer: User, skill_id: UUID, now: datetime | None = None) -> Skill:
    return get_object_or_404(skills_for(viewer, now=now), pk=skill_id)


# --- checklists ---------------------------------------------------------------------------


def checklists_for(viewer: User, *, now: datetime | None = None) -> QuerySet[Checklist]:
    """The checklists the viewer may see, with their live items and those items' skills."""
    return (
        policy.readable(viewer, CHECKLIST, now=now)
        .select_related("patient")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=ChecklistItem.objects.filter(removed_at__isnull=True)
                .select_related("skill")
                .order_by("position"),
                to_attr="live_items",
            )
        )
    )


def checklist_get(
    *, viewer: User, checklist_id: UUID, now: datetime | None = None, items: bool = True
) -> Checklist:
    """A checklist the viewer may see (404 otherwise); with its live items unless ``items=False``."""
    checklists = (
        checklists_for(viewer, now=now) if items else policy.readable(viewer, CHECKLIST, now=now)
    )
    return get_object_or_404(checklists, pk=checklist_id)


def checklist_days(
    viewer: User, checklist: Checklist, *, now: datetime | None = None
) -> QuerySet[ChecklistDay]:
    """The checklist's days, with what was ticked on each (the items' labels as they are now)."""
    return (
        policy.readable(viewer, CHECKLIST_DAY, now=now)
        .filter(checklist=checklist)
        .select_related("checklist")
        .prefetch_related(
            Prefetch(
                "ticks",
                queryset=ChecklistTick.objects.select_related("item__skill").order_by(
                    "item__position"
                ),
            )
        )
    )


@dataclass(frozen=True)
class Progress:
    today: date
    done_today: list[UUID]
    completed_today: bool
    current_streak: int
    longest_streak: int
    window_days: int
    window_completed: int

    @property
    def completion_rate(self) -> float | None:
        return round(self.window_completed / self.window_days, 4) if self.window_days else None


def checklist_progress(checklists: Iterable[Checklist], *, now: datetime) -> dict[UUID, Progress]:
    """Today's ticks, streaks and the 30-day completion rate of each checklist, on its patient's clock.

    Two queries for any number of checklists: the dates each was completed (a
    few hundred rows per checklist and year), and today's ticks. A day counts
    as completed when every item on the list that day was ticked. The streak
    is the run of completed days ending today, or yesterday while today is
    still open. The rate covers the last 30 local dates, or the days since the
    checklist was made if fewer; today counts once it is completed, so an
    unfinished morning never lowers it.
    """
    checklists = list(checklists)
    if not checklists:
        return {}
    todays = {c.pk: local_today(c.patient, now) for c in checklists}
    completed: dict[UUID, list[date]] = defaultdict(list)
    for checklist_id, local_date in (
        ChecklistDay.objects.filter(checklist_id__in=list(todays), completed=True)
        .order_by("checklist_id", "local_date")
        .values_list("checklist_id", "local_date")
    ):
        completed[checklist_id].append(local_date)
    ticked: dict[UUID, list[UUID]] = defaultdict(list)
    for checklist_id, local_date, item_id in ChecklistTick.objects.filter(
        day__checklist_id__in=list(todays), day__local_date__in=set(todays.values())
    ).values_list("day__checklist_id", "day__local_date", "item_id"):
        if local_date == todays[checklist_id]:
            ticked[checklist_id].append(item_id)

    progress = {}
    for checklist in checklists:
        today = todays[checklist.pk]
        dates = [d for d in completed[checklist.pk] if d <= today]
        run, longest, last = date_runs(dates)
        current = run if last is not None and (today - last).days <= 1 else 0
        created = local_today(checklist.patient, checklist.created_at)
        # A day ticked after the fact may come before the checklist's own creation date.
        began = min(created, dates[0]) if dates else created
        first = max(today - timedelta(days=COMPLETION_WINDOW_DAYS - 1), min(began, today))
        completed_today = last == today
        window_days = (today - first).days + (1 if completed_today else 0)
        window_completed = sum(1 for d in dates if first <= d <= today)
        progress[checklist.pk] = Progress(
            today=today,
            done_today=ticked[checklist.pk],
            completed_today=completed_today,
            current_streak=current,
            longest_streak=longest,
            window_days=window_days,
            window_completed=window_completed,
        )
    return progress


# --- the relapse-prevention plan ------------------------------------------------------------


def plans_for(viewer: User, *, now: datetime | None = None) -> QuerySet[RelapsePlan]:
    return policy.readable(viewer, PLAN, now=now).select_related("patient")


def plan_get(*, viewer: User, plan_id: UUID, now: datetime | None = None) -> RelapsePlan:
    return get_object_or_404(plans_for(viewer, now=now), pk=plan_id)


def plan_versions(
    viewer: User, plan: RelapsePlan, *, now: datetime | None = None
) -> QuerySet[PlanVersion]:
    return (
        policy.readable(viewer, PLAN_VERSION, now=now)
        .filter(plan=plan)
        .select_related("plan__patient", "author")
    )


def plan_version_get(
    *, viewer: User, plan: RelapsePlan, number: int, now: datetime | None = None
) -> PlanVersion:
    return get_object_or_404(plan_versions(viewer, plan, now=now), number=number)


def with_current_versions(plans: Sequence[RelapsePlan]) -> None:
    """Set ``plan.current`` (its current PlanVersion) on each plan, in one query."""
    if not plans:
        return
    versions = {
        v.plan_id: v
        for v in PlanVersion.objects.filter(
            plan_id__in=[p.pk for p in plans], number=F("plan__version")
        )
    }
    for plan in plans:
        plan.current = versions[plan.pk]


def pending_suggestion_counts(plans: Sequence[RelapsePlan]) -> dict[UUID, int]:
    rows = (
        PlanSuggestion.objects.filter(
            plan_id__in=[p.pk for p in plans], state=PlanSuggestion.State.PENDING
        )
        .values("plan_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["plan_id"]: row["n"] for row in rows}


def linked_skills(contents: Iterable[dict[str, Any]]) -> dict[str, Skill]:
    """The skills that coping strategies in these plan contents link to, by id (one query).

    Archived skills are included: a plan keeps naming a skill after it left the library.
    """
    ids = {
        strategy["skill"]
        for content in contents
        for strategy in content.get(PlanSection.COPING_STRATEGIES, [])
        if strategy.get("skill")
    }
    if not ids:
        return {}
    return {str(s.pk): s for s in Skill.objects.filter(pk__in=ids)}


def plan_sections(content: dict[str, Any], skills: dict[str, Skill]) -> dict[str, Any]:
    """A plan version's content for the response, linked skills resolved (see linked_skills)."""
    sections = {section: list(content.get(section, [])) for section in PlanSection.values}
    sections[PlanSection.COPING_STRATEGIES] = [
        {"skill": skills.get(s["skill"]) if s.get("skill") else None, "text": s.get("text", "")}
        for s in content.get(PlanSection.COPING_STRATEGIES, [])
    ]
    return sections


def plans_rendered(plans: Sequence[RelapsePlan]) -> list[dict[str, Any]]:
    """Plans with their current content, linked skills and pending suggestions: three queries."""
    plans = list(plans)
    with_current_versions(plans)
    pending = pending_suggestion_counts(plans)
    skills = linked_skills(plan.current.content for plan in plans)
    return [
        {
            "id": plan.pk,
            "patient": plan.patient,
            "version": plan.version,
            "sections": plan_sections(plan.current.content, skills),
            "pending_suggestions": pending.get(plan.pk, 0),
            "created_at": plan.created_at,
            "updated_at": plan.updated_at,
        }
        for plan in plans
    ]


def versions_rendered(versions: Sequence[PlanVersion]) -> list[dict[str, Any]]:
    skills = linked_skills(v.content for v in versions)
    return [
        {
            "number": v.number,
            "sections": plan_sections(v.content, skills),
            "author": v.author,
            "suggestion_id": v.suggestion_id,
            "created_at": v.created_at,
        }
        for v in versions
    ]


def suggestions_for(
    viewer: User, plan: RelapsePlan, *, now: datetime | None = None
) -> QuerySet[PlanSuggestion]:
    return (
        policy.readable(viewer, PLAN_SUGGESTION, now=now)
        .filter(plan=plan)
        .select_related("plan__patient", "author")
    )


def suggestion_get(
    *, viewer: User, plan: RelapsePlan, suggestion_id: UUID, now: datetime | None = None
) -> PlanSuggestion:
    return get_object_or_404(suggestions_for(viewer, plan, now=now), pk=suggestion_id)


def support_contacts(patient: User) -> list[dict[str, str]]:
    """The support contacts of the patient's own plan, for the journal's crisis support (one query)."""
    version = (
        PlanVersion.objects.filter(plan__in=policy.readable(patient, PLAN))
        .order_by("-number")
        .only("content")
        .first()
    )
    if version is None:
        return []
    return [
        {"name": c.get("name", ""), "relation": c.get("relation", ""), "phone": c.get("phone", "")}
        for c in version.content.get(PlanSection.SUPPORT_CONTACTS, [])
    ]
