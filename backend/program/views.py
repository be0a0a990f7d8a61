"""The IOP program: clinic staff run programs and timetables; therapists of a program
enrol, mark attendance and follow progress; patients see their sessions and check in.

Enrolment and attendance are treatment records: read through the access gate
(backend.program.access), every read by someone other than the patient logged.
"""

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.consent import policy
from backend.consent.policy import Action
from backend.consent.scopes import Scope
from backend.core.idempotency import idempotent
from backend.core.permissions import ReadWriteRoles, role_permission
from backend.core.serializers import AwareDateTimeField
from backend.disclosure.notice import (
    DisclosesRecordsToOthers,
    NoticeToOthersPagination,
    discloses,
)
from backend.disclosure.services import Disclosure
from backend.program import selectors, services
from backend.program.access import AFTERCARE, ATTENDANCE, ENROLMENT
from backend.program.models import Attendance, Enrolment, Program, Session, SessionInvite
from backend.program.serializers import (
    AftercareSerializer,
    AftercareWriteSerializer,
    CancelSerializer,
    EnrolmentDetailSerializer,
    EnrolmentSerializer,
    EnrolSerializer,
    ExtraSessionWriteSerializer,
    InvitationSerializer,
    InviteWriteSerializer,
    MarkSerializer,
    PatientSessionSerializer,
    PlannedEndWriteSerializer,
    PrimaryTherapistWriteSerializer,
    ProgramChangeSerializer,
    ProgramSerializer,
    ProgramUpdateSerializer,
    ProgramWriteSerializer,
    SessionAttendanceQuerySerializer,
    SessionAttendanceSerializer,
    SessionRangeSerializer,
    SessionSerializer,
    SheetRowSerializer,
    SlotChangeSerializer,
    SlotEndedSerializer,
    SlotEndSerializer,
    SlotSerializer,
    SlotUpdateSerializer,
    SlotWriteSerializer,
    StaffAddSerializer,
    StatusWriteSerializer,
)
from backend.program.services import Regenerated

Role = User.Role
ClinicStaff = role_permission(Role.CLINIC_ADMIN, message="Only clinic staff run programs.")
StaffOrTherapist = role_permission(
    Role.CLINIC_ADMIN, Role.THERAPIST, message="Only clinic staff and therapists see this."
)
IsTherapist = role_permission(Role.THERAPIST, message="Only therapists do this.")
IsPatient = role_permission(Role.PATIENT, message="Only patients check in.")
IsFamily = role_permission(Role.FAMILY, message="Only family members are invited to sessions.")


class ProgramAccess(ReadWriteRoles):
    message = "Programs are for clinic staff, their therapists and patients."
    readers = (Role.CLINIC_ADMIN, Role.THERAPIST, Role.PATIENT)
    writers = (Role.CLINIC_ADMIN,)
    write_message = "Only clinic staff run programs."


class RecordAccess(ReadWriteRoles):
    message = "Only patients and the people they share with see this."
    readers = (Role.PATIENT, Role.THERAPIST, Role.FAMILY)
    writers = (Role.THERAPIST,)
    write_message = "Only therapists do this."


class EnrolmentAccess(RecordAccess):
    """Clinic staff also enrol, and read the enrolments they run (the gate decides which)."""

    message = "Only patients, the people they share with and clinic staff see this."
    readers = (*RecordAccess.readers, Role.CLINIC_ADMIN)
    writers = (Role.THERAPIST, Role.CLINIC_ADMIN)
    write_message = "Only therapists and clinic staff enrol."


class HandOverAccess(EnrolmentAccess):
    write_message = "Only therapists and clinic staff change a primary therapist."


def _user(pk, role: str) -> User:
    user = User.objects.filter(pk=pk, role=role, is_active=True).first()
    if user is None:
        raise NotFound()
    return user


def _program_body(program: Program, *, sessions: Regenerated | None = None) -> dict:
    program = Program.objects.prefetch_related("slots", "staff").get(pk=program.pk)
    if sessions is None:
        return ProgramSerializer(program).data
    program.sessions_changed = sessions  # type: ignore[attr-defined]
    return ProgramChangeSerializer(program).data


