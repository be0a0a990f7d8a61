"""Writes of saved meetings, attendance and the calendar address."""

import hashlib
import secrets
from datetime import datetime, timedelta
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from backend.accounts.models import User
from backend.core.errors import Conflict
from backend.meetings.models import Attendance, CalendarFeed, Meeting, SavedMeeting

DEFAULT_ATTENDANCE_MINUTES = 60
MAX_ATTENDANCE_AGE = timedelta(days=2 * 365)


@transaction.atomic
def meeting_save(*, patient: User, meeting: Meeting) -> tuple[SavedMeeting, bool]:
    """Save a meeting to the patient's list (saving it again changes nothing)."""
    return SavedMeeting.objects.get_or_create(patient=patient, meeting=meeting)


@transaction.atomic
def meeting_unsave(*, patient: User, meeting_id: UUID) -> bool:
    deleted, _ = SavedMeeting.objects.filter(patient=patient, meeting_id=meeting_id).delete()
    return bool(deleted)


@transaction.atomic
def attendance_log(
    *,
    patient: User,
    attendance_id: UUID | None,
    meeting: Meeting | None,
    name: str,
    attended_at: datetime,
    duration_minutes: int | None,
) -> Attendance:
    """Record that the patient went to a meeting.

    Not in the future, and not twice at once: a meeting overlapping another one
    already logged is refused. The patient row is locked so that two requests
    cannot both pass that check.
    """
    errors: dict[str, list[str]] = {}
    now = timezone.now()
    if attended_at > now:
        errors["attended_at"] = ["A meeting you went to cannot be in the future."]
    elif attended_at < now - MAX_ATTENDANCE_AGE:
        errors["attended_at"] = ["Log meetings of the last two years."]
    if meeting is None and not name.strip():
        errors["name"] = ["Name the meeting, or choose one from the directory."]
    if errors:
        raise ValidationError(errors)
    duration = duration_minutes or (
        meeting.duration_minutes if meeting else DEFAULT_ATTENDANCE_MINUTES
    )
    User.objects.select_for_update().filter(pk=patient.pk).first()
    # The phone's id is the patient's own: another patient's use of it is not looked at.
    if (
        attendance_id
        and Attendance.objects.filter(patient=patient, client_id=attendance_id).exists()
    ):
        raise Conflict("This attendance was already logged.")
    ends = attended_at + timedelta(minutes=duration)
    overlapping = (
        Attendance.objects.filter(
            patient=patient,
            attended_at__lt=ends,
            attended_at__gt=attended_at - timedelta(hours=24),
        )
        .only("attended_at", "duration_minutes")
        .order_by()
    )
    for other in overlapping:
        if other.attended_at + timedelta(minutes=other.duration_minutes) > attended_at:
            raise Conflict(
                "You already logged a meeting at that time "
                f"({other.attended_at.isoformat()}). Delete that one first if it was a mistake."
            )
    try:
        with transaction.atomic():
            return Attendance.objects.create(
                **({"client_id": attendance_id} if attendance_id else {}),
                patient=patient,
                meeting=meeting,
                name=(meeting.name if meeting else name.strip())[:255],
                attended_at=attended_at,
                duration_minutes=duration,
            )
    except IntegrityError as exc:
        raise Conflict("You already logged a meeting at that time.") from exc


@transaction.atomic
def attendance_delete(*, attendance: Attendance) -> None:
    attendance.delete()


def _key_hash(key: str) -> str:
    # The key is 256 random bits: an unsalted hash is enough to keep it out of the table.
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def calendar_issue(*, patient: User, neutral_titles: bool) -> tuple[CalendarFeed, str]:
    """A new secret calendar key; any earlier address stops working at once."""
    key = secrets.token_urlsafe(32)
    calendar, _ = CalendarFeed.objects.update_or_create(
        patient=patient,
        defaults={
            "key_hash": _key_hash(key),
            "neutral_titles": neutral_titles,
            "created_at": timezone.now(),
        },
    )
    return calendar, key


@transaction.atomic
def calendar_delete(*, patient: User) -> None:
    CalendarFeed.objects.filter(patient=patient).delete()


def calendar_for_key(key: str) -> CalendarFeed | None:
    if not key or len(key) > 100:
        return None
    return (
        CalendarFeed.objects.select_related("patient")
        .filter(key_hash=_key_hash(key), patient__is_active=True)
        .first()
    )
