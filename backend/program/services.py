"""Writes of the program: timetable, sessions, enrolment and attendance.

Who may act is checked by the views through the access gate; these services hold
the rules of the program itself (dates, overlaps, the life cycle of an enrolment,
the check-in window) and answer a broken rule with a 400 naming the field, before
anything is written.
"""

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import NotFound, ValidationError

from backend.accounts.models import User
from backend.care import selectors as care_selectors
from backend.care import services as care_services
from backend.care.models import CareLink
from backend.consent import policy
from backend.consent.scopes import Scope
from backend.core.errors import Conflict
from backend.core.time import local_today
from backend.program.models import (
    PERSONAL_KINDS,
    AftercarePlan,
    Attendance,
    Enrolment,
    EnrolmentChange,
    LevelOfCare,
    Program,
    ProgramTherapist,
    Session,
    SessionCancellation,
    SessionInvite,
    SessionKind,
    Slot,
)
from backend.program.signals import enrolment_ended, patient_enrolled

# How far ahead sessions of a program without an end exist as rows; the daily sweep
# (``program_sessions_extend``) moves the horizon on.
HORIZON = timedelta(weeks=12)
MAX_ENROLMENT = timedelta(weeks=104)
Status = Enrolment.Status
# The life cycle: only an active enrolment changes status; every other status is final.
TRANSITIONS: dict[str, set[str]] = {
    Status.ACTIVE: {Status.STEPPED_DOWN, Status.COMPLETED, Status.DISCHARGED, Status.WITHDRAWN}
}


