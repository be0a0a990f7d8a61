import random
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from backend.consent import policy
from backend.journal import reports, services
from backend.journal.access import COUNTER, ENTRY_FIGURES
from backend.journal.serializers import EntryUpdateSerializer
from backend.journal.services import EntryOp, entries_apply
from tests.factories import EntryFactory
from tests.helpers import assert_flat_queries, assert_problem, client_for, problem_fields

pytestmark = pytest.mark.django_db


def own_insights(patient, start, end):
    """The insights a patient gets of their own journal, as the insights endpoint builds them."""
    return reports.insights_for(
        patient,
        start,
        end,
        entries=policy.readable(patient, ENTRY_FIGURES),
        counters=policy.readable(patient, COUNTER),
        trigger_labels=True,
    )


INSIGHTS = "/api/v1/journal/insights/"
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 10:00 in New York


def log(patient, occurred_at: str, **overrides):
    """An entry with nothing but what the test names (no triggers, HALT or coping)."""
    fields = {
        "occurred_at": occurred_at,
        "intensity": 5,
        "intensity_after": None,
        "triggers": [],
        "halt": [],
        "coping_skills": [],
        "outcome": "resisted",
        **overrides,
    }
    return EntryFactory(patient=patient, **fields)


def cells(heatmap: list[list[int]]) -> dict[tuple[int, int], int]:
    """The heatmap's non-zero cells as {(weekday, hour): count}."""
    return {
        (weekday, hour): count
        for weekday, row in enumerate(heatmap)
        for hour, count in enumerate(row)
        if count
    }


def insights(patient, **params):
    response = client_for(patient).get(INSIGHTS, params)
    assert response.status_code == 200, response.content
    return response.json()


@time_machine.travel(NOW)
def test_known_entries_give_exact_days_totals_shares_triggers_and_heatmap(patient):
    bar = {"category": "places", "label": "Bar on 5th"}
    log(patient, "2026-11-20T21:30:00-05:00", intensity=6, intensity_after=3,
        coping_skills=["urge surfing"], halt=["lonely", "tired"],
        triggers=[bar, {"category": "emotions", "label": "Lonely"}])  # fmt: skip
    log(patient, "2026-11-20T08:00:00-05:00", intensity=8, coping_skills=["call sponsor"],
        halt=["hungry"], triggers=[bar], outcome="lapsed")  # fmt: skip
    # 04:30 UTC on the 23rd, but still the 22nd on the patient's clock.
    log(patient, "2026-11-22T23:30:00-05:00", intensity=4, intensity_after=4, outcome="used")
    log(patient, "2026-11-23T12:00:00-05:00", intensity=2, intensity_after=0,
        coping_skills=["walk"], halt=["tired"], triggers=[{"category": "people", "label": "Brother"}])  # fmt: skip
    # Just outside the range on either side.
    log(patient, "2026-11-19T23:59:00-05:00", intensity=10, triggers=[bar])
    log(patient, "2026-11-24T00:30:00-05:00", intensity=10, triggers=[bar])

    body = insights(patient, **{"from": "2026-11-20", "to": "2026-11-23"})

    assert body["time_zone"] == "America/New_York"
    assert body["range"] == {"from": "2026-11-20", "to": "2026-11-23", "days": 4}
    assert body["totals"] == {"entries": 4, "mean_intensity": 5.0, "peak_intensity": 8}
    assert body["days"] == [
        # The lapse of the 20th and the use of the 22nd (its local date) are each day's lapses.
        {"date": "2026-11-20", "count": 2, "mean_intensity": 7.0, "peak_intensity": 8, "lapses": 1},
        {
            "date": "2026-11-21",
            "count": 0,
            "mean_intensity": None,
            "peak_intensity": None,
            "lapses": 0,
        },
        {"date": "2026-11-22", "count": 1, "mean_intensity": 4.0, "peak_intensity": 4, "lapses": 1},
        {"date": "2026-11-23", "count": 1, "mean_intensity": 2.0, "peak_intensity": 2, "lapses": 0},
    ]
    assert body["top_triggers"] == [
        {"category": "places", "label": "Bar on 5th", "count": 2},
        {"category": "emotions", "label": "Lonely", "count": 1},
        {"category": "people", "label": "Brother", "count": 1},
    ]
    assert body["halt"] == {
        "hungry": {"count": 1, "share": 0.25},
        "angry": {"count": 0, "share": 0.0},
        "lonely": {"count": 1, "share": 0.25},
        "tired": {"count": 2, "share": 0.5},
    }
    assert body["outcomes"] == {
        "resisted": {"count": 2, "share": 0.5},
        "lapsed": {"count": 1, "share": 0.25},
        "used": {"count": 1, "share": 0.25},
        "ongoing": {"count": 0, "share": 0.0},
    }
    assert len(body["heatmap"]) == 7
    assert all(len(row) == 24 for row in body["heatmap"])
    # Friday 21:00 and 08:00, Sunday 23:00, Monday 12:00 (weekday 0 = Monday).
    assert cells(body["heatmap"]) == {(4, 21): 1, (4, 8): 1, (6, 23): 1, (0, 12): 1}
    # Coping used with an after-intensity: 6 -> 3 and 2 -> 0. The lapse had no
    # after-intensity and the use no coping, so neither counts.
    assert body["coping"] == {"entries": 2, "mean_intensity_drop": 2.5}


