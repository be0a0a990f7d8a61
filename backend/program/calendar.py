"""A patient's program sessions as iCalendar events (RFC 5545), for their subscription.

One event per session, not a weekly rule: holidays cancel single sessions and one-off
sessions are added, which a rule with exceptions would carry less plainly. Shown: the
last week and the next eight. Neutral titles say nothing of treatment.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Event

from backend.accounts.models import User
from backend.program.models import Session
from backend.program.selectors import sessions_for_patient

NEUTRAL_TITLE = "Appointment"
UID_DOMAIN = "events.invalid"
BACK, AHEAD = timedelta(days=7), timedelta(weeks=8)


def session_events(patient: User, *, now: datetime, neutral_titles: bool) -> list[Event]:
    events = []
    sessions = sessions_for_patient(patient, patient, now - BACK, now + AHEAD)
    for session in sessions.select_related("program"):
        zone = ZoneInfo(session.program.time_zone)  # shown on the clinic's wall clock
        event = Event()
        event.add("uid", f"session-{session.pk}@{UID_DOMAIN}")
        event.add("dtstamp", now)
        event.add("dtstart", session.starts_at.astimezone(zone))
        event.add("dtend", session.ends_at.astimezone(zone))
        event.add("summary", NEUTRAL_TITLE if neutral_titles else session.title)
        if session.place:
            event.add("location", session.place)
        if session.telehealth_url:
            event.add("url", session.telehealth_url)
        if session.status == Session.Status.CANCELLED:
            event.add("status", "CANCELLED")
        events.append(event)
    return events