def instant(local_date: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a date in ``zone``.

    A time that does not exist that day (the hour skipped in spring) is read with the
    offset before the change, i.e. moved forward by the gap; a time that happens twice
    (autumn) is its first occurrence.
    """
    return datetime.combine(local_date, wall).replace(tzinfo=zone, fold=0).astimezone(UTC)


def horizon_for(program: Program, *, today: date) -> date:
    """The last date whose sessions should exist now."""
    ahead = today + HORIZON
    return min(ahead, program.ends_on) if program.ends_on else ahead


def _slot_dates(slot: Slot, first: date, last: date) -> list[date]:
    first = max(first, slot.valid_from)
    if slot.valid_until is not None:
        last = min(last, slot.valid_until)
    first += timedelta(days=(slot.weekday - first.weekday()) % 7)
    days = []
    while first <= last:
        days.append(first)
        first += timedelta(weeks=1)
    return days


def _sessions_of(
    slot: Slot, program: Program, days: list[date], cancelled: set[date]
) -> list[Session]:
    zone = ZoneInfo(program.time_zone)
    length = timedelta(minutes=slot.duration_minutes)
    rows = []
    for day in days:
        starts_at = instant(day, slot.start_time, zone)
        off = day in cancelled
        rows.append(
            Session(
                program=program,
                slot=slot,
                kind=slot.kind,
                title=slot.title,
                local_date=day,
                starts_at=starts_at,
                ends_at=starts_at + length,
                therapist_id=slot.therapist_id,
                patient_id=slot.patient_id,
                place=slot.place,
                telehealth_url=slot.telehealth_url,
                status=Session.Status.CANCELLED if off else Session.Status.SCHEDULED,
            )
        )
    return rows


INSERT_BATCH = 2000  # rows per INSERT of a changed line's new sessions (bulk_create)
SWEEP_CHUNK = 200  # programs per transaction of the daily sweep


@dataclass(frozen=True)
class _Columns:
    """Where each value of a Session row goes, in the table's column order."""

    names: tuple[str, ...]
    id: int
    local_date: int
    starts_at: int
    ends_at: int
    status: int


def _columns() -> _Columns:
    names = tuple(field.attname for field in Session._meta.concrete_fields)
    return _Columns(
        names,
        *(names.index(name) for name in ("id", "local_date", "starts_at", "ends_at", "status")),
    )


def _session_values(
    slot: Slot, program: Program, days: list[date], cancelled: set[date]
) -> list[list[Any]]:
    """The column values of the slot's sessions on ``days``, ready for sessions_insert.

    No model instances: the slot's own values are prepared for the database once, then
    each row is a copy with its id, date, times and status (a year of 50 timetables is
    13,000 rows). PostgreSQL's COPY takes Python values as they are (psycopg formats them,
    in C); SQLite takes the strings Django's adapters make.
    """
    columns = _columns()
    fields = {field.attname: field for field in Session._meta.concrete_fields}
    copying = connection.vendor == "postgresql"

    def prepared(name: str, value: Any) -> Any:
        return value if copying else fields[name].get_db_prep_save(value, connection)

    constant = {
        "program_id": prepared("program_id", program.pk),
        "slot_id": prepared("slot_id", slot.pk),
        "kind": slot.kind,
        "title": slot.title,
        "therapist_id": prepared("therapist_id", slot.therapist_id),
        "patient_id": prepared("patient_id", slot.patient_id),
        "place": slot.place,
        "telehealth_url": slot.telehealth_url,
        "cancel_reason": "",
    }
    template = [constant.get(name) for name in columns.names]
    ops = connection.ops
    # Per row, the database's own adapters (what get_db_prep_save ends in, without its
    # checks: these values are made here, aware and of the right types).
    as_date = (lambda day: day) if copying else ops.adapt_datefield_value
    as_instant = (lambda moment: moment) if copying else ops.adapt_datetimefield_value
    as_id = (lambda pk: pk) if connection.features.has_native_uuid_field else (lambda pk: pk.hex)
    zone = ZoneInfo(program.time_zone)
    length = timedelta(minutes=slot.duration_minutes)
    wall = slot.start_time
    rows = []
    for day in days:
        starts_at = instant(day, wall, zone)
        row = template.copy()
        row[columns.id] = as_id(uuid.uuid4())
        row[columns.local_date] = as_date(day)
        row[columns.starts_at] = as_instant(starts_at)
        row[columns.ends_at] = as_instant(starts_at + length)
        row[columns.status] = (
            Session.Status.CANCELLED.value if day in cancelled else Session.Status.SCHEDULED.value
        )
        rows.append(row)
    return rows


def sessions_insert(values: list[list[Any]]) -> None:
    """Insert sessions' column values (_session_values) in one statement.

    On PostgreSQL one COPY: psycopg formats its rows in C, where a multi-row INSERT's
    parameters (or an array per column) are dumped value by value in Python, and psycopg
    runs executemany as one statement per row. COPY has no ON CONFLICT: the caller holds the
    lock of every program the rows are of (programs_generate), and every writer of a
    timetable's sessions takes it, so none of these rows was made meanwhile (the unique
    slot and date stays the backstop). On SQLite, where that lock is a no-op, one prepared
    INSERT run by executemany (stepped in C), skipping a row a concurrent run made.
    """
    if not values:
        return
    fields = Session._meta.concrete_fields
    quote = connection.ops.quote_name
    table = quote(Session._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    # Only the model's own table and column names are formatted in; values are parameters.
    if connection.vendor == "postgresql":
        # COPY goes through psycopg's own cursor: its errors are made Django's here.
        with (
            connection.wrap_database_errors,
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in values:
                copy.write_row(row)
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT DO NOTHING",
            values,
        )


def sessions_generate(*, program: Program, until: date) -> int:
    """Make the sessions of the program's timetable up to ``until`` (inclusive); idempotent.

    Rows already made are left alone (a cancellation or a change of therapist on one
    session stays); returns how many were made.
    """
    return programs_generate(plans=[(program, until)])


def programs_generate(*, plans: Iterable[tuple[Program, date]]) -> int:
    """Make the sessions of several programs' timetables, each up to its date (inclusive),
    in one transaction and a fixed number of statements, whatever the number of programs;
    idempotent. Returns how many rows were made; each program's ``generated_until`` moves on
    (the objects passed in too).
    """
    plans = list(plans)
    if not plans:
        return 0
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # Sessions are derived rows, made again idempotently from the timetable: a
            # crash that loses this commit loses the rows and the horizon together, and
            # the next sweep makes both. So the commit need not wait for the disk (on a
            # loaded disk that wait was a fifth of a year's generation). Only for a
            # transaction of its own: never for a caller's (a new slot) it runs inside.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        return _generate(plans)


def _spans(plans: list[tuple[Program, date]]) -> dict[Any, tuple[Program, date, date]]:
    """program id -> (the program as locked now, first date to make, last date to make).

    Locked and read again: a caller's copy may be stale, and every writer of a timetable's
    sessions (a new or changed line, a new zone, this) locks its program first, so no rows
    of these programs are made meanwhile. Programs with nothing to make are left out.
    """
    until_of: dict[Any, date] = {}
    for program, until in plans:
        until_of[program.pk] = until
    spans = {}
    for program in Program.objects.select_for_update().filter(pk__in=until_of).order_by("pk"):
        first = (
            program.starts_on
            if program.generated_until is None
            else program.generated_until + timedelta(days=1)
        )
        until = until_of[program.pk]
        if program.ends_on is not None:
            until = min(until, program.ends_on)
        if until >= first:
            spans[program.pk] = (program, first, until)
    return spans


def _generate(plans: list[tuple[Program, date]]) -> int:
    spans = _spans(plans)
    if not spans:
        return 0
    lowest = min(first for _, first, _ in spans.values())
    highest = max(until for _, _, until in spans.values())
    slots = list(
        Slot.objects.filter(program_id__in=spans, valid_from__lte=highest)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=lowest))
        .order_by()
    )
    cancelled: dict[Any, set[date]] = defaultdict(set)
    made: set[tuple[Any, date]] = set()
    if slots:
        slot_ids = [slot.pk for slot in slots]
        for slot_id, day in SessionCancellation.objects.filter(
            slot_id__in=slot_ids, local_date__gte=lowest, local_date__lte=highest
        ).values_list("slot_id", "local_date"):
            cancelled[slot_id].add(day)
        made = set(
            Session.objects.filter(
                slot_id__in=slot_ids, local_date__gte=lowest, local_date__lte=highest
            ).values_list("slot_id", "local_date")
        )
    rows = []
    for slot in slots:
        program, first, until = spans[slot.program_id]
        days = [d for d in _slot_dates(slot, first, until) if (slot.pk, d) not in made]
        rows += _session_values(slot, program, days, cancelled[slot.pk])
    sessions_insert(rows)
    by_day: dict[date, list[Any]] = defaultdict(list)
    for pk, (_, _, until) in spans.items():
        by_day[until].append(pk)
    for until, pks in by_day.items():
        Program.objects.filter(pk__in=pks).update(generated_until=until)
    for program, _ in plans:
        if program.pk in spans:
            program.generated_until = spans[program.pk][2]
    return len(rows)


def programs_extend(*, today: date | None = None) -> int:
    """The daily sweep: every program's sessions up to its horizon, a chunk of programs per
    transaction (a few statements each). Returns rows made."""
    made = 0
    programs = list(Program.objects.order_by("pk"))
    for first in range(0, len(programs), SWEEP_CHUNK):
        made += programs_generate(
            plans=[
                (program, horizon_for(program, today=today or local_today(program)))
                for program in programs[first : first + SWEEP_CHUNK]
            ]
        )
    return made


