"""Saved meetings, attendance (shared only under the meetings scope) and the iCalendar subscription."""

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.utils import timezone
from icalendar import Calendar

from backend.disclosure.models import DisclosureLog
from backend.meetings.models import Attendance, CalendarFeed
from tests.factories import CareLinkFactory, FamilyLinkFactory, PatientFactory, grant_for
from tests.helpers import (
    answer_without_ids,
    assert_flat_queries,
    assert_problem,
    client_for,
    full_page,
    problem_fields,
)
from tests.meetings.helpers import make_feed, make_meetings, record

pytestmark = pytest.mark.django_db

SAVED = "/api/v1/meetings/saved/"
ATTENDANCE = "/api/v1/meetings/attendance/"
WEEKLY = "/api/v1/meetings/attendance/weekly/"
CALENDAR = "/api/v1/meetings/calendar/"


# --- saved meetings ----------------------------------------------------------------------------


def test_a_patient_saves_lists_and_forgets_meetings(patient):
    first, second = make_meetings(record(name="First"), record(name="Second"))
    client = client_for(patient)
    assert client.post(SAVED, {"meeting": str(first.pk)}, format="json").status_code == 201
    again = client.post(SAVED, {"meeting": str(first.pk)}, format="json")
    assert again.status_code == 200, "saving twice keeps one"
    client.post(SAVED, {"meeting": str(second.pk)}, format="json")
    listed = client.get(SAVED).json()["results"]
    assert [row["meeting"]["name"] for row in listed] == ["Second", "First"]
    assert listed[0]["meeting"]["next_start"]
    detail = client.get(f"/api/v1/meetings/{first.pk}/").json()
    assert detail["is_saved"] is True
    assert client.delete(f"{SAVED}{first.pk}/").status_code == 204
    assert_problem(client.delete(f"{SAVED}{first.pk}/"), 404)
    assert [row["meeting"]["name"] for row in client.get(SAVED).json()["results"]] == ["Second"]


def test_saving_an_unknown_or_retired_meeting_is_not_found(patient):
    feed = make_feed("retiring")
    [gone] = make_meetings(record(slug="gone"), feed=feed)
    make_meetings(record(slug="other"), feed=feed)
    client = client_for(patient)
    assert_problem(client.post(SAVED, {"meeting": str(gone.pk)}, format="json"), 404)
    assert_problem(client.post(SAVED, {"meeting": str(uuid.uuid4())}, format="json"), 404)
    response = client.post(SAVED, {"meeting": "not-a-uuid"}, format="json")
    assert_problem(response, 400)
    assert "meeting" in problem_fields(response)


def test_the_saved_list_runs_the_same_queries_for_one_as_for_many(patient):
    meetings = make_meetings(*(record() for _ in range(12)))
    client = client_for(patient)
    for meeting in meetings:
        client.post(SAVED, {"meeting": str(meeting.pk)}, format="json")

    assert_flat_queries(lambda size: full_page(client, SAVED, size), (1, 12))


# --- attendance -------------------------------------------------------------------------------


def _log(client, **body):
    return client.post(ATTENDANCE, body, format="json")


def test_attendance_is_logged_not_in_the_future_and_not_twice_at_once(patient):
    [meeting] = make_meetings(record(name="Tuesday night", time="19:00", end_time="20:30"))
    client = client_for(patient)
    start = (timezone.now() - timedelta(days=1)).replace(microsecond=0)
    first = _log(client, meeting=str(meeting.pk), attended_at=start.isoformat())
    assert first.status_code == 201, first.content
    assert first.json()["name"] == "Tuesday night"
    assert first.json()["duration_minutes"] == 90

    overlapping = _log(
        client, name="Other", attended_at=(start + timedelta(minutes=60)).isoformat()
    )
    assert_problem(overlapping, 409)
    same_time = _log(client, meeting=str(meeting.pk), attended_at=start.isoformat())
    assert_problem(same_time, 409)
    after = _log(
        client, name="Coffee meeting", attended_at=(start + timedelta(minutes=90)).isoformat()
    )
    assert after.status_code == 201

    future = _log(
        client, name="Tomorrow", attended_at=(timezone.now() + timedelta(hours=2)).isoformat()
    )
    assert_problem(future, 400)
    assert "attended_at" in problem_fields(future)
    nameless = _log(client, attended_at=(start - timedelta(days=2)).isoformat())
    assert "name" in problem_fields(nameless)
    naive = _log(client, name="X", attended_at="2026-11-01T19:00:00")
    assert "attended_at" in problem_fields(naive)
    ancient = _log(client, name="X", attended_at="0001-01-01T00:00:00Z")
    assert "attended_at" in problem_fields(ancient)
    assert Attendance.objects.filter(patient=patient).count() == 2


