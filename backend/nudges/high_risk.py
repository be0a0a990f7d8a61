"""Personal high-risk windows: the hours of the week where a patient's cravings cluster.

From the patient's own entries of the last WINDOW_WEEKS, on their clock: each
entry counts in its (weekday, hour) cell. With at least MIN_ENTRIES entries over
at least MIN_DAYS days, a cell is a high-risk window when it holds at least
MIN_IN_CELL entries and at least CLUSTER_FACTOR times the average of the cells
that hold any; the three busiest become suggestions: a nudge LEAD before the hour
starts, on that weekday. Suggestions are never enabled silently: the patient
accepts or declines each; a declined window is not suggested again.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from backend.accounts.models import User
from backend.consent import policy
from backend.journal.access import ENTRY
from backend.journal.models import JournalEntry
from backend.nudges.models import NudgeRule
from backend.nudges.wording import DEFAULT_TITLES

WINDOW_WEEKS = 8
MIN_ENTRIES = 10
MIN_DAYS = 14
MIN_IN_CELL = 3
CLUSTER_FACTOR = 2.0
MAX_WINDOWS = 3
LEAD = timedelta(minutes=30)
WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


@dataclass(frozen=True)
class Window:
    weekday: int  # 0 = Monday
    hour: int
    entries: int

    @property
    def nudge_at(self) -> tuple[int, time]:
        """(weekday, local time) of the nudge LEAD before the window."""
        minutes = (self.weekday * 24 + self.hour) * 60 - int(LEAD.total_seconds() // 60)
        minutes %= 7 * 24 * 60
        return minutes // (24 * 60), time((minutes // 60) % 24, minutes % 60)

    def describe(self) -> str:
        return (
            f"{self.entries} of your recent entries came on {WEEKDAYS[self.weekday]} "
            f"between {self.hour:02d}:00 and {(self.hour + 1) % 24:02d}:00."
        )


def windows_for(patient: User, *, now: datetime | None = None) -> tuple[list[Window], str]:
    """The patient's high-risk windows now, busiest first, and why there are none."""
    now = now or timezone.now()
    zone = ZoneInfo(patient.time_zone)
    since = now - timedelta(weeks=WINDOW_WEEKS)
    moments = [
        moment.astimezone(zone)
        for moment in policy.readable(patient, ENTRY)
        .filter(occurred_at__gte=since, occurred_at__lte=now)
        .values_list("occurred_at", flat=True)
    ]
    if len(moments) < MIN_ENTRIES:
        return [], f"Needs at least {MIN_ENTRIES} entries of the last {WINDOW_WEEKS} weeks."
    if (max(moments).date() - min(moments).date()).days + 1 < MIN_DAYS:
        return [], f"Needs entries spread over at least {MIN_DAYS} days."
    cells = Counter((moment.weekday(), moment.hour) for moment in moments)
    average = len(moments) / len(cells)
    busy = [
        Window(weekday, hour, count)
        for (weekday, hour), count in cells.items()
        if count >= MIN_IN_CELL and count >= CLUSTER_FACTOR * average
    ]
    busy.sort(key=lambda w: (-w.entries, w.weekday, w.hour))
    return busy[:MAX_WINDOWS], "" if busy else "No hour of the week stands out yet."


@transaction.atomic
def suggest(patient: User, *, now: datetime | None = None) -> list[NudgeRule]:
    """Replace the patient's open high-risk suggestions with this week's (weekly job)."""
    windows, _ = windows_for(patient, now=now)
    existing = NudgeRule.objects.filter(patient=patient, kind=NudgeRule.Kind.HIGH_RISK)
    existing.filter(status=NudgeRule.Status.SUGGESTED, suggested_by__isnull=True).delete()
    settled = {
        (rule.weekdays[0], rule.times[0])
        for rule in existing.exclude(status=NudgeRule.Status.SUGGESTED)
        if rule.weekdays and rule.times
    }
    created = []
    for window in windows:
        weekday, at = window.nudge_at
        if (weekday, at.strftime("%H:%M")) in settled:
            continue  # already active, paused or declined: never asked twice
        created.append(
            NudgeRule.objects.create(
                patient=patient,
                kind=NudgeRule.Kind.HIGH_RISK,
                status=NudgeRule.Status.SUGGESTED,
                times=[at.strftime("%H:%M")],
                weekdays=[weekday],
                message=DEFAULT_TITLES[NudgeRule.Kind.HIGH_RISK],
                suggestion_reason=window.describe(),
            )
        )
    return created


def suggest_for_everyone(*, now: datetime | None = None) -> int:
    """The weekly job: every active patient with any entry in the window."""
    now = now or timezone.now()
    count = 0
    recent = JournalEntry.objects.filter(
        occurred_at__gte=now - timedelta(weeks=WINDOW_WEEKS), deleted_at__isnull=True
    ).values("patient_id")
    patients = User.objects.filter(role=User.Role.PATIENT, is_active=True, pk__in=recent)
    for patient in patients.iterator():
        count += len(suggest(patient, now=now))
    return count