def _check_therapists(program: Program, therapist_ids: list[Any]) -> list[User]:
    therapists = list(
        User.objects.filter(pk__in=therapist_ids, role=User.Role.THERAPIST, is_active=True)
    )
    if len(therapists) != len(set(therapist_ids)):
        raise ValidationError({"therapists": ["Name active therapists only."]})
    return therapists


@transaction.atomic
def program_create(*, data: dict[str, Any]) -> Program:
    """A program with its staff; sessions come with its timetable's slots."""
    therapist_ids = list(data.pop("therapists", []))
    program = Program(**data)
    therapists = _check_therapists(program, therapist_ids)
    if program.ends_on is not None and program.ends_on < program.starts_on:
        raise ValidationError({"ends_on": ["The program cannot end before it starts."]})
    program.save()
    ProgramTherapist.objects.bulk_create(
        ProgramTherapist(program=program, therapist=therapist) for therapist in therapists
    )
    return program


@transaction.atomic
def program_staff_add(*, program: Program, therapist_ids: list[Any]) -> None:
    therapists = _check_therapists(program, therapist_ids)
    ProgramTherapist.objects.bulk_create(
        (ProgramTherapist(program=program, therapist=t) for t in therapists), ignore_conflicts=True
    )


@transaction.atomic
def program_staff_remove(*, program: Program, therapist_id: Any) -> None:
    """Take a therapist off the program's staff (404 if not on it). Refused (400) while they
    run a timetable line or a session still to come, or are an active enrolment's primary
    therapist: give those to a colleague first."""
    program = Program.objects.select_for_update().get(pk=program.pk)
    row = ProgramTherapist.objects.filter(program=program, therapist_id=therapist_id).first()
    if row is None:
        raise NotFound()
    now = timezone.now()
    today = local_today(program, now)
    slot = (
        Slot.objects.filter(program=program, therapist_id=therapist_id)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .first()
    )
    if slot is not None:
        raise ValidationError(
            {"therapist": [f"Runs '{slot.title}' on the timetable: edit or end that line first."]}
        )
    session = (
        Session.objects.filter(
            program=program,
            therapist_id=therapist_id,
            status=Session.Status.SCHEDULED,
            starts_at__gt=now,
        )
        .order_by("starts_at")
        .first()
    )
    if session is not None:
        raise ValidationError(
            {
                "therapist": [
                    f"Runs '{session.title}' on {session.local_date.isoformat()}: cancel it or "
                    "give it to a colleague first."
                ]
            }
        )
    primary = Enrolment.objects.filter(
        program=program, primary_therapist_id=therapist_id, status=Status.ACTIVE
    ).count()
    if primary:
        raise ValidationError(
            {"therapist": [f"The primary therapist of {primary} active enrolment(s) here."]}
        )
    row.delete()


# Fields of a program that change after creation (its dates and staff have their own rules).
PROGRAM_EDITABLE = (
    "name",
    "level_of_care",
    "planned_weeks",
    "time_zone",
    "checkin_opens_minutes",
    "checkin_closes_minutes",
    "late_after_minutes",
)


@dataclass(frozen=True)
class Regenerated:
    """What a change to the timetable did to sessions still to come."""

    updated: int = 0  # kept their row (invitations, marks ahead), at their new time
    made: int = 0
    removed: int = 0  # no longer on the timetable (a moved weekday): deleted
    kept: int = 0  # left as they were: attendance taken, or their new time has passed
    cancelled: int = 0  # no longer on the timetable, with marks ahead: cancelled, not deleted


# A session still to come holds no attendance yet, except an excused absence marked ahead
# (attendance_mark refuses anything else before the check-in window). Such a mark belongs
# to that day's session wherever the timetable puts it; any other mark means the session
# is under way (checked in early, or the window was moved) and it stays where it is held.
TAKEN = ~Q(status=Attendance.Status.EXCUSED)


def _taken(session_ids: Collection[Any]) -> set[Any]:
    """Of these sessions, those with attendance taken (a mark other than excused)."""
    return set(
        Attendance.objects.filter(TAKEN, session_id__in=list(session_ids)).values_list(
            "session_id", flat=True
        )
    )


@transaction.atomic
def program_update(*, program: Program, data: dict[str, Any]) -> tuple[Program, Regenerated]:
    """Change a program's name, level of care, planned weeks, check-in window or zone.

    A new zone moves the sessions still to come to the same wall-clock time in it (a 6 pm
    group stays at 6 pm on the clinic's new clock), with their excused absences marked
    ahead; past sessions, those with attendance already taken and those whose new time has
    passed stay. A clash this makes for a therapist: 400, nothing changed.
    """
    program = Program.objects.select_for_update().get(pk=program.pk)
    old_zone = program.time_zone
    for name in PROGRAM_EDITABLE:
        if name in data:
            setattr(program, name, data[name])
    program.save(update_fields=[name for name in PROGRAM_EDITABLE if name in data])
    result = Regenerated()
    if program.time_zone != old_zone:
        result = _sessions_rezone(program, ZoneInfo(old_zone))
    return program, result