def test_weekly_counts_follow_the_patients_clock(patient):
    patient.time_zone = "Pacific/Auckland"
    patient.save(update_fields=["time_zone"])
    with time_machine.travel(datetime(2026, 11, 25, 12, tzinfo=UTC)):  # Thu 01:00 in Auckland
        client = client_for(patient)
        # Sunday 22:00 UTC = Monday 11:00 in Auckland: this week, not last.
        for when in ("2026-11-22T22:00:00Z", "2026-11-21T09:00:00Z", "2026-11-10T09:00:00Z"):
            assert _log(client, name="Group", attended_at=when).status_code == 201
        weeks = client.get(WEEKLY, {"weeks": 3}).json()
        assert_problem(client.get(WEEKLY, {"weeks": 0}), 400)
    assert weeks["time_zone"] == "Pacific/Auckland"
    assert weeks["weeks"] == [
        {"week_start": "2026-11-09", "count": 1},
        {"week_start": "2026-11-16", "count": 1},
        {"week_start": "2026-11-23", "count": 1},
    ]


def test_attendance_reaches_others_only_under_the_meetings_scope(patient, linked_therapist):
    client = client_for(patient)
    when = (timezone.now() - timedelta(hours=3)).replace(microsecond=0)
    _log(client, name="Group", attended_at=when.isoformat())
    summary = f"/api/v1/care/patients/{patient.pk}/summary/"

    grant_for(patient, linked_therapist, ["checkins"])
    body = client_for(linked_therapist).get(summary).json()
    assert "meetings" not in body

    grant_for(patient, linked_therapist, ["meetings"])
    body = client_for(linked_therapist).get(summary).json()
    assert body["meetings"]["this_week"] >= 0
    assert sum(week["count"] for week in body["meetings"]["weeks"]) == 1
    assert body["meetings"]["last_attended_at"] is not None
    logged = DisclosureLog.objects.filter(viewer=linked_therapist, kind="meeting_attendance")
    assert logged.count() == 1
    assert logged.get().patient_id == patient.pk

    family = FamilyLinkFactory(patient=patient).member
    grant_for(patient, family, ["meetings"])
    family_view = client_for(family).get(f"/api/v1/family/patients/{patient.pk}/summary/").json()
    assert family_view["scopes"] == ["meetings"]
    assert family_view["meetings"]["last_attended_at"] is not None

    stranger = CareLinkFactory(patient=PatientFactory()).therapist
    assert_problem(client_for(stranger).get(summary), 404)


def test_a_patient_deletes_their_own_attendance_only(patient, other_patient):
    client = client_for(patient)
    when = (timezone.now() - timedelta(days=30)).replace(microsecond=0)  # within two years
    logged = _log(client, name="Group", attended_at=when.isoformat()).json()
    assert_problem(client_for(other_patient).delete(f"{ATTENDANCE}{logged['id']}/"), 404)
    assert client.delete(f"{ATTENDANCE}{logged['id']}/").status_code == 204
    assert client.get(ATTENDANCE).json()["results"] == []


def _attendance_journey(client, attendance_id: str) -> list:
    body = {"id": attendance_id, "name": "Group", "attended_at": "2026-11-23T19:00:00-05:00"}
    url = f"{ATTENDANCE}{attendance_id}/"
    steps = [
        client.delete(url),
        client.post(ATTENDANCE, body, format="json", HTTP_IDEMPOTENCY_KEY="attendance-log"),
        client.post(ATTENDANCE, body, format="json", HTTP_IDEMPOTENCY_KEY="attendance-log"),
        client.post(ATTENDANCE, body, format="json"),
        client.post(
            ATTENDANCE, {**body, "attended_at": "2026-11-20T19:00:00-05:00"}, format="json"
        ),
        client.get(ATTENDANCE),
        client.delete(url),
        client.delete(url),
        client.post(ATTENDANCE, body, format="json"),
    ]
    return [answer_without_ids(step, {attendance_id: "<id>"}) for step in steps]


@time_machine.travel(datetime(2026, 11, 24, 15, 0, tzinfo=UTC), tick=False)
def test_an_attendance_id_another_patient_used_answers_as_a_fresh_id():
    first, second, fresh = PatientFactory(), PatientFactory(), PatientFactory()
    attendance_id = str(uuid.uuid4())
    kept = {"id": attendance_id, "name": "Theirs", "attended_at": "2026-11-22T10:00:00Z"}
    assert client_for(first).post(ATTENDANCE, kept, format="json").status_code == 201

    taken = _attendance_journey(client_for(second), attendance_id)
    unused = _attendance_journey(client_for(fresh), str(uuid.uuid4()))

    assert taken == unused
    assert [step[0] for step in taken] == [404, 201, 201, 409, 409, 200, 204, 404, 201]
    assert taken[2][1]["Idempotent-Replayed"] == "true"
    assert "Theirs" not in str(taken)
    [mine] = client_for(first).get(ATTENDANCE).json()["results"]
    assert (mine["id"], mine["name"]) == (attendance_id, "Theirs")


