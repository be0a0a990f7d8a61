"""Baselines for the HTTP benchmarks: plain Django views, no DRF.

Each one does by hand what an API endpoint does, so a benchmark can show what
the framework costs on top. Served only through bench.urls.
"""

import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import jwt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from backend.accounts.models import User
from backend.accounts.tokens import GENERATION_CLAIM
from backend.journal.models import JournalEntry
from backend.journal.sync import seq_reserve
from backend.measures.models import MeasureResponse, MeasureSchedule
from backend.meetings import search
from backend.meetings import selectors as meeting_selectors
from backend.meetings.views import MeetingSearchView

# The API renders compact, non-ASCII-escaped JSON; so do the baselines.
COMPACT_JSON = {"separators": (",", ":"), "ensure_ascii": False}


def _unauthorized() -> JsonResponse:
    return JsonResponse({"detail": "Unauthorized."}, status=401)


def _time(value: time | None) -> str | None:
    return None if value is None else value.isoformat()


def _datetime(value: datetime) -> str:
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _authenticate(request: HttpRequest) -> User | None:
    """The API's token checks by hand: signature, audience, issuer, type, user, generation."""
    scheme, _, raw_token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme != "Bearer" or not raw_token:
        return None

    jwt_settings = settings.SIMPLE_JWT
    try:
        claims = jwt.decode(
            raw_token,
            jwt_settings["SIGNING_KEY"],
            algorithms=[jwt_settings["ALGORITHM"]],
            audience=jwt_settings["AUDIENCE"],
            issuer=jwt_settings["ISSUER"],
            leeway=jwt_settings["LEEWAY"],
        )
    except jwt.InvalidTokenError:
        return None
    if claims.get(jwt_settings.get("TOKEN_TYPE_CLAIM", "token_type")) != "access":
        return None
    try:
        user = User.objects.get(pk=claims.get(jwt_settings["USER_ID_CLAIM"]))
    except (User.DoesNotExist, ValidationError):
        return None
    if not user.is_active or claims.get(GENERATION_CLAIM) != user.token_generation:
        return None
    return user


def bare_me(request: HttpRequest) -> JsonResponse:
    """GET /api/v1/me/ by hand: the same token checks, the same row, the same JSON."""
    if request.method != "GET":
        return JsonResponse({"detail": "Method not allowed."}, status=405)
    user = _authenticate(request)
    if user is None:
        return _unauthorized()

    # The fields, order and formats of backend.accounts.serializers.MeSerializer.
    data = {
        "id": str(user.id),
        "email": user.email,
        "role": user.role,
        "display_name": user.display_name,
        "time_zone": user.time_zone,
        "quiet_hours_start": _time(user.quiet_hours_start),
        "quiet_hours_end": _time(user.quiet_hours_end),
        "locale": user.locale,
        "email_verified": user.email_verified_at is not None,
        "date_joined": _datetime(user.date_joined),
    }
    return JsonResponse(data, json_dumps_params=COMPACT_JSON)


@csrf_exempt
def bare_entry_create(request: HttpRequest) -> JsonResponse:
    """POST /api/v1/journal/entries/ by hand: the same checks, the same row, the same insert.

    Token checks, JSON parsing, the sync number and the encrypted text are all
    there; what the API adds on top is validation, idempotent retries, triggers,
    alerts and the response's serializer.
    """
    if request.method != "POST":
        return JsonResponse({"detail": "Method not allowed."}, status=405)
    user = _authenticate(request)
    if user is None:
        return _unauthorized()
    data = json.loads(request.body)
    occurred_at = parse_datetime(data["occurred_at"])
    with transaction.atomic():
        entry = JournalEntry.objects.create(
            client_id=data["id"],
            patient=user,
            seq=seq_reserve(patient=user, count=1),
            occurred_at=occurred_at,
            utc_offset_minutes=int(occurred_at.utcoffset().total_seconds() // 60),
            intensity=data["intensity"],
            intensity_after=data.get("intensity_after"),
            substance=data["substance"],
            outcome=data["outcome"],
            halt_tired="tired" in data.get("halt", []),
            situation=data.get("situation", ""),
        )
    return JsonResponse(
        {"id": str(entry.client_id), "version": entry.version, "occurred_at": data["occurred_at"]},
        status=201,
        json_dumps_params=COMPACT_JSON,
    )


@csrf_exempt
def bare_measure_response_create(request: HttpRequest) -> JsonResponse:
    """POST /api/v1/measures/responses/ by hand: the same checks, the same row, the same insert.

    Token checks, JSON parsing, the patient's own schedule (one query, with its
    instrument's score definitions), the window on the patient's clock, the scores
    (sums of items) and the encrypted answers are all there; what the API adds on top is
    validation of every answer against its options, idempotent retries, the window
    checks, the crisis rule, the draft clean-up and the response's serializer.
    """
    if request.method != "POST":
        return JsonResponse({"detail": "Method not allowed."}, status=405)
    user = _authenticate(request)
    if user is None:
        return _unauthorized()
    data = json.loads(request.body)
    schedule = (
        MeasureSchedule.objects.filter(pk=data["schedule"], patient=user)
        .values("instrument_id", "assigned_by_id", "starts_on", "every_days", "instrument__scoring")
        .first()
    )
    if schedule is None:
        return JsonResponse({"detail": "Not found."}, status=404)
    answered_at = parse_datetime(data["answered_at"])
    day = answered_at.astimezone(ZoneInfo(user.time_zone)).date()
    every = schedule["every_days"]
    window = schedule["starts_on"] + timedelta(
        days=(day - schedule["starts_on"]).days // every * every
    )
    answers = data["answers"]
    scores = {
        score["code"]: sum(answers[item] for item in score["items"])
        for score in schedule["instrument__scoring"]["scores"]
    }
    with transaction.atomic():
        response = MeasureResponse.objects.create(
            id=data["id"],
            patient=user,
            schedule_id=data["schedule"],
            instrument_id=schedule["instrument_id"],
            assigned_by_id=schedule["assigned_by_id"],
            window_start=window,
            answered_at=answered_at,
            answers=answers,
            scores=scores,
            total=scores.get("total"),
        )
    return JsonResponse(
        {"id": str(response.id), "window_start": window.isoformat(), "scores": scores},
        status=201,
        json_dumps_params=COMPACT_JSON,
    )


class FullScanMeetingSearch(MeetingSearchView):
    """GET /api/v1/meetings/ without the bounding box: the great-circle distance of every row."""

    def get_queryset(self):
        return search.search(
            self.criteria,
            at=self.at,
            zones=meeting_selectors.zones(),
            viewer=self.request.user,
            use_box=False,
        )


full_scan_meeting_search = FullScanMeetingSearch.as_view()
