"""Reads of skills, checklists with their progress, skill effectiveness and the plan.

Every read goes through backend.consent.policy with the viewer; a record the
viewer may not see is a 404. Progress, effectiveness and plan rendering run a
fixed number of queries for a whole page, whatever its size.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from rest_framework.exceptions import NotFound, ValidationError

from backend.accounts.models import User
from backend.consent import policy
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
from backend.core.time import local_today
from backend.journal import reports
from backend.journal.models import Outcome
from backend.journal.selectors import date_runs

COMPLETION_WINDOW_DAYS = 30


# --- skills -------------------------------------------------------------------------------


def skills_for(viewer: User, *, now: datetime | None = None) -> QuerySet[Skill]:
    return policy.skills_visible_to(viewer, now=now).select_related("patient")


def skill_get(*, viewer: User, skill_id, now: datetime | None = None) -> Skill:
    return get_object_or_404(skills_for(viewer, now=now), pk=skill_id)


# --- checklists ---------------------------------------------------------------------------


def checklists_for(viewer: User, *, now: datetime | None = None) -> QuerySet[Checklist]:
    """The checklists the viewer may see, with their live items and those items' skills."""
    return (
        policy.checklists_visible_to(viewer, now=now)
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
    *, viewer: User, checklist_id, now: datetime | None = None, items: bool = True
) -> Checklist:
    """A checklist the viewer may see (404 otherwise); with its live items unless ``items=False``."""
    checklists = (
        checklists_for(viewer, now=now) if items else policy.checklists_visible_to(viewer, now=now)
    )
    return get_object_or_404(checklists, pk=checklist_id)