@extend_schema(tags=["program"])
class ProgramListView(generics.ListAPIView):
    """Programs: all for clinic staff, a therapist's own, a patient's own."""

    permission_classes = [ProgramAccess]
    serializer_class = ProgramSerializer
    filter_backends: list = []
    queryset = Program.objects.none()
    ordering = ("created_at", "id")

    def get_queryset(self):
        return selectors.programs_for(self.request.user).prefetch_related("slots", "staff")

    @idempotent
    @extend_schema(
        summary="Create a program",
        description=(
            "Clinic staff: name, level of care, planned weeks, the clinic's time zone, dates "
            "(no `ends_on`: rolling admission) and the therapists on its staff."
        ),
        request=ProgramWriteSerializer,
        responses={201: ProgramSerializer},
    )
    def post(self, request):
        serializer = ProgramWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        program = services.program_create(data=dict(serializer.validated_data))
        return Response(_program_body(program), status=status.HTTP_201_CREATED)


@extend_schema(tags=["program"])
class ProgramDetailView(APIView):
    permission_classes = [ProgramAccess]

    @extend_schema(
        summary="A program with its staff and weekly timetable", responses=ProgramSerializer
    )
    def get(self, request, program_id):
        return Response(
            _program_body(selectors.program_get(viewer=request.user, program_id=program_id))
        )

    @extend_schema(
        summary="Change a program",
        description=(
            "Clinic staff: name, level of care, planned weeks (for enrolments made from now on), "
            "the check-in window, the clinic's time zone. A new zone moves the sessions still to "
            "come to the same wall-clock time in it, with the excused absences marked ahead on "
            "them; past sessions, those with attendance already taken and those whose new time "
            "has passed stay. A clash this makes for a therapist: 400 on `time_zone`, nothing "
            "changed."
        ),
        request=ProgramUpdateSerializer,
        responses=ProgramChangeSerializer,
    )
    def patch(self, request, program_id):
        program = selectors.program_get(viewer=request.user, program_id=program_id)
        serializer = ProgramUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        program, sessions = services.program_update(
            program=program, data=dict(serializer.validated_data)
        )
        return Response(_program_body(program, sessions=sessions))


@extend_schema(tags=["program"])
class StaffView(APIView):
    permission_classes = [ClinicStaff]

    @extend_schema(
        summary="Add therapists to a program's staff",
        description="Active therapists only (400 naming `therapists`); one already on it stays.",
        request=StaffAddSerializer,
        responses=ProgramSerializer,
    )
    def post(self, request, program_id):
        program = selectors.program_get(viewer=request.user, program_id=program_id)
        serializer = StaffAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.program_staff_add(
            program=program, therapist_ids=serializer.validated_data["therapists"]
        )
        return Response(_program_body(program))


@extend_schema(tags=["program"])
class StaffMemberView(APIView):
    permission_classes = [ClinicStaff]

    @extend_schema(
        summary="Take a therapist off a program's staff",
        description=(
            "They no longer see its records. Refused (400 on `therapist`) while they run a "
            "timetable line or a session still to come, or are the primary therapist of an "
            "active enrolment: hand those over first. Not on the staff: 404."
        ),
        request=None,
        responses=ProgramSerializer,
    )
    def delete(self, request, program_id, therapist_id):
        program = selectors.program_get(viewer=request.user, program_id=program_id)
        services.program_staff_remove(program=program, therapist_id=therapist_id)
        return Response(_program_body(program))


@extend_schema(tags=["program"])
class SlotCreateView(APIView):
    permission_classes = [ClinicStaff]

    @extend_schema(
        summary="Add a weekly session to the timetable",
        description=(
            "Weekday and wall-clock start in the program's zone (a 6 pm group stays at 6 pm "
            "across daylight-saving changes), duration, therapist from the program's staff, "
            "place or telehealth link; individual and family sessions name their patient. "
            "Its sessions are made up to the program's horizon. Dates outside the program, "
            "or a clash with another session of the therapist: 400."
        ),
        request=SlotWriteSerializer,
        responses={201: SlotSerializer},
    )
    def post(self, request, program_id):
        program = selectors.program_get(viewer=request.user, program_id=program_id)
        serializer = SlotWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["therapist"] = _user(data["therapist"], Role.THERAPIST)
        if "patient" in data:
            data["patient"] = _user(data["patient"], Role.PATIENT)
        slot = services.slot_add(program=program, data=data)
        return Response(SlotSerializer(slot).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["program"])
