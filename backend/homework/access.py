"""Homework as the access gate knows it (backend.consent.policy).

Homework is the program's own treatment record: the therapist who assigned it
sees it while on the patient's care team, with or without a homework grant.
"""

from backend.care.selectors import on_care_team
from backend.consent.policy import Action, Kind, Reach, Writers
from backend.consent.scopes import Scope
from backend.homework.models import Homework

HOMEWORK = Kind(
    name="homework",
    model=Homework,
    reach=(Reach(Scope.HOMEWORK),),
    assigned_by="assigned_by",
    team=on_care_team,
    writers={
        # Assigned by a therapist on the care team (no grant needed: it is their treatment).
        Action.CREATE: Writers(patient=False, team=on_care_team),
        Action.CHANGE: Writers(
            patient=False,
            team=on_care_team,
            author="assigned_by",
            refusal="Only the therapist who assigned this homework changes it.",
        ),
        Action.REVIEW: Writers(
            patient=False,
            team=on_care_team,
            author="assigned_by",
            refusal="Only the therapist who assigned this homework reviews it.",
        ),
        Action.ANSWER: Writers(refusal="Only the patient answers their homework."),
    },
)
