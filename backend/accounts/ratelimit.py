"""Atomic counters for throttling and sign-in back-off, in Redis or in the database.

Two primitives, each a single atomic step however many workers ask at once:

- ``window_hit``: count a request in a fixed window that starts at the key's first
  request (DRF throttles: "30/minute").
- ``backoff_claim``: take one attempt on several keys at once, only if none of them
  is waiting out a delay; the delay grows with the failures a key has recorded
  (sign-in).

With ``RedisCache`` as the default cache they are Lua scripts (Redis runs a script
alone); otherwise they are statements on ``RateLimitCounter`` (an upsert, or rows
locked in key order). Keys are HMACs of what they count, so neither store holds an
email address or an IP address.
"""

import math
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from backend.accounts.models import RateLimitCounter

KEY_SALT = "accounts.ratelimit"


@dataclass(frozen=True)
class Backoff:
    """``free`` failures without delay, then ``base`` seconds, doubling up to ``cap``.

    A key's failures are forgotten ``forget`` seconds after its last attempt.
    """

    free: int
    base: float
    cap: float
    forget: float

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.base * 2 ** min(failures - self.free, 32), self.cap)


def counter_key(scope: str, *parts: object) -> str:
    digest = salted_hmac(KEY_SALT, "\x1f".join(map(str, parts)), algorithm="sha256").hexdigest()
    return f"rl:{scope}:{digest[:48]}"


def _now_ms() -> int:
    return int(timezone.now().timestamp() * 1000)


def _seconds(ms: float) -> float:
    # Retry-After is whole seconds; never tell a client to retry at once while it must wait.
    return float(max(1, math.ceil(ms / 1000)))


def _redis() -> RedisCache | None:
    # `django.core.cache.cache` is a proxy: ask the handler for the backend itself.
    backend = caches["default"]
    return backend if isinstance(backend, RedisCache) else None


# --- fixed windows ---------------------------------------------------------------

_REDIS_WINDOW = """
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if n == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""


# One statement: a new or expired row starts a window at 1, a live one adds 1. Every
# SET expression sees the row as it was before the statement (PostgreSQL and SQLite).
_WINDOW_SQL = """
INSERT INTO accounts_ratelimitcounter ("key", "count", touched_ms, expires_ms)
VALUES (%s, 1, %s, %s)
ON CONFLICT ("key") DO UPDATE SET
  "count" = CASE WHEN accounts_ratelimitcounter.expires_ms <= %s THEN 1
            ELSE accounts_ratelimitcounter."count" + 1 END,
  touched_ms = excluded.touched_ms,
  expires_ms = CASE WHEN accounts_ratelimitcounter.expires_ms <= %s THEN excluded.expires_ms
               ELSE accounts_ratelimitcounter.expires_ms END
RETURNING "count", expires_ms
"""


def window_hit(key: str, seconds: int) -> tuple[int, float]:
    """Count one request; answer the count in the current window and seconds until it ends."""
    redis = _redis()
    if redis is not None:
        name = redis.make_and_validate_key(key)
        client = redis._cache.get_client(name, write=True)
        count, ttl = client.eval(_REDIS_WINDOW, 1, name, seconds * 1000)
        return int(count), _seconds(ttl)
    now = _now_ms()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_WINDOW_SQL, [key, now, now + seconds * 1000, now, now])
        count, expires_ms = cursor.fetchone()
    return int(count), _seconds(expires_ms - now)


# --- back-off ------------------------------------------------------------------------

# KEYS: the counters; ARGV: now, then free, base, cap, forget (ms) for each key.
_REDIS_CLAIM = """
local now = tonumber(ARGV[1])
local wait = 0
local counts = {}
for i, key in ipairs(KEYS) do
  local o = 1 + (i - 1) * 4
  local free, base, cap = tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local state = redis.call('HMGET', key, 'n', 't')
  local n = tonumber(state[1]) or 0
  counts[i] = n
  if n >= free then
    local delay = math.min(base * 2 ^ math.min(n - free, 32), cap)
    wait = math.max(wait, (tonumber(state[2]) or 0) + delay - now)
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'n', counts[i] + 1, 't', now)
  redis.call('PEXPIRE', key, ARGV[1 + (i - 1) * 4 + 4])
end
return 0
"""

_REDIS_RELEASE = """
for i, key in ipairs(KEYS) do
  if (tonumber(redis.call('HGET', key, 'n')) or 0) > 0 then redis.call('HINCRBY', key, 'n', -1) end
end
return 0
"""


def _wait_ms(policy: Backoff, failures: int, touched_ms: int, now: int) -> float:
    delay = policy.delay(failures)
    return touched_ms + delay * 1000 - now if delay else 0.0


def backoff_claim(limits: dict[str, Backoff]) -> float | None:
    """Count one attempt on every key, or on none: seconds to wait, or None when claimed.

    The attempt counts as a failure until ``backoff_release`` takes it back, so
    concurrent attempts cannot all pass while the first ones are still being checked.
    """
    now = _now_ms()
    keys = sorted(limits)
    redis = _redis()
    if redis is not None:
        names = [redis.make_and_validate_key(key) for key in keys]
        args: list[int] = [now]
        for key in keys:
            policy = limits[key]
            args += [
                policy.free,
                *(int(s * 1000) for s in (policy.base, policy.cap, policy.forget)),
            ]
        client = redis._cache.get_client(names[0], write=True)
        wait = float(client.eval(_REDIS_CLAIM, len(names), *names, *args))
        return _seconds(wait) if wait > 0 else None
    with transaction.atomic():
        # Rows are created, then locked, in key order: two claims never wait on each other
        # in a circle.
        RateLimitCounter.objects.bulk_create(
            [RateLimitCounter(key=key, count=0, expires_ms=now) for key in keys],
            ignore_conflicts=True,
        )
        rows = list(
            RateLimitCounter.objects.select_for_update().filter(key__in=keys).order_by("key")
        )
        failures = {row.key: row.count if row.expires_ms > now else 0 for row in rows}
        touched = {row.key: row.touched_ms for row in rows}
        wait = max(_wait_ms(limits[key], failures[key], touched[key], now) for key in keys)
        if wait > 0:
            return _seconds(wait)
        for key in keys:
            RateLimitCounter.objects.filter(key=key).update(
                count=failures[key] + 1,
                touched_ms=now,
                expires_ms=now + int(limits[key].forget * 1000),
            )
    return None


def backoff_release(keys: list[str]) -> None:
    """Take back one counted attempt (it succeeded)."""
    redis = _redis()
    if redis is not None:
        names = [redis.make_and_validate_key(key) for key in keys]
        redis._cache.get_client(names[0], write=True).eval(_REDIS_RELEASE, len(names), *names)
        return
    RateLimitCounter.objects.filter(key__in=keys, count__gt=0).update(count=F("count") - 1)


def backoff_clear(keys: list[str]) -> None:
    """Forget every failure counted on these keys."""
    redis = _redis()
    if redis is not None:
        redis.delete_many(keys)
        return
    RateLimitCounter.objects.filter(key__in=keys).delete()


def counters_purge() -> int:
    """Delete expired database counters (Redis expires its own keys)."""
    deleted, _ = RateLimitCounter.objects.filter(expires_ms__lte=_now_ms()).delete()
    return deleted