@time_machine.travel(NOW)
def test_shares_are_rounded_and_an_empty_range_has_no_means_or_shares(patient):
    for halt in (["angry"], [], []):
        log(patient, "2026-11-20T12:00:00-05:00", halt=halt, intensity=7)
    log(patient, "2026-11-21T12:00:00-05:00", intensity=8)
    body = insights(patient, **{"from": "2026-11-20", "to": "2026-11-20"})
    assert body["halt"]["angry"] == {"count": 1, "share": 0.3333}
    assert body["days"] == [
        {"date": "2026-11-20", "count": 3, "mean_intensity": 7.0, "peak_intensity": 7, "lapses": 0}
    ]

    empty = insights(patient, **{"from": "2026-11-01", "to": "2026-11-02"})
    assert empty["totals"] == {"entries": 0, "mean_intensity": None, "peak_intensity": None}
    assert empty["halt"]["tired"] == {"count": 0, "share": None}
    assert empty["outcomes"]["resisted"] == {"count": 0, "share": None}
    assert empty["coping"] == {"entries": 0, "mean_intensity_drop": None}
    assert empty["top_triggers"] == []
    assert cells(empty["heatmap"]) == {}
    assert [day["count"] for day in empty["days"]] == [0, 0]


@time_machine.travel(NOW)
def test_another_patients_entries_and_deleted_entries_never_count(patient, other_patient):
    secret = {"category": "people", "label": "Old dealer"}
    log(other_patient, "2026-11-20T12:00:00-05:00", intensity=10, triggers=[secret])
    deleted = log(patient, "2026-11-20T13:00:00-05:00", intensity=9, triggers=[secret])
    [result] = entries_apply(patient=patient, ops=[EntryOp("delete", deleted.client_id, None)])
    assert result.status == "updated"
    log(patient, "2026-11-20T14:00:00-05:00", intensity=3, halt=["hungry"])

    body = insights(patient, **{"from": "2026-11-20", "to": "2026-11-20"})
    assert body["totals"] == {"entries": 1, "mean_intensity": 3.0, "peak_intensity": 3}
    assert body["top_triggers"] == []
    assert body["halt"]["hungry"] == {"count": 1, "share": 1.0}
    assert cells(body["heatmap"]) == {(4, 14): 1}

    theirs = insights(other_patient, **{"from": "2026-11-20", "to": "2026-11-20"})
    assert theirs["totals"]["entries"] == 1
    assert theirs["top_triggers"] == [{"category": "people", "label": "Old dealer", "count": 1}]


