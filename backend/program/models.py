"""The IOP program: a clinic's programs, their weekly timetable, the sessions it runs,
who is enrolled and who came.

Sessions are materialised (``Session`` rows) from the timetable over a rolling
horizon rather than computed on the fly, because attendance, cancellations and
one-off sessions need a row to hang on, and "the attendance sheet of Tuesday's
group" must be one indexed lookup. Rows are written only up to a horizon (the
program's end, else some weeks ahead, extended by ``program_sessions_extend``), so a
timetable without an end never means rows forever. A slot's sessions are keyed by
(slot, local date): regenerating is idempotent, and a holiday (``SessionCancellation``)
made before the rows exist is applied when they are made.

Times: a slot is a local weekday and wall-clock start in the program's zone; each
session's instant is computed per date, so a 6 pm group stays at 6 pm local across
daylight-saving changes (and its UTC time moves).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from backend.core.crypto import EncryptedTextField
from backend.core.time import validate_time_zone


class LevelOfCare(models.TextChoices):
    IOP = "iop", "Intensive outpatient"
    PHP = "php", "Partial hospitalisation"
    OUTPATIENT = "outpatient", "Outpatient"
    AFTERCARE = "aftercare", "Aftercare"


class SessionKind(models.TextChoices):
    GROUP = "group", "Group therapy"
    INDIVIDUAL = "individual", "Individual therapy"
    FAMILY = "family", "Family therapy"
    EDUCATION = "education", "Education class"
    OTHER = "other", "Other"


# Kinds that are one patient's own: seen only by that patient and the session's therapist.
PERSONAL_KINDS = (SessionKind.INDIVIDUAL, SessionKind.FAMILY)


class Program(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    level_of_care = models.CharField(
        max_length=12, choices=LevelOfCare.choices, default=LevelOfCare.IOP
    )
    planned_weeks = models.PositiveSmallIntegerField(default=12)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    starts_on = models.DateField(help_text="The first day sessions run (program's zone).")
    ends_on = models.DateField(null=True, blank=True, help_text="None: rolling admission.")
    # The self check-in window around a session's start, and when a check-in counts late.
    checkin_opens_minutes = models.PositiveSmallIntegerField(default=15)
    checkin_closes_minutes = models.PositiveSmallIntegerField(default=30)
    late_after_minutes = models.PositiveSmallIntegerField(default=10)
    # Sessions exist as rows up to here (inclusive, program's zone).
    generated_until = models.DateField(null=True, blank=True, editable=False)
    therapists = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="ProgramTherapist", related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_weeks__gte=1, planned_weeks__lte=104),
                name="program_planned_weeks_range",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="program_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(level_of_care__in=LevelOfCare.values), name="program_level_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ProgramTherapist(models.Model):
    """A therapist on the program's staff: they run its sessions and see its attendance."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="staff")
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "therapist"], name="program_staff_once")
        ]
        indexes = [models.Index(fields=["therapist", "program"], name="program_staff_therapist")]

    def __str__(self) -> str:
        return f"{self.therapist_id} in {self.program_id}"


class Slot(models.Model):
    """One line of the weekly timetable, valid over a span of dates."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="slots")
    kind = models.CharField(max_length=12, choices=SessionKind.choices)
    title = models.CharField(max_length=120)
    weekday = models.PositiveSmallIntegerField(help_text="0 is Monday, 6 is Sunday.")
    start_time = models.TimeField(help_text="Wall-clock time in the program's zone.")
    duration_minutes = models.PositiveSmallIntegerField()
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # An individual or family slot is one patient's (their weekly session).
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    place = models.CharField(max_length=200, blank=True)
    telehealth_url = models.URLField(max_length=500, blank=True)
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["weekday", "start_time", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="slot_weekday_range"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5, duration_minutes__lte=720),
                name="slot_duration_range",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="slot_valid_span",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=SessionKind.values), name="slot_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_kind_display()})"


class SessionCancellation(models.Model):
    """A holiday or closure: the slot does not run on this local date."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="cancellations")
    local_date = models.DateField()
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["slot", "local_date"], name="cancellation_once")
        ]

    def __str__(self) -> str:
        return f"{self.slot_id} off on {self.local_date}"


