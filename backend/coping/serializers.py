import re

from rest_framework import serializers

from backend.accounts.serializers import PersonSerializer
from backend.coping.models import PlanSection, PlanSuggestion, SkillCategory
from backend.coping.services import MAX_ITEMS
from backend.core.serializers import (
    ForPatientField,
    StrictIntegerField,
    StrictSerializer,
)
from backend.disclosure.notice import NoticeToOthersField

PHONE = re.compile(r"^[0-9+()\-. ]{2,32}$")


# --- skills -------------------------------------------------------------------------------


class SkillSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    category = serializers.ChoiceField(choices=SkillCategory.choices)
    summary = serializers.CharField()
    steps = serializers.ListField(child=serializers.CharField())
    duration_minutes = serializers.IntegerField(help_text="Typical time it takes.")
    approach = serializers.CharField(help_text="The approach it comes from.")
    kind = serializers.SerializerMethodField(help_text="`library` or `custom`.")
    patient = PersonSerializer(
        allow_null=True, help_text="Whose custom skill; null in the library."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    redisclosure_notice = NoticeToOthersField()

    def get_kind(self, skill) -> str:
        return "library" if skill.is_system else "custom"


class SkillFieldsSerializer(StrictSerializer):
    name = serializers.CharField(max_length=80)
    category = serializers.ChoiceField(choices=SkillCategory.choices)
    summary = serializers.CharField(max_length=300, required=False, allow_blank=True)
    steps = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=12, required=False
    )
    duration_minutes = StrictIntegerField(
        min_value=1, max_value=240, default=10, help_text="Typical minutes; default 10."
    )
    approach = serializers.CharField(max_length=120, required=False)


class SkillCreateSerializer(SkillFieldsSerializer):
    patient = ForPatientField(
        help_text=(
            "Whose it is: a patient on your care team who granted you `coping` (therapists), "
            "or your own id (patients, who may also leave it out)."
        ),
    )


class SkillQuerySerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=SkillCategory.choices, required=False)
    kind = serializers.ChoiceField(choices=["library", "custom"], required=False)
    q = serializers.CharField(max_length=80, required=False, help_text="Words in name or summary.")
    patient = serializers.UUIDField(required=False, help_text="Custom skills of this patient only.")


# --- checklists -----------------------------------------------------------------------------


class ItemInputSerializer(StrictSerializer):
    id = serializers.UUIDField(
        required=False, help_text="An existing item to keep (with its history)."
    )
    skill = serializers.UUIDField(required=False, allow_null=True)
    text = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate(self, attrs):
        named = attrs.get("skill") or (attrs.get("text") or "").strip()
        if not named and not (attrs.get("id") and "skill" not in attrs and "text" not in attrs):
            raise serializers.ValidationError(
                {"text": ["Name a skill from the library or write the item's text."]}
            )
        if "text" in attrs:
            attrs["text"] = attrs["text"].strip()
        return attrs


class ChecklistCreateSerializer(StrictSerializer):
    patient = ForPatientField(
        help_text=(
            "Whose it is: a patient on your care team who granted you `coping` (therapists), "
            "or your own id (patients, who may also leave it out)."
        ),
    )
    title = serializers.CharField(max_length=80)
    items = ItemInputSerializer(many=True, max_length=MAX_ITEMS, required=False)


class ChecklistUpdateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=80, required=False)
    items = ItemInputSerializer(
        many=True,
        max_length=MAX_ITEMS,
        required=False,
        help_text=(
            "All the items, in order. Send an existing item's `id` to keep it and its history; "
            "items left out come off the list."
        ),
    )


class ItemSkillSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    category = serializers.CharField()
    duration_minutes = serializers.IntegerField()


class ItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    position = serializers.IntegerField()
    skill = ItemSkillSerializer(allow_null=True)
    text = serializers.CharField()
    label = serializers.SerializerMethodField(help_text="The text, or the skill's name.")

    def get_label(self, item) -> str:
        return item.text or (item.skill.name if item.skill else "")


class TodaySerializer(serializers.Serializer):
    date = serializers.DateField(source="today", help_text="Today on the patient's clock.")
    done = serializers.ListField(
        child=serializers.UUIDField(), source="done_today", help_text="Items ticked today."
    )
    completed = serializers.BooleanField(source="completed_today")


class ChecklistStreakSerializer(serializers.Serializer):
    current = serializers.IntegerField(
        source="current_streak",
        help_text="Completed days in a row up to today, or yesterday while today is open.",
    )
    longest = serializers.IntegerField(source="longest_streak")


class CompletionSerializer(serializers.Serializer):
    days = serializers.IntegerField(
        source="window_days",
        help_text="Days counted: the last 30 (fewer for a new checklist); today once completed.",
    )
    completed = serializers.IntegerField(source="window_completed")
    rate = serializers.FloatField(
        source="completion_rate", allow_null=True, help_text="completed / days; null if 0 days."
    )


class ChecklistSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    patient = PersonSerializer()
    title = serializers.CharField()
    items = ItemSerializer(many=True, source="live_items")
    today = TodaySerializer(source="progress")
    streak = ChecklistStreakSerializer(source="progress")
    completion_30_days = CompletionSerializer(source="progress")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    redisclosure_notice = NoticeToOthersField()


