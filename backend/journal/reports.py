"""Summaries of one patient's journal: insights over a range of days, and the full export.

These functions answer for the patient they are given and check nobody's access:
the caller decides who may see them (today the patient; later a therapist
through consent, who is shown the same insights).

Insights are computed by the database (COUNT, AVG, MAX grouped by the local date
and hour in the patient's time zone) in a fixed number of queries, however many
entries there are; only the grouped rows (at most 366 days and 7 x 24 hours)
reach Python.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connections
from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    DateField,
    Expression,
    F,
    Func,
    IntegerField,
    Max,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, ExtractHour, ExtractIsoWeekDay, TruncDate
from django.utils import timezone

from backend.accounts.models import User
from backend.core.time import local_today, offset_periods
from backend.journal import selectors
from backend.journal.models import (
    CounterDecision,
    EntryTrigger,
    JournalEntry,
    Outcome,
    SobrietyCounter,
    Trigger,
)

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
TOP_TRIGGERS = 10
HALT = tuple(name for name, _ in JournalEntry.HALT_FIELDS)


def local_day_bounds(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants from the first moment of ``start`` up to (not including) the day after ``end``.

    A local day is 23 or 25 hours long across a daylight-saving change, so the
    bounds come from the zone's rules, never from a fixed offset. Where a zone
    skips midnight, fold=0 puts it at the moment of the change, the day's first.
    """
    lower = datetime.combine(start, time.min, tzinfo=tz)
    upper = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    return lower, upper


@dataclass(frozen=True)
class LocalClock:
    """Expressions for ``occurred_at`` on the patient's clock: local date, ISO weekday, hour."""

    date: Expression
    iso_weekday: Expression
    hour: Expression


def local_clock(vendor: str, tz: ZoneInfo, lower: datetime, upper: datetime) -> LocalClock:
    """``occurred_at`` seen in ``tz``, for entries between ``lower`` and ``upper``.

    Django's time-zone-aware TruncDate and Extract run natively on PostgreSQL
    (AT TIME ZONE). On SQLite they call back into Python for every row: for
    10,000 entries that took about 220 of the request's 280 ms. There the zone's
    offsets over the range (from its rules, daylight saving included) shift the
    stored UTC time with SQLite's own date functions instead (about 45 ms). The
    results are the same; the tests compare both with Python's zoneinfo.
    """
    if vendor != "sqlite":
        return LocalClock(
            date=TruncDate("occurred_at", tzinfo=tz),
            iso_weekday=ExtractIsoWeekDay("occurred_at", tzinfo=tz),
            hour=ExtractHour("occurred_at", tzinfo=tz),
        )
    periods = offset_periods(tz, lower, upper)
    shift = Case(
        *[
            When(occurred_at__lt=next_start, then=Value(f"{seconds:+d} seconds"))
            for (_, seconds), (next_start, _) in pairwise(periods)
        ],
        default=Value(f"{periods[-1][1]:+d} seconds"),
        output_field=CharField(),
    )

    def strftime(pattern: str) -> Expression:
        text = Func(Value(pattern), F("occurred_at"), shift, function="strftime")
        return Cast(text, IntegerField())

    return LocalClock(
        date=Func(F("occurred_at"), shift, function="date", output_field=DateField()),
        # %w counts from Sunday = 0; ISO counts from Monday = 1.
        iso_weekday=(strftime("%w") + 6) % 7 + 1,
        hour=strftime("%H"),
    )


def _rounded(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value, places)


def _share(count: int, total: int) -> dict[str, Any]:
    return {"count": count, "share": round(count / total, 4) if total else None}


