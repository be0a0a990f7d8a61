"""Writes of measures: scheduling (therapists), drafts and answers (patients).

Who may act is checked by the views through the access gate; these services hold
the rules of the schedule: an answer belongs to the cadence window its moment falls
in on the patient's clock, once per window, complete and within its options.
"""

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from backend.accounts.models import User
from backend.core.errors import Conflict
from backend.core.time import check_day_ahead, local_today
from backend.measures import scoring
from backend.measures.models import Instrument, MeasureDraft, MeasureResponse, MeasureSchedule
from backend.measures.selectors import window_of
from backend.measures.signals import crisis_answered, measure_scheduled

MAX_START_AHEAD = timedelta(days=366)
# A phone's clock may run a little fast; an answer from further ahead is refused.
CLOCK_SKEW = timedelta(minutes=5)
# The standard set (DESIGN.md): depression and anxiety every two weeks, the addiction
# monitor weekly, alcohol craving weekly where alcohol is one of the patient's substances.
STANDARD_SET = ("phq-9", "gad-7", "bam")
ALCOHOL_SET = ("pacs",)


def _check_start(patient: User, starts_on: date) -> None:
    check_day_ahead(
        patient,
        starts_on,
        field="starts_on",
        within=MAX_START_AHEAD,
        too_far="Choose a start within a year.",
    )


def _announce(patient: User) -> None:
    # In this transaction: the reminder rule is kept with the schedule, or neither is.
    measure_scheduled.send(sender=MeasureSchedule, patient=patient)


@transaction.atomic
def schedule_create(
    *,
    therapist: User,
    patient: User,
    instrument: Instrument,
    every_days: int | None = None,
    starts_on: date | None = None,
) -> MeasureSchedule:
    """Ask the patient to answer ``instrument`` every ``every_days`` days from ``starts_on``
    (the baseline; default today on their clock). One running schedule per instrument."""
    starts_on = starts_on or local_today(patient)
    _check_start(patient, starts_on)
    if MeasureSchedule.objects.filter(
        patient=patient, instrument=instrument, stopped_at__isnull=True
    ).exists():
        raise Conflict(
            f"{instrument.name} is already scheduled for this patient: change its cadence "
            "instead, or stop it first."
        )
    try:
        with transaction.atomic():
            schedule = MeasureSchedule.objects.create(
                patient=patient,
                instrument=instrument,
                assigned_by=therapist,
                every_days=every_days or instrument.default_every_days,
                starts_on=starts_on,
            )
    except IntegrityError as error:  # scheduled by someone else at the same moment
        raise Conflict(f"{instrument.name} is already scheduled for this patient.") from error
    _announce(patient)
    return schedule


@transaction.atomic
def standard_set_schedule(
    *, therapist: User, patient: User, alcohol: bool, starts_on: date | None = None
) -> list[MeasureSchedule]:
    """Schedule the standard instruments not yet running (PACS only with ``alcohol``),
    each at its default cadence; returns the new schedules."""
    slugs = STANDARD_SET + (ALCOHOL_SET if alcohol else ())
    running = set(
        MeasureSchedule.objects.filter(patient=patient, stopped_at__isnull=True).values_list(
            "instrument__slug", flat=True
        )
    )
    wanted = Instrument.objects.filter(slug__in=[s for s in slugs if s not in running])
    return [
        schedule_create(therapist=therapist, patient=patient, instrument=i, starts_on=starts_on)
        for i in sorted(wanted, key=lambda i: slugs.index(i.slug))
    ]


@transaction.atomic
def schedule_change(
    *, schedule: MeasureSchedule, every_days: int | None = None, stop: bool = False
) -> MeasureSchedule:
    """Change the cadence of a running schedule, or stop it (its answers stay)."""
    schedule = MeasureSchedule.objects.select_for_update().get(pk=schedule.pk)
    if schedule.stopped_at is not None:
        raise Conflict(f"This schedule was stopped on {schedule.stopped_at:%Y-%m-%d}.")
    if every_days is not None:
        schedule.every_days = every_days
    if stop:
        schedule.stopped_at = timezone.now()
    schedule.save(update_fields=["every_days", "stopped_at", "updated_at"])
    _announce(schedule.patient)
    return schedule


