"""The answer path's reads and writes: one lean read of the schedule, one insert."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.measures.models import Instrument, MeasureResponse
from backend.measures.selectors import definition_of
from tests.factories import ScheduleFactory
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
BAM = {
    "1": 2, "2": 3, "3": 2, "4": 1, "5": 1, "6": 1, "7A": 0, "7B": 1, "7C": 0, "7D": 0,
    "7E": 0, "7F": 0, "7G": 0, "8": 2, "9": 3, "10": 2, "11": 1, "12": 2, "13": 3, "14": 4,
    "15": 1, "16": 3, "17": 2,
}  # fmt: skip


def _answer(schedule, **changes):
    return {
        "id": str(uuid.uuid4()),
        "schedule": str(schedule.pk),
        "answered_at": NOW.isoformat(),
        "answers": BAM,
        **changes,
    }


def test_an_answer_reads_the_schedule_once_and_shows_its_people_without_more_queries(
    patient, linked_therapist
):
    with time_machine.travel(NOW, tick=False):
        schedule = ScheduleFactory(patient=patient, therapist=linked_therapist, instrument="bam")
        client = client_for(patient)
        # The process parses an instrument's definition once per saved version (one query,
        # the first time); the answers after it read none.
        definition_of(Instrument.objects.get(slug="bam"))
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/api/v1/measures/responses/", _answer(schedule), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["scores"] == {"use": 3, "risk": 11, "protective": 17}
    assert body["patient"]["id"] == str(patient.pk)
    assert body["assigned_by"]["id"] == str(linked_therapist.pk)
    statements = [q["sql"] for q in captured.captured_queries]
    # The token's user, the schedule (with instrument, asker and whether a draft waits) and
    # the insert (a taken id or window is learnt from it); no draft, so no clean-up.
    writes = [s for s in statements if s.startswith(("SELECT", "INSERT", "DELETE", "UPDATE"))]
    assert len(writes) == 3, statements
    inserted = next(i for i, s in enumerate(statements) if s.startswith("INSERT"))
    assert not any('"accounts_user"' in s for s in statements[inserted:])


def test_a_retried_upload_returns_the_first_answer_and_a_new_id_for_the_window_is_a_409(
    patient, linked_therapist
):
    with time_machine.travel(NOW, tick=False):
        schedule = ScheduleFactory(patient=patient, therapist=linked_therapist, instrument="bam")
        client = client_for(patient)
        first = _answer(schedule)
        assert client.post("/api/v1/measures/responses/", first, format="json").status_code == 201
        retried = client.post("/api/v1/measures/responses/", first, format="json")
        assert retried.status_code == 200
        assert retried.json()["id"] == first["id"]
        other = client.post("/api/v1/measures/responses/", _answer(schedule), format="json")
        assert other.status_code == 409
        reused = client.post(
            "/api/v1/measures/responses/",
            {**first, "answers": {**BAM, "1": 0}},
            format="json",
        )
        assert reused.status_code == 409


def test_a_moment_ahead_or_before_the_schedule_is_a_400_and_nothing_is_kept(
    patient, linked_therapist
):
    with time_machine.travel(NOW, tick=False):
        schedule = ScheduleFactory(patient=patient, therapist=linked_therapist, instrument="bam")
        client = client_for(patient)
        for moment in (NOW + timedelta(hours=1), NOW - timedelta(days=3)):
            response = client.post(
                "/api/v1/measures/responses/",
                _answer(schedule, answered_at=moment.isoformat()),
                format="json",
            )
            assert response.status_code == 400
            assert [e["field"] for e in response.json()["errors"]] == ["answered_at"]
    assert not MeasureResponse.objects.exists()


def test_a_saved_instrument_is_parsed_again(db):
    instrument = Instrument.objects.get(slug="pacs")
    first = definition_of(instrument)

    instrument.preamble += " "
    instrument.save()
    changed = Instrument.objects.get(slug="pacs")

    assert definition_of(changed) is not first
    assert definition_of(changed) is definition_of(changed)
