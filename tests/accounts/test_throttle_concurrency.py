"""Throttles count exactly under concurrency: a real gunicorn with two workers.

Parallel requests hit two processes at once; every one of them must be counted.
Run once with the counters in the database (what the database cache setup uses)
and once in Redis.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests
from django.db import connection

from backend.accounts.models import RateLimitCounter
from tests.factories import PatientFactory
from tests.helpers import REDIS_URL, redis_available, redis_delete_prefix, requires_postgres

REPO = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass(frozen=True)
class Server:
    base: str
    redis_prefix: str | None  # None: the counters are in the database

    def counters(self) -> int:
        if self.redis_prefix is None:
            return RateLimitCounter.objects.count()
        return len(redis.Redis.from_url(REDIS_URL).keys(f"{self.redis_prefix}:*"))


@pytest.fixture(scope="module", params=["database", "redis"])
def server(request, django_db_setup, django_db_blocker):
    """The app under gunicorn (2 workers) on a free loopback port, against the test database."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (a database shared by two worker processes)")
    prefix = f"test-auth-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.config.settings",
        "ENV_FILE": "/nonexistent/.env",
        "SECRET_KEY": "test-secret-key-not-for-production-" + "k" * 32,
        "JWT_SIGNING_KEY": "test-jwt-signing-key-not-for-production-" + "j" * 32,
        "FIELD_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWZpZWxkLWtleS0tLTMyLWJ5dGVzISE=",
        "DATABASE_URL": _database_url(),
        "DB_CONN_MAX_AGE": "0",
        "TRUSTED_PROXY_COUNT": "1",
        "THROTTLE_AUTH_IP": "30/minute",
        # Fewer password checks (PBKDF2 at full strength is slow) for the same question.
        "SIGN_IN_ACCOUNT_FREE_FAILURES": "4",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    if request.param == "redis":
        if not redis_available():
            pytest.skip(f"needs Redis at {REDIS_URL}")
        env.update(REDIS_URL=REDIS_URL, CACHE_KEY_PREFIX=prefix)
    # The database cache's table, as scripts/run.sh and compose create it.
    subprocess.run(
        [sys.executable, "backend/manage.py", "createcachetable"], cwd=REPO, env=env, check=True
    )
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "backend.config.wsgi:application"),
            *("--workers", "2", "--bind", "127.0.0.1:0", "--no-control-socket"),
            *("--log-level", "info", "--error-logfile", "-"),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = _wait_for_listening(process)
        _wait_for_workers(base)
        yield Server(base, prefix if request.param == "redis" else None)
    finally:
        process.send_signal(signal.SIGINT)  # quick shutdown: nothing is left to finish
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        if request.param == "redis":
            redis_delete_prefix(prefix)


def _wait_for_listening(process) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            raise RuntimeError("gunicorn exited before listening")
        found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", line)
        if found:
            # Keep reading its log so the pipe never fills and blocks the workers.
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return found.group(1)
    raise RuntimeError("gunicorn did not start listening in time")


def _wait_for_workers(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer in time")


def _in_parallel(count: int, send) -> list[requests.Response]:
    barrier = threading.Barrier(count)
    responses: list[requests.Response] = [None] * count  # type: ignore[list-item]

    def run(index: int) -> None:
        barrier.wait()
        responses[index] = send(index)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return responses


def _ip() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


@requires_postgres("two gunicorn workers sharing one database")
@pytest.mark.django_db(transaction=True)
def test_forty_parallel_requests_from_one_address_let_exactly_thirty_through(server):
    ip = _ip()
    responses = _in_parallel(
        40,
        lambda n: requests.post(
            f"{server.base}/api/v1/auth/verify-email/",
            json={"token": f"not-a-valid-token-{n}"},
            headers={"X-Forwarded-For": ip},
            timeout=60,
        ),
    )
    assert Counter(r.status_code for r in responses) == {400: 30, 429: 10}
    assert server.counters() == 1
    assert all(int(r.headers["Retry-After"]) > 0 for r in responses if r.status_code == 429)
    assert all(r.headers["Content-Type"].startswith("application/problem+json") for r in responses)


@requires_postgres("two gunicorn workers sharing one database")
@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_from_many_addresses_get_exactly_the_free_password_checks(server):
    email = f"guessed.{uuid.uuid4().hex[:8]}@example.test"
    PatientFactory(email=email)
    responses = _in_parallel(
        12,
        lambda n: requests.post(
            f"{server.base}/api/v1/auth/token/",
            json={"email": email, "password": f"wrong-guess-{n}"},
            headers={"X-Forwarded-For": _ip()},
            timeout=60,
        ),
    )
    assert Counter(r.status_code for r in responses) == {401: 4, 429: 8}
    assert server.counters() > 12  # per IP, per account, per account and IP