@time_machine.travel(NOW)
def test_the_fall_back_day_has_25_hours_and_01_30_happens_twice(patient):
    # New York, 1 November 2026: 02:00 EDT becomes 01:00 EST.
    for occurred_at in [
        "2026-10-31T23:30:00-04:00",  # Saturday night
        "2026-11-01T00:30:00-04:00",
        "2026-11-01T01:30:00-04:00",  # 05:30 UTC, the first 01:30
        "2026-11-01T01:30:00-05:00",  # 06:30 UTC, the second 01:30
        "2026-11-01T23:30:00-05:00",  # 04:30 UTC on the 2nd: still Sunday locally
        "2026-11-02T00:10:00-05:00",
    ]:
        log(patient, occurred_at)

    body = own_insights(patient, date(2026, 10, 31), date(2026, 11, 2))

    assert [(str(day["date"]), day["count"]) for day in body["days"]] == [
        ("2026-10-31", 1),
        ("2026-11-01", 4),
        ("2026-11-02", 1),
    ]
    assert cells(body["heatmap"]) == {(5, 23): 1, (6, 0): 1, (6, 1): 2, (6, 23): 1, (0, 0): 1}

    # The 25-hour day alone holds exactly its four entries.
    only_sunday = own_insights(patient, date(2026, 11, 1), date(2026, 11, 1))
    assert only_sunday["totals"]["entries"] == 4


@time_machine.travel(NOW)
def test_the_spring_forward_day_has_23_hours_and_no_02_00(patient):
    # New York, 8 March 2026: 02:00 EST becomes 03:00 EDT.
    for occurred_at in [
        "2026-03-07T23:30:00-05:00",  # 04:30 UTC on the 8th: Saturday locally
        "2026-03-08T01:59:00-05:00",  # 06:59 UTC, the last minute before the gap
        "2026-03-08T03:00:00-04:00",  # 07:00 UTC, one minute later
        "2026-03-08T07:30:00Z",  # 03:30 EDT
        "2026-03-08T23:30:00-04:00",  # 03:30 UTC on the 9th: still Sunday locally
    ]:
        log(patient, occurred_at)

    body = own_insights(patient, date(2026, 3, 7), date(2026, 3, 9))

    assert [day["count"] for day in body["days"]] == [1, 4, 0]
    assert cells(body["heatmap"]) == {(5, 23): 1, (6, 1): 1, (6, 3): 2, (6, 23): 1}
    assert own_insights(patient, date(2026, 3, 8), date(2026, 3, 8))["totals"]["entries"] == 4


@pytest.mark.parametrize(
    ("time_zone", "instants", "start", "end", "per_day", "expected_cells"),
    [
        pytest.param(
            "Asia/Kolkata",  # UTC+05:30, no daylight saving
            ["2026-11-10T18:00:00Z", "2026-11-10T19:45:00Z"],
            date(2026, 11, 10),
            date(2026, 11, 11),
            # 23:30 on Tuesday the 10th, then 01:15 on Wednesday the 11th (UTC: both the 10th).
            [1, 1],
            {(1, 23): 1, (2, 1): 1},
            id="kolkata",
        ),
        pytest.param(
            "Australia/Sydney",  # 4 October 2026: 02:00 AEST becomes 03:00 AEDT
            ["2026-10-03T13:30:00Z", "2026-10-03T15:30:00Z", "2026-10-03T16:30:00Z"],
            date(2026, 10, 3),
            date(2026, 10, 4),
            # 23:30 Saturday (+10), 01:30 Sunday (+10), 03:30 Sunday (+11); UTC: all the 3rd.
            [1, 2],
            {(5, 23): 1, (6, 1): 1, (6, 3): 1},
            id="sydney",
        ),
    ],
)
@time_machine.travel(NOW)
def test_days_and_hours_east_of_utc_follow_the_local_clock(
    patient, time_zone, instants, start, end, per_day, expected_cells
):
    patient.time_zone = time_zone
    patient.save(update_fields=["time_zone"])
    for instant in instants:
        log(patient, instant)

    body = insights(patient, **{"from": start.isoformat(), "to": end.isoformat()})

    assert body["time_zone"] == time_zone
    assert [day["count"] for day in body["days"]] == per_day
    assert cells(body["heatmap"]) == expected_cells
    # The last local day alone: the earlier UTC date's entries that are local "tomorrow" count.
    last = insights(patient, **{"from": end.isoformat(), "to": end.isoformat()})
    assert last["totals"]["entries"] == per_day[-1]


