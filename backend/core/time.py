"""Time helpers: aware datetimes only, stored in UTC, converted per user."""

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError


@cache
def known_time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_time_zone(value: str) -> None:
    """Django validator: an IANA name the system's zoneinfo database knows."""
    if value not in known_time_zones():
        raise ValidationError(
            "%(value)s is not a known IANA time zone (for example America/New_York).",
            code="invalid_time_zone",
            params={"value": str(value)[:64]},
        )


def local_now(time_zone: str, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(time_zone))
