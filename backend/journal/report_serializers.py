"""Query and response shapes of the journal's insights and export (report_views.py)."""

from datetime import date, timedelta

from rest_framework import serializers

from backend.accounts.serializers import PersonSerializer
from backend.coping.serializers import ItemSkillSerializer
from backend.core.serializers import BoundedDateField, ForPatientField
from backend.core.time import LAST_YEAR
from backend.disclosure.notice import NoticeToOthersField
from backend.journal.reports import DEFAULT_RANGE_DAYS, EXPORT_KINDS, MAX_RANGE_DAYS
from backend.journal.serializers import (
    EARLIEST_YEAR,
    CheckInSerializer,
    DecisionSerializer,
    EntrySerializer,
)

RANGE_EARLIEST = date(EARLIEST_YEAR, 1, 1)
RANGE_LATEST = date(LAST_YEAR, 12, 31)


class InsightsQuerySerializer(serializers.Serializer):
    """``from`` and ``to``: local dates in the patient's zone, both included.

    ``to`` defaults to today and ``from`` to 29 days before ``to`` (30 days in all).
    """

    to = BoundedDateField(
        required=False, help_text="Last day, included (YYYY-MM-DD); default today."
    )

    def get_fields(self):
        # "from" is a Python keyword, so it cannot be declared as a class attribute.
        return {
            "from": BoundedDateField(
                required=False,
                help_text="First day, included (YYYY-MM-DD); default 29 days before `to`.",
            ),
            **super().get_fields(),
        }

    def _within_bounds(self, value: date) -> date:
        if not RANGE_EARLIEST <= value <= RANGE_LATEST:
            raise serializers.ValidationError(
                f"Use a date from {RANGE_EARLIEST} to {RANGE_LATEST}."
            )
        return value

    validate_from = validate_to = _within_bounds

    def validate(self, attrs):
        end = attrs.get("to") or self.context["today"]
        start = attrs.get("from") or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
        if start > end:
            raise serializers.ValidationError(
                {"from": ["Must be on or before `to` (default: today)."]}
            )
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise serializers.ValidationError(
                {"to": [f"The range may span at most {MAX_RANGE_DAYS} days."]}
            )
        return {"from": start, "to": end}


class InsightsRangeSerializer(serializers.Serializer):
    to = serializers.DateField()
    days = serializers.IntegerField(help_text="Local dates in the range.")

    def get_fields(self):
        return {"from": serializers.DateField(), **super().get_fields()}


class InsightsTotalsSerializer(serializers.Serializer):
    entries = serializers.IntegerField()
    mean_intensity = serializers.FloatField(allow_null=True, help_text="Null without entries.")
    peak_intensity = serializers.IntegerField(allow_null=True)


class InsightsDaySerializer(serializers.Serializer):
    date = serializers.DateField(help_text="A local date in your time zone.")
    count = serializers.IntegerField()
    mean_intensity = serializers.FloatField(
        allow_null=True, help_text="Null on a day without entries."
    )
    peak_intensity = serializers.IntegerField(allow_null=True)
    lapses = serializers.IntegerField(
        help_text="Entries of that day that ended lapsed or used (the console marks them)."
    )


class InsightsTriggerSerializer(serializers.Serializer):
    category = serializers.CharField()
    label = serializers.CharField(
        allow_null=True,
        help_text=(
            "The patient's own words: null when someone else reads insights without the "
            "journal.all scope; counts are then entries per category."
        ),
    )
    count = serializers.IntegerField(help_text="Entries in the range naming this trigger.")


class ShareSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    share = serializers.FloatField(
        allow_null=True,
        help_text="count / entries in the range, 0-1 to 4 places; null without entries.",
    )


class InsightsHaltSerializer(serializers.Serializer):
    hungry = ShareSerializer()
    angry = ShareSerializer()
    lonely = ShareSerializer()
    tired = ShareSerializer()


class InsightsOutcomesSerializer(serializers.Serializer):
    resisted = ShareSerializer()
    lapsed = ShareSerializer()
    used = ShareSerializer()
    ongoing = ShareSerializer()


class InsightsCopingSerializer(serializers.Serializer):
    entries = serializers.IntegerField(
        help_text="Entries where a coping skill was used and the intensity after was logged."
    )
    mean_intensity_drop = serializers.FloatField(
        allow_null=True,
        help_text="Mean of intensity minus intensity after over those entries; null when none.",
    )


class InsightsCounterSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    substance = serializers.CharField()
    start_date = serializers.DateField()
    days_sober = serializers.IntegerField(help_text="As of today in your time zone.")