@time_machine.travel(datetime(2026, 11, 24, 3, 0, tzinfo=UTC))  # still the 23rd in New York
def test_the_default_range_is_the_last_30_days_in_the_patients_zone(patient):
    log(patient, "2026-11-24T02:00:00Z")  # 21:00 on the 23rd in New York
    log(patient, "2026-10-24T23:00:00-04:00")  # the day before the range

    body = insights(patient)

    assert body["range"] == {"from": "2026-10-25", "to": "2026-11-23", "days": 30}
    assert body["today"] == "2026-11-23"
    assert body["days"][0]["date"] == "2026-10-25"
    assert body["days"][-1] == {
        "date": "2026-11-23",
        "count": 1,
        "mean_intensity": 5.0,
        "peak_intensity": 5,
        "lapses": 0,
    }
    assert body["totals"]["entries"] == 1
    assert insights(patient, to="2026-11-10")["range"] == {
        "from": "2026-10-12",
        "to": "2026-11-10",
        "days": 30,
    }
    assert insights(patient, **{"from": "2026-11-20"})["range"] == {
        "from": "2026-11-20",
        "to": "2026-11-23",
        "days": 4,
    }


@time_machine.travel(NOW)
def test_a_leap_year_fits_in_one_range(patient):
    body = insights(patient, **{"from": "2024-01-01", "to": "2024-12-31"})
    assert body["range"]["days"] == 366
    assert len(body["days"]) == 366


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-11-10", "to": "2026-11-09"}, "from"),
        ({"from": "2026-11-30"}, "from"),  # after today, the default `to`
        ({"from": "2025-11-01", "to": "2026-11-02"}, "to"),  # 367 days
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "1999-12-31", "to": "2000-01-05"}, "from"),
        ({"to": "9999-12-31"}, "to"),
    ],
)
@time_machine.travel(NOW)
def test_bad_ranges_get_field_errors(patient, params, field):
    response = client_for(patient).get(INSIGHTS, params)
    assert_problem(response, 400)
    assert field in problem_fields(response)


@time_machine.travel(NOW)
def test_days_sober_count_in_the_patients_zone(patient):
    services.counter_create(patient=patient, substance="alcohol", start_date=date(2026, 11, 1))
    services.counter_create(patient=patient, substance="cannabis", start_date=date(2026, 11, 24))
    counters = insights(patient)["counters"]
    assert [(c["substance"], c["start_date"], c["days_sober"]) for c in counters] == [
        ("alcohol", "2026-11-01", 23),
        ("cannabis", "2026-11-24", 0),
    ]
    with time_machine.travel(datetime(2026, 11, 25, 3, 0, tzinfo=UTC)):  # 22:00 on the 24th
        assert insights(patient)["counters"][0]["days_sober"] == 23


@time_machine.travel(NOW)
def test_insights_are_private_health_data(patient):
    response = client_for(patient).get(INSIGHTS)
    assert response["Cache-Control"] == "no-store"


@time_machine.travel(NOW)
def test_insights_come_only_as_json(patient):
    assert_problem(client_for(patient).get(INSIGHTS, {"format": "csv"}), 404)


@time_machine.travel(NOW)
def test_the_number_of_queries_does_not_grow_with_the_entries(patient):
    client = client_for(patient)
    log(patient, "2026-11-01T12:00:00-05:00", triggers=[{"category": "places", "label": "Bar"}])
    services.counter_create(patient=patient, substance="alcohol", start_date=date(2026, 10, 1))

    def more_entries(entries: int) -> None:
        for day in range(1, entries):
            log(
                patient,
                f"2026-10-{day:02d}T{day % 24:02d}:15:00-04:00",
                intensity=day % 11,
                intensity_after=0,
                coping_skills=["breathing"],
                halt=["tired"],
                triggers=[{"category": "people", "label": f"Person {day}"}],
                outcome="lapsed" if day % 3 else "resisted",
            )
        if entries > 1:
            services.counter_create(
                patient=patient, substance="nicotine", start_date=date(2026, 10, 2)
            )

    def insights(entries: int) -> None:
        assert client.get(INSIGHTS, {"from": "2026-10-01", "to": "2026-11-23"}).status_code == 200

    # The user, then totals, days, heatmap, triggers and counters.
    assert_flat_queries(insights, (1, 30), prepare=more_entries, at_most=6)


