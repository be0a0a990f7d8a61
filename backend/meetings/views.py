from zoneinfo import ZoneInfo

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.throttles import CalendarThrottle
from backend.consent import policy
from backend.core.idempotency import idempotent
from backend.core.pagination import PinnedPagePagination
from backend.core.permissions import IsPatient
from backend.core.serializers import validated
from backend.meetings import calendar, search, selectors, serializers, services
from backend.meetings.access import ATTENDANCE
from backend.meetings.models import Attendance, Meeting, SavedMeeting
from backend.meetings.signals import calendar_events

SEARCH_PARAMETERS = [
    OpenApiParameter("lat", float, description="Latitude of the point to search near."),
    OpenApiParameter("lng", float, description="Longitude of the point to search near."),
    OpenApiParameter("radius", float, description="Default 10 km; at most 500 km (310.7 mi)."),
    OpenApiParameter("units", str, enum=["km", "mi"], description="Of radius and distance."),
    OpenApiParameter(
        "day", str, many=True, description="0-6 (0 = Sunday) or names; repeat or comma-separate."
    ),
    OpenApiParameter("start_after", str, description="Local start time window, HH:MM."),
    OpenApiParameter("start_before", str, description="Wraps past midnight when earlier."),
    OpenApiParameter("time", str, enum=list(search.BUCKETS), description="A time of day."),
    OpenApiParameter("in_progress", bool, description="Started and not yet over, now."),
    OpenApiParameter("starting_within", int, description="Starts within N minutes from now."),
    OpenApiParameter("types", str, many=True, description="Type codes; all must match."),
    OpenApiParameter(
        "attendance",
        str,
        enum=[a.value for a in Meeting.Attendance],
        description="online and in_person also match hybrid; inactive is hidden unless asked.",
    ),
    OpenApiParameter("fellowship", str, many=True, description="AA, NA, Al-Anon, SMART..."),
    OpenApiParameter("q", str, description="Words in name, location, notes, group, regions."),
    OpenApiParameter("region", str, description="One of the meeting's regions, exactly."),
    OpenApiParameter("order", str, enum=["next", "distance"], description="Default next."),
    OpenApiParameter(
        "nearest",
        {"type": "integer", "minimum": 1, "maximum": 100},
        description=(
            "1-100: the N nearest in-person meetings however far, ordered by distance, "
            "after every other filter; needs lat and lng, no radius."
        ),
    ),
    OpenApiParameter(
        "at", OpenApiTypes.DATETIME, description="Search as of this moment (default now)."
    ),
]


# One for every request: DRF builds a serializer's fields per instance (deep copies).
SEARCH_QUERY = serializers.MeetingSearchSerializer()


@extend_schema(tags=["meetings"])
class MeetingSearchView(generics.ListAPIView):
    """Support-group meetings: near a point, by day and time, type, fellowship, words.

    Ordered by next start (on each meeting's clock), then distance, then name; or by
    distance with ``order=distance``. ``nearest=N`` answers the N nearest however far
    (by distance). Near-me searches leave out approximate locations and online-only
    meetings. Pages are numbered; their links carry
    ``at`` so that every page is cut from the same moment.
    """

    permission_classes = [IsAuthenticated]
    serializer_class = serializers.MeetingSerializer
    pagination_class = PinnedPagePagination
    # The query parameters are validated and applied by search (see get_queryset).
    filter_backends = []
    queryset = Meeting.objects.none()

    @extend_schema(parameters=SEARCH_PARAMETERS)
    def get(self, request, *args, **kwargs):
        params = validated(SEARCH_QUERY, serializers.query_data(request.query_params))
        self.at = params.get("at") or timezone.now().replace(microsecond=0)
        self.units = params["units"]
        self.criteria = serializers.MeetingSearchSerializer.criteria(params)
        return self.list(request, *args, **kwargs)

    def get_queryset(self):
        # search.Results, not a QuerySet: the pagination slices it.
        return search.search(
            self.criteria, at=self.at, zones=selectors.zones(), viewer=self.request.user
        )

    def paginate_queryset(self, queryset):
        self.paginator.pinned = {"at": self.at.isoformat()}
        return super().paginate_queryset(queryset)

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "at": getattr(self, "at", timezone.now()),
            "units": getattr(self, "units", "km"),
        }


@extend_schema(tags=["meetings"])
class MeetingDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="One meeting", responses={200: serializers.MeetingSerializer})
    def get(self, request, meeting_id):
        meeting = selectors.meeting_get(meeting_id=meeting_id, viewer=request.user)
        context = {"at": timezone.now(), "units": "km"}
        return Response(serializers.MeetingSerializer(meeting, context=context).data)


