from rest_framework import serializers

from backend.accounts.serializers import PersonSerializer
from backend.core.serializers import (
    AwareDateTimeField,
    BoundedDateField,
    ForPatientField,
    ReferenceField,
    StrictIntegerField,
    StrictSerializer,
)
from backend.disclosure.notice import NoticeToOthersField
from backend.measures.scoring import score_range

MAX_EVERY_DAYS = 365


class MeasureOptionSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    label = serializers.CharField()
    code = serializers.CharField(required=False, help_text="LOINC answer code, where it has one.")


class MeasureEnableWhenSerializer(serializers.Serializer):
    item = serializers.CharField()
    above = serializers.IntegerField()


class MeasureItemSerializer(serializers.Serializer):
    link_id = serializers.CharField()
    text = serializers.CharField(help_text="Worded as validated.")
    code = serializers.CharField(required=False, help_text="LOINC item code, where it has one.")
    options = MeasureOptionSerializer(many=True)
    required = serializers.BooleanField(default=True)
    enable_when = MeasureEnableWhenSerializer(
        required=False, help_text="Asked only when that item's answer is above the value."
    )


class MeasureBandSerializer(serializers.Serializer):
    min = serializers.IntegerField()
    max = serializers.IntegerField()
    label = serializers.CharField()


class MeasureScoreDefinitionSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    items = serializers.ListField(child=serializers.CharField())
    min = serializers.IntegerField()
    max = serializers.IntegerField()
    bands = MeasureBandSerializer(many=True)


class InstrumentSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    title = serializers.CharField()
    version = serializers.CharField()
    preamble = serializers.CharField()
    items = serializers.SerializerMethodField()
    scores = serializers.SerializerMethodField()
    default_every_days = serializers.IntegerField()
    source = serializers.CharField()
    copyright = serializers.CharField()

    def get_items(self, instrument) -> MeasureItemSerializer(many=True):  # type: ignore[valid-type]
        return MeasureItemSerializer(instrument.items, many=True).data

    def get_scores(self, instrument) -> MeasureScoreDefinitionSerializer(many=True):  # type: ignore[valid-type]
        by_id = {item["link_id"]: item for item in instrument.items}
        rows = []
        for score in instrument.scoring.get("scores", ()):
            low, high = score_range(by_id, score)
            rows.append(
                {
                    "code": score["code"],
                    "name": score.get("name", score["code"]),
                    "items": score["items"],
                    "min": low,
                    "max": high,
                    "bands": score.get("bands", []),
                }
            )
        return MeasureScoreDefinitionSerializer(rows, many=True).data


class InstrumentRefSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class ScheduleSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    patient = PersonSerializer()
    assigned_by = PersonSerializer()
    instrument = InstrumentRefSerializer()
    every_days = serializers.IntegerField()
    starts_on = serializers.DateField(help_text="The baseline's day, on the patient's clock.")
    stopped_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    redisclosure_notice = NoticeToOthersField()


class ScheduleWriteSerializer(StrictSerializer):
    patient = ForPatientField(required=True, help_text="A patient on your caseload (else 404).")
    instrument = serializers.SlugField(
        help_text="An instrument's slug (see /measures/instruments/)."
    )
    every_days = StrictIntegerField(
        min_value=1,
        max_value=MAX_EVERY_DAYS,
        required=False,
        help_text="Default: the instrument's (PHQ-9 and GAD-7 14, BAM and PACS 7).",
    )
    starts_on = BoundedDateField(
        required=False, help_text="The baseline's day on the patient's clock; default today."
    )


class StandardSetSerializer(StrictSerializer):
    patient = ForPatientField(required=True, help_text="A patient on your caseload (else 404).")
    alcohol = serializers.BooleanField(
        help_text="Alcohol is one of the patient's substances: PACS joins the set."
    )
    starts_on = BoundedDateField(required=False)


