"""Measures as the access gate knows them (backend.consent.policy).

A schedule and its answers are the program's own treatment record: the therapist
who asked for them sees them while on the patient's care team, and the staff of an
IOP program the patient is or was enrolled in see them as treating the patient
(both logged without a grant). Anyone else (another therapist, family) sees them
only under a grant of the ``measures`` scope.
"""

from django.db.models import Q

from backend.accounts.models import User
from backend.care.selectors import on_care_team
from backend.consent.policy import Action, Kind, Reach, Writers, program_staff
from backend.consent.scopes import Scope
from backend.measures.models import MeasureResponse, MeasureSchedule

_ASKER_ONLY = "Only the therapist who scheduled this questionnaire changes it."


def _program_staff(viewer: User) -> Q:
    return program_staff(viewer, "patient")


SCHEDULE = Kind(
    name="measure_schedule",
    model=MeasureSchedule,
    reach=(Reach(Scope.MEASURES),),
    assigned_by="assigned_by",
    team=on_care_team,
    treating=_program_staff,
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
    treating=_program_staff,
)
