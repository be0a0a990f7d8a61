"""Reads of measures, always through backend.consent.policy with the viewer."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from rest_framework.exceptions import NotFound

from backend.accounts.models import User
from backend.consent import policy
from backend.core.time import local_today
from backend.measures import scoring
from backend.measures.access import RESPONSE, SCHEDULE
from backend.measures.models import Instrument, MeasureDraft, MeasureResponse, MeasureSchedule


def instruments() -> QuerySet[Instrument]:
    return Instrument.objects.filter(active=True)


def window_of(schedule: MeasureSchedule, day: date) -> date | None:
    """The first day of the cadence window holding ``day``; None before the baseline or
    after the schedule stopped."""
    if day < schedule.starts_on:
        return None
    start = schedule.starts_on + timedelta(
        days=(day - schedule.starts_on).days // schedule.every_days * schedule.every_days
    )
    if schedule.stopped_at is not None:
        stopped_on = local_today(schedule.patient, schedule.stopped_at)
        if start > stopped_on:
            return None
    return start


def schedules_for(viewer: User, *, now: datetime | None = None) -> QuerySet[MeasureSchedule]:
    """Schedules the viewer may see, with their instrument, patient and asker."""
    return policy.readable(viewer, SCHEDULE, now=now).select_related(
        "instrument", "patient", "assigned_by"
    )


def schedule_get(viewer: User, schedule_id: UUID) -> MeasureSchedule:
    return policy.get_or_404(viewer, SCHEDULE, schedules_for(viewer), pk=schedule_id)


# Parsed definitions by (instrument id, updated_at): a BAM's items are some 10 kB of JSON,
# whose parsing was the answer path's largest single cost. A saved instrument has a new
# updated_at, so an entry is never stale; there are a handful of instruments.
_DEFINITIONS: dict[tuple[UUID, datetime], tuple[list, dict]] = {}


def definition_of(instrument: Instrument) -> tuple[list, dict]:
    """The instrument's (items, scoring), parsed once per saved version in this process.

    Shared between requests: read them, never change them.
    """
    key = (instrument.pk, instrument.updated_at)
    found = _DEFINITIONS.get(key)
    if found is None:
        items, scoring = Instrument.objects.values_list("items", "scoring").get(pk=instrument.pk)
        found = _DEFINITIONS[key] = (items, scoring)
    return found


# What answering reads: the schedule's window rule, the instrument's definition, and the
# asker as an answer shows them (PersonSerializer).
ANSWERING = (
    "patient_id",
    "every_days",
    "starts_on",
    "stopped_at",
    "instrument__slug",
    "instrument__name",
    "instrument__updated_at",
    "assigned_by__display_name",
    "assigned_by__role",
)


def schedule_to_answer(viewer: User, schedule_id: UUID) -> MeasureSchedule:
    """One schedule the viewer may see, with what answering it needs and no more: the
    instrument (to check and score the answers) and the asker (shown with the answer).

    The answer path's read (a patient's own schedule): one lean query, unordered, with the
    viewer standing in for the patient it would join again.
    """
    # A slice, not first(): no ORDER BY to build for the one row a primary key names.
    found = list(
        policy.readable(viewer, SCHEDULE)
        .select_related("instrument", "assigned_by")
        .only(*ANSWERING)
        # Whether a draft waits to be cleared: most answers have none, and skip the delete.
        .annotate(drafted=Exists(MeasureDraft.objects.filter(schedule=OuterRef("pk"))))
        .order_by()
        .filter(pk=schedule_id)[:1]
    )
    if not found:
        raise NotFound()
    [schedule] = found
    schedule.instrument.items, schedule.instrument.scoring = definition_of(schedule.instrument)
    if schedule.patient_id == viewer.pk:
        schedule.patient = viewer
    return schedule


def responses_for(viewer: User, *, now: datetime | None = None) -> QuerySet[MeasureResponse]:
    """Answers the viewer may see, with their instrument and people (one query per page)."""
    return policy.readable(viewer, RESPONSE, now=now).select_related(
        "instrument", "patient", "assigned_by"
    )


def draft_for(schedule: MeasureSchedule, *, now: datetime | None = None) -> MeasureDraft | None:
    """The saved unfinished answers for the schedule's current window, if any."""
    start = window_of(schedule, local_today(schedule.patient, now or timezone.now()))
    if start is None:
        return None
    return MeasureDraft.objects.filter(schedule=schedule, window_start=start).first()


@dataclass(frozen=True)
class Due:
    """A questionnaire waiting for the patient's answer in its current window."""

    schedule: MeasureSchedule
    window_start: date
    window_end: date  # the last day of the window
    baseline: bool
    draft: dict | None


def due_for(patient: User, *, now: datetime | None = None) -> list[Due]:
    """The patient's questionnaires whose current window has no answer yet (three queries)."""
    now = now or timezone.now()
    today = local_today(patient, now)
    schedules = list(
        MeasureSchedule.objects.filter(patient=patient, stopped_at__isnull=True)
        .select_related("instrument", "patient")
        .order_by("instrument__name")
    )
    windows = {s.pk: window_of(s, today) for s in schedules}
    wanted = Q(pk__in=[])
    for schedule_id, start in windows.items():
        if start is not None:
            wanted |= Q(schedule_id=schedule_id, window_start=start)
    answered = set(
        MeasureResponse.objects.filter(wanted).values_list("schedule_id", "window_start")
    )
    drafts = {
        (d.schedule_id, d.window_start): d.answers
        for d in MeasureDraft.objects.filter(wanted, patient=patient)
    }
    due = []
    for schedule in schedules:
        start = windows[schedule.pk]
        if start is None or (schedule.pk, start) in answered:
            continue
        due.append(
            Due(
                schedule=schedule,
                window_start=start,
                window_end=start + timedelta(days=schedule.every_days - 1),
                baseline=start == schedule.starts_on,
                draft=drafts.get((schedule.pk, start)),
            )
        )
    return due


@dataclass(frozen=True)
class Result:
    """One instrument's trend for one patient: what a clinician reads first."""

    instrument: Instrument
    responses: list[MeasureResponse]  # oldest first
    flags: list[scoring.Flag]

    @property
    def latest(self) -> MeasureResponse:
        return self.responses[-1]

    @property
    def baseline(self) -> MeasureResponse:
        return self.responses[0]

    def change(self) -> dict[str, int]:
        """Each score's change since the baseline."""
        return {
            code: value - self.baseline.scores.get(code, value)
            for code, value in self.latest.scores.items()
        }


def results_from(responses: list[MeasureResponse]) -> list[Result]:
    """Trends and flags per (patient, instrument) from answers read through the gate."""
    grouped: dict[tuple[UUID, UUID], list[MeasureResponse]] = {}
    for response in sorted(responses, key=lambda r: (r.answered_at, r.pk)):
        grouped.setdefault((response.patient_id, response.instrument_id), []).append(response)
    results = [
        Result(
            instrument=rows[0].instrument,
            responses=rows,
            flags=scoring.flags(rows[0].instrument.scoring, [r.scores for r in rows]),
        )
        for rows in grouped.values()
    ]
    return sorted(results, key=lambda r: r.instrument.name)
