from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers

from backend.accounts.serializers import PersonSerializer
from backend.core.serializers import (
    AwareDateTimeField,
    BoundedDateField,
    ReferenceField,
    StrictIntegerField,
    StrictSerializer,
)
from backend.core.time import validate_time_zone
from backend.program.models import (
    Attendance,
    Enrolment,
    EnrolmentChange,
    LevelOfCare,
    Program,
    SessionKind,
)

MAX_TEXT = 2000
MAX_PROGRAM_PAST = timedelta(days=366)
MAX_PROGRAM_SPAN = timedelta(days=5 * 366)


def _zone(value: str) -> str:
    try:
        validate_time_zone(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages) from None
    return value


class ProgramWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    level_of_care = serializers.ChoiceField(choices=LevelOfCare.choices, default=LevelOfCare.IOP)
    planned_weeks = StrictIntegerField(min_value=1, max_value=104, default=12)
    time_zone = serializers.CharField(max_length=64, validators=[_zone])
    starts_on = BoundedDateField()
    ends_on = BoundedDateField(required=False, allow_null=True)
    checkin_opens_minutes = StrictIntegerField(min_value=0, max_value=240, default=15)
    checkin_closes_minutes = StrictIntegerField(min_value=0, max_value=240, default=30)
    late_after_minutes = StrictIntegerField(min_value=0, max_value=240, default=10)
    therapists = serializers.ListField(child=serializers.UUIDField(), max_length=200, default=list)

    def validate(self, attrs):
        # Sessions are made as rows from the start: a start long past, or an end years
        # away, would make thousands at once.
        today = timezone.now().date()
        if attrs["starts_on"] < today - MAX_PROGRAM_PAST:
            raise serializers.ValidationError(
                {"starts_on": ["Start the program within the last year."]}
            )
        if attrs.get("ends_on") and attrs["ends_on"] < attrs["starts_on"]:
            raise serializers.ValidationError(
                {"ends_on": ["The program cannot end before it starts."]}
            )
        if attrs.get("ends_on") and attrs["ends_on"] - attrs["starts_on"] > MAX_PROGRAM_SPAN:
            raise serializers.ValidationError(
                {"ends_on": ["Plan a program over at most five years."]}
            )
        return attrs


class ProgramUpdateSerializer(StrictSerializer):
    """Any of a program's editable fields; what is left out stays."""

    name = serializers.CharField(max_length=120, required=False)
    level_of_care = serializers.ChoiceField(choices=LevelOfCare.choices, required=False)
    planned_weeks = StrictIntegerField(
        min_value=1, max_value=104, required=False, help_text="For enrolments made from now on."
    )
    time_zone = serializers.CharField(
        max_length=64,
        validators=[_zone],
        required=False,
        help_text=(
            "The clinic's IANA zone. Sessions still to come move to the same wall-clock time "
            "in it (but those with attendance already taken)."
        ),
    )
    checkin_opens_minutes = StrictIntegerField(min_value=0, max_value=240, required=False)
    checkin_closes_minutes = StrictIntegerField(min_value=0, max_value=240, required=False)
    late_after_minutes = StrictIntegerField(min_value=0, max_value=240, required=False)


class StaffAddSerializer(StrictSerializer):
    therapists = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, max_length=200, help_text="Active therapists."
    )


class RegeneratedSerializer(serializers.Serializer):
    updated = serializers.IntegerField(
        help_text=(
            "Sessions to come moved or changed in place, with their invitations and the "
            "excused absences marked ahead on them."
        )
    )
    made = serializers.IntegerField(help_text="Sessions made (a new weekday).")
    removed = serializers.IntegerField(help_text="Sessions no longer on the timetable: deleted.")
    kept = serializers.IntegerField(
        help_text=(
            "Sessions to come left as they were: attendance already taken on them (checked "
            "in early), or today's whose new time has passed."
        )
    )
    cancelled = serializers.IntegerField(
        help_text=(
            "Sessions no longer on the timetable holding an excused absence marked ahead: "
            "cancelled, so the mark stays on record."
        )
    )


class SlotSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    kind = serializers.CharField()
    title = serializers.CharField()
    weekday = serializers.IntegerField()
    start_time = serializers.TimeField(format="%H:%M")
    duration_minutes = serializers.IntegerField()
    therapist = serializers.UUIDField(source="therapist_id")
    patient = serializers.UUIDField(source="patient_id", allow_null=True)
    place = serializers.CharField()
    telehealth_url = serializers.CharField()
    valid_from = serializers.DateField()
    valid_until = serializers.DateField(allow_null=True)


class ProgramSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    level_of_care = serializers.CharField()
    planned_weeks = serializers.IntegerField()
    time_zone = serializers.CharField()
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(allow_null=True)
    checkin_opens_minutes = serializers.IntegerField()
    checkin_closes_minutes = serializers.IntegerField()
    late_after_minutes = serializers.IntegerField()
    therapists = serializers.SerializerMethodField()
    timetable = serializers.SerializerMethodField()

    def get_therapists(self, program: Program) -> list[str]:
        return [str(row.therapist_id) for row in program.staff.all()]

    def get_timetable(self, program: Program) -> list[dict]:
        return SlotSerializer(program.slots.all(), many=True).data


class SlotWriteSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=SessionKind.choices)
    title = serializers.CharField(max_length=120)
    weekday = StrictIntegerField(min_value=0, max_value=6, help_text="0 is Monday.")
    start_time = serializers.TimeField(help_text="Wall-clock time in the program's zone.")
    duration_minutes = StrictIntegerField(min_value=5, max_value=720)
    therapist = ReferenceField(help_text="A therapist on the program's staff.")
    patient = ReferenceField(required=False, help_text="For individual and family sessions.")
    place = serializers.CharField(max_length=200, required=False, default="")
    telehealth_url = serializers.URLField(max_length=500, required=False, default="")
    valid_from = BoundedDateField(required=False)
    valid_until = BoundedDateField(required=False, allow_null=True)


class SlotUpdateSerializer(StrictSerializer):
    """Any of a timetable line's editable fields (its kind and patient make another line)."""

    title = serializers.CharField(max_length=120, required=False)
    weekday = StrictIntegerField(min_value=0, max_value=6, required=False, help_text="0 is Monday.")
    start_time = serializers.TimeField(
        required=False, help_text="Wall-clock time in the program's zone."
    )
    duration_minutes = StrictIntegerField(min_value=5, max_value=720, required=False)
    therapist = ReferenceField(required=False, help_text="A therapist on the program's staff.")
    place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    telehealth_url = serializers.URLField(max_length=500, required=False, allow_blank=True)


class SlotChangeSerializer(SlotSerializer):
    sessions = RegeneratedSerializer(
        source="sessions_changed", help_text="What the change did to sessions still to come."
    )


class SlotEndSerializer(StrictSerializer):
    last_day = BoundedDateField(
        required=False, help_text="The line's last day (program's zone); default today."
    )
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class SlotEndedSerializer(SlotSerializer):
    cancelled = serializers.IntegerField(help_text="Sessions after the last day, now cancelled.")


class ProgramChangeSerializer(ProgramSerializer):
    sessions = RegeneratedSerializer(
        source="sessions_changed",
        help_text="What a change of zone did to sessions still to come (all 0 otherwise).",
    )


class ExtraSessionWriteSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=SessionKind.choices)
    title = serializers.CharField(max_length=120)
    local_date = BoundedDateField()
    start_time = serializers.TimeField()
    duration_minutes = StrictIntegerField(min_value=5, max_value=720)
    therapist = ReferenceField()
    patient = ReferenceField(required=False)
    place = serializers.CharField(max_length=200, required=False, default="")
    telehealth_url = serializers.URLField(max_length=500, required=False, default="")


class CancelSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class SessionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    program = serializers.UUIDField(source="program_id")
    kind = serializers.CharField()
    title = serializers.CharField()
    local_date = serializers.DateField()
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    duration_minutes = serializers.IntegerField()
    therapist = serializers.UUIDField(source="therapist_id")
    place = serializers.CharField()
    telehealth_url = serializers.CharField()
    status = serializers.CharField()
    cancel_reason = serializers.CharField()


