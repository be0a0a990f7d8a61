"""The patient's program sessions join their iCalendar subscription."""

from datetime import UTC, date, datetime, time

import pytest
import time_machine
from icalendar import Calendar

from backend.meetings import services as meeting_services
from backend.program import services
from backend.program.models import Session
from tests.factories import CareLinkFactory, PatientFactory, TherapistFactory, program_make

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _calendar(api, key) -> Calendar:
    response = api.get("/api/v1/meetings/calendar.ics", {"key": key})
    assert response.status_code == 200, response.content[:300]
    return Calendar.from_ical(response.content)


@pytest.mark.parametrize("neutral", [True, False])
def test_sessions_show_on_the_clinics_clock_and_cancelled_ones_say_so(api, neutral):
    therapist = TherapistFactory()
    program = program_make(therapists=[therapist], starts_on=date(2027, 3, 1))
    services.slot_add(
        program=program,
        data={
            "kind": "group",
            "title": "Relapse prevention group",
            "weekday": 0,
            "start_time": time(18, 0),
            "duration_minutes": 90,
            "therapist": therapist,
            "place": "Room 2",
        },
    )
    patient = PatientFactory()
    CareLinkFactory(patient=patient, therapist=therapist)
    services.enrol(
        by=therapist,
        patient=patient,
        program=program,
        primary_therapist=therapist,
        starts_on=date(2027, 3, 1),
    )
    holiday = Session.objects.get(local_date=date(2027, 3, 22))
    services.session_cancel(session=holiday, by=therapist, reason="Holiday")
    _, key = meeting_services.calendar_issue(patient=patient, neutral_titles=neutral)

    events = _calendar(api, key).walk("VEVENT")
    starts = {e.decoded("DTSTART").date(): e for e in events}
    # From a week back to eight weeks ahead: 8 March to 3 May.
    assert min(starts) == date(2027, 3, 8)
    assert len(events) == 9
    after_change = starts[date(2027, 3, 15)].decoded("DTSTART")
    assert (after_change.strftime("%H:%M"), after_change.tzinfo.key) == (
        "18:00",
        "America/New_York",
    )
    assert str(starts[date(2027, 3, 22)]["STATUS"]) == "CANCELLED"
    titles = {str(e["SUMMARY"]) for e in events}
    assert titles == ({"Appointment"} if neutral else {"Relapse prevention group"})
    assert str(starts[date(2027, 3, 15)]["LOCATION"]) == "Room 2"


def test_a_patient_in_no_program_gets_only_their_meetings(api):
    patient = PatientFactory()
    _, key = meeting_services.calendar_issue(patient=patient, neutral_titles=True)
    assert _calendar(api, key).walk("VEVENT") == []
