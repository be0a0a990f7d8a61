import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from backend.journal.models import CheckIn, CounterDecision
from tests.factories import EntryFactory
from tests.helpers import assert_flat_queries, assert_problem, client_for, full_page, problem_fields

pytestmark = pytest.mark.django_db

CHECKINS = "/api/v1/journal/checkins/"
COUNTERS = "/api/v1/journal/counters/"


def checkin(day: str, **overrides) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "local_date": day,
        "mood": 1,
        "sleep_hours": "7.5",
        "peak_craving": 3,
        "used_today": False,
        "medication": "not_prescribed",
        "note": "Grateful for my sister.",
        **overrides,
    }


@time_machine.travel(datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
def test_one_check_in_per_local_day_and_retries_are_harmless(patient):
    client = client_for(patient)
    first = checkin("2026-11-24")
    assert client.post(CHECKINS, first, format="json").status_code == 201
    assert client.post(CHECKINS, first, format="json").status_code == 200
    second = client.post(CHECKINS, checkin("2026-11-24", mood=-2), format="json")
    body = assert_problem(second, 409)
    assert body["current"]["id"] == first["id"]
    assert CheckIn.objects.count() == 1


@time_machine.travel(datetime(2026, 11, 24, 3, 0, tzinfo=UTC))
def test_a_check_in_date_in_the_future_of_the_patients_zone_is_refused(patient):
    # 03:00 UTC is still 22:00 on the 23rd in New York.
    response = client_for(patient).post(CHECKINS, checkin("2026-11-24"), format="json")
    assert "local_date" in problem_fields(response)
    assert (
        client_for(patient).post(CHECKINS, checkin("2026-11-23"), format="json").status_code == 201
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"mood": 5}, "mood"),
        ({"peak_craving": 11}, "peak_craving"),
        ({"sleep_hours": "25"}, "sleep_hours"),
        ({"medication": "sometimes"}, "medication"),
        ({"used_today": "maybe"}, "used_today"),
        ({"local_date": "24/11/2026"}, "local_date"),
        ({"note": "x" * 2001}, "note"),
    ],
)
def test_bad_check_in_input_gets_field_errors(patient, overrides, field):
    response = client_for(patient).post(CHECKINS, checkin("2026-11-20", **overrides), format="json")
    assert_problem(response, 400)
    assert field in problem_fields(response)


def test_check_in_updates_need_if_match(patient):
    client = client_for(patient)
    body = checkin("2026-11-20")
    client.post(CHECKINS, body, format="json")
    url = f"{CHECKINS}{body['id']}/"
    assert_problem(client.patch(url, {"mood": 3}, format="json"), 428)
    assert (
        client.patch(url, {"mood": 3}, format="json", headers={"If-Match": '"1"'}).json()["version"]
        == 2
    )
    assert (
        assert_problem(
            client.patch(url, {"mood": 0}, format="json", headers={"If-Match": '"1"'}), 412
        )["current"]["mood"]
        == 3
    )


@pytest.mark.parametrize(
    ("zone", "now_utc", "days", "expected"),
    [
        # 01:00 UTC on the 24th is the evening of the 23rd in New York: the 23rd counts as today.
        (
            "America/New_York",
            datetime(2026, 11, 24, 1, 0, tzinfo=UTC),
            ["2026-11-21", "2026-11-22", "2026-11-23"],
            (3, 3, True),
        ),
        # Today not yet checked in: a run that reached yesterday is still current.
        (
            "America/New_York",
            datetime(2026, 11, 24, 15, 0, tzinfo=UTC),
            ["2026-11-21", "2026-11-22", "2026-11-23"],
            (3, 3, False),
        ),
        # A missed day breaks the run; the longest stays.
        (
            "America/New_York",
            datetime(2026, 11, 24, 15, 0, tzinfo=UTC),
            ["2026-11-10", "2026-11-11", "2026-11-12", "2026-11-20"],
            (0, 3, False),
        ),
        # East of UTC: 20:00 UTC on the 23rd is already the 24th in Kolkata.
        (
            "Asia/Kolkata",
            datetime(2026, 11, 23, 20, 0, tzinfo=UTC),
            ["2026-11-23", "2026-11-24"],
            (2, 2, True),
        ),
        # Across the New York fall-back change (2026-11-01).
        (
            "America/New_York",
            datetime(2026, 11, 2, 12, 0, tzinfo=UTC),
            ["2026-10-31", "2026-11-01", "2026-11-02"],
            (3, 3, True),
        ),
    ],
)
def test_the_streak_is_counted_in_the_patients_time_zone(patient, zone, now_utc, days, expected):
    patient.time_zone = zone
    patient.save()
    with time_machine.travel(now_utc):
        for day in days:
            assert (
                client_for(patient).post(CHECKINS, checkin(day), format="json").status_code == 201
            )
        streak = client_for(patient).get(f"{CHECKINS}streak/").json()
    assert (streak["current"], streak["longest"], streak["checked_in_today"]) == expected


