"""Reads of the program, always with the viewer, through backend.consent.policy."""

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone

from backend.accounts.models import User
from backend.consent import policy
from backend.consent.scopes import Scope
from backend.core.time import local_today
from backend.program.access import (
    AFTERCARE,
    ATTENDANCE,
    ENROLMENT,
    on_staff,
    sessions_seen_by_staff,
)
from backend.program.models import (
    PERSONAL_KINDS,
    AftercarePlan,
    Attendance,
    Enrolment,
    Program,
    Session,
    SessionInvite,
    Slot,
)

# --- programs and their timetable ---------------------------------------------------------


def programs_for(viewer: User) -> QuerySet[Program]:
    """Clinic staff see every program; a therapist those they are on the staff of; a patient
    the programs they are or were enrolled in."""
    programs = Program.objects.all()
    if viewer.role == User.Role.CLINIC_ADMIN:
        return programs
    if viewer.role == User.Role.THERAPIST:
        return programs.filter(on_staff(viewer, "pk"))
    if viewer.role == User.Role.PATIENT:
        return programs.filter(pk__in=Enrolment.objects.filter(patient=viewer).values("program"))
    return programs.none()


def program_get(*, viewer: User, program_id: UUID) -> Program:
    return get_object_or_404(programs_for(viewer).prefetch_related("slots", "staff"), pk=program_id)


def slot_get(*, program: Program, slot_id: UUID) -> Slot:
    """A line of the program's timetable (the program already read through programs_for)."""
    return get_object_or_404(
        Slot.objects.select_related("therapist", "patient"), pk=slot_id, program=program
    )


def program_sessions(
    *, viewer: User, program: Program, start: datetime | None = None, end: datetime | None = None
) -> QuerySet[Session]:
    """A program's sessions: all of them for clinic staff; for a therapist of it, all but
    other therapists' one-patient sessions."""
    sessions = Session.objects.filter(program=program).select_related("therapist")
    if viewer.role != User.Role.CLINIC_ADMIN:
        sessions = sessions.filter(sessions_seen_by_staff(viewer))
    if start is not None:
        sessions = sessions.filter(ends_at__gt=start)
    if end is not None:
        sessions = sessions.filter(starts_at__lt=end)
    return sessions


def staff_session_get(*, viewer: User, session_id: UUID) -> Session:
    """A session a therapist of its program may run the attendance sheet of; else 404."""
    return get_object_or_404(
        Session.objects.filter(sessions_seen_by_staff(viewer)).select_related("program"),
        pk=session_id,
    )


# --- a patient's sessions -----------------------------------------------------------------


def _expected(patient_id: Any) -> Q:
    """SQL on Session: sessions the patient is expected at, by their enrolments' dates."""
    spans = Q(pk__in=[])
    for program_id, starts_on, planned_end, ended_on in Enrolment.objects.filter(
        patient_id=patient_id
    ).values_list("program_id", "starts_on", "planned_end", "ended_on"):
        last = ended_on or planned_end
        spans |= Q(program_id=program_id, local_date__gte=starts_on, local_date__lte=last)
    return spans & (Q(patient__isnull=True) | Q(patient_id=patient_id))


def sessions_for_patient(
    viewer: User, patient: User, start: datetime | None = None, end: datetime | None = None
) -> QuerySet[Session]:
    """The sessions of ``patient``'s programs the viewer may see, soonest first.

    Each row has starts_at, ends_at, duration_minutes, kind, title, place,
    telehealth_url, status (scheduled/cancelled) and ``attendance_status`` (present,
    late, absent, excused, or None when not recorded). The patient sees all of theirs;
    a therapist of the program its group sessions and their own one-patient sessions;
    anyone else holding the ``program`` scope the group sessions (never another
    therapist's individual or family session). Anyone else: none.
    """
    sessions = Session.objects.filter(_expected(patient.pk))
    if viewer.pk != patient.pk:
        held = policy.scopes_held(viewer, [patient.pk], scopes=[Scope.PROGRAM])
        staff = (
            Q(sessions_seen_by_staff(viewer))
            if viewer.role == User.Role.THERAPIST
            else Q(pk__in=[])
        )
        if held.get(patient.pk):
            staff |= ~Q(kind__in=PERSONAL_KINDS)
        sessions = sessions.filter(staff)
    if start is not None:
        sessions = sessions.filter(ends_at__gt=start)
    if end is not None:
        sessions = sessions.filter(starts_at__lt=end)
    status = Attendance.objects.filter(session=OuterRef("pk"), patient=patient).values("status")[:1]
    return sessions.annotate(attendance_status=Subquery(status)).order_by("starts_at", "id")


# --- enrolment and attendance -------------------------------------------------------------


def enrolments_for(viewer: User, *, now: datetime | None = None) -> QuerySet[Enrolment]:
    return policy.readable(viewer, ENROLMENT, now=now).select_related(
        "patient", "program", "primary_therapist"
    )


