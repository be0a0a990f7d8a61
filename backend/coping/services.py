"""Writes of custom skills, checklists and their days, and the relapse-prevention plan.

Who may write is decided by the views with backend.consent.policy (the patient,
or a therapist on the care team holding the coping scope); these services check
what is written: skills and items that exist for this patient, dates on the
patient's clock, plan versions that only ever grow.
"""

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from backend.accounts.models import User
from backend.consent import policy
from backend.coping.access import SKILL
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
from backend.core.errors import Conflict, PreconditionFailed
from backend.core.time import local_today

# How far back a patient may still tick a day they forgot (today counts as day 0).
TICK_BACKFILL_DAYS = 6

DEFAULT_CRISIS_LINES = [
    {"name": "988 Suicide & Crisis Lifeline (call or text)", "phone": "988"},
    {"name": "SAMHSA National Helpline", "phone": "1-800-662-4357"},
]
EMPTY_PLAN: dict[str, list] = {section: [] for section in PlanSection.values}


def _skills_for_patient(patient: User, skill_ids: Iterable[UUID]) -> dict[UUID, Skill]:
    """The skills among ``skill_ids`` that are in this patient's library (one query)."""
    wanted = set(skill_ids)
    if not wanted:
        return {}
    return {s.pk: s for s in policy.readable(patient, SKILL).filter(pk__in=wanted)}


# --- custom skills ------------------------------------------------------------------------

SKILL_FIELDS = ("name", "category", "summary", "steps", "duration_minutes", "approach")


@transaction.atomic
def skill_create(*, author: User, patient: User, data: dict[str, Any]) -> Skill:
    """A custom skill in one patient's library, written by them or their therapist."""
    fields = {name: data[name] for name in SKILL_FIELDS if name in data}
    fields.setdefault(
        "approach", "Written with your care team" if author != patient else "Your own"
    )
    return Skill.objects.create(patient=patient, author=author, **fields)


@transaction.atomic
def skill_update(*, skill: Skill, data: dict[str, Any]) -> Skill:
    changed = [name for name in SKILL_FIELDS if name in data and getattr(skill, name) != data[name]]
    for name in changed:
        setattr(skill, name, data[name])
    if changed:
        skill.save(update_fields=[*changed, "updated_at"])
    return skill


@transaction.atomic
def skill_archive(*, skill: Skill) -> None:
    """Take a custom skill out of the library; checklists and plans that name it keep it."""
    skill.archived_at = timezone.now()
    skill.save(update_fields=["archived_at", "updated_at"])


# --- checklists -----------------------------------------------------------------------------

MAX_ITEMS = 30


def _check_items(
    patient: User, items: list[dict[str, Any]], existing: dict[UUID, ChecklistItem]
) -> dict[UUID, Skill]:
    """Field errors for items naming a skill or an item this checklist cannot use."""
    skills = _skills_for_patient(patient, (i["skill"] for i in items if i.get("skill")))
    errors: dict[str, Any] = {}
    seen: set[UUID] = set()
    for index, item in enumerate(items):
        problems: dict[str, list[str]] = {}
        kept = item.get("id") in existing and existing[item["id"]].skill_id == item.get("skill")
        if item.get("skill") and item["skill"] not in skills and not kept:
            # A link the checklist already holds stays valid after its skill is archived.
            problems["skill"] = ["No skill with this id is in this patient's library."]
        if item.get("id"):
            if item["id"] not in existing:
                problems["id"] = ["This checklist has no item with this id."]
            elif item["id"] in seen:
                problems["id"] = ["This item appears more than once."]
            seen.add(item["id"])
        if problems:
            errors[str(index)] = problems
    if errors:
        raise ValidationError({"items": errors})
    return skills


def _write_items(
    checklist: Checklist,
    items: list[dict[str, Any]],
    existing: dict[UUID, ChecklistItem],
    skills: dict[UUID, Skill],
) -> None:
    now = timezone.now()
    keep, new, kept_ids = [], [], set()
    for position, item in enumerate(items):
        skill = skills.get(item["skill"]) if item.get("skill") else None
        if item.get("id"):
            row = existing[item["id"]]
            kept_ids.add(row.pk)
            if "skill" in item or "text" in item:
                if item.get("skill") and skill is None and row.skill_id == item["skill"]:
                    skill = row.skill  # an archived skill the item already links stays
                row.skill = skill
                row.text = item.get("text", "")
            row.position = position
            keep.append(row)
        else:
            new.append(
                ChecklistItem(
                    checklist=checklist, position=position, skill=skill, text=item.get("text", "")
                )
            )
    gone = [pk for pk in existing if pk not in kept_ids]
    if gone:
        ChecklistItem.objects.filter(pk__in=gone).update(removed_at=now)
    if keep:
        ChecklistItem.objects.bulk_update(keep, ["position", "skill", "text"])
    ChecklistItem.objects.bulk_create(new)