class PatientSessionSerializer(SessionSerializer):
    attendance = serializers.CharField(source="attendance_status", allow_null=True)


class SessionRangeSerializer(StrictSerializer):
    start = AwareDateTimeField(required=False)
    end = AwareDateTimeField(required=False)
    patient = ReferenceField(required=False)
    cursor = serializers.CharField(required=False)
    page_size = serializers.CharField(required=False)

    def validate(self, attrs):
        if "start" in attrs and "end" in attrs and attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["Must be after start."]})
        return attrs


class EnrolSerializer(StrictSerializer):
    patient = ReferenceField()
    program = ReferenceField()
    primary_therapist = ReferenceField(
        required=False, help_text="Default for a therapist: you. Clinic staff name one."
    )
    starts_on = BoundedDateField()
    planned_end = BoundedDateField(required=False)


class EnrolmentChangeSerializer(serializers.Serializer):
    what = serializers.ChoiceField(
        choices=EnrolmentChange.What.choices,
        help_text=(
            "`enrolled`, `status` (from and to a status), `planned_end` (dates) or "
            "`therapist` (the primary therapist: from and to their ids)."
        ),
    )
    by = serializers.UUIDField(source="by_id")
    at = AwareDateTimeField()
    from_value = serializers.CharField()
    to_value = serializers.CharField()
    reason = serializers.CharField()


class EnrolmentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    patient = PersonSerializer()
    program = serializers.UUIDField(source="program_id")
    program_name = serializers.CharField(source="program.name")
    primary_therapist = PersonSerializer()
    starts_on = serializers.DateField()
    planned_end = serializers.DateField()
    ended_on = serializers.DateField(allow_null=True)
    status = serializers.CharField()


class HomeworkDoneSerializer(serializers.Serializer):
    done = serializers.IntegerField(help_text="Submitted or reviewed.")
    assigned = serializers.IntegerField(help_text="Due within the enrolment's dates.")
    counted = serializers.ChoiceField(
        choices=["all", "assigned_by_you"],
        help_text=(
            "`all` for the patient and holders of the `homework` scope; `assigned_by_you` for "
            "a therapist who sees only the homework they assigned."
        ),
    )


class ProgressSerializer(serializers.Serializer):
    week = serializers.IntegerField()
    weeks = serializers.IntegerField()
    scheduled = serializers.IntegerField()
    attended = serializers.IntegerField()
    missed_in_a_row = serializers.IntegerField()
    homework = HomeworkDoneSerializer(
        allow_null=True,
        help_text="Homework due within the enrolment's dates; null when you see none of it.",
    )


class EnrolmentDetailSerializer(EnrolmentSerializer):
    history = EnrolmentChangeSerializer(source="changes", many=True)
    progress = serializers.SerializerMethodField()

    def get_progress(self, enrolment: Enrolment) -> dict:
        return ProgressSerializer(self.context["progress"]).data


class StatusWriteSerializer(StrictSerializer):
    status = serializers.ChoiceField(
        choices=[c for c in Enrolment.Status.choices if c[0] != Enrolment.Status.ACTIVE]
    )
    reason = serializers.CharField(max_length=MAX_TEXT)


class PlannedEndWriteSerializer(StrictSerializer):
    planned_end = BoundedDateField()
    reason = serializers.CharField(max_length=MAX_TEXT)


class PrimaryTherapistWriteSerializer(StrictSerializer):
    primary_therapist = ReferenceField(
        help_text="An active therapist on the program's staff, other than the current one."
    )
    reason = serializers.CharField(max_length=MAX_TEXT, help_text="Kept in the history.")


class SessionAttendanceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    session = serializers.UUIDField(source="session_id")
    patient = serializers.UUIDField(source="patient_id")
    status = serializers.CharField()
    source = serializers.CharField()
    note = serializers.SerializerMethodField()
    checked_in_at = AwareDateTimeField(allow_null=True)
    marked_at = AwareDateTimeField()

    def get_note(self, row: Attendance) -> str:
        """The therapist's note: for the patient and the therapists who ran or marked it."""
        viewer = self.context["request"].user
        if viewer.pk in (row.patient_id, row.marked_by_id, row.session.therapist_id):
            return row.note
        return ""


