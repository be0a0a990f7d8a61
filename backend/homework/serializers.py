from django.utils import timezone
from rest_framework import serializers

from backend.accounts.serializers import PersonSerializer
from backend.core.serializers import (
    BoundedDateField,
    ForPatientField,
    StrictIntegerField,
    StrictSerializer,
)
from backend.disclosure.notice import NoticeToOthersField
from backend.homework import selectors
from backend.homework.models import Homework, HomeworkKind, HomeworkReview, QuestionType, Recurrence
from backend.homework.questions import QUESTION_ID

MAX_QUESTIONS = 50
MAX_OCCURRENCES = 26
CHOICE_TYPES = (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE)


class QuestionSerializer(StrictSerializer):
    id = serializers.RegexField(
        QUESTION_ID,
        required=False,
        help_text="Optional; lower-case letters, digits and _ (default q1, q2, ...).",
    )
    type = serializers.ChoiceField(choices=QuestionType.choices)
    prompt = serializers.CharField(max_length=500)
    required = serializers.BooleanField(default=True, help_text="Needed to submit.")
    choices = serializers.ListField(
        child=serializers.CharField(max_length=100),
        min_length=2,
        max_length=20,
        required=False,
        help_text="For single_choice and multiple_choice only.",
    )

    def validate(self, attrs):
        has_choices = "choices" in attrs
        if attrs["type"] in CHOICE_TYPES:
            if not has_choices:
                raise serializers.ValidationError({"choices": ["List the choices (2 to 20)."]})
            if len(set(attrs["choices"])) != len(attrs["choices"]):
                raise serializers.ValidationError({"choices": ["Name each choice once."]})
        elif has_choices:
            raise serializers.ValidationError(
                {"choices": ["Only single_choice and multiple_choice questions have choices."]}
            )
        return attrs


def _unique_ids(questions):
    ids = [q["id"] for q in questions if q.get("id")]
    if len(set(ids)) != len(ids):
        raise serializers.ValidationError("Give each question its own id.")
    return questions


class AssignSerializer(StrictSerializer):
    patient = ForPatientField(required=True, help_text="A patient on your caseload (else 404).")
    template = serializers.SlugField(
        required=False, help_text="A template's slug: its title, kind, instructions and questions."
    )
    title = serializers.CharField(max_length=120, required=False)
    instructions = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=HomeworkKind.choices, required=False)
    questions = QuestionSerializer(many=True, max_length=MAX_QUESTIONS, required=False)
    due_date = BoundedDateField(help_text="A date on the patient's clock (their time zone).")
    recurrence = serializers.ChoiceField(choices=Recurrence.choices, default=Recurrence.NONE)
    occurrences = StrictIntegerField(
        min_value=1,
        max_value=MAX_OCCURRENCES,
        default=1,
        help_text="Weekly: how many weeks in all (2-26), each due a week after the last.",
    )

    def validate_questions(self, value):
        return _unique_ids(value)

    def validate(self, attrs):
        weekly = attrs["recurrence"] == Recurrence.WEEKLY
        if weekly and attrs["occurrences"] < 2:
            raise serializers.ValidationError(
                {"occurrences": ["A weekly homework runs for 2 to 26 weeks."]}
            )
        if not weekly and attrs["occurrences"] != 1:
            raise serializers.ValidationError(
                {"occurrences": ["Only a weekly homework has more than one occurrence."]}
            )
        return attrs


class HomeworkUpdateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=120, required=False)
    instructions = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    due_date = BoundedDateField(required=False)


class AnswersSerializer(StrictSerializer):
    answers = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        help_text=(
            "Question id -> answer: text, a whole number 0-10 (scale), true/false (yes_no), "
            "one choice, or a list of choices. null clears one. A draft may be partial."
        ),
    )


class SubmitSerializer(StrictSerializer):
    answers = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        required=False,
        help_text="Replaces the saved draft before submitting; leave out to submit the draft.",
    )


class ReviewWriteSerializer(StrictSerializer):
    decision = serializers.ChoiceField(
        choices=HomeworkReview.Decision.choices,
        help_text="`reviewed`, or `returned` for the patient to revise and submit again.",
    )
    feedback = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if attrs["decision"] == HomeworkReview.Decision.RETURNED and not attrs["feedback"].strip():
            raise serializers.ValidationError(
                {"feedback": ["Say what to revise when you return homework."]}
            )
        return attrs


class QuestionOutSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.ChoiceField(choices=QuestionType.choices)
    prompt = serializers.CharField()
    required = serializers.BooleanField()
    choices = serializers.ListField(child=serializers.CharField(), required=False)


class ReviewSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=HomeworkReview.Decision.choices)
    feedback = serializers.CharField()
    reviewer = PersonSerializer()
    created_at = serializers.DateTimeField()


class HomeworkSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    patient = PersonSerializer()
    assigned_by = PersonSerializer()
    template = serializers.CharField(
        source="template.slug", allow_null=True, help_text="The template's slug, if any."
    )
    title = serializers.CharField()
    instructions = serializers.CharField()
    kind = serializers.ChoiceField(choices=HomeworkKind.choices)
    questions = QuestionOutSerializer(many=True)
    due_date = serializers.DateField(help_text="On the patient's clock.")
    overdue = serializers.SerializerMethodField(
        help_text="Not submitted and the due date has passed on the patient's clock."
    )
    recurrence = serializers.ChoiceField(choices=Recurrence.choices)
    series = serializers.UUIDField(help_text="Shared by the weeks of a weekly homework.")
    occurrence = serializers.IntegerField()
    occurrences = serializers.IntegerField()
    state = serializers.ChoiceField(choices=Homework.State.choices)
    answers = serializers.DictField(child=serializers.JSONField())
    answers_saved_at = serializers.DateTimeField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    reviews = ReviewSerializer(many=True, source="reviews.all", help_text="Oldest first.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    redisclosure_notice = NoticeToOthersField()

    def get_overdue(self, homework) -> bool:
        return selectors.is_overdue(homework, now=self.context.get("now") or timezone.now())


class HomeworkQuerySerializer(serializers.Serializer):
    patient = serializers.UUIDField(required=False)
    state = serializers.ChoiceField(choices=Homework.State.choices, required=False)
    overdue = serializers.ChoiceField(
        choices=["true", "false"],
        required=False,
        help_text="true: open homework whose due date passed on the patient's clock.",
    )


class TemplateSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.SlugField()
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=HomeworkKind.choices)
    instructions = serializers.CharField()
    questions = QuestionOutSerializer(many=True)
