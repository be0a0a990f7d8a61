"""Planning on each patient's clock: daylight saving, quiet hours, zones, caps, exactly once."""

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection

from backend.accounts import services as account_services
from backend.homework import services as homework_services
from backend.meetings import services as meeting_services
from backend.nudges import planning
from backend.nudges import services as nudge_services
from backend.nudges.models import Nudge, NudgePreferences
from tests.factories import CareLinkFactory, PatientFactory
from tests.helpers import requires_postgres
from tests.meetings.helpers import make_meetings, record

pytestmark = pytest.mark.django_db


def _rule(patient, **data):
    return nudge_services.rule_create(patient=patient, data={"kind": "checkin", **data})


def _due(patient) -> list[str]:
    return [
        n.due_at.astimezone(UTC).isoformat()
        for n in Nudge.objects.filter(recipient=patient).order_by("due_at")
    ]


def test_a_daily_check_in_is_planned_once_however_often_planning_runs():
    patient = PatientFactory(time_zone="America/New_York")
    _rule(patient, times=["20:00"])
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    planning.plan(now)
    planning.plan(now)
    planning.plan(datetime(2026, 11, 24, 12, 30, tzinfo=UTC))
    assert _due(patient) == ["2026-11-25T01:00:00+00:00"]  # 20:00 EST


def test_the_same_local_time_on_both_sides_of_utc():
    auckland = PatientFactory(time_zone="Pacific/Auckland")
    los_angeles = PatientFactory(time_zone="America/Los_Angeles")
    for patient in (auckland, los_angeles):
        _rule(patient, times=["08:00"])
    planning.plan(datetime(2026, 11, 24, 0, tzinfo=UTC))
    # Auckland (UTC+13 in November): 08:00 on the 25th; Los Angeles (UTC-8): 08:00 on the 24th.
    assert _due(auckland) == ["2026-11-24T19:00:00+00:00"]
    assert _due(los_angeles) == ["2026-11-24T16:00:00+00:00"]


def test_spring_forward_moves_a_skipped_time_and_fall_back_plans_a_doubled_time_once():
    patient = PatientFactory(time_zone="America/New_York")
    _rule(patient, kind="custom", times=["02:30"])
    _rule(patient, kind="custom", times=["01:30"])
    planning.plan(datetime(2026, 3, 7, 12, tzinfo=UTC))
    # 8 March 2026, 02:30 does not exist: sent at 03:30 EDT (07:30 UTC).
    assert "2026-03-08T07:30:00+00:00" in _due(patient)
    Nudge.objects.all().delete()
    planning.plan(datetime(2026, 10, 31, 12, tzinfo=UTC))
    # 1 November 2026, 01:30 happens twice: planned once, at the first (EDT).
    november_first = [due for due in _due(patient) if due.startswith("2026-11-01T05:30")]
    assert november_first == ["2026-11-01T05:30:00+00:00"]
    assert "2026-11-01T06:30:00+00:00" not in _due(patient)


@pytest.mark.parametrize(
    ("at", "policy", "expected"),
    [
        ("23:00", "shift", ["2026-11-25T12:00:00+00:00"]),  # to 07:00 the next morning
        ("06:00", "shift", ["2026-11-25T12:00:00+00:00"]),  # to 07:00 the same morning
        ("23:00", "drop", []),
        ("21:00", "drop", ["2026-11-25T02:00:00+00:00"]),  # before quiet hours: untouched
    ],
)
def test_quiet_hours_that_wrap_midnight(at, policy, expected):
    patient = PatientFactory(
        time_zone="America/New_York", quiet_hours_start=time(22), quiet_hours_end=time(7)
    )
    _rule(patient, kind="custom", times=[at], quiet_hours=policy)
    planning.plan(datetime(2026, 11, 24, 14, tzinfo=UTC), rules=None)
    due = [d for d in _due(patient) if d < "2026-11-25T14:00"]
    assert due == expected


def test_the_daily_cap_keeps_the_earliest_of_each_local_day():
    patient = PatientFactory(time_zone="Europe/Berlin")
    NudgePreferences.objects.create(patient=patient, daily_cap=2)
    _rule(patient, kind="custom", times=["09:00", "13:00", "18:00"])
    planning.plan(datetime(2026, 11, 24, 6, tzinfo=UTC))
    planning.plan(datetime(2026, 11, 24, 7, tzinfo=UTC))
    on_the_24th = [d for d in _due(patient) if d.startswith("2026-11-24")]
    assert on_the_24th == ["2026-11-24T08:00:00+00:00", "2026-11-24T12:00:00+00:00"]


def test_weekdays_limit_a_custom_rule():
    patient = PatientFactory(time_zone="UTC")
    _rule(patient, kind="custom", times=["10:00"], weekdays=[2])  # Wednesdays
    planning.plan(datetime(2026, 11, 24, 0, tzinfo=UTC))  # a Tuesday; horizon 36 hours
    assert _due(patient) == ["2026-11-25T10:00:00+00:00"]