class SheetRowSerializer(serializers.Serializer):
    patient = PersonSerializer()
    enrolment = serializers.UUIDField(source="enrolment.id")
    attendance = SessionAttendanceSerializer(allow_null=True)


class MarkSerializer(StrictSerializer):
    patient = ReferenceField()
    status = serializers.ChoiceField(choices=Attendance.Status.choices)
    note = serializers.CharField(max_length=MAX_TEXT, required=False, default="", allow_blank=True)


class SessionAttendanceQuerySerializer(StrictSerializer):
    patient = ReferenceField(required=False)
    cursor = serializers.CharField(required=False)
    page_size = serializers.CharField(required=False)


class InviteWriteSerializer(StrictSerializer):
    member = ReferenceField(help_text="A family member holding the patient's program consent.")


class InvitationSerializer(serializers.Serializer):
    """What an invited family member sees of the session: its time and place only."""

    id = serializers.UUIDField()
    session = serializers.UUIDField(source="session_id")
    starts_at = AwareDateTimeField(source="session.starts_at")
    ends_at = AwareDateTimeField(source="session.ends_at")
    place = serializers.CharField(source="session.place")
    telehealth_url = serializers.CharField(source="session.telehealth_url")
    cancelled = serializers.SerializerMethodField()

    def get_cancelled(self, invite) -> bool:
        return invite.session.status == "cancelled"


class FollowUpSerializer(StrictSerializer):
    date = BoundedDateField()
    time = serializers.TimeField(required=False, allow_null=True, format="%H:%M")
    kind = serializers.CharField(max_length=60, help_text="e.g. therapist, case manager, doctor")
    place = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class CommittedMeetingSerializer(StrictSerializer):
    meeting = serializers.UUIDField(help_text="A meeting from the meeting finder.")
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class AftercareContactSerializer(StrictSerializer):
    name = serializers.CharField(max_length=80)
    relation = serializers.CharField(max_length=60, required=False, default="", allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)


def _plain(rows):
    """JSON-ready copies of nested rows (dates and times as ISO text)."""
    return [
        {
            key: value.isoformat() if hasattr(value, "isoformat") else value
            for key, value in row.items()
        }
        for row in rows
    ]


class AftercareWriteSerializer(StrictSerializer):
    level_of_care = serializers.ChoiceField(choices=LevelOfCare.choices)
    follow_ups = FollowUpSerializer(many=True, required=False, max_length=20)
    meetings = CommittedMeetingSerializer(many=True, required=False, max_length=20)
    weekly_checkin_weekday = StrictIntegerField(
        min_value=0, max_value=6, required=False, allow_null=True, help_text="0 is Monday."
    )
    weekly_checkin_time = serializers.TimeField(required=False, allow_null=True)
    sober_living = serializers.CharField(
        max_length=MAX_TEXT, required=False, default="", allow_blank=True
    )
    relapse_plan_linked = serializers.BooleanField(required=False, default=False)
    support_contacts = AftercareContactSerializer(many=True, required=False, max_length=20)

    def validate(self, attrs):
        for name in ("follow_ups", "meetings", "support_contacts"):
            if name in attrs:
                attrs[name] = _plain(attrs[name])
        if "meetings" in attrs:
            ids = [row["meeting"] for row in attrs["meetings"]]
            if len(set(ids)) != len(ids):
                raise serializers.ValidationError({"meetings": ["Name each meeting once."]})
            for row in attrs["meetings"]:
                row["meeting"] = str(row["meeting"])
        return attrs


class AftercareSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    enrolment = serializers.UUIDField(source="enrolment_id")
    level_of_care = serializers.CharField()
    follow_ups = serializers.JSONField()
    meetings = serializers.JSONField()
    weekly_checkin_weekday = serializers.IntegerField(allow_null=True)
    weekly_checkin_time = serializers.TimeField(allow_null=True, format="%H:%M")
    sober_living = serializers.CharField()
    relapse_plan_linked = serializers.BooleanField()
    support_contacts = serializers.JSONField()
    drafted_by = serializers.UUIDField(source="drafted_by_id")
    accepted_at = AwareDateTimeField(allow_null=True)
