"""Baselines for the HTTP benchmarks: plain Django views, no DRF.

Each one does by hand what an API endpoint does, so a benchmark can show what
the framework costs on top. Served only through bench.urls.
"""

from datetime import datetime, time

import jwt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from backend.accounts.models import User
from backend.accounts.tokens import GENERATION_CLAIM

# The API renders compact, non-ASCII-escaped JSON; so do the baselines.
COMPACT_JSON = {"separators": (",", ":"), "ensure_ascii": False}


def _unauthorized() -> JsonResponse:
    return JsonResponse({"detail": "Unauthorized."}, status=401)


def _time(value: time | None) -> str | None:
    return None if value is None else value.isoformat()


def _datetime(value: datetime) -> str:
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def bare_me(request: HttpRequest) -> JsonResponse:
    """GET /api/v1/me/ by hand: the same token checks, the same row, the same JSON."""
    if request.method != "GET":
        return JsonResponse({"detail": "Method not allowed."}, status=405)
    scheme, _, raw_token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme != "Bearer" or not raw_token:
        return _unauthorized()

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
        return _unauthorized()
    if claims.get(jwt_settings.get("TOKEN_TYPE_CLAIM", "token_type")) != "access":
        return _unauthorized()

    try:
        user = User.objects.get(pk=claims.get(jwt_settings["USER_ID_CLAIM"]))
    except (User.DoesNotExist, ValidationError):
        return _unauthorized()
    if not user.is_active or claims.get(GENERATION_CLAIM) != user.token_generation:
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