def test_a_saved_meeting_is_reminded_before_its_next_start_in_its_own_zone():
    patient = PatientFactory(time_zone="America/Los_Angeles")
    [meeting] = make_meetings(record(day=2, time="19:30"))  # Tuesdays, New York
    meeting_services.meeting_save(patient=patient, meeting=meeting)
    nudge_services.rule_create(
        patient=patient, data={"kind": "meeting", "meeting": meeting, "lead_minutes": 45}
    )
    planning.plan(datetime(2026, 11, 24, 12, tzinfo=UTC))
    assert _due(patient) == ["2026-11-24T23:45:00+00:00"]  # 18:45 in New York


def test_paused_suggested_and_closed_accounts_plan_nothing():
    patient = PatientFactory()
    rule = _rule(patient, times=["20:00"])
    nudge_services.rule_update(rule=rule, data={"status": "paused"})
    other = PatientFactory(is_active=False)
    _rule(other, times=["20:00"])
    planning.plan(datetime(2026, 11, 24, 12, tzinfo=UTC))
    assert not Nudge.objects.exists()


@requires_postgres("concurrent connections")
@pytest.mark.django_db(transaction=True)
def test_two_planners_at_once_insert_each_nudge_once():
    patients = [PatientFactory(time_zone="UTC") for _ in range(5)]
    for patient in patients:
        _rule(patient, kind="custom", times=["09:00", "12:00", "18:00"])
    now = datetime(2026, 11, 24, 0, tzinfo=UTC)
    barrier = threading.Barrier(3)

    def run():
        barrier.wait()
        planning.plan(now)
        connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Nudge.objects.count() == 5 * 4  # 3 on the 24th, 1 before noon on the 25th


def test_homework_is_reminded_before_the_end_of_its_due_date_on_the_patients_clock():

    patient = PatientFactory(time_zone="Asia/Kolkata")  # UTC+05:30
    therapist = CareLinkFactory(patient=patient).therapist
    now = datetime(2026, 11, 24, 0, tzinfo=UTC)

    with time_machine.travel(now):
        homework_services.homework_assign(
            therapist=therapist,
            patient=patient,
            data={"title": "Thought record", "kind": "worksheet", "due_date": date(2026, 11, 24)},
            template=None,
        )
        nudge_services.rule_create(patient=patient, data={"kind": "homework", "lead_minutes": 240})
        planning.plan(now)
    # Due by the end of 24 November in Kolkata (18:30 UTC); four hours before: 14:30 UTC.
    assert _due(patient) == ["2026-11-24T14:30:00+00:00"]
    assert Nudge.objects.get().title == "Something you planned is due soon"


def test_a_sweep_reads_only_the_rules_whose_moment_entered_the_horizon(
    django_assert_max_num_queries,
):
    for number in range(20):
        _rule(PatientFactory(time_zone="UTC"), times=[f"{number % 24:02d}:30"])
    now = datetime(2026, 11, 24, 0, tzinfo=UTC)
    planning.plan(now)
    assert planning.rules_due(now, now + planning.HORIZON).count() == 0
    # A minute later nothing new entered the horizon: nothing is read, whatever the rules.
    later = now + timedelta(minutes=1)
    assert planning.rules_due(later, later + planning.HORIZON).count() == 0
    with django_assert_max_num_queries(3):
        planning.plan(later)
    # A day on, each rule's next moment has entered it again.
    next_day = now + timedelta(days=1)
    assert planning.rules_due(next_day, next_day + planning.HORIZON).count() == 20


def test_slots_moved_to_the_end_of_quiet_hours_make_one_nudge():
    patient = PatientFactory(
        time_zone="Pacific/Auckland", quiet_hours_start=time(22), quiet_hours_end=time(7)
    )
    _rule(patient, kind="custom", times=["23:00", "06:00", "06:59"])
    planning.plan(datetime(2026, 11, 24, 6, tzinfo=UTC))  # 19:00 in Auckland
    morning = [d for d in _due(patient) if d.startswith("2026-11-24T18:00")]  # 07:00 NZDT
    assert morning == ["2026-11-24T18:00:00+00:00"]


def test_a_new_time_zone_plans_again_on_the_new_clock(patient):

    _rule(patient, times=["20:30"])
    planning.plan(datetime(2026, 11, 24, 12, tzinfo=UTC))
    assert _due(patient) == ["2026-11-25T01:30:00+00:00"]  # New York
    account_services.user_update_profile(user=patient, data={"time_zone": "Asia/Tokyo"})
    planning.plan(datetime(2026, 11, 24, 12, 1, tzinfo=UTC))
    assert _due(patient) == ["2026-11-25T11:30:00+00:00"]  # 20:30 in Tokyo, and only that
