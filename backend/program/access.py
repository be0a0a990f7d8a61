"""The program's records as the access gate knows them (backend.consent.policy).

Enrolment and attendance are treatment records. The program's own therapists (its
staff) see them without a grant, as part of treating its patients; an individual or
family session's attendance only its own therapist. Clinic staff enrol patients and see
the enrolments (not the attendance). Anyone else (a therapist outside the program,
family) needs the ``program`` scope in force. Changes are the program's therapists';
clinic staff also hand an enrolment to another primary therapist.
"""

from django.db.models import Exists, OuterRef, Q

from backend.accounts.models import User
from backend.care.selectors import on_care_team
from backend.consent.policy import Action, Kind, Reach, Writers
from backend.consent.scopes import Scope
from backend.program.models import AftercarePlan, Attendance, Enrolment, ProgramTherapist


def on_staff(viewer: User, program_ref: str) -> Exists:
    """SQL: the viewer is on the staff of the row's program (``program_ref``)."""
    return Exists(ProgramTherapist.objects.filter(therapist=viewer, program=OuterRef(program_ref)))


def treats_in_program(viewer: User, patient_ref: str = "patient") -> Exists:
    """SQL: the viewer is on the staff of a program the row's patient is or was enrolled in."""
    return Exists(
        Enrolment.objects.filter(patient=OuterRef(patient_ref), program__staff__therapist=viewer)
    )


def _staff_see_enrolment(viewer: User) -> Q:
    # Clinic staff run the programs' enrolment (intake, the roster): they see every
    # enrolment, not the attendance, sessions or plans behind it.
    if viewer.role == User.Role.CLINIC_ADMIN:
        return Q(pk__isnull=False)  # every row (an empty Q() would vanish in an OR)
    return Q(on_staff(viewer, "program"))


def _staff_see_attendance(viewer: User) -> Q:
    # A one-patient session (individual, family) is its therapist's alone.
    return Q(on_staff(viewer, "session__program")) & (
        Q(session__patient__isnull=True) | Q(session__therapist=viewer)
    )


STAFF_WRITE = Writers(
    patient=False,
    team=treats_in_program,
    refusal="Only a therapist of the patient's program does this.",
)

ENROLMENT = Kind(
    name="program_enrolment",
    model=Enrolment,
    reach=(Reach(Scope.PROGRAM),),
    treating=_staff_see_enrolment,
    writers={
        # Enrolling takes a therapist on the care team (the view checks the program's
        # staff too), or clinic staff, whose intake brings the primary therapist in.
        Action.CREATE: Writers(patient=False, team=on_care_team, clinic=True),
        # Its status, planned end and aftercare plan: the therapists of this enrolment's own
        # program. A program the patient was in before (or is in beside) makes its staff
        # their therapists there, not here, even where a consent shows them this one.
        Action.CHANGE: Writers(
            patient=False,
            team=treats_in_program,
            treating=True,
            refusal="Only a therapist of this enrolment's program does this.",
        ),
        # Handing an enrolment to another primary therapist: the therapists of its own
        # program, or clinic staff (who named the first one at intake).
        Action.REASSIGN: Writers(
            patient=False,
            team=treats_in_program,
            treating=True,
            clinic=True,
            refusal="Only the therapists of this program and clinic staff change its primary "
            "therapist.",
        ),
    },
)

ATTENDANCE = Kind(
    name="program_attendance",
    model=Attendance,
    reach=(Reach(Scope.PROGRAM),),
    treating=_staff_see_attendance,
    writers={Action.CREATE: STAFF_WRITE, Action.CHANGE: STAFF_WRITE},
)


def _staff_see_plan(viewer: User) -> Q:
    return Q(on_staff(viewer, "enrolment__program"))


AFTERCARE = Kind(
    name="aftercare_plan",
    model=AftercarePlan,
    reach=(Reach(Scope.PROGRAM),),
    treating=_staff_see_plan,
    writers={
        Action.CHANGE: STAFF_WRITE,
        Action.ANSWER: Writers(refusal="Only the patient accepts their plan."),
    },
)


def sessions_seen_by_staff(viewer: User) -> Q:
    """SQL on Session: sessions a therapist of the program sees (one-patient ones: their own)."""
    return Q(on_staff(viewer, "program")) & (Q(patient__isnull=True) | Q(therapist=viewer))
