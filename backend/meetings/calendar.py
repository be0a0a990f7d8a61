"""Saved meetings as an iCalendar (RFC 5545) subscription: weekly events in each meeting's zone."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from icalendar import Calendar, Event

from backend.meetings.models import Meeting
from backend.meetings.search import next_start

NEUTRAL_TITLE = "Meeting"
# Nothing here names the service: a calendar is seen by more people than its owner.
PRODID = "-//Saved events//Calendar//EN"
UID_DOMAIN = "events.invalid"


def _first_start(meeting: Meeting, since: datetime) -> datetime:
    """An occurrence on the meeting's own wall-clock time, about a week back.

    A week back, so this week's occurrence shows even when it already began; and
    never one moved by a daylight-saving gap, or the whole series would follow it.
    """
    for weeks_back in range(1, 5):
        start = next_start(meeting, since - timedelta(days=7 * weeks_back))
        if start.timetz().replace(tzinfo=None) == meeting.start_time:
            return start
    return start


def saved_meetings_calendar(
    meetings: list[Meeting],
    *,
    neutral_titles: bool,
    now: datetime,
    extra: Iterable[Event] = (),
) -> bytes:
    """One recurring event per saved meeting that has a day and a time, and ``extra``
    events (other apps' appointments)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "Meetings")
    for meeting in meetings:
        if meeting.day is None:
            continue
        start = _first_start(meeting, now)
        event = Event()
        event.add("uid", f"{meeting.pk}@{UID_DOMAIN}")
        event.add("dtstamp", now)
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(minutes=meeting.duration_minutes))
        event.add("rrule", {"freq": "weekly"})
        event.add("summary", NEUTRAL_TITLE if neutral_titles else meeting.name)
        if meeting.attendance_option != Meeting.Attendance.ONLINE and meeting.formatted_address:
            event.add("location", meeting.formatted_address)
        if meeting.conference_url:
            event.add("url", meeting.conference_url)
        if not neutral_titles:
            details = [
                part
                for part in (meeting.location_name, meeting.notes, meeting.conference_phone)
                if part
            ]
            if details:
                event.add("description", "\n".join(details))
        calendar.add_component(event)
    for event in extra:
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
