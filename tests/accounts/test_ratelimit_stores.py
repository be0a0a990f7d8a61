"""The counting primitives behave the same in the database and in Redis."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis
import time_machine

from backend.accounts import ratelimit, services
from backend.accounts.models import RateLimitCounter, TokenFamily
from tests.helpers import REDIS_URL, redis_available, redis_delete_prefix

pytestmark = pytest.mark.django_db

POLICY = ratelimit.Backoff(free=2, base=60, cap=300, forget=3600)


@pytest.fixture(params=["database", "redis"])
def store(request, settings):
    if request.param == "redis":
        if not redis_available():
            pytest.skip(f"needs Redis at {REDIS_URL}")
        prefix = f"test-auth-{uuid.uuid4().hex}"
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": REDIS_URL,
                "KEY_PREFIX": prefix,
            }
        }
        yield prefix
        redis_delete_prefix(prefix)
    else:
        yield None


def test_counters_live_in_redis_when_the_cache_is_redis_and_in_the_database_otherwise(store):
    key = ratelimit.counter_key("test", uuid.uuid4())
    ratelimit.window_hit(key, 60)
    ratelimit.backoff_claim({key + ":b": POLICY})
    in_redis = sorted(redis.Redis.from_url(REDIS_URL).keys(f"{store}:*")) if store else []
    in_database = RateLimitCounter.objects.count()
    assert (len(in_redis), in_database) == ((2, 0) if store else (0, 2))


def test_a_window_counts_every_hit_and_says_when_it_ends(store):
    key = ratelimit.counter_key("test", uuid.uuid4())
    hits = [ratelimit.window_hit(key, 60) for _ in range(3)]
    assert [count for count, _ in hits] == [1, 2, 3]
    assert all(0 < wait <= 60 for _, wait in hits)


def test_a_claim_waits_once_the_free_failures_are_used(store):
    key = ratelimit.counter_key("test", uuid.uuid4())
    assert [ratelimit.backoff_claim({key: POLICY}) for _ in range(2)] == [None, None]
    assert 0 < ratelimit.backoff_claim({key: POLICY}) <= 60


def test_a_claim_on_several_keys_counts_on_none_when_one_must_wait(store):
    held, fresh = (ratelimit.counter_key("test", uuid.uuid4()) for _ in range(2))
    for _ in range(2):
        ratelimit.backoff_claim({held: POLICY})
    assert ratelimit.backoff_claim({held: POLICY, fresh: POLICY}) is not None
    # The refused claim did not count on the fresh key: it still has both free attempts.
    assert [ratelimit.backoff_claim({fresh: POLICY}) for _ in range(2)] == [None, None]


def test_a_released_claim_and_a_cleared_key_give_attempts_back(store):
    released, cleared = (ratelimit.counter_key("test", uuid.uuid4()) for _ in range(2))
    for key in (released, cleared):
        ratelimit.backoff_claim({key: POLICY})
        ratelimit.backoff_claim({key: POLICY})
    ratelimit.backoff_release([released])
    ratelimit.backoff_clear([cleared])
    assert ratelimit.backoff_claim({released: POLICY}) is None
    assert ratelimit.backoff_claim({released: POLICY}) is not None
    assert [ratelimit.backoff_claim({cleared: POLICY}) for _ in range(2)] == [None, None]


def test_the_hourly_purge_removes_expired_counters_and_finished_sign_ins(patient):
    start = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        old_key, live_key = "rl:test:old", "rl:test:live"
        ratelimit.window_hit(old_key, 60)
        services.tokens_issue(user=patient)
        clock.shift(timedelta(days=31))
        ratelimit.window_hit(live_key, 60)
        services.tokens_issue(user=patient)
        assert services.auth_records_purge() == {"counters": 1, "token families": 1}
        assert list(RateLimitCounter.objects.values_list("key", flat=True)) == [live_key]
        assert TokenFamily.objects.count() == 1