def test_the_streak_takes_two_queries_however_long_the_history(patient):
    client = client_for(patient)
    made = []

    def history(days: int) -> None:
        for offset in range(len(made), days):
            made.append(
                CheckIn.objects.create(
                    patient=patient, client_id=uuid.uuid4(), local_date=date(2026, 9, 1) + timedelta(days=offset), mood=0, peak_craving=1,
                    used_today=False, medication="yes", seq=offset + 1,
                )
            )  # fmt: skip

    def streak(days: int) -> None:
        assert client.get(f"{CHECKINS}streak/").json()["longest"] == days

    assert_flat_queries(streak, (5, 60), prepare=history, at_most=2)


@time_machine.travel(datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
def test_a_used_entry_never_resets_a_counter_the_patient_decides(patient):
    client = client_for(patient)
    counter = client.post(
        COUNTERS, {"substance": "alcohol", "start_date": "2026-10-25"}, format="json"
    ).json()
    assert counter["days_sober"] == 30
    used = EntryFactory(
        patient=patient,
        substance="alcohol",
        outcome="used",
        occurred_at="2026-11-23T20:00:00-05:00",
    )
    EntryFactory(
        patient=patient, substance="opioids", outcome="used"
    )  # no counter for opioids: nothing to decide

    counter = client.get(f"{COUNTERS}{counter['id']}/").json()
    assert counter["days_sober"] == 30, "nothing resets silently"
    assert [p["entry"] for p in counter["pending_decisions"]] == [str(used.client_id)]

    decided = client.post(
        f"{COUNTERS}{counter['id']}/decisions/",
        {"decision": "reset", "new_start_date": "2026-11-24", "entry": str(used.client_id)},
        format="json",
    )
    assert decided.status_code == 201
    assert decided.json()["previous_start_date"] == "2026-10-25"
    counter = client.get(f"{COUNTERS}{counter['id']}/").json()
    assert (counter["days_sober"], counter["start_date"], counter["pending_decisions"]) == (
        0,
        "2026-11-24",
        [],
    )
    history = client.get(f"{COUNTERS}{counter['id']}/decisions/").json()["results"]
    assert [h["decision"] for h in history] == ["reset"]
    again = client.post(
        f"{COUNTERS}{counter['id']}/decisions/",
        {"decision": "keep", "entry": str(used.client_id)},
        format="json",
    )
    assert_problem(again, 409)


@time_machine.travel(datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
def test_keeping_a_counter_after_a_use_is_recorded_too(patient):
    client = client_for(patient)
    counter = client.post(
        COUNTERS, {"substance": "cannabis", "start_date": "2026-11-01"}, format="json"
    ).json()
    used = EntryFactory(patient=patient, substance="cannabis", outcome="lapsed")
    client.post(
        f"{COUNTERS}{counter['id']}/decisions/",
        {"decision": "keep", "entry": str(used.client_id)},
        format="json",
    )
    decision = CounterDecision.objects.get(entry=used)
    assert (decision.decision, decision.new_start_date) == ("keep", date(2026, 11, 1))
    assert client.get(f"{COUNTERS}{counter['id']}/").json()["days_sober"] == 23


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "reset"}, "new_start_date"),
        ({"decision": "reset", "new_start_date": "2999-01-01"}, "new_start_date"),
        ({"decision": "keep", "new_start_date": "2026-11-01"}, "new_start_date"),
        ({"decision": "maybe"}, "decision"),
        ({"decision": "keep", "entry": str(uuid.uuid4())}, "entry"),
    ],
)
def test_bad_decisions_are_400(patient, body, field):
    client = client_for(patient)
    counter = client.post(
        COUNTERS, {"substance": "nicotine", "start_date": "2026-11-01"}, format="json"
    ).json()
    response = client.post(f"{COUNTERS}{counter['id']}/decisions/", body, format="json")
    assert_problem(response, 400)
    assert field in problem_fields(response)


def test_one_counter_per_substance_and_no_future_start(patient):
    client = client_for(patient)
    assert (
        client.post(
            COUNTERS, {"substance": "alcohol", "start_date": "2026-11-01"}, format="json"
        ).status_code
        == 201
    )
    assert_problem(
        client.post(COUNTERS, {"substance": "alcohol", "start_date": "2026-11-02"}, format="json"),
        409,
    )
    future = client.post(
        COUNTERS, {"substance": "gambling", "start_date": "2999-01-01"}, format="json"
    )
    assert "start_date" in problem_fields(future)


def test_counter_lists_run_a_fixed_number_of_queries(patient):
    client = client_for(patient)
    for substance in ("alcohol", "opioids", "nicotine", "cannabis", "gambling"):
        client.post(COUNTERS, {"substance": substance, "start_date": "2026-11-01"}, format="json")
        EntryFactory(patient=patient, substance=substance, outcome="used")
    assert_flat_queries(lambda size: full_page(client, COUNTERS, size), (1, 5), at_most=3)
    rows = client.get(COUNTERS).json()["results"]
    assert all(len(row["pending_decisions"]) == 1 for row in rows)
