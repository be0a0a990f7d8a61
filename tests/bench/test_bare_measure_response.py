"""The measures bench's baseline keeps the same row as the API (bench/views.py)."""

import uuid
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.test import override_settings

from backend.measures.models import Instrument, MeasureResponse, MeasureSchedule
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
BAM = {
    "1": 2, "2": 3, "3": 2, "4": 1, "5": 1, "6": 1, "7A": 0, "7B": 1, "7C": 0, "7D": 0,
    "7E": 0, "7F": 0, "7G": 0, "8": 2, "9": 3, "10": 2, "11": 1, "12": 2, "13": 3, "14": 4,
    "15": 1, "16": 3, "17": 2,
}  # fmt: skip
KEPT = ("patient_id", "instrument_id", "assigned_by_id", "window_start", "answered_at",
        "answers", "scores", "total", "band", "crisis")  # fmt: skip


@override_settings(ROOT_URLCONF="bench.urls")
def test_the_bare_insert_keeps_the_row_the_api_keeps(patient, linked_therapist):
    # As bench/seed_measures.py seeds it: a stopped BAM schedule with day-long windows.
    with time_machine.travel(NOW, tick=False):
        schedule = MeasureSchedule.objects.create(
            patient=patient,
            instrument=Instrument.objects.get(slug="bam"),
            assigned_by=linked_therapist,
            every_days=1,
            starts_on=date(1970, 1, 2),
            stopped_at=NOW,
        )
        client = client_for(patient)
        rows = {}
        for path, day in (("/api/v1/measures/responses/", 5), ("/bench/bare-measure-response/", 6)):
            answer_id = uuid.uuid4()
            response = client.post(
                path,
                {
                    "id": str(answer_id),
                    "schedule": str(schedule.pk),
                    "answered_at": f"1970-01-{day:02}T18:00:00Z",
                    "answers": BAM,
                },
                format="json",
            )
            assert response.status_code == 201, response.content
            rows[path] = MeasureResponse.objects.get(pk=answer_id)
    api, bare = rows.values()
    assert api.window_start == date(1970, 1, 5)
    assert bare.window_start == date(1970, 1, 6)
    same = {
        field: getattr(api, field) for field in KEPT if field not in ("window_start", "answered_at")
    }
    assert {field: getattr(bare, field) for field in same} == same


@override_settings(ROOT_URLCONF="bench.urls")
def test_the_bare_insert_answers_only_the_tokens_own_schedules(
    patient, other_patient, linked_therapist
):
    schedule = MeasureSchedule.objects.create(
        patient=patient,
        instrument=Instrument.objects.get(slug="bam"),
        assigned_by=linked_therapist,
        every_days=1,
        starts_on=date(1970, 1, 2),
    )
    body = {"id": str(uuid.uuid4()), "schedule": str(schedule.pk),
            "answered_at": "1970-01-05T18:00:00Z", "answers": BAM}  # fmt: skip
    assert (
        client_for(None).post("/bench/bare-measure-response/", body, format="json").status_code
        == 401
    )
    other = client_for(other_patient)
    assert other.post("/bench/bare-measure-response/", body, format="json").status_code == 404
    assert not MeasureResponse.objects.exists()
