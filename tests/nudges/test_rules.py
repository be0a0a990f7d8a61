"""Reminder rules, suggestions (therapist and high-risk windows), neutral wording, bad input."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from backend.nudges import high_risk, planning
from backend.nudges.models import Nudge, NudgeRule
from backend.nudges.wording import DEFAULT_TITLES, URGENT_TITLE, revealing_words
from tests.factories import CareLinkFactory, EntryFactory, PatientFactory
from tests.helpers import assert_problem, client_for, problem_fields
from tests.meetings.helpers import make_meetings, record

pytestmark = pytest.mark.django_db

RULES = "/api/v1/nudges/rules/"


def test_a_patient_adds_changes_pauses_and_deletes_a_reminder(patient):
    client = client_for(patient)
    created = client.post(RULES, {"kind": "checkin", "times": ["20:30"]}, format="json")
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["status"] == "active"
    assert rule["message"] == DEFAULT_TITLES["checkin"]
    url = f"{RULES}{rule['id']}/"
    changed = client.patch(url, {"times": ["21:00"], "quiet_hours": "drop"}, format="json")
    assert changed.json()["times"] == ["21:00"]
    assert client.patch(url, {"status": "paused"}, format="json").json()["status"] == "paused"
    assert_problem(client.patch(url, {"kind": "custom"}, format="json"), 400)
    assert client.delete(url).status_code == 204
    assert client.get(RULES).json()["results"] == []


def test_changing_a_rule_drops_what_it_planned_but_did_not_send(patient):
    client = client_for(patient)
    rule = client.post(RULES, {"kind": "checkin", "times": ["20:30"]}, format="json").json()

    planning.plan()
    assert Nudge.objects.filter(rule_id=rule["id"]).exists()
    client.patch(f"{RULES}{rule['id']}/", {"times": ["07:00"]}, format="json")
    assert not Nudge.objects.filter(rule_id=rule["id"], state="pending").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "bedtime", "times": ["21:00"]}, "kind"),
        ({"kind": "checkin", "times": ["25:00"]}, "times.0"),
        ({"kind": "checkin", "times": ["7pm"]}, "times.0"),
        ({"kind": "checkin", "times": ["07:00:30"]}, "times.0"),
        ({"kind": "checkin", "times": ["20,30"]}, "times.0"),
        ({"kind": "checkin", "times": ["T2030"]}, "times.0"),
        ({"kind": "checkin", "times": []}, "times"),
        ({"kind": "checkin", "times": ["07:00", "08:00"]}, "times"),
        ({"kind": "custom", "times": ["07:00", "07:00"]}, "times"),
        ({"kind": "custom", "times": ["07:00"], "weekdays": [7]}, "weekdays.0"),
        ({"kind": "custom", "times": ["07:00"], "message": "Skip the drink tonight"}, "message"),
        ({"kind": "custom", "times": ["07:00"], "message": "Stay SOBER!"}, "message"),
        ({"kind": "custom", "times": ["07:00"], "message": "Call your sponsor"}, "message"),
        ({"kind": "meeting"}, "meeting"),
        ({"kind": "custom", "times": ["07:00"], "quiet_hours": "ignore"}, "quiet_hours"),
        ({"kind": "custom", "times": ["07:00"], "patient": "someone"}, "patient"),
    ],
)
def test_bad_rules_get_field_errors_and_create_nothing(patient, body, field):
    response = client_for(patient).post(RULES, body, format="json")
    assert_problem(response, 400)
    assert field in problem_fields(response), problem_fields(response)
    assert not NudgeRule.objects.exists()


def test_a_meeting_reminder_needs_a_saved_meeting_and_never_shows_its_name(patient):
    [meeting] = make_meetings(record(name="Big Book Study (AA)"))
    client = client_for(patient)
    body = {"kind": "meeting", "meeting": str(meeting.pk), "lead_minutes": 30}
    assert "meeting" in problem_fields(client.post(RULES, body, format="json"))
    client.post("/api/v1/meetings/saved/", {"meeting": str(meeting.pk)}, format="json")
    created = client.post(RULES, body, format="json").json()
    assert created["message"] == DEFAULT_TITLES["meeting"]
    assert "Big Book" not in created["message"]


def test_every_lock_screen_text_the_service_writes_is_neutral():
    for title in [*DEFAULT_TITLES.values(), URGENT_TITLE]:
        assert revealing_words(title) == [], title
    assert revealing_words("Time to check in on your cravings") == ["cravings"]
    assert revealing_words("Pick up milk") == []
    # Hyphens, invisible characters, accents and look-alike letters do not hide a word.
    for disguised in ("non-alcoholic", "post-rehab", "cr\u200bavings", "s\u043ebriety", "Sóbriety"):
        assert revealing_words(disguised), disguised


def test_a_therapist_suggests_and_the_patient_accepts_or_declines(patient, linked_therapist):
    path = f"/api/v1/care/patients/{patient.pk}/nudge-suggestions/"
    suggested = client_for(linked_therapist).post(
        path,
        {"kind": "custom", "times": ["08:00"], "suggestion_reason": "Mornings were hard"},
        format="json",
    )
    assert suggested.status_code == 201, suggested.content
    rule = suggested.json()
    assert (rule["status"], rule["suggested_by"]) == ("suggested", linked_therapist.display_name)

    planning.plan()
    assert not Nudge.objects.exists(), "nothing is sent before the patient accepts"
    client = client_for(patient)
    accepted = client.post(f"{RULES}{rule['id']}/accept/")
    assert accepted.json()["status"] == "active"
    assert_problem(client.post(f"{RULES}{rule['id']}/accept/"), 409)
    assert_problem(client.post(f"{RULES}{rule['id']}/decline/"), 409)


def test_a_therapist_outside_the_caseload_cannot_suggest(patient):
    stranger = CareLinkFactory(patient=PatientFactory()).therapist
    response = client_for(stranger).post(
        f"/api/v1/care/patients/{patient.pk}/nudge-suggestions/",
        {"kind": "custom", "times": ["08:00"]},
        format="json",
    )
    assert_problem(response, 404)


def test_high_risk_windows_come_from_the_patients_own_history(patient):
    patient.time_zone = "America/Chicago"
    patient.save(update_fields=["time_zone"])
    chicago = ZoneInfo("America/Chicago")
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    # Fridays at 18:15 on the patient's clock, five weeks running (across the end of DST).
    for week in range(5):
        moment = datetime(2026, 10, 16, 18, 15, tzinfo=chicago) + timedelta(weeks=week)
        EntryFactory(patient=patient, occurred_at=moment.isoformat())
    # Scattered others.
    for day in range(8):
        moment = datetime(2026, 10, 15, 9, tzinfo=chicago) + timedelta(days=3 * day, hours=day)
        EntryFactory(patient=patient, occurred_at=moment.isoformat())
    with time_machine.travel(now):
        windows, _reason = high_risk.windows_for(patient)
        assert [(w.weekday, w.hour, w.entries) for w in windows] == [(4, 18, 5)]
        [rule] = high_risk.suggest(patient)
        assert rule.status == "suggested"
        assert (rule.weekdays, rule.times) == ([4], ["17:30"])
        assert "Fridays" in rule.suggestion_reason
        client_for(patient).post(f"{RULES}{rule.pk}/decline/")
        assert high_risk.suggest(patient) == [], "a declined window is not suggested again"
        shown = client_for(patient).get("/api/v1/nudges/high-risk-windows/").json()
        assert shown["windows"][0]["weekday"] == 4


def test_too_little_history_suggests_nothing(patient):
    EntryFactory(patient=patient)
    windows, reason = high_risk.windows_for(patient)
    assert windows == []
    assert "at least" in reason


def test_a_homework_reminder_can_be_paused(patient):
    client = client_for(patient)
    rule = client.post(RULES, {"kind": "homework", "lead_minutes": 240}, format="json").json()
    paused = client.patch(f"{RULES}{rule['id']}/", {"status": "paused"}, format="json")
    assert paused.status_code == 200, paused.content
    assert paused.json()["status"] == "paused"