class SlotDetailView(APIView):
    permission_classes = [ClinicStaff]

    @extend_schema(
        summary="Change a line of the timetable",
        description=(
            "Title, weekday, wall-clock start, duration, therapist (from the program's staff), "
            "place or telehealth link. Its sessions still to come follow: a session keeps its "
            "row (invitations, excused absences marked ahead) when its date stays, moves with "
            "the weekday (a date off the timetable is deleted, or cancelled when it holds a mark "
            "given ahead), and a holiday stays off. Past sessions, those with attendance already "
            "taken and today's whose new time has passed are left as they were. A clash with "
            "another session of the therapist, a session past midnight: 400, nothing changed. "
            "A line that ended: 409."
        ),
        request=SlotUpdateSerializer,
        responses=SlotChangeSerializer,
    )
    def patch(self, request, program_id, slot_id):
        program = selectors.program_get(viewer=request.user, program_id=program_id)
        slot = selectors.slot_get(program=program, slot_id=slot_id)
        serializer = SlotUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "therapist" in data:
            data["therapist"] = _user(data["therapist"], Role.THERAPIST)
        slot, sessions = services.slot_update(program=program, slot=slot, data=data)
        slot.sessions_changed = sessions  # type: ignore[attr-defined]
        return Response(SlotChangeSerializer(slot).data)


@extend_schema(tags=["program"])
class SlotEndView(APIView):
    permission_classes = [ClinicStaff]

    @extend_schema(
        summary="End a line of the timetable",
        description=(
            "After `last_day` (default today on the program's clock; not past, within the "
            "program and the line) the line runs no more: its sessions after that day are "
            "cancelled (with `reason`), and attendance marked on them no longer counts. A line "
            "that ended: 409."
        ),
        request=SlotEndSerializer,
        responses=SlotEndedSerializer,
    )
    def post(self, request, program_id, slot_id):
        program = selectors.program_get(viewer=request.user, program_id=program_id)
        slot = selectors.slot_get(program=program, slot_id=slot_id)
        serializer = SlotEndSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        slot, cancelled = services.slot_end(program=program, slot=slot, **serializer.validated_data)
        slot.cancelled = cancelled  # type: ignore[attr-defined]
        return Response(SlotEndedSerializer(slot).data)


def _range(request) -> dict:
    query = SessionRangeSerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