class Session(models.Model):
    """One occurrence: from a timetable slot, or a one-off extra session (no slot)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="sessions")
    slot = models.ForeignKey(
        Slot, null=True, blank=True, on_delete=models.CASCADE, related_name="sessions"
    )
    kind = models.CharField(max_length=12, choices=SessionKind.choices)
    title = models.CharField(max_length=120)
    local_date = models.DateField(help_text="The date in the program's zone.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    place = models.CharField(max_length=200, blank=True)
    telehealth_url = models.URLField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    cancel_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["program", "starts_at"], name="session_program_start"),
            models.Index(fields=["therapist", "starts_at"], name="session_therapist_start"),
            models.Index(
                fields=["patient", "starts_at"],
                condition=Q(patient__isnull=False),
                name="session_patient_start",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["slot", "local_date"], name="session_slot_date_once"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="session_ends"),
            models.CheckConstraint(
                condition=Q(status__in=["scheduled", "cancelled"]), name="session_status_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class Enrolment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        STEPPED_DOWN = "stepped_down", "Stepped down"
        COMPLETED = "completed", "Completed"
        DISCHARGED = "discharged", "Discharged"
        WITHDRAWN = "withdrawn", "Withdrawn"

    ENDED = (Status.COMPLETED, Status.DISCHARGED, Status.WITHDRAWN, Status.STEPPED_DOWN)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="enrolments")
    primary_therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    starts_on = models.DateField()
    planned_end = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.ACTIVE)
    # Kept by the services that write attendance (a caseload reads them for hundreds of
    # patients at once): sessions attended (present or late), and the latest marks that
    # are absences in a row (an excused absence neither counts nor breaks the run).
    attended_count = models.PositiveIntegerField(default=0, editable=False)
    missed_in_a_row = models.PositiveSmallIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_on", "id"]
        indexes = [
            models.Index(fields=["program", "status"], name="enrolment_program_status"),
            models.Index(fields=["patient", "-starts_on"], name="enrolment_patient"),
        ]
        constraints = [
            # One program at a time.
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status="active"), name="enrolment_one_active"
            ),
            models.CheckConstraint(
                condition=Q(planned_end__gte=F("starts_on")), name="enrolment_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(status="active") | Q(ended_on__isnull=False),
                name="enrolment_ended_on_set",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["active", "stepped_down", "completed", "discharged", "withdrawn"]
                ),
                name="enrolment_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} in {self.program_id} ({self.status})"


class EnrolmentChange(models.Model):
    """Append-only history of an enrolment: who changed what, when and why (a serial id
    keeps changes made in one instant in order)."""

    class What(models.TextChoices):
        ENROLLED = "enrolled", "Enrolled"
        STATUS = "status", "Status changed"
        PLANNED_END = "planned_end", "Planned end moved"
        THERAPIST = "therapist", "Primary therapist changed"  # values: the therapists' ids

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="changes")
    what = models.CharField(max_length=12, choices=What.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    from_value = models.CharField(max_length=40, blank=True)
    to_value = models.CharField(max_length=40)
    reason = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.what} {self.from_value}->{self.to_value}"


class Attendance(models.Model):
    """Whether one patient came to one session: marked by a therapist or checked in."""

    class Status(models.TextChoices):
        PRESENT = "present", "Present"
        LATE = "late", "Late"
        ABSENT = "absent", "Absent"
        EXCUSED = "excused", "Excused"

    ATTENDED = (Status.PRESENT, Status.LATE)

    class Source(models.TextChoices):
        THERAPIST = "therapist", "Marked by a therapist"
        CHECK_IN = "check_in", "Checked in by the patient"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="attendance")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="attendance")
    status = models.CharField(max_length=8, choices=Status.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    note = EncryptedTextField(blank=True)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    checked_in_at = models.DateTimeField(null=True, blank=True)
    marked_at = models.DateTimeField()

    class Meta:
        ordering = ["session__starts_at", "id"]
        indexes = [
            models.Index(fields=["enrolment", "status"], name="program_attendance_enrolment")
        ]
        constraints = [
            models.UniqueConstraint(fields=["session", "patient"], name="program_attendance_once"),
            models.CheckConstraint(
                condition=Q(status__in=["present", "late", "absent", "excused"]),
                name="program_attendance_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.status} at {self.session_id}"


class SessionInvite(models.Model):
    """A family member invited to one family session: they see its time and place only,
    while the patient's ``program`` consent to them is in force."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="invites")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "member"], name="session_invite_once")
        ]
        indexes = [models.Index(fields=["member", "created_at"], name="session_invite_member")]

    def __str__(self) -> str:
        return f"{self.member_id} to {self.session_id}"


class AftercarePlan(models.Model):
    """The discharge/aftercare plan a therapist drafts with the patient; the patient
    accepts it, and on step-down or completion the reminders follow it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    enrolment = models.OneToOneField(Enrolment, on_delete=models.CASCADE, related_name="aftercare")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    level_of_care = models.CharField(max_length=12, choices=LevelOfCare.choices)
    # [{"date": "YYYY-MM-DD", "time": "HH:MM", "with": "...", "place": "..."}]
    follow_ups = models.JSONField(default=list)
    # Support-group meetings from the meeting finder: [{"meeting": uuid, "name": "..."}]
    meetings = models.JSONField(default=list)
    weekly_checkin_weekday = models.PositiveSmallIntegerField(null=True, blank=True)
    weekly_checkin_time = models.TimeField(null=True, blank=True)
    sober_living = EncryptedTextField(blank=True)
    relapse_plan_linked = models.BooleanField(default=False)
    support_contacts = models.JSONField(default=list)
    accepted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(weekly_checkin_weekday__isnull=True) | Q(weekly_checkin_weekday__lte=6),
                name="aftercare_weekday_range",
            )
        ]

    def __str__(self) -> str:
        return f"Aftercare plan of {self.enrolment_id}"