def _sessions_rezone(program: Program, old_zone: ZoneInfo) -> Regenerated:
    now = timezone.now()
    zone = ZoneInfo(program.time_zone)
    future = list(Session.objects.filter(program=program, starts_at__gt=now).select_related("slot"))
    taken = _taken([s.pk for s in future])
    moved, kept = [], 0
    for session in future:
        if session.pk in taken:
            kept += 1
            continue
        length = session.ends_at - session.starts_at
        wall = (
            session.slot.start_time
            if session.slot is not None
            else session.starts_at.astimezone(old_zone).time()
        )
        starts_at = instant(session.local_date, wall, zone)
        if starts_at <= now:
            kept += 1  # its time on the new clock has passed: it stays when it was announced
            continue
        session.starts_at, session.ends_at = starts_at, starts_at + length
        moved.append(session)
    _check_overlaps(moved, replacing=[s.pk for s in moved], field="time_zone")
    Session.objects.bulk_update(moved, ["starts_at", "ends_at"], batch_size=500)
    return Regenerated(updated=len(moved), kept=kept)


def _check_in_program(program: Program, day: date, field: str) -> None:
    if day < program.starts_on or (program.ends_on is not None and day > program.ends_on):
        end = program.ends_on.isoformat() if program.ends_on else "open-ended"
        raise ValidationError(
            {field: [f"Outside the program's dates ({program.starts_on.isoformat()} to {end})."]}
        )


def _check_people(program: Program, *, therapist: User, patient: User | None, kind: str) -> None:
    if not ProgramTherapist.objects.filter(program=program, therapist=therapist).exists():
        raise ValidationError({"therapist": ["Name a therapist on this program's staff."]})
    if kind in PERSONAL_KINDS:
        if patient is None or patient.role != User.Role.PATIENT:
            raise ValidationError(
                {"patient": ["An individual or family session is one patient's: name them."]}
            )
    elif patient is not None:
        raise ValidationError({"patient": ["Only individual and family sessions name a patient."]})


def _check_overlaps(
    rows: list[Session], *, replacing: Collection[Any] = (), field: str = "start_time"
) -> None:
    """400 on ``field`` when a scheduled session of ``rows`` overlaps another scheduled
    session of its therapist (other than the rows ``replacing`` names, which these rows
    take the place of). One query over the rows' span, compared here."""
    rows = [row for row in rows if row.status == Session.Status.SCHEDULED]
    if not rows:
        return
    skip = set(replacing) | {row.pk for row in rows}
    others: dict[Any, list[tuple[datetime, datetime, str]]] = {}
    for pk, therapist_id, starts_at, ends_at, title in Session.objects.filter(
        therapist_id__in={row.therapist_id for row in rows},
        status=Session.Status.SCHEDULED,
        starts_at__lt=max(row.ends_at for row in rows),
        ends_at__gt=min(row.starts_at for row in rows),
    ).values_list("pk", "therapist_id", "starts_at", "ends_at", "title"):
        if pk not in skip:
            others.setdefault(therapist_id, []).append((starts_at, ends_at, title))
    clashes = sorted(
        (starts_at, title)
        for row in rows
        for starts_at, ends_at, title in others.get(row.therapist_id, [])
        if starts_at < row.ends_at and ends_at > row.starts_at
    )
    if clashes:
        starts_at, title = clashes[0]
        raise ValidationError(
            {field: [f"The therapist already runs '{title}' then ({starts_at.isoformat()})."]}
        )


def _check_same_day(start: time, minutes: int) -> None:
    if start.hour * 60 + start.minute + minutes > 24 * 60:
        raise ValidationError({"duration_minutes": ["A session ends on the day it starts."]})


@transaction.atomic
def slot_add(*, program: Program, data: dict[str, Any]) -> Slot:
    """A weekly session on the timetable, and its sessions up to the program's horizon."""
    caller = program
    program = Program.objects.select_for_update().get(pk=program.pk)
    slot = Slot(program=program, **data)
    slot.valid_from = data.get("valid_from") or program.starts_on
    _check_in_program(program, slot.valid_from, "valid_from")
    if slot.valid_until is not None:
        _check_in_program(program, slot.valid_until, "valid_until")
        if slot.valid_until < slot.valid_from:
            raise ValidationError({"valid_until": ["Ends before it starts."]})
    _check_people(program, therapist=slot.therapist, patient=slot.patient, kind=slot.kind)
    _check_same_day(slot.start_time, slot.duration_minutes)
    slot.save()
    until = program.generated_until or horizon_for(program, today=local_today(program))
    rows = _sessions_of(slot, program, _slot_dates(slot, slot.valid_from, until), set())
    _check_overlaps(rows)
    Session.objects.bulk_create(rows, batch_size=2000)
    if program.generated_until is None:
        sessions_generate(program=program, until=until)
    caller.generated_until = program.generated_until
    return slot


# Fields of a timetable line that change in place; its kind and patient make another line.
SLOT_EDITABLE = (
    "title",
    "weekday",
    "start_time",
    "duration_minutes",
    "therapist",
    "place",
    "telehealth_url",
)


def _locked_slot(program: Program, slot: Slot) -> tuple[Program, Slot]:
    program = Program.objects.select_for_update().get(pk=program.pk)
    slot = Slot.objects.select_for_update().get(pk=slot.pk, program=program)
    if slot.valid_until is not None and slot.valid_until < local_today(program):
        raise Conflict(f"This timetable line ended on {slot.valid_until.isoformat()}.")
    return program, slot


@transaction.atomic
def slot_update(*, program: Program, slot: Slot, data: dict[str, Any]) -> tuple[Slot, Regenerated]:
    """Change a timetable line, and its sessions still to come with it.

    Sessions to come keep their row (invitations, excused absences marked ahead) when their
    date stays, move when the weekday changes (a date gone off the timetable is deleted, or
    cancelled when it holds a mark given ahead), and holidays stay off. Past sessions, those
    with attendance already taken, and today's whose new time has passed stay as they were.
    A clash with another session of the therapist, or a session past midnight: 400, nothing
    changed.
    """
    program, slot = _locked_slot(program, slot)
    for name in SLOT_EDITABLE:
        if name in data:
            setattr(slot, name, data[name])
    _check_people(program, therapist=slot.therapist, patient=slot.patient, kind=slot.kind)
    _check_same_day(slot.start_time, slot.duration_minutes)
    slot.save()
    return slot, _slot_regenerate(program, slot)