@transaction.atomic
def checklist_create(
    *, author: User, patient: User, title: str, items: list[dict[str, Any]]
) -> Checklist:
    """A patient's checklist with its items in order (skills from their library, or text)."""
    skills = _check_items(patient, items, {})
    checklist = Checklist.objects.create(patient=patient, author=author, title=title)
    _write_items(checklist, items, {}, skills)
    return checklist


@transaction.atomic
def checklist_update(
    *, checklist: Checklist, title: str | None = None, items: list[dict[str, Any]] | None = None
) -> Checklist:
    """Rename a checklist and/or give its items anew, in order.

    An item sent with its ``id`` keeps its history; one without is new; items left
    out come off the list, and the days they were ticked keep them.
    """
    checklist = Checklist.objects.select_for_update().select_related("patient").get(pk=checklist.pk)
    if items is not None:
        existing = {i.pk: i for i in checklist.items.filter(removed_at__isnull=True)}
        skills = _check_items(checklist.patient, items, existing)
        _write_items(checklist, items, existing, skills)
    if title is not None:
        checklist.title = title
    checklist.save(update_fields=["title", "updated_at"])
    return checklist


@transaction.atomic
def checklist_archive(*, checklist: Checklist) -> None:
    """Remove a checklist from the patient's lists; its days stay in the database."""
    checklist.archived_at = timezone.now()
    checklist.save(update_fields=["archived_at", "updated_at"])


@transaction.atomic
def checklist_day_set(
    *, checklist: Checklist, local_date: date, item_ids: list[UUID]
) -> ChecklistDay:
    """Record which items the patient ticked on one of their local dates (replacing that day).

    The day keeps how many items the list has now, so editing the list later
    does not change whether this day was complete. An empty list unticks
    everything. Today and the TICK_BACKFILL_DAYS before it may be written.
    """
    checklist = Checklist.objects.select_for_update().select_related("patient").get(pk=checklist.pk)
    today = local_today(checklist.patient)
    if local_date > today:
        raise ValidationError(
            {"date": [f"This date is in the future in your time zone (today is {today})."]}
        )
    if local_date < today - timedelta(days=TICK_BACKFILL_DAYS):
        raise ValidationError(
            {"date": [f"Days more than {TICK_BACKFILL_DAYS} days ago can no longer be changed."]}
        )
    live = {i.pk for i in checklist.items.filter(removed_at__isnull=True)}
    if not live:
        raise ValidationError({"done": ["This checklist has no items to tick yet."]})
    wanted = list(dict.fromkeys(item_ids))
    unknown = [str(pk) for pk in wanted if pk not in live]
    if unknown:
        raise ValidationError({"done": [f"Not an item of this checklist: {', '.join(unknown)}."]})
    day, _ = ChecklistDay.objects.update_or_create(
        checklist=checklist,
        local_date=local_date,
        defaults={
            "item_count": len(live),
            "done_count": len(wanted),
            "completed": len(wanted) == len(live),
        },
    )
    day.ticks.all().delete()
    ChecklistTick.objects.bulk_create(ChecklistTick(day=day, item_id=pk) for pk in wanted)
    return day


# --- the relapse-prevention plan ------------------------------------------------------------


def _linked_skills(plan: RelapsePlan | None) -> set[str]:
    """Skill ids the plan's current version already links (kept after an archive)."""
    if plan is None:
        return set()
    current = _current_content(plan).get(PlanSection.COPING_STRATEGIES) or []
    return {str(s.get("skill")) for s in current if s.get("skill")}


def _check_strategy_skills(
    patient: User, strategies: list[dict] | None, field: str, plan: RelapsePlan | None = None
) -> None:
    """Field errors under ``field`` for strategies linking a skill not in the patient's library.

    A skill the plan already links stays valid after it is archived: a plan can
    always be saved back as it was read.
    """
    if not strategies:
        return
    skills = _skills_for_patient(patient, (s["skill"] for s in strategies if s.get("skill")))
    linked = _linked_skills(plan)
    errors = {
        str(index): {"skill": ["No skill with this id is in this patient's library."]}
        for index, strategy in enumerate(strategies)
        if strategy.get("skill")
        and strategy["skill"] not in skills
        and str(strategy["skill"]) not in linked
    }
    if errors:
        raise ValidationError({field: errors})