def _current_window(schedule: MeasureSchedule, *, now: datetime) -> date:
    start = window_of(schedule, local_today(schedule.patient, now))
    if start is None:
        raise Conflict("This questionnaire is not due: its schedule has not started, or stopped.")
    return start


@transaction.atomic
def draft_save(*, schedule: MeasureSchedule, answers: Any) -> MeasureDraft:
    """Keep the patient's unfinished answers for the current window (each within its options)."""
    window = _current_window(schedule, now=timezone.now())
    if MeasureResponse.objects.filter(schedule=schedule, window_start=window).exists():
        raise Conflict("You already answered this questionnaire for this period.")
    cleaned = scoring.clean_answers(schedule.instrument.items, answers, final=False)
    draft, _ = MeasureDraft.objects.update_or_create(
        schedule=schedule,
        window_start=window,
        defaults={"answers": cleaned, "patient_id": schedule.patient_id},
    )
    return draft


def _replayed(response_id: UUID, schedule: MeasureSchedule, answers: Any) -> MeasureResponse:
    """The answer this id already made (a retried upload), or a 409 if the id means another."""
    existing = MeasureResponse.objects.select_related("instrument").get(pk=response_id)
    if existing.schedule_id != schedule.pk or existing.answers != scoring.clean_answers(
        schedule.instrument.items, answers, final=False
    ):
        raise Conflict("This id belongs to another answer: make a new id for a new answer.")
    return existing


def response_submit(
    *, schedule: MeasureSchedule, response_id: UUID, answered_at: datetime, answers: Any
) -> tuple[MeasureResponse, bool]:
    """Score and keep a complete answer; (response, created). A retried upload of the same
    answer returns the first one, whatever changed since; a new answer must fall in a window
    that is open (or was, offline) and unanswered.

    An answer usually is new: it is written at once (one insert in _response_keep's
    transaction), and a taken id or window is learnt from the insert's unique constraints.
    Only a refused answer looks for a kept one with its id, after the refusal rolled back.
    """
    try:
        return _response_keep(
            schedule=schedule, response_id=response_id, answered_at=answered_at, answers=answers
        ), True
    except (ValidationError, Conflict):
        if MeasureResponse.objects.filter(pk=response_id).exists():
            return _replayed(response_id, schedule, answers), False
        raise


@transaction.atomic
def _response_keep(
    *, schedule: MeasureSchedule, response_id: UUID, answered_at: datetime, answers: Any
) -> MeasureResponse:
    if answered_at > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"answered_at": ["This moment is in the future."]})
    window = window_of(schedule, local_today(schedule.patient, answered_at))
    if window is None:
        raise ValidationError(
            {"answered_at": ["The questionnaire was not due at this moment on your clock."]}
        )
    instrument = schedule.instrument
    cleaned = scoring.clean_answers(instrument.items, answers, final=True)
    scored = scoring.score(instrument.items, instrument.scoring, cleaned)
    # No savepoint of its own: a clash (this id kept, or this window answered, maybe at the
    # same moment elsewhere) ends this whole transaction with the 409; nothing runs after it.
    try:
        # The schedule's people, already read with it: the answer's serializer needs no
        # query for them.
        response = MeasureResponse.objects.create(
            id=response_id,
            patient=schedule.patient,
            schedule=schedule,
            instrument=instrument,
            assigned_by=schedule.assigned_by,
            window_start=window,
            answered_at=answered_at,
            answers=cleaned,
            scores=scored.scores,
            total=scored.total,
            band=scored.band,
            crisis=scored.crisis,
        )
    except IntegrityError as error:
        raise Conflict("You already answered this questionnaire for this period.") from error
    if getattr(schedule, "drafted", True):
        MeasureDraft.objects.filter(schedule=schedule, window_start=window).delete()
    if scored.crisis:
        # In this transaction: the alert is kept with the answer, or neither is.
        crisis_answered.send(sender=MeasureResponse, response=response)
    return response
