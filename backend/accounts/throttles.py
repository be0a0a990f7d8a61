"""Login throttling: per client IP (every auth request) and per account (failures)."""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle


class CalendarThrottle(SimpleRateThrottle):
    """Calendar subscriptions, per key: calendar services fetch from shared addresses."""

    scope = "calendar"

    def get_cache_key(self, request, view):
        import hashlib

        key = request.query_params.get("key", "")[:100]
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}


class AuthIPThrottle(SimpleRateThrottle):
    """Every request to an auth endpoint, counted per client IP."""

    scope = "auth_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginFailureLimiter:
    """Failed logins per account; successful ones do not count.

    The key is a hash of the normalized email, so the cache never holds an address
    and an unknown email is limited exactly like a known one.
    """

    scope = "login_account"

    def __init__(self) -> None:
        rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]
        self.num_requests, self.duration = SimpleRateThrottle.parse_rate(None, rate)

    def _key(self, email: str) -> str:
        digest = hashlib.sha256(email.encode()).hexdigest()
        return f"throttle_{self.scope}_{digest}"

    def _history(self, email: str, now: float) -> list[float]:
        return [t for t in cache.get(self._key(email), []) if t > now - self.duration]

    def wait(self, email: str) -> float | None:
        """Seconds until another attempt is allowed, or None when allowed now."""
        now = time.time()
        history = self._history(email, now)
        if len(history) < self.num_requests:
            return None
        return max(1.0, self.duration - (now - min(history)))

    def record_failure(self, email: str) -> None:
        now = time.time()
        history = self._history(email, now)
        history.append(now)
        cache.set(self._key(email), history, self.duration)

    def reset(self, email: str) -> None:
        cache.delete(self._key(email))