def _stored(content: dict[str, Any]) -> dict[str, Any]:
    """Content as JSON values (skill ids as strings)."""
    stored = dict(content)
    if PlanSection.COPING_STRATEGIES in stored:
        stored[PlanSection.COPING_STRATEGIES] = [
            {"skill": str(s["skill"]) if s.get("skill") else None, "text": s.get("text", "")}
            for s in stored[PlanSection.COPING_STRATEGIES]
        ]
    return stored


@transaction.atomic
def plan_create(*, patient: User, content: dict[str, Any]) -> RelapsePlan:
    """Start the patient's plan (version 1); crisis lines default to 988 and SAMHSA."""
    strategies = PlanSection.COPING_STRATEGIES
    _check_strategy_skills(patient, content.get(strategies), strategies)
    full = {**EMPTY_PLAN, PlanSection.CRISIS_LINES: DEFAULT_CRISIS_LINES, **_stored(content)}
    try:
        with transaction.atomic():
            plan = RelapsePlan.objects.create(patient=patient, version=1)
    except IntegrityError as exc:
        raise Conflict(
            "You already have a relapse-prevention plan: change it instead of starting another."
        ) from exc
    PlanVersion.objects.create(plan=plan, number=1, content=full, author=patient)
    return plan


def _new_version(
    plan: RelapsePlan,
    content: dict[str, Any],
    *,
    author: User,
    suggestion: PlanSuggestion | None = None,
) -> PlanVersion:
    plan.version += 1
    plan.save(update_fields=["version", "updated_at"])
    return PlanVersion.objects.create(
        plan=plan, number=plan.version, content=content, author=author, suggestion=suggestion
    )


def _current_content(plan: RelapsePlan) -> dict[str, Any]:
    return PlanVersion.objects.get(plan=plan, number=plan.version).content


@transaction.atomic
def plan_update(
    *, plan: RelapsePlan, changes: dict[str, Any], author: User, expected_version: int | None
) -> RelapsePlan:
    """Replace the sections in ``changes``; a change makes a new version, the old ones stay."""
    plan = RelapsePlan.objects.select_for_update().select_related("patient").get(pk=plan.pk)
    if expected_version is not None and expected_version != plan.version:
        raise PreconditionFailed(current=plan)
    strategies = PlanSection.COPING_STRATEGIES
    _check_strategy_skills(plan.patient, changes.get(strategies), strategies, plan)
    current = _current_content(plan)
    content = {**EMPTY_PLAN, **current, **_stored(changes)}
    if content != current:
        _new_version(plan, content, author=author)
    return plan


@transaction.atomic
def suggestion_create(
    *, plan: RelapsePlan, author: User, section: str, proposed: Any, note: str = ""
) -> PlanSuggestion:
    """A therapist proposes new content for one section of the patient's plan."""
    plan = RelapsePlan.objects.select_related("patient").get(pk=plan.pk)
    if section == PlanSection.COPING_STRATEGIES:
        _check_strategy_skills(plan.patient, proposed, "proposed", plan)
    return PlanSuggestion.objects.create(
        plan=plan,
        author=author,
        section=section,
        proposed=_stored({section: proposed})[section],
        note=note,
        based_on_version=plan.version,
    )


@transaction.atomic
def suggestion_decide(*, suggestion: PlanSuggestion, accept: bool, by: User) -> PlanSuggestion:
    """The patient accepts (the section takes the proposed content, in a new version) or rejects."""
    suggestion = PlanSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.state != PlanSuggestion.State.PENDING:
        raise Conflict(
            f"You already {suggestion.state} this suggestion on {suggestion.decided_at:%Y-%m-%d}."
        )
    plan = RelapsePlan.objects.select_for_update().get(pk=suggestion.plan_id)
    suggestion.decided_at = timezone.now()
    if accept:
        content = {**EMPTY_PLAN, **_current_content(plan), suggestion.section: suggestion.proposed}
        version = _new_version(plan, content, author=by, suggestion=suggestion)
        suggestion.state = PlanSuggestion.State.ACCEPTED
        suggestion.resulting_version = version.number
    else:
        suggestion.state = PlanSuggestion.State.REJECTED
    suggestion.save(update_fields=["state", "decided_at", "resulting_version"])
    return suggestion
