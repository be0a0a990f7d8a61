"""Patient summaries: exact figures on each patient's clock, only what grants allow,
flags at their boundaries, 404 after revocation, notice and disclosure log, fixed queries."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.consent import services as consent_services
from backend.consent.models import ConsentGrant
from backend.disclosure.models import DisclosureLog
from backend.disclosure.notice import REDISCLOSURE_HEADER, REDISCLOSURE_NOTICE
from backend.journal import services as journal_services
from backend.meetings.models import Attendance
from backend.sharing.summaries import FLAGS, summaries_for
from backend.sharing.summary_serializers import SummaryFlagsSerializer
from tests.factories import (
    CareLinkFactory,
    CheckInFactory,
    EntryFactory,
    FamilyFactory,
    FamilyLinkFactory,
    PatientFactory,
    TherapistFactory,
    grant_for,
)
from tests.helpers import assert_flat_queries, assert_problem, client_for, full_page

pytestmark = pytest.mark.django_db

# 07:00 on Tuesday 24 November in New York, 04:00 in Los Angeles, and already
# 01:00 on Wednesday 25 November in Auckland (NZDT, UTC+13).
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ALL = ["journal.all", "journal.shared", "checkins", "insights", "counters", "crisis_alerts"]


def care_summary(patient) -> str:
    return f"/api/v1/care/patients/{patient.pk}/summary/"


def family_summary(patient) -> str:
    return f"/api/v1/family/patients/{patient.pk}/summary/"


CASELOAD = "/api/v1/care/caseload/summaries/"


def log(patient, occurred_at: str, intensity: int = 5, outcome: str = "resisted"):
    """An entry with nothing but a time, an intensity and an outcome."""
    return EntryFactory(
        patient=patient,
        occurred_at=occurred_at,
        intensity=intensity,
        intensity_after=None,
        triggers=[],
        halt=[],
        coping_skills=[],
        outcome=outcome,
    )


def patient_of(therapist, *, scopes=ALL, time_zone="America/New_York", **kwargs):
    patient = PatientFactory(time_zone=time_zone, **kwargs)
    CareLinkFactory(patient=patient, therapist=therapist)
    grant_for(patient, therapist, scopes)
    return patient


def get_summary(viewer, patient, url=care_summary) -> dict:
    response = client_for(viewer).get(url(patient))
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def therapist():
    return TherapistFactory()


# --- exact figures ----------------------------------------------------------------


@time_machine.travel(NOW)
def test_streak_counts_consecutive_local_dates_up_to_today_or_yesterday(therapist):
    today = patient_of(therapist)
    for day in ("2026-11-19", "2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24"):
        CheckInFactory(patient=today, local_date=day)
    yesterday = patient_of(therapist)
    for day in ("2026-11-22", "2026-11-23"):
        CheckInFactory(patient=yesterday, local_date=day)
    broken = patient_of(therapist)
    for day in ("2026-11-20", "2026-11-21", "2026-11-22"):
        CheckInFactory(patient=broken, local_date=day)
    never = patient_of(therapist)

    found = summaries_for(therapist, [today, yesterday, broken, never], now=timezone.now())

    assert found[today.pk]["checkins"] == {
        "current_streak": 4,
        "last_check_in": date(2026, 11, 24),
        "checked_in_today": True,
    }
    assert found[yesterday.pk]["checkins"] == {
        "current_streak": 2,
        "last_check_in": date(2026, 11, 23),
        "checked_in_today": False,
    }
    assert found[broken.pk]["checkins"] == {
        "current_streak": 0,
        "last_check_in": date(2026, 11, 22),
        "checked_in_today": False,
    }
    assert found[never.pk]["checkins"] == {
        "current_streak": 0,
        "last_check_in": None,
        "checked_in_today": False,
    }


@time_machine.travel(NOW)
def test_a_deleted_check_in_breaks_the_streak(therapist):
    patient = patient_of(therapist)
    CheckInFactory(patient=patient, local_date="2026-11-22")
    gap = CheckInFactory(patient=patient, local_date="2026-11-23")
    CheckInFactory(patient=patient, local_date="2026-11-24")
    journal_services.checkin_delete(checkin=gap, expected_version=None)
    assert get_summary(therapist, patient)["checkins"]["current_streak"] == 1


@time_machine.travel(NOW)
def test_days_sober_count_on_each_patients_own_clock(therapist):
    auckland = patient_of(therapist, time_zone="Pacific/Auckland", display_name="A")
    los_angeles = patient_of(therapist, time_zone="America/Los_Angeles", display_name="B")
    for patient in (auckland, los_angeles):
        journal_services.counter_create(
            patient=patient, substance="alcohol", start_date=date(2026, 11, 1)
        )
    results = client_for(therapist).get(CASELOAD).json()["results"]
    by_id = {item["patient"]["id"]: item for item in results}
    assert by_id[str(auckland.pk)]["today"] == "2026-11-25"
    assert by_id[str(auckland.pk)]["counters"][0]["days_sober"] == 24
    assert by_id[str(los_angeles.pk)]["today"] == "2026-11-24"
    assert by_id[str(los_angeles.pk)]["counters"][0]["days_sober"] == 23
    assert by_id[str(los_angeles.pk)]["counters"][0]["substance"] == "alcohol"
    assert by_id[str(los_angeles.pk)]["counters"][0]["start_date"] == "2026-11-01"


# --- flags at their boundaries ----------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "flagged"),
    [
        ("2026-11-25T04:59:59Z", False),  # 23:59:59 on the 24th in New York: 2 dates since
        ("2026-11-25T05:00:00Z", True),  # midnight: the 25th, 3 dates since the 22nd
    ],
)
def test_no_checkin_3_days_is_raised_at_the_patients_midnight(therapist, instant, flagged):
    with time_machine.travel(datetime(2026, 11, 22, 15, 0, tzinfo=UTC)):
        patient = patient_of(therapist)
        CheckInFactory(patient=patient, local_date="2026-11-22")
    with time_machine.travel(datetime.fromisoformat(instant)):
        flags = get_summary(therapist, patient)["flags"]
    assert flags["no_checkin_3_days"] is flagged


@time_machine.travel(NOW)
def test_no_checkin_3_days_is_raised_for_a_patient_who_never_checked_in(therapist):
    assert get_summary(therapist, patient_of(therapist))["flags"]["no_checkin_3_days"] is True


@pytest.mark.parametrize(
    ("occurred_at", "outcome", "flagged"),
    [
        ("2026-11-18T00:00:00-05:00", "lapsed", True),  # first moment of today - 6
        ("2026-11-17T23:59:59-05:00", "lapsed", False),  # last moment of today - 7
        ("2026-11-24T06:00:00-05:00", "used", True),
        ("2026-11-24T06:00:00-05:00", "resisted", False),
    ],
)
@time_machine.travel(NOW)
def test_lapse_last_7_days_boundaries(therapist, occurred_at, outcome, flagged):
    patient = patient_of(therapist)
    log(patient, occurred_at, outcome=outcome)
    assert get_summary(therapist, patient)["flags"]["lapse_last_7_days"] is flagged


def test_lapse_last_7_days_ages_out_at_the_patients_midnight(therapist):
    with time_machine.travel(NOW):
        patient = patient_of(therapist)
        log(patient, "2026-11-18T00:00:00-05:00", outcome="lapsed")
    with time_machine.travel(datetime(2026, 11, 25, 4, 59, 59, tzinfo=UTC)):
        assert get_summary(therapist, patient)["flags"]["lapse_last_7_days"] is True
    with time_machine.travel(datetime(2026, 11, 25, 5, 0, 0, tzinfo=UTC)):
        assert get_summary(therapist, patient)["flags"]["lapse_last_7_days"] is False


@time_machine.travel(NOW)
def test_one_instant_falls_on_each_patients_own_date_in_one_batch(therapist):
    auckland = patient_of(therapist, time_zone="Pacific/Auckland")
    los_angeles = patient_of(therapist, time_zone="America/Los_Angeles")
    # 23:00 on the 18th in Auckland (today there is the 25th: the window starts on the
    # 19th) and 02:00 on the 18th in Los Angeles (today the 24th: starts on the 18th).
    for patient in (auckland, los_angeles):
        log(patient, "2026-11-18T10:00:00Z", outcome="lapsed")
    found = summaries_for(therapist, [auckland, los_angeles], now=timezone.now())
    assert found[auckland.pk]["flags"]["lapse_last_7_days"] is False
    assert found[los_angeles.pk]["flags"]["lapse_last_7_days"] is True


def _weeks(patient, previous: list[int], recent: list[int]) -> None:
    for intensity in previous:
        log(patient, "2026-11-14T12:00:00-05:00", intensity=intensity)
    for intensity in recent:
        log(patient, "2026-11-21T12:00:00-05:00", intensity=intensity)


@time_machine.travel(NOW)
def test_rising_craving_trend_needs_a_rise_of_one_point(therapist):
    exactly = patient_of(therapist)
    _weeks(exactly, [4, 4, 4], [5, 5, 5])
    short = patient_of(therapist)
    _weeks(short, [4, 4, 4], [5, 5, 4])
    falling = patient_of(therapist)
    _weeks(falling, [7, 7, 7], [3, 3, 3])
    found = summaries_for(therapist, [exactly, short, falling], now=timezone.now())
    assert found[exactly.pk]["flags"]["rising_craving_trend"] is True
    trend = found[exactly.pk]["craving_trend"]
    # The 14 dates one by one, oldest first: the console's sparkline (not in the API).
    days = trend.pop("days")
    assert [day["date"] for day in (days[0], days[-1])] == [date(2026, 11, 11), date(2026, 11, 24)]
    assert len(days) == 14
    assert sum(day["entries"] for day in days) == 6
    assert trend == {
        "recent": {
            "from": date(2026, 11, 18),
            "to": date(2026, 11, 24),
            "entries": 3,
            "mean_intensity": 5.0,
        },
        "previous": {
            "from": date(2026, 11, 11),
            "to": date(2026, 11, 17),
            "entries": 3,
            "mean_intensity": 4.0,
        },
    }
    assert found[short.pk]["flags"]["rising_craving_trend"] is False
    assert found[short.pk]["craving_trend"]["recent"]["mean_intensity"] == 4.67
    assert found[falling.pk]["flags"]["rising_craving_trend"] is False


@pytest.mark.parametrize(
    ("occurred_at", "flagged"),
    [
        # Recent week 5, 5, 4 and 6 -> mean 5.0, one point above 4.0.
        ("2026-11-18T00:00:00-05:00", True),
        # Previous week 4, 4, 4 and 6 -> mean 4.5; recent stays 4.67.
        ("2026-11-17T23:59:59-05:00", False),
    ],
)
@time_machine.travel(NOW)
def test_rising_craving_trend_weeks_split_at_the_patients_midnight(therapist, occurred_at, flagged):
    patient = patient_of(therapist)
    _weeks(patient, [4, 4, 4], [5, 5, 4])
    log(patient, occurred_at, intensity=6)
    assert get_summary(therapist, patient)["flags"]["rising_craving_trend"] is flagged


@time_machine.travel(NOW)
def test_rising_craving_trend_needs_three_entries_in_each_week(therapist):
    patient = patient_of(therapist)
    _weeks(patient, [1, 1], [9, 9, 9])
    body = get_summary(therapist, patient)
    assert body["flags"]["rising_craving_trend"] is False
    assert body["craving_trend"]["previous"]["entries"] == 2


@time_machine.travel(NOW)
def test_deleted_entries_count_for_no_flag(therapist):
    patient = patient_of(therapist)
    entry = log(patient, "2026-11-23T12:00:00-05:00", outcome="lapsed")
    client_for(patient).delete(f"/api/v1/journal/entries/{entry.client_id}/")
    assert get_summary(therapist, patient)["flags"]["lapse_last_7_days"] is False


# --- only what the grants allow ---------------------------------------------------


@time_machine.travel(NOW)
def test_sections_and_flags_not_granted_are_absent(therapist):
    patient = patient_of(therapist, scopes=["checkins"])
    journal_services.counter_create(patient=patient, substance="alcohol", start_date=NOW.date())
    log(patient, "2026-11-23T12:00:00-05:00", outcome="lapsed")
    body = get_summary(therapist, patient)
    assert body["scopes"] == ["checkins"]
    assert set(body) == {"patient", "today", "scopes", "checkins", "flags", "redisclosure_notice"}
    assert body["flags"] == {"no_checkin_3_days": True}


@time_machine.travel(NOW)
def test_counters_alone_show_no_flag(therapist):
    patient = patient_of(therapist, scopes=["counters"])
    journal_services.counter_create(patient=patient, substance="opioids", start_date=NOW.date())
    body = get_summary(therapist, patient)
    assert [c["substance"] for c in body["counters"]] == ["opioids"]
    assert body["flags"] == {}
    assert "checkins" not in body
    assert "craving_trend" not in body
    assert "insights" not in body


@time_machine.travel(NOW)
def test_journal_all_opens_the_entry_flags_but_not_insights(therapist):
    patient = patient_of(therapist, scopes=["journal.all"])
    log(patient, "2026-11-23T12:00:00-05:00", outcome="used")
    body = get_summary(therapist, patient)
    assert body["flags"] == {"rising_craving_trend": False, "lapse_last_7_days": True}
    assert "insights" not in body
    assert "counters" not in body


@time_machine.travel(NOW)
def test_shared_entries_alone_raise_no_flag_from_unshared_ones(therapist):
    patient = patient_of(therapist, scopes=["journal.shared"])
    log(patient, "2026-11-23T12:00:00-05:00", outcome="used")
    body = get_summary(therapist, patient)
    assert body["flags"] == {}
    assert "craving_trend" not in body


@time_machine.travel(NOW)
def test_insights_scope_adds_30_days_of_insights_without_days_sober(therapist):
    patient = patient_of(therapist, scopes=["insights"])
    journal_services.counter_create(patient=patient, substance="alcohol", start_date=NOW.date())
    log(patient, "2026-11-23T12:00:00-05:00", intensity=7, outcome="lapsed")
    log(patient, "2026-10-25T12:00:00-04:00", intensity=9)  # the 31st day back: outside
    body = get_summary(therapist, patient)
    insights = body["insights"]
    assert insights["range"] == {"from": "2026-10-26", "to": "2026-11-24", "days": 30}
    assert insights["totals"] == {"entries": 1, "mean_intensity": 7.0, "peak_intensity": 7}
    assert insights["outcomes"]["lapsed"] == {"count": 1, "share": 1.0}
    assert "counters" not in insights
    assert "counters" not in body
    assert body["flags"] == {"rising_craving_trend": False, "lapse_last_7_days": True}


def family_of(patient, scopes):
    member = FamilyFactory()
    FamilyLinkFactory(patient=patient, member=member)
    grant_for(patient, member, scopes)
    return member


@time_machine.travel(NOW)
def test_family_sees_only_their_scopes():
    patient = PatientFactory()
    family_granted = family_of(patient, ["checkins", "counters", "insights", "crisis_alerts"])
    family = family_of(patient, ["meetings"])
    CheckInFactory(patient=patient, local_date="2026-11-24")
    journal_services.counter_create(patient=patient, substance="alcohol", start_date=NOW.date())
    granted = get_summary(family_granted, patient, family_summary)
    assert granted["scopes"] == ["checkins", "counters", "crisis_alerts", "insights"]
    assert granted["checkins"]["current_streak"] == 1
    assert len(granted["counters"]) == 1
    assert set(granted["flags"]) == {
        "no_checkin_3_days",
        "rising_craving_trend",
        "lapse_last_7_days",
    }
    assert "insights" in granted
    meetings_only = get_summary(family, patient, family_summary)
    assert meetings_only["scopes"] == ["meetings"]
    assert meetings_only["flags"] == {}
    assert set(meetings_only) == {
        "patient",
        "today",
        "scopes",
        "flags",
        "meetings",
        "redisclosure_notice",
    }
    assert meetings_only["meetings"]["this_week"] == 0
    assert meetings_only["meetings"]["last_attended_at"] is None


@time_machine.travel(NOW)
def test_the_caseload_lists_only_patients_who_granted_something(therapist):
    granted = patient_of(therapist, scopes=["checkins"])
    linked = PatientFactory()
    CareLinkFactory(patient=linked, therapist=therapist)
    results = client_for(therapist).get(CASELOAD).json()["results"]
    assert [item["patient"]["id"] for item in results] == [str(granted.pk)]
    assert "insights" not in results[0]


# --- revocation, expiry, other people ---------------------------------------------


def test_a_revoked_grant_answers_404_on_the_next_request(therapist):
    patient = patient_of(therapist)
    client = client_for(therapist)
    assert client.get(care_summary(patient)).status_code == 200
    consent_services.grant_revoke(grant=ConsentGrant.objects.get(patient=patient), by=patient)
    assert_problem(client.get(care_summary(patient)), 404)
    assert client.get(CASELOAD).json()["results"] == []


def test_an_expired_grant_answers_404(therapist):
    patient = PatientFactory()
    CareLinkFactory(patient=patient, therapist=therapist)
    with time_machine.travel(NOW - timedelta(hours=1)):
        grant_for(patient, therapist, ALL, expires_at=NOW + timedelta(days=1))
    with time_machine.travel(NOW):
        assert client_for(therapist).get(care_summary(patient)).status_code == 200
    with time_machine.travel(NOW + timedelta(days=1)):
        assert_problem(client_for(therapist).get(care_summary(patient)), 404)
        assert client_for(therapist).get(CASELOAD).json()["results"] == []


def test_a_patient_without_a_grant_and_an_unknown_id_look_the_same(therapist, linked_therapist):
    patient = patient_of(therapist)
    assert_problem(client_for(linked_therapist).get(care_summary(patient)), 404)
    response = client_for(therapist).get(f"/api/v1/care/patients/{uuid.uuid4()}/summary/")
    assert_problem(response, 404)
    assert not DisclosureLog.objects.exists()


def test_patients_and_family_get_403_on_the_care_endpoints(patient, family_granted):
    assert_problem(client_for(patient).get(care_summary(patient)), 403)
    assert_problem(client_for(family_granted).get(care_summary(patient)), 403)
    assert_problem(client_for(patient).get(family_summary(patient)), 403)


# --- notice and disclosure log ----------------------------------------------------


@time_machine.travel(NOW)
def test_every_summary_carries_the_notice_and_is_not_cached(therapist):
    patient_of(therapist)
    patient = patient_of(therapist)
    for response in (
        client_for(therapist).get(care_summary(patient)),
        client_for(therapist).get(CASELOAD),
    ):
        assert response[REDISCLOSURE_HEADER] == REDISCLOSURE_NOTICE
        assert "no-store" in response["Cache-Control"]
        assert response.json()["redisclosure_notice"] == REDISCLOSURE_NOTICE


@time_machine.travel(NOW)
def test_a_summary_writes_one_disclosure_row_per_kind_shown(therapist):
    patient = patient_of(therapist)
    counter = journal_services.counter_create(
        patient=patient, substance="alcohol", start_date=NOW.date()
    )
    grant = ConsentGrant.objects.get(patient=patient)
    client_for(therapist).get(care_summary(patient), REMOTE_ADDR="203.0.113.7")
    rows = {row.kind: row for row in DisclosureLog.objects.all()}
    assert set(rows) == {"checkin_streak", "counter", "craving_flags", "insights"}
    assert rows["counter"].record_ids == [str(counter.pk)]
    assert rows["counter"].record_count == 1
    for row in rows.values():
        assert (row.viewer, row.patient, row.grant) == (therapist, patient, grant)
        assert row.viewer_role == "therapist"
        assert row.purpose == "treatment"
        assert row.endpoint == f"GET {care_summary(patient)}"
        assert row.ip == "203.0.113.7"


@time_machine.travel(NOW)
def test_the_caseload_logs_each_patient_shown_and_only_the_kinds_granted(therapist):
    first = patient_of(therapist, scopes=["checkins"], display_name="A")
    second = patient_of(therapist, scopes=["journal.all", "counters"], display_name="B")
    client_for(therapist).get(CASELOAD)
    logged = sorted((row.patient_id, row.kind) for row in DisclosureLog.objects.all())
    assert logged == sorted(
        [(first.pk, "checkin_streak"), (second.pk, "craving_flags")]
    )  # second has no counter: nothing of that kind was shown
    row = DisclosureLog.objects.get(patient=second)
    assert row.endpoint == f"GET {CASELOAD}"
    assert row.grant == ConsentGrant.objects.get(patient=second)


@time_machine.travel(NOW)
def test_family_reads_are_logged_under_the_family_grant():
    patient = PatientFactory()
    family_granted = family_of(patient, ["checkins", "insights", "crisis_alerts"])
    client_for(family_granted).get(family_summary(patient))
    kinds = set(DisclosureLog.objects.filter(viewer=family_granted).values_list("kind", flat=True))
    assert kinds == {"checkin_streak", "craving_flags", "insights"}
    assert set(DisclosureLog.objects.values_list("purpose", flat=True)) == {"family_support"}


# --- the caseload list -----------------------------------------------------------


@time_machine.travel(NOW)
def test_the_caseload_filters_by_flag_and_pages_by_name(therapist):
    calm = patient_of(therapist, display_name="Ann")
    CheckInFactory(patient=calm, local_date="2026-11-24")
    lapsed = patient_of(therapist, display_name="Bea")
    CheckInFactory(patient=lapsed, local_date="2026-11-24")
    log(lapsed, "2026-11-23T12:00:00-05:00", outcome="lapsed")
    silent = patient_of(therapist, display_name="Cy", scopes=["checkins"])
    client = client_for(therapist)

    def names(**params):
        response = client.get(CASELOAD, params)
        assert response.status_code == 200, response.content
        return [item["patient"]["display_name"] for item in response.json()["results"]]

    assert names() == ["Ann", "Bea", "Cy"]
    assert names(flag="lapse_last_7_days") == ["Bea"]
    assert names(flag="no_checkin_3_days") == ["Cy"]
    assert names(flag="rising_craving_trend") == []
    first = client.get(CASELOAD, {"page_size": 2}).json()
    assert [i["patient"]["display_name"] for i in first["results"]] == ["Ann", "Bea"]
    rest = client.get(first["next"]).json()
    assert [i["patient"]["display_name"] for i in rest["results"]] == ["Cy"]
    assert silent.pk  # listed once, on the second page
    assert_problem(client.get(CASELOAD, {"flag": "sad"}), 400)


# --- a fixed number of queries ----------------------------------------------------


def _caseload(therapist, size: int) -> list:
    patients = []
    zones = ("Pacific/Auckland", "America/Los_Angeles", "America/New_York", "Asia/Kathmandu")
    for number in range(size):
        patient = patient_of(therapist, time_zone=zones[number % len(zones)])
        CheckInFactory(patient=patient, local_date="2026-11-23")
        log(patient, "2026-11-20T12:00:00Z", outcome="lapsed")
        journal_services.counter_create(
            patient=patient, substance="alcohol", start_date=date(2026, 10, 1)
        )
        patients.append(patient)
    return patients


@time_machine.travel(NOW)
def test_summaries_for_runs_the_same_queries_for_1_and_30_patients(therapist):
    caseloads = {1: therapist, 30: TherapistFactory()}
    patients = {size: _caseload(owner, size) for size, owner in caseloads.items()}

    def summaries(size: int) -> None:
        found = summaries_for(caseloads[size], patients[size], now=timezone.now())
        assert len(found) == size
        assert all(s["flags"]["lapse_last_7_days"] for s in found.values())

    assert assert_flat_queries(summaries, (1, 30)) == 4


@time_machine.travel(NOW)
def test_meeting_attendance_adds_two_queries_whatever_the_number_of_patients(therapist):

    def caseload(owner, size):
        patients = []
        for number in range(size):
            patient = patient_of(owner, scopes=["meetings", "checkins"])
            for days in (1, 9):
                Attendance.objects.create(
                    patient=patient,
                    name="Group",
                    attended_at=NOW - timedelta(days=days, minutes=number),
                )
            patients.append(patient)
        return patients

    caseloads = {1: therapist, 30: TherapistFactory()}
    patients = {size: caseload(owner, size) for size, owner in caseloads.items()}

    def summaries(size: int) -> None:
        found = summaries_for(caseloads[size], patients[size], now=timezone.now())
        assert all(sum(w["count"] for w in s["meetings"]["weeks"]) == 2 for s in found.values())

    assert assert_flat_queries(summaries, (1, 30)) == 4


@time_machine.travel(NOW)
def test_the_caseload_page_runs_the_same_queries_for_1_and_30_patients(therapist):
    _caseload(therapist, 30)
    client = client_for(therapist)
    page = assert_flat_queries(lambda size: full_page(client, CASELOAD, size), (1, 30))
    with CaptureQueriesContext(connection) as flagged:
        response = client.get(CASELOAD, {"flag": "lapse_last_7_days", "page_size": 30})
    assert len(response.json()["results"]) == 30
    assert len(flagged.captured_queries) <= page + 5


@time_machine.travel(NOW)
def test_one_patients_summary_runs_a_fixed_number_of_queries(therapist):
    [patient] = _caseload(therapist, 1)
    client = client_for(therapist)

    def more_records(days: int) -> None:
        for day in range(1, days):
            log(patient, f"2026-11-{day:02d}T12:00:00Z", outcome="used")
            CheckInFactory(patient=patient, local_date=f"2026-11-{day:02d}")

    def summary(days: int) -> None:
        assert client.get(care_summary(patient)).status_code == 200

    assert_flat_queries(summary, (1, 20), prepare=more_records)


def test_every_flag_is_documented_in_the_schema_serializer():

    assert set(SummaryFlagsSerializer().fields) == set(FLAGS)


@time_machine.travel(NOW)
@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        (
            ["insights"],
            [
                {"category": "places", "label": None, "count": 2},
                {"category": "emotions", "label": None, "count": 1},
            ],
        ),
        (
            ["insights", "journal.all"],
            [
                {"category": "emotions", "label": "Lonely", "count": 1},
                {"category": "places", "label": "Bar on 5th", "count": 1},
                {"category": "places", "label": "Old street", "count": 1},
            ],
        ),
    ],
)
def test_trigger_labels_are_the_patients_words_and_need_journal_all(therapist, scopes, expected):
    patient = patient_of(therapist, scopes=scopes)
    EntryFactory(
        patient=patient,
        occurred_at="2026-11-23T12:00:00-05:00",
        triggers=[
            {"category": "places", "label": "Bar on 5th"},
            {"category": "emotions", "label": "Lonely"},
        ],
    )
    EntryFactory(
        patient=patient,
        occurred_at="2026-11-22T12:00:00-05:00",
        triggers=[{"category": "places", "label": "Old street"}],
    )
    triggers = get_summary(therapist, patient)["insights"]["top_triggers"]
    assert (
        sorted(triggers, key=lambda t: (-t["count"], t["category"], t["label"] or "")) == expected
    )