def enrolment_get(*, viewer: User, enrolment_id: UUID) -> Enrolment:
    return get_object_or_404(
        enrolments_for(viewer).prefetch_related("changes__by"), pk=enrolment_id
    )


def attendance_for(viewer: User, *, now: datetime | None = None) -> QuerySet[Attendance]:
    return policy.readable(viewer, ATTENDANCE, now=now).select_related("session", "patient")


@dataclass(frozen=True)
class SheetRow:
    patient: User
    enrolment: Enrolment
    attendance: Attendance | None


def sheet_enrolments(session: Session) -> QuerySet[Enrolment]:
    """The enrolments that put a patient at this session (everyone expected there)."""
    enrolments = (
        Enrolment.objects.filter(program_id=session.program_id, starts_on__lte=session.local_date)
        .filter(
            Q(status=Enrolment.Status.ACTIVE, planned_end__gte=session.local_date)
            | Q(ended_on__gte=session.local_date)
        )
        .select_related("patient")
    )
    if session.patient_id is not None:
        enrolments = enrolments.filter(patient_id=session.patient_id)
    # What a row of the sheet shows of each (a page is 100 patients: no more than that read).
    return enrolments.only(
        "id", "patient_id", "patient__id", "patient__display_name", "patient__role"
    )


def sheet_rows(session: Session, enrolments: list[Enrolment]) -> list[SheetRow]:
    """A page of the sheet: each expected patient with their mark if any (one query)."""
    marks = {}
    for row in Attendance.objects.filter(
        session=session, patient_id__in=[e.patient_id for e in enrolments]
    ):
        row.session = session  # the one already read, not a copy per row
        marks[row.patient_id] = row
    return [SheetRow(e.patient, e, marks.get(e.patient_id)) for e in enrolments]


def treats(viewer: User, patient: User) -> bool:
    """The viewer is a therapist on the staff of a program the patient is enrolled in."""
    return (
        viewer.role == User.Role.THERAPIST
        and Enrolment.objects.filter(patient=patient, program__staff__therapist=viewer).exists()
    )


# --- progress and the missed-sessions flag ------------------------------------------------


@dataclass(frozen=True)
class HomeworkDone:
    """Homework due within an enrolment's dates: how much is done (submitted or reviewed)
    of what was assigned, over the homework the viewer may see (``counted``: "all", or
    "assigned_by_you" for a therapist who sees only what they assigned)."""

    done: int
    assigned: int
    counted: str


@dataclass(frozen=True)
class Progress:
    week: int
    weeks: int
    scheduled: int
    attended: int
    missed_in_a_row: int
    homework: HomeworkDone | None = None


# Homework is a record app beside the program, which may not read it: a layer above both
# (backend.sharing, in its AppConfig.ready) registers how to count it through the gate.
# counter(request=, viewer=, patient_id=, first=, last=, now=) -> HomeworkDone, or None
# when the viewer sees none of the patient's homework.
HomeworkCounter = Callable[..., HomeworkDone | None]
_homework_counters: list[HomeworkCounter] = []


def homework_counter_register(counter: HomeworkCounter) -> None:
    if counter not in _homework_counters:
        _homework_counters.append(counter)


def homework_done(
    *, request: HttpRequest, viewer: User, enrolment: Enrolment, now: datetime
) -> HomeworkDone | None:
    """Homework due from the enrolment's start to its end (or planned end), as the viewer
    may see it; None when no counter is registered or the viewer sees none of it."""
    last: date = enrolment.ended_on or enrolment.planned_end
    for counter in _homework_counters:
        return counter(
            request=request,
            viewer=viewer,
            patient_id=enrolment.patient_id,
            first=enrolment.starts_on,
            last=last,
            now=now,
        )
    return None


def _past_expected(enrolment: Enrolment, now: datetime) -> QuerySet[Session]:
    last = enrolment.ended_on or enrolment.planned_end
    return Session.objects.filter(
        Q(patient__isnull=True) | Q(patient_id=enrolment.patient_id),
        program_id=enrolment.program_id,
        status=Session.Status.SCHEDULED,
        local_date__gte=enrolment.starts_on,
        local_date__lte=last,
        starts_at__lt=now,
    )


def _progress(
    enrolment: Enrolment, *, scheduled: int, now: datetime, homework: HomeworkDone | None = None
) -> Progress:
    return _progress_of(
        starts_on=enrolment.starts_on,
        planned_end=enrolment.planned_end,
        today=local_today(enrolment.program, now),
        scheduled=scheduled,
        attended=enrolment.attended_count,
        missed_in_a_row=enrolment.missed_in_a_row,
        homework=homework,
    )


