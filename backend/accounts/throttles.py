"""Throttling: per client IP (auth endpoints), per calendar key, and sign-in back-off.

DRF's SimpleRateThrottle keeps a list of request times in the cache and writes it
back after reading it: two workers reading the same list both add one, and requests
slip through. These throttles count with one atomic step instead
(``backend.accounts.ratelimit``), in a fixed window starting at the first request.
"""

import hashlib

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from backend.accounts import ratelimit


class AtomicRateThrottle(SimpleRateThrottle):
    """``rate`` requests per window per cache key, counted atomically."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        count, self._wait = ratelimit.window_hit(
            ratelimit.counter_key(self.scope, key), self.duration
        )
        return count <= self.num_requests

    def wait(self):
        return self._wait


class CalendarThrottle(AtomicRateThrottle):
    """Calendar subscriptions, per key: calendar services fetch from shared addresses."""

    scope = "calendar"

    def get_cache_key(self, request, view):
        key = request.query_params.get("key", "")[:100]
        return hashlib.sha256(key.encode()).hexdigest()


class AuthIPThrottle(AtomicRateThrottle):
    """Every request to an auth endpoint, counted per client IP."""

    scope = "auth_ip"

    def get_cache_key(self, request, view):
        return self.get_ident(request)


class SignInBackoff:
    """Failed sign-ins slow down the next attempt, on three counters at once.

    - the account from this IP: a stranger guessing from one place is slowed most;
    - the account from anywhere: guessing from many places is slowed too, but this
      delay is capped short, so a stranger cannot keep the owner out for long;
    - this IP on any account: spraying many accounts from one place is slowed.

    Every attempt is counted before the password is checked, so concurrent guesses
    cannot pass together. A success clears the account's counts (the owner is in; a
    stranger gains at most ``free`` more guesses from it) and takes back its count
    on the IP. The keys include the account's token generation: a password
    reset starts every count for the account again. An unknown address is counted
    exactly like a known one.
    """

    def __init__(self, *, email: str, ip: str, generation: int) -> None:
        forget = settings.SIGN_IN_FAILURES_FORGET_SECONDS
        policies = {
            name: ratelimit.Backoff(**policy, forget=forget)
            for name, policy in settings.SIGN_IN_BACKOFF.items()
        }
        self.pair = ratelimit.counter_key("signin_pair", email, generation, ip)
        self.account = ratelimit.counter_key("signin_account", email, generation)
        self.ip = ratelimit.counter_key("signin_ip", ip)
        self.limits = {
            self.pair: policies["account_ip"],
            self.account: policies["account"],
            self.ip: policies["ip"],
        }

    def claim(self) -> float | None:
        """Seconds to wait before another attempt, or None when this one may go ahead."""
        return ratelimit.backoff_claim(self.limits)

    def succeeded(self) -> None:
        ratelimit.backoff_release([self.ip])
        ratelimit.backoff_clear([self.pair, self.account])
