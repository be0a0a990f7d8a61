"""Response shapes of patient summaries (summary_views.py).

Sections and flags a viewer's grants do not cover are absent from a response,
so every one of them is optional here.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.consent.scopes import Scope
from backend.disclosure.notice import NoticeField
from backend.journal.report_serializers import InsightsSerializer
from backend.sharing.summaries import FLAGS


class SummaryPatientSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField()


class SummaryCheckinsSerializer(serializers.Serializer):
    current_streak = serializers.IntegerField(
        help_text="Consecutive local dates with a check-in up to today or yesterday; 0 if broken."
    )
    last_check_in = serializers.DateField(allow_null=True, help_text="A local date; null if none.")
    checked_in_today = serializers.BooleanField()


class SummaryCounterSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    substance = serializers.CharField()
    start_date = serializers.DateField()
    days_sober = serializers.IntegerField(help_text="As of today in the patient's time zone.")


class CravingWeekSerializer(serializers.Serializer):
    to = serializers.DateField()
    entries = serializers.IntegerField()
    mean_intensity = serializers.FloatField(allow_null=True, help_text="Null without entries.")

    def get_fields(self):
        # "from" is a Python keyword, so it cannot be declared as a class attribute.
        return {"from": serializers.DateField(), **super().get_fields()}


class CravingTrendSerializer(serializers.Serializer):
    recent = CravingWeekSerializer(help_text="The last 7 local dates, today included.")
    previous = CravingWeekSerializer(help_text="The 7 local dates before those.")


class SummaryFlagsSerializer(serializers.Serializer):
    no_checkin_3_days = serializers.BooleanField(
        required=False,
        help_text=(
            "Scope checkins. The last check-in is 3 or more local dates before today, or there "
            "is none."
        ),
    )
    rising_craving_trend = serializers.BooleanField(
        required=False,
        help_text=(
            "Scope insights or journal.all. The mean craving intensity of the last 7 local dates "
            "is at least 1 point above that of the 7 before, each week holding 3 or more entries."
        ),
    )
    lapse_last_7_days = serializers.BooleanField(
        required=False,
        help_text=(
            "Scope insights or journal.all. An entry of the last 7 local dates (today included) "
            "ended lapsed or used."
        ),
    )
    measure_flags = serializers.BooleanField(
        required=False,
        help_text=(
            "Scope measures. A questionnaire's answers raise a flag: PHQ-9 or GAD-7 up 5 or more "
            "since baseline, BAM Use above 0 or Risk rising, PACS rising two weeks running."
        ),
    )

    missed_two_sessions_in_a_row = serializers.BooleanField(
        required=False,
        help_text="Scope program. The two latest program sessions held were both marked absent.",
    )


class SummaryMeasureInstrumentSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class SummaryMeasureFlagSerializer(serializers.Serializer):
    score = serializers.CharField()
    rule = serializers.CharField()
    message = serializers.CharField()


class SummaryMeasureSerializer(serializers.Serializer):
    instrument = SummaryMeasureInstrumentSerializer()
    answered_at = serializers.DateTimeField(help_text="The latest answer.")
    scores = serializers.DictField(child=serializers.IntegerField())
    band = serializers.CharField(help_text="The total's severity band, where it has bands.")
    change = serializers.DictField(
        child=serializers.IntegerField(), help_text="Each score's change since the baseline."
    )
    flags = SummaryMeasureFlagSerializer(many=True)


class SharedInsightsSerializer(InsightsSerializer):
    # Days sober are the counters scope's; a summary shows them in its own "counters".
    counters = None


class SummaryAttendanceWeekSerializer(serializers.Serializer):
    to = serializers.DateField()
    count = serializers.IntegerField(help_text="Meetings attended that week.")

    def get_fields(self):
        return {"from": serializers.DateField(help_text="A Monday."), **super().get_fields()}


class SummaryMeetingsSerializer(serializers.Serializer):
    this_week = serializers.IntegerField(help_text="Meetings attended this local week.")
    weeks = SummaryAttendanceWeekSerializer(
        many=True, help_text="This week first, then three before."
    )
    last_attended_at = serializers.DateTimeField(allow_null=True)


class SummaryProgramSerializer(serializers.Serializer):
    week = serializers.IntegerField(help_text="Week N of the enrolment...")
    weeks = serializers.IntegerField(help_text="...of M planned.")
    scheduled = serializers.IntegerField(
        help_text="Sessions held so far that the patient was expected at."
    )
    attended = serializers.IntegerField(help_text="Of those, attended (present or late).")
    missed_in_a_row = serializers.IntegerField(help_text="Latest sessions marked absent, in a row.")


@extend_schema_field(SummaryProgramSerializer)
class SummaryProgramField(serializers.Field):
    """The program section, in SummaryProgramSerializer's shape, built directly from the
    progress: a nested serializer per patient was a third of what the section cost a
    caseload page of 100."""

    def to_representation(self, value):
        return {
            "week": value.week,
            "weeks": value.weeks,
            "scheduled": value.scheduled,
            "attended": value.attended,
            "missed_in_a_row": value.missed_in_a_row,
        }


class SharedSummarySerializer(serializers.Serializer):
    patient = SummaryPatientSerializer()
    today = serializers.DateField(help_text="Today on the patient's clock (their time zone).")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=Scope.choices),
        help_text="The scopes the patient's consents give you now; the sections follow them.",
    )
    checkins = SummaryCheckinsSerializer(required=False, help_text="Scope checkins.")
    counters = SummaryCounterSerializer(many=True, required=False, help_text="Scope counters.")
    meetings = SummaryMeetingsSerializer(
        required=False, help_text="Scope meetings: support-group meeting attendance."
    )
    measures = SummaryMeasureSerializer(
        many=True,
        required=False,
        help_text="Scope measures: each questionnaire's latest score, change and flags.",
    )
    program = SummaryProgramField(
        required=False,
        help_text="Scope program: progress in the current program (absent when not in one).",
    )
    craving_trend = CravingTrendSerializer(
        required=False,
        help_text="Scope insights or journal.all: the two weeks the rising-trend flag compares.",
    )
    flags = SummaryFlagsSerializer(
        help_text="Only the flags your scopes cover; a flag not covered is absent, not false."
    )


class SharedPatientSummarySerializer(SharedSummarySerializer):
    insights = SharedInsightsSerializer(
        required=False,
        help_text=(
            "Scope insights: the last 30 local dates, today included (without days sober, "
            "which are in counters under the counters scope)."
        ),
    )
    redisclosure_notice = NoticeField()


class CaseloadSummaryQuerySerializer(serializers.Serializer):
    flag = serializers.ChoiceField(
        choices=FLAGS,
        required=False,
        help_text="Only patients with this flag raised (a flag your scopes do not cover never is).",
    )