REGENERATED_FIELDS = [
    "title",
    "starts_at",
    "ends_at",
    "therapist_id",
    "place",
    "telehealth_url",
    "status",
    "cancel_reason",
]


MOVED_OFF = "No longer on the timetable (the line changed)."


def _slot_regenerate(program: Program, slot: Slot) -> Regenerated:
    if program.generated_until is None:
        return Regenerated()
    now = timezone.now()
    today = local_today(program, now)
    existing_rows = Session.objects.filter(slot=slot, local_date__gte=today)
    if slot.valid_until is not None:
        # Sessions after a line's end stay as its end left them (cancelled, on calendars).
        existing_rows = existing_rows.filter(local_date__lte=slot.valid_until)
    rows = list(existing_rows)
    existing = [s for s in rows if s.starts_at > now]
    stays = {s.local_date for s in rows if s.starts_at <= now}
    taken = _taken([s.pk for s in existing])
    stays |= {s.local_date for s in existing if s.pk in taken}
    replaceable = {s.local_date: s for s in existing if s.pk not in taken}
    holidays = set(
        SessionCancellation.objects.filter(slot=slot, local_date__gte=today).values_list(
            "local_date", flat=True
        )
    )
    days = [d for d in _slot_dates(slot, today, program.generated_until) if d not in stays]
    updated, made, late = [], [], 0
    for row in _sessions_of(slot, program, days, holidays):
        old = replaceable.pop(row.local_date, None)
        if row.starts_at <= now:
            # Today's session at a time already passed: one still to come stays as announced.
            late += old is not None
            continue
        if old is None:
            made.append(row)
            continue
        for name in REGENERATED_FIELDS[:6]:
            setattr(old, name, getattr(row, name))
        if row.status == Session.Status.CANCELLED:
            old.status = Session.Status.CANCELLED
        elif old.status == Session.Status.CANCELLED:
            # Not a holiday (those are kept as cancellations): back on the timetable, it runs.
            old.status, old.cancel_reason = Session.Status.SCHEDULED, ""
        updated.append(old)
    # Off the timetable (a moved weekday): deleted, but those holding a mark given ahead
    # (an excused absence: a record of its own, kept) are cancelled. Excused marks count
    # neither way in the tally, so it stands.
    off = list(replaceable.values())
    marked = set(
        Attendance.objects.filter(session_id__in=[s.pk for s in off]).values_list(
            "session_id", flat=True
        )
    )
    removed = [s for s in off if s.pk not in marked]
    cancelled = [s for s in off if s.pk in marked]
    _check_overlaps([*updated, *made], replacing=[s.pk for s in (*updated, *off)])
    Session.objects.filter(pk__in=[s.pk for s in removed]).delete()
    Session.objects.filter(
        pk__in=[s.pk for s in cancelled], status=Session.Status.SCHEDULED
    ).update(status=Session.Status.CANCELLED, cancel_reason=MOVED_OFF)
    Session.objects.bulk_update(updated, REGENERATED_FIELDS, batch_size=500)
    Session.objects.bulk_create(made, batch_size=INSERT_BATCH)
    return Regenerated(
        updated=len(updated),
        made=len(made),
        removed=len(removed),
        kept=len(taken) + late,
        cancelled=len(cancelled),
    )


LINE_ENDED = "The timetable line ended."


@transaction.atomic
def slot_end(
    *, program: Program, slot: Slot, last_day: date | None = None, reason: str = ""
) -> tuple[Slot, int]:
    """End a timetable line after ``last_day`` (default today, the program's clock): its
    sessions after that day are cancelled, attendance marked on them no longer counts.
    Returns the line and how many sessions were cancelled."""
    program, slot = _locked_slot(program, slot)
    today = local_today(program)
    last_day = last_day or max(today, slot.valid_from)
    if last_day < today:
        raise ValidationError(
            {"last_day": [f"That date has passed (today is {today.isoformat()})."]}
        )
    if last_day < slot.valid_from:
        raise ValidationError(
            {
                "last_day": [
                    f"The line starts on {slot.valid_from.isoformat()}: end it then or later."
                ]
            }
        )
    if slot.valid_until is not None and last_day > slot.valid_until:
        raise ValidationError(
            {"last_day": [f"The line already ends on {slot.valid_until.isoformat()}."]}
        )
    _check_in_program(program, last_day, "last_day")
    slot.valid_until = last_day
    slot.save(update_fields=["valid_until"])
    after = Session.objects.filter(
        slot=slot, local_date__gt=last_day, status=Session.Status.SCHEDULED
    )
    marked = list(
        Attendance.objects.filter(session__in=after).values_list("enrolment_id", flat=True)
    )
    cancelled = after.update(status=Session.Status.CANCELLED, cancel_reason=reason or LINE_ENDED)
    if marked:
        attendance_tally(enrolment_ids=list(set(marked)))
    return slot, cancelled


@transaction.atomic
def session_add(*, program: Program, data: dict[str, Any]) -> Session:
    """A one-off extra session (no timetable slot)."""
    zone = ZoneInfo(program.time_zone)
    day, start, minutes = data["local_date"], data["start_time"], data["duration_minutes"]
    _check_in_program(program, day, "local_date")
    therapist, patient = data["therapist"], data.get("patient")
    _check_people(program, therapist=therapist, patient=patient, kind=data["kind"])
    _check_same_day(start, minutes)
    starts_at = instant(day, start, zone)
    session = Session(
        program=program,
        kind=data["kind"],
        title=data["title"],
        local_date=day,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        therapist=therapist,
        patient=patient,
        place=data.get("place", ""),
        telehealth_url=data.get("telehealth_url", ""),
    )
    _check_overlaps([session])
    session.save()
    return session