class ChecklistQuerySerializer(serializers.Serializer):
    patient = serializers.UUIDField(required=False, help_text="One patient's checklists only.")


class DayWriteSerializer(StrictSerializer):
    done = serializers.ListField(
        child=serializers.UUIDField(),
        max_length=MAX_ITEMS,
        help_text="The items ticked that day (all of them; an empty list clears the day).",
    )


class TickSerializer(serializers.Serializer):
    item = serializers.UUIDField(source="item_id")
    label = serializers.SerializerMethodField()

    def get_label(self, tick) -> str:
        item = tick.item
        return item.text or (item.skill.name if item.skill else "")


class DaySerializer(serializers.Serializer):
    date = serializers.DateField(source="local_date", help_text="A date on the patient's clock.")
    done = TickSerializer(many=True, source="ticks.all")
    done_count = serializers.IntegerField()
    item_count = serializers.IntegerField(help_text="Items on the list that day.")
    completed = serializers.BooleanField()
    updated_at = serializers.DateTimeField()
    redisclosure_notice = NoticeToOthersField()


# --- the relapse-prevention plan ---------------------------------------------------------------


def _phone(value: str) -> str:
    value = value.strip()
    if not PHONE.match(value) or not any(ch.isdigit() for ch in value):
        raise serializers.ValidationError("Use digits, spaces and + ( ) - . only.")
    return value


class ContactSerializer(StrictSerializer):
    name = serializers.CharField(max_length=80)
    relation = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32)

    def validate_phone(self, value):
        return _phone(value)


class CrisisLineSerializer(StrictSerializer):
    name = serializers.CharField(max_length=80)
    phone = serializers.CharField(max_length=32)

    def validate_phone(self, value):
        return _phone(value)


class StrategyInputSerializer(StrictSerializer):
    skill = serializers.UUIDField(required=False, allow_null=True)
    text = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if not attrs.get("skill") and not attrs.get("text", "").strip():
            raise serializers.ValidationError(
                {"text": ["Link a skill from your library or describe the strategy."]}
            )
        return attrs


def _lines(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=300),
        max_length=20,
        required=False,
        help_text=help_text,
    )


class PlanContentSerializer(StrictSerializer):
    """The plan's sections; each one sent replaces that section."""

    reasons = _lines("Your reasons for recovery.")
    triggers = _lines("People, places, feelings and times that put you at risk.")
    warning_signs = _lines("Early signs that you are heading toward a lapse.")
    coping_strategies = StrategyInputSerializer(
        many=True, max_length=30, required=False, help_text="Skills from your library, or text."
    )
    support_contacts = ContactSerializer(
        many=True,
        max_length=20,
        required=False,
        help_text="Shown with crisis support when you log a very high craving or a lapse.",
    )
    after_lapse = _lines("What you will do after a lapse.")
    crisis_lines = CrisisLineSerializer(
        many=True, max_length=10, required=False, help_text="Default: 988 and SAMHSA."
    )


class StrategySerializer(serializers.Serializer):
    skill = ItemSkillSerializer(allow_null=True)
    text = serializers.CharField()


class CrisisLineOutSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()


class ContactOutSerializer(CrisisLineOutSerializer):
    relation = serializers.CharField()


class PlanSectionsSerializer(serializers.Serializer):
    reasons = serializers.ListField(child=serializers.CharField())
    triggers = serializers.ListField(child=serializers.CharField())
    warning_signs = serializers.ListField(child=serializers.CharField())
    coping_strategies = StrategySerializer(many=True)
    support_contacts = ContactOutSerializer(many=True)
    after_lapse = serializers.ListField(child=serializers.CharField())
    crisis_lines = CrisisLineOutSerializer(many=True)


class PlanSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    patient = PersonSerializer()
    version = serializers.IntegerField(help_text="The current version; also the ETag.")
    sections = PlanSectionsSerializer()
    pending_suggestions = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    redisclosure_notice = NoticeToOthersField()


class PlanVersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    sections = PlanSectionsSerializer()
    author = PersonSerializer(allow_null=True)
    suggestion = serializers.UUIDField(
        source="suggestion_id", allow_null=True, help_text="The accepted suggestion it came from."
    )
    created_at = serializers.DateTimeField()
    redisclosure_notice = NoticeToOthersField()


class SuggestionWriteSerializer(StrictSerializer):
    section = serializers.ChoiceField(choices=PlanSection.choices)
    proposed = serializers.JSONField(
        help_text="The section's whole proposed content, in the shape that section takes."
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        field = PlanContentSerializer().fields[attrs["section"]]
        try:
            attrs["proposed"] = field.run_validation(attrs["proposed"])
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"proposed": exc.detail}) from exc
        return attrs


class SuggestionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    section = serializers.ChoiceField(choices=PlanSection.choices)
    proposed = serializers.JSONField(help_text="The proposed content of the section.")
    note = serializers.CharField()
    author = PersonSerializer(allow_null=True)
    based_on_version = serializers.IntegerField()
    state = serializers.ChoiceField(choices=PlanSuggestion.State.choices)
    resulting_version = serializers.IntegerField(
        allow_null=True, help_text="The version its acceptance made."
    )
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    redisclosure_notice = NoticeToOthersField()


class SuggestionQuerySerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=PlanSuggestion.State.choices, required=False)


class SuggestionDecisionSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=[("accept", "Accept"), ("reject", "Reject")])