class ScheduleChangeSerializer(StrictSerializer):
    every_days = StrictIntegerField(min_value=1, max_value=MAX_EVERY_DAYS, required=False)
    stop = serializers.BooleanField(
        required=False, help_text="true stops the schedule; its answers stay."
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Send every_days, or stop: true.")
        if attrs.get("stop") is False:
            raise serializers.ValidationError({"stop": ["Only true stops a schedule."]})
        return attrs


class ScheduleQuerySerializer(serializers.Serializer):
    patient = serializers.UUIDField(required=False)
    running = serializers.ChoiceField(choices=["true", "false"], required=False)


class AnswersField(serializers.DictField):
    """link_id -> the chosen option's value (checked against the instrument in the service)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.JSONField())
        kwargs.setdefault("help_text", "Item link_id -> the chosen option's value.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, dict) and len(data) > 100:
            raise serializers.ValidationError("At most 100 answers.")
        return super().to_internal_value(data)


class MeasureDraftSerializer(serializers.Serializer):
    schedule = serializers.UUIDField(source="schedule_id")
    window_start = serializers.DateField()
    answers = serializers.DictField(child=serializers.IntegerField())
    updated_at = serializers.DateTimeField()


class DraftWriteSerializer(StrictSerializer):
    answers = AnswersField()


class MeasureDueSerializer(serializers.Serializer):
    schedule = serializers.UUIDField(source="schedule.id")
    instrument = InstrumentRefSerializer(source="schedule.instrument")
    window_start = serializers.DateField(help_text="On your clock.")
    window_end = serializers.DateField(help_text="The last day to answer, on your clock.")
    baseline = serializers.BooleanField()
    draft = serializers.DictField(
        child=serializers.IntegerField(), allow_null=True, help_text="Saved unfinished answers."
    )


class ResponseWriteSerializer(StrictSerializer):
    id = serializers.UUIDField(help_text="Made by the phone: a retried upload never duplicates.")
    schedule = ReferenceField(help_text="The schedule this answers (one of yours, else 404).")
    answered_at = AwareDateTimeField(help_text="When it was answered, with the phone's offset.")
    answers = AnswersField()


class ResponseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    patient = PersonSerializer()
    assigned_by = PersonSerializer()
    schedule = serializers.UUIDField(source="schedule_id")
    instrument = InstrumentRefSerializer()
    window_start = serializers.DateField()
    answered_at = serializers.DateTimeField()
    answers = serializers.DictField(child=serializers.IntegerField())
    scores = serializers.DictField(child=serializers.IntegerField())
    total = serializers.IntegerField(allow_null=True)
    band = serializers.CharField(help_text="The total's severity band, where it has bands.")
    crisis = serializers.BooleanField(help_text="A crisis item was answered above 0.")
    redisclosure_notice = NoticeToOthersField()


class ResponseQuerySerializer(serializers.Serializer):
    patient = serializers.UUIDField(required=False)
    instrument = serializers.SlugField(required=False)


class MeasurePointSerializer(serializers.Serializer):
    response = serializers.UUIDField(source="pk")
    answered_at = serializers.DateTimeField()
    scores = serializers.DictField(child=serializers.IntegerField())
    band = serializers.CharField()


class MeasureFlagSerializer(serializers.Serializer):
    score = serializers.CharField()
    rule = serializers.CharField()
    message = serializers.CharField()


class MeasureResultSerializer(serializers.Serializer):
    instrument = InstrumentRefSerializer()
    latest = MeasurePointSerializer()
    baseline = MeasurePointSerializer()
    change = serializers.DictField(
        child=serializers.IntegerField(), help_text="Each score's change since the baseline."
    )
    flags = MeasureFlagSerializer(many=True)
    series = MeasurePointSerializer(many=True, source="responses", help_text="Oldest first.")


class MeasureResultsSerializer(serializers.Serializer):
    patient = serializers.UUIDField()
    results = MeasureResultSerializer(many=True)


class ResultsQuerySerializer(serializers.Serializer):
    patient = ReferenceField(required=False, help_text="Required for anyone but the patient.")


class CrisisResourceSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()
    text = serializers.CharField(required=False)
    url = serializers.URLField()
    hours = serializers.CharField()


class CrisisSupportSerializer(serializers.Serializer):
    reasons = serializers.ListField(child=serializers.CharField())
    message = serializers.CharField()
    next_step = serializers.CharField()
    resources = CrisisResourceSerializer(many=True)
    contacts = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))


class SubmittedSerializer(ResponseSerializer):
    crisis_support = CrisisSupportSerializer(
        allow_null=True,
        help_text="When a crisis item (PHQ-9 item 9) was answered above 0: crisis lines and a "
        "next step. Your therapist has been alerted.",
    )
