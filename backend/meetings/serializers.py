from datetime import time, timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.core.serializers import AwareDateTimeField, ReferenceField, StrictSerializer
from backend.meetings import search
from backend.meetings.importer import DAY_NAMES
from backend.meetings.models import Attendance, Meeting
from backend.meetings.types import ALL_CODES, type_name

MAX_RADIUS_KM = 500.0
MAX_AT_DISTANCE = timedelta(days=366)
DEFAULT_RADIUS_KM = 10.0
LIST_PARAMS = ("day", "types", "fellowship")


def query_data(params) -> dict:
    """Query parameters as serializer input: list parameters repeated or comma-separated."""
    data = {key: params.get(key) for key in params if key not in LIST_PARAMS}
    for key in LIST_PARAMS:
        values = [part.strip() for raw in params.getlist(key) for part in raw.split(",")]
        if values:
            data[key] = [value for value in values if value]
    return data


class DayField(serializers.Field):
    default_error_messages = {"invalid": "Use 0-6 (0 = Sunday) or a day name, e.g. monday."}

    def to_internal_value(self, data) -> int:
        text = str(data).strip().lower()
        if text.isascii() and text.isdigit() and len(text) == 1 and int(text) <= 6:
            return int(text)
        if text.rstrip(".") in DAY_NAMES:
            return DAY_NAMES[text.rstrip(".")]
        self.fail("invalid")

    def to_representation(self, value) -> int:
        return value


class TypeCodeField(serializers.Field):
    default_error_messages = {"invalid": "Unknown meeting type code: {code}."}

    def to_internal_value(self, data) -> str:
        text = str(data).strip()
        match = next((code for code in ALL_CODES if code.lower() == text.lower()), None)
        if match is None:
            self.fail("invalid", code=text[:20])
        return match

    def to_representation(self, value) -> str:
        return value


class MeetingSearchSerializer(StrictSerializer):
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False)
    lng = serializers.FloatField(min_value=-180, max_value=180, required=False)
    radius = serializers.FloatField(
        required=False, help_text="Default 10 km; more than 0 and at most 500 km (310.7 mi)."
    )
    units = serializers.ChoiceField(choices=["km", "mi"], default="km")
    day = serializers.ListField(
        child=DayField(), required=False, max_length=7, help_text="0-6 (0 = Sunday) or names."
    )
    start_after = serializers.TimeField(
        required=False, format="%H:%M", input_formats=["%H:%M"], help_text="Local HH:MM."
    )
    start_before = serializers.TimeField(
        required=False,
        format="%H:%M",
        input_formats=["%H:%M"],
        help_text="Local HH:MM; before start_after wraps past midnight.",
    )
    time = serializers.ChoiceField(choices=list(search.BUCKETS), required=False)
    in_progress = serializers.BooleanField(required=False, default=False)
    starting_within = serializers.IntegerField(min_value=0, max_value=24 * 60, required=False)
    types = serializers.ListField(child=TypeCodeField(), required=False, max_length=10)
    attendance = serializers.ChoiceField(choices=Meeting.Attendance.choices, required=False)
    fellowship = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=10
    )
    q = serializers.CharField(max_length=200, required=False, allow_blank=True)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    # No default: "next" given with nearest is refused (validate sets it after).
    order = serializers.ChoiceField(choices=["next", "distance"], required=False)
    nearest = serializers.IntegerField(
        min_value=1,
        max_value=search.MAX_NEAREST,
        required=False,
        help_text="The N nearest in-person meetings however far, by distance; no radius.",
    )
    at = AwareDateTimeField(required=False, help_text="Search as of this moment (default: now).")
    # Pagination parameters, read by the paginator.
    page = serializers.CharField(required=False)
    page_size = serializers.CharField(required=False)

    def validate(self, attrs):
        errors = {**self._place_errors(attrs), **self._window_errors(attrs)}
        if errors:
            raise serializers.ValidationError(errors)
        attrs.setdefault("order", "next")
        per_unit = search.KM_PER_MILE if attrs["units"] == "mi" else 1.0
        radius = attrs.get("radius")
        attrs["radius_km"] = DEFAULT_RADIUS_KM if radius is None else radius * per_unit
        return attrs

    def _place_errors(self, attrs) -> dict[str, list[str]]:
        """Where to search: a point, and a radius or the nearest N around it."""
        errors: dict[str, list[str]] = {}
        has_lat, has_lng = "lat" in attrs, "lng" in attrs
        if has_lat != has_lng:
            errors["lng" if has_lat else "lat"] = ["Give lat and lng together."]
        if "radius" in attrs and not (has_lat and has_lng):
            errors["radius"] = ["A radius needs lat and lng."]
        radius = attrs.get("radius")
        per_unit = search.KM_PER_MILE if attrs["units"] == "mi" else 1.0
        radius_km = DEFAULT_RADIUS_KM if radius is None else radius * per_unit
        if not radius_km > 0:
            errors["radius"] = ["The radius must be more than 0."]
        elif radius_km > MAX_RADIUS_KM * 1.0001:  # 310.7 mi rounds to a hair over 500 km
            errors["radius"] = ["The radius is at most 500 km (310.7 mi)."]
        if attrs.get("order") == "distance" and not (has_lat and has_lng):
            errors["order"] = ["Ordering by distance needs lat and lng."]
        if "nearest" in attrs:
            if not (has_lat and has_lng):
                errors["nearest"] = ["The nearest meetings need lat and lng."]
            elif "radius" in attrs:
                errors["radius"] = ["Give a radius or nearest, not both."]
            elif attrs.get("order") == "next":
                errors["order"] = ["The nearest meetings are ordered by distance."]
        return errors

    @staticmethod
    def _window_errors(attrs) -> dict[str, list[str]]:
        """When: a start window given whole, and a moment within a year of now."""
        errors: dict[str, list[str]] = {}
        if ("start_after" in attrs) != ("start_before" in attrs):
            missing = "start_before" if "start_after" in attrs else "start_after"
            errors[missing] = ["Give start_after and start_before together."]
        elif "start_after" in attrs and attrs["start_after"] == attrs["start_before"]:
            errors["start_before"] = ["An empty window: make it differ from start_after."]
        if "at" in attrs and abs(attrs["at"] - timezone.now()) > MAX_AT_DISTANCE:
            errors["at"] = ["Search within a year of now."]
        return errors

    @staticmethod
    def criteria(attrs) -> search.Criteria:
        """The search the validated parameters ask for."""
        where = None
        if "lat" in attrs:
            where = search.Where(attrs["lat"], attrs["lng"], attrs["radius_km"])
        window: tuple[time, time] | None = None
        if "start_after" in attrs:
            window = (attrs["start_after"], attrs["start_before"])
        return search.Criteria(
            where=where,
            days=tuple(attrs.get("day", ())),
            window=window,
            bucket=attrs.get("time"),
            in_progress=attrs["in_progress"],
            starting_within=attrs.get("starting_within"),
            types=tuple(attrs.get("types", ())),
            attendance=attrs.get("attendance"),
            fellowships=tuple(attrs.get("fellowship", ())),
            text=attrs.get("q", ""),
            region=attrs.get("region", "").strip(),
            order=attrs["order"],
            nearest=attrs.get("nearest"),
        )


class MeetingTypeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class LocationSerializer(serializers.Serializer):
    name = serializers.CharField(source="location_name")
    notes = serializers.CharField(source="location_notes")
    formatted_address = serializers.CharField()
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    approximate = serializers.BooleanField(
        help_text="A centroid (a town, not a door): left out of near-me searches."
    )


class OnlineSerializer(serializers.Serializer):
    conference_url = serializers.CharField()
    conference_url_notes = serializers.CharField()
    conference_phone = serializers.CharField()
    conference_phone_notes = serializers.CharField()


# The one field MeetingSerializer.to_representation converts through DRF's own code (the
# time zone and the "Z"); not declared on the serializer, whose fields are its schema.
_UPDATED = serializers.DateTimeField()


class MeetingSerializer(serializers.ModelSerializer):
    feed = serializers.CharField(source="feed.name")
    types = serializers.SerializerMethodField()
    start_time = serializers.TimeField(format="%H:%M", allow_null=True)
    end_time = serializers.TimeField(format="%H:%M", allow_null=True)
    by_appointment = serializers.SerializerMethodField(help_text="No weekly day and time.")
    location = LocationSerializer(source="*")
    regions = serializers.ListField(child=serializers.CharField(), read_only=True)
    online = OnlineSerializer(source="*")
    group = serializers.CharField(source="group_name")
    # Like the other text a feed may leave out (notes, conference_url): "" when none, so
    # not `format: uri`, which an empty string does not satisfy.
    website = serializers.CharField(help_text="The meeting's web page, or empty when none.")
    updated = serializers.DateTimeField(source="source_updated_at", allow_null=True)
    next_start = serializers.SerializerMethodField(
        help_text="The next start at or after now, on the meeting's clock (with its offset)."
    )
    in_progress = serializers.SerializerMethodField()
    distance = serializers.SerializerMethodField(
        help_text="From the searched point, in the requested units; null without one."
    )
    is_saved = serializers.SerializerMethodField()
    retired = serializers.SerializerMethodField(help_text="Gone from its feed.")

    class Meta:
        model = Meeting
        fields = [
            "id", "name", "slug", "feed", "fellowship", "day", "start_time", "end_time",
            "duration_minutes", "time_zone", "by_appointment", "types", "notes", "location",
            "regions", "online", "group", "group_notes", "website", "updated",
            "attendance_option", "next_start", "in_progress", "distance", "is_saved", "retired",
        ]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, meeting) -> dict:
        """The fields above, written out: what DRF's field-by-field walk gives, in a fifth of
        the time (a search's page is 25 to 100 of them; tests compare the two)."""
        day, start, end = meeting.day, meeting.start_time, meeting.end_time
        latitude, longitude = meeting.latitude, meeting.longitude
        updated = meeting.source_updated_at
        return {
            "id": str(meeting.id),
            "name": meeting.name,
            "slug": meeting.slug,
            "feed": meeting.feed.name,
            "fellowship": meeting.fellowship,
            "day": None if day is None else int(day),
            "start_time": None if start is None else start.strftime("%H:%M"),
            "end_time": None if end is None else end.strftime("%H:%M"),
            "duration_minutes": int(meeting.duration_minutes),
            "time_zone": meeting.time_zone,
            "by_appointment": day is None,
            "types": self.get_types(meeting),
            "notes": meeting.notes,
            "location": {
                "name": meeting.location_name,
                "notes": meeting.location_notes,
                "formatted_address": meeting.formatted_address,
                "latitude": None if latitude is None else float(latitude),
                "longitude": None if longitude is None else float(longitude),
                "approximate": bool(meeting.approximate),
            },
            "regions": [None if region is None else str(region) for region in meeting.regions],
            "online": {
                "conference_url": meeting.conference_url,
                "conference_url_notes": meeting.conference_url_notes,
                "conference_phone": meeting.conference_phone,
                "conference_phone_notes": meeting.conference_phone_notes,
            },
            "group": meeting.group_name,
            "group_notes": meeting.group_notes,
            "website": meeting.website,
            "updated": None if updated is None else _UPDATED.to_representation(updated),
            "attendance_option": meeting.attendance_option,
            "next_start": self.get_next_start(meeting),
            "in_progress": self.get_in_progress(meeting),
            "distance": self.get_distance(meeting),
            "is_saved": self.get_is_saved(meeting),
            "retired": self.get_retired(meeting),
        }

    def _at(self):
        return self.context["at"]

    @extend_schema_field(MeetingTypeSerializer(many=True))
    def get_types(self, meeting) -> list[dict[str, str]]:
        return [
            {"code": code, "name": type_name(code, meeting.fellowship)} for code in meeting.types
        ]

    def get_by_appointment(self, meeting) -> bool:
        return meeting.day is None

    @extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
    def get_next_start(self, meeting) -> str | None:
        start = search.next_start(meeting, self._at())
        return None if start is None else start.isoformat()

    def get_in_progress(self, meeting) -> bool:
        return search.in_progress(meeting, self._at())

    def get_distance(self, meeting) -> float | None:
        distance = getattr(meeting, "distance_km", None)
        if distance is None:
            return None
        if self.context.get("units") == "mi":
            distance = distance / search.KM_PER_MILE
        return round(distance, 3)

    def get_is_saved(self, meeting) -> bool:
        return bool(getattr(meeting, "is_saved", False))

    def get_retired(self, meeting) -> bool:
        return meeting.retired_at is not None


