"""The homework of a program's progress: "homework done of assigned" in an enrolment.

The program and homework apps know nothing of each other; this layer above both counts
the homework through the access gate and hands the count to the program's progress
(registered in SharingConfig.ready with ``program.selectors.homework_counter_register``).
"""

from datetime import date, datetime
from uuid import UUID

from django.http import HttpRequest

from backend.accounts.models import User
from backend.consent import policy
from backend.consent.scopes import Scope
from backend.homework.access import HOMEWORK
from backend.homework.models import Homework
from backend.program.selectors import HomeworkDone

DONE = (Homework.State.SUBMITTED, Homework.State.REVIEWED)


def homework_in_enrolment(
    *,
    request: HttpRequest,
    viewer: User,
    patient_id: UUID,
    first: date,
    last: date,
    now: datetime,
) -> HomeworkDone | None:
    """Homework due from ``first`` to ``last`` (the patient's local dates), done of assigned,
    over what the gate hands the viewer (logged as ``homework_progress`` for anyone but the
    patient). None for a viewer who can see none of the patient's homework (family without
    the homework scope, clinic staff)."""
    held: policy.Held = {}
    if viewer.pk == patient_id:
        counted = "all"
    else:
        held = policy.scopes_held(viewer, [patient_id], now=now, scopes=[Scope.HOMEWORK])
        if held.get(patient_id):
            counted = "all"
        elif viewer.role == User.Role.THERAPIST:
            counted = "assigned_by_you"
        else:
            return None
    rows = (
        policy.readable(viewer, HOMEWORK, now=now, held=held)
        .filter(patient_id=patient_id, due_date__gte=first, due_date__lte=last)
        .only("id", "patient_id", "assigned_by_id", "state")
    )
    shown = policy.hand_out(
        request=request,
        viewer=viewer,
        kind=HOMEWORK,
        records=list(rows),
        now=now,
        held=held,
        log_as=lambda homework: ("homework_progress", str(homework.pk)),
    )
    return HomeworkDone(
        done=sum(homework.state in DONE for homework in shown),
        assigned=len(shown),
        counted=counted,
    )
