"""Coping records as the access gate knows them (backend.consent.policy)."""

from django.db.models import Q

from backend.care.selectors import on_care_team
from backend.consent.policy import Action, Kind, Reach, Writers
from backend.consent.scopes import Scope
from backend.coping.models import (
    Checklist,
    ChecklistDay,
    PlanSuggestion,
    PlanVersion,
    RelapsePlan,
    Skill,
)

COPING = (Reach(Scope.COPING),)

# A therapist on the care team holding coping writes into the patient's coping records.
THERAPIST_WRITES = Writers(team=on_care_team, scope=Scope.COPING)

# Changed or deleted by the patient, or by the therapist who wrote it (while on the team
# holding coping).
SKILL_AUTHOR_WRITES = Writers(
    team=on_care_team,
    scope=Scope.COPING,
    author="author",
    refusal="Only the patient and the therapist who wrote it change a skill.",
)

SKILL = Kind(
    name="custom_skill",
    model=Skill,
    reach=COPING,
    live=Q(archived_at__isnull=True),
    public=Q(patient__isnull=True),  # the library's skills are everyone's to read
    writers={
        Action.CREATE: THERAPIST_WRITES,
        Action.CHANGE: SKILL_AUTHOR_WRITES,
        Action.DELETE: SKILL_AUTHOR_WRITES,
    },
)

CHECKLIST = Kind(
    name="checklist",
    model=Checklist,
    reach=COPING,
    live=Q(archived_at__isnull=True),
    writers={
        Action.CREATE: THERAPIST_WRITES,
        Action.CHANGE: Writers(
            team=on_care_team,
            scope=Scope.COPING,
            refusal="Only the patient and their therapist change a checklist.",
        ),
        Action.DELETE: Writers(
            team=on_care_team,
            scope=Scope.COPING,
            author="author",
            refusal="Only the patient and the therapist who made it delete it.",
        ),
    },
)

CHECKLIST_DAY = Kind(
    name="checklist_day",
    model=ChecklistDay,
    reach=COPING,
    patient="checklist__patient",
    live=Q(checklist__archived_at__isnull=True),
)

PLAN = Kind(name="relapse_plan", model=RelapsePlan, reach=COPING)

PLAN_VERSION = Kind(
    name="relapse_plan_version", model=PlanVersion, reach=COPING, patient="plan__patient"
)

PLAN_SUGGESTION = Kind(
    name="plan_suggestion",
    model=PlanSuggestion,
    reach=COPING,
    patient="plan__patient",
    writers={Action.CREATE: Writers(patient=False, team=on_care_team, scope=Scope.COPING)},
)