@transaction.atomic
def session_cancel(*, session: Session, by: User, reason: str) -> Session:
    """Cancel one session (a holiday); kept as a cancellation so regenerating keeps it off."""
    session = Session.objects.select_for_update().get(pk=session.pk)
    if session.status == Session.Status.CANCELLED:
        return session
    if session.slot_id is not None:
        SessionCancellation.objects.get_or_create(
            slot_id=session.slot_id,
            local_date=session.local_date,
            defaults={"reason": reason, "created_by": by},
        )
    session.status = Session.Status.CANCELLED
    session.cancel_reason = reason
    session.save(update_fields=["status", "cancel_reason"])
    # Marks of a cancelled session no longer count.
    attendance_tally(enrolment_ids=list(session.attendance.values_list("enrolment_id", flat=True)))
    return session


# --- enrolment ----------------------------------------------------------------------------


def _log(enrolment: Enrolment, *, what: str, by: User, old: str, new: str, reason: str) -> None:
    EnrolmentChange.objects.create(
        enrolment=enrolment, what=what, by=by, from_value=old, to_value=new, reason=reason
    )


@transaction.atomic
def enrol(
    *,
    by: User,
    patient: User,
    program: Program,
    primary_therapist: User,
    starts_on: date,
    planned_end: date | None = None,
) -> Enrolment:
    """Enrol a patient in a program (one at a time). The primary therapist joins the care team.

    Sends ``patient_enrolled`` once the transaction commits.
    """
    if patient.role != User.Role.PATIENT:
        raise ValidationError({"patient": ["Only a patient is enrolled."]})
    if not ProgramTherapist.objects.filter(program=program, therapist=primary_therapist).exists():
        raise ValidationError({"primary_therapist": ["Name a therapist on this program's staff."]})
    _check_in_program(program, starts_on, "starts_on")
    if planned_end is None:
        planned_end = starts_on + timedelta(weeks=program.planned_weeks, days=-1)
        if program.ends_on is not None:
            planned_end = min(planned_end, program.ends_on)
    _check_planned_end(program, starts_on, planned_end)
    current = (
        Enrolment.objects.filter(patient=patient, status=Status.ACTIVE)
        .select_related("program")
        .first()
    )
    if current is not None:
        raise ValidationError(
            {"patient": [f"Already enrolled in {current.program.name}: end that enrolment first."]}
        )
    try:
        with transaction.atomic():
            enrolment = Enrolment.objects.create(
                patient=patient,
                program=program,
                primary_therapist=primary_therapist,
                starts_on=starts_on,
                planned_end=planned_end,
            )
    except IntegrityError as exc:
        raise ValidationError({"patient": ["Already enrolled in a program."]}) from exc
    _log(enrolment, what=EnrolmentChange.What.ENROLLED, by=by, old="", new=Status.ACTIVE, reason="")
    if not care_selectors.is_linked_pair(patient, primary_therapist):
        care_services.link_create(
            patient=patient, therapist=primary_therapist, source=CareLink.Source.PROGRAM
        )
    transaction.on_commit(
        lambda: patient_enrolled.send(sender=Enrolment, patient=patient, enrolment=enrolment)
    )
    return enrolment


def _check_planned_end(program: Program, starts_on: date, planned_end: date) -> None:
    if planned_end < starts_on:
        raise ValidationError({"planned_end": ["The planned end is before the start."]})
    if planned_end - starts_on > MAX_ENROLMENT:
        raise ValidationError({"planned_end": ["Plan at most two years."]})
    if program.ends_on is not None and planned_end > program.ends_on:
        raise ValidationError(
            {"planned_end": [f"The program ends on {program.ends_on.isoformat()}."]}
        )


def _locked(enrolment: Enrolment) -> Enrolment:
    return (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("program", "patient")
        .get(pk=enrolment.pk)
    )


@transaction.atomic
def enrolment_status_set(*, enrolment: Enrolment, by: User, status: str, reason: str) -> Enrolment:
    """End an active enrolment: stepped down, completed, discharged or withdrawn."""
    enrolment = _locked(enrolment)
    if status not in TRANSITIONS.get(enrolment.status, set()):
        raise ValidationError(
            {
                "status": [
                    f"An enrolment that is {enrolment.get_status_display().lower()} cannot become {status}."
                ]
            }
        )
    today = local_today(enrolment.program)
    if status != Status.WITHDRAWN and today < enrolment.starts_on:
        raise ValidationError(
            {
                "status": [
                    f"The enrolment starts on {enrolment.starts_on.isoformat()}: it can only be withdrawn before then."
                ]
            }
        )
    old = enrolment.status
    enrolment.status = status
    enrolment.ended_on = today
    enrolment.save(update_fields=["status", "ended_on", "updated_at"])
    _log(enrolment, what=EnrolmentChange.What.STATUS, by=by, old=old, new=status, reason=reason)
    transaction.on_commit(
        lambda: enrolment_ended.send(
            sender=Enrolment, patient=enrolment.patient, enrolment=enrolment
        )
    )
    return enrolment