def insights_for(
    patient: User,
    start: date,
    end: date,
    *,
    entries: QuerySet[JournalEntry],
    counters: QuerySet[SobrietyCounter] | None,
    trigger_labels: bool,
) -> dict[str, Any]:
    """Craving patterns from ``start`` to ``end`` (inclusive local dates in the patient's zone).

    Computed only from what it is handed, already scoped to the viewer by the access
    policy: ``entries`` (readable for figures), ``counters`` (None: the section is left
    out, not computed) and ``trigger_labels`` (False counts triggers per category
    instead: labels are the patient's own words).

    Five queries, whatever the number of entries. Means are rounded to 2 places and
    shares (of the range's entries) to 4; both are null when there is nothing to divide.
    """
    tz = ZoneInfo(patient.time_zone)
    lower, upper = local_day_bounds(start, end, tz)
    entries = entries.filter(patient=patient, occurred_at__gte=lower, occurred_at__lt=upper)
    clock = local_clock(connections[entries.db].vendor, tz, lower, upper)

    coping = Q(coping_used=True, intensity_after__isnull=False)
    totals = entries.aggregate(
        entries=Count("pk"),
        mean_intensity=Avg("intensity"),
        peak_intensity=Max("intensity"),
        coping_n=Count("pk", filter=coping),
        coping_drop=Avg(F("intensity") - F("intensity_after"), filter=coping),
        **{f"halt_{name}": Count("pk", filter=Q(**{field: True})) for name, field in JournalEntry.HALT_FIELDS},
        **{f"outcome_{value}": Count("pk", filter=Q(outcome=value)) for value in Outcome.values},
    )  # fmt: skip
    total = totals["entries"]

    days = _daily(entries, clock.date, start, end)
    heatmap = _heatmap(entries, clock)
    top_triggers = _top_triggers(entries, labels=trigger_labels)

    today = local_today(patient)
    insights: dict[str, Any] = {
        "time_zone": patient.time_zone,
        "range": {"from": start, "to": end, "days": len(days)},
        "totals": {
            "entries": total,
            "mean_intensity": _rounded(totals["mean_intensity"]),
            "peak_intensity": totals["peak_intensity"],
        },
        "days": days,
        "top_triggers": top_triggers,
        "halt": {name: _share(totals[f"halt_{name}"], total) for name in HALT},
        "outcomes": {value: _share(totals[f"outcome_{value}"], total) for value in Outcome.values},
        "heatmap": heatmap,
        "coping": {
            "entries": totals["coping_n"],
            "mean_intensity_drop": _rounded(totals["coping_drop"]),
        },
        "today": today,
    }
    if counters is not None:
        insights["counters"] = [
            {
                "id": counter.pk,
                "substance": counter.substance,
                "start_date": counter.start_date,
                "days_sober": selectors.counter_days_sober(counter, today=today),
            }
            for counter in counters.filter(patient=patient).order_by("substance")
        ]
    return insights


def _daily(entries: QuerySet[JournalEntry], day: Any, start: date, end: date) -> list[dict]:
    """Every local date from ``start`` to ``end``, with its count, mean, peak and lapses
    (entries that ended lapsed or used); one query."""
    by_day = {
        row["day"]: row
        for row in entries.annotate(day=day)
        .values("day")
        .annotate(
            count=Count("pk"),
            mean=Avg("intensity"),
            peak=Max("intensity"),
            lapses=Count("pk", filter=Q(outcome__in=(Outcome.LAPSED, Outcome.USED))),
        )
        .order_by("day")
    }
    days = []
    for offset in range((end - start).days + 1):
        date_ = start + timedelta(days=offset)
        row = by_day.get(date_)
        days.append(
            {
                "date": date_,
                "count": row["count"] if row else 0,
                "mean_intensity": _rounded(row["mean"]) if row else None,
                "peak_intensity": row["peak"] if row else None,
                "lapses": row["lapses"] if row else 0,
            }
        )
    return days


