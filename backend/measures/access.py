"""Measures as the access gate knows them (backend.consent.policy).

A schedule and its answers are the program's own treatment record: the therapist
who asked for them sees them while on the patient's care team. Anyone else (another
therapist, family) sees them only under a grant of the ``measures`` scope.
"""

from backend.care.selectors import on_care_team
from backend.consent.policy import Action, Kind, Reach, Writers
from backend.consent.scopes import Scope
from backend.measures.models import MeasureResponse, MeasureSchedule

_ASKER_ONLY = "Only the therapist who scheduled this questionnaire changes it."

SCHEDULE = Kind(
    name="measure_schedule",
    model=MeasureSchedule,
    reach=(Reach(Scope.MEASURES),),
    assigned_by="assigned_by",
    team=on_care_team,
    writers={
        # Scheduled by a therapist on the care team (their treatment: no grant needed).
        Action.CREATE: Writers(patient=False, team=on_care_team),
        Action.CHANGE: Writers(
            patient=False, team=on_care_team, author="assigned_by", refusal=_ASKER_ONLY
        ),
        Action.ANSWER: Writers(refusal="Only the patient answers their questionnaires."),
    },
)

RESPONSE = Kind(
    name="measure_response",
    model=MeasureResponse,
    reach=(Reach(Scope.MEASURES),),
    assigned_by="assigned_by",
    team=on_care_team,
)