def _progress_of(
    *,
    starts_on: date,
    planned_end: date,
    today: date,
    scheduled: int,
    attended: int,
    missed_in_a_row: int,
    homework: HomeworkDone | None = None,
) -> Progress:
    weeks = (planned_end - starts_on).days // 7 + 1
    week = min(max((today - starts_on).days // 7 + 1, 0), weeks)
    return Progress(week, weeks, scheduled, attended, missed_in_a_row, homework)


def enrolment_progress(
    enrolment: Enrolment, *, now: datetime | None = None, homework: HomeworkDone | None = None
) -> Progress:
    """Week N of M, sessions attended of those held so far, missed sessions in a row, and
    the homework done of assigned (``homework_done``) when the caller counted it."""
    now = now or timezone.now()
    return _progress(
        enrolment, scheduled=_past_expected(enrolment, now).count(), now=now, homework=homework
    )


MISSED_FLAG = 2


def flagged_for_missing(count: int) -> bool:
    return count >= MISSED_FLAG


def progress_for(
    viewer: User, patient_ids: list[UUID], *, now: datetime, held: policy.Held | None = None
) -> dict[UUID, Progress]:
    """patient id -> progress in their active enrolment, as the viewer may read it (through
    the gate: the enrolments the viewer reaches, which carry their attendance tally). Two
    queries whatever the number of patients, and plain rows: a caseload page reads this for
    a hundred patients, and model instances of them cost more than both queries."""
    enrolments = list(
        policy.readable(viewer, ENROLMENT, now=now, held=held)
        .filter(patient_id__in=patient_ids, status=Enrolment.Status.ACTIVE)
        .values_list(*PROGRESS_FIELDS, "program__time_zone", named=True)
        .order_by()
    )
    if not enrolments:
        return {}
    # The dates of the sessions held so far, per program (group sessions) and per program
    # and patient (one-patient sessions), sorted: each enrolment counts its span by bisection.
    held_on: dict[Any, list[date]] = defaultdict(list)
    sessions = (
        Session.objects.filter(
            program_id__in={e.program_id for e in enrolments},
            status=Session.Status.SCHEDULED,
            starts_at__lt=now,
            local_date__gte=min(e.starts_on for e in enrolments),
        )
        .order_by()
        .values_list("program_id", "patient_id", "local_date")
    )
    for program_id, one_patient, day in sessions:
        held_on[(program_id, one_patient)].append(day)
    for days in held_on.values():
        days.sort()

    def within(key: Any, first: date, last: date) -> int:
        days = held_on.get(key, [])
        return bisect_right(days, last) - bisect_left(days, first)

    todays = {
        zone: now.astimezone(ZoneInfo(zone)).date()
        for zone in {e.program__time_zone for e in enrolments}
    }
    return {
        e.patient_id: _progress_of(
            starts_on=e.starts_on,
            planned_end=e.planned_end,
            today=todays[e.program__time_zone],
            scheduled=within((e.program_id, None), e.starts_on, e.planned_end)
            + within((e.program_id, e.patient_id), e.starts_on, e.planned_end),
            attended=e.attended_count,
            missed_in_a_row=e.missed_in_a_row,
        )
        for e in enrolments
    }


# What progress reads of an enrolment.
PROGRESS_FIELDS = (
    "patient_id",
    "program_id",
    "starts_on",
    "planned_end",
    "attended_count",
    "missed_in_a_row",
)


def upcoming_session_starts(
    patient_ids: list[UUID], start: datetime, end: datetime
) -> dict[UUID, list[datetime]]:
    """patient id -> starts of the scheduled sessions in [start, end) they are expected at,
    in an active enrolment (two queries whatever the number of patients). For reminders:
    the patient's own sessions, read for the patient."""
    enrolments = list(
        Enrolment.objects.filter(patient_id__in=patient_ids, status=Enrolment.Status.ACTIVE)
    )
    if not enrolments:
        return {}
    rows = list(
        Session.objects.filter(
            program_id__in={e.program_id for e in enrolments},
            status=Session.Status.SCHEDULED,
            starts_at__gte=start,
            starts_at__lt=end,
        ).values_list("program_id", "patient_id", "local_date", "starts_at")
    )
    result: dict[UUID, list[datetime]] = {}
    for enrolment in enrolments:
        result[enrolment.patient_id] = sorted(
            starts_at
            for program_id, one_patient, day, starts_at in rows
            if program_id == enrolment.program_id
            and one_patient in (None, enrolment.patient_id)
            and enrolment.starts_on <= day <= enrolment.planned_end
        )
    return result


def invites_for(member: User, *, now: datetime | None = None) -> QuerySet[SessionInvite]:
    """A family member's session invitations, while the patient's program consent to them
    is in force."""
    return (
        SessionInvite.objects.filter(member=member)
        .filter(policy.granted(member, Scope.PROGRAM, patient_ref="session__patient", now=now))
        .select_related("session")
    )


def aftercare_get(
    *, viewer: User, enrolment: Enrolment, now: datetime | None = None
) -> AftercarePlan:
    return get_object_or_404(policy.readable(viewer, AFTERCARE, now=now), enrolment=enrolment)