def test_the_api_answers_what_insights_for_computes(patient):
    # insights_for takes a patient and dates, nothing from the request: a later
    # consent-checked view can show a therapist the very same figures.
    with time_machine.travel(NOW):
        log(patient, "2026-11-20T12:00:00-05:00", intensity=4, halt=["angry"])
        direct = own_insights(patient, date(2026, 11, 20), date(2026, 11, 21))
        via_api = insights(patient, **{"from": "2026-11-20", "to": "2026-11-21"})
    assert via_api["totals"] == direct["totals"]
    assert via_api["halt"] == direct["halt"]
    assert via_api["heatmap"] == direct["heatmap"]
    assert [day["count"] for day in via_api["days"]] == [day["count"] for day in direct["days"]]


def test_offset_periods_start_at_the_exact_second_of_each_change():
    tz = ZoneInfo("America/New_York")
    lower, upper = reports.local_day_bounds(date(2025, 11, 24), date(2026, 11, 24), tz)
    assert reports.offset_periods(tz, lower, upper) == [
        (datetime(2025, 11, 24, 5, 0, tzinfo=UTC), -5 * 3600),
        (datetime(2026, 3, 8, 7, 0, tzinfo=UTC), -4 * 3600),
        (datetime(2026, 11, 1, 6, 0, tzinfo=UTC), -5 * 3600),
    ]
    kolkata = ZoneInfo("Asia/Kolkata")
    lower, upper = reports.local_day_bounds(date(2026, 1, 1), date(2026, 12, 31), kolkata)
    assert reports.offset_periods(kolkata, lower, upper) == [
        (datetime(2025, 12, 31, 18, 30, tzinfo=UTC), 19800)
    ]


ZONES = [
    "UTC",
    "America/New_York",
    "America/St_Johns",  # -03:30, with daylight saving
    "America/Santiago",  # changes at local midnight
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # a 30-minute daylight-saving shift
    "Pacific/Chatham",  # +12:45 / +13:45
]


def _offset_changes(tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Brute force, independent of the code under test: every minute where the offset changes."""
    changes, instant = [], start
    while instant < end:
        later = instant + timedelta(hours=1)
        if later.astimezone(tz).utcoffset() != instant.astimezone(tz).utcoffset():
            minute = instant
            while minute.astimezone(tz).utcoffset() == instant.astimezone(tz).utcoffset():
                minute += timedelta(minutes=1)
            changes.append(minute)
        instant = later
    return changes


@time_machine.travel(NOW)
def test_days_and_heatmap_agree_with_python_in_many_zones_and_at_every_change(patient):
    start, end = date(2026, 1, 1), date(2026, 11, 23)
    first, last = datetime(2025, 12, 30, tzinfo=UTC), datetime(2026, 11, 24, 12, tzinfo=UTC)
    rng = random.Random(7)
    instants = {
        first + timedelta(seconds=rng.randrange(int((last - first).total_seconds())))
        for _ in range(150)
    }
    for name in ZONES:
        for change in _offset_changes(ZoneInfo(name), first, last):
            for delta in (-1800, -1, 0, 1, 1800):
                instants.add(change + timedelta(seconds=delta))
    ops = []
    for instant in sorted(instants):
        serializer = EntryUpdateSerializer(
            data={
                "occurred_at": instant.isoformat(),
                "intensity": 5,
                "substance": "alcohol",
                "outcome": "resisted",
            }
        )
        serializer.is_valid(raise_exception=True)
        ops.append(EntryOp("upsert", uuid.uuid4(), None, dict(serializer.validated_data)))
    entries_apply(patient=patient, ops=ops)

    for name in ZONES:
        tz = ZoneInfo(name)
        patient.time_zone = name
        local = [instant.astimezone(tz) for instant in instants]
        local = [moment for moment in local if start <= moment.date() <= end]
        expected_days = {}
        expected_cells = {}
        for moment in local:
            expected_days[moment.date()] = expected_days.get(moment.date(), 0) + 1
            cell = (moment.weekday(), moment.hour)
            expected_cells[cell] = expected_cells.get(cell, 0) + 1

        body = own_insights(patient, start, end)

        assert body["totals"]["entries"] == len(local), name
        assert {d["date"]: d["count"] for d in body["days"] if d["count"]} == expected_days, name
        assert cells(body["heatmap"]) == expected_cells, name