# --- the calendar subscription ------------------------------------------------------------------


def _ics(client, url):
    parts = urlsplit(url)
    return client.get(parts.path, {"key": parts.query.split("key=", 1)[1]})


def test_saved_meetings_as_an_icalendar_subscription(api, patient):
    weekly, by_appointment = make_meetings(
        record(name="Tuesday Big Book", day=2, time="19:30", end_time="20:30", types=["B"]),
        record(name="Call us", day="", time=""),
    )
    [tokyo] = make_meetings(
        record(name="Tokyo Morning", day=3, time="07:00"),
        feed=make_feed("tokyo", "AA", "Asia/Tokyo"),
    )
    client = client_for(patient)
    for meeting in (weekly, by_appointment, tokyo):
        client.post(SAVED, {"meeting": str(meeting.pk)}, format="json")
    assert client.get(CALENDAR).json()["subscribed"] is False
    issued = client.post(CALENDAR, {}, format="json")
    assert issued.status_code == 201
    url = issued.json()["url"]
    assert "/api/v1/meetings/calendar.ics?key=" in url, "the secret is a query string: never logged"

    response = _ics(api, url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = calendar.walk("VEVENT")
    assert len(events) == 2, "a meeting by appointment has no weekly time"
    assert {str(e["SUMMARY"]) for e in events} == {"Meeting"}, "neutral titles by default"
    assert b"Big Book" not in response.content
    by_zone = {e.decoded("DTSTART").tzinfo.key: e for e in events}
    assert set(by_zone) == {"America/New_York", "Asia/Tokyo"}
    ny = by_zone["America/New_York"]
    assert ny.decoded("DTSTART").strftime("%a %H:%M") == "Tue 19:30"
    assert ny.decoded("DTEND") - ny.decoded("DTSTART") == timedelta(minutes=60)
    assert ny["RRULE"]["FREQ"] == ["WEEKLY"]
    zones = {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}
    assert zones == {"America/New_York", "Asia/Tokyo"}


def test_names_only_when_asked_and_rotation_stops_the_old_address(api, patient):
    [meeting] = make_meetings(record(name="Tuesday Big Book"))
    client = client_for(patient)
    client.post(SAVED, {"meeting": str(meeting.pk)}, format="json")
    old = client.post(CALENDAR, {"neutral_titles": False}, format="json").json()["url"]
    assert b"Tuesday Big Book" in _ics(api, old).content
    new = client.post(CALENDAR, {}, format="json").json()["url"]
    assert_problem(_ics(api, old), 404)
    assert _ics(api, new).status_code == 200
    assert CalendarFeed.objects.get(patient=patient).key_hash not in new
    assert client.delete(CALENDAR).status_code == 204
    assert_problem(_ics(api, new), 404)
    assert_problem(api.get("/api/v1/meetings/calendar.ics"), 404)


def test_a_closed_account_has_no_calendar(api, patient):
    client = client_for(patient)
    url = client.post(CALENDAR, {}, format="json").json()["url"]
    type(patient).objects.filter(pk=patient.pk).update(is_active=False)
    assert_problem(_ics(api, url), 404)


def test_weekly_counts_default_to_twelve_weeks(patient):
    body = client_for(patient).get(WEEKLY).json()
    assert len(body["weeks"]) == 12
    assert all(week["count"] == 0 for week in body["weeks"])


def test_the_calendar_names_nothing_and_keeps_wall_clock_times_across_a_gap(api, patient):
    [gap] = make_meetings(record(name="Early birds", day=0, time="02:30", end_time="03:30"))
    client = client_for(patient)
    client.post(SAVED, {"meeting": str(gap.pk)}, format="json")
    with time_machine.travel(datetime(2026, 3, 10, 12, tzinfo=UTC)):  # two days after the gap
        client = client_for(patient)
        url = client.post(CALENDAR, {}, format="json", HTTP_IDEMPOTENCY_KEY="cal-1").json()["url"]
        again = client.post(CALENDAR, {}, format="json", HTTP_IDEMPOTENCY_KEY="cal-1")
        assert again.json()["url"] != url, "never replayed: the secret is not stored"
        url = again.json()["url"]
        body = _ics(api, url).content
    [event] = Calendar.from_ical(body).walk("VEVENT")
    assert event.decoded("DTSTART").strftime("%a %H:%M") == "Sun 02:30"
    for word in (b"recovery", b"Recovery", b"Early birds", b"sober"):
        assert word not in body
