import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from backend.core.time import validate_time_zone
from backend.meetings.cells import Area


class MeetingFeed(models.Model):
    """A public meeting directory the clinic imports (registered by a clinic admin)."""

    class Format(models.TextChoices):
        MEETING_GUIDE = "meeting_guide", "Meeting Guide JSON"
        BMLT = "bmlt", "BMLT GetSearchResults JSON"

    name = models.SlugField(max_length=80, unique=True, help_text="Short name, e.g. aa-sepia.")
    fellowship = models.CharField(max_length=40, help_text="AA, NA, Al-Anon, SMART...")
    format = models.CharField(max_length=20, choices=Format.choices, default=Format.MEETING_GUIDE)
    url = models.URLField(
        max_length=500, blank=True, help_text="https address the scheduler re-imports from."
    )
    time_zone = models.CharField(
        max_length=64, validators=[validate_time_zone], help_text="For records that name none."
    )
    refresh_hours = models.PositiveSmallIntegerField(
        default=24, validators=[MinValueValidator(1), MaxValueValidator(24 * 30)]
    )
    active = models.BooleanField(default=True)
    last_imported_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=20, blank=True)
    last_report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.fellowship})"


class Meeting(models.Model):
    """One weekly meeting (a record with several days becomes one meeting per day)."""

    class Attendance(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        ONLINE = "online", "Online"
        HYBRID = "hybrid", "Hybrid"
        INACTIVE = "inactive", "Inactive"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    feed = models.ForeignKey(MeetingFeed, on_delete=models.PROTECT, related_name="meetings")
    slug = models.CharField(max_length=255)
    fellowship = models.CharField(max_length=40)
    name = models.CharField(max_length=255)
    # 0 = Sunday, as in the Meeting Guide format; null with start_time for "by appointment".
    day = models.PositiveSmallIntegerField(null=True, validators=[MaxValueValidator(6)])
    start_time = models.TimeField(null=True)
    end_time = models.TimeField(null=True)
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    # day * 1440 + minutes after midnight, on the meeting's own clock; null by appointment.
    start_minute = models.PositiveSmallIntegerField(null=True)
    # start_minute moved to UTC by the zone's standard offset: what an index finds "soon" by
    # (backend.meetings.weekminutes).
    utc_minute = models.PositiveSmallIntegerField(null=True, editable=False)
    time_zone = models.CharField(max_length=64)
    types = models.JSONField(default=list)
    types_key = models.TextField(default=",", help_text="',O,W,' for filtering.")
    notes = models.TextField(blank=True)
    location_name = models.CharField(max_length=255, blank=True)
    location_notes = models.TextField(blank=True)
    formatted_address = models.CharField(max_length=500, blank=True)
    latitude = models.FloatField(null=True)
    longitude = models.FloatField(null=True)
    approximate = models.BooleanField(default=False)
    # The point's grid cell (backend.meetings.cells), set from latitude and longitude.
    cell = models.BigIntegerField(null=True, editable=False)
    regions = models.JSONField(default=list)
    regions_key = models.TextField(default="|", help_text="'|a|b|', lower case.")
    conference_url = models.URLField(max_length=1000, blank=True)
    conference_url_notes = models.TextField(blank=True)
    conference_phone = models.CharField(max_length=100, blank=True)
    conference_phone_notes = models.TextField(blank=True)
    group_name = models.CharField(max_length=255, blank=True)
    group_notes = models.TextField(blank=True)
    website = models.URLField(max_length=500, blank=True)
    source_updated_at = models.DateTimeField(null=True)
    attendance_option = models.CharField(max_length=20, choices=Attendance.choices)
    search_text = models.TextField(default="", help_text="Lower-cased words for free-text search.")
    content_hash = models.CharField(max_length=64)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["feed", "slug"], name="meeting_feed_slug"),
            models.CheckConstraint(
                condition=Q(day__isnull=True, start_time__isnull=True, start_minute__isnull=True)
                | Q(day__isnull=False, start_time__isnull=False, start_minute__isnull=False),
                name="meeting_day_and_time_together",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="meeting_coordinates_in_range",
            ),
        ]
        indexes = [
            # The bounding box of a near-me search: a range on latitude, then longitude.
            models.Index(
                F("latitude"),
                F("longitude"),
                name="meeting_lat_lng",
                condition=Q(retired_at__isnull=True, approximate=False, latitude__isnull=False),
            ),
            models.Index(fields=["start_minute"], name="meeting_start_minute"),
            # The nearest search's probe away from PostgreSQL (search._probe_by_cells).
            # PostgreSQL has a GiST index on the point as well (migration 0004).
            models.Index(fields=["cell"], name="meeting_cell"),
            # Near-me searches by next start (search.SoonWindow): an area, then a time range.
            models.Index(Area("cell"), F("utc_minute"), name="meeting_area_utc_minute"),
        ]

    def __str__(self) -> str:
        return self.name


class SavedMeeting(models.Model):
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_meetings"
    )
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "meeting"], name="saved_meeting_once"),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} saved {self.meeting_id}"


class Attendance(models.Model):
    """A meeting the patient went to. Disclosed to others only under the meetings scope.

    The phone may choose the id (``client_id``), unique per patient only; the
    server keys the row by its own ``id``, never shown.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="meeting_attendance"
    )
    client_id = models.UUIDField(
        default=uuid.uuid4,
        help_text="Chosen by the phone, or by the server when it sends none; unique per patient.",
    )
    meeting = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=255, help_text="The meeting's name when logged.")
    attended_at = models.DateTimeField(help_text="When it started.")
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "attended_at"], name="attendance_once"),
            models.UniqueConstraint(
                fields=["patient", "client_id"], name="attendance_client_id_per_patient"
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=1, duration_minutes__lte=24 * 60),
                name="attendance_duration_range",
            ),
        ]
        indexes = [models.Index(fields=["patient", "-attended_at"], name="attendance_patient")]

    def __str__(self) -> str:
        return f"{self.patient_id} at {self.name} ({self.attended_at:%Y-%m-%d})"


class CalendarFeed(models.Model):
    """The secret address of a patient's saved meetings as iCalendar (only a hash is kept)."""

    patient = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="meeting_calendar"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    neutral_titles = models.BooleanField(
        default=True, help_text="Events say 'Meeting' rather than the meeting's name."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Calendar of {self.patient_id}"