def checklist_days(viewer: User, checklist: Checklist, *, now=None) -> QuerySet[ChecklistDay]:
    """The checklist's days, with what was ticked on each (the items' labels as they are now)."""
    return (
        policy.checklist_days_visible_to(viewer, now=now)
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


# --- skill effectiveness --------------------------------------------------------------------

MAX_EFFECTIVENESS_ROWS = 50
ENDED = (Outcome.RESISTED, Outcome.LAPSED, Outcome.USED)
_SPACES = re.compile(r"\s+")


def normalize_label(text: str) -> str:
    """How a logged coping skill is compared with skill names and aliases."""
    return _SPACES.sub(" ", text.strip().strip(".!,;:").lower())


def _library_index(skills: Iterable[Skill]) -> dict[str, Skill]:
    index: dict[str, Skill] = {}
    # Custom skills first: a patient's own "walk" means their skill, not the library's.
    for skill in sorted(skills, key=lambda s: s.patient_id is None):
        # The phone may log a skill by its id as well as by its name.
        for label in (str(skill.pk), skill.name, *skill.aliases):
            index.setdefault(normalize_label(label), skill)
    return index


def skill_effectiveness(
    viewer: User,
    patient: User,
    *,
    start: date | None = None,
    end: date | None = None,
    own_words: bool = True,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Per coping skill in the patient's journal: how often used, share resisted, intensity drop.

    Entries come from the policy's aggregate rule (the patient's own, or a grant
    of insights or journal.all). A logged skill matches a library skill by name
    or alias (or id), or one of the patient's custom skills the viewer may see; other
    labels are the patient's own words and shown only when ``own_words``, else
    counted together in one row without a label. A skill listed twice in one
    entry counts once. Two queries whatever the number of entries.

    - ``times_used``: entries listing the skill.
    - ``resisted_share``: of those that ended (resisted, lapsed or used; not
      ongoing), the share resisted.
    - ``mean_intensity_drop``: mean of intensity minus intensity after, over
      those with an after-intensity.
    """
    entries = (
        policy.entries_for_aggregates_visible_to(viewer, now=now)
        .filter(patient=patient, coping_used=True)
        .values_list("coping_skills", "intensity", "intensity_after", "outcome")
    )
    if start is not None and end is not None:
        lower, upper = reports.local_day_bounds(start, end, ZoneInfo(patient.time_zone))
        entries = entries.filter(occurred_at__gte=lower, occurred_at__lt=upper)
    index = _library_index(
        policy.skills_visible_to(viewer, now=now).filter(
            Q(patient__isnull=True) | Q(patient=patient)
        )
    )
    counted, groups = _tally(entries, index, own_words=own_words)
    rows = sorted(
        groups.values(),
        key=lambda g: (-g["used"], g["label"] is None, (g["label"] or "").lower()),
    )
    return {
        "patient": patient,
        "range": {"from": start, "to": end} if start is not None else None,
        "entries_with_skills": counted,
        "skills": [_effectiveness_row(g) for g in rows[:MAX_EFFECTIVENESS_ROWS]],
        "more": max(0, len(rows) - MAX_EFFECTIVENESS_ROWS),
    }


def _skill_keys(
    labels: Iterable[str], index: dict[str, Skill], *, own_words: bool
) -> dict[tuple, dict[str, Any]]:
    """The rows one entry counts in, by key: each skill once, however often it is listed."""
    keys: dict[tuple, dict[str, Any]] = {}
    for label in labels:
        normalized = normalize_label(label)
        if not normalized:
            continue
        skill = index.get(normalized)
        if skill is not None:
            keys[("skill", skill.pk)] = {"skill": skill, "label": skill.name}
        elif own_words:
            keys.setdefault(("label", normalized), {"skill": None, "label": label.strip()})
        else:
            keys[("hidden",)] = {"skill": None, "label": None}
    return keys


def _tally(
    entries: Iterable[tuple[list[str], int, int | None, str]],
    index: dict[str, Skill],
    *,
    own_words: bool,
) -> tuple[int, dict[tuple, dict[str, Any]]]:
    """(entries counted, running totals per row) over (skills, intensity, after, outcome)."""
    groups: dict[tuple, dict[str, Any]] = {}
    counted = 0
    for labels, intensity, after, outcome in entries:
        counted += 1
        for key, identity in _skill_keys(labels, index, own_words=own_words).items():
            group = groups.setdefault(
                key, {**identity, "used": 0, "ended": 0, "resisted": 0, "after": 0, "drop": 0}
            )
            group["used"] += 1
            if outcome in ENDED:
                group["ended"] += 1
                group["resisted"] += outcome == Outcome.RESISTED
            if after is not None:
                group["after"] += 1
                group["drop"] += intensity - after
    return counted, groups


def _effectiveness_row(group: dict[str, Any]) -> dict[str, Any]:
    ended, after = group["ended"], group["after"]
    return {
        "skill": group["skill"],
        "label": group["label"],
        "times_used": group["used"],
        "ended": ended,
        "resisted": group["resisted"],
        "resisted_share": round(group["resisted"] / ended, 4) if ended else None,
        "with_intensity_after": after,
        "mean_intensity_drop": round(group["drop"] / after, 2) if after else None,
    }


def effectiveness_patient(*, viewer: User, patient_id: UUID | None, now=None) -> tuple[User, dict]:
    """The patient whose skill effectiveness the viewer asks for, and the scopes that allow it.

    A patient asks about themselves (no scopes needed). Anyone else needs a grant
    in force of insights or journal.all from that patient; otherwise 404.
    """
    if viewer.role == User.Role.PATIENT:
        if patient_id not in (None, viewer.pk):
            raise NotFound()
        return viewer, {}
    if patient_id is None:
        raise ValidationError({"patient": ["Name the patient whose skills you ask about."]})
    held = policy.scopes_held(viewer, [patient_id], now=now, scopes=policy.AGGREGATE_SCOPES)
    patient = User.objects.filter(pk=patient_id, is_active=True).first()
    if patient is None or not held.get(patient_id):
        raise NotFound()
    return patient, held


# --- the relapse-prevention plan ------------------------------------------------------------


def plans_for(viewer: User, *, now=None) -> QuerySet[RelapsePlan]:
    return policy.plans_visible_to(viewer, now=now).select_related("patient")


def plan_get(*, viewer: User, plan_id, now=None) -> RelapsePlan:
    return get_object_or_404(plans_for(viewer, now=now), pk=plan_id)


def plan_versions(viewer: User, plan: RelapsePlan, *, now=None) -> QuerySet[PlanVersion]:
    return (
        policy.plan_versions_visible_to(viewer, now=now)
        .filter(plan=plan)
        .select_related("plan__patient", "author")
    )


def plan_version_get(*, viewer: User, plan: RelapsePlan, number: int, now=None) -> PlanVersion:
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


def suggestions_for(viewer: User, plan: RelapsePlan, *, now=None) -> QuerySet[PlanSuggestion]:
    return (
        policy.plan_suggestions_visible_to(viewer, now=now)
        .filter(plan=plan)
        .select_related("plan__patient", "author")
    )


def suggestion_get(*, viewer: User, plan: RelapsePlan, suggestion_id, now=None) -> PlanSuggestion:
    return get_object_or_404(suggestions_for(viewer, plan, now=now), pk=suggestion_id)


def support_contacts(patient: User) -> list[dict[str, str]]:
    """The support contacts of the patient's own plan, for the journal's crisis support (one query)."""
    version = (
        PlanVersion.objects.filter(plan__in=policy.plans_visible_to(patient))
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
