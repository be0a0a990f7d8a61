"""Reads of the meeting directory and of a patient's own meeting records."""

from datetime import UTC, date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from rest_framework.exceptions import NotFound

from backend.accounts.models import User
from backend.consent import policy
from backend.meetings.access import ATTENDANCE
from backend.meetings.models import CalendarFeed, Meeting, MeetingFeed, SavedMeeting

ZONES_CACHE_KEY = "meetings:zones"
ZONES_CACHE_SECONDS = 600


def zones() -> list[str]:
    """The time zones of the active directory (a handful, whatever its size).

    Those with the most meetings come first: the search tests each row's zone
    against them in this order (search.MinutesUntilStart). Reading them is a scan
    of the whole table, so they are cached; every import forgets them (see
    forget_zones), and they expire after ten minutes anyway.
    """
    cached = cache.get(ZONES_CACHE_KEY)
    if cached is None:
        cached = list(
            Meeting.objects.filter(retired_at__isnull=True)
            .values("time_zone")
            .annotate(meetings=Count("pk"))
            .order_by("-meetings", "time_zone")
            .values_list("time_zone", flat=True)
        )
        cache.set(ZONES_CACHE_KEY, cached, ZONES_CACHE_SECONDS)
    return cached


def forget_zones() -> None:
    """After an import: now, and again once it commits (a reader may have cached the old set)."""
    cache.delete(ZONES_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(ZONES_CACHE_KEY))


def feeds_for_staff() -> QuerySet[MeetingFeed]:
    """Every feed the clinic registered, by name, with how many of its meetings are listed now."""
    return MeetingFeed.objects.annotate(
        listed=Count("meetings", filter=Q(meetings__retired_at__isnull=True))
    ).order_by("name")


def meeting_get(*, meeting_id: UUID, viewer: User | None = None, active: bool = False) -> Meeting:
    meetings = Meeting.objects.select_related("feed")
    if active:
        meetings = meetings.filter(retired_at__isnull=True)
    if viewer is not None:
        meetings = meetings.annotate(
            is_saved=Exists(SavedMeeting.objects.filter(patient=viewer, meeting=OuterRef("pk")))
        )
    meeting = meetings.filter(pk=meeting_id).first()
    if meeting is None:
        raise NotFound()
    return meeting


def saved_of(patient: User) -> QuerySet[SavedMeeting]:
    return (
        SavedMeeting.objects.filter(patient=patient)
        .select_related("meeting", "meeting__feed")
        .order_by("-created_at", "-id")
    )


def calendar_of(patient: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(patient=patient).first()


def attendance_weeks(patient: User, *, weeks: int, today: date) -> list[dict]:
    """Meetings attended per local week (Monday first), the oldest first; one query."""
    zone = ZoneInfo(patient.time_zone)
    this_monday = today - timedelta(days=today.weekday())
    first_monday = this_monday - timedelta(weeks=weeks - 1)
    counts = dict.fromkeys((first_monday + timedelta(weeks=n) for n in range(weeks)), 0)
    since = datetime.combine(first_monday - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    for attended_at in (
        policy.readable(patient, ATTENDANCE)
        .filter(attended_at__gte=since)
        .values_list("attended_at", flat=True)
    ):
        local = attended_at.astimezone(zone).date()
        monday = local - timedelta(days=local.weekday())
        if monday in counts:
            counts[monday] += 1
    return [{"week_start": monday, "count": count} for monday, count in counts.items()]
