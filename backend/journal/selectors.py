"""Reads of the journal by its owner. Every read goes through backend.consent.policy,
which for a patient's own endpoints yields their own records only."""

from datetime import date
from typing import NamedTuple
from uuid import UUID

from django.db.models import Count, F, Max, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from rest_framework.exceptions import ValidationError

from backend.accounts.models import User
from backend.consent import policy
from backend.core.time import date_runs, local_today
from backend.journal.access import CHECKIN, COUNTER, ENTRY
from backend.journal.models import (
    CheckIn,
    CounterDecision,
    EntryTrigger,
    JournalEntry,
    SobrietyCounter,
    SyncState,
    Trigger,
)


def with_triggers(queryset: QuerySet[JournalEntry]) -> QuerySet[JournalEntry]:
    """Entries with their triggers in one extra query (``entry.trigger_list``)."""
    return queryset.prefetch_related(
        Prefetch(
            "entry_triggers",
            queryset=EntryTrigger.objects.select_related("trigger").order_by("position"),
            to_attr="prefetched_triggers",
        )
    )


def entries_of(patient: User) -> QuerySet[JournalEntry]:
    """The patient's live entries (tombstones are only in the changes feed)."""
    return with_triggers(policy.readable(patient, ENTRY))


def entry_get_for_owner(*, patient: User, entry_id: UUID) -> JournalEntry:
    """The patient's entry by the id their phone chose (unique per patient, not overall)."""
    return get_object_or_404(entries_of(patient), client_id=entry_id)


def triggers_with_use(patient: User) -> QuerySet[Trigger]:
    """Every trigger the patient ever named, with ``uses`` and ``last_used_at`` by live entries."""
    live = Q(entries__deleted_at__isnull=True)
    return Trigger.objects.filter(patient=patient).annotate(
        uses=Count("entries", filter=live),
        last_used_at=Max("entries__occurred_at", filter=live),
    )


def trigger_vocabulary(patient: User) -> QuerySet[Trigger]:
    """The patient's triggers, most used first, to offer back when logging."""
    # `uses` is annotated by triggers_with_use: the plugin loses annotations across a
    # function returning QuerySet[Trigger].
    return triggers_with_use(patient).filter(uses__gt=0)  # type: ignore[misc]


def checkins_of(patient: User) -> QuerySet[CheckIn]:
    return policy.readable(patient, CHECKIN)


def checkin_get_for_owner(*, patient: User, checkin_id: UUID) -> CheckIn:
    """The patient's check-in by the id their phone chose (unique per patient, not overall)."""
    return get_object_or_404(checkins_of(patient), client_id=checkin_id)


def checkin_streak(patient: User) -> dict:
    """Current and longest runs of consecutive check-in days, in the patient's time zone.

    One query for the dates (a few hundred at most for an 8-12 week program, a
    few thousand over years), then a single pass.
    """
    today = local_today(patient)
    dates = list(checkins_of(patient).order_by("local_date").values_list("local_date", flat=True))
    run, longest, last = date_runs(dates)
    # Today is still open: a run that reached yesterday is still current.
    current = run if last is not None and (today - last).days <= 1 else 0
    return {
        "current": current,
        "longest": longest,
        "last_check_in": last,
        "today": today,
        "checked_in_today": last == today,
    }


def with_entry_ids(decisions: QuerySet[CounterDecision]) -> QuerySet[CounterDecision]:
    """Decisions with ``entry_client_id``: their entry as the patient's phone names it."""
    return decisions.annotate(entry_client_id=F("entry__client_id"))


def counters_of(patient: User) -> QuerySet[SobrietyCounter]:
    pending = with_entry_ids(
        CounterDecision.objects.filter(decision=CounterDecision.Decision.PENDING).order_by(
            "created_at"
        )
    )
    return policy.readable(patient, COUNTER).prefetch_related(
        Prefetch("decisions", queryset=pending, to_attr="pending")
    )


def counter_days_sober(counter: SobrietyCounter, *, today: date) -> int:
    """Whole days since the counter's first sober day; ``today`` is the patient's local date."""
    return max(0, (today - counter.start_date).days)


def counter_get_for_owner(*, patient: User, counter_id: UUID) -> SobrietyCounter:
    return get_object_or_404(counters_of(patient), pk=counter_id)


def counter_decisions(counter: SobrietyCounter) -> QuerySet[CounterDecision]:
    return with_entry_ids(counter.decisions.exclude(decision=CounterDecision.Decision.PENDING))


class Change(NamedTuple):
    """One record in the changes feed: ``kind`` "entry" or "checkin"."""

    kind: str
    record: JournalEntry | CheckIn

    @property
    def deleted(self) -> bool:
        return self.record.deleted_at is not None


def changes_since(*, patient: User, cursor: int, limit: int) -> tuple[list[Change], int, bool]:
    """Entries and check-ins written after ``cursor``, in sequence order, tombstones included.

    Reads the committed end of the sequence (the horizon) first and stops there:
    writes commit in sequence order (see SyncState), so everything up to the
    horizon is already visible and nothing at or below it can appear later.
    Returns (page, next cursor, has more). A constant number of queries.
    """
    horizon = (
        SyncState.objects.filter(patient=patient).values_list("last_seq", flat=True).first() or 0
    )
    if cursor > horizon:
        raise ValidationError(
            {"cursor": ["This cursor is ahead of the server: sync again from cursor=0."]}
        )
    window = {"patient": patient, "seq__gt": cursor, "seq__lte": horizon}
    entries = list(
        with_triggers(JournalEntry.objects.filter(**window)).order_by("seq")[: limit + 1]
    )
    checkins = list(CheckIn.objects.filter(**window).order_by("seq")[: limit + 1])
    merged = sorted(
        [Change("entry", e) for e in entries] + [Change("checkin", c) for c in checkins],
        key=lambda change: change.record.seq,
    )
    if len(merged) > limit:
        page = merged[:limit]
        return page, page[-1].record.seq, True
    # All of it up to the horizon is in this page; numbers with no record left are skipped.
    return merged, horizon, False