@transaction.atomic
def enrolment_planned_end_set(
    *, enrolment: Enrolment, by: User, planned_end: date, reason: str
) -> Enrolment:
    """Extend or shorten an active enrolment, the reason kept."""
    enrolment = _locked(enrolment)
    if enrolment.status != Status.ACTIVE:
        raise Conflict("Only an active enrolment is extended or shortened.")
    _check_planned_end(enrolment.program, enrolment.starts_on, planned_end)
    today = local_today(enrolment.program)
    if planned_end < today:
        raise ValidationError(
            {"planned_end": [f"That date has passed (today is {today.isoformat()})."]}
        )
    old = enrolment.planned_end
    enrolment.planned_end = planned_end
    enrolment.save(update_fields=["planned_end", "updated_at"])
    _log(
        enrolment,
        what=EnrolmentChange.What.PLANNED_END,
        by=by,
        old=old.isoformat(),
        new=planned_end.isoformat(),
        reason=reason,
    )
    return enrolment


@transaction.atomic
def enrolment_primary_therapist_set(
    *, enrolment: Enrolment, by: User, therapist_id: Any, reason: str
) -> Enrolment:
    """Hand an active enrolment to another active therapist of its program, the reason kept.

    The new primary therapist joins the care team, as at enrolment. The old one leaves it
    as a therapist who leaves the clinic does (care.services.link_end: the consents given
    to them end), unless something else keeps them on it (_keeps_care_link).
    """
    enrolment = _locked(enrolment)
    if enrolment.status != Status.ACTIVE:
        raise ValidationError(
            {
                "primary_therapist": [
                    f"This enrolment is {enrolment.get_status_display().lower()}: its primary "
                    "therapist no longer changes."
                ]
            }
        )
    therapist = User.objects.filter(
        pk=therapist_id, role=User.Role.THERAPIST, is_active=True
    ).first()
    if (
        therapist is None
        or not ProgramTherapist.objects.filter(
            program=enrolment.program, therapist=therapist
        ).exists()
    ):
        raise ValidationError(
            {"primary_therapist": ["Name an active therapist on this program's staff."]}
        )
    if therapist.pk == enrolment.primary_therapist_id:
        raise ValidationError(
            {"primary_therapist": ["This therapist is already the primary therapist."]}
        )
    old_id = enrolment.primary_therapist_id
    enrolment.primary_therapist = therapist
    enrolment.save(update_fields=["primary_therapist", "updated_at"])
    _log(
        enrolment,
        what=EnrolmentChange.What.THERAPIST,
        by=by,
        old=str(old_id),
        new=str(therapist.pk),
        reason=reason,
    )
    patient = enrolment.patient
    # An open link, not only one in force: a closed patient account keeps its links, and a
    # second open link of the pair is refused.
    if not CareLink.objects.filter(
        patient=patient, therapist=therapist, ended_at__isnull=True
    ).exists():
        care_services.link_create(
            patient=patient, therapist=therapist, source=CareLink.Source.PROGRAM
        )
    link = (
        CareLink.objects.select_for_update(of=("self",))
        .select_related("patient", "therapist")
        .filter(patient=patient, therapist_id=old_id, ended_at__isnull=True)
        .first()
    )
    if link is not None and not _keeps_care_link(link, enrolment):
        care_services.link_end(link=link, by=by)
    return enrolment


def _keeps_care_link(link: CareLink, enrolment: Enrolment) -> bool:
    """Whether the former primary therapist stays on the care team: their link was not the
    program's (the patient's invite, or clinic staff's by hand), or they still run a
    one-patient timetable line or session to come for the patient."""
    if link.source != CareLink.Source.PROGRAM:
        return True
    now = timezone.now()
    therapist, patient = link.therapist_id, link.patient_id
    line = Slot.objects.filter(patient_id=patient, therapist_id=therapist).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=local_today(enrolment.program, now))
    )
    session = Session.objects.filter(
        patient_id=patient,
        therapist_id=therapist,
        status=Session.Status.SCHEDULED,
        starts_at__gt=now,
    )
    return line.exists() or session.exists()


# --- attendance ---------------------------------------------------------------------------

MAX_RUN = 100


def attendance_tally(*, enrolment_ids: list[Any]) -> None:
    """Recount the enrolments' attended sessions and latest absences in a row from their
    marks (of sessions not cancelled); called by every write of attendance."""
    marks: dict[Any, list[str]] = {pk: [] for pk in enrolment_ids}
    for enrolment_id, status in (
        Attendance.objects.filter(
            enrolment_id__in=enrolment_ids, session__status=Session.Status.SCHEDULED
        )
        .order_by("-session__starts_at")
        .values_list("enrolment_id", "status")
    ):
        marks[enrolment_id].append(status)
    for enrolment_id, statuses in marks.items():
        run = 0
        for status in statuses:
            if status == Attendance.Status.EXCUSED:
                continue
            if status != Attendance.Status.ABSENT or run == MAX_RUN:
                break
            run += 1
        attended = sum(status in Attendance.ATTENDED for status in statuses)
        Enrolment.objects.filter(pk=enrolment_id).update(
            attended_count=attended, missed_in_a_row=run
        )


def expected_enrolment(session: Session, patient_id: Any) -> Enrolment | None:
    """The patient's enrolment that puts them in this session, if any."""
    if session.patient_id is not None and session.patient_id != patient_id:
        return None
    return (
        Enrolment.objects.filter(
            patient_id=patient_id, program_id=session.program_id, starts_on__lte=session.local_date
        )
        .filter(
            Q(status=Status.ACTIVE, planned_end__gte=session.local_date)
            | Q(ended_on__gte=session.local_date)
        )
        .order_by("-starts_on")
        .first()
    )