@extend_schema(tags=["meetings"])
class SavedListCreateView(generics.ListAPIView):
    """Meetings you saved, most recently saved first."""

    permission_classes = [IsPatient]
    serializer_class = serializers.SavedMeetingSerializer
    queryset = SavedMeeting.objects.none()

    def get_queryset(self):
        return selectors.saved_of(self.request.user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "at": timezone.now(), "units": "km"}

    @idempotent
    @extend_schema(
        summary="Save a meeting",
        description="Saving one already saved answers 200 with it.",
        request=serializers.SaveMeetingSerializer,
        responses={
            201: serializers.SavedMeetingSerializer,
            200: serializers.SavedMeetingSerializer,
        },
    )
    def post(self, request):
        body = serializers.SaveMeetingSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        meeting = selectors.meeting_get(meeting_id=body.validated_data["meeting"], active=True)
        saved, created = services.meeting_save(patient=request.user, meeting=meeting)
        saved = selectors.saved_of(request.user).get(pk=saved.pk)
        data = serializers.SavedMeetingSerializer(saved, context=self.get_serializer_context())
        return Response(
            data.data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


@extend_schema(tags=["meetings"])
class SavedDetailView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(summary="Forget a saved meeting", responses={204: None})
    def delete(self, request, meeting_id):
        if not services.meeting_unsave(patient=request.user, meeting_id=meeting_id):
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["meetings"])
class AttendanceListCreateView(generics.ListAPIView):
    """Meetings you went to, newest first. Shared only under the meetings consent scope."""

    permission_classes = [IsPatient]
    serializer_class = serializers.AttendanceSerializer
    queryset = Attendance.objects.none()
    ordering = ("-attended_at", "-id")

    def get_queryset(self):
        return policy.readable(self.request.user, ATTENDANCE)

    @idempotent
    @extend_schema(
        summary="Log going to a meeting",
        description="Not in the future, and not overlapping another meeting you logged (409).",
        request=serializers.AttendanceWriteSerializer,
        responses={201: serializers.AttendanceSerializer, 409: None},
    )
    def post(self, request):
        body = serializers.AttendanceWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        attrs = body.validated_data
        meeting = None
        if attrs.get("meeting"):
            meeting = selectors.meeting_get(meeting_id=attrs["meeting"])
        attendance = services.attendance_log(
            patient=request.user,
            attendance_id=attrs.get("id"),
            meeting=meeting,
            name=attrs["name"],
            attended_at=attrs["attended_at"],
            duration_minutes=attrs.get("duration_minutes"),
        )
        return Response(
            serializers.AttendanceSerializer(attendance).data, status=status.HTTP_201_CREATED
        )


@extend_schema(tags=["meetings"])
class AttendanceDetailView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(summary="Delete an attendance logged by mistake", responses={204: None})
    def delete(self, request, attendance_id):
        attendance = get_object_or_404(
            policy.readable(request.user, ATTENDANCE), client_id=attendance_id
        )
        services.attendance_delete(attendance=attendance)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["meetings"])
class AttendanceWeeksView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="Meetings attended per week, on your clock (Monday to Sunday)",
        parameters=[serializers.AttendanceWeeksQuerySerializer],
        responses={200: serializers.AttendanceWeeksSerializer},
    )
    def get(self, request):
        query = serializers.AttendanceWeeksQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        zone = ZoneInfo(request.user.time_zone)
        weeks = selectors.attendance_weeks(
            request.user,
            weeks=query.validated_data["weeks"],
            today=timezone.now().astimezone(zone).date(),
        )
        return Response(
            serializers.AttendanceWeeksSerializer(
                {"time_zone": request.user.time_zone, "weeks": weeks}
            ).data
        )


@extend_schema(tags=["meetings"])
class CalendarView(APIView):
    """The secret iCalendar address of your saved meetings, for calendar apps."""

    permission_classes = [IsPatient]

    @extend_schema(
        summary="Whether you have a calendar address",
        responses={200: serializers.CalendarStatusSerializer},
    )
    def get(self, request):
        feed = selectors.calendar_of(request.user)
        return Response(
            serializers.CalendarStatusSerializer(
                {
                    "subscribed": feed is not None,
                    "neutral_titles": feed.neutral_titles if feed else None,
                    "created_at": feed.created_at if feed else None,
                }
            ).data
        )

    # Not @idempotent: a stored answer would keep the secret address in the database.
    @extend_schema(
        summary="Create or rotate your calendar address",
        description=(
            "Answers a new secret address, shown once; any earlier one stops working at once. "
            "Calendar apps cannot send tokens, so the address itself is the key: keep it private."
        ),
        request=serializers.CalendarSettingsSerializer,
        responses={201: serializers.CalendarIssuedSerializer},
    )
    def post(self, request):
        body = serializers.CalendarSettingsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        feed, key = services.calendar_issue(
            patient=request.user, neutral_titles=body.validated_data["neutral_titles"]
        )
        url = request.build_absolute_uri(f"/api/v1/meetings/calendar.ics?key={key}")
        return Response(
            serializers.CalendarIssuedSerializer(
                {"url": url, "neutral_titles": feed.neutral_titles, "created_at": feed.created_at}
            ).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(summary="Stop your calendar address", responses={204: None})
    def delete(self, request):
        services.calendar_delete(patient=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["meetings"])
class CalendarFileView(APIView):
    """Saved meetings as iCalendar: the secret key in the query string (never logged)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [CalendarThrottle]

    @extend_schema(
        summary="Saved meetings as an iCalendar subscription",
        parameters=[OpenApiParameter("key", str, required=True)],
        responses={
            (200, "text/calendar"): OpenApiResponse(OpenApiTypes.BINARY),
            404: OpenApiResponse(description="Unknown or rotated key."),
        },
    )
    def get(self, request):
        feed = services.calendar_for_key(request.query_params.get("key", ""))
        if feed is None:
            raise NotFound()
        meetings = [
            saved.meeting
            for saved in selectors.saved_of(feed.patient).filter(meeting__retired_at__isnull=True)
        ]
        now = timezone.now().replace(microsecond=0)
        extra = [
            event
            for _, events in calendar_events.send(
                sender=None, patient=feed.patient, now=now, neutral_titles=feed.neutral_titles
            )
            for event in events
        ]
        body = calendar.saved_meetings_calendar(
            meetings, neutral_titles=feed.neutral_titles, now=now, extra=extra
        )
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="meetings.ics"'
        response["Cache-Control"] = "private, max-age=900"
        return response
