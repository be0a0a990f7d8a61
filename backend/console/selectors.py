"""What the therapist's pages read, composed from the selectors the API uses.

Nothing here reads a record the policy did not hand over: summaries come from
backend.sharing.summaries, the feed from backend.sharing.selectors, homework from
backend.homework.selectors, each already restricted to the viewer. This module only
orders a caseload by who needs attention first and shapes figures for the page.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any
from uuid import UUID

from django.db.models import Count, Q, QuerySet

from backend.accounts.models import User
from backend.care import selectors as care
from backend.consent import policy
from backend.homework import selectors as homework
from backend.journal.access import FEED_ITEM, FEED_SCOPES
from backend.journal.models import FeedItem
from backend.sharing import selectors as sharing
from backend.sharing import summaries
from backend.sharing.models import FeedReview

# Why a patient comes first, most urgent first: (key, label, weight, badge style).
ATTENTION = (
    ("crisis_alerts", "Crisis alert", 100, "danger"),
    ("lapse_last_7_days", "Lapse in the last 7 days", 50, "danger"),
    ("rising_craving_trend", "Cravings rising", 30, "warn"),
    ("measure_flags", "Questionnaire flag", 25, "warn"),
    ("missed_two_sessions_in_a_row", "Missed two sessions", 20, "warn"),
    ("no_checkin_3_days", "No check-in for 3 days", 15, "warn"),
    ("overdue_homework", "Homework overdue", 10, "info"),
)

SPARK_WIDTH, SPARK_HEIGHT, SPARK_MAX = 120, 28, 10
UNREAD_DAYS = 14  # the sparkline's fortnight
# What the caseload shows or orders by: the streak, the sparkline and the flags' sections.
# Counters and meeting attendance are on the patient's page, not read here.
CASELOAD_SECTIONS = ("checkins", "craving_trend", "measures", "program")


@dataclass
class Sparkline:
    """14 days of mean craving as SVG coordinates (a line per run of days with entries)."""

    lines: list[str]
    lapses: list[tuple[float, float]]
    label: str


@dataclass
class CaseloadRow:
    patient: User
    summary: dict[str, Any] | None
    unread: int = 0
    alerts: int = 0
    overdue: int = 0
    reasons: list[tuple[str, str]] = field(default_factory=list)
    score: int = 0

    @cached_property
    def spark(self) -> Sparkline | None:
        """Drawn when shown: the page draws its 25 rows, not the whole caseload it ranks."""
        if self.summary is None or "craving_trend" not in self.summary:
            return None
        return sparkline(self.summary["craving_trend"]["days"])


def sparkline(days: list[dict[str, Any]]) -> Sparkline:
    step = SPARK_WIDTH / max(len(days) - 1, 1)

    def y(value: float) -> float:
        return round(SPARK_HEIGHT - 2 - value / SPARK_MAX * (SPARK_HEIGHT - 4), 1)

    lines: list[str] = []
    run: list[str] = []
    lapses = []
    for index, day in enumerate(days):
        mean = day["mean_intensity"]
        if mean is None:
            if run:
                lines.append(" ".join(run))
            run = []
            continue
        run.append(f"{round(index * step, 1)},{y(mean)}")
        if day["lapses"]:
            lapses.append((round(index * step, 1), y(mean)))
    if run:
        lines.append(" ".join(run))
    # A single day is a line of one point: draw it as a dot-length line.
    lines = [line if " " in line else f"{line} {line}" for line in lines]
    means = [d["mean_intensity"] for d in days if d["mean_intensity"] is not None]
    label = (
        f"Mean craving over 14 days: from {means[0]} to {means[-1]} (0-10), "
        f"{sum(d['lapses'] for d in days)} lapse(s)"
        if means
        else "No cravings logged in 14 days"
    )
    return Sparkline(lines, lapses, label)


def caseload_patients(viewer: User, *, now: datetime) -> list[User]:
    """Patients on the therapist's care team, and any other patient granting them something."""
    linked = User.objects.filter(pk__in=care.caseload_for(viewer).values("patient_id"))
    granting = policy.patients_granting(viewer, now=now)
    return list((linked | granting).distinct().order_by("display_name", "id"))