@extend_schema(tags=["program"])
class ProgramSessionsView(generics.ListAPIView):
    """A program's sessions, soonest first (clinic staff; its therapists)."""

    permission_classes = [StaffOrTherapist]
    serializer_class = SessionSerializer
    filter_backends: list = []
    queryset = Session.objects.none()
    ordering = ("starts_at", "id")

    def get_permissions(self):
        if self.request.method == "POST":
            return [ClinicStaff()]
        return super().get_permissions()

    @extend_schema(parameters=[SessionRangeSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = _range(self.request)
        program = selectors.program_get(
            viewer=self.request.user, program_id=self.kwargs["program_id"]
        )
        return selectors.program_sessions(
            viewer=self.request.user,
            program=program,
            start=params.get("start"),
            end=params.get("end"),
        )

    @extend_schema(
        summary="Add a one-off session",
        description="Within the program's dates; a clash with the therapist's sessions is a 400.",
        request=ExtraSessionWriteSerializer,
        responses={201: SessionSerializer},
    )
    def post(self, request, program_id):
        program = selectors.program_get(viewer=request.user, program_id=program_id)
        serializer = ExtraSessionWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["therapist"] = _user(data["therapist"], Role.THERAPIST)
        if "patient" in data:
            data["patient"] = _user(data["patient"], Role.PATIENT)
        session = services.session_add(program=program, data=data)
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["program"])
class SessionCancelView(APIView):
    permission_classes = [ClinicStaff]

    @extend_schema(
        summary="Cancel one session (a holiday)",
        description="Cancelling again changes nothing.",
        request=CancelSerializer,
        responses={200: SessionSerializer},
    )
    def post(self, request, session_id):
        session = Session.objects.filter(pk=session_id).first()
        if session is None:
            raise NotFound()
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.session_cancel(
            session=session, by=request.user, **serializer.validated_data
        )
        return Response(SessionSerializer(session).data)


def _log_sheet(request, session: Session, rows) -> None:
    # One row per patient: the sheet shows their enrolment and, if marked, their attendance.
    items = []
    for row in rows:
        ids = [str(row.enrolment.pk)]
        if row.attendance is not None:
            ids.append(str(row.attendance.pk))
        items.append(Disclosure(row.patient.pk, "", ATTENDANCE.name, ids, len(ids)))
    policy.disclose(request=request, viewer=request.user, held={}, items=items)


_instant = AwareDateTimeField()


def sheet_body(rows, *, viewer: User) -> list[dict]:
    """A page of the sheet in SheetRowSerializer's shape, built directly: three nested
    serializers per patient were most of a 100-patient page's time in Python."""
    body = []
    for row in rows:
        mark = row.attendance
        body.append(
            {
                "patient": {
                    "id": str(row.patient.pk),
                    "display_name": row.patient.display_name,
                    "role": row.patient.role,
                },
                "enrolment": str(row.enrolment.pk),
                "attendance": None
                if mark is None
                else {
                    "id": str(mark.pk),
                    "session": str(mark.session_id),
                    "patient": str(mark.patient_id),
                    "status": mark.status,
                    "source": mark.source,
                    # As SessionAttendanceSerializer.get_note: the patient and the therapists
                    # who ran or marked it.
                    "note": mark.note
                    if viewer.pk in (mark.patient_id, mark.marked_by_id, mark.session.therapist_id)
                    else "",
                    "checked_in_at": None
                    if mark.checked_in_at is None
                    else _instant.to_representation(mark.checked_in_at),
                    "marked_at": _instant.to_representation(mark.marked_at),
                },
            }
        )
    return body


@extend_schema(tags=["program"])
class AttendanceSheetView(DisclosesRecordsToOthers, generics.ListAPIView):
    """The attendance sheet of one session: everyone expected, with their mark."""

    permission_classes = [IsTherapist]
    serializer_class = SheetRowSerializer
    pagination_class = NoticeToOthersPagination
    filter_backends: list = []
    queryset = Enrolment.objects.none()
    ordering = ("id",)

    def list(self, request, *args, **kwargs):
        session = selectors.staff_session_get(
            viewer=request.user, session_id=self.kwargs["session_id"]
        )
        page = self.paginate_queryset(selectors.sheet_enrolments(session))
        rows = selectors.sheet_rows(session, page)
        _log_sheet(request, session, rows)
        return self.get_paginated_response(sheet_body(rows, viewer=request.user))

    @extend_schema(
        summary="Mark one patient's attendance",
        description=(
            "present, late, absent or excused, with an optional note; replaces an earlier mark "
            "(a patient's check-in included). Before the session only `excused`. A patient not "
            "expected at this session: 400; a cancelled session: 409."
        ),
        request=MarkSerializer,
        responses={200: SessionAttendanceSerializer, 201: SessionAttendanceSerializer},
    )
    def post(self, request, session_id):
        session = selectors.staff_session_get(viewer=request.user, session_id=session_id)
        serializer = MarkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        policy.authorize(request.user, Action.CREATE, ATTENDANCE, patient_id=data["patient"])
        row, created = services.attendance_mark(
            session=session, patient_id=data.pop("patient"), by=request.user, **data
        )
        return Response(
            SessionAttendanceSerializer(row, context={"request": request}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@extend_schema(tags=["program"])
class CheckInView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="Check in to one of your sessions",
        description=(
            "Only within the program's window around the start (by default 15 minutes before "
            "to 30 after; late after 10). Checking in again answers the attendance already "
            "recorded (200) and changes nothing. Someone else's session: 404; outside the "
            "window: 400."
        ),
        request=None,
        responses={200: SessionAttendanceSerializer, 201: SessionAttendanceSerializer},
    )
    def post(self, request, session_id):
        session = (
            selectors.sessions_for_patient(request.user, request.user)
            .select_related("program")
            .filter(pk=session_id)
            .first()
        )
        if session is None:
            raise NotFound()
        row, created = services.check_in(session=session, patient=request.user)
        return Response(
            SessionAttendanceSerializer(row, context={"request": request}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@extend_schema(tags=["program"])
class PatientSessionsView(DisclosesRecordsToOthers, generics.ListAPIView):
    """A patient's sessions with their attendance, soonest first."""

    permission_classes = [RecordAccess]
    serializer_class = PatientSessionSerializer
    pagination_class = NoticeToOthersPagination
    filter_backends: list = []
    queryset = Session.objects.none()
    ordering = ("starts_at", "id")

    @extend_schema(
        description=(
            "Your own (patients), or `patient`'s: their program's therapists see its group "
            "sessions and their own individual ones; holders of the `program` scope the group "
            "sessions. A patient you may not see: 404."
        ),
        parameters=[SessionRangeSerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        params = _range(request)
        viewer = request.user
        if viewer.role == Role.PATIENT:
            if params.get("patient") not in (None, viewer.pk):
                raise NotFound()
            patient = viewer
        else:
            if "patient" not in params:
                raise ValidationError({"patient": ["Name the patient."]})
            patient = _user(params["patient"], Role.PATIENT)
            held = policy.scopes_held(viewer, [patient.pk], scopes=[Scope.PROGRAM])
            treats = selectors.treats(viewer, patient)
            if not held and not treats:
                raise NotFound()
        sessions = selectors.sessions_for_patient(
            viewer, patient, params.get("start"), params.get("end")
        )
        page = self.paginate_queryset(sessions)
        if viewer.pk != patient.pk and page:
            scope = "" if treats else Scope.PROGRAM
            policy.disclose(
                request=request,
                viewer=viewer,
                held=held,
                items=[
                    Disclosure(
                        patient.pk, scope, "program_session", [str(s.pk) for s in page], len(page)
                    )
                ],
            )
        return self.get_paginated_response(PatientSessionSerializer(page, many=True).data)


def _enrolments_shown(request, enrolments, *, now) -> list[Enrolment]:
    return policy.hand_out(
        request=request, viewer=request.user, kind=ENROLMENT, records=enrolments, now=now
    )


def _enrolment_body(request, enrolment_id, *, now) -> dict:
    enrolment = selectors.enrolment_get(viewer=request.user, enrolment_id=enrolment_id)
    if not _enrolments_shown(request, [enrolment], now=now):
        raise NotFound()
    homework = selectors.homework_done(
        request=request, viewer=request.user, enrolment=enrolment, now=now
    )
    progress = selectors.enrolment_progress(enrolment, now=now, homework=homework)
    return EnrolmentDetailSerializer(
        enrolment, context={"request": request, "progress": progress}
    ).data


@extend_schema(tags=["program"])
class EnrolmentListView(DisclosesRecordsToOthers, generics.ListAPIView):
    """Enrolments you may see: your own; your program's patients; a `program` scope's;
    every enrolment for clinic staff."""

    permission_classes = [EnrolmentAccess]
    serializer_class = EnrolmentSerializer
    pagination_class = NoticeToOthersPagination
    filter_backends: list = []
    queryset = Enrolment.objects.none()
    ordering = ("-created_at", "id")

    def list(self, request, *args, **kwargs):
        now = timezone.now()
        page = self.paginate_queryset(selectors.enrolments_for(request.user, now=now))
        shown = _enrolments_shown(request, page, now=now)
        return self.get_paginated_response(EnrolmentSerializer(shown, many=True).data)

    @idempotent
    @extend_schema(
        summary="Enrol a patient in a program",
        description=(
            "A therapist on the program's staff and on the patient's care team, or clinic "
            "staff (any patient: the program's intake). One program at a time (400 naming the "
            "current one). The primary therapist (default for a therapist: you; clinic staff "
            "name one) is on the program's staff and joins the care team. The planned end "
            "defaults to the program's planned weeks."
        ),
        request=EnrolSerializer,
        responses={201: EnrolmentDetailSerializer},
    )
    def post(self, request):
        serializer = EnrolSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        patient = _user(data["patient"], Role.PATIENT)
        policy.authorize(request.user, Action.CREATE, ENROLMENT, patient_id=patient.pk)
        program = selectors.programs_for(request.user).filter(pk=data["program"]).first()
        if program is None:
            raise NotFound()
        primary = request.user
        if "primary_therapist" in data:
            primary = _user(data["primary_therapist"], Role.THERAPIST)
        elif request.user.role != Role.THERAPIST:
            raise ValidationError(
                {"primary_therapist": ["Name the primary therapist, from the program's staff."]}
            )
        enrolment = services.enrol(
            by=request.user,
            patient=patient,
            program=program,
            primary_therapist=primary,
            starts_on=data["starts_on"],
            planned_end=data.get("planned_end"),
        )
        return Response(_enrolment_body(request, enrolment.pk, now=timezone.now()), status=201)


@extend_schema(tags=["program"])
class EnrolmentDetailView(DisclosesRecordsToOthers, APIView):
    permission_classes = [EnrolmentAccess]

    @extend_schema(
        summary="One enrolment with its history and progress",
        description=(
            "Progress: week N of M, sessions attended of those held, missed in a row, and "
            "homework done (submitted or reviewed) of that due within the enrolment's dates, "
            "counted over the homework you may see."
        ),
        responses=EnrolmentDetailSerializer,
    )
    def get(self, request, enrolment_id):
        return Response(_enrolment_body(request, enrolment_id, now=timezone.now()))


def _changeable(request, enrolment_id, action: Action = Action.CHANGE) -> Enrolment:
    enrolment = selectors.enrolment_get(viewer=request.user, enrolment_id=enrolment_id)
    policy.authorize(
        request.user, action, ENROLMENT, patient_id=enrolment.patient_id, record=enrolment
    )
    return enrolment


@extend_schema(tags=["program"])
class EnrolmentStatusView(DisclosesRecordsToOthers, APIView):
    permission_classes = [RecordAccess]

    @extend_schema(
        summary="End an enrolment: stepped down, completed, discharged or withdrawn",
        description=(
            "Only an active enrolment changes, once; only `withdrawn` before its start. The "
            "reason is kept in the history."
        ),
        request=StatusWriteSerializer,
        responses=EnrolmentDetailSerializer,
    )
    def post(self, request, enrolment_id):
        enrolment = _changeable(request, enrolment_id)
        serializer = StatusWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.enrolment_status_set(
            enrolment=enrolment, by=request.user, **serializer.validated_data
        )
        return Response(_enrolment_body(request, enrolment_id, now=timezone.now()))


@extend_schema(tags=["program"])
class EnrolmentPlannedEndView(DisclosesRecordsToOthers, APIView):
    permission_classes = [RecordAccess]

    @extend_schema(
        summary="Extend or shorten an enrolment",
        description="A new planned end (not past, within the program) and the reason, kept.",
        request=PlannedEndWriteSerializer,
        responses=EnrolmentDetailSerializer,
    )
    def post(self, request, enrolment_id):
        enrolment = _changeable(request, enrolment_id)
        serializer = PlannedEndWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.enrolment_planned_end_set(
            enrolment=enrolment, by=request.user, **serializer.validated_data
        )
        return Response(_enrolment_body(request, enrolment_id, now=timezone.now()))


@extend_schema(tags=["program"])
class EnrolmentPrimaryTherapistView(DisclosesRecordsToOthers, APIView):
    permission_classes = [HandOverAccess]

    @extend_schema(
        summary="Hand an enrolment to another primary therapist",
        description=(
            "The program's therapists, or clinic staff. The new primary therapist (an active "
            "therapist on the program's staff, not the current one) joins the care team; the "
            "former one leaves it, ending the consents given to them, as when a therapist "
            "leaves, unless they are on it for another reason: a link the patient made by "
            "invite or clinic staff made by hand, or a one-patient timetable line or session "
            "to come they run for the patient. Only an active enrolment changes; the reason is "
            "kept in the history (`what`: `therapist`). Bad input: 400 naming the field, "
            "nothing changed."
        ),
        request=PrimaryTherapistWriteSerializer,
        responses=EnrolmentDetailSerializer,
    )
    def post(self, request, enrolment_id):
        enrolment = _changeable(request, enrolment_id, Action.REASSIGN)
        serializer = PrimaryTherapistWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.enrolment_primary_therapist_set(
            enrolment=enrolment,
            by=request.user,
            therapist_id=serializer.validated_data["primary_therapist"],
            reason=serializer.validated_data["reason"],
        )
        return Response(_enrolment_body(request, enrolment_id, now=timezone.now()))


@extend_schema(tags=["program"])
class AttendanceListView(DisclosesRecordsToOthers, generics.ListAPIView):
    """Attendance you may see, latest first: your own; your program's; a `program` scope's."""

    permission_classes = [RecordAccess]
    serializer_class = SessionAttendanceSerializer
    pagination_class = NoticeToOthersPagination
    filter_backends: list = []
    queryset = Attendance.objects.none()
    ordering = ("-marked_at", "id")

    @extend_schema(parameters=[SessionAttendanceQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        query = SessionAttendanceQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        now = timezone.now()
        rows: QuerySet[Attendance] = selectors.attendance_for(request.user, now=now)
        if "patient" in query.validated_data:
            rows = rows.filter(patient_id=query.validated_data["patient"])
        page = self.paginate_queryset(rows)
        shown = policy.hand_out(
            request=request, viewer=request.user, kind=ATTENDANCE, records=page, now=now
        )
        return self.get_paginated_response(
            SessionAttendanceSerializer(
                shown, many=True, context={"request": request, "disclosed": discloses(request)}
            ).data
        )


@extend_schema(tags=["program"])
class SessionInviteView(APIView):
    permission_classes = [IsTherapist]

    @extend_schema(
        summary="Invite a family member to a family session",
        description=(
            "The session's therapist. The family member must hold the patient's `program` "
            "consent (400 otherwise); they then see the session's time and place only, while "
            "that consent is in force. Inviting again answers the same invitation (200)."
        ),
        request=InviteWriteSerializer,
        responses={200: InvitationSerializer, 201: InvitationSerializer},
    )
    def post(self, request, session_id):
        session = selectors.staff_session_get(viewer=request.user, session_id=session_id)
        serializer = InviteWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = _user(serializer.validated_data["member"], Role.FAMILY)
        invite, created = services.session_invite(session=session, member=member, by=request.user)
        return Response(
            InvitationSerializer(invite).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@extend_schema(tags=["program"])
class InvitationListView(generics.ListAPIView):
    """Family sessions you are invited to: time and place only, while the consent holds."""

    permission_classes = [IsFamily]
    serializer_class = InvitationSerializer
    filter_backends: list = []
    queryset = SessionInvite.objects.none()
    ordering = ("created_at", "id")

    def get_queryset(self):
        return selectors.invites_for(self.request.user)


def _plan_body(request, enrolment: Enrolment, *, now) -> dict:
    plan = selectors.aftercare_get(viewer=request.user, enrolment=enrolment, now=now)
    if not policy.hand_out(
        request=request, viewer=request.user, kind=AFTERCARE, records=[plan], now=now
    ):
        raise NotFound()
    return AftercareSerializer(plan).data


@extend_schema(tags=["program"])
class AftercareView(DisclosesRecordsToOthers, APIView):
    permission_classes = [RecordAccess]

    @extend_schema(
        summary="The enrolment's discharge and aftercare plan", responses=AftercareSerializer
    )
    def get(self, request, enrolment_id):
        enrolment = selectors.enrolment_get(viewer=request.user, enrolment_id=enrolment_id)
        return Response(_plan_body(request, enrolment, now=timezone.now()))

    @extend_schema(
        summary="Draft the aftercare plan (the whole of it)",
        description=(
            "A therapist of the program, with the patient: level of care after the program, "
            "follow-up appointments, support-group meetings committed to (ids from the meeting "
            "finder), a weekly check-in (weekday and time), sober living, whether the "
            "relapse-prevention plan is linked, support contacts. Once the patient accepts it, "
            "it no longer changes (409). On step-down or completion the reminders follow it."
        ),
        request=AftercareWriteSerializer,
        responses=AftercareSerializer,
    )
    def put(self, request, enrolment_id):
        enrolment = _changeable(request, enrolment_id)
        serializer = AftercareWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.aftercare_save(
            enrolment=enrolment, by=request.user, data=dict(serializer.validated_data)
        )
        return Response(_plan_body(request, enrolment, now=timezone.now()))


@extend_schema(tags=["program"])
class AftercareAcceptView(APIView):
    permission_classes = [RecordAccess]
    writers = (Role.PATIENT,)

    @extend_schema(
        summary="Accept your aftercare plan",
        description="Accepting again changes nothing.",
        request=None,
        responses=AftercareSerializer,
    )
    def post(self, request, enrolment_id):
        enrolment = selectors.enrolment_get(viewer=request.user, enrolment_id=enrolment_id)
        plan = selectors.aftercare_get(viewer=request.user, enrolment=enrolment)
        policy.authorize(
            request.user, Action.ANSWER, AFTERCARE, patient_id=plan.patient_id, record=plan
        )
        services.aftercare_accept(plan=plan)
        return Response(_plan_body(request, enrolment, now=timezone.now()))