class InsightsSerializer(serializers.Serializer):
    time_zone = serializers.CharField(help_text="The IANA zone the days and hours are in.")
    range = InsightsRangeSerializer()
    totals = InsightsTotalsSerializer()
    days = InsightsDaySerializer(many=True, help_text="Every date in the range, oldest first.")
    top_triggers = InsightsTriggerSerializer(many=True, help_text="The 10 most frequent.")
    halt = InsightsHaltSerializer()
    outcomes = InsightsOutcomesSerializer()
    heatmap = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField(), min_length=24, max_length=24),
        min_length=7,
        max_length=7,
        help_text=(
            "Cravings by hour of the week on your clock: `heatmap[weekday][hour]`, "
            "weekday 0 = Monday to 6 = Sunday, hour 0-23."
        ),
    )
    coping = InsightsCopingSerializer()
    counters = InsightsCounterSerializer(many=True)
    today = serializers.DateField(help_text="Today in your time zone.")


class ExportQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=["json", "csv"],
        required=False,
        help_text="json (default): everything in one document. csv: one table, chosen by `kind`.",
    )
    kind = serializers.ChoiceField(
        choices=EXPORT_KINDS,
        default="entries",
        help_text="Which table a CSV download holds (ignored for JSON).",
    )


class ExportTriggerSerializer(serializers.Serializer):
    category = serializers.CharField()
    label = serializers.CharField()
    uses = serializers.IntegerField(help_text="Entries (not deleted) naming this trigger.")
    last_used_at = serializers.DateTimeField(allow_null=True)


class ExportCounterSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="counter.id")
    substance = serializers.CharField(source="counter.substance")
    start_date = serializers.DateField(source="counter.start_date")
    days_sober = serializers.IntegerField()
    created_at = serializers.DateTimeField(source="counter.created_at")
    updated_at = serializers.DateTimeField(source="counter.updated_at")
    decisions = DecisionSerializer(
        many=True, source="counter.all_decisions", help_text="Every decision, pending ones too."
    )


class ExportSerializer(serializers.Serializer):
    exported_at = serializers.DateTimeField()
    time_zone = serializers.CharField()
    entries = EntrySerializer(many=True)
    checkins = CheckInSerializer(many=True)
    counters = ExportCounterSerializer(many=True)
    triggers = ExportTriggerSerializer(many=True, help_text="Your trigger vocabulary.")


# --- coping skill effectiveness ----------------------------------------------------------


class EffectivenessQuerySerializer(serializers.Serializer):
    patient = ForPatientField(
        help_text="Whose skills: a patient who granted you `coping` (therapists), or your own id."
    )
    to = BoundedDateField(required=False, help_text="Last local date, included.")

    def get_fields(self):
        # "from" is a Python keyword, so it cannot be declared as a class attribute.
        return {
            "from": BoundedDateField(
                required=False, help_text="First local date, included; with `to`."
            ),
            **super().get_fields(),
        }

    def validate(self, attrs):
        start, end = attrs.get("from"), attrs.get("to")
        if (start is None) != (end is None):
            raise serializers.ValidationError(
                {"from" if start is None else "to": ["Give both `from` and `to`, or neither."]}
            )
        if start is not None and start > end:
            raise serializers.ValidationError({"from": ["Must be on or before `to`."]})
        for name in ("from", "to"):
            value = attrs.get(name)
            if value is not None and not RANGE_EARLIEST <= value <= RANGE_LATEST:
                raise serializers.ValidationError(
                    {name: [f"Use a date from {RANGE_EARLIEST} to {RANGE_LATEST}."]}
                )
        return attrs


class EffectivenessSkillSerializer(serializers.Serializer):
    skill = ItemSkillSerializer(
        allow_null=True, help_text="The library or custom skill it matched; null if none."
    )
    label = serializers.CharField(
        allow_null=True,
        help_text=(
            "The skill's name, or the patient's own words. Null for the row that counts "
            "unmatched skills together when the patient's own words are not yours to see."
        ),
    )
    times_used = serializers.IntegerField()
    ended = serializers.IntegerField(help_text="Of those, cravings that ended (not ongoing).")
    resisted = serializers.IntegerField()
    resisted_share = serializers.FloatField(allow_null=True, help_text="resisted / ended.")
    with_intensity_after = serializers.IntegerField()
    mean_intensity_drop = serializers.FloatField(
        allow_null=True, help_text="Mean of intensity minus intensity after (0-10 scale)."
    )


class EffectivenessRangeSerializer(serializers.Serializer):
    to = serializers.DateField()

    def get_fields(self):
        return {"from": serializers.DateField(), **super().get_fields()}


class EffectivenessSerializer(serializers.Serializer):
    patient = PersonSerializer()
    range = EffectivenessRangeSerializer(allow_null=True, help_text="Null: the whole journal.")
    entries_with_skills = serializers.IntegerField()
    skills = EffectivenessSkillSerializer(many=True, help_text="Most used first; at most 50.")
    more = serializers.IntegerField(help_text="Skills left out after the first 50.")
    redisclosure_notice = NoticeToOthersField()