def _feed_counts(
    viewer: User, ids: list[UUID], *, now: datetime, held: policy.Held
) -> dict[UUID, dict[str, int]]:
    """patient id -> unread shared items and unread crisis alerts of the last UNREAD_DAYS;
    one query (``held``: the caseload's scopes_held, which covers the feed's scopes).

    A triage count: older items stay in the feed, unread, but counting a year of a whole
    caseload's shares on every caseload load read every row of it (the feed index on
    patient and time keeps this to the window).
    """
    mine = FeedReview.objects.filter(reviewer=viewer).values("item_id")
    rows = (
        policy.readable(viewer, FEED_ITEM, now=now, held=held)
        .filter(patient_id__in=ids, at__gte=now - timedelta(days=UNREAD_DAYS))
        .exclude(pk__in=mine)
        .values("patient_id")
        .annotate(
            unread=Count("pk"),
            alerts=Count("pk", filter=Q(kind=FeedItem.Kind.ALERT)),
        )
        .order_by()
    )
    return {row["patient_id"]: row for row in rows}


def _overdue_counts(viewer: User, ids: list[UUID], *, now: datetime) -> dict[UUID, int]:
    """patient id -> open homework past its due date that the viewer assigned; two queries."""
    mine = homework.homework_for(viewer, now=now).filter(assigned_by=viewer, patient_id__in=ids)
    late = homework.filter_overdue(mine, True, now=now)
    return dict(
        late.values("patient_id").annotate(n=Count("pk")).values_list("patient_id", "n").order_by()
    )


def caseload(viewer: User, *, now: datetime) -> tuple[list[CaseloadRow], policy.Held]:
    """The caseload, those who need attention first; and the grants its summaries used.

    A fixed number of queries, whatever the number of patients.
    """
    patients = caseload_patients(viewer, now=now)
    ids = [p.pk for p in patients]
    held = policy.scopes_held(viewer, ids, now=now)
    found = summaries.summaries_for(viewer, patients, now=now, held=held, only=CASELOAD_SECTIONS)
    feed = _feed_counts(viewer, ids, now=now, held=held)
    overdue = _overdue_counts(viewer, ids, now=now)
    rows = []
    for patient in patients:
        summary = found.get(patient.pk)
        counts = feed.get(patient.pk, {})
        row = CaseloadRow(
            patient=patient,
            summary=summary,
            unread=counts.get("unread", 0),
            alerts=counts.get("alerts", 0),
            overdue=overdue.get(patient.pk, 0),
        )
        raised = dict(summary["flags"]) if summary else {}
        raised["crisis_alerts"] = row.alerts > 0
        raised["overdue_homework"] = row.overdue > 0
        for key, label, weight, style in ATTENTION:
            if raised.get(key):
                row.reasons.append((label, style))
                row.score += weight
        rows.append(row)
    rows.sort(key=lambda r: (-r.score, r.patient.display_name.lower(), str(r.patient.pk)))
    return rows, held


def feed_page(
    viewer: User, *, now: datetime, patient_id: UUID | None, state: str
) -> tuple[QuerySet[FeedItem], policy.Held]:
    """The viewer's feed, newest first, optionally one patient's and unread or reviewed."""
    held = policy.scopes_held(viewer, now=now, scopes=FEED_SCOPES)
    items = sharing.feed_for(viewer, now=now, held=held).order_by("-at", "-id")
    if patient_id is not None:
        items = items.filter(patient_id=patient_id)
    mine = FeedReview.objects.filter(reviewer=viewer).values("item_id")
    if state == "unread":
        items = items.exclude(pk__in=mine)
    elif state == "reviewed":
        items = items.filter(pk__in=mine)
    return items, held


def heat_levels(heatmap: list[list[int]]) -> list[list[tuple[int, int]]]:
    """Each cell's count with a shade from 0 to 5, relative to the busiest hour."""
    top = max((count for row in heatmap for count in row), default=0)
    return [
        [(count, 0 if not count else min(5, 1 + (count * 5 - 1) // top)) for count in row]
        for row in heatmap
    ]
