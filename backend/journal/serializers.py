from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.core.schema import FieldErrorSerializer
from backend.core.serializers import (
    AwareDateTimeField,
    BoundedDateField,
    StrictIntegerField,
    StrictSerializer,
)
from backend.journal.models import (
    CheckIn,
    CounterDecision,
    Medication,
    Outcome,
    SobrietyCounter,
    Substance,
    TriggerCategory,
)
from backend.journal.selectors import Change, counter_days_sober

HALT = ("hungry", "angry", "lonely", "tired")
MAX_TEXT = 10_000
FUTURE_TOLERANCE = timedelta(minutes=10)
EARLIEST_YEAR = 2000


class TriggerInputSerializer(StrictSerializer):
    category = serializers.ChoiceField(choices=TriggerCategory.choices)
    label = serializers.CharField(max_length=60)


class EntryWriteSerializer(StrictSerializer):
    """What the phone sends for an entry (create, batch upsert, or partial update)."""

    id = serializers.UUIDField(
        help_text="Chosen by the phone (UUID); a retried upload never duplicates."
    )
    occurred_at = AwareDateTimeField(
        help_text="With the device's UTC offset; at most 10 minutes ahead."
    )
    intensity = StrictIntegerField(min_value=0, max_value=10)
    intensity_after = StrictIntegerField(min_value=0, max_value=10, required=False, allow_null=True)
    duration_minutes = StrictIntegerField(
        min_value=0, max_value=7 * 24 * 60, required=False, allow_null=True
    )
    substance = serializers.ChoiceField(choices=Substance.choices)
    triggers = TriggerInputSerializer(many=True, required=False, max_length=20)
    halt = serializers.ListField(
        child=serializers.ChoiceField(choices=HALT),
        required=False,
        max_length=4,
        help_text="HALT flags felt.",
    )
    mood = StrictIntegerField(min_value=-3, max_value=3, required=False, allow_null=True)
    emotions = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=20
    )
    place_label = serializers.CharField(max_length=80, required=False, allow_blank=True)
    situation = serializers.CharField(
        max_length=MAX_TEXT, required=False, allow_blank=True, trim_whitespace=False
    )
    thoughts = serializers.CharField(
        max_length=MAX_TEXT, required=False, allow_blank=True, trim_whitespace=False
    )
    coping_skills = serializers.ListField(
        child=serializers.CharField(max_length=120), required=False, max_length=20
    )
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    shared = serializers.BooleanField(
        required=False,
        help_text=(
            "Share this entry with those you granted `journal.shared` (e.g. your therapist). "
            "Off unless you turn it on."
        ),
    )

    def validate_occurred_at(self, value):
        if value > timezone.now() + FUTURE_TOLERANCE:
            raise serializers.ValidationError("This is in the future: check the device's clock.")
        if value.year < EARLIEST_YEAR:
            raise serializers.ValidationError("This is too far in the past.")
        return value

    def validate_halt(self, value):
        return sorted(set(value), key=HALT.index)

    def validate_triggers(self, value):
        seen, unique = set(), []
        for trigger in value:
            label = " ".join(trigger["label"].split())
            key = (trigger["category"], label.lower())
            if label and key not in seen:
                seen.add(key)
                unique.append({"category": trigger["category"], "label": label})
        return unique


class EntryUpdateSerializer(EntryWriteSerializer):
    """A partial update: the id is in the URL, not the body."""

    def get_fields(self):
        fields = super().get_fields()
        fields.pop("id")
        return fields


class TriggerSerializer(serializers.Serializer):
    category = serializers.CharField()
    label = serializers.CharField()


class EntrySerializer(serializers.Serializer):
    """An entry as the patient sees it."""

    id = serializers.UUIDField(source="client_id", help_text="The id the phone chose.")
    occurred_at = serializers.SerializerMethodField(
        help_text="In the device's UTC offset at the time."
    )
    intensity = serializers.IntegerField()
    intensity_after = serializers.IntegerField(allow_null=True)
    duration_minutes = serializers.IntegerField(allow_null=True)
    substance = serializers.CharField()
    triggers = TriggerSerializer(many=True, source="trigger_list")
    halt = serializers.ListField(child=serializers.CharField(), source="halt_list")
    mood = serializers.IntegerField(allow_null=True)
    emotions = serializers.ListField(child=serializers.CharField())
    place_label = serializers.CharField()
    situation = serializers.CharField()
    thoughts = serializers.CharField()
    coping_skills = serializers.ListField(child=serializers.CharField())
    outcome = serializers.CharField()
    shared = serializers.BooleanField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.DATETIME)  # a string, in the device's offset
    def get_occurred_at(self, entry) -> str:
        return entry.occurred_at_local.isoformat()


class ResourceSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()
    text = serializers.CharField(required=False)
    url = serializers.URLField()
    hours = serializers.CharField()


class SupportContactSerializer(serializers.Serializer):
    name = serializers.CharField()
    relation = serializers.CharField()
    phone = serializers.CharField()


class SupportSerializer(serializers.Serializer):
    """Crisis support, present when a craving is very high or after a lapse or use."""

    reasons = serializers.ListField(child=serializers.CharField())
    message = serializers.CharField()
    next_step = serializers.CharField()
    resources = ResourceSerializer(many=True)
    contacts = SupportContactSerializer(many=True)


class EntryResponseSerializer(EntrySerializer):
    support = SupportSerializer(allow_null=True, help_text="Crisis support, or null.")


@extend_schema_field(EntryUpdateSerializer)
class EntryFieldsField(serializers.DictField):
    """An upsert's entry fields: a dict here, validated as for a single write by the view."""


class BatchItemSerializer(StrictSerializer):
    op = serializers.ChoiceField(choices=["upsert", "delete"])
    id = serializers.UUIDField()
    base_version = StrictIntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        help_text="The version this change is based on; none when new.",
    )
    data = EntryFieldsField(
        required=False, help_text="The entry's fields (upsert only); as for a single create."
    )

    def validate(self, attrs):
        if attrs["op"] == "upsert" and "data" not in attrs:
            raise serializers.ValidationError({"data": ["An upsert needs the entry's fields."]})
        if attrs["op"] == "delete" and "data" in attrs:
            raise serializers.ValidationError({"data": ["A delete takes no fields."]})
        return attrs


@extend_schema_field(BatchItemSerializer)
class BatchItemField(serializers.JSONField):
    """One batch item, as sent: the view validates each on its own, so one bad item gets
    its own `invalid` result instead of failing the whole batch."""


class BatchSerializer(StrictSerializer):
    items = serializers.ListField(
        # Any JSON value: an item that is not an object is that item's own invalid result.
        child=BatchItemField(allow_null=True),
        min_length=1,
        max_length=500,
        help_text="Up to 500 upserts and deletes.",
    )


# Takes a dict holding the keys this item has (the optional ones only where they
# apply), each value as its field takes it: `current` an entry, `errors` field-error
# dicts, `support` a crisis-support dict. (A comment: a docstring would enter the schema.)
class BatchResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    id = serializers.UUIDField(allow_null=True)
    status = serializers.ChoiceField(
        choices=["created", "updated", "unchanged", "conflict", "invalid"]
    )
    version = serializers.IntegerField(required=False)
    deleted = serializers.BooleanField(required=False)
    current = EntrySerializer(
        required=False, allow_null=True, help_text="On conflict: the server's copy."
    )
    errors = FieldErrorSerializer(many=True, required=False, help_text="When invalid.")
    support = SupportSerializer(required=False)

    def to_representation(self, instance: dict) -> dict:
        # Each key through its declared field, in the result's own order: a key the
        # schema does not declare cannot be sent (KeyError), and an optional one that
        # does not apply is left out rather than sent as null.
        fields = self.fields
        return {
            name: None if value is None else fields[name].to_representation(value)
            for name, value in instance.items()
        }


class BatchResponseSerializer(serializers.Serializer):
    results = BatchResultSerializer(many=True)
    counts = serializers.DictField(child=serializers.IntegerField())


class TriggerVocabularySerializer(serializers.Serializer):
    category = serializers.CharField()
    label = serializers.CharField()
    uses = serializers.IntegerField()
    last_used_at = serializers.DateTimeField()