class SaveMeetingSerializer(StrictSerializer):
    meeting = ReferenceField()


class SavedMeetingSerializer(serializers.Serializer):
    saved_at = serializers.DateTimeField(source="created_at")
    meeting = MeetingSerializer()


class AttendanceWriteSerializer(StrictSerializer):
    id = serializers.UUIDField(required=False, help_text="Chosen by the phone (offline logging).")
    meeting = ReferenceField(required=False, allow_null=True)
    name = serializers.CharField(
        max_length=255, required=False, default="", allow_blank=True,
        help_text="Needed when the meeting is not from the directory.",
    )  # fmt: skip
    attended_at = AwareDateTimeField(help_text="When it started; not in the future.")
    duration_minutes = serializers.IntegerField(min_value=1, max_value=24 * 60, required=False)


class AttendanceSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(
        source="client_id",
        read_only=True,
        help_text="The id the phone chose (the server chose one if it sent none).",
    )

    class Meta:
        model = Attendance
        fields = ["id", "meeting", "name", "attended_at", "duration_minutes", "created_at"]
        read_only_fields = fields


class AttendanceWeeksQuerySerializer(StrictSerializer):
    weeks = serializers.IntegerField(min_value=1, max_value=52, default=12)


class AttendanceWeekSerializer(serializers.Serializer):
    week_start = serializers.DateField(help_text="A Monday, on your clock.")
    count = serializers.IntegerField()


class AttendanceWeeksSerializer(serializers.Serializer):
    time_zone = serializers.CharField()
    weeks = AttendanceWeekSerializer(many=True, help_text="Oldest first, this week last.")


class CalendarSettingsSerializer(StrictSerializer):
    neutral_titles = serializers.BooleanField(
        default=True,
        help_text=(
            "Events say 'Meeting' and carry no meeting name or notes, so a calendar "
            "notification never shows what the meeting is. On by default."
        ),
    )


class CalendarStatusSerializer(serializers.Serializer):
    subscribed = serializers.BooleanField()
    neutral_titles = serializers.BooleanField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)


class CalendarIssuedSerializer(serializers.Serializer):
    url = serializers.CharField(
        help_text="The secret address to subscribe to; shown once. Anyone with it can read it."
    )
    neutral_titles = serializers.BooleanField()
    created_at = serializers.DateTimeField()