def _heatmap(entries: QuerySet[JournalEntry], clock: LocalClock) -> list[list[int]]:
    """Rows are ISO weekdays (Monday first), columns the hour on the patient's clock."""
    heatmap = [[0] * 24 for _ in range(7)]
    cells = (
        entries.annotate(weekday=clock.iso_weekday, hour=clock.hour)
        .values("weekday", "hour")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for cell in cells:
        heatmap[cell["weekday"] - 1][cell["hour"]] = cell["count"]
    return heatmap


def _top_triggers(entries: QuerySet[JournalEntry], *, labels: bool) -> list[dict]:
    """The most frequent triggers; per category only when labels (the patient's words) are
    not the viewer's to see."""
    links = EntryTrigger.objects.filter(entry__in=entries.values("pk"))
    if labels:
        rows = (
            links.values("trigger_id", "trigger__category", "trigger__label")
            .annotate(count=Count("pk"))
            .order_by("-count", "trigger__category", "trigger__label")
        )
    else:
        rows = (
            links.values("trigger__category")
            .annotate(count=Count("entry_id", distinct=True))
            .order_by("-count", "trigger__category")
        )
    return [
        {
            "category": row["trigger__category"],
            "label": row.get("trigger__label"),
            "count": row["count"],
        }
        for row in rows[:TOP_TRIGGERS]
    ]


# --- export -------------------------------------------------------------------------


def _counters_with_decisions(patient: User) -> QuerySet[SobrietyCounter]:
    return (
        SobrietyCounter.objects.filter(patient=patient)
        .order_by("substance")
        .prefetch_related(
            Prefetch(
                "decisions",
                queryset=selectors.with_entry_ids(
                    CounterDecision.objects.order_by("created_at", "id")
                ),
                to_attr="all_decisions",
            )
        )
    )


def _trigger_vocabulary(patient: User) -> QuerySet[Trigger]:
    # Every trigger the patient's vocabulary holds, also those whose entries were
    # deleted since: the label is still stored, so it belongs in their copy.
    return selectors.triggers_with_use(patient).order_by("category", "label")


def export_for(patient: User) -> dict[str, Any]:
    """All of the patient's live journal records, for their own download (six queries)."""
    today = local_today(patient)
    return {
        "exported_at": timezone.now(),
        "time_zone": patient.time_zone,
        "entries": list(selectors.entries_of(patient).order_by("occurred_at", "id")),
        "checkins": list(selectors.checkins_of(patient).order_by("local_date")),
        "counters": [
            {"counter": counter, "days_sober": selectors.counter_days_sober(counter, today=today)}
            for counter in _counters_with_decisions(patient)
        ],
        "triggers": list(_trigger_vocabulary(patient)),
    }


@dataclass(frozen=True)
class Table:
    """One kind of record as rows, for a CSV download."""

    header: list[str]
    rows: Iterator[list[Any]]


ENTRY_COLUMNS = [
    "id", "occurred_at", "intensity", "intensity_after", "duration_minutes", "substance",
    "outcome", "triggers", "halt_hungry", "halt_angry", "halt_lonely", "halt_tired", "mood",
    "emotions", "place_label", "situation", "thoughts", "coping_skills", "coping_used",
    "version", "created_at", "updated_at",
]  # fmt: skip
CHECKIN_COLUMNS = [
    "id", "local_date", "mood", "sleep_hours", "peak_craving", "used_today", "medication",
    "note", "version", "created_at", "updated_at",
]  # fmt: skip
COUNTER_COLUMNS = ["id", "substance", "start_date", "days_sober", "created_at", "updated_at"]
DECISION_COLUMNS = [
    "id", "counter_id", "substance", "decision", "entry_id", "previous_start_date",
    "new_start_date", "created_at", "decided_at",
]  # fmt: skip
EXPORT_KINDS = ("entries", "checkins", "counters", "decisions")


def _entry_rows(patient: User) -> Iterator[list[Any]]:
    for entry in selectors.entries_of(patient).order_by("occurred_at", "id"):
        triggers = [f"{t['category']}: {t['label']}" for t in entry.trigger_list]
        yield [
            entry.client_id, entry.occurred_at_local, entry.intensity, entry.intensity_after,
            entry.duration_minutes, entry.substance, entry.outcome, triggers, entry.halt_hungry,
            entry.halt_angry, entry.halt_lonely, entry.halt_tired, entry.mood, entry.emotions,
            entry.place_label, entry.situation, entry.thoughts, entry.coping_skills,
            entry.coping_used, entry.version, entry.created_at, entry.updated_at,
        ]  # fmt: skip


def _checkin_rows(patient: User) -> Iterator[list[Any]]:
    for checkin in selectors.checkins_of(patient).order_by("local_date"):
        # The id column is the one the patient's phone chose.
        yield [checkin.client_id, *(getattr(checkin, column) for column in CHECKIN_COLUMNS[1:])]


def _counter_rows(patient: User) -> Iterator[list[Any]]:
    today = local_today(patient)
    for counter in SobrietyCounter.objects.filter(patient=patient).order_by("substance"):
        yield [
            counter.pk, counter.substance, counter.start_date,
            selectors.counter_days_sober(counter, today=today), counter.created_at, counter.updated_at,
        ]  # fmt: skip


def _decision_rows(patient: User) -> Iterator[list[Any]]:
    decisions = (
        selectors.with_entry_ids(CounterDecision.objects.filter(counter__patient=patient))
        .select_related("counter")
        .order_by("counter__substance", "created_at", "id")
    )
    for decision in decisions:
        yield [
            decision.pk, decision.counter_id, decision.counter.substance, decision.decision,
            decision.entry_client_id, decision.previous_start_date, decision.new_start_date,
            decision.created_at, decision.decided_at,
        ]  # fmt: skip


def export_table(patient: User, kind: str) -> Table:
    """One kind of the patient's records (see EXPORT_KINDS) as a table; one or two queries."""
    if kind == "entries":
        return Table(ENTRY_COLUMNS, _entry_rows(patient))
    if kind == "checkins":
        return Table(CHECKIN_COLUMNS, _checkin_rows(patient))
    if kind == "counters":
        return Table(COUNTER_COLUMNS, _counter_rows(patient))
    if kind == "decisions":
        return Table(DECISION_COLUMNS, _decision_rows(patient))
    raise ValueError(f"Unknown export kind: {kind}")