class CheckInWriteSerializer(StrictSerializer):
    id = serializers.UUIDField(help_text="Chosen by the phone.")
    local_date = BoundedDateField(help_text="The day in your time zone; one check-in per day.")
    mood = StrictIntegerField(min_value=-3, max_value=3)
    sleep_hours = serializers.DecimalField(
        max_digits=3, decimal_places=1, min_value=0, max_value=24, required=False, allow_null=True
    )
    peak_craving = StrictIntegerField(min_value=0, max_value=10)
    used_today = serializers.BooleanField()
    medication = serializers.ChoiceField(choices=Medication.choices)
    note = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, help_text="An intention or a gratitude."
    )


class CheckInUpdateSerializer(CheckInWriteSerializer):
    def get_fields(self):
        fields = super().get_fields()
        fields.pop("id")
        return fields


class CheckInSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(
        source="client_id", read_only=True, help_text="The id the phone chose."
    )

    class Meta:
        model = CheckIn
        fields = [
            "id", "local_date", "mood", "sleep_hours", "peak_craving", "used_today", "medication", "note",
            "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class StreakSerializer(serializers.Serializer):
    current = serializers.IntegerField(
        help_text="Consecutive days up to today (or yesterday, if today is still open)."
    )
    longest = serializers.IntegerField()
    last_check_in = serializers.DateField(allow_null=True)
    today = serializers.DateField(help_text="Today in your time zone.")
    checked_in_today = serializers.BooleanField()


class CounterWriteSerializer(StrictSerializer):
    substance = serializers.ChoiceField(choices=Substance.choices)
    start_date = BoundedDateField(help_text="Your first sober day, in your time zone.")


class PendingDecisionSerializer(serializers.Serializer):
    entry = serializers.UUIDField(source="entry_client_id")
    created_at = serializers.DateTimeField()


class CounterSerializer(serializers.ModelSerializer):
    days_sober = serializers.SerializerMethodField()
    pending_decisions = PendingDecisionSerializer(
        many=True, source="pending", help_text="Uses waiting for your decision: reset or keep."
    )

    class Meta:
        model = SobrietyCounter
        fields = [
            "id",
            "substance",
            "start_date",
            "days_sober",
            "pending_decisions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_days_sober(self, counter) -> int:
        return counter_days_sober(counter, today=self.context["today"])


class DecisionWriteSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=[("reset", "Reset"), ("keep", "Keep")])
    new_start_date = BoundedDateField(required=False, allow_null=True)
    entry = serializers.UUIDField(
        required=False, allow_null=True, help_text="The use this decision answers."
    )


class DecisionSerializer(serializers.ModelSerializer):
    entry = serializers.UUIDField(source="entry_client_id", allow_null=True)

    class Meta:
        model = CounterDecision
        fields = [
            "id",
            "decision",
            "entry",
            "previous_start_date",
            "new_start_date",
            "created_at",
            "decided_at",
        ]
        read_only_fields = fields


@extend_schema_field(
    {
        "oneOf": [
            {"$ref": "#/components/schemas/Entry"},
            {"$ref": "#/components/schemas/CheckIn"},
        ],
        "nullable": True,
    }
)
class ChangedRecordField(serializers.Field):
    """A change's record (the field reads the whole change): by its kind, an entry or a
    check-in; null for a deletion."""

    # One of each for every change: DRF builds a serializer's fields per instance.
    serializers_by_kind = {"entry": EntrySerializer(), "checkin": CheckInSerializer()}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", **kwargs)

    def to_representation(self, change: Change) -> dict | None:
        if change.deleted:
            return None
        return self.serializers_by_kind[change.kind].to_representation(change.record)


# Takes a Change (backend.journal.selectors).
class ChangeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["entry", "checkin"])
    id = serializers.UUIDField(source="record.client_id")
    seq = serializers.IntegerField(source="record.seq")
    version = serializers.IntegerField(source="record.version")
    deleted = serializers.BooleanField()
    data = ChangedRecordField(
        allow_null=True, help_text="The entry or check-in (by `kind`); null for a deletion."
    )


class ChangesSerializer(serializers.Serializer):
    changes = ChangeSerializer(many=True)
    next_cursor = serializers.IntegerField(min_value=0, help_text="Send it as ?cursor= next time.")
    has_more = serializers.BooleanField()
