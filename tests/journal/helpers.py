import uuid
from datetime import timedelta

from django.utils import timezone

from backend.journal.serializers import CheckInUpdateSerializer, EntryUpdateSerializer
from backend.journal.services import EntryOp, checkin_create, entries_apply

ENTRIES = "/api/v1/journal/entries/"
BATCH = "/api/v1/journal/entries/batch/"


def entry_payload(**overrides) -> dict:
    occurred = (timezone.now() - timedelta(hours=2)).astimezone(timezone.get_fixed_timezone(-300))
    payload = {
        "id": str(uuid.uuid4()),
        "occurred_at": occurred.isoformat(),
        "intensity": 6,
        "intensity_after": 3,
        "duration_minutes": 20,
        "substance": "alcohol",
        "triggers": [
            {"category": "places", "label": "Bar on 5th"},
            {"category": "emotions", "label": "Lonely"},
        ],
        "halt": ["lonely", "tired"],
        "mood": -1,
        "emotions": ["anxious"],
        "place_label": "Home",
        "situation": "Friends texted about going out.",
        "thoughts": "Just one would be fine.",
        "coping_skills": ["urge surfing"],
        "outcome": "resisted",
    }
    payload.update(overrides)
    return payload


def make_entry(patient, **overrides):
    payload = entry_payload(**overrides)
    entry_id = payload.pop("id")
    serializer = EntryUpdateSerializer(data=payload)
    serializer.is_valid(raise_exception=True)
    [result] = entries_apply(
        patient=patient,
        ops=[EntryOp("upsert", uuid.UUID(entry_id), None, dict(serializer.validated_data))],
    )
    return result.entry


def make_checkin(patient, day: str = "2026-11-01", **overrides):
    """A check-in made through the API's validation and the journal service."""
    serializer = CheckInUpdateSerializer(
        data={
            "local_date": day,
            "mood": 1,
            "peak_craving": 3,
            "used_today": False,
            "medication": "yes",
            **overrides,
        }
    )
    serializer.is_valid(raise_exception=True)
    checkin, _ = checkin_create(
        patient=patient, checkin_id=uuid.uuid4(), data=dict(serializer.validated_data)
    )
    return checkin