@transaction.atomic
def attendance_mark(
    *, session: Session, patient_id: Any, by: User, status: str, note: str = ""
) -> tuple[Attendance, bool]:
    """The therapist's mark for one patient at one session (replacing any earlier one)."""
    if session.status == Session.Status.CANCELLED:
        raise Conflict("This session was cancelled: there is no attendance to mark.")
    enrolment = expected_enrolment(session, patient_id)
    if enrolment is None:
        raise ValidationError({"patient": ["This patient is not expected at this session."]})
    now = timezone.now()
    if status != Attendance.Status.EXCUSED and now < session.starts_at - timedelta(
        minutes=session.program.checkin_opens_minutes
    ):
        raise ValidationError({"status": ["Before the session, only 'excused' can be marked."]})
    row, created = Attendance.objects.update_or_create(
        session=session,
        patient_id=patient_id,
        defaults={
            "enrolment": enrolment,
            "status": status,
            "note": note,
            "source": Attendance.Source.THERAPIST,
            "marked_by": by,
            "marked_at": now,
        },
    )
    attendance_tally(enrolment_ids=[enrolment.pk])
    return row, created


@transaction.atomic
def check_in(*, session: Session, patient: User) -> tuple[Attendance, bool]:
    """The patient checks in from the app, only within the window around the start.

    Idempotent: checking in again returns the attendance already recorded (whoever
    recorded it) and changes nothing. Returns (attendance, created).
    """
    existing = Attendance.objects.filter(session=session, patient=patient).first()
    if existing is not None:
        return existing, False
    if session.status == Session.Status.CANCELLED:
        raise Conflict("This session was cancelled.")
    enrolment = expected_enrolment(session, patient.pk)
    if enrolment is None:
        raise ValidationError({"session": ["You are not expected at this session."]})
    program = session.program
    now = timezone.now()
    opens = session.starts_at - timedelta(minutes=program.checkin_opens_minutes)
    closes = session.starts_at + timedelta(minutes=program.checkin_closes_minutes)
    if not opens <= now <= closes:
        raise ValidationError(
            {"session": [f"Check-in is open from {opens.isoformat()} to {closes.isoformat()}."]}
        )
    late = now > session.starts_at + timedelta(minutes=program.late_after_minutes)
    try:
        with transaction.atomic():
            row = Attendance.objects.create(
                session=session,
                patient=patient,
                enrolment=enrolment,
                status=Attendance.Status.LATE if late else Attendance.Status.PRESENT,
                source=Attendance.Source.CHECK_IN,
                marked_by=patient,
                checked_in_at=now,
                marked_at=now,
            )
    except IntegrityError:
        # A retry raced the first check-in: answer what it recorded.
        return Attendance.objects.get(session=session, patient=patient), False
    attendance_tally(enrolment_ids=[enrolment.pk])
    return row, True


# --- family sessions and the aftercare plan -----------------------------------------------


@transaction.atomic
def session_invite(*, session: Session, member: User, by: User) -> tuple[SessionInvite, bool]:
    """Invite a family member to a family session; idempotent. They must hold the patient's
    ``program`` consent in force (400 otherwise). Returns (invite, created)."""
    if session.kind != SessionKind.FAMILY or session.patient_id is None:
        raise ValidationError({"session": ["Only a family session takes family members."]})
    if session.therapist_id != by.pk:
        raise ValidationError({"session": ["Only the session's therapist invites to it."]})
    if session.status == Session.Status.CANCELLED:
        raise Conflict("This session was cancelled.")
    held = policy.scopes_held(member, [session.patient_id], scopes=[Scope.PROGRAM])
    if member.role != User.Role.FAMILY or not held:
        raise ValidationError(
            {
                "member": [
                    "Invite a family member the patient consented to share their program with."
                ]
            }
        )
    return SessionInvite.objects.get_or_create(
        session=session, member=member, defaults={"invited_by": by}
    )


# Each field of the plan and its value when the therapist leaves it out.
AFTERCARE_FIELDS: dict[str, Any] = {
    "level_of_care": LevelOfCare.OUTPATIENT,
    "follow_ups": [],
    "meetings": [],
    "weekly_checkin_weekday": None,
    "weekly_checkin_time": None,
    "sober_living": "",
    "relapse_plan_linked": False,
    "support_contacts": [],
}


@transaction.atomic
def aftercare_save(*, enrolment: Enrolment, by: User, data: dict[str, Any]) -> AftercarePlan:
    """Draft or change the plan (the whole of it) until the patient accepts it."""
    plan = AftercarePlan.objects.select_for_update().filter(enrolment=enrolment).first()
    if plan is not None and plan.accepted_at is not None:
        raise Conflict(
            f"The patient accepted this plan on {plan.accepted_at:%Y-%m-%d}; it no longer changes."
        )
    if (data.get("weekly_checkin_weekday") is None) != (data.get("weekly_checkin_time") is None):
        raise ValidationError(
            {"weekly_checkin_time": ["Give both the weekday and the time of the weekly check-in."]}
        )
    if plan is None:
        plan = AftercarePlan(enrolment=enrolment, patient_id=enrolment.patient_id, drafted_by=by)
    for name, default in AFTERCARE_FIELDS.items():
        setattr(plan, name, data.get(name, default))
    plan.drafted_by = by
    plan.save()
    return plan


@transaction.atomic
def aftercare_accept(*, plan: AftercarePlan) -> AftercarePlan:
    """The patient accepts the plan; accepting again changes nothing."""
    plan = AftercarePlan.objects.select_for_update().get(pk=plan.pk)
    if plan.accepted_at is None:
        plan.accepted_at = timezone.now()
        plan.save(update_fields=["accepted_at", "updated_at"])
    return plan
