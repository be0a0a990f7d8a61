"""Entries keep their day on the patient's clock (``local_date``), which the caseload's
summaries group by: set on every write, and again for every entry when the zone changes."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from backend.consent import policy
from backend.consent.scopes import Scope
from backend.journal import reports
from backend.journal.access import ENTRY_FIGURES
from backend.journal.models import JournalEntry
from backend.journal.services import EntryOp, entries_apply
from backend.sharing.summaries import summaries_for
from tests.factories import (
    CareLinkFactory,
    EntryFactory,
    PatientFactory,
    TherapistFactory,
    grant_for,
)
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 10:00 in New York, 20:30 in Kolkata


@pytest.fixture
def clock():
    """Frozen before the people and grants are made: ask for it first."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _local_dates(patient) -> dict[str, date]:
    return dict(JournalEntry.objects.filter(patient=patient).values_list("situation", "local_date"))


def test_an_entry_is_dated_on_the_patients_clock_and_follows_a_corrected_time(clock):
    patient = PatientFactory(time_zone="America/New_York")
    # 03:30 UTC on the 2nd is still the evening of the 1st in New York (EST since the 1st).
    entry = EntryFactory(patient=patient, occurred_at="2026-11-02T03:30:00Z", situation="a")
    assert JournalEntry.objects.get(pk=entry.pk).local_date == date(2026, 11, 1)

    [result] = entries_apply(
        patient=patient,
        ops=[
            EntryOp(
                "upsert",
                entry.client_id,
                entry.version,
                {"occurred_at": datetime(2026, 11, 2, 5, 30, tzinfo=UTC)},
                partial=True,
            )
        ],
    )
    assert result.status == "updated"
    assert JournalEntry.objects.get(pk=entry.pk).local_date == date(2026, 11, 2)


def test_a_new_time_zone_dates_every_entry_again_tombstones_included(clock):
    patient = PatientFactory(time_zone="America/New_York")
    EntryFactory(patient=patient, occurred_at="2026-11-02T03:30:00Z", situation="evening")
    EntryFactory(patient=patient, occurred_at="2026-11-10T12:00:00Z", situation="noon")
    gone = EntryFactory(patient=patient, occurred_at="2026-11-15T20:00:00Z", situation="gone")
    entries_apply(patient=patient, ops=[EntryOp("delete", gone.client_id)])
    other = PatientFactory(time_zone="America/New_York")
    EntryFactory(patient=other, occurred_at="2026-11-02T03:30:00Z", situation="other")

    response = client_for(patient).patch(
        "/api/v1/me/", {"time_zone": "Asia/Kolkata"}, format="json"
    )
    assert response.status_code == 200

    assert _local_dates(patient) == {
        "evening": date(2026, 11, 2),  # 09:00 in Kolkata
        "noon": date(2026, 11, 10),
        "": date(2026, 11, 16),  # the tombstone (its words cleared): 01:30 on the 16th
    }
    assert _local_dates(other) == {"other": date(2026, 11, 1)}  # not theirs to move


def test_quiet_hours_alone_leave_the_dates_alone(clock):
    patient = PatientFactory(time_zone="America/New_York")
    EntryFactory(patient=patient, occurred_at="2026-11-02T03:30:00Z", situation="evening")
    response = client_for(patient).patch(
        "/api/v1/me/", {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00"}, format="json"
    )
    assert response.status_code == 200
    assert _local_dates(patient) == {"evening": date(2026, 11, 1)}


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata", "Pacific/Auckland"])
def test_the_summarys_fortnight_equals_the_patients_insights_after_a_zone_change(clock, zone):
    patient = PatientFactory(time_zone="America/Los_Angeles")
    therapist = TherapistFactory()
    CareLinkFactory(patient=patient, therapist=therapist)
    grant_for(patient, therapist, [Scope.INSIGHTS])
    start = NOW - timedelta(days=15)
    for hours in range(0, 15 * 24, 7):  # every 7 hours: each zone cuts the days differently
        EntryFactory(
            patient=patient,
            occurred_at=(start + timedelta(hours=hours)).isoformat(),
            intensity=hours % 11,
            outcome="lapsed" if hours % 5 == 0 else "resisted",
        )
    client_for(patient).patch("/api/v1/me/", {"time_zone": zone}, format="json")
    patient.refresh_from_db()

    [summary] = summaries_for(therapist, [patient], now=NOW).values()
    series = summary["craving_trend"]["days"]
    own = reports.insights_for(
        patient,
        series[0]["date"],
        series[-1]["date"],
        entries=policy.readable(patient, ENTRY_FIGURES),
        counters=None,
        trigger_labels=True,
    )["days"]
    assert [(d["date"], d["entries"], d["mean_intensity"], d["lapses"]) for d in series] == [
        (d["date"], d["count"], d["mean_intensity"], d["lapses"]) for d in own
    ]
    assert sum(d["entries"] for d in series) > 40
